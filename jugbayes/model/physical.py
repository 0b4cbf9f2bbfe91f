"""Physical ranges of .par values, checked where a timing model is built.

The reader already refuses non-finite numbers; here the values that are finite but cannot describe a
pulsar are refused, each as ``FILE:LINE: problem``: F0 <= 0, EFAC/DMEFAC <= 0, EQUAD/ECORR/DMEQUAD < 0,
TZRFRQ < 0.  (PX, F1 and the like may be negative: a measurement can be.)  Spin terms must keep the
phase over the TOAs below ``MAX_PHASE_TURNS``, where its fraction of a turn is still computable.
"""

from __future__ import annotations

import math

from math import factorial

import numpy as np

from jugbayes.errors import InputError
from jugbayes.io.par import ParFile

MAX_PHASE_TURNS = 1e15  # a 1 kHz pulsar over 30 years: 1e12 turns
_POSITIVE = {"F0": "the spin frequency", "EFAC": "a TOA-error scale factor", "DMEFAC": "a DM-error scale factor"}
_NON_NEGATIVE = {"EQUAD": "an added white-noise level", "ECORR": "a jitter (correlated white-noise) level",
                 "DMEQUAD": "an added DM-error level", "TZRFRQ": "a frequency (0 or inf: infinite)"}


def check_physical(par: ParFile) -> None:
    """Raise ``InputError`` at the first parameter whose value no pulsar can have."""
    for p in par.params.values():
        family = p.spec.name  # masked parameters keep their family name in the spec (EFAC for EFAC3)
        if family in _POSITIVE and not p.as_float() > 0:
            raise InputError(par.path, p.line, f"{p.written_name} {p.value}: must be positive ({_POSITIVE[family]})")
        if family in _NON_NEGATIVE and not p.as_float() >= 0:
            raise InputError(par.path, p.line,
                             f"{p.written_name} {p.value}: must not be negative ({_NON_NEGATIVE[family]})")
        if family == "TZRFRQ" and math.isinf(p.as_float()) and p.value.strip().lstrip("+").lower() not in (
                "inf", "infinity"):
            raise InputError(par.path, p.line, f"TZRFRQ {p.value[:40]}: overflows a float, not a frequency "
                                               "(write 0 or inf for an infinite frequency)")


def check_spin_phase(par: ParFile, f_ref, dt_pepoch_s: np.ndarray) -> None:
    """Raise ``InputError`` at the first spin term ``F_k dt^(k+1)/(k+1)!`` above ``MAX_PHASE_TURNS`` turns."""
    dt_max_s = float(np.max(np.abs(dt_pepoch_s)))
    for k, f in enumerate(f_ref):
        turns = abs(float(f)) * dt_max_s ** (k + 1) / factorial(k + 1)
        if not turns <= MAX_PHASE_TURNS:
            p = par.get(f"F{k}")
            raise InputError(par.path, p.line if p else None,
                             f"F{k} {p.value if p else f}: the spin phase over these TOAs reaches {turns:.3g} turns; "
                             f"above {MAX_PHASE_TURNS:.0e} its fraction of a turn cannot be computed (no pulsar spins "
                             "so fast): check the value and its unit")


def check_finite_residuals(toas, residuals_s) -> None:
    """Raise ``InputError`` at the first TOA whose residual is not finite (the model overflowed there)."""
    bad = np.flatnonzero(~np.isfinite(np.asarray(residuals_s)))
    if bad.size:
        i = int(bad[0])
        raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]),
                         f"the model's residual is not finite at this TOA ({bad.size} TOAs in all): "
                         "check the .par's values")
