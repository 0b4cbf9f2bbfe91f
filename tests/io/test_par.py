"""The .par reader and writer, on every shared .par and on crafted and random input."""

from __future__ import annotations

import json
import warnings
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ALL_PARS, DATASETS, PARFILES
from jugbayes.errors import InputError
from jugbayes.io.par import UnusedParameterWarning, format_par, parse_par_lines, read_par, write_par


def _fields(par):
    return [(p.name, p.written_name, p.value, p.fit, p.uncertainty, p.selector, p.flag_written) for p in par.lines
            if not isinstance(p, str)]


@pytest.mark.parametrize("path", ALL_PARS, ids=lambda p: Path(p).name)
def test_every_shared_par_reads_and_round_trips(path, tmp_path, load_par):
    par = load_par(path)
    assert par.params, "no parameters read"
    out = tmp_path / "out.par"
    write_par(par, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = read_par(out)
    assert _fields(again) == _fields(par)
    # unused parameters come back unchanged, as text
    assert [(p.written_name, p.value) for p in again.unused] == [(p.written_name, p.value) for p in par.unused]


@pytest.mark.parametrize("fit_json", sorted(DATASETS.glob("*/*.pint_fit.json")), ids=lambda p: p.parent.name)
def test_free_parameters_match_pint(fit_json, load_par):
    """The fit flags we read free the same parameters PINT frees.

    PINT also frees DMX_0001 when the file gives it no fit flag (a default of
    PINT's DMX component, not something the file says); we follow the file.
    """
    ref = json.loads(fit_json.read_text())
    par = load_par(str(fit_json.parent / ref["par"]))
    ours = {n for n, p in par.params.items() if p.fit}
    theirs = set(ref["free_params"])
    quirk = {"DMX_0001"} if par.get("DMX_0001") is not None and not par["DMX_0001"].fit else set()
    assert ours == theirs - quirk


def test_values_kept_exactly_as_written(load_par):
    par = load_par(str(PARFILES / "test_par_read.par"))
    f0 = par["F0"]
    assert f0.value == "3.1656417173390769548"
    hi, lo = f0.as_split()
    with localcontext() as ctx:
        ctx.prec = 60
        assert abs(Decimal(hi) + Decimal(lo) - Decimal("3.1656417173390769548")) < Decimal("1e-30")
    # RAJ sexagesimal in hours, DECJ in degrees
    assert par["RAJ"].as_float() == pytest.approx(0 + 7 / 60 + 1.56 / 3600, abs=1e-15)
    assert par["DECJ"].as_float() == pytest.approx(73 + 3 / 60 + 8.1 / 3600, abs=1e-13)


def test_fit_flag_and_uncertainty_columns_follow_pint(load_par):
    """PINT's own expectations for test_par_read.par (a lone integer other than 0/1 is an uncertainty)."""
    p = load_par(str(PARFILES / "test_par_read.par")).params
    assert (p["F3"].fit, p["F3"].uncertainty) == (False, None)
    assert (p["F4"].fit, p["F4"].uncertainty) == (False, "0.001")
    assert (p["F5"].fit, p["F5"].uncertainty) == (False, "0.001")
    assert (p["F6"].fit, p["F6"].uncertainty) == (True, "0.001")
    assert (p["F7"].fit, p["F7"].uncertainty) == (False, "3")
    assert (p["F8"].fit, p["F8"].uncertainty) == (False, "10")
    assert p["JUMP1"].selector == ("MJD", "52742", "52745")
    assert (p["JUMP12"].fit, p["JUMP12"].uncertainty, p["JUMP12"].selector) == (True, "+2", ("-testflag", "flagvalue"))


def test_aliases_resolve_to_canonical_names():
    par = parse_par_lines(["PSRJ J0000+0000", "E 0.1 1", "XDOT 1.0D-14", "T2EFAC -f L-wide_ASP 1.1",
                           "TNECORR -f X 0.5", "SOLARN0 4.0", "LAMBDA 120.5", "BETA -5.0", "STIG 0.3"], "x.par")
    assert par.pulsar == "J0000+0000"
    assert par["ECC"].value == "0.1" and par["ECC"].fit and par["E"] is par["ECC"]
    assert par["A1DOT"].as_float() == 1.0e-14
    assert par["EFAC1"].selector == ("-f", "L-wide_ASP")
    assert par["ECORR1"].value == "0.5"
    assert {"NE_SW", "ELONG", "ELAT", "STIGMA"} <= set(par.params)
    # the name is written back as the file wrote it
    assert "T2EFAC -f L-wide_ASP" in format_par(par)


def test_families_and_selectors():
    par = parse_par_lines([
        "F0 100 1", "F12 1e-40", "DM 10", "DM1 1e-4", "FB0 1e-4", "FD3 1e-5", "DMX_1 0.001 1", "DMXR1_1 50000",
        "DMXR2_1 50001", "GLEP_2 55000", "GLF0D_2 1e-7", "JUMP -fe L-wide 1e-5 1", "JUMP MJD 50000 51000 0.1",
        "JUMP FREQ 1000 2000 0.2 0 0.01", "JUMP tel ao 0.3", "EFAC -f a 1.1", "EQUAD -f a 0.1", "ECORR -f a 0.2",
        "TNRedAmp -14.2", "TNRedGam 4.9", "TNRedC 45", "RNAMP 0.02", "RNIDX -3.1", "TNDMAmp -13", "DMJUMP -fe 430 1e-4",
    ], "x.par")
    p = par.params
    assert {"F0", "F12", "DM1", "FB0", "FD3", "DMX_0001", "DMXR1_0001", "GLEP_2", "GLF0D_2", "TNREDAMP", "TNREDC",
            "TNDMAMP", "RNAMP", "DMJUMP1"} <= set(p)
    assert [j.selector for j in par.masked("JUMP")] == [
        ("-fe", "L-wide"), ("MJD", "50000", "51000"), ("FREQ", "1000", "2000"), ("TEL", "ao")]
    assert p["JUMP3"].uncertainty == "0.01" and not p["JUMP3"].fit
    assert p["F0"].spec.component == "spin" and p["GLEP_2"].spec.kind == "mjd"


def test_unused_parameters_warn_once_and_are_kept(tmp_path):
    lines = ["PSR J1", "F0 1.0", "DMWAVE_OM 0.1", "NE_SW1 0.001 0", "MYPARAM whatever 3"]
    with pytest.warns(UnusedParameterWarning) as rec:
        par = parse_par_lines(lines, "x.par")
    assert len(rec) == 1
    assert all(n in str(rec[0].message) for n in ("DMWAVE_OM", "NE_SW1", "MYPARAM"))
    assert [p.written_name for p in par.unused] == ["DMWAVE_OM", "NE_SW1", "MYPARAM"]
    text = format_par(par)
    for raw in lines[2:]:
        name, rest = raw.split(None, 1)
        assert any(line.split(None, 1) == [name, rest] for line in text.splitlines())


def test_wave_pairs_read_and_write_back_exactly():
    lines = ["PSR J1", "F0 1.0", "WAVE_OM 0.0015182579855022 0", "WAVEEPOCH 55305", "WAVE1 -0.21573979911255 -0.049063841960712",
             "WAVE2 6.2795320246729e-1 -1.1984954655989D-1 # a comment"]
    par = parse_par_lines(lines, "x.par")
    assert not par.unused and par["WAVE1"].as_pair() == (-0.21573979911255, -0.049063841960712)
    assert par["WAVE2"].as_pair() == (0.62795320246729, -0.11984954655989)
    again = parse_par_lines(format_par(par).splitlines(), "y.par")
    assert [(p.name, p.value, p.comment) for p in again.params.values()] == [
        (p.name, p.value, p.comment) for p in par.params.values()]
    for bad in ("WAVE1 0.5", "WAVE1 0.5 0.2 1", "WAVE1 0.5 x"):
        with pytest.raises(InputError, match=r"x\.par:3: WAVE1 needs two numbers"):
            parse_par_lines(["PSR J1", "F0 1.0", bad], "x.par")
    with pytest.raises(InputError, match=r"x\.par:3: WAVE1 must be finite numbers, got 'nan'"):
        parse_par_lines(["PSR J1", "F0 1.0", "WAVE1 0.5 nan"], "x.par")
    ifunc = parse_par_lines(["PSR J1", "F0 1.0", "SIFUNC 2 0", "IFUNC1 54658.155289299385913 92.1008214797 0.0"], "x")
    assert ifunc["IFUNC1"].as_pair() == (54658.155289299385913, 92.1008214797) and ifunc["IFUNC1"].uncertainty == "0.0"
    assert format_par(ifunc).splitlines()[-1].split() == ["IFUNC1", "54658.155289299385913", "92.1008214797", "0.0"]
    with pytest.raises(InputError, match=r"x\.par:3: IFUNC1 needs an MJD and an offset"):
        parse_par_lines(["PSR J1", "F0 1.0", "IFUNC1 54000"], "x.par")


def test_comments_and_inline_comments_are_kept():
    par = parse_par_lines(["# header", "C old-style comment", "F0 1.5 1 0.1 # from 2020 fit", "", "PEPOCH 55000"], "x")
    assert par["F0"].uncertainty == "0.1" and par["F0"].fit
    text = format_par(par)
    assert text.splitlines()[:2] == ["# header", "C old-style comment"]
    assert "# from 2020 fit" in text


def test_write_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "in.par"
    src.write_text("PSR J1\nF0 1.0 1\n")
    par = read_par(src)
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_par(par, src)
    assert src.read_text() == "PSR J1\nF0 1.0 1\n"


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (["PSR J1", "F0 1.23.4 1"], 2, "bad number '1.23.4' for F0"),
        (["F0 1.0", "F1 -1e-15", "F0 1.1"], 3, "duplicated parameter F0 (already given at line 1)"),
        (["E 0.1", "ECC 0.1"], 2, "duplicated parameter ECC"),
        (["EFAC -f a 1.1", "T2EFAC -f a 1.2"], 2, "duplicated parameter T2EFAC -f a"),
        (["RAJ 25:61:00"], 1, "bad angle"),
        (["F0 1.0 yes"], 1, "bad fit flag or uncertainty 'yes'"),
        (["F0 1.0 1 0.1 7"], 1, "too many fields"),
        (["JUMP 0.1 1"], 1, "needs a TOA selector"),
        (["JUMP MJD 50000 0.1"], 1, "selector needs 2 value(s)"),
        (["EPHEM"], 1, "EPHEM has no value"),
        (["PLANET_SHAPIRO maybe"], 1, "bad yes/no value"),
        (["NITS 1.5"], 1, "bad integer"),
        (["F0 1.0 1 -0.5"], 1, "negative"),
        (["PSR J1", "F1 NaN 1"], 2, "F1 must be a finite number, got 'NaN'"),
        (["DM inf"], 1, "DM must be a finite number, got 'inf'"),
        (["PX nan 1"], 1, "PX must be a finite number"),
        (["F0 1e400"], 1, "F0 must be a finite number, got '1e400'"),
        (["PEPOCH -inf"], 1, "PEPOCH must be a finite number"),
        (["RAJ nan"], 1, "RAJ must be a finite number"),
        (["F0 1.0 1 nan"], 1, "uncertainty of F0 must be a finite number"),
        (["NITS " + "1" * 40], 1, "bad integer"),
    ],
)
def test_malformed_lines_give_file_and_line(lines, line, message, tmp_path):
    path = tmp_path / "bad.par"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        read_par(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"\n  \n", "empty file"), (b"\x00\x01\x02binary\xff" * 20, "binary file"),
     (b"# only a comment\n", "no parameters")],
)
def test_whole_file_problems(content, message, tmp_path):
    path = tmp_path / "bad.par"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_par(path)


