"""The one noise kernel against a dense n x n evaluation on B1855+09 9yv1 (4005 TOAs, per-backend EFAC/EQUAD,
disjoint ECORR epochs, 45-component red noise): restricted chi2 and log det, C^-1 y, the conditional mean and
covariance of the Fourier and infinite-variance coefficients, and the fitter's projections."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from conftest import shared_model
from jugbayes.model.noise import fixed_kernel, kernel, noise_for_model, noise_kernel, noise_parameters

REL = 1e-10


@pytest.fixture(scope="module")
def b1855():
    """(model, noise, residuals at the .par values, infinite-variance columns besides the offset: two dense ones and
    three sparse DMX-like ones, (1400 MHz / f)^2 over a third of the span each)."""
    _, model = shared_model("B1855+09_9yv1")
    noise = noise_for_model(model)
    assert noise.ecorr_disjoint and noise.ecorr_groups and noise.red_basis.shape[1] == 90
    resid = np.asarray(model.residual_fn(model.zero_params(), model.data)["time_s"])
    t = np.asarray(model.toas.mjd, dtype=float)
    third = np.minimum(((t - t.min()) / np.ptp(t) * 3).astype(int), 2)
    dmx = (third[:, None] == np.arange(3)) * (1400.0 / np.asarray(model.toas.freq_mhz, dtype=float))[:, None] ** 2
    extra = np.column_stack([(t - t.mean()) / 1e3, np.sin(2 * np.pi * t / 365.25), dmx]) * 1e-6
    return model, noise, resid, extra


def _dense(kern):
    """(C_0, X) as dense matrices: white + ECORR blocks + F phi F^T, and the infinite-variance columns."""
    sigma, epoch, ecorr_var, basis, phi, inf = (np.asarray(a) for a in kern)
    c0 = np.diag(sigma**2) + (basis * phi) @ basis.T
    for e, var in enumerate(ecorr_var):
        rows = np.nonzero(epoch == e)[0]
        c0[np.ix_(rows, rows)] += var
    return c0, inf


def _rel(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


@pytest.fixture(scope="module", params=["par values", "sampled values"])
def case(b1855, request):
    """The kernel as the fitter/fixed-noise posterior build it, or as the sampled-noise posterior does at other
    noise values, with the dense reference quantities."""
    model, noise, resid, extra = b1855
    if request.param == "par values":
        from jugbayes.model.noise import toa_sigma_and_basis

        sigma = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
        kern = fixed_kernel(noise, sigma, inf=extra)
    else:
        rng = np.random.default_rng(5)
        values = np.array([p.value for p in noise_parameters(noise)])
        values = values + rng.uniform(-0.3, 0.3, len(values))  # EFACs by +-0.3, log10 values by +-0.3 dex
        kern = kernel.Kernel(*(np.asarray(a) for a in noise_kernel(noise, values, inf=extra)))
    c0, x = _dense(kern)
    c0_y, c0_x = np.linalg.solve(c0, resid), np.linalg.solve(c0, x)
    a = x.T @ c0_x
    a_x = np.linalg.solve(a, x.T @ c0_y)
    ref = {"chi2": resid @ c0_y - (x.T @ c0_y) @ a_x,
           "logdet": np.linalg.slogdet(c0)[1] + np.linalg.slogdet(a)[1],
           "solve": np.linalg.solve(c0, resid - x @ a_x), "a_x": a_x, "cov_x": np.linalg.inv(a),
           "chi2_no_inf": resid @ c0_y}
    ref["a_f"] = np.asarray(kern.phi) * (np.asarray(kern.basis).T @ ref["solve"])
    return kernel.factor(kern), resid, ref, x.shape[1]


def test_chi2_and_log_det_equal_the_dense_evaluation(case):
    fac, resid, ref, _ = case
    assert abs(float(kernel.forms(fac, jnp.asarray(resid))) / ref["chi2"] - 1) < REL
    assert abs(float(fac.logdet) - ref["logdet"]) < REL * abs(ref["logdet"])
    assert float(kernel.loglike(fac, jnp.asarray(resid))) == pytest.approx(-0.5 * (ref["chi2"] + ref["logdet"]),
                                                                            rel=REL)


def test_solve_and_conditional_mean_equal_the_dense_evaluation(case):
    fac, resid, ref, q = case
    assert _rel(kernel.solve(fac, jnp.asarray(resid)), ref["solve"]) < REL
    mean = np.asarray(kernel.conditional(fac, jnp.asarray(resid)))
    assert _rel(mean[-q:], ref["a_x"]) < REL
    assert _rel(mean[:-q], ref["a_f"]) < REL
    assert _rel(kernel.conditional(fac, jnp.asarray(resid), last=q), ref["a_x"]) < REL
    assert _rel(kernel.covariance(fac, last=q), ref["cov_x"]) < REL
    assert _rel(np.asarray(kernel.covariance(fac))[-q:, -q:], ref["cov_x"]) < REL


def test_a_conditional_draw_has_the_conditional_covariance(case):
    """Draws of the infinite-variance coefficients: mean and covariance of 4000 draws within Monte Carlo error."""
    fac, resid, ref, q = case
    import jax

    eps = np.random.default_rng(1).standard_normal((q, 4000))
    many = np.asarray(jax.vmap(lambda e: kernel.conditional(fac, jnp.asarray(resid), e, last=q))(jnp.asarray(eps.T)))
    sd = np.sqrt(np.diag(ref["cov_x"]))
    assert np.all(np.abs(many.mean(axis=0) - ref["a_x"]) < 4 * sd / np.sqrt(len(many)))
    corr = np.cov(many.T) / np.outer(sd, sd)
    assert np.allclose(corr, ref["cov_x"] / np.outer(sd, sd), atol=0.1)


def test_projections_have_the_quadratic_forms_as_squared_norms(case):
    """What the fitter's QR takes: |project(y)|^2 = y^T C^-1 y, off all columns or off the finite ones only."""
    fac, resid, ref, _ = case
    for infinite, expected in ((True, ref["chi2"]), (False, ref["chi2_no_inf"])):
        top, bottom = kernel.project(kernel.projector(fac, infinite=infinite), jnp.asarray(resid))
        assert abs(float(jnp.sum(top**2) + jnp.sum(bottom**2)) / expected - 1) < REL


