"""A noise model's :class:`~jugbayes.model.noise.kernel.Kernel`: at the .par's values (the fitter, the fixed-noise
posterior, plots) or at sampled values (the sampled-noise posterior), and what they compute through it.

Layout: disjoint ECORR epochs stay Sherman-Morrison blocks; overlapping ones become finite columns before the
red/DM Fourier columns.  The phase offset (or, for wideband data, the rows it moves) is the first
infinite-variance column; marginalised timing columns may follow it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.model.noise import kernel as K
from jugbayes.model.noise.bases import FourierGram, powerlaw_weights_s2, scaled_sigma_s
from jugbayes.model.noise.parfile import NoiseModel

enable_x64()


def toa_sigma_and_basis(noise: NoiseModel | None, error_us, sigma_only: bool = False):
    """Per-TOA sigma (s; EFAC/EQUAD applied when there is a noise model), and the correlated-noise basis and
    weights (empty, shape (n, 0) and (0,), when there is none), dense (ECORR as 0/1 columns): for dense checks
    and per-TOA conditionals; the algebra itself goes through :func:`fixed_kernel`."""
    sigma = np.asarray(error_us, dtype=np.float64) * 1e-6
    if noise is None:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    sigma = np.asarray(scaled_sigma_s(sigma, noise.equad_mask, noise.equad_s, noise.efac_mask, noise.efac))
    if sigma_only or not noise.correlated:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    return sigma, noise.basis(), noise.weights_s2()


def _offset(n: int, inf, offset: bool = True):
    """The infinite-variance columns: the phase offset's (unless ``offset`` is False), then ``inf`` (n, q)."""
    cols = ([np.ones((n, 1))] if offset else []) + ([] if inf is None else [np.asarray(inf)])
    return np.hstack(cols) if cols else np.zeros((n, 0))


def fixed_kernel(noise: NoiseModel | None, sigma_s, inf=None, offset: bool = True) -> K.Kernel:
    """The kernel at the .par's noise values for white errors ``sigma_s`` (n,; EFAC/EQUAD already applied), with
    the phase offset (unless ``offset`` is False: a marginalised PHOFF column stands for it) and ``inf`` as
    infinite-variance columns (host arrays)."""
    sigma = np.asarray(sigma_s, dtype=np.float64)
    n = len(sigma)
    inf = _offset(n, inf, offset)
    if noise is None or not noise.correlated:
        return K.kernel(sigma, inf=inf)
    if noise.ecorr_disjoint:
        return K.Kernel(sigma, noise.ecorr_epoch(), np.asarray(noise.ecorr_weight_s2), noise.fourier_basis(),
                        noise.fourier_weights_s2(), inf)
    return K.Kernel(sigma, np.zeros(n, dtype=np.int64), np.zeros(0), noise.basis(), noise.weights_s2(), inf)


def with_wideband_rows(model, noise: NoiseModel | None, kern: K.Kernel) -> K.Kernel:
    """``kern`` with a row appended per wideband DM measurement (sigma the DMEFAC/DMEQUAD-scaled -pp_dme, in no
    ECORR epoch, zero basis rows: white and independent of the TOAs); the phase offset moves TOA rows only.
    Unchanged without wideband data."""
    if not model.structure.wideband:
        return kern
    wb = noise.wb_sigma_pc_cm3 if noise is not None else np.asarray(model.data["wb_dme_pc_cm3"])
    return K.white_rows(kern, wb)


def noise_realisations_s(noise: NoiseModel, error_us, resid_s) -> dict[str, np.ndarray]:
    """The conditional mean of each correlated process given residuals ``resid_s`` (n,): {"ecorr", "red", "dm"}
    (s per TOA; only those the model has), K_c C^-1 r with the phase offset an infinite-variance column, as the
    fitter's likelihood has them.  ``resid_s`` less their sum are the whitened residuals PINT and enterprise plot
    (``noise_resids``)."""
    sigma = toa_sigma_and_basis(noise, error_us, sigma_only=True)[0]
    if not noise.correlated:
        return {}
    x = np.asarray(K.solve(K.factor(fixed_kernel(noise, sigma)), jnp.asarray(resid_s, dtype=jnp.float64)))
    out = {}
    if noise.ecorr_groups:
        out["ecorr"] = noise.ecorr_basis @ (noise.ecorr_weight_s2 * (noise.ecorr_basis.T @ x))
    for name, basis, weights in (("red", noise.red_basis, noise.red_weight_s2), ("dm", noise.dm_basis,
                                                                                  noise.dm_weight_s2)):
        if basis.shape[1]:
            out[name] = basis @ (weights * (basis.T @ x))
    return out


# ---------------------------------------------------------------- sampled noise values


