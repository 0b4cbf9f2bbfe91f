"""Corner plot of a NUTS posterior with the WLS Gaussian overlaid (matplotlib only).

Every axis shows the offset from the WLS value in units of the WLS sigma: F0 ~ 300 Hz with sigma
1e-14 Hz cannot be read off raw tick labels, and in these units the WLS 1- and 2-sigma ellipses
are those of the correlation matrix (x^T R^-1 x = 1 or 4; 39.3% and 86.5% of a 2-D Gaussian).
The diagonal titles give each WLS value and sigma in .par units.
"""

from __future__ import annotations

import math
import os
from decimal import Decimal, localcontext

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.report.posterior import _offset_dataset, default_corner_names, wls_from_idata

MAX_PARAMS = 12
MASS_1SIGMA_2D = 1 - math.exp(-0.5)  # 0.393: probability inside the 1-sigma ellipse of a 2-D Gaussian
MASS_2SIGMA_2D = 1 - math.exp(-2.0)  # 0.865
_MAX_POINTS = 4000  # scatter at most this many draws per panel


def ellipse_points(cov2: np.ndarray, nsigma: float = 1.0, n: int = 181) -> np.ndarray:
    """(n, 2) points of the ellipse x^T C^-1 x = nsigma^2 of a 2x2 covariance C (closed: last = first)."""
    w, v = np.linalg.eigh(np.asarray(cov2, dtype=float))
    a = v * np.sqrt(np.clip(w, 0.0, None))  # C = A A^T, so x = A u with |u| = 1 lies on the ellipse
    t = np.linspace(0.0, 2 * np.pi, n)
    return nsigma * (np.stack([np.cos(t), np.sin(t)], axis=1) @ a.T)


def _smooth(h: np.ndarray) -> np.ndarray:
    """A 1-2-1 blur along each axis, so that contours of a few thousand draws are not ragged."""
    k = np.array([0.25, 0.5, 0.25])
    h = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 0, h)
    return np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 1, h)


