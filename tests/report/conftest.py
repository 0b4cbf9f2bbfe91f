"""Fixtures for the posterior reports: NGC6440E's WLS fit and NUTS-like results drawn from its Gaussian."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR


@pytest.fixture(scope="session")
def ngc_fit():
    """(model, WLS fit) for NGC6440E (62 TOAs; RAJ, DECJ, F0, F1, DM free)."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model

    par = read_par(DATASETS / "NGC6440E" / "NGC6440E.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "NGC6440E" / "NGC6440E.tim"), clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    return model, fit_wls(model)


def gaussian_result(fit, chains=4, draws=1000, seed=0, n_steps=7):
    """A NutsResult-like object whose draws come from the fit's Gaussian (model units), OFFSET left out."""
    names = tuple(n for n in fit.names if n != "OFFSET")
    idx = [fit.names.index(n) for n in names]
    center = np.asarray(fit.offsets)[idx]
    sigma = np.asarray(fit.sigma)[idx]
    corr = np.asarray(fit.covariance)[np.ix_(idx, idx)] / np.outer(sigma, sigma)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((chains, draws, len(names))) @ np.linalg.cholesky(corr).T
    stats = {"diverging": np.zeros((chains, draws), bool), "num_steps": np.full((chains, draws), n_steps),
             "energy": rng.normal(size=(chains, draws))}
    return SimpleNamespace(names=names, samples=center + sigma * z, sample_stats=stats)


@pytest.fixture(scope="session")
def draw_gaussian():
    return gaussian_result