def _unpack(noise: NoiseModel, values):
    """values (ordered as noise_parameters) -> (sigma_s (n,), ECORR variance per epoch (m,), Fourier phi)."""
    k_efac, k_equad, k_ecorr = len(noise.efac), len(noise.equad_s), len(noise.ecorr_s)
    efac = values[:k_efac]
    equad_s = 10.0 ** values[k_efac:k_efac + k_equad]
    ecorr_s = 10.0 ** values[k_efac + k_equad:k_efac + k_equad + k_ecorr]
    i = k_efac + k_equad + k_ecorr
    sigma = scaled_sigma_s(jnp.asarray(noise.toa_error_s), jnp.asarray(noise.equad_mask), equad_s,
                           jnp.asarray(noise.efac_mask), efac)
    phi = []
    for law in (noise.red, noise.dm):
        if law is not None:
            phi.append(powerlaw_weights_s2(jnp.asarray(law.freqs_hz), values[i], values[i + 1], law.df_hz))
            i += 2
    phi = jnp.concatenate(phi) if phi else jnp.zeros(0)
    return sigma, ecorr_s[jnp.asarray(noise.ecorr_param)] ** 2, phi


def _layout(noise: NoiseModel, ecorr_var, phi):
    """(finite columns, their prior variances, ECORR variance per epoch, epoch per TOA): disjoint epochs stay
    Sherman-Morrison blocks, else their columns join the Fourier basis.  No ECORR: every TOA in slot 0 = m."""
    fourier = noise.fourier_basis()
    if noise.ecorr_disjoint:
        return fourier, phi, ecorr_var, noise.ecorr_epoch()
    n = fourier.shape[0]
    return np.hstack([noise.ecorr_basis, fourier]), jnp.concatenate([ecorr_var, phi]), jnp.zeros(0), np.zeros(n, int)


def noise_kernel(noise: NoiseModel, values, inf=None) -> K.Kernel:
    """The kernel at noise ``values`` (ordered as :func:`noise_parameters`; jittable, differentiable in them), the
    phase offset and ``inf`` (n, q) as infinite-variance columns."""
    if noise.toa_error_s is None:
        raise ValueError("this NoiseModel has no TOA errors; build it with build_noise")
    sigma, ecorr_var, phi = _unpack(noise, jnp.asarray(values, dtype=jnp.float64))
    basis, phi, ecorr_var, epoch = _layout(noise, ecorr_var, phi)
    ones = jnp.ones((len(noise.toa_error_s), 1))
    return K.Kernel(sigma, jnp.asarray(epoch), ecorr_var, jnp.asarray(basis), phi,
                    ones if inf is None else jnp.hstack([ones, jnp.asarray(inf)]))


class ColumnSet(NamedTuple):
    """Columns of X with disjoint supports (DMX bins, JUMPs on disjoint backends; a dense column alone): per row,
    which of them is non-zero there (``len(index)`` for none) and its value."""

    index: np.ndarray  # (s,) their positions in X
    seg: np.ndarray  # (n,) int
    val: np.ndarray  # (n,)


class ColumnsGram(NamedTuple):
    """G^T diag(w) G for G = [A, X], A = [Fourier, 1] by its :class:`FourierGram`, X by sets of columns with
    disjoint supports (each block a segment sum over the n rows: O(n k) per set, not O(n q k)) and the columns
    in no such set (JUMPs, FD: dense products).  For B1855+09 9yv1's 76 linear columns: one set of 71 DMX
    columns and 5 dense ones."""

    inner: FourierGram
    a: np.ndarray  # (n, k + 1)
    sets: tuple  # of ColumnSet, two or more columns each
    dense: np.ndarray  # (n, d) the other columns
    order: np.ndarray  # (q,) X's columns in [sets..., dense] order -> X's order

    def __call__(self, w):
        aa = self.inner(w)
        a, dense = jnp.asarray(self.a), jnp.asarray(self.dense)
        wd = w[:, None] * dense
        cross, rows = [], []
        for s in self.sets:
            ns = len(s.index)

            def seg(x, s=s, ns=ns):  # sums of x's rows over s's columns' supports, weighted by w and s's values
                return jax.ops.segment_sum((w * s.val)[:, None] * x, s.seg, num_segments=ns + 1)[:ns]

            cross.append(seg(a).T)
            row = []
            for t in self.sets:
                nt = len(t.index)
                pair = jax.ops.segment_sum(w * s.val * t.val, s.seg * (nt + 1) + t.seg,
                                           num_segments=(ns + 1) * (nt + 1))
                row.append(pair.reshape(ns + 1, nt + 1)[:ns, :nt])
            rows.append(row + [seg(dense)])
        cross.append(a.T @ wd)
        rows.append([r[-1].T for r in rows] + [dense.T @ wd])
        ax = jnp.hstack(cross)[:, self.order]
        xx = jnp.block(rows)[self.order][:, self.order]
        return jnp.block([[aa, ax], [ax.T, xx]])


