"""The .tim reader and writer, against PINT's TOA counts and on crafted and random input."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ALL_TIMS, DATASET_TIMS, DATASETS, PARFILES, pint_residual_rows
from jugbayes.errors import InputError
from jugbayes.io.tim import read_tim, write_tim


@pytest.mark.parametrize("path", ALL_TIMS, ids=lambda p: Path(p).name)
def test_every_shared_tim_reads(path, load_tim):
    toas = load_tim(path)
    assert len(toas) > 0
    assert len(toas.mjd_text) == len(toas.obs) == len(toas.flags) == toas.mjd_int.size


@pytest.mark.parametrize("path", [p for p in DATASET_TIMS if pint_residual_rows(p) is not None],
                         ids=lambda p: Path(p).parent.name)
def test_toa_count_and_columns_match_pint(path, load_tim):
    rows = pint_residual_rows(path)
    toas = load_tim(path)
    assert len(toas) == len(rows)
    assert toas.obs == [r["obs"] for r in rows]
    np.testing.assert_allclose(toas.freq_mhz, [float(r["freq_mhz"]) for r in rows], rtol=1e-12)
    np.testing.assert_allclose(toas.error_us, [float(r["err_us"]) for r in rows], rtol=1e-12)
    # PINT's MJD column already has the site clock correction and -to offsets added (tens of us at
    # Arecibo), so it identifies rows but cannot test precision; test_mjds_keep_written_precision does.
    np.testing.assert_allclose(toas.mjd, [float(r["mjd_utc_approx"]) for r in rows], rtol=0, atol=1e-8)


@pytest.mark.parametrize("path", ALL_TIMS, ids=lambda p: Path(p).name)
def test_mjds_keep_written_precision(path, load_tim):
    """Integer day + float64 fraction equals the written decimal to far below 0.1 ns."""
    toas = load_tim(path)
    err_days = [abs(Decimal(t) - (Decimal(int(i)) + Decimal(float(f))))
                for t, i, f in zip(toas.mjd_text, toas.mjd_int, toas.mjd_frac)]
    assert max(err_days) * 86400 < Decimal("1e-11")  # 0.01 ns
    assert np.all((toas.mjd_frac >= 0) & (toas.mjd_frac < 1))


def test_test1_matches_pints_reading(load_tim):
    """PINT's own expectations for test1.tim (which INCLUDEs test2.tim)."""
    toas = load_tim(str(PARFILES / "test1.tim"))
    assert len(toas) == 9  # toa4 below FMIN; test2: SKIP block, EMAX 10 us, lines after END dropped
    assert toas.flags[0]["info"] == "test1" and toas.flags[0]["jump"] == "1"
    assert toas.obs[1] == "gbt" and toas.obs[2] == "gbt"  # codes "1" and "gb"
    assert toas.flags[3]["info"] == "test2" and toas.flags[3]["to"] == "1.0"
    assert "jump" not in toas.flags[4] and "to" not in toas.flags[4]
    assert toas.flags[-1]["jump"] == "2"
    assert len(toas.files) == 2 and toas.files[1].endswith("test2.tim")
    # EFAC 0.8 and EQUAD 0.2 us of test2.tim applied to the error
    assert toas.error_us[3] == pytest.approx(np.hypot(2.943 * 0.8, 0.2))
    assert toas.where(3).endswith("test2.tim:5")


def test_fixed_column_formats(load_tim):
    prin = load_tim(str(DATASETS / "testtimes" / "testtimes.tim"))
    assert prin.obs[:4] == ["gbt"] * 4 and prin.obs[4:] == ["arecibo"] * 4
    assert prin.mjd_text[0] == "52616.1983754206933" and prin.error_us[0] == 2.943 and prin.freq_mhz[0] == 1500.0
    parkes = load_tim(str(PARFILES / "parkes.toa"))
    assert len(parkes) == 8 and set(parkes.obs) == {"barycenter"}
    assert parkes.names[0] == "PUPPI_J2044+28_58852_652" and parkes.mjd_text[0] == "58852.7590686063892"
    assert parkes.freq_mhz[0] == 432.342 and parkes.error_us[0] == 120.75
    pw = load_tim(str(PARFILES / "piecewise.tim"))
    assert np.all(np.isinf(pw.freq_mhz))  # frequency 0 means infinite


def test_phase_commands_set_flags(load_tim):
    toas = load_tim(str(PARFILES / "NGC6440E_PHASETEST.tim"))
    assert toas.flags[32]["phase"] == "-0.3"
    assert toas.flags[9]["phase"] == "0.2" and toas.flags[9]["padd"] == "-0.2"