def test_sparse_columns_gram_equals_the_direct_product(b1855):
    """The sampled-noise likelihood with marginalised columns through their non-zeros (columns_gram) equals the
    direct G^T W G route, value and gradient."""
    import jax

    from jugbayes.model.noise import columns_gram, noise_loglike

    model, noise, resid, extra = b1855
    low = np.asarray(model.toas.freq_mhz, dtype=float) < 1000.0
    early = np.arange(len(low)) < len(low) // 2
    # JUMP-like: disjoint, overlapping the DMX-like ones, not spanning the offset
    extra = np.hstack([extra, np.column_stack([low & early, ~low & ~early]) * 1e-6])
    values = jnp.asarray([p.value for p in noise_parameters(noise)]) + 0.05
    gram = columns_gram(noise, extra)
    assert gram is not None and [len(s.index) for s in gram.sets] == [3, 2] and gram.dense.shape[1] == 2
    f_sparse = jax.jit(jax.value_and_grad(lambda v: noise_loglike(noise, resid, v, inf=extra, gram=gram)))
    f_direct = jax.jit(jax.value_and_grad(lambda v: noise_loglike(noise, resid, v, inf=extra)))
    (a, ga), (b, gb) = f_sparse(values), f_direct(values)
    assert abs(float(a) - float(b)) < 1e-12 * abs(float(b))
    assert _rel(ga, np.asarray(gb)) < 1e-9


def test_split_loglike_equals_the_full_factor(b1855):
    """Eliminating a diagonal block of M (split_gram: disjoint-support columns, no ECORR epoch in two of them)
    gives the full factor's log-likelihood, value and gradients in the noise values and the residuals."""
    import jax

    from jugbayes.model.noise import noise_loglike, split_gram

    model, noise, resid, extra = b1855
    values = jnp.asarray([p.value for p in noise_parameters(noise)]) + 0.05
    split = split_gram(noise, extra)
    assert split is not None and split.d == 3 and list(split.rest) == [0, 1]
    epoch_in = np.asarray(noise.ecorr_epoch()) < len(noise.ecorr_param)
    assert np.any(epoch_in & (np.asarray(split.sparse.seg) < 3))  # ECORR epochs inside the eliminated columns

    def f(gram, inf):
        return jax.jit(jax.value_and_grad(lambda v, r: noise_loglike(noise, r, v, inf=inf, gram=gram), argnums=(0, 1)))

    r = jnp.asarray(resid)
    (a, (gv_a, gr_a)), (b, (gv_b, gr_b)) = f(split, extra)(values, r), f(None, extra)(values, r)
    assert abs(float(a) - float(b)) < REL * abs(float(b))
    assert _rel(gv_a, np.asarray(gv_b)) < 1e-9 and _rel(gr_a, np.asarray(gr_b)) < 1e-9