def mass_levels(h: np.ndarray, fractions) -> list[float]:
    """Histogram heights whose upper level sets hold the given fractions of the total (for contours)."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    return [float(flat[min(np.searchsorted(cum, f), flat.size - 1)]) for f in fractions]


def _choose(idata, names, max_params: int) -> tuple[list[str], int]:
    available = list(idata.posterior.data_vars)
    if names is None:
        default = default_corner_names(available) or available
        return default[:max_params], len(default)
    names = [n.strip().upper() for n in (names.split(",") if isinstance(names, str) else names)]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise JugbayesError(f"corner plot: no posterior for {', '.join(unknown)} (sampled: {', '.join(available)})")
    return names, len(names)


def _scaled_draws(idata, names, wls) -> tuple[dict, dict]:
    """Draws as offsets / WLS sigma (posterior sd where the WLS has none), and the scale used per name."""
    off = _offset_dataset(idata)
    sigma = dict(zip(wls.names, wls.sigma))
    draws, scale = {}, {}
    for n in names:
        x = np.asarray(off[n].values, dtype=float).ravel()
        s = sigma.get(n, np.nan)
        scale[n] = s if np.isfinite(s) and s > 0 else (x.std() or 1.0)
        draws[n] = x / scale[n]
    return draws, scale


def _limits(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(x, [0.002, 0.998])
    return min(lo, -3.5), max(hi, 3.5)


def _diagonal(ax, x, lim, has_wls: bool) -> None:
    ax.hist(x, bins=40, range=lim, density=True, histtype="stepfilled", color="C0", alpha=0.35)
    if has_wls:
        g = np.linspace(*lim, 200)
        ax.plot(g, np.exp(-0.5 * g**2) / math.sqrt(2 * math.pi), color="C3", lw=1.0, gid="wls-pdf")
        ax.axvline(0.0, color="C3", lw=0.8, ls=":")
    ax.set_yticks([])
    ax.set_xlim(lim)


def _panel(ax, x, y, xlim, ylim, corr2) -> None:
    step = max(1, x.size // _MAX_POINTS)
    ax.scatter(x[::step], y[::step], s=2, color="C0", alpha=0.25, lw=0, rasterized=True)
    h, xe, ye = np.histogram2d(x, y, bins=30, range=(xlim, ylim))
    h = _smooth(h)
    levels = sorted(set(mass_levels(h, (MASS_2SIGMA_2D, MASS_1SIGMA_2D))))
    if h.sum() > 0 and len(levels) == 2 and levels[0] > 0:
        ax.contour((xe[1:] + xe[:-1]) / 2, (ye[1:] + ye[:-1]) / 2, h.T, levels=levels, colors="C0", linewidths=1.0)
    if corr2 is not None:
        for nsig, ls in ((1.0, "-"), (2.0, "--")):
            e = ellipse_points(corr2, nsig)
            ax.plot(e[:, 0], e[:, 1], color="C3", lw=1.0, ls=ls, gid=f"wls-{nsig:g}sigma")
        ax.plot([0.0], [0.0], marker="+", color="C3", ms=8, gid="wls-value")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def _title(name: str, wls, idata) -> str:
    """Name, WLS value to two digits of its sigma (exact decimal: F0 needs ~16 digits), sigma and unit."""
    unit = idata.posterior[name].attrs.get("units", "")
    if name in wls.names:
        i = wls.names.index(name)
        sigma = float(wls.sigma[i])
        if np.isfinite(sigma) and sigma > 0:
            with localcontext() as ctx:
                ctx.prec = 60
                value = wls.values[i].quantize(Decimal(1).scaleb(math.floor(math.log10(sigma)) - 1))
            return f"{name}\n{value}\n\u00b1 {sigma:.2g} {unit}"
    return f"{name} ({unit})" if unit else name


def corner_plot(idata, fit=None, names=None, path: str | os.PathLike | None = None, *, max_params: int = MAX_PARAMS):
    """Corner plot of the posterior (offsets / WLS sigma) with the WLS 1- and 2-sigma ellipses and value.

    ``fit``: the WLS Gaussian in .par units (:func:`jugbayes.report.posterior.wls_gaussian`); by default
    the one :func:`~jugbayes.report.posterior.inference_data` stored in ``idata``.  ``names``: parameters
    (list or comma-separated); default the timing parameters less DMX/JUMP/noise, at most ``max_params``.
    Writes ``path`` when given; returns the matplotlib Figure (no pyplot state: nothing to close).
    """
    from matplotlib.figure import Figure

    wls = fit if fit is not None else wls_from_idata(idata)
    names, available = _choose(idata, names, max_params)
    draws, _ = _scaled_draws(idata, names, wls)
    lims = {n: _limits(draws[n]) for n in names}
    corr = _correlation(wls, names)
    k = len(names)
    size = max(2.0, min(1.9, 16.0 / k) * k)
    fig = Figure(figsize=(size, size), layout="constrained")
    axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
    for r, yn in enumerate(names):
        for c, xn in enumerate(names):
            ax = axes[r, c]
            if c > r:
                ax.set_axis_off()
                continue
            if c == r:
                _diagonal(ax, draws[xn], lims[xn], corr.get((xn, xn)) is not None)
                ax.set_title(_title(xn, wls, idata), fontsize="x-small")
            else:
                _panel(ax, draws[xn], draws[yn], lims[xn], lims[yn], corr.get((xn, yn)))
                ax.set_label(f"{xn}|{yn}")
            ax.tick_params(labelsize="x-small")
            if r == k - 1:
                ax.set_xlabel(f"{xn} [\u03c3]", fontsize="small")
            else:
                ax.set_xticklabels([])
            if c == 0 and r > 0:
                ax.set_ylabel(f"{yn} [\u03c3]", fontsize="small")
            elif c > 0:
                ax.set_yticklabels([])
    note = f" (first {k} of {available}; choose with names)" if available > k else ""
    fig.suptitle("offsets from the WLS value in units of the WLS \u03c3" + note + "\nposterior: blue (contours hold 39% "
                 "and 86%); WLS Gaussian: red (1\u03c3 and 2\u03c3 ellipses, value +)", fontsize="small")
    if path is not None:
        from jugbayes.io.output import save_figure

        save_figure(fig, path, dpi=110)
    return fig


def _correlation(wls, names) -> dict:
    """{(x, y): 2x2 WLS correlation block} for the pairs of ``names`` with a WLS covariance (sigma units)."""
    s = np.asarray(wls.sigma)
    index = {n: i for i, n in enumerate(wls.names)}
    out = {}
    for a in names:
        for b in names:
            i, j = index.get(a), index.get(b)
            if i is not None and j is not None and np.isfinite(s[[i, j]]).all() and (s[[i, j]] > 0).all():
                block = np.asarray(wls.covariance)[np.ix_([i, j], [i, j])] / np.outer(s[[i, j]], s[[i, j]])
                out[(a, b)] = block
    return out
