"""Checks of a finished fit that say when it cannot be right, and what to try.

Three signs, each a :class:`FitQualityWarning` naming the likely cause: a reduced chi2 far above 1, post-fit
residuals piled near +-0.5 turn (the TOAs are not phase-connected), and one TOA carrying much of the chi2.
"""

from __future__ import annotations

import math

import numpy as np

REDUCED_CHI2_MIN = 3.0  # a reduced chi2 above this, and far outside its spread for the dof, earns a warning
WRAP_EDGE_TURNS = 0.4  # |phase residual| above this is near the +-0.5 turn wrap
WRAP_FRACTION = 0.15  # ... for more than this fraction of TOAs (0.2 if uniform over the turn; ~0 if connected)
DOMINANT_SHARE = 0.25  # one TOA with more than this share of chi2 ...
DOMINANT_SIGMA = 5.0  # ... and a whitened residual above this
MIN_TOAS_WEIGHT = 10  # one TOA's share of the total weight is judged from this many TOAs on


class FitQualityWarning(UserWarning):
    """The fit ended, but its result cannot describe the data."""


def fit_quality(result, toas, f0_hz: float) -> list[str]:
    """Messages for each sign of a fit that cannot be right (empty when none)."""
    found = (_reduced_chi2(result), _phase_wraps(result, f0_hz), _dominant_chi2(result, toas), _dominant_weight(toas))
    return [text for text in found if text]


def _reduced_chi2(result) -> str | None:
    if result.dof > 0 and result.reduced_chi2 > max(REDUCED_CHI2_MIN, 1 + 5 * math.sqrt(2 / result.dof)):
        return (f"reduced chi2 {result.reduced_chi2:.4g} is far above 1: the model does not describe these TOAs. "
                "Likely: starting values too far off (F0, F1, position), a missing component (binary, glitch, "
                "JUMP between backends), or TOA errors too small (EFAC/EQUAD); try fitting fewer parameters "
                "first (--fit F0,F1) or a shorter span")
    return None


def _phase_wraps(result, f0_hz: float) -> str | None:
    phase = np.abs(np.asarray(result.residuals_s) * f0_hz)
    near_edge = int(np.sum(phase > WRAP_EDGE_TURNS))
    if len(phase) >= 10 and near_edge > WRAP_FRACTION * len(phase):
        return (f"{near_edge} of {len(phase)} post-fit residuals lie within {0.5 - WRAP_EDGE_TURNS:.1f} turn of "
                "+-0.5 turn: the TOAs are not phase-connected (pulses miscounted between them). Try better "
                "starting F0/F1, fit a short span first and extend it, or give pulse numbers (-pn flags)")
    return None


def _dominant_chi2(result, toas) -> str | None:
    w2 = np.asarray(result.whitened, dtype=float) ** 2
    if len(w2) < 2 or not np.sum(w2) > 0:
        return None
    i = int(np.argmax(w2))
    share = float(w2[i] / np.sum(w2))
    if share > DOMINANT_SHARE and math.sqrt(w2[i]) > DOMINANT_SIGMA:
        return (f"one TOA ({toas.where(i)}) carries {100 * share:.0f}% of chi2 (residual "
                f"{math.sqrt(w2[i]):.3g} sigma): an outlier, an error bar too small, or a TOA needing a JUMP; check "
                "that line, or comment it out and fit again")
    return None


def _dominant_weight(toas) -> str | None:
    weight = 1.0 / np.asarray(toas.error_us, dtype=float) ** 2
    if len(weight) < MIN_TOAS_WEIGHT:
        return None
    i = int(np.argmax(weight))
    share = float(weight[i] / np.sum(weight))
    if share > DOMINANT_SHARE:
        return (f"one TOA ({toas.where(i)}, error {toas.error_us[i]:.3g} us against a median "
                f"{np.median(toas.error_us):.3g} us) carries {100 * share:.0f}% of the total weight: the fit follows "
                "that TOA alone; check its error bar, or comment it out and fit again")
    return None
