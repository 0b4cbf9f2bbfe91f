"""The written .par's settings, summary lines and header (jugbayes.report.par_output), and its exact read-back.

PINT's own reading of these files is checked by ``tools/check_written_par_with_pint.py`` (PINT is no test
dependency): it re-reads the fitted .par of every shared data set with free parameters.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from conftest import CLOCK_DIR, EPHEM_DIR

from jugbayes.io import read_tim
from jugbayes.io.par import format_par, parse_par_lines
from jugbayes.model.timing_model import build_model
from jugbayes.report.fitted_par import fitted_values, updated_par
from jugbayes.report.par_output import FitSummary, output_par

MODELS = Path(__file__).resolve().parents[2] / "models"
WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def _par(text: str):
    return parse_par_lines(text.splitlines(), "in.par", warn=False)


@pytest.fixture(scope="module")
def isolated():
    """(par text, TOAs) of models/isolated_msp: no NE_SW, CORRECT_TROPOSPHERE, DILATEFREQ or MODE line."""
    folder = MODELS / "isolated_msp"
    return (folder / "isolated_msp.par").read_text(), read_tim(folder / "isolated_msp.tim")


def _model(text, toas, **kw):
    return build_model(_par(text), toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", **kw)


def _values(par) -> dict:
    return {p.name: p.value for p in par.params.values()}


def test_settings_whose_absence_tempo2_reads_otherwise_are_written(isolated):
    text, toas = isolated
    model = _model(text, toas)
    out = output_par(model.par, model, inputs=("in.par", "in.tim"), command="fit, WLS",
                     fit=FitSummary(1398.4, 1382, 0.9487), now=WHEN)
    v = _values(out)
    # TEMPO2's defaults without these lines: NE_SW 4, Y, Y, IF99, TCB, MODE 0; PINT's CLK default applies BIPM
    assert (v["NE_SW"], v["CORRECT_TROPOSPHERE"], v["DILATEFREQ"], v["PLANET_SHAPIRO"]) == ("0", "N", "N", "N")
    assert (v["EPHEM"], v["CLK"], v["UNITS"], v["TIMEEPH"], v["MODE"]) == ("DE421", "TT(TAI)", "TDB", "FB90", "1")
    assert (v["NTOA"], v["CHI2"], v["CHI2R"], v["TRES"]) == ("1392", "1398.400000", "1.011867 1382", "0.948700")
    assert v["START"] == "55175.430185" and v["FINISH"] == "58816.455670"
    mjd = toas.mjd_int + toas.mjd_frac
    assert float(v["START"]) <= mjd.min() and float(v["FINISH"]) >= mjd.max()
    assert out.lines[:3] == ["# Created: 2026-01-02T03:04:05Z", "# Program: jugbayes 0.1.0.dev0 (fit, WLS)",
                             "# Input: in.par in.tim"]
    # The settings written change nothing in jugbayes's own model (they say what it assumed).
    again = _model(format_par(out), toas)
    assert np.array_equal(np.asarray(again.residuals()["time_s"]), np.asarray(model.residuals()["time_s"]))


def test_settings_the_fit_overrode_are_replaced_with_a_comment_line(isolated):
    text, toas = isolated
    text = text.replace("TIMEEPH        FB90", "TIMEEPH        IF99").replace("CLK            TT(TAI)",
                                                                             "CLK            UTC(NIST)")
    model = _model(text, toas, clk="TT(BIPM2019)", timeeph="FB90")  # --clk, --timeeph: PINT's readings
    written = format_par(output_par(model.par, model, inputs=("in.par",), command="fit", now=WHEN))
    assert "# CLK UTC(NIST) in the input; jugbayes used TT(BIPM2019)\nCLK " in written
    assert "# TIMEEPH IF99 in the input; jugbayes used FB90\nTIMEEPH " in written
    v = _values(_par(written))
    assert (v["CLK"], v["TIMEEPH"]) == ("TT(BIPM2019)", "FB90")
    assert "CHI2" not in v and v["NTOA"] == "1392"  # no fit summary given: no chi2 lines
    # PINT refuses a comment after a value on a parameter line
    assert not [line for line in written.splitlines() if "#" in line and not line.startswith("#")]


def test_fitted_par_reads_back_exactly_and_rewrites_without_repeats(ngc_fit):
    model, fit = ngc_fit
    values = fitted_values(model, fit)
    summary = FitSummary(fit.chi2, fit.dof, fit.wrms_postfit_us)
    out = output_par(updated_par(model.par, values), model, inputs=("a.par", "a.tim"), command="fit", fit=summary,
                     now=WHEN)
    text = format_par(out)
    back = _par(text)
    fields = [(p.name, p.value, p.fit, p.uncertainty) for p in out.params.values()]
    assert [(p.name, p.value, p.fit, p.uncertainty) for p in back.params.values()] == fields
    for v in values:  # the fitted values, to the 22 digits written (RAJ/DECJ: 1e-11 s or arcsec)
        tol = Decimal("0.5e-11") / 3600 if v.name in ("RAJ", "DECJ") else abs(v.value) * Decimal("1e-21")
        assert abs(back[v.name].as_decimal() - v.value) <= tol, v.name
    # Rewriting a written .par replaces header, settings and summary lines instead of adding more.
    twice = format_par(output_par(back, model, inputs=("a.par", "a.tim"), command="fit", fit=summary, now=WHEN))
    assert twice == text
    assert text.count("# Program: jugbayes") == 1 and text.count("\nNTOA ") == 1
    assert "SOLARN0" in text and "\nNE_SW" not in text  # the input's alias of NE_SW is kept, not doubled


def test_a_par_without_timeeph_is_written_with_the_series_used(isolated):
    """No TIMEEPH: IF99, TEMPO2's default, where its file is found (here beside the JPL kernel); written so."""
    text, toas = isolated
    text = "\n".join(line for line in text.splitlines() if not line.startswith("TIMEEPH"))
    with pytest.warns(UserWarning, match="no TIMEEPH, so TT -> TDB by IF99"):
        model = _model(text, toas)
    assert _values(output_par(model.par, model, inputs=("in.par",), command="fit", now=WHEN))["TIMEEPH"] == "IF99"
