"""The sampler-agnostic posterior (jugbayes.sample.posterior) evaluated with no sampler at all: its log density at
the start against the WLS chi2 and prior box, its curvature against the fit covariance, its gradient against
finite differences, and the noise-conditional timing map's log-Jacobian against autodiff."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sample.test_nuts import _simulated_model, isolated_files, ngc_model_and_fit

from jugbayes.fit.wls import fit_wls
from jugbayes.model.noise import noise_for_model
from jugbayes.sample.posterior import build_posterior, conditional_timing_u

NOISE_LINES = "T2EFAC -fe A 1.4\nT2EFAC -fe B 1.4\nECORR -fe A 0.1\nECORR -fe B 0.1\n"


@pytest.fixture(scope="module")
def ngc():
    model, fit = ngc_model_and_fit()
    return fit, build_posterior(model, fit, None, prior_sigmas=None, config=None, marginalize=(), sample_noise=False)


@pytest.fixture(scope="module")
def sampled_noise(tmp_path_factory):
    """A small isolated pulsar with EFAC and ECORR sampled (8 epochs, two receivers)."""
    par, tim = isolated_files(tmp_path_factory.mktemp("post"), noise=NOISE_LINES, epochs=8)
    model = _simulated_model(par, tim, seed=3)
    noise = noise_for_model(model)
    fit = fit_wls(model, noise=noise)
    post = build_posterior(model, fit, noise, prior_sigmas=None, config=None, marginalize=(), sample_noise=True)
    return noise, post


def test_log_density_at_the_start_is_the_wls_chi2_and_the_prior_box(ngc):
    """z = 0 is the fit: log density = -chi2/2 + log |d theta/du| of the logistic maps at the centre of their
    +-K sigma boxes (the uniform prior's own constant is left out), and the parameters are the fit's."""
    fit, post = ngc
    assert post.dim == 5 and np.array_equal(post.z0, np.zeros(5))
    idx = [fit.names.index(n) for n in post.setup.rest]
    box = 2 * post.setup.K * np.asarray(fit.sigma)[idx]
    expected = -fit.chi2 / 2 + np.sum(np.log(box) - 2 * np.log(2))
    assert float(post.log_density(jnp.zeros(5), post.args)) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(np.asarray(post.params(jnp.zeros(5), post.args)), np.asarray(fit.offsets)[idx],
                               rtol=0, atol=1e-9 * np.abs(np.asarray(fit.sigma)[idx]).max())


def test_log_density_curvature_is_the_fit_covariance(ngc):
    """A linear problem, whitened by the fit covariance: zero gradient at the start and Hessian -I (to the
    logistic maps' curvature, ~1/(2 (K/2)^2) = 8e-4 for K = 50)."""
    _, post = ngc
    f = jax.jit(lambda z: post.log_density(z, post.args))
    grad = np.asarray(jax.grad(f)(jnp.zeros(post.dim)))
    hess = np.asarray(jax.hessian(f)(jnp.zeros(post.dim)))
    assert np.abs(grad).max() < 1e-3
    np.testing.assert_allclose(hess, -np.eye(post.dim), atol=3e-3)


@pytest.mark.parametrize("case", ["ngc", "sampled_noise"])
def test_gradient_matches_finite_differences(case, request):
    """Autodiff gradient of log_density(z, args) against central differences at a point away from the start
    (noise fixed: the Woodbury likelihood; noise sampled: the noise-conditional timing map and noise_loglike)."""
    post = request.getfixturevalue(case)[1]
    f = jax.jit(lambda z: post.log_density(z, post.args))
    z = jnp.asarray(np.random.default_rng(7).standard_normal(post.dim))
    grad = np.asarray(jax.jit(jax.grad(f))(z))
    h = 0.05  # smooth on this scale; the density's rounding (~3e-7 with sampled noise) would dominate below ~1e-2
    fd = np.array([(8 * (float(f(z + h * e)) - float(f(z - h * e))) - float(f(z + 2 * h * e)) + float(f(z - 2 * h * e)))
                   / (12 * h) for e in np.eye(post.dim)])  # fourth-order central differences
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=3e-5 * max(1.0, np.abs(grad).max()))


def test_noise_conditional_timing_map_adds_its_log_jacobian(sampled_noise):
    """With sampled noise the timing coordinates are whitened at each noise value; the log |du/dxi| the posterior
    adds must be autodiff's log |det| of that map, up to the constant of the fixed fit whitening, at any point and
    any noise value (else the posterior would be wrong, not only the metric)."""
    noise, post = sampled_noise
    a, transforms = post.args, post.setup.transforms
    k_t, kz_t = a["w"].shape
    assert k_t == kz_t  # nothing degenerate here, so the map is square
    rng = np.random.default_rng(4)
    gaps = []
    for _ in range(4):
        xi = jnp.asarray(rng.standard_normal(kz_t))
        u_noise = a["u0"][k_t:] + jnp.asarray(rng.standard_normal(len(a["u0"]) - k_t))
        u_t = lambda x: conditional_timing_u(x, u_noise, a, noise, transforms)[0][:k_t]  # noqa: E731
        log_det = np.linalg.slogdet(np.asarray(jax.jacfwd(u_t)(xi)))[1]
        log_jac = float(conditional_timing_u(xi, u_noise, a, noise, transforms)[1])
        gaps.append(log_det - log_jac)
    assert np.ptp(gaps) < 1e-8 and gaps[0] == pytest.approx(np.linalg.slogdet(np.asarray(a["w"]))[1], abs=1e-8)


@pytest.fixture(scope="module")
def wideband():
    """NANOGrav 12.5-yr wideband B1855+09 (313 TOAs, each with a DM measurement; 138 free, 123 of them DMX)."""
    from model.test_wideband import _model

    model = _model("B1855+09")
    noise = noise_for_model(model)
    return model, noise, fit_wls(model, noise=noise)


def test_wideband_log_density_at_the_start_is_the_joint_toa_and_dm_chi2(wideband):
    """The fixed-noise posterior's likelihood has the wideband DM rows of the GLS fit: at the fit, -chi2/2 of
    TOAs and DMs together (plus the logistic maps' constant)."""
    model, noise, fit = wideband
    assert fit.dm_residuals_pc_cm3 is not None and len(fit.dm_residuals_pc_cm3) == len(model.toas)
    from jugbayes.sample.priors import dtheta_du

    post = build_posterior(model, fit, noise, prior_sigmas=None, config=None, marginalize=(), sample_noise=False)
    idx = [fit.names.index(n) for n in post.setup.rest]
    np.testing.assert_allclose(np.asarray(post.params(jnp.zeros(post.dim), post.args)), np.asarray(fit.offsets)[idx],
                               rtol=0, atol=1e-9 * np.abs(np.asarray(fit.sigma)[idx]).max())
    # uniform priors (constants left out) through their maps: log |d theta/du| at the start (SINI's box ends at 1)
    log_jac = sum(np.log(dtheta_du(p, float(u))) for p, u in zip(post.setup.priors, np.asarray(post.args["u0"])))
    expected = -fit.chi2 / 2 + log_jac  # the DM rows' own chi2 is 352 of the 568: a missing row shows at once
    # (4e-9 relative between the two here, with 138 parameters; NGC6440E's 5 agree to 1e-9)
    assert float(post.log_density(jnp.zeros(post.dim), post.args)) == pytest.approx(expected, rel=1e-8, abs=1e-6)


def test_wideband_posterior_with_dmx_marginalised_matches_the_gls_fit(wideband):
    """NUTS with the DMX, JUMP columns marginalised (their DM rows included): means and sds as the joint GLS fit's
    for every parameter the model keeps near linear (SINI runs into 1, M2 with it), a short run's MC error allowed;
    sampled noise refuses wideband TOAs in one line."""
    from jugbayes.errors import JugbayesError
    from jugbayes.sample.nuts import sample_nuts

    model, noise, fit = wideband
    res = sample_nuts(model, fit, noise, chains=2, warmup=200, samples=250, marginalize=("linear",), workers=1)
    flat = np.asarray(res.samples).reshape(-1, len(res.names))
    keep = [n for n in res.names if n not in ("SINI", "M2")]
    assert len(keep) == 136 and sum(n.startswith("DMX") for n in keep) == 123
    for name in keep:
        i, j = res.names.index(name), fit.names.index(name)
        pull = (flat[:, i].mean() - fit.offsets[j]) / fit.sigma[j]
        ratio = flat[:, i].std() / fit.sigma[j]
        assert abs(pull) < 0.35 and 0.8 < ratio < 1.25, (name, pull, ratio)
    with pytest.raises(JugbayesError, match="wideband TOAs .* with --sample-noise"):
        sample_nuts(model, fit, noise, chains=1, warmup=10, samples=10, sample_noise=True, workers=1)
