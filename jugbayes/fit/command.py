"""What ``jugbayes fit`` does for one pulsar with WLS/GLS: read the .par and .tim, fit, print the table, write
the fitted .par and the JSON summary.  ``jugbayes fit`` and each task of ``jugbayes pta`` call :func:`run_wls`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from jugbayes.errors import JugbayesError


@dataclass
class WlsRun:
    """One pulsar's fit: its inputs, model, noise model, fit result, fitted values and summary dict."""

    par: Any
    toas: Any
    model: Any
    noise: Any
    result: Any
    values: list
    summary: dict


def free_list(model, fit: str | None = None, freeze: str | None = None) -> tuple[str, ...]:
    """The parameters to fit: the .par's free ones, or ``fit`` (comma-separated), less ``freeze``."""
    free = list(model.free)
    if fit:
        free = [n.strip().upper() for n in fit.split(",") if n.strip()]
    for n in (freeze or "").split(","):
        if n.strip() and n.strip().upper() in free:
            free.remove(n.strip().upper())
    unknown = [n for n in free if n not in model.names]
    if unknown:
        raise JugbayesError(f"cannot fit {', '.join(unknown)}: not a continuous parameter of this model "
                            f"(it has {', '.join(model.names[:12])}{', ...' if len(model.names) > 12 else ''})")
    if not free:
        raise JugbayesError("nothing to fit: the .par frees no parameter; choose some with --fit")
    return tuple(free)


def summary_dict(par_path, tim_path, model, result, values, kind: str) -> dict:
    """The JSON summary ``jugbayes fit --summary`` writes (values as exact decimal strings)."""
    from jugbayes.report.fitted_par import par_factor

    names = list(result.names)
    return {
        "method": "wls", "solver": kind.lower(), "par": str(par_path), "tim": str(tim_path),
        "ntoas": len(model.toas),
        "params": {v.name: {"value": str(v.value), "uncertainty": v.uncertainty, "prefit": str(v.prefit)}
                   for v in values},
        "chi2": result.chi2, "dof": result.dof, "reduced_chi2": result.reduced_chi2,
        "wrms_us": result.wrms_postfit_us, "wrms_prefit_us": result.wrms_prefit_us,
        "iterations": result.iterations, "converged": result.converged, "dropped": result.dropped,
        "quadratic_check": {"about": "delta chi2 at -1 and +1 sigma along each nonlinear parameter's profile "
                                     "direction (1 for a quadratic chi2)",
                            "params": {par_factor(model, n)[0]: list(v) for n, v in result.quadratic_check.items()}},
        "covariance": {"params": names, "units": [model.units.get(n, "turns") for n in names],
                       "matrix": np.asarray(result.covariance).tolist()},
    }


def _print_table(values, result, kind: str, echo: Callable[[str], None]) -> None:
    echo(f"{'parameter':<12} {'pre-fit':>26} {'post-fit':>26} {'uncertainty':>12} {'change/sigma':>12}")
    for v in values:
        change = float(v.value - v.prefit) / v.uncertainty if v.uncertainty > 0 else float("nan")
        echo(f"{v.name:<12} {v.prefit:>26.17g} {v.value:>26.17g} {v.uncertainty:>12.4g} {change:>12.3f}")
    echo(f"{kind} fit: chi2 {result.chi2:.3f} for {result.dof} dof (reduced {result.reduced_chi2:.4f}); weighted rms "
         f"{result.wrms_prefit_us:.4f} -> {result.wrms_postfit_us:.4f} us; {result.iterations} iterations, "
         f"{'converged' if result.converged else 'NOT converged'}")


def run_wls(par_path, tim_path, *, fit: str | None = None, freeze: str | None = None, out_par=None, summary=None,
            echo: Callable[[str], None] = print, **time_transfer) -> WlsRun:
    """Fit one pulsar (GLS when its noise model is correlated), print the table through ``echo``, write
    ``out_par`` and the ``summary`` JSON where given.  ``time_transfer``: ``build_model``'s clock/ephemeris
    keywords."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim, write_par
    from jugbayes.io.textfile import refuse_overwrite
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model
    from jugbayes.report.fitted_par import fitted_values, updated_par

    if out_par:
        refuse_overwrite(out_par, (par_path, tim_path))  # before the fit, not after it
    par = read_par(par_path)
    toas = read_tim(tim_path)
    model = build_model(par, toas, **time_transfer)
    noise = noise_for_model(model)
    result = fit_wls(model, free_list(model, fit, freeze), noise=noise)
    kind = "GLS" if noise.correlated else "WLS"
    values = fitted_values(model, result)
    _print_table(values, result, kind, echo)
    if out_par:
        write_par(updated_par(par, values), out_par, protect=tuple(toas.files))
        echo(f"wrote {out_par}")
    info = summary_dict(par_path, tim_path, model, result, values, kind)
    if summary:
        Path(summary).write_text(json.dumps(info, indent=1))
        echo(f"wrote {summary}")
    return WlsRun(par, toas, model, noise, result, values, info)


def plot_fit(run: WlsRun, png, title: str | None = None) -> None:
    """Pre- and post-fit residuals against MJD, as ``jugbayes fit --plot`` draws them."""
    from jugbayes.report.plots import plot_prefit_postfit

    pre = np.asarray(run.model.residuals()["time_s"])
    plot_prefit_postfit(run.toas, pre, run.result.residuals_s, png, title=title)
