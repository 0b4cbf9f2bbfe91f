"""Figures: residuals against MJD, orbital phase (binaries) and frequency, coloured by receiver/backend."""

from __future__ import annotations

import os

import numpy as np

from jugbayes.io.output import save_figure


def backend_labels(toas) -> tuple[np.ndarray, str] | None:
    """Each TOA's system and where it came from: ``-f``, else ``-fe``/``-be`` joined; None when neither is given."""
    flags = toas.flags
    if any("f" in f for f in flags):
        return np.array([f.get("f", "other") for f in flags]), "-f"
    if any("fe" in f or "be" in f for f in flags):
        return np.array(["_".join(x for x in (f.get("fe"), f.get("be")) if x) or "other" for f in flags]), "-fe/-be"
    return None


def orbital_phase(model) -> tuple[np.ndarray, str] | None:
    """(orbital phase in [0, 1) of each TOA from T0, or TASC for ELL1-type orbits; its label), None if isolated."""
    if model.structure.binary is None:
        return None
    import jax.numpy as jnp

    from jugbayes.constants import SECONDS_PER_DAY
    from jugbayes.model.binary.orbit import orbit_values_from_par, orbits_and_period

    par = model.par
    epoch = par.get("T0") or par.get("TASC")
    if epoch is None:
        return None
    dt_s = (model.prep.tdb.as_float()[:-1] - epoch.as_float()) * SECONDS_PER_DAY
    orbits, _ = orbits_and_period(jnp.asarray(dt_s), orbit_values_from_par(par))
    return np.mod(np.asarray(orbits), 1.0), f"orbital phase (from {epoch.name})"


def plot_residual_panels(toas, panels: dict, sigma_us, path: str | os.PathLike | None, *, title: str = "",
                         phase: tuple[np.ndarray, str] | None = None, curves: dict | None = None):
    """Rows: ``panels`` ({"pre-fit": residuals_s, ...}, weighted mean removed); columns: MJD, orbital phase
    (``phase``, binaries) and frequency.  Error bars ``sigma_us`` (EFAC/EQUAD-scaled); one colour and legend
    entry per receiver/backend (:func:`backend_labels`), else colour by frequency.  ``curves`` ({panel: (label,
    values_s)}) are drawn as a line against MJD on that panel (e.g. the red-noise realisation).  Writes ``path``
    if given; returns the matplotlib Figure (no pyplot state)."""
    from matplotlib.figure import Figure

    sigma_us = np.asarray(sigma_us, dtype=float)
    w = 1.0 / sigma_us**2
    freq = np.asarray(toas.freq_mhz, dtype=float)
    freq = np.where(np.isfinite(freq), freq, np.nan)  # an infinite-frequency TOA is drawn without a colour
    columns = [("MJD", np.asarray(toas.mjd, dtype=float))]
    if phase is not None:
        columns.append((phase[1], phase[0]))
    columns.append(("frequency (MHz)", freq))
    labels = backend_labels(toas)
    fig = Figure(figsize=(4.2 * len(columns) + 1.5, 3.0 * len(panels) + 0.6), constrained_layout=True)
    axes = fig.subplots(len(panels), len(columns), squeeze=False, sharey="row")
    for row, (name, resid_s) in enumerate(panels.items()):
        r_us = (np.asarray(resid_s) - np.sum(w * resid_s) / np.sum(w)) * 1e6
        for col, (xlabel, x) in enumerate(columns):
            ax = axes[row, col]
            if labels is not None:
                for k, group in enumerate(sorted(set(labels[0]))):
                    sel = labels[0] == group
                    ax.errorbar(x[sel], r_us[sel], yerr=sigma_us[sel], fmt=".", ms=2.5, lw=0.5, color=f"C{k % 10}",
                                label=group)
            else:
                ax.errorbar(x, r_us, yerr=sigma_us, fmt="none", lw=0.5, ecolor="0.6", zorder=0)
                sc = ax.scatter(x, r_us, c=freq, s=5, cmap="viridis")
            ax.set_xlabel(xlabel)
            if col == 0:
                ax.set_ylabel(f"{name} residual (us)")
        if curves and name in curves:
            label, y_s = curves[name]
            order = np.argsort(columns[0][1])
            y_us = (np.asarray(y_s) - np.sum(w * y_s) / np.sum(w)) * 1e6
            (line,) = axes[row, 0].plot(columns[0][1][order], y_us[order], color="k", lw=1.0, label=label)
            axes[row, 0].legend(handles=[line], loc="upper left", fontsize="small")
    if labels is not None:
        handles, names = axes[0, 1].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right upper", fontsize="small", title=labels[1])
    else:
        fig.colorbar(sc, ax=axes, label="frequency (MHz)")
    fig.suptitle(title, fontsize="medium")
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig


def plot_model_residuals(model, panels: dict, path: str | os.PathLike | None, *, noise=None, title: str = ""):
    """:func:`plot_residual_panels` for a model's TOAs: error bars scaled by its noise model's EFAC/EQUAD
    (``noise``, else the .par's), an orbital-phase column for binaries.  With correlated noise (GLS) and a
    "post-fit" panel, that panel also shows the red(+DM)-noise realisation and a "whitened" panel follows
    (post-fit less every noise realisation: ECORR, red, DM; :func:`jugbayes.model.noise.noise_realisations_s`).
    Returns the Figure."""
    from jugbayes.model.noise import noise_for_model, noise_realisations_s, toa_sigma_and_basis

    noise = noise_for_model(model) if noise is None else noise
    sigma_us = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0] * 1e6
    curves = {}
    if noise.correlated and "post-fit" in panels:
        post = np.asarray(panels["post-fit"])
        parts = noise_realisations_s(noise, model.toas.error_us, post)
        panels = dict(panels, whitened=post - sum(parts.values()))
        gp = [k for k in ("red", "dm") if k in parts]
        if gp:
            curves["post-fit"] = (" + ".join(gp) + " noise realisation", sum(parts[k] for k in gp))
    return plot_residual_panels(model.toas, panels, sigma_us, path, title=title, phase=orbital_phase(model),
                                curves=curves)
