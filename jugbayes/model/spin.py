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

Pulse numbering.  By default each residual is taken to the nearest pulse.  A ``.tim`` whose every
TOA has a ``-pn`` flag (absolute pulse number) is instead tracked on those numbers, as PINT does
by default (``track_mode=None``); ``TRACK 0`` in the .par turns that off and ``TRACK -2`` (TEMPO2's
switch, which TEMPO2 needs before it reads ``-pn``) demands them on every TOA.  If only some TOAs
have ``-pn`` the numbers are ignored with a warning (PINT does the same).  The numbers count from
an arbitrary origin: PINT counts from the TZR TOA, TEMPO2 from the first TOA.  jugbayes takes
them as relative, removing the whole number of turns that brings the first TOA's residual within
half a turn, so both conventions give the same residuals (identical to PINT's whenever PINT's own
first residual is within half a turn).  ``PHASE`` commands and ``-padd`` flags add their turns to
the model phase of the TOAs they cover (PINT's ``delta_pulse_number``) in either mode.
"""

from __future__ import annotations

import warnings
from decimal import Decimal, InvalidOperation, localcontext
from math import factorial

import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.errors import InputError
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



class PulseNumberWarning(UserWarning):
    """Some TOAs have ``-pn`` pulse numbers and some do not: the numbers are not used."""


def phase_adjustments(toas) -> np.ndarray:
    """Turns added to each TOA's model phase by ``PHASE`` commands (flag ``phase``) and ``-padd`` flags."""
    out = np.zeros(len(toas))
    for i, flags in enumerate(toas.flags):
        for key in ("phase", "padd"):
            if key in flags:
                try:
                    out[i] += float(flags[key])
                except ValueError:
                    raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]),
                                     f"-{key} {flags[key]!r} is not a number of turns") from None
    return out


def pulse_numbers(par, toas) -> np.ndarray | None:
    """The TOAs' ``-pn`` pulse numbers when residuals should be tracked on them, else ``None``.

    See the module notes for the rule (PINT's default, ``TRACK 0`` / ``TRACK -2``).  Raises
    :class:`InputError` for ``TRACK -2`` with TOAs lacking ``-pn``, or a ``-pn`` that is not an integer.
    """
    track_p = par.get("TRACK")
    track = track_p.value.strip() if track_p is not None else None
    if track == "0":
        return None
    missing = [i for i, flags in enumerate(toas.flags) if "pn" not in flags]
    if track == "-2" and missing:
        raise InputError(par.path, track_p.line, f"TRACK -2 tracks pulse numbers, but {len(missing)} of {len(toas)} "
                                                 f"TOAs have no -pn flag (first: {toas.where(missing[0])})")
    if len(missing) == len(toas):
        return None
    if missing:
        warnings.warn(f"{len(toas) - len(missing)} of {len(toas)} TOAs have -pn pulse numbers but "
                      f"{toas.where(missing[0])} and {len(missing) - 1} more do not: pulse numbers not used, "
                      "residuals taken to the nearest pulse (as PINT)", PulseNumberWarning, stacklevel=3)
        return None
    out = np.empty(len(toas))
    for i, flags in enumerate(toas.flags):
        try:
            value = Decimal(flags["pn"])
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value != value.to_integral_value():
            raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]),
                             f"-pn {flags['pn']!r} is not a whole pulse number")
        out[i] = float(value)
    return out


def pulse_number_offsets(pulse_numbers_: np.ndarray, whole_turns: np.ndarray) -> np.ndarray:
    """``k_i - k_0`` with ``k_i = pn_i - (N_i - N_TZR)``, N the whole turns of :func:`reference_phase` (rows:
    TOAs, then TZR): the turns to take from each TOA's phase relative to TZR, counted from the first TOA's.

    Whatever origin the numbers count from cancels in the difference, which is small (a few turns for a
    model near the data) and exact in float64 while |pn| < 2^53; the residual function subtracts it, then
    the whole turns nearest the first TOA's phase.
    """
    k = pulse_numbers_ - (whole_turns[:-1] - whole_turns[-1])
    return k - k[0]
