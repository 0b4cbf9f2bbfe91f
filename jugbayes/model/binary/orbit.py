"""Orbital phase shared by the binary models, and reading binary parameters from a ``.par``.

The orbit is given either by the period and its derivative (``PB``, ``PBDOT``) or by the orbital
frequency and its derivatives (``FB0``, ``FB1``, ...), never both.  With ``dt`` the time since the
model's epoch (TASC or T0) in seconds:

* PB form:  ``orbits = x - PBDOT x**2 / 2`` with ``x = dt / PB``; the instantaneous period is
  ``PB + PBDOT dt``.
* FB form:  ``orbits = sum_k FBk dt**(k+1) / (k+1)!``; the instantaneous period is
  ``1 / sum_k FBk dt**k / k!``.

These are the forms PINT (``binary_orbits.OrbitPB`` / ``OrbitFBX``) and TEMPO2 use.  XPBDOT is
not read: PINT's DD and ELL1 components have no such parameter and TEMPO2's ELL1 sets it to 0.  The mean
anomaly (ELL1's Phi, DD's M) is ``2 pi frac(orbits)``: the whole orbits are removed before
multiplying by 2 pi, so the phase keeps float64's resolution of ``orbits`` itself
(~1e-16 * orbits: 5e-13 of an orbit at 4000 orbits, a delay error of ~3e-12 * A1).

Units in the value dicts (``v``) are SI-like: seconds, radians, dimensionless ratios; see
:mod:`jugbayes.model.binary.ell1` and :mod:`jugbayes.model.binary.dd` for the full tables.
"""

from __future__ import annotations

import math
import re
from math import factorial

import jax
import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.constants import JULIAN_YEAR_D, SECONDS_PER_DAY
from jugbayes.errors import InputError

enable_x64()

TWO_PI = 2.0 * math.pi
DEG_TO_RAD = math.pi / 180.0
JULIAN_YEAR_S = JULIAN_YEAR_D * SECONDS_PER_DAY
# TEMPO's convention, which TEMPO2 and PINT follow: PBDOT, A1DOT (XDOT) and EDOT written with
# |value| > 1e-7 are in units of 1e-12.
SCALE_THRESHOLD = 1e-7
SCALE_FACTOR = 1e-12

_FB_RE = re.compile(r"^FB(\d+)$")
_WAVE_C_RE = re.compile(r"^ORBWAVEC(\d+)$")
_WAVE_RE = re.compile(r"^ORBWAVE([CS])(\d+)$")


# ------------------------------------------------------------------ JAX: orbital phase


def fb_keys(v) -> list[str]:
    """The ``FBk`` keys of ``v`` in order of k (empty for the PB form)."""
    found = sorted((int(m.group(1)), k) for k in v if (m := _FB_RE.match(k)))
    return [k for _, k in found]


def orbits_and_period(dt_s, v):
    """(orbits since the epoch, instantaneous orbital period in s) at ``dt_s`` seconds from the epoch."""
    fbs = fb_keys(v)
    if fbs:
        # Horner forms of sum_k FBk t^(k+1)/(k+1)! and its derivative sum_k FBk t^k/k!.
        n = len(fbs)
        orb = jnp.zeros_like(dt_s)
        freq = jnp.zeros_like(dt_s)
        for k in range(n - 1, -1, -1):
            orb = (orb + v[fbs[k]] / factorial(k + 1)) * dt_s
            freq = freq * dt_s + v[fbs[k]] / factorial(k)
    elif "ORBWAVE_OM" in v:  # PINT's OrbitWaves: no PBDOT term, the waves carry the period's changes
        orb, freq = dt_s / v["PB"], 1.0 / v["PB"]
    else:
        x = dt_s / v["PB"]
        return x - 0.5 * v["PBDOT"] * x * x, v["PB"] + v["PBDOT"] * dt_s
    if "ORBWAVE_OM" in v:
        d_orb, d_freq = orbit_waves(dt_s + v["ORBWAVE_TW0_S"], v)
        orb, freq = orb + d_orb, freq + d_freq
    return orb, 1.0 / freq


def wave_keys(v) -> list[tuple[str, str]]:
    """The (``ORBWAVECk``, ``ORBWAVESk``) key pairs of ``v`` in order of k."""
    return [(f"ORBWAVEC{k}", f"ORBWAVES{k}") for k in range(sum(1 for key in v if _WAVE_C_RE.match(key)))]


def orbit_waves(tw_s, v):
    """PINT's ORBWAVE series at ``tw_s`` seconds from ORBWAVE_EPOCH: (extra orbits, their rate in 1/s),
    sum_k ORBWAVECk cos((k+1) OM tw) + ORBWAVESk sin((k+1) OM tw), OM = ORBWAVE_OM in rad/s."""
    orb = jnp.zeros_like(tw_s)
    rate = jnp.zeros_like(tw_s)
    for k, (c, s) in enumerate(wave_keys(v)):
        om = (k + 1) * v["ORBWAVE_OM"]
        sin, cos = jnp.sin(om * tw_s), jnp.cos(om * tw_s)
        orb = orb + v[c] * cos + v[s] * sin
        rate = rate + om * (v[s] * cos - v[c] * sin)
    return orb, rate


