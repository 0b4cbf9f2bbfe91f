"""Shared fixtures: the reference data in ``../shared`` (real NANOGrav sets, PINT/TEMPO2 outputs)."""

from __future__ import annotations

import csv
import glob
import os
import warnings
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JUGBAYES_SHARED", ROOT.parent / "shared")).resolve()

if not (SHARED / "datasets").is_dir():  # fail loudly: CI always has ../shared
    raise RuntimeError(f"reference data not found at {SHARED}; set JUGBAYES_SHARED")

DATASETS = SHARED / "datasets"
PARFILES = SHARED / "parfiles"
ALL_PARS = sorted(glob.glob(str(DATASETS / "*" / "*.par")) + glob.glob(str(PARFILES / "*.par")))
DATASET_TIMS = sorted(glob.glob(str(DATASETS / "*" / "*.tim")))
ALL_TIMS = DATASET_TIMS + sorted(glob.glob(str(PARFILES / "*.tim"))) + [str(PARFILES / "parkes.toa")]


def pint_residual_rows(tim_path: str | Path) -> list[dict] | None:
    """PINT's per-TOA rows for the data set a ``.tim`` belongs to (None if PINT gave none)."""
    found = glob.glob(str(Path(tim_path).parent / "*.pint_residuals.csv"))
    if not found:
        return None
    with open(found[0], newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=None)
def _read_par_cached(path: str):
    from jugbayes.io import read_par

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_par(path)


@lru_cache(maxsize=None)
def _read_tim_cached(path: str):
    from jugbayes.io import read_tim

    return read_tim(path)


@pytest.fixture
def load_par():
    """Read a shared .par once per session (treat the result as read-only)."""
    return _read_par_cached


@pytest.fixture
def load_tim():
    """Read a shared .tim once per session (treat the result as read-only)."""
    return _read_tim_cached


CLOCK_DIR = SHARED / "clock"
EPHEM_DIR = SHARED / "ephem"

# Data sets with PINT per-TOA delays: (folder, par file, tim file).
PINT_DATASETS = {
    "J1744-1134": ("J1744-1134/J1744-1134.basic.par", "J1744-1134/J1744-1134.Rcvr1_2.GASP.8y.x.tim"),
    "J0613-0200_dfg12": ("J0613-0200_dfg12/J0613-0200_NANOGrav_dfg+12_TAI_FB90.par",
                         "J0613-0200_dfg12/J0613-0200_NANOGrav_dfg+12.tim"),
    "B1855+09_dfg12": ("B1855+09_dfg12/B1855+09_NANOGrav_dfg+12_TAI_FB90.par",
                       "B1855+09_dfg12/B1855+09_NANOGrav_dfg+12.tim"),
    "NGC6440E": ("NGC6440E/NGC6440E.par", "NGC6440E/NGC6440E.tim"),
    "B1855+09_9yv1": ("B1855+09_9yv1/B1855+09_NANOGrav_9yv1.gls.par", "B1855+09_9yv1/B1855+09_NANOGrav_9yv1.tim"),
    "J1713+0747": ("J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.gls.par",
                   "J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.tim"),
}


def ephem_file(par) -> Path:
    """The ../shared JPL kernel a .par's EPHEM names (DE421 when it names none)."""
    return EPHEM_DIR / f"{(par.get('EPHEM').value if par.get('EPHEM') else 'DE421').lower()}.bsp"


def shared_model(name: str, tim_path: str | Path | None = None):
    """(par, timing model) of shared data set ``name`` over its own .tim (or over ``tim_path``), with the
    shared clocks and ephemeris and the reading warnings silenced (benchmarks build their models here)."""
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model

    par_rel, tim_rel = PINT_DATASETS[name]
    par = read_par(DATASETS / par_rel, warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        toas = read_tim(tim_path if tim_path is not None else DATASETS / tim_rel)
        return par, build_model(par, toas, clock_dir=CLOCK_DIR, ephem_file=ephem_file(par))


@pytest.fixture(autouse=True)
def _isolated_sources(monkeypatch, tmp_path_factory):
    """No test sees the developer's own clock/ephemeris settings or cache; each points at ../shared itself."""
    for var in ("TEMPO2", "JUGBAYES_CLOCK_DIR", "JUGBAYES_EPHEM_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "empty-cache"))


@lru_cache(maxsize=None)
def _prepared_cached(name: str, clk: str | None = None, gps_file: str = "gps2utc.clk", timeeph: str | None = None):
    from jugbayes.prepare import prepare_toas

    par_rel, tim_rel = PINT_DATASETS[name] if name in PINT_DATASETS else name.split("|")
    par = _read_par_cached(str(DATASETS / par_rel))
    toas = _read_tim_cached(str(DATASETS / tim_rel))
    return par, prepare_toas(par, toas, clock_dir=CLOCK_DIR, ephem_file=ephem_file(par), clk=clk, gps_file=gps_file,
                              timeeph=timeeph)


@pytest.fixture
def prepared():
    """``prepared(name, clk=None, gps_file=..., timeeph=None)`` -> (par, PreparedTOAs), computed once per session."""
    return _prepared_cached


def split_mjd(mjd):
    """Float MJD(s) as a SplitMJD (for tests whose times need no more than float64 precision)."""
    import numpy as np

    from jugbayes.timescales.mjd import SplitMJD

    mjd = np.atleast_1d(np.asarray(mjd, dtype=np.float64))
    day = np.floor(mjd)
    return SplitMJD.from_parts(day, mjd - day)


def small_study_toml(ntoa: int = 24, n_datasets: int = 3, sbc: bool = True) -> str:
    """A small validation study of the bundled isolated pulsar (WLS only; F0, F1, DM), as TOML text."""
    text = f"""
[study]
par = "{ROOT / 'models' / 'isolated_msp' / 'isolated_msp.par'}"
n_datasets = {n_datasets}
methods = ["wls"]
params = ["F0", "F1", "DM"]
seed = 5

[layout]
start = 55000
end = 55800
ntoa = {ntoa}
freqs = [820, 1400]
error_us = 1.0
"""
    return text + ("""
[sbc]
enabled = true
prior_width = 2.0
draws = 19
bins = 4
""" if sbc else "")
