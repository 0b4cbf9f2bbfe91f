"""The one noise kernel: Gaussian algebra for C = N_E + F diag(phi) F^T + X X^T v, v -> infinity.

- N_E: white variances sigma^2 per row, plus ECORR: a variance J_e shared by the rows of each disjoint
  epoch e (inverted by Sherman-Morrison per epoch, O(n); no n x m basis).
- F, phi: finite-variance columns (red/DM Fourier bases; overlapping ECORR epochs) and their prior variances.
- X: infinite-variance columns (the phase offset; marginalised linear timing parameters).  The likelihood
  is the restricted one: log det C becomes log det C_0 + log det X^T C_0^-1 X (C_0: C without X), which
  varies with the noise correctly; y^T C^-1 y is the limit (y projected off X in the C_0 metric).

:func:`factor` factors C once for any number of vectors; :func:`forms` (y^T C^-1 y), :func:`solve`
(C^-1 y), :func:`loglike`, :func:`conditional` (mean and draw of the coefficients of [F, X] given y) and
:func:`project` (a vector whose squared norm is y^T C^-1 y: what the fitter's QR/SVD takes) all read that
factor.  Everything is a pytree of arrays and jittable; the fitter, the fixed-noise and the sampled-noise
posteriors call these functions and nothing else for the noise algebra.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg

from jugbayes.config import enable_x64
from jugbayes.jitcache import exportable

enable_x64()


@exportable
class Kernel(NamedTuple):
    """The covariance's parts for n rows (see the module docstring)."""

    sigma: jax.Array  # (n,) white standard deviation per row (s, or pc cm^-3 on wideband DM rows)
    epoch: jax.Array  # (n,) int: the row's ECORR epoch, m for none
    ecorr_var: jax.Array  # (m,) J_e
    basis: jax.Array  # (n, k) F
    phi: jax.Array  # (k,) prior variances of F's coefficients
    inf: jax.Array  # (n, q) X


def kernel(sigma, epoch=None, ecorr_var=None, basis=None, phi=None, inf=None) -> Kernel:
    """A :class:`Kernel` with the absent parts empty (no ECORR, no F, no X)."""
    n = sigma.shape[0]
    xp = jnp if isinstance(sigma, jax.Array) else __import__("numpy")
    return Kernel(sigma, xp.zeros(n, dtype=int) if epoch is None else epoch,
                  xp.zeros(0) if ecorr_var is None else ecorr_var, xp.zeros((n, 0)) if basis is None else basis,
                  xp.zeros(0) if phi is None else phi, xp.zeros((n, 0)) if inf is None else inf)


def pad_epochs(kern: Kernel, m: int) -> Kernel:
    """``kern`` (host arrays) with empty ECORR epochs (no rows, zero variance) added up to ``m``: the same
    covariance, in a program shaped for ``m`` epochs."""
    import numpy as np

    m0 = len(kern.ecorr_var)
    if m0 == 0 or m == m0:
        return kern
    epoch = np.asarray(kern.epoch)
    return kern._replace(epoch=np.where(epoch == m0, m, epoch).astype(epoch.dtype),
                         ecorr_var=np.concatenate([np.asarray(kern.ecorr_var), np.zeros(m - m0)]))


def white_rows(kern: Kernel, sigma, at: int | None = None) -> Kernel:
    """``kern`` (host arrays) with rows of white errors ``sigma`` inserted before row ``at`` (default: appended),
    in no ECORR epoch and with zero basis and infinite-column rows: independent of every other row."""
    import numpy as np

    sigma = np.asarray(sigma, dtype=np.float64)
    n, k, m = len(kern.sigma), len(sigma), len(kern.ecorr_var)
    at = n if at is None else at

    def ins(a, new):
        a = np.asarray(a)
        return np.concatenate([a[:at], new.astype(a.dtype), a[at:]])

    return Kernel(ins(kern.sigma, sigma), ins(kern.epoch, np.full(k, m)), kern.ecorr_var,
                  ins(kern.basis, np.zeros((k, kern.basis.shape[1]))), kern.phi,
                  ins(kern.inf, np.zeros((k, kern.inf.shape[1]))))


