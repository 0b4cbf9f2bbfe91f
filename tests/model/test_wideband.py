"""Wideband TOAs (issue 25): DM residuals, DMEFAC/DMEQUAD/DMJUMP and the joint TOA + DM GLS against PINT.

References: ``tests/data/pint/wb_*`` from ``tools/make_pint_references.py --cases wb_B1855+09 wb_J1614-2230``
(PINT's WidebandTOAResiduals and WidebandDownhillFitter on NANOGrav 12.5-yr wideband data, DE421 copies).
"""

from __future__ import annotations

import csv
import json
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR

from jugbayes.cli import main
from jugbayes.constants import T_SUN_S
from jugbayes.errors import InputError
from jugbayes.io import read_par, read_tim
from jugbayes.model import dispersion
from jugbayes.model.noise import noise_for_model
from jugbayes.model.timing_model import build_model

PINT_DIR = Path(__file__).resolve().parents[1] / "data" / "pint"
WB = DATASETS / "wideband_12yv3"
# PINT's units -> the model's: angles in degrees there, radians here; PB days -> s; M2 Msun -> s (T_sun M2).
TO_MODEL_UNITS = {"ELONG": np.pi / 180, "ELAT": np.pi / 180, "PB": 86400.0, "M2": T_SUN_S}


def _paths(psr: str) -> tuple[Path, Path]:
    stem = WB / f"{psr}_NANOGrav_12yv3.wb"
    return Path(f"{stem}.gls_DE421.par"), Path(f"{stem}.tim")


@lru_cache(maxsize=None)
def _model(psr: str):
    par, tim = _paths(psr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(read_par(par), read_tim(tim), clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")


def _pint_dm(psr: str) -> dict[str, np.ndarray]:
    with open(PINT_DIR / f"wb_{psr}.pint_dm_residuals.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


@pytest.mark.parametrize("psr", ["B1855+09", "J1614-2230"])
def test_dm_residuals_and_scaled_errors_equal_pints(psr):
    """Measured -pp_dm less the model DM (DM + DMX + DMJUMP offsets), and DMEFAC/DMEQUAD-scaled -pp_dme."""
    model, pint = _model(psr), _pint_dm(psr)
    assert np.array_equal(np.asarray(model.data["wb_index"]), pint["index"].astype(int))
    ours = np.asarray(model.residuals()["dm_resid_pc_cm3"])
    assert np.abs(ours - pint["dm_resid"]).max() < 1e-6
    jumps = np.asarray(model.data["wb_dmjump_pc_cm3"])
    assert np.abs(jumps).max() >= 1e-4  # the .par's DMJUMPs (1e-4 .. 3e-4) are in both, far above the tolerance
    sigma = noise_for_model(model).wb_sigma_pc_cm3
    np.testing.assert_allclose(sigma, pint["dm_error_scaled"], rtol=1e-12)
    assert np.abs(sigma / pint["dm_error"] - 1).max() > 0.03  # DMEFACs 1.03 .. 1.61 applied


@pytest.mark.parametrize("psr", ["B1855+09", pytest.param("J1614-2230", marks=pytest.mark.slow)])
def test_wideband_fit_equals_pints_wideband_fitter(psr):
    """The joint GLS (B1855+09: red noise, a Fourier basis; J1614-2230: white) against WidebandDownhillFitter:
    every free parameter within 0.1 sigma, every sigma within 2%, chi2 and post-fit DM residuals."""
    from jugbayes.fit.wls import NonQuadraticFitWarning, fit_wls

    model = _model(psr)
    ref = json.loads((PINT_DIR / f"wb_{psr}.pint_wideband_fit.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonQuadraticFitWarning)  # SINI near 1 (B1855+09)
        result = fit_wls(model, noise=noise_for_model(model))
    assert result.converged
    assert sorted(result.names) == sorted([*ref["params"], "OFFSET"])
    for name, pint in ref["params"].items():
        i, unit = result.names.index(name), TO_MODEL_UNITS.get(name, 1.0)
        sigma = unit * pint["sigma"]
        assert abs(result.offsets[i] - unit * float(pint["delta"])) < 0.1 * sigma, name
        assert abs(result.sigma[i] / sigma - 1) < 0.02, name
    assert result.dof == ref["dof"]
    assert result.chi2 == pytest.approx(ref["chi2"], abs=0.05)
    assert result.chi2 < ref["chi2_prefit"] - 100  # the fit moved (PINT: 1760 -> 568 for B1855+09, 839 -> 432)
    assert np.abs(result.dm_residuals_pc_cm3 - _pint_dm(psr)["dm_resid_postfit"]).max() < 1e-6


def test_residual_table_has_the_dm_columns(tmp_path):
    par, tim = _paths("J1614-2230")
    out = tmp_path / "r.csv"
    assert main(["residuals", str(par), str(tim), "--out", str(out), "--clock-dir", str(CLOCK_DIR),
                 "--ephem-file", str(EPHEM_DIR / "de421.bsp")]) == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    pint = _pint_dm("J1614-2230")
    with_dm = [r for r in rows if r["dm_residual_pc_cm3"]]
    assert [int(r["index"]) for r in with_dm] == pint["index"].astype(int).tolist()
    got = np.array([float(r["dm_residual_pc_cm3"]) for r in with_dm])
    assert np.abs(got - pint["dm_resid"]).max() < 1e-6
    np.testing.assert_allclose([float(r["dm_error_pc_cm3"]) for r in with_dm], pint["dm_error_scaled"], rtol=1e-12)
    np.testing.assert_allclose([float(r["model_dm_pc_cm3"]) for r in with_dm], pint["model_dm"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("flags, line, problem", [
    ("-pp_dme 0.001", 3, "-pp_dme without -pp_dm"),
    ("-pp_dm 13.3", 3, "-pp_dm without -pp_dme"),
    ("-pp_dm 13.x -pp_dme 0.001", 3, "-pp_dm '13.x' is not a number"),
    ("-pp_dm 13.3 -pp_dme 0", 3, "-pp_dme 0 must be > 0"),
])
def test_bad_wideband_flags_name_the_line(tmp_path, flags, line, problem):
    tim = tmp_path / "wb.tim"
    tim.write_text("FORMAT 1\n"
                   "a 1400.0 55000.1 1.0 ao -pp_dm 13.2 -pp_dme 0.002\n"
                   f"b 1400.0 55000.2 1.0 ao {flags}\n")
    with pytest.raises(InputError) as err:
        dispersion.wideband_data(read_tim(tim), {})
    assert str(err.value).startswith(f"{tim}:{line}: ") and problem in str(err.value)