def mean_anomaly(orbits):
    """(2 pi frac(orbits) in [0, 2 pi), floor(orbits)): the phase with the whole orbits removed first."""
    whole = jnp.floor(orbits)
    return TWO_PI * (orbits - whole), whole


# ------------------------------------------------------------------ JAX: Kepler's equation


def _markley_start(m, e):
    """Markley's (1995, Celest. Mech. 63, 101) starter for u - e sin u = m, m in [0, pi]: a cubic's root."""
    pi = math.pi
    alpha = (3.0 * pi * pi + 1.6 * pi * (pi - m) / (1.0 + e)) / (pi * pi - 6.0)
    d = 3.0 * (1.0 - e) + alpha * e
    q = 2.0 * alpha * d * (1.0 - e) - m * m
    r = 3.0 * alpha * d * (d - 1.0 + e) * m + m * m * m
    w = jnp.cbrt(jnp.abs(r) + jnp.sqrt(q * q * q + r * r)) ** 2
    return (2.0 * r * w / (w * w + w * q + q * q) + m) / d


def _markley_correction(u1, s1, c1, m, e):
    """Markley's fifth-order correction of the starter u1 (with s1, c1 = sin, cos u1): |step| < 5e-4 rad."""
    f0 = u1 - e * s1 - m
    f1 = 1.0 - e * c1
    f2 = e * s1
    f3 = 1.0 - f1
    d3 = -f0 / (f1 - 0.5 * f0 * f2 / f1)
    d4 = -f0 / (f1 + 0.5 * d3 * f2 + d3 * d3 * f3 / 6.0)
    return -f0 / (f1 + 0.5 * d4 * f2 + d4 * d4 * f3 / 6.0 - d4 * d4 * d4 * f2 / 24.0)


def _rotate(s, c, d):
    """(sin, cos) of x + d from those of x, for |d| < 1e-3 rad (Taylor terms to d^5: error < 1e-22)."""
    d2 = d * d
    sd = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0))
    cd = 1.0 - 0.5 * d2 * (1.0 - d2 / 12.0)
    return s * cd + c * sd, c * cd - s * sd


def kepler(mean, ecc):
    """(u, sin u, cos u) with u - e sin u = M, for M in [0, 2 pi] (u in the same range) and |e| < 1.

    Markley's non-iterative solution (a cubic starter, then a fifth-order correction) reaches the
    float64 resolution of u for every e < 0.99 (a few ulp up to 0.999) with only one sin and one cos; a
    Newton step at that point then carries the derivative: du = (dM + sin u de) / (1 - e cos u), the
    implicit-function derivative.  Costs two sin/cos evaluations per TOA where ten fixed Newton steps cost
    twenty; XLA's float64 sin/cos are the expensive operations of a binary delay.
    """
    m_all = jax.lax.stop_gradient(mean)
    e0 = jax.lax.stop_gradient(ecc)
    flip = m_all > math.pi  # solve on [0, pi]: u(2 pi - M) = 2 pi - u(M)
    m = jnp.where(flip, TWO_PI - m_all, m_all)
    u1 = _markley_start(m, e0)
    s1, c1 = jnp.sin(u1), jnp.cos(u1)
    d5 = _markley_correction(u1, s1, c1, m, e0)
    s0, c0 = _rotate(s1, c1, d5)
    u0 = jnp.where(flip, TWO_PI - (u1 + d5), u1 + d5)
    s0 = jnp.where(flip, -s0, s0)
    u0, s0, c0 = jax.lax.stop_gradient((u0, s0, c0))
    # One Newton step, differentiable in M and e; its change is ~1e-16 rad, so first order suffices for sin/cos.
    du = -(u0 - ecc * s0 - mean) / (1.0 - ecc * c0)
    return u0 + du, s0 + c0 * du, c0 - s0 * du


# ------------------------------------------------------------------ reading a .par


def fail(par, name: str | None, problem: str):
    """An :class:`InputError` pointing at parameter ``name``'s line (or the whole file)."""
    p = par.get(name) if name else None
    return InputError(par.path, p.line if p is not None else None, problem)


def value(par, name: str, default: float | None = 0.0) -> float | None:
    """A parameter's float64 value, or ``default`` when the .par does not set it."""
    p = par.get(name)
    return default if p is None else p.as_float()


def tempo_scaled(par, name: str) -> float:
    """PBDOT/A1DOT/EDOT-style value: |value| > 1e-7 means units of 1e-12 (TEMPO, TEMPO2, PINT)."""
    return tempo_factor(par, name) * value(par, name)


