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
