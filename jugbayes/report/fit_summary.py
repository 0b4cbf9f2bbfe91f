"""The JSON summary of a WLS/GLS fit (``jugbayes fit --summary``, ``jugbayes pta``'s fit.json)."""

from __future__ import annotations

import numpy as np


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
        "n_wideband_dm": 0 if result.dm_residuals_pc_cm3 is None else len(result.dm_residuals_pc_cm3),
        "quadratic_check": {"about": "delta chi2 at -1 and +1 sigma along each nonlinear parameter's profile "
                                     "direction (1 for a quadratic chi2)",
                            "params": {par_factor(model, n)[0]: list(v) for n, v in result.quadratic_check.items()}},
        "covariance": {"params": names, "units": [model.units.get(n, "turns") for n in names],
                       "matrix": np.asarray(result.covariance).tolist()},
    }
