"""Noise bases and white-noise algebra fixed by the TOAs: EFAC/EQUAD scaling, ECORR epochs, Fourier columns
and their power-law weights, and the trigonometric-moment Gram matrix of the Fourier columns."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import JULIAN_YEAR_D, SECONDS_PER_DAY

enable_x64()

ECORR_EPOCH_S = 1.0
F_YR_HZ = 1.0 / (JULIAN_YEAR_D * SECONDS_PER_DAY)


def _xp(*arrays):
    """numpy for host arrays (no JAX program to compile and load), jax.numpy inside traces or for JAX arrays."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def scaled_sigma_s(sigma_s, equad_mask, equad_s, efac_mask, efac):
    """TOA errors with EQUADs added in quadrature, then EFACs applied (TOAs without one: unchanged)."""
    xp = _xp(sigma_s, equad_mask, equad_s, efac_mask, efac)
    var = sigma_s**2 + equad_mask @ (equad_s**2)
    scale = xp.prod(xp.where(efac_mask > 0, efac[None, :], 1.0), axis=1)
    return scale * xp.sqrt(var)


def powerlaw_weights_s2(freqs_hz, log10_amp, gamma, df_hz):
    """Power-law PSD times frequency bin, repeated for the sin and cos columns (s^2)."""
    xp = _xp(freqs_hz, log10_amp, gamma, df_hz)
    amp = 10.0**log10_amp
    psd = amp**2 / (12.0 * np.pi**2) * F_YR_HZ ** (gamma - 3.0) * freqs_hz ** (-gamma)
    return xp.repeat(psd * df_hz, 2)


def ecorr_epochs(t_s: np.ndarray) -> list[np.ndarray]:
    """Index groups of TOAs within ECORR_EPOCH_S of each epoch's first TOA; single-TOA epochs dropped."""
    order = np.argsort(t_s, kind="stable")
    groups, current, start = [], [], None
    for i in order:
        if start is not None and t_s[i] - start < ECORR_EPOCH_S:
            current.append(i)
        else:
            if len(current) >= 2:
                groups.append(np.array(current))
            current, start = [i], t_s[i]
    if len(current) >= 2:
        groups.append(np.array(current))
    return groups


def fourier_basis(t_s: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Columns sin(2 pi f t), cos(2 pi f t) alternating, for each frequency."""
    arg = 2.0 * np.pi * t_s[:, None] * freqs_hz[None, :]
    out = np.empty((len(t_s), 2 * len(freqs_hz)))
    out[:, 0::2], out[:, 1::2] = np.sin(arg), np.cos(arg)
    return out


@dataclass(frozen=True)
class FourierGram:
    """G^T diag(w) G for G = [Fourier basis, 1] from weighted trigonometric moments: O(n J) per weighting,
    not O(n k^2).

    The basis columns are sin/cos(h theta_i) with theta_i = 2 pi df t_i and integer harmonics h (DM columns
    also times the row scale s_i), so every product of two columns is a sum of two terms sin/cos(j theta_i)
    (j = h +- l) times s_i^p: e.g. sin h sin l = (cos(h - l) - cos(h + l)) / 2.  The Gram matrix is then a
    fixed combination of the moments sum_i w_i s_i^p cos/sin(j theta_i), j <= 2 h_max, p <= 2.  For B1855+09
    (4005 TOAs, 45 red-noise frequencies) that is 0.7 M multiply-adds instead of 33 M, the dominant cost of
    the sampled-noise likelihood and its gradient."""

    trig: np.ndarray  # (n, 2 (J + 1)): cos(j theta), then sin(j theta), j = 0..J
    scale: np.ndarray | None  # (n,) DM row scale; None without DM columns
    index: np.ndarray  # (2, k + 1, k + 1) into the flattened (P, 2 (J + 1)) moments
    coef: np.ndarray  # (2, k + 1, k + 1)

    def __call__(self, w):
        """G^T diag(w) G, (k + 1, k + 1), for weights ``w`` (n,) (JAX, differentiable)."""
        weights = [w] if self.scale is None else [w, w * self.scale, w * self.scale**2]
        moments = jnp.asarray(self.trig).T @ jnp.stack(weights, axis=1)  # (2 (J + 1), P)
        flat = moments.T.reshape(-1)
        return self.coef[0] * flat[self.index[0]] + self.coef[1] * flat[self.index[1]]


def fourier_gram(red_basis: np.ndarray, dm_basis: np.ndarray, tol: float = 1e-9) -> FourierGram | None:
    """The :class:`FourierGram` of [red_basis, dm_basis, 1], or None when the bases are not harmonics of one
    fundamental (then the caller forms G^T W G directly).  The harmonics are rebuilt from the first column
    pair and checked against every stored column to ``tol``."""
    k_red, k_dm = red_basis.shape[1] // 2, dm_basis.shape[1] // 2
    if k_red + k_dm == 0:
        return None
    scale = np.hypot(dm_basis[:, 0], dm_basis[:, 1]) if k_dm else None
    first = red_basis[:, :2] if k_red else dm_basis[:, :2] / scale[:, None]
    theta = np.arctan2(first[:, 0], first[:, 1])
    cols = []
    for h in range(1, k_red + 1):
        cols += [("sin", h, 0), ("cos", h, 0)]
    for h in range(1, k_dm + 1):
        cols += [("sin", h, 1), ("cos", h, 1)]
    rebuilt = np.column_stack([(np.sin if kind == "sin" else np.cos)(h * theta) * (scale if p else 1.0)
                               for kind, h, p in cols])
    if not np.allclose(rebuilt, np.hstack([red_basis, dm_basis]), rtol=0.0, atol=tol):
        return None
    cols.append(("one", 0, 0))
    j_max = 2 * max(k_red, k_dm)
    width = 2 * (j_max + 1)
    trig = np.hstack([np.cos(np.outer(theta, np.arange(j_max + 1))), np.sin(np.outer(theta, np.arange(j_max + 1)))])
    k = len(cols)
    index, coef = np.zeros((2, k, k), dtype=np.int32), np.zeros((2, k, k))
    for a, (ka, ha, pa) in enumerate(cols):
        for b, (kb, hb, pb) in enumerate(cols):
            base = (pa + pb) * width
            cos_at = lambda j: base + abs(j)  # noqa: E731
            sin_at = lambda j: base + j_max + 1 + abs(j)  # noqa: E731
            pair = {ka, kb}
            if pair == {"one"}:
                terms = [(cos_at(0), 1.0)]
            elif "one" in pair:
                kind, h = (kb, hb) if ka == "one" else (ka, ha)
                terms = [((sin_at if kind == "sin" else cos_at)(h), 1.0)]
            elif ka == kb == "sin":
                terms = [(cos_at(ha - hb), 0.5), (cos_at(ha + hb), -0.5)]
            elif ka == kb == "cos":
                terms = [(cos_at(ha - hb), 0.5), (cos_at(ha + hb), 0.5)]
            else:  # sin(hs) cos(hc) = (sin(hs + hc) + sin(hs - hc)) / 2
                hs, hc = (ha, hb) if ka == "sin" else (hb, ha)
                terms = [(sin_at(hs + hc), 0.5), (sin_at(hs - hc), 0.5 * np.sign(hs - hc))]
            for t, (i, c) in enumerate(terms):
                index[t, a, b], coef[t, a, b] = i, c
    return FourierGram(trig, scale, index, coef)
