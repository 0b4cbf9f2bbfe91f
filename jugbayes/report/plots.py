"""Figures: residuals against time."""

from __future__ import annotations

import os

import numpy as np

from jugbayes.io.output import save_figure


def plot_residuals(toas, resid_s: np.ndarray, path: str | os.PathLike, title: str = "") -> None:
    """Residuals (us) against MJD with error bars, one colour per backend (``-be``/``-f`` flag) or frequency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [f.get("be") or f.get("f") or f.get("fe") for f in toas.flags]
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    if any(g is not None for g in groups):
        labels = np.array([g or "other" for g in groups])
        for label in sorted(set(labels)):
            sel = labels == label
            ax.errorbar(toas.mjd[sel], resid_s[sel] * 1e6, yerr=toas.error_us[sel], fmt=".", ms=3, lw=0.6,
                        label=label)
        ax.legend(fontsize="small", ncol=2)
    else:
        sc = ax.scatter(toas.mjd, resid_s * 1e6, c=np.where(np.isfinite(toas.freq_mhz), toas.freq_mhz, np.nan), s=6)
        ax.errorbar(toas.mjd, resid_s * 1e6, yerr=toas.error_us, fmt="none", lw=0.5, ecolor="0.6", zorder=0)
        fig.colorbar(sc, ax=ax, label="frequency (MHz)")
    ax.set_xlabel("MJD")
    ax.set_ylabel("residual (us)")
    ax.set_title(title, fontsize="medium")
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_prefit_postfit(toas, prefit_s: np.ndarray, postfit_s: np.ndarray, path, title: str = "") -> None:
    """Pre-fit and post-fit residuals (us) against MJD, two panels sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = 1.0 / np.asarray(toas.error_us) ** 2
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    for ax, r, label in ((axes[0], prefit_s, "pre-fit"), (axes[1], postfit_s, "post-fit")):
        r = r - np.sum(w * r) / np.sum(w)
        ax.errorbar(toas.mjd, r * 1e6, yerr=toas.error_us, fmt=".", ms=3, lw=0.6)
        ax.set_ylabel(f"{label} (us)")
    axes[1].set_xlabel("MJD")
    axes[0].set_title(title, fontsize="medium")
    save_figure(fig, path, dpi=120)
    plt.close(fig)