@pytest.mark.parametrize("path", ALL_TIMS, ids=lambda p: Path(p).name)
def test_write_then_read_is_identity(path, tmp_path, load_tim):
    toas = load_tim(path)
    out = tmp_path / "out.tim"
    write_tim(toas, out)
    again = read_tim(out)
    assert again.mjd_text == toas.mjd_text
    assert again.obs == toas.obs and again.names == toas.names and again.flags == toas.flags
    np.testing.assert_array_equal(again.freq_mhz, toas.freq_mhz)
    np.testing.assert_array_equal(again.error_us, toas.error_us)


def test_write_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "in.tim"
    src.write_text("FORMAT 1\ntoa1 1400 55000.5 1.0 gbt\n")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_tim(read_tim(src), src)
    assert src.read_text() == "FORMAT 1\ntoa1 1400 55000.5 1.0 gbt\n"


def _write(tmp_path, text, name="bad.tim"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("FORMAT 1\ntoa1 1400 55000.x 1.0 gbt\n", 2, "bad MJD"),
        ("FORMAT 1\ntoa1 1400 -5.25 1.0 gbt\n", 2, "bad MJD '-5.25'"),
        ("FORMAT 1\ntoa1 1400 53216126681267383513 1.0 gbt\n", 2, "bad MJD"),
        ("FORMAT 1\ntoa1 1400 55000.5 1.0 gbt\nb 14x0 55000.6 1.0 gbt\n", 3, "bad number '14x0'"),
        ("FORMAT 1\ntoa1 1400 55000.5 1.0 nowhere\n", 2, "unknown observatory code 'nowhere'"),
        ("FORMAT 1\ntoa1 1400 55000.5 1.0 gbt -fe\n", 2, "pairs"),
        ("FORMAT 1\ntoa1 1400 55000.5 1.0\n", 2, "TEMPO2 TOA line needs"),
        ("FORMAT 1\ntoa1 1400 55000.5 -1.0 gbt\n", 2, "finite, positive number of us"),
        ("FORMAT 1\ntoa1 1400 55000.5 0 gbt\n", 2, "TOA error must be a finite, positive number of us, got '0'"),
        ("FORMAT 1\ntoa1 1400 55000.5 nan gbt\n", 2, "TOA error must be a finite, positive"),
        ("FORMAT 1\ntoa1 nan 55000.5 1.0 gbt\n", 2, "bad frequency 'nan' MHz"),
        ("FORMAT 1\nTIME nan\ntoa1 1400 55000.5 1.0 gbt\n", 2, "TIME needs a finite number, got 'nan'"),
        ("FORMAT 1\nTIME inf\ntoa1 1400 55000.5 1.0 gbt\n", 2, "TIME needs a finite number"),
        ("FORMAT 1\nEFAC 0\ntoa1 1400 55000.5 1.0 gbt\n", 2, "EFAC must be positive, got '0'"),
        ("FORMAT 1\nEFAC -2\ntoa1 1400 55000.5 1.0 gbt\n", 2, "EFAC must be positive"),
        ("FORMAT 1\nEQUAD -0.1\ntoa1 1400 55000.5 1.0 gbt\n", 2, "EQUAD must be non-negative"),
        ("hello there\n", 1, "unrecognised line"),
        ("FORMAT 1\nJUMP\na 1400 55000.5 1.0 gbt\n", 2, "JUMP block opened here is never closed"),
        ("FORMAT 1\nINCLUDE missing.tim\n", 2, "INCLUDE target not found"),
        ("FORMAT 1\nTIME abc\n", 2, "TIME needs a number"),
        ("FORMAT 1\ntoa1 1400 55000.5 1.0 gbt -error 3\n", 2, "would overwrite a TOA column"),
    ],
)
def test_malformed_tim_gives_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        read_tim(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert message in str(exc.value)


def test_error_in_included_file_names_that_file(tmp_path):
    _write(tmp_path, "FORMAT 1\na 1400 55000.5 1.0 gbt\nb 1400 bad 1.0 gbt\n", "inner.tim")
    outer = _write(tmp_path, "FORMAT 1\nINCLUDE inner.tim\n", "outer.tim")
    with pytest.raises(InputError) as exc:
        read_tim(outer)
    assert str(exc.value).startswith(f"{tmp_path / 'inner.tim'}:3: ")


def test_include_loop_is_an_error(tmp_path):
    _write(tmp_path, "FORMAT 1\nINCLUDE b.tim\n", "a.tim")
    _write(tmp_path, "FORMAT 1\nINCLUDE a.tim\n", "b.tim")
    with pytest.raises(InputError, match="would loop"):
        read_tim(tmp_path / "a.tim")


@pytest.mark.parametrize(("content", "message"),
                         [(b"", "empty file"), (b"\x7fELF\x00\x00binary" * 10, "binary file"),
                          (b"FORMAT 1\nC nothing\n", "no TOAs found")])
def test_whole_file_problems(tmp_path, content, message):
    path = tmp_path / "x.tim"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_tim(path)


# ---- property tests

_SITES = ["gbt", "ao", "1", "3", "@", "coe", "pks", "ncy", "meerkat", "chime"]
_flag_key = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda k: k not in {"error", "freq", "mjd", "obs", "name", "flags", "scale"})
_flag_val = st.from_regex(r"[A-Za-z0-9_.+-]{1,10}", fullmatch=True)


