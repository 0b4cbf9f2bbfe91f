"""Spin-down phase, exact to well under a nanosecond in float64.

Phase at emission time t = TDB - delays is the Taylor series
``phi = sum_k F_k dt^(k+1) / (k+1)!`` with ``dt = t - PEPOCH``.  A 700 Hz pulsar
accumulates ~1e12 turns over 30 years, so float64 (1e-16) alone would leave
~1e-4 turns of error.  The phase is therefore split:

- ``dt = dt0 + delta``: ``dt0 = TDB - PEPOCH`` is fixed data; ``delta = -delays``
  is small (< ~1000 s) and depends on the parameters;
- ``F_k = F_k,ref + dF_k``: the .par values are the reference, the fit moves
  the small offsets ``dF_k``.

The reference phase ``sum F_k,ref dt0^(k+1)/(k+1)!`` is computed once, on the host,
in exact decimal arithmetic from the exact TOA and .par values; only its
fractional part is kept.  Everything parameter-dependent is then a small
number computed in float64 inside JAX::

    phi - phi_ref = sum_k [ F_k ((dt0 + delta)^(k+1) - dt0^(k+1)) + dF_k dt0^(k+1) ] / (k+1)!

with the difference of powers expanded as ``delta * sum_j (dt0+delta)^j dt0^(k-j)``
so nothing large cancels.  Absolute errors: F0*delta ~ 1e5 turns at 1e-16, i.e.
~1e-11 turns; the host part is exact to 1e-25 turns.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from math import factorial

import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.timescales.mjd import SECONDS_PER_DAY, SplitMJD

enable_x64()


def seconds_since_epoch(t: SplitMJD, epoch: Decimal) -> np.ndarray:
    """``t - epoch`` in seconds (float64), formed from the split times without large cancellations."""
    day = int(epoch)
    frac = float(epoch - day)
    frac_lo = float(epoch - day - Decimal(frac))
    return ((t.day - day) + (t.frac - frac) - frac_lo) * SECONDS_PER_DAY


def reference_phase(t: SplitMJD, pepoch: Decimal, f_ref: list[Decimal]) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``sum F_k dt^(k+1)/(k+1)!`` at ``t``: (integer turns as float64, fraction in [-0.5, 0.5))."""
    with localcontext() as ctx:
        ctx.prec = 50
        pe_day = int(pepoch)
        pe_frac = pepoch - pe_day
        day_s = Decimal(int(SECONDS_PER_DAY))
        coeffs = [f / factorial(k + 1) for k, f in enumerate(f_ref)]
        whole, frac = np.empty(len(t)), np.empty(len(t))
        for i, (d, fr) in enumerate(zip(t.day.tolist(), t.frac.tolist())):
            dt = ((d - pe_day) + (Decimal(fr) - pe_frac)) * day_s
            phase = Decimal(0)
            for c in reversed(coeffs):  # Horner: ((c_n dt + c_{n-1}) dt + ...) dt
                phase = (phase + c) * dt
            n = phase.to_integral_value()
            whole[i], frac[i] = float(n), float(phase - n)
    return whole, frac


def phase_offset(dt0_s, delta_s, f_ref, df):
    """``phi - phi_ref`` (turns) for reference frequencies ``f_ref`` and offsets ``df`` (same length).

    ``dt0_s``: TDB - PEPOCH (s); ``delta_s``: the change of emission time, minus the delays (s).
    """
    total = jnp.zeros_like(dt0_s)
    t = dt0_s + delta_s
    for k in range(len(f_ref)):
        # (t^(k+1) - dt0^(k+1)) = delta * sum_j t^j dt0^(k-j)
        diff = sum(t**j * dt0_s ** (k - j) for j in range(k + 1)) * delta_s
        total = total + ((f_ref[k] + df[k]) * diff + df[k] * dt0_s ** (k + 1)) / factorial(k + 1)
    return total

