"""Simulated TOAs: zero residual under a .par, then noise drawn from its noise model.

Each TOA of a template .tim keeps its site, frequency, error and flags; its time is moved until the
model's residual is below ``tol_s`` (each pass subtracts the residual: the model's phase changes by
residual x spin frequency, so a few passes reach 1e-12 s).  Then white noise (TOA errors scaled by
EFAC/EQUAD), ECORR jitter and power-law red noise are drawn with a seeded generator: same seed, same
file.  Times are written with 16 decimals of a day (~10 ps).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.io.par import ParFile
from jugbayes.io.tim import TOAs
from jugbayes.timescales.mjd import SplitMJD


def _with_times(toas: TOAs, t: SplitMJD) -> TOAs:
    text = t.to_strings()
    return dataclasses.replace(toas, mjd_text=text, mjd_int=t.day.copy(), mjd_frac=t.frac.copy())


def zero_residual_toas(par: ParFile, toas: TOAs, *, tol_s: float = 1e-11, max_iter: int = 8, **prepare_kw) -> TOAs:
    """``toas`` moved in time so that ``par`` predicts each exactly (|residual| < ``tol_s``)."""
    from jugbayes.model.timing_model import build_model

    t = SplitMJD(np.asarray(toas.mjd_int), np.asarray(toas.mjd_frac))
    for _ in range(max_iter):
        current = _with_times(toas, t)
        resid = np.asarray(build_model(par, current, **prepare_kw).residuals()["time_s"])
        if np.abs(resid).max() < tol_s:
            return current
        t = t.add_seconds(-resid)
    raise JugbayesError(f"simulation did not converge: residuals still up to {np.abs(resid).max():.3g} s")


def noise_realisation_s(par: ParFile, toas: TOAs, seed: int, **prepare_kw) -> np.ndarray:
    """One draw (s) of white noise, ECORR and red noise from ``par``'s noise model at ``toas``."""
    from jugbayes.model.noise import noise_for_model, scaled_sigma_s
    from jugbayes.model.timing_model import build_model

    model = build_model(par, toas, **prepare_kw)
    noise = noise_for_model(model)
    rng = np.random.default_rng(seed)
    sigma = np.asarray(scaled_sigma_s(np.asarray(toas.error_us) * 1e-6, noise.equad_mask, noise.equad_s,
                                      noise.efac_mask, noise.efac))
    out = rng.standard_normal(len(toas)) * sigma
    if noise.correlated:
        out += noise.basis() @ (rng.standard_normal(noise.basis().shape[1]) * np.sqrt(noise.weights_s2()))
    return out


def simulate(par: ParFile, template: TOAs, *, seed: int = 0, noise: bool = True, **prepare_kw) -> TOAs:
    """TOAs at the template's sites, frequencies and errors that ``par`` fits exactly, plus noise."""
    exact = zero_residual_toas(par, template, **prepare_kw)
    if not noise:
        return exact
    delta = noise_realisation_s(par, exact, seed, **prepare_kw)
    t = SplitMJD(exact.mjd_int, exact.mjd_frac).add_seconds(delta)
    return _with_times(exact, t)