def _column_sets(x: np.ndarray) -> list[list[int]]:
    """X's columns grouped greedily into sets of pairwise disjoint supports."""
    sets, used = [], []
    for j in range(x.shape[1]):
        support = x[:, j] != 0
        for members, rows in zip(sets, used):
            if not np.any(rows & support):
                members.append(j)
                rows |= support
                break
        else:
            sets.append([j])
            used.append(support.copy())
    return sets


def columns_gram(noise: NoiseModel, inf) -> ColumnsGram | None:
    """The :class:`ColumnsGram` of the kernel's G with infinite-variance columns ``inf`` (host, (n, q)) after
    the offset, or None where the Fourier columns have no FourierGram (then G^T W G is formed directly)."""
    inner = noise.gram() if noise.ecorr_disjoint else None
    if inner is None:
        return None
    x = np.asarray(inf, dtype=np.float64)
    n = x.shape[0]
    sets, alone = [], []
    for members in _column_sets(x):
        if len(members) == 1:
            alone += members
            continue
        sub = x[:, members]
        nonzero = sub != 0
        seg = np.where(nonzero.any(axis=1), np.argmax(nonzero, axis=1), len(members))
        sets.append(ColumnSet(np.array(members), seg, np.where(seg < len(members), sub[np.arange(n), np.minimum(
            seg, len(members) - 1)], 0.0)))
    order = np.argsort(np.concatenate([s.index for s in sets] + [np.array(alone, dtype=int)]))
    return ColumnsGram(inner, np.hstack([noise.fourier_basis(), np.ones((n, 1))]), tuple(sets), x[:, alone], order)


class SplitGram(NamedTuple):
    """``inf``'s columns split for :func:`kernel.split_loglike`: a set with disjoint supports whose block of M is
    diagonal (no ECORR epoch in two of its columns; on B1855+09 9yv1 the 71 DMX columns), and the rest (with
    their :class:`ColumnsGram`)."""

    rest: np.ndarray  # (r,) positions in inf of the other columns
    gram: ColumnsGram  # of [Fourier, 1, inf[:, rest]]
    sparse: K.SparseSet
    d: int


def split_gram(noise: NoiseModel, inf) -> SplitGram | None:
    """The :class:`SplitGram` of ``inf`` (host, (n, q)): its largest disjoint-support set in which no ECORR epoch
    touches two columns, or None (no such set of two or more, or no FourierGram)."""
    full = columns_gram(noise, inf)
    if full is None or not full.sets:
        return None
    epoch = np.asarray(noise.ecorr_epoch())
    m = len(noise.ecorr_param)
    best = None
    for s in full.sets:
        d = len(s.index)
        in_col = s.seg < d
        pairs = np.unique(np.column_stack([epoch, s.seg])[in_col & (epoch < m)], axis=0)
        if len(np.unique(pairs[:, 0])) == len(pairs) and (best is None or d > len(best.index)):
            best = s
    if best is None:
        return None
    d = len(best.index)
    epoch_col = np.full(m, d, dtype=np.int64)
    in_col = (best.seg < d) & (epoch < m)
    epoch_col[epoch[in_col]] = best.seg[in_col]
    rest = np.setdiff1d(np.arange(np.asarray(inf).shape[1]), best.index)
    x = np.asarray(inf, dtype=np.float64)[:, rest]
    return SplitGram(rest, columns_gram(noise, x), K.SparseSet(best.seg, best.val, epoch_col), d)


def noise_factor(noise: NoiseModel, values, inf=None, gram=None) -> K.Factor:
    """:func:`kernel.factor` of :func:`noise_kernel`; G^T W G from trigonometric moments where G is [Fourier, 1]
    (with ``inf``: from ``gram``, :func:`columns_gram`'s, when given)."""
    if inf is None:
        gram = noise.gram() if noise.ecorr_disjoint else None
    return K.factor(noise_kernel(noise, values, inf), gram)


def noise_chi2_logdet(noise: NoiseModel, resid_s, values, inf=None, gram=None):
    """(r^T C^-1 r, log det C) with the phase offset (and ``inf``'s columns) marginalised."""
    fac = noise_factor(noise, values, inf, gram)
    return K.forms(fac, resid_s), fac.logdet