def test_megabyte_number_is_one_short_error_line(tmp_path):
    path = tmp_path / "big.par"
    path.write_text("F0 1\nF2 " + "7" * 1_000_000 + " 1\n")
    with pytest.raises(InputError) as exc:
        read_par(path)
    assert str(exc.value).startswith(f"{path}:2: F2 must be a finite number") and len(str(exc.value)) < 200


def test_tempo2_inf_tzrfrq_is_infinite_frequency(tmp_path):
    path = tmp_path / "inf.par"
    path.write_text("F0 1\nTZRFRQ inf\n")
    assert read_par(path)["TZRFRQ"].as_float() == float("inf")


def test_missing_file():
    with pytest.raises(InputError, match="no such file"):
        read_par("/nonexistent/x.par")


# ---- property tests: random and mutated lines give a ParFile or a clean InputError

_NAMES = ["F0", "F1", "RAJ", "DECJ", "PEPOCH", "E", "JUMP", "EFAC", "PSR", "PLANET_SHAPIRO", "NITS", "DMX_0001",
          "TNRedC", "CHI2R", "WAVE1", "ZZZ", "#", "C", "ECORR"]
_TOKENS = st.one_of(
    st.sampled_from(["0", "1", "2", "+10", "-1", "1.0D-12", "12:30:00.5", "-05:06:07", "Y", "N", "-fe", "MJD",
                     "FREQ", "TEL", "ao", "nan", "inf", "1e400", "#", "0.001", ""]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.floats(allow_nan=True).map(repr),
)


@st.composite
def _par_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        name = draw(st.sampled_from(_NAMES))
        tokens = draw(st.lists(_TOKENS, max_size=6))
        lines.append(" ".join([name, *tokens]))
    return lines


def _ok_or_clean_error(lines, tmp_path):
    path = tmp_path / "fuzz.par"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            par = read_par(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
        return
    # a file that parsed also survives write -> read unchanged
    out = tmp_path / "fuzz.out.par"
    write_par(par, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _fields(read_par(out)) == _fields(par)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_par_lines())
def test_random_lines_parse_or_fail_cleanly(tmp_path, lines):
    _ok_or_clean_error(lines, tmp_path)


_REAL_LINES = (PARFILES / "test_par_read.par").read_text().splitlines() + \
    (DATASETS / "B1855+09_9yv1" / "B1855+09_NANOGrav_9yv1.gls.par").read_text().splitlines()[:80]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_REAL_LINES), st.integers(0, 200), st.sampled_from(
    ["", "x", "1", " ", ":", ".", "-", "D", "\t", "#", "9e9"])), min_size=1, max_size=10))
def test_mutated_real_lines_parse_or_fail_cleanly(tmp_path, edits):
    lines = []
    for line, pos, insert in edits:
        pos = min(pos, len(line))
        lines.append(line[:pos] + insert + line[pos + 1:])
    _ok_or_clean_error(lines, tmp_path)
