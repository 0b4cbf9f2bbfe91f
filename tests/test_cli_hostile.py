"""The hostile-user trial of issue 27, case by case: each ends in rc 0 with finite output, or rc 2 with one
``FILE[:LINE]: problem`` line; never a traceback, a NaN answer or a lost file.  All in-process (``main``)."""

from __future__ import annotations

import re

import pytest

from conftest import DATASETS, ROOT
from jugbayes.cli import main

NGC = DATASETS / "NGC6440E"
MSP = ROOT / "models" / "isolated_msp"
SOURCES = ("--clock-dir", str(DATASETS.parent / "clock"), "--ephem-file", str(DATASETS.parent / "ephem" / "de421.bsp"))


def _copy(tmp_path, src, edit=lambda text: text, name=None):
    out = tmp_path / (name or src.name)
    out.write_text(edit(src.read_text()))
    return out


def _set(name, value):
    """An edit replacing the value of parameter ``name`` (its first line) with ``value``, keeping the fit flag."""
    return lambda text: re.sub(rf"(?m)^{name}(\s+)\S+", lambda m: f"{name}{m.group(1)}{value}", text, count=1)


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clean_refusal(rc, err, where, message):
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"{where}: ") and message in lines[0], lines[0]


@pytest.mark.parametrize(
    ("name", "value", "line", "message"),
    [("F1", "NaN", 5, "F1 must be a finite number"), ("DM", "inf", 8, "DM must be a finite number"),
     ("F0", "1e400", 4, "F0 must be a finite number"), ("F0", "0", 4, "F0 0: must be positive"),
     ("F0", "-61.485476554", 4, "must be positive"), ("F1", "1e200", 5, "the spin phase over these TOAs reaches")],
)
@pytest.mark.parametrize("command", ["residuals", "fit"])
def test_bad_values_are_refused_before_any_answer(tmp_path, capsys, command, name, value, line, message):
    par = _copy(tmp_path, NGC / "NGC6440E.par", _set(name, value))
    out_par = tmp_path / "out.par"
    extra = ("--out-par", out_par) if command == "fit" else ()
    rc, out, err = run(capsys, command, par, NGC / "NGC6440E.tim", *extra, *SOURCES)
    assert_clean_refusal(rc, err, f"{par}:{line}", message)
    assert not out_par.exists() and "nan" not in out.lower()


def test_px_nan_and_zero_efac_refused(tmp_path, capsys):
    par = _copy(tmp_path, MSP / "isolated_msp.par", _set("PX", "nan"))
    rc, _, err = run(capsys, "residuals", par, MSP / "isolated_msp.tim", *SOURCES)
    assert_clean_refusal(rc, err, f"{par}:7", "PX must be a finite number")
    par = _copy(tmp_path, MSP / "isolated_msp.par", lambda t: t.replace("T2EFAC         -f Rcvr1_2_GUPPI         1.05",
                                                                        "T2EFAC -f Rcvr1_2_GUPPI 0"))
    rc, _, err = run(capsys, "fit", par, MSP / "isolated_msp.tim", *SOURCES)
    assert_clean_refusal(rc, err, f"{par}:23", "T2EFAC 0: must be positive")
    par = _copy(tmp_path, MSP / "isolated_msp.par", lambda t: t.replace("1.05", "-1.05"))
    rc, _, err = run(capsys, "residuals", par, MSP / "isolated_msp.tim", *SOURCES)
    assert_clean_refusal(rc, err, f"{par}:23", "must be positive")


def test_megabyte_value_is_one_line(tmp_path, capsys):
    par = _copy(tmp_path, NGC / "NGC6440E.par", lambda t: t + "F2 " + "3" * 1_000_000 + " 1\n")
    rc, _, err = run(capsys, "fit", par, NGC / "NGC6440E.tim", *SOURCES)
    assert_clean_refusal(rc, err, f"{par}:21", "F2 must be a finite number")
    assert len(err) < 300


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda t: t.replace("    21.71", "    0.0  ", 1), "TOA error must be a finite, positive number of us, got '0.0'"),
     (lambda t: t.replace("MODE 1", "MODE 1\nTIME nan"), "TIME needs a finite number, got 'nan'"),
     (lambda t: t.replace("MODE 1", "MODE 1\nEFAC 0"), "EFAC must be positive")],
)
def test_bad_tim_values_are_refused(tmp_path, capsys, edit, message):
    tim = _copy(tmp_path, NGC / "NGC6440E.tim", edit)
    rc, out, err = run(capsys, "residuals", NGC / "NGC6440E.par", tim, *SOURCES)
    assert_clean_refusal(rc, err, f"{tim}:2", message)
    assert "nan" not in out.lower()


def test_one_toa_fit_is_refused_and_residuals_are_finite(tmp_path, capsys):
    tim = _copy(tmp_path, NGC / "NGC6440E.tim", lambda t: "\n".join(t.splitlines()[:2]) + "\n")
    rc, _, err = run(capsys, "fit", NGC / "NGC6440E.par", tim, *SOURCES)
    assert_clean_refusal(rc, err, str(tim), "1 TOA cannot constrain 6 fitted parameters")
    rc, out, err = run(capsys, "residuals", NGC / "NGC6440E.par", tim, *SOURCES)
    assert rc == 0 and "nan" not in (out + err).lower() and "1 TOAs" in err


# ---------------------------------------------------------------- outputs: never onto an input, never lost


def _included(tmp_path):
    """A top .tim that INCLUDEs a copy of NGC6440E's TOAs."""
    inner = _copy(tmp_path, NGC / "NGC6440E.tim", name="inner.tim")
    top = tmp_path / "top.tim"
    top.write_text(f"INCLUDE {inner.name}\n")
    return top, inner


