"""TEMPO2 clock files: every shared .clk reads; interpolation and range reporting."""

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from jugbayes.errors import InputError
from jugbayes.timescales.clockfile import read_tempo2_clock

CLK_DIR = SHARED / "clock" / "T2runtime" / "clock"
ALL_CLK = sorted(CLK_DIR.glob("*.clk"))


@pytest.mark.parametrize("path", ALL_CLK, ids=lambda p: p.name)
def test_every_shared_clock_file_reads(path):
    clk = read_tempo2_clock(path)
    assert clk.from_clock and clk.to_clock and clk.mjd.size == clk.offset_s.size > 0
    assert np.all(np.diff(clk.mjd) >= 0) and np.all(np.isfinite(clk.offset_s))


def test_values_at_nodes_and_between():
    clk = read_tempo2_clock(CLK_DIR / "tai2tt_bipm2019.clk")
    assert (clk.from_clock, clk.to_clock) == ("TAI", "TT(BIPM2019)")
    # the first two rows of the file: 42589 32.1840462580 and 42599 32.1840454390
    off, outside = clk.evaluate(np.array([42589.0, 42594.0, 42599.0]))
    np.testing.assert_allclose(off, [32.1840462580, (32.1840462580 + 32.1840454390) / 2, 32.1840454390],
                               rtol=0, atol=1e-15)
    assert not outside.any()


def test_outside_range_is_flagged():
    clk = read_tempo2_clock(CLK_DIR / "gbt2gps.clk")
    lo, hi = clk.mjd_range
    _, outside = clk.evaluate(np.array([lo - 1, lo, hi, hi + 1]))
    assert outside.tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [("50000 1e-6\n", 1, "starts with '# FROM_CLOCK TO_CLOCK'"),
     ("# A B\n50000 1e-6\n50001 x\n", 3, "expected 'MJD offset_seconds'"),
     ("# A B\n50001 1e-6\n50000 2e-6\n", 3, "not sorted"),
     ("# A B\n# nothing\n", 2, "no clock corrections")],
)
def test_malformed_clock_files(tmp_path, text, line, message):
    path = tmp_path / "bad.clk"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        read_tempo2_clock(path)
    assert str(exc.value).startswith(f"{path}:{line}: ") and message in str(exc.value)
