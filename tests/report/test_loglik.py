"""Pointwise log-likelihood (ArviZ's log_likelihood group), prior draws, and the PTMCMC/la_forge chain export."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from jugbayes.report.loglik import SEQUENTIAL, WHITE, pointwise_loglike


def _at_fit_first(fit, draws):
    """``draws`` with its first draw moved to the WLS values."""
    samples = draws.samples.copy()
    samples[0, 0] = [np.asarray(fit.offsets)[fit.names.index(n)] for n in draws.names]
    return SimpleNamespace(**{**vars(draws), "samples": samples})


def test_white_noise_terms_sum_to_the_fit_chi2(ngc_fit, draw_gaussian):
    """At the WLS values the summed terms are -chi2/2 - sum log sigma - n log(2 pi)/2, chi2 the fit's."""
    from jugbayes.model.noise import noise_for_model

    model, fit = ngc_fit
    result = _at_fit_first(fit, draw_gaussian(fit, chains=2, draws=20))
    values, about = pointwise_loglike(model, result, noise_for_model(model))
    sigma_s = np.asarray(model.toas.error_us) * 1e-6
    expected = -0.5 * fit.chi2 - np.log(sigma_s).sum() - 0.5 * len(sigma_s) * np.log(2 * np.pi)
    assert about == WHITE and values.shape == (2, 20, 62)
    assert values[0, 0].sum() == pytest.approx(expected, abs=1e-6)
    assert (values[:, 1:].sum(axis=-1) < values[0, 0].sum()).all()  # the fit maximises the likelihood


def test_correlated_noise_terms_sum_to_the_joint_gaussian(ngc_fit, draw_gaussian):
    """With red noise: the sequential conditionals sum to log N(r - c 1; 0, C), c the GLS offset (scipy)."""
    from jugbayes.io.par import format_par, parse_par_lines
    from jugbayes.model.noise import build_noise, toa_sigma_and_basis

    model, fit = ngc_fit
    par = parse_par_lines(format_par(model.par).splitlines() + ["TNREDAMP -12.5", "TNREDGAM 3.0", "TNREDC 5"],
                          "red.par", warn=False)
    noise = build_noise(par, model.toas, model.prep.tdb.as_float()[:-1] * 86400.0)
    result = draw_gaussian(fit, chains=1, draws=3)
    values, about = pointwise_loglike(model, result, noise)
    sigma, basis, weights = toa_sigma_and_basis(noise, model.toas.error_us)
    cov = np.diag(sigma**2) + basis @ np.diag(weights) @ basis.T
    p = dict(model.zero_params(), **{n: result.samples[0, 2, i] for i, n in enumerate(result.names)})
    r = np.asarray(model.residuals(p)["time_s"])
    ci = np.linalg.inv(cov)
    one = np.ones_like(r)
    c = (one @ ci @ r) / (one @ ci @ one)
    assert about == SEQUENTIAL
    assert values[0, 2].sum() == pytest.approx(multivariate_normal(cov=cov).logpdf(r - c), abs=1e-6)


def test_prior_group_follows_the_stated_priors(ngc_fit, draw_gaussian):
    from decimal import Decimal

    from jugbayes.report.posterior import PRIOR_DRAWS, inference_data

    model, fit = ngc_fit
    result = draw_gaussian(fit, chains=1, draws=50)
    result.priors = {"DM": {"kind": "uniform", "lower": "224.0", "upper": "225.0"},
                     "F1": {"kind": "normal", "mu": -1.2e-15, "sigma": 1e-16, "upper": "-1.1e-15"},
                     "RAJ": {"kind": "bounded", "lower": "17.8"}}  # open above: improper, no draws
    idata = inference_data(model, result, fit)
    dm = idata.prior["DM"].values + (0 if idata.posterior["DM"].attrs["stored"] == "absolute"
                                     else float(Decimal(idata.posterior["DM"].attrs["reference"])))
    assert set(idata.prior.data_vars) == {"DM", "F1"} and dm.shape == (1, PRIOR_DRAWS)
    assert 224.0 <= dm.min() and dm.max() <= 225.0 and dm.mean() == pytest.approx(224.5, abs=0.05)
    f1 = idata.prior["F1"].values.ravel()
    assert f1.max() <= -1.1e-15 and np.median(f1) == pytest.approx(-1.2e-15 - 0.0e-16, abs=0.2e-16)


def test_ptmcmc_chain_has_la_forges_layout(ngc_fit, draw_gaussian, tmp_path):
    from jugbayes.report.posterior import inference_data
    from jugbayes.report.ptmcmc import PTMCMC_COLUMNS, write_ptmcmc_chain

    model, fit = ngc_fit
    result = draw_gaussian(fit, chains=2, draws=30)
    result.sample_stats["lp"] = np.arange(60.0).reshape(2, 30)
    idata = inference_data(model, result, fit, log_likelihood=True)
    chain, pars = write_ptmcmc_chain(idata, model.par, tmp_path / "chains")
    names = pars.read_text().split()
    table = np.loadtxt(chain)
    assert names == list(idata.posterior.data_vars) and table.shape == (60, len(names) + len(PTMCMC_COLUMNS))
    np.testing.assert_array_equal(table[:, names.index("DM")], idata.posterior_absolute["DM"].values.ravel())
    np.testing.assert_array_equal(table[:, len(names)], np.arange(60.0))  # lnpost: the chains one after another
    np.testing.assert_allclose(table[:, len(names) + 1], idata.log_likelihood["residual_s"].values.sum(-1).ravel())

