"""TEMPO2 clock files: every shared .clk reads; interpolation and range reporting."""


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


# ---------------------------------------------------------------- TEMPO format

from jugbayes.timescales.clockfile import read_tempo_clock  # noqa: E402

TEMPO_DIR = SHARED / "clock" / "tempo" / "clock"


@pytest.mark.parametrize("path", sorted(TEMPO_DIR.glob("time_*.dat")), ids=lambda p: p.name)
def test_every_shared_tempo_file_reads(path):
    clk = read_tempo_clock(path)
    assert clk.mjd.size > 0 and np.all(np.isfinite(clk.offset_s)) and np.all(clk.mjd >= 39000)


def test_tempo_values_are_second_minus_first_column_in_us():
    clk = read_tempo_clock(TEMPO_DIR / "time_gbt.dat", "1")
    # rows " 55616.50  0.0  -0.006 1" and " 55617.50  0.0  -0.007 1"; placeholder MJD -2740.50 rows skipped
    assert clk.mjd[0] == 51909.5
    off, outside = clk.evaluate(np.array([55616.5, 55617.0]))
    np.testing.assert_allclose(off, [-0.006e-6, -0.0065e-6], rtol=0, atol=1e-18)
    assert not outside.any()


def test_tempo_eeco_offset_rule(tmp_path):
    """A first column above 800 us has 818.8 us removed (TEMPO's rule), as in time_ao.dat's early rows."""
    text = ("   MJD       EECO-REF    NIST-REF NS      DATE    COMMENTS\n"
            "=========    ========    ======== ==    ========  ========\n"
            " 45302.81     818.800       2.110 3 f  29-NOV-82  | note\n"
            " 45303.81       0.100       2.080 3    30-NOV-82\n")
    (tmp_path / "time_x.dat").write_text(text)
    clk = read_tempo_clock(tmp_path / "time_x.dat", "3")
    np.testing.assert_allclose(clk.offset_s, [2.110e-6, 1.980e-6], rtol=0, atol=1e-15)


def test_tempo_site_filter_and_include(tmp_path):
    (tmp_path / "time_a.dat").write_text(" 50000.00       0.0         1.000 1\n 50001.00       0.0         2.000 1\n")
    (tmp_path / "time.dat").write_text(" 50000.00       0.0         5.000 3\nINCLUDE time_a.dat\n"
                                       " 50002.00       0.0         7.000 3\n")
    gbt = read_tempo_clock(tmp_path / "time.dat", "1")
    ao = read_tempo_clock(tmp_path / "time.dat", "3")
    assert gbt.mjd.tolist() == [50000.0, 50001.0] and ao.mjd.tolist() == [50000.0, 50002.0]
    np.testing.assert_allclose(ao.offset_s, [5e-6, 7e-6], rtol=0, atol=1e-18)


def test_tempo_bogus_last_row_dropped():
    full = read_tempo_clock(TEMPO_DIR / "time_gb853.dat")
    trimmed = read_tempo_clock(TEMPO_DIR / "time_gb853.dat", drop_last=True)
    assert trimmed.mjd.size == full.mjd.size - 1 and trimmed.mjd[-1] == full.mjd[-2]


@pytest.mark.parametrize("text, problem", [
    (" 50001.00       0.0         1.000 1\n 50000.00       0.0         1.000 1\n", "not sorted"),
    ("INCLUDE missing.dat\n", "not found"),
    ("INCLUDE\n", "needs a file name"),
])
def test_tempo_bad_files_are_clean_errors(tmp_path, text, problem):
    path = tmp_path / "time_bad.dat"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        read_tempo_clock(path, "1")
    assert str(err.value).startswith(str(path))
