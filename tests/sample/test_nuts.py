"""NUTS against the WLS fit where the problem is linear (NGC6440E: F0, F1, RAJ, DECJ, DM, white noise)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR

from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.timing_model import build_model
from jugbayes.sample.nuts import _whitening, sample_nuts, to_inference_data


@pytest.fixture(scope="module")
def ngc():
    par = read_par(DATASETS / "NGC6440E" / "NGC6440E.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "NGC6440E" / "NGC6440E.tim"), clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    fit = fit_wls(model)
    return model, fit, sample_nuts(model, fit, chains=4, warmup=500, samples=1000, seed=1)


def test_linear_posterior_matches_wls(ngc):
    """Posterior means within 0.1 sigma, sds within 5%, covariance within 10% (relative Frobenius)."""
    model, fit, post = ngc
    idx = [fit.names.index(n) for n in post.names]
    flat = post.samples.reshape(-1, len(post.names))
    sigma = fit.sigma[idx]
    assert np.all(np.abs(flat.mean(0) - fit.offsets[idx]) <= 0.1 * sigma)
    assert np.all(np.abs(flat.std(0) / sigma - 1) <= 0.05), flat.std(0) / sigma
    d = np.diag(1 / sigma)
    cov_fit = d @ fit.covariance[np.ix_(idx, idx)] @ d
    cov_post = d @ np.cov(flat.T) @ d
    assert np.linalg.norm(cov_post - cov_fit) / np.linalg.norm(cov_fit) <= 0.10
    assert post.sample_stats["diverging"].sum() == 0 and post.sample_stats["num_steps"].mean() < 16


def test_inference_data_in_par_units(ngc):
    import arviz as az

    model, fit, post = ngc
    idata = to_inference_data(model, post, fit)
    assert set(idata.posterior.data_vars) == {"F0", "F1", "RAJ", "DECJ", "DM"}
    assert idata.posterior["RAJ"].shape == (4, 1000)
    assert float(idata.posterior["RAJ"].mean()) == pytest.approx(17.8146667630, abs=1e-8)  # hours
    summary = az.summary(idata)
    assert (summary["r_hat"] < 1.01).all() and (summary["ess_bulk"] > 400).all()


def test_same_seed_same_samples(ngc):
    model, fit, post = ngc
    again = sample_nuts(model, fit, chains=4, warmup=500, samples=1000, seed=1)
    np.testing.assert_array_equal(again.samples, post.samples)


def test_whitening_is_unit_free_and_drops_degenerate_directions():
    cov = np.diag([1e-22, 1e2, 1.0])
    cov[1, 2] = cov[2, 1] = 10.0  # perfectly correlated pair: one direction has zero variance
    w = _whitening(cov)
    assert w.shape == (3, 2)
    np.testing.assert_allclose(w @ w.T, cov, atol=1e-9 * 1e2, rtol=1e-9)
