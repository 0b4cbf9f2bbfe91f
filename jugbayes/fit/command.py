"""What ``jugbayes fit`` does for one pulsar with WLS/GLS: read the .par and .tim, fit, print the table, write
the fitted .par and the JSON summary.  ``jugbayes fit`` and each task of ``jugbayes pta`` call :func:`run_wls`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class WlsRun:
    """One pulsar's fit: its inputs, model, noise model, fit result, fitted values, summary dict, the fit-quality
    problems found, and whether ``strict`` refused to write outputs because of them."""

    par: Any
    toas: Any
    model: Any
    noise: Any
    result: Any
    values: list
    summary: dict
    problems: list = field(default_factory=list)
    refused: bool = False


def free_list(model, fit: str | None = None, freeze: str | None = None) -> tuple[str, ...]:
    """The parameters to fit: the .par's free ones, or ``fit`` (comma-separated), less ``freeze``."""
    from jugbayes.errors import InputError

    free = list(model.free)
    if fit:
        free = [n.strip().upper() for n in fit.split(",") if n.strip()]
    for n in (freeze or "").split(","):
        if n.strip() and n.strip().upper() in free:
            free.remove(n.strip().upper())
    unknown = [n for n in free if n not in model.names]
    if unknown:
        raise InputError(model.par.path, None, f"cannot fit {', '.join(unknown)}: not a continuous parameter of this "
                         f"model (it has {', '.join(model.names[:12])}{', ...' if len(model.names) > 12 else ''})")
    if not free:
        raise InputError(model.par.path, None, "nothing to fit: the .par frees no parameter; choose some with --fit")
    return tuple(free)


def _print_fit(par, model, result, values, kind: str, fit, freeze, parenthesis: bool,
               echo: Callable[[str], None]) -> None:
    from jugbayes.report.fit_table import derived_quantities, derived_table, fit_table, held_parameters, held_text

    echo(fit_table(values, parenthesis=parenthesis))
    echo(f"{kind} fit: chi2 {result.chi2:.3f} for {result.dof} dof (reduced {result.reduced_chi2:.4f}); weighted rms "
         f"{result.wrms_prefit_us:.4f} -> {result.wrms_postfit_us:.4f} us; {result.iterations} iterations, "
         f"{'converged' if result.converged else 'NOT converged'}")
    if result.dm_residuals_pc_cm3 is not None:
        echo(f"  of which {len(result.dm_residuals_pc_cm3)} wideband DM residuals: chi2 "
             f"{float(np.sum((result.dm_residuals_pc_cm3 / result.dm_sigma_pc_cm3) ** 2)):.3f}")
    derived = derived_quantities(par, values)
    if derived:
        echo("derived (first-order uncertainties, correlations ignored; B, Edot for I = 1e45 g cm^2, m2_min for an "
             "edge-on orbit and a 1.4 Msun pulsar):\n" + derived_table(derived))
    held = held_text(held_parameters(model, result.names, fit, freeze), result.dropped)
    if held:
        echo(held)


def warn_fit_quality(result, toas, par) -> list[str]:
    """Warn of each sign that the fit cannot be right (jugbayes.fit.quality); returns the messages."""
    from jugbayes.fit.quality import FitQualityWarning, fit_quality

    problems = fit_quality(result, toas, par["F0"].as_float())
    for text in problems:
        warnings.warn(text, FitQualityWarning, stacklevel=3)
    return problems


def run_wls(par_path, tim_path, *, fit: str | None = None, freeze: str | None = None, out_par=None, summary=None,
            parenthesis: bool = False, strict: bool = False, echo: Callable[[str], None] = print, loaded=None,
            **time_transfer) -> WlsRun:
    """Fit one pulsar (GLS when its noise model is correlated), print the table through ``echo``, write
    ``out_par`` and the ``summary`` JSON where given -- unless ``strict`` and the fit-quality checks failed
    (``WlsRun.refused``).  ``time_transfer``: ``build_model``'s clock/ephemeris keywords.  Output paths are
    checked by the caller before (jugbayes.io.output.check_outputs); ``loaded``: the (ParFile, TOAs) it read
    for that, so they are not read twice."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim, write_par
    from jugbayes.io.output import write_json
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model
    from jugbayes.report.fit_summary import summary_dict
    from jugbayes.report.fitted_par import fitted_values, updated_par

    par, toas = loaded if loaded is not None else (read_par(par_path), read_tim(tim_path))
    model = build_model(par, toas, **time_transfer)
    noise = noise_for_model(model)
    result = fit_wls(model, free_list(model, fit, freeze), noise=noise)
    kind = "GLS" if noise.correlated or model.structure.wideband else "WLS"
    kind = f"wideband {kind}" if model.structure.wideband else kind  # TOAs and DMs in one GLS (as PINT)
    values = fitted_values(model, result)
    _print_fit(par, model, result, values, kind, fit, freeze, parenthesis, echo)
    info = summary_dict(par_path, tim_path, model, result, values, kind)
    problems = warn_fit_quality(result, toas, par)
    run = WlsRun(par, toas, model, noise, result, values, info, problems, refused=bool(strict and problems))
    if run.refused:
        return run
    if out_par:
        from jugbayes.report.par_output import FitSummary, output_par

        fitted = output_par(updated_par(par, values), model, inputs=(par_path, tim_path), command=f"fit, {kind}",
                            fit=FitSummary(result.chi2, result.dof, result.wrms_postfit_us))
        write_par(fitted, out_par, protect=tuple(toas.files))
        echo(f"wrote {out_par}")
    if summary:
        write_json(summary, info, indent=1)
        echo(f"wrote {summary}")
    return run


def plot_fit(run: WlsRun, png, title: str | None = None) -> None:
    """Pre- and post-fit residuals against MJD, orbital phase and frequency, as ``jugbayes fit --plot`` draws them."""
    from jugbayes.report.plots import plot_model_residuals

    panels = {"pre-fit": np.asarray(run.model.residuals()["time_s"]), "post-fit": run.result.residuals_s}
    plot_model_residuals(run.model, panels, png, noise=run.noise, title=title or "")