@exportable
class Factor(NamedTuple):
    """C factored (:func:`factor`).  G = [F, X]; M = diag(1/phi, 0) + G^T N_E^-1 G = q^-1 L L^T q^-1."""

    w: jax.Array  # (n,) 1 / sigma^2
    epoch: jax.Array  # (n,)
    c: jax.Array  # (m,) N_E^-1 = W - W 1_e c_e 1_e^T W per epoch
    alpha: jax.Array  # (m + 1,) square-root form of the same (see whiten); last entry 0 (no epoch)
    g: jax.Array  # (n, k + q) G
    a_g: jax.Array  # (m, k + q) epoch sums of W G
    q: jax.Array  # (k + q,) scaling of M to a unit diagonal
    chol: jax.Array  # (k + q, k + q) L
    prior: jax.Array  # (k + q,) q^2 / phi (0 for X): the prior rows of the augmented system
    phi: jax.Array  # (k,) F's prior variances (its shape says how many of G's columns are finite)
    logdet: jax.Array  # restricted log det C


def _epoch_sums(x, epoch, m):
    """Sums of the rows of ``x`` over each ECORR epoch (the rows in no epoch, slot m, dropped)."""
    return jax.ops.segment_sum(x, epoch, num_segments=m + 1)[:m]


def sherman_morrison(ecorr_var, s_e):
    """c_e with (W^-1 + J_e 1 1^T)^-1 = W - c_e (W 1)(W 1)^T in each ECORR epoch e (s_e = 1^T W 1 there)."""
    return ecorr_var / (1.0 + ecorr_var * s_e)


def scaled_cholesky(g_ng, phi):
    """(q, L, prior): L L^T = q M q scaled to a unit diagonal, M = diag(1/phi, 0) + G^T N^-1 G for G = [columns
    with prior variances phi (first), columns with infinite variance (last)]; prior = q^2 / phi (0 for X)."""
    k = phi.shape[0]
    diag = jnp.diagonal(g_ng)
    q = jnp.concatenate([jnp.sqrt(phi / (1.0 + phi * diag[:k])), 1.0 / jnp.sqrt(diag[k:])])
    prior = jnp.concatenate([1.0 / (1.0 + phi * diag[:k]), jnp.zeros(g_ng.shape[0] - k)])
    return q, jnp.linalg.cholesky(q[:, None] * g_ng * q[None, :] + jnp.diag(prior)), prior


def factor(kern: Kernel, gram=None) -> Factor:
    """Factor C.  ``gram(w)``: G^T diag(w) G by a faster route (e.g. a FourierGram of G), or None."""
    sigma, epoch, ecorr_var = jnp.asarray(kern.sigma), jnp.asarray(kern.epoch), jnp.asarray(kern.ecorr_var)
    phi = jnp.asarray(kern.phi)
    m, k = ecorr_var.shape[0], phi.shape[0]
    w = 1.0 / sigma**2
    g = jnp.hstack([jnp.asarray(kern.basis), jnp.asarray(kern.inf)])
    s_e = _epoch_sums(w, epoch, m)
    c = sherman_morrison(ecorr_var, s_e)
    s_safe = jnp.where(s_e > 0, s_e, 1.0)  # an epoch with no rows (pad_epochs): alpha 0, never read
    alpha = jnp.concatenate([jnp.where(s_e > 0, (1.0 - 1.0 / jnp.sqrt(1.0 + ecorr_var * s_safe)) / s_safe, 0.0),
                             jnp.zeros(1)])
    a_g = _epoch_sums(w[:, None] * g, epoch, m)
    g_wg = gram(w) if gram is not None else g.T @ (w[:, None] * g)
    g_ng = g_wg - a_g.T @ (c[:, None] * a_g)
    q, chol, prior = scaled_cholesky(g_ng, phi)
    logdet = (jnp.sum(jnp.log(sigma**2)) + jnp.sum(jnp.log1p(ecorr_var * s_e))
              + 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol))) + jnp.sum(jnp.log1p(phi * jnp.diagonal(g_ng)[:k]))
              + jnp.sum(jnp.log(jnp.diagonal(g_ng)[k:])))
    return Factor(w, epoch, c, alpha, g, a_g, q, chol, prior, phi, logdet)


@exportable
class SparseSet(NamedTuple):
    """d more infinite-variance columns with disjoint supports, each ECORR epoch inside at most one of them (DMX
    bins): per row its column (``d`` for none) and value; per epoch its column (``d`` for none).  Their block of
    M is diagonal, so :func:`split_loglike` eliminates it before the Cholesky factorisation."""

    seg: jax.Array  # (n,) int
    val: jax.Array  # (n,)
    epoch_col: jax.Array  # (m,) int


def _col_sums(x, col, d):
    """Sums of ``x``'s rows by column index ``col`` (slot d, none, dropped)."""
    return jax.ops.segment_sum(x, col, num_segments=d + 1)[:d]