def orbit_values_from_par(par) -> dict[str, float]:
    """``PB`` [s], ``PBDOT`` [s/s] or ``FB0..FBn`` [s^-(k+1)], checked as PINT checks them."""
    fb = {}
    for name, p in par.params.items():
        m = _FB_RE.match(name)
        if m:
            fb[int(m.group(1))] = p
    has_pb = par.get("PB") is not None
    if has_pb and fb:
        raise fail(par, "FB0" if 0 in fb else "PB", "the .par gives both PB and FB0..FBn; use one of them")
    if fb:
        if set(fb) != set(range(len(fb))):
            missing = min(set(range(max(fb) + 1)) - set(fb))
            raise fail(par, f"FB{max(fb)}", f"FB{missing} is missing: FB0..FBn must be given without gaps")
        if not fb[0].as_float() > 0:
            raise fail(par, "FB0", f"FB0 must be positive, got {fb[0].value}")
        if par.get("PBDOT") is not None and value(par, "PBDOT") != 0.0:
            raise fail(par, "PBDOT", "PBDOT cannot be used with FB0..FBn (use FB1)")
        return {f"FB{k}": fb[k].as_float() for k in range(len(fb))} | _orbwave_values(par)
    if not has_pb:
        raise fail(par, None, "binary model needs PB (or FB0)")
    pb_d = value(par, "PB")
    if not pb_d > 0:
        raise fail(par, "PB", f"PB must be positive, got {par['PB'].value}")
    waves = _orbwave_values(par)
    if waves:
        if value(par, "PBDOT") != 0.0:
            raise fail(par, "PBDOT", "PBDOT cannot be used with ORBWAVE terms (PINT's OrbitWaves has none)")
        return {"PB": pb_d * SECONDS_PER_DAY} | waves
    return {"PB": pb_d * SECONDS_PER_DAY, "PBDOT": tempo_scaled(par, "PBDOT")}


def _orbwave_values(par) -> dict[str, float]:
    """``ORBWAVE_OM`` [rad/s] and ``ORBWAVECk``/``ORBWAVESk``, checked as PINT checks them ({} without)."""
    found = {(m.group(1), int(m.group(2))): p for name, p in par.params.items() if (m := _WAVE_RE.match(name))}
    if not found and par.get("ORBWAVE_OM") is None:
        return {}
    ks = {k for _, k in found}
    if not found or {("C", k) for k in ks} | {("S", k) for k in ks} != set(found) or ks != set(range(len(ks))):
        raise fail(par, "ORBWAVE_OM", "ORBWAVE terms need ORBWAVECk and ORBWAVESk pairs for k = 0, 1, ... n "
                                      "without gaps")
    for name in ("ORBWAVE_OM", "ORBWAVE_EPOCH"):
        if par.get(name) is None:
            raise fail(par, None, f"ORBWAVE terms need {name}")
    return {"ORBWAVE_OM": value(par, "ORBWAVE_OM")} | {f"ORBWAVE{cs}{k}": p.as_float() for (cs, k), p in found.items()}


def orbit_table(par) -> list[tuple[str, str, float]]:
    """(key, .par name, factor) rows of the orbit's parameters: v[key] = factor * .par value."""
    fbs = sorted(int(m.group(1)) for name in par.params if (m := _FB_RE.match(name)))
    waves = [(name, name, 1.0) for name in _orbwave_values(par)]
    if fbs:
        return [(f"FB{k}", f"FB{k}", 1.0) for k in fbs] + waves
    if waves:
        return [("PB", "PB", SECONDS_PER_DAY)] + waves
    return [("PB", "PB", SECONDS_PER_DAY), ("PBDOT", "PBDOT", tempo_factor(par, "PBDOT"))]


def tempo_factor(par, name: str) -> float:
    """1e-12 where the TEMPO convention reads ``name``'s value in units of 1e-12, else 1."""
    return SCALE_FACTOR if abs(value(par, name)) > SCALE_THRESHOLD else 1.0


_UNSUPPORTED = {
    "A1DOT2": "A1DOT2 (second derivative of A1) is not supported",
    "X2DOT": "X2DOT (second derivative of A1) is not supported",
    "FB": "write the orbital frequency as FB0, not FB",
}


def check_unsupported(par) -> None:
    """Refuse binary parameters the models here would otherwise silently ignore."""
    for p in par.unused:
        name = p.name.upper()
        if name in _UNSUPPORTED:
            raise InputError(par.path, p.line, _UNSUPPORTED[name])


def require(par, name: str, model: str) -> None:
    if par.get(name) is None:
        raise fail(par, None, f"BINARY {model} needs {name}")


def as_jax(values: dict[str, float]) -> dict:
    """The dict with every value a float64 JAX scalar."""
    return {k: jnp.asarray(x, dtype=jnp.float64) for k, x in values.items()}