@st.composite
def _toa_lines(draw):
    lines = ["FORMAT 1"]
    for _ in range(draw(st.integers(1, 20))):
        day = draw(st.integers(40000, 70000))
        frac = draw(st.text("0123456789", min_size=0, max_size=19))
        mjd = f"{day}.{frac}" if frac else str(day)
        freq = draw(st.sampled_from(["0", "inf", "1400.0", "430", "820.5", "1e3"]))
        err = draw(st.sampled_from(["0.1", "1.5", "12", "3.2e-1"]))
        flags = draw(st.dictionaries(_flag_key, _flag_val, max_size=4))
        name = "toa" + draw(st.from_regex(r"[A-Za-z0-9_.]{0,15}", fullmatch=True))
        text = " ".join(f"-{k} {v}" for k, v in flags.items())
        lines.append(f"{name} {freq} {mjd} {err} {draw(st.sampled_from(_SITES))} {text}".rstrip())
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_toa_lines())
@example(["FORMAT 1", "toa 0 40000 0.1 gbt -nan 0 -inf x"])  # names that read as IEEE specials are still flags
def test_random_tempo2_toas_round_trip(tmp_path, lines):
    path = _write(tmp_path, "\n".join(lines) + "\n", "rand.tim")
    toas = read_tim(path)
    assert len(toas) == len(lines) - 1
    out = tmp_path / "rand.out.tim"
    write_tim(toas, out)
    again = read_tim(out)
    assert again.mjd_text == toas.mjd_text and again.flags == toas.flags and again.obs == toas.obs
    np.testing.assert_array_equal(again.freq_mhz, toas.freq_mhz)


_REAL = ((PARFILES / "test2.tim").read_text().splitlines()
         + (DATASETS / "J1744-1134" / "J1744-1134.Rcvr1_2.GASP.8y.x.tim").read_text().splitlines()[:40]
         + (PARFILES / "parkes.toa").read_text().splitlines()
         + (DATASETS / "testtimes" / "testtimes.tim").read_text().splitlines())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_REAL), st.integers(0, 120),
                          st.sampled_from(["", "x", "1", " ", ".", "-", "\t", "#", "e", "JUMP ", "0"])),
                min_size=1, max_size=12))
def test_mutated_real_lines_parse_or_fail_cleanly(tmp_path, edits):
    lines = [line[:pos] + ins + line[pos + 1:] for line, pos, ins in ((ln, min(p, len(ln)), i) for ln, p, i in edits)]
    path = _write(tmp_path, "\n".join(lines) + "\n", "mut.tim")
    try:
        toas = read_tim(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
        return
    assert len(toas) >= 1 and np.all(np.isfinite(toas.error_us))


def test_megabyte_number_is_one_short_error_line(tmp_path):
    path = _write(tmp_path, "FORMAT 1\ntoa1 1400 55000.5 " + "9" * 1_000_000 + " gbt\n")
    with pytest.raises(InputError) as exc:
        read_tim(path)
    assert str(exc.value).startswith(f"{path}:2: TOA error must be a finite") and len(str(exc.value)) < 200


def test_infinite_frequency_written_as_zero_or_inf(tmp_path):
    toas = read_tim(_write(tmp_path, "FORMAT 1\na 0 55000.5 1.0 gbt\nb inf 55000.6 1.0 gbt\nc 1400 55000.7 1.0 gbt\n"))
    assert np.isinf(toas.freq_mhz[:2]).all() and toas.freq_mhz[2] == 1400.0


@pytest.mark.parametrize("text", ["1e400", "9" * 400, "-inf"])
def test_overflowing_frequency_is_refused_not_read_as_infinite(tmp_path, text):
    """Only 0 and a written inf mean infinite frequency; a number too large for a float is an error."""
    path = _write(tmp_path, f"FORMAT 1\na {text} 55000.5 1.0 gbt\n")
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:2: (frequency .* overflows a float|bad frequency)"):
        read_tim(path)