def split_loglike(kern: Kernel, sparse: SparseSet, y, d: int, gram=None):
    """:func:`loglike` of y for C with ``sparse``'s d columns as infinite-variance columns after ``kern.inf``.

    M = [[R, B], [B^T, D]] with D diagonal: log det M = sum log D + log det S and b^T M^-1 b = b_d^T D^-1 b_d +
    t^T S^-1 t for S = R - B D^-1 B^T, t = b_r - B D^-1 b_d (b = G^T N_E^-1 y); the ECORR corrections of the
    sparse columns are per epoch scalars.  Costs the Cholesky factorisation and the ECORR products of R's columns
    only.  ``gram(w)``: G_r^T diag(w) G_r for G_r = [F, kern.inf] by a faster route, or None."""
    sigma, epoch, ecorr_var = jnp.asarray(kern.sigma), jnp.asarray(kern.epoch), jnp.asarray(kern.ecorr_var)
    phi = jnp.asarray(kern.phi)
    m, k = ecorr_var.shape[0], phi.shape[0]
    w = 1.0 / sigma**2
    g = jnp.hstack([jnp.asarray(kern.basis), jnp.asarray(kern.inf)])
    s_e = _epoch_sums(w, epoch, m)
    c = sherman_morrison(ecorr_var, s_e)
    wv, wy = w * sparse.val, w * y
    a_g, a_y, a_d = _epoch_sums(w[:, None] * g, epoch, m), _epoch_sums(wy, epoch, m), _epoch_sums(wv, epoch, m)
    g_wg = gram(w) if gram is not None else g.T @ (w[:, None] * g)
    r_mat = g_wg - a_g.T @ (c[:, None] * a_g)
    dd = _col_sums(wv * sparse.val, sparse.seg, d) - _col_sums(c * a_d**2, sparse.epoch_col, d)
    b_mat = (_col_sums(wv[:, None] * g, sparse.seg, d) - _col_sums((c * a_d)[:, None] * a_g, sparse.epoch_col, d)).T
    y_ny = y @ wy - jnp.sum(c * a_y**2)
    b_r = g.T @ wy - a_g.T @ (c * a_y)
    b_d = _col_sums(wv * y, sparse.seg, d) - _col_sums(c * a_d * a_y, sparse.epoch_col, d)
    s_mat = r_mat - (b_mat / dd[None, :]) @ b_mat.T
    t = b_r - b_mat @ (b_d / dd)
    q, chol, _ = scaled_cholesky(s_mat, phi)
    z = jax.scipy.linalg.solve_triangular(chol, q * t, lower=True)
    chi2 = y_ny - jnp.sum(b_d**2 / dd) - z @ z
    diag = jnp.diagonal(s_mat)
    logdet = (jnp.sum(jnp.log(sigma**2)) + jnp.sum(jnp.log1p(ecorr_var * s_e)) + 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
              + jnp.sum(jnp.log1p(phi * diag[:k])) + jnp.sum(jnp.log(diag[k:])) + jnp.sum(jnp.log(dd)))
    return -0.5 * (chi2 + logdet)


def _n_inv(fac: Factor, y2):
    """N_E^-1 y for y (n, p)."""
    m = fac.c.shape[0]
    wy = fac.w[:, None] * y2
    if m == 0:
        return wy
    a_y = jnp.concatenate([_epoch_sums(wy, fac.epoch, m), jnp.zeros((1, wy.shape[1]))])
    c = jnp.concatenate([fac.c, jnp.zeros(1)])
    return wy - fac.w[:, None] * c[fac.epoch, None] * a_y[fac.epoch]


def _gz(fac: Factor, y2):
    """(y^T N^-1 y, L^-1 q G^T N^-1 y) for y (n, p)."""
    m = fac.c.shape[0]
    wy = fac.w[:, None] * y2
    a_y = _epoch_sums(wy, fac.epoch, m)
    y_ny = y2.T @ wy - a_y.T @ (fac.c[:, None] * a_y)
    g_ny = fac.g.T @ wy - fac.a_g.T @ (fac.c[:, None] * a_y)
    return y_ny, jax.scipy.linalg.solve_triangular(fac.chol, fac.q[:, None] * g_ny, lower=True)


def forms(fac: Factor, y):
    """y^T C^-1 y for y (n,) (a scalar) or (n, p) (a p x p matrix), by the Woodbury identity."""
    y2 = y[:, None] if y.ndim == 1 else y
    y_ny, z = _gz(fac, y2)
    out = y_ny - z.T @ z
    return out[0, 0] if y.ndim == 1 else (out + out.T) / 2


