"""Which TOAs a masked parameter (JUMP, EFAC, EQUAD, ECORR, ...) applies to.

Selectors as TEMPO2 and PINT write them: ``-flag value`` (the TOA carries that
flag with that value), ``MJD a b`` and ``FREQ a b`` (inclusive ranges on the TOA's
MJD as written and its frequency in MHz), ``TEL site`` (any code naming the same
observatory) and ``NAME x`` (the TOA's name in the .tim).
"""

from __future__ import annotations

import numpy as np

from jugbayes.geometry.sites import resolve_site
from jugbayes.io.tim import TOAs


def toa_mask(selector: tuple[str, ...], toas: TOAs) -> np.ndarray:
    """Boolean mask of the TOAs ``selector`` picks."""
    key, *values = selector
    if key.startswith("-"):
        flag = key[1:]
        return np.array([f.get(flag) == values[0] for f in toas.flags], dtype=bool)
    if key in ("MJD", "FREQ"):
        lo, hi = sorted(float(v) for v in values)
        x = toas.mjd if key == "MJD" else toas.freq_mhz
        return (x >= lo) & (x <= hi)
    if key == "TEL":
        try:
            site = resolve_site(values[0])
        except KeyError:
            return np.zeros(len(toas), dtype=bool)
        return np.asarray(toas.obs) == site
    if key == "NAME":
        return np.asarray(toas.names) == values[0]
    raise ValueError(f"unknown selector {key!r}")