@pytest.mark.parametrize("option", ["--summary", "--out-par", "--plot"])
def test_fit_outputs_onto_inputs_are_refused_before_the_fit(tmp_path, capsys, option):
    top, inner = _included(tmp_path)
    par = _copy(tmp_path, NGC / "NGC6440E.par")
    for target in (par, inner, top):
        before = target.read_bytes()
        rc, out, err = run(capsys, "fit", par, top, option, target, "--overwrite", *SOURCES)
        assert_clean_refusal(rc, err, str(target), f"{option}: refusing to overwrite an input file")
        assert "fit:" not in out and target.read_bytes() == before


def test_residuals_plot_onto_input_and_bad_suffix(tmp_path, capsys):
    tim = _copy(tmp_path, NGC / "NGC6440E.tim")
    rc, _, err = run(capsys, "residuals", NGC / "NGC6440E.par", tim, "--plot", tim, *SOURCES)
    assert_clean_refusal(rc, err, str(tim), "--plot: refusing to overwrite an input file")
    rc, _, err = run(capsys, "residuals", NGC / "NGC6440E.par", tim, "--plot", tmp_path / "r.txt", *SOURCES)
    assert_clean_refusal(rc, err, str(tmp_path / "r.txt"), "--plot: cannot draw a figure as .txt")


def test_existing_outputs_need_overwrite(tmp_path, capsys):
    out = tmp_path / "r.csv"
    out.write_text("mine\n")
    args = ("residuals", NGC / "NGC6440E.par", NGC / "NGC6440E.tim", "--out", out, *SOURCES)
    rc, _, err = run(capsys, *args)
    assert_clean_refusal(rc, err, str(out), "--out: exists; give --overwrite")
    assert out.read_text() == "mine\n"
    rc, _, _ = run(capsys, *args, "--overwrite")
    assert rc == 0 and out.read_text().startswith("index,") and len(list(tmp_path.iterdir())) == 1


def test_nuts_outdir_with_a_posterior_is_kept(tmp_path, capsys):
    outdir = tmp_path / "post"
    outdir.mkdir()
    (outdir / "summary.csv").write_text("earlier run\n")
    rc, out, err = run(capsys, "fit", NGC / "NGC6440E.par", NGC / "NGC6440E.tim", "--method", "nuts", "--outdir",
                       outdir, *SOURCES)
    assert_clean_refusal(rc, err, str(outdir / "summary.csv"), "--outdir (summary.csv): exists; give --overwrite")
    assert (outdir / "summary.csv").read_text() == "earlier run\n" and "fit:" not in out
    afile = tmp_path / "afile"
    afile.write_text("x")
    rc, _, err = run(capsys, "fit", NGC / "NGC6440E.par", NGC / "NGC6440E.tim", "--method", "nuts", "--outdir",
                     afile, *SOURCES)
    assert_clean_refusal(rc, err, str(afile), "--outdir: is a file, not a folder")


def test_convert_and_simulate_refuse_included_inputs(tmp_path, capsys):
    top, inner = _included(tmp_path)
    for command in (("convert", top), ("simulate", NGC / "NGC6440E.par", top)):
        before = inner.read_bytes()
        rc, _, err = run(capsys, *command, "--out", inner, "--overwrite", *(SOURCES if command[0] == "simulate" else ()))
        assert_clean_refusal(rc, err, str(inner), "--out: refusing to overwrite an input file")
        assert inner.read_bytes() == before


# ---------------------------------------------------------------- fits that cannot be right say so


def _moved_toa(text):
    """NGC6440E's 10th TOA moved by 1 ms and given a 1 ns error (Princeton columns)."""
    lines = text.splitlines()
    line = lines[10]
    assert line[24:44] == " 53681.9545449023499" and line[44:53] == "    27.41"
    lines[10] = line[:24] + " 53681.9545449139239" + "    0.001" + line[53:]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("par_edit", "tim_edit", "expected"),
    [(_set("F0", "61.485538039"), lambda t: t, ["reduced chi2 2.88e+04 is far above 1"]),  # F0 off by 1e-6
     (lambda t: t, _moved_toa, ["reduced chi2 821.1 is far above 1",
                                "one TOA ({tim}:11, error 0.001 us against a median 21.9 us) carries 100%"])],
)
def test_wrong_fits_warn_and_strict_fails(tmp_path, capsys, par_edit, tim_edit, expected):
    par = _copy(tmp_path, NGC / "NGC6440E.par", par_edit)
    tim = _copy(tmp_path, NGC / "NGC6440E.tim", tim_edit)
    rc, out, err = run(capsys, "fit", par, tim, *SOURCES)
    warned = [ln for ln in err.splitlines() if ln.startswith("warning: ") and "CLK UTC(NIST)" not in ln]
    assert rc == 0 and "converged" in out
    assert len(warned) == len(expected) and all(w.startswith("warning: " + e.format(tim=tim))
                                                for w, e in zip(warned, expected)), err
    out_par = tmp_path / "o.par"
    rc, _, err = run(capsys, "fit", par, tim, "--strict", "--out-par", out_par, *SOURCES)
    assert rc == 3 and "--strict: the fit cannot be right" in err and not out_par.exists()


def test_good_fit_passes_strict(tmp_path, capsys):
    rc, out, err = run(capsys, "fit", NGC / "NGC6440E.par", NGC / "NGC6440E.tim", "--strict", *SOURCES)
    warned = [ln for ln in err.splitlines() if "warning" in ln]
    assert rc == 0 and "converged" in out and len(warned) == 1 and "CLK UTC(NIST), so TT(TAI)" in warned[0]