def loglike(fac: Factor, y):
    """-1/2 (y^T C^-1 y + log det C), the restricted Gaussian log-likelihood without its 2 pi constants."""
    return -0.5 * (forms(fac, y) + fac.logdet)


def _coef(fac: Factor, z, eps=None):
    """Coefficients of G from the triangular solve's z (+ eps: a draw): q L^-T (z + eps)."""
    v = z if eps is None else z + eps
    return fac.q[:, None] * jax.scipy.linalg.solve_triangular(fac.chol.T, v, lower=False)


def conditional(fac: Factor, y, eps=None, last: int | None = None):
    """Mean (eps None) or a draw (eps: standard normal, one entry per coefficient returned, (j,) or (j, p)) of the
    coefficients a of G = [F, X] given y = G a + white/ECORR noise, under a_F ~ N(0, phi) and a flat prior on
    a_X: M^-1 G^T N^-1 y, covariance M^-1 (:func:`covariance`).  ``last``: only G's last ``last`` coefficients,
    the others marginalised (the last rows of L^-T are L22^-T: a block of the same factor)."""
    y2 = y[:, None] if y.ndim == 1 else y
    _, z = _gz(fac, y2)
    if eps is not None and eps.ndim == 1:
        eps = eps[:, None]
    if last is None:
        out = _coef(fac, z, eps)
    else:
        v = z[-last:] if eps is None else z[-last:] + eps
        out = fac.q[-last:, None] * jax.scipy.linalg.solve_triangular(fac.chol[-last:, -last:].T, v, lower=False)
    return out[:, 0] if y.ndim == 1 else out


def covariance(fac: Factor, last: int | None = None):
    """M^-1, the conditional covariance of G's coefficients (``last``: of the last ``last``; :func:`conditional`)."""
    chol, q = (fac.chol, fac.q) if last is None else (fac.chol[-last:, -last:], fac.q[-last:])
    inv = jax.scipy.linalg.solve_triangular(chol, jnp.eye(chol.shape[0]), lower=True)
    return (q[:, None] * (inv.T @ inv)) * q[None, :]


def solve(fac: Factor, y):
    """C^-1 y (restricted: orthogonal to X in the C_0 metric), y (n,) or (n, p)."""
    y2 = y[:, None] if y.ndim == 1 else y
    _, z = _gz(fac, y2)
    out = _n_inv(fac, y2 - fac.g @ _coef(fac, z))
    return out[:, 0] if y.ndim == 1 else out


def whiten(fac: Factor, y):
    """W y with W^T W = N_E^-1: per epoch N_e = D^1/2 (I + c v v^T) D^1/2 with v = 1/sigma, so
    W = (I - a v v^T) D^-1/2 with a = alpha_e; O(n) per column."""
    y2 = y[:, None] if y.ndim == 1 else y
    inv = jnp.sqrt(fac.w)
    out = y2 * inv[:, None]
    m = fac.c.shape[0]
    if m:
        along = jax.ops.segment_sum(inv[:, None] * out, fac.epoch, num_segments=m + 1)
        out = out - (fac.alpha[fac.epoch] * inv)[:, None] * along[fac.epoch]
    return out[:, 0] if y.ndim == 1 else out


@exportable
class Projector(NamedTuple):
    """An orthonormal basis [top; bottom] of the augmented block [[W G q], [diag(prior)^1/2]] (L^-T applied)."""

    fac: Factor
    top: jax.Array  # (n, k')
    bottom: jax.Array  # (k', k')


def projector(fac: Factor, infinite: bool = True) -> Projector:
    """The :class:`Projector` of G's columns (``infinite`` False: of F's only, X's left out), once per factor."""
    k = fac.chol.shape[0] if infinite else fac.phi.shape[0]
    chol = fac.chol[:k, :k]  # the leading block of L is the Cholesky factor of the leading block of q M q
    wg = whiten(fac, fac.g[:, :k] * fac.q[None, :k])
    top = jax.scipy.linalg.solve_triangular(chol, wg.T, lower=True).T
    bottom = jax.scipy.linalg.solve_triangular(chol, jnp.diag(jnp.sqrt(fac.prior[:k])), lower=True).T
    return Projector(fac, top, bottom)


def project(proj: Projector, y):
    """(top (n, ...), bottom (k', ...)): [W y; 0] with its part along the projector's basis removed, so that
    |top|^2 + |bottom|^2 = y^T C^-1 y (of the columns projected off): the form a least-squares solve (QR,
    SVD) takes, J^T C^-1 J never formed."""
    wy = whiten(proj.fac, y)
    coef = proj.top.T @ wy
    return wy - proj.top @ coef, -proj.bottom @ coef
