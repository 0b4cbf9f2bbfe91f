"""Pointwise log-likelihood of each posterior draw, for ArviZ's ``log_likelihood`` group (``az.loo``/``az.waic``).

Each draw's residuals r(theta) come from the timing model's residual function; the phase offset takes its
best value at each draw (the generalised weighted mean, as the likelihood's marginalisation puts it).  With
C = L L^T the noise covariance, e = L^-1 r, the value stored for TOA i (in time order) is

    log p(r_i | r_1 .. r_{i-1}) = -e_i^2 / 2 - log L_ii - log(2 pi) / 2,

the chain-rule factors of the joint Gaussian, so they sum to the joint log-likelihood.  For white noise
(EFAC/EQUAD only) L is diagonal and these are the independent per-TOA terms; with ECORR or red/DM noise
they are the sequential (Cholesky-whitened) conditionals, formed with a dense n x n factor and so only up
to ``DENSE_MAX_TOAS`` TOAs.  The noise is the .par's; a posterior that sampled the noise gets no group.
"""

from __future__ import annotations

import numpy as np

DENSE_MAX_TOAS = 5000  # dense Cholesky of C: 200 MB at 5000 TOAs
CHUNK_DRAWS = 256  # draws per vectorised residual evaluation
WHITE, SEQUENTIAL = "per TOA (white noise)", "sequential conditionals p(r_i | r_<i), TOAs in time order"


def noise_factor_in_order(noise, error_us, order) -> tuple[np.ndarray, bool]:
    """(L, dense) for the TOAs in ``order``: sigma (n,) when the noise is white, else C's lower Cholesky factor."""
    from jugbayes.model.noise import toa_sigma_and_basis

    sigma, basis, weights = toa_sigma_and_basis(noise, error_us)
    if basis.shape[1] == 0:
        return sigma[order], False
    b = basis[order]
    return np.linalg.cholesky(np.diag(sigma[order] ** 2) + (b * weights) @ b.T), True


def pointwise_loglike(model, result, noise):
    """(chains, draws, n) log-likelihood per TOA of ``result``'s draws and how it was formed, or (None, why)."""
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg

    n = len(model.toas)
    if noise is not None and noise.correlated and n > DENSE_MAX_TOAS:
        return None, f"not stored: correlated noise over {n} TOAs (> {DENSE_MAX_TOAS}) needs a dense factor"
    k_noise = len(result.names) - sum(1 for name in result.names if name in model.names)
    if k_noise:
        return None, "not stored: the noise was sampled (the stored terms assume the .par's noise)"
    order = np.argsort(np.asarray(model.toas.mjd, dtype=float), kind="stable")
    factor, dense = noise_factor_in_order(noise, model.toas.error_us, order)
    l_diag = np.diag(factor) if dense else factor
    lf = jnp.asarray(factor)

    def whiten(x):
        return jax.scipy.linalg.solve_triangular(lf, x, lower=True) if dense else x / lf

    ones_w = whiten(jnp.ones(n))
    base = model.zero_params()

    def one(theta):
        p = dict(base, **{name: theta[i] for i, name in enumerate(result.names)})
        e = whiten(model.residual_fn(p, model.data)["time_s"][jnp.asarray(order)])
        e = e - ones_w * (ones_w @ e) / (ones_w @ ones_w)
        return -0.5 * e**2 - jnp.log(jnp.asarray(l_diag)) - 0.5 * np.log(2 * np.pi)

    batch = jax.jit(jax.vmap(one))
    flat = np.asarray(result.samples, dtype=float).reshape(-1, len(result.names))
    out = np.concatenate([np.asarray(batch(jnp.asarray(flat[i:i + CHUNK_DRAWS])))
                          for i in range(0, len(flat), CHUNK_DRAWS)])
    by_toa = np.empty_like(out)
    by_toa[:, order] = out  # back to the .tim's TOA order
    return by_toa.reshape(*np.shape(result.samples)[:2], n), SEQUENTIAL if dense else WHITE