def noise_loglike(noise: NoiseModel, resid_s, values, inf=None, gram=None):
    """Restricted Gaussian log-likelihood of residuals ``resid_s`` (n,) at noise ``values`` (jittable):
    -1/2 [r^T C^-1 r + log det C], the phase offset and the columns ``inf`` (n, q; e.g. marginalised linear
    timing parameters) with infinite variance, their noise-dependent log det included.  No 2 pi constants.
    ``gram``: :func:`columns_gram` of ``inf`` (faster; optional), or its :func:`split_gram` (faster still)."""
    resid_s = jnp.asarray(resid_s, dtype=jnp.float64)
    if isinstance(gram, SplitGram):
        kern = noise_kernel(noise, jnp.asarray(values, dtype=jnp.float64), np.asarray(inf)[:, gram.rest])
        return K.split_loglike(kern, jax.tree.map(jnp.asarray, gram.sparse), resid_s, gram.d, gram.gram)
    chi2, logdet = noise_chi2_logdet(noise, resid_s, values, inf, gram)
    return -0.5 * (chi2 + logdet)


def grouped_gram(noise: NoiseModel, y: np.ndarray, values, inf=None) -> dict:
    """What :func:`grouped_forms` needs for y (n, p), prepared once at the noise ``values`` (host arrays).

    TOAs are grouped by the EFAC/EQUAD selectors that apply to them; per group, x^T W0 x for x = [y, dense, 1, inf]
    (W0: the weights at ``values``; ``inf``: more infinite-variance columns), and per (ECORR epoch, group) pair
    the sums of W0 x."""
    sigma, _, _ = _unpack(noise, jnp.asarray(values, dtype=jnp.float64))
    w0 = 1.0 / np.asarray(sigma) ** 2
    masks = np.hstack([noise.efac_mask, noise.equad_mask]) > 0
    _, group = np.unique(masks, axis=0, return_inverse=True)
    group = group.ravel()
    dense, _, _, epoch = _layout(noise, jnp.zeros(len(noise.ecorr_groups)), jnp.zeros(0))
    x = np.hstack([y, dense, np.ones((len(w0), 1))] + ([] if inf is None else [np.asarray(inf)]))
    n_group = group.max() + 1
    gram = np.stack([x[group == g].T @ (w0[group == g, None] * x[group == g]) for g in range(n_group)])
    m = len(noise.ecorr_groups) if noise.ecorr_disjoint else 0
    in_epoch = epoch < m
    pairs, pair = np.unique(np.column_stack([epoch, group])[in_epoch], axis=0, return_inverse=True)
    pair = pair.ravel()
    pair_sum = np.zeros((len(pairs), x.shape[1]))
    np.add.at(pair_sum, pair, w0[in_epoch, None] * x[in_epoch])
    return {"group": group, "w0_sum": np.bincount(group, w0, n_group), "gram": gram,
            "pair_epoch": pairs[:, 0], "pair_group": pairs[:, 1], "pair_sum": pair_sum,
            "pair_w": np.bincount(pair, w0[in_epoch], len(pairs))}


def grouped_forms(noise: NoiseModel, values, g: dict, p: int):
    """y^T C~^-1 y (p, p) for the y (n, p) of :func:`grouped_gram`, at noise ``values`` (jittable, differentiable).

    C~ is C with each selector group's white-noise weights scaled by one factor, the ratio of the group's
    summed weights at ``values`` to those at the reference; ECORR and red/DM noise are exact.  A valid
    covariance, so the result is positive definite, and it costs O(n + groups p^2 + epochs p^2), not
    O(n p^2): the NUTS sampler's noise-conditional metric (where the weight spread within a group only
    makes the metric approximate, never the posterior wrong)."""
    sigma, ecorr_var, phi = _unpack(noise, jnp.asarray(values, dtype=jnp.float64))
    n_group = g["gram"].shape[0]
    scale = jax.ops.segment_sum(1.0 / sigma**2, g["group"], num_segments=n_group) / g["w0_sum"]
    xnx = jnp.tensordot(scale, g["gram"], axes=1)
    _, dense_phi, ecorr_var, _ = _layout(noise, ecorr_var, phi)
    m = ecorr_var.shape[0]
    if m:
        pair_scale = scale[g["pair_group"]]
        a = jax.ops.segment_sum(pair_scale[:, None] * g["pair_sum"], g["pair_epoch"], num_segments=m)
        s_e = jax.ops.segment_sum(pair_scale * g["pair_w"], g["pair_epoch"], num_segments=m)
        xnx = xnx - a.T @ (K.sherman_morrison(ecorr_var, s_e)[:, None] * a)
    q, chol, _ = K.scaled_cholesky(xnx[p:, p:], dense_phi)
    z = jax.scipy.linalg.solve_triangular(chol, q[:, None] * xnx[p:, :p], lower=True)
    out = xnx[:p, :p] - z.T @ z
    return (out + out.T) / 2
