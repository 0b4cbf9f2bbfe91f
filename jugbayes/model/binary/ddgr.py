"""DDGR: the DD delay with every post-Keplerian parameter derived from the masses under general relativity.

``ddgr_delay_s(dt_s, v)`` is a pure ``jax.numpy`` function of ``dt_s`` (seconds from T0, as for
:func:`.dd.dd_delay_s`) and of ``v``, a dict of float64 scalars:

=========== ================ ==================================================================
key         unit             from the .par
=========== ================ ==================================================================
PB          s                PB [d] * 86400 (the FB form is not allowed: the masses need PB)
XPBDOT      s/s              XPBDOT, excess over GR's PBDOT; |value| > 1e-7 means 1e-12 units
A1          s (light-s)      A1
A1DOT       s/s              A1DOT or XDOT; |value| > 1e-7 means 1e-12 units
ECC         1                ECC (or E)
EDOT        1/s              EDOT; |value| > 1e-7 means 1e-12 units
OM          rad              OM [deg]
XOMDOT      rad/s            XOMDOT [deg per Julian year], excess over GR's periastron advance
MTOT        Msun             MTOT: total mass
M2          Msun             M2: companion mass
A0, B0      s                A0, B0 (aberration)
=========== ================ ==================================================================

The masses give (Taylor & Weisberg 1989, eqs. 15-25; TEMPO's ``mass2dd``; PINT's ``DDGRmodel``),
with T = G Msun / c^3, m1 = MTOT - M2, n = 2 pi / PB, e = ECC + EDOT t and a1 = A1 + A1DOT t:

    a0    = (T MTOT / n^2)^(1/3)                                       (light-s, Newtonian)
    a     = a0 (1 + (m1 m2 / MTOT^2 - 9) T MTOT / (2 a))^(2/3)         (relativistic; iterated)
    SINI  = a1 / (a m2 / MTOT)
    GAMMA = e T m2 (m1 + 2 m2) / (n a0 MTOT)
    PBDOT = -(192 pi / 5) (T n)^(5/3) m1 m2 MTOT^(-1/3) fe,  fe = (1 + 73/24 e^2 + 37/96 e^4) (1 - e^2)^(-7/2)
    k     = 3 T MTOT / (a0 (1 - e^2))                                  (periastron advance per radian)
    DR    = T (3 m1^2 + 6 m1 m2 + 2 m2^2) / (MTOT a)
    DTH   = T (3.5 m1^2 + 6 m1 m2 + 2 m2^2) / (MTOT a)

and then the DD delay (:func:`.dd.dd_delay_with`) with omega = OM + (k + XOMDOT / n) Ae, the orbit
counted with PBDOT + XPBDOT, Shapiro mass T M2 and that SINI.  As in PINT, e and a1 are the
time-dependent ones wherever they enter (so EDOT makes GAMMA, k, PBDOT, DR, DTH vary in time).
One difference from PINT, far below a nanosecond: PINT's instantaneous period PB + PBDOT t
(used only in the DD inverse-delay factor) leaves XPBDOT out; here it is in (the relative change
is XPBDOT t / PB ~ 1e-9, ~1e-11 s of delay).  The relativistic semi-major axis takes
:data:`KEPLER_ITERATIONS` fixed-point steps (each shrinks the error by ~T MTOT / a < 1e-5), so
the delay is differentiable in MTOT and M2 with no loop on values.  T is TEMPO's and PINT's
value (:data:`T_SUN_S`), not the IAU 2015 nominal one the other models use.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.constants import C_M_S
from jugbayes.model.binary import dd, orbit

enable_x64()

EPOCH = "T0"
MODELS = ("DDGR",)
KEPLER_ITERATIONS = 4
# G Msun / c^3 as TEMPO, TEMPO2 and PINT use it (GM 1.32712440018e20 m^3/s^2), so that masses fitted here are
# theirs: with the IAU 2015 nominal value of jugbayes.constants (1.4e-10 smaller) 0737A's GR periastron
# advance alone would move the delay by 0.2 ns over six years.
T_SUN_S = 1.32712440018e20 / C_M_S**3
# .par parameters GR replaces: given anyway they would be silently ignored, so they are refused.
_DERIVED = ("SINI", "PBDOT", "OMDOT", "GAMMA", "DR", "DTH")


def pk_parameters(v, ecc, a1):
    """GR's post-Keplerian values from the masses: dict with SINI, GAMMA [s], PBDOT [s/s], K (periastron
    advance per radian of true anomaly), DR, DTH; ``ecc`` and ``a1`` [light-s] may be arrays."""
    mtot, m2 = v["MTOT"], v["M2"]
    m1 = mtot - m2
    n = orbit.TWO_PI / v["PB"]
    tm = T_SUN_S * mtot  # G MTOT / c^3, s
    a0 = (tm / n**2) ** (1.0 / 3.0)
    a = a0
    for _ in range(KEPLER_ITERATIONS):
        a = a0 * (1.0 + (m1 * m2 / mtot**2 - 9.0) * tm / (2.0 * a)) ** (2.0 / 3.0)
    e2 = ecc * ecc
    fe = (1.0 + 73.0 / 24.0 * e2 + 37.0 / 96.0 * e2 * e2) * (1.0 - e2) ** -3.5
    per_a = T_SUN_S / (mtot * a)
    return {
        "SINI": a1 / (a * m2 / mtot),
        "GAMMA": ecc * T_SUN_S * m2 * (m1 + 2.0 * m2) / (n * a0 * mtot),
        "PBDOT": -192.0 * math.pi / 5.0 * (T_SUN_S * n) ** (5.0 / 3.0) * m1 * m2 * mtot ** (-1.0 / 3.0) * fe,
        "K": 3.0 * tm / (a0 * (1.0 - e2)),
        "DR": per_a * (3.0 * m1**2 + 6.0 * m1 * m2 + 2.0 * m2**2),
        "DTH": per_a * (3.5 * m1**2 + 6.0 * m1 * m2 + 2.0 * m2**2),
    }


def ddgr_delay_s(dt_s, v):
    """DDGR binary delay (s) at ``dt_s`` seconds after T0; ``v`` as in the module table."""
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    ecc = v["ECC"] + v.get("EDOT", 0.0) * dt_s
    a1 = v["A1"] + v.get("A1DOT", 0.0) * dt_s
    pk = pk_parameters(v, ecc, a1)
    pbdot = pk["PBDOT"] + v.get("XPBDOT", 0.0)
    # dd_delay_with advances omega by OMDOT Pb(t) / (2 pi) per radian of Ae, with Pb(t) = PB + PBDOT t:
    # give it the OMDOT that makes that (k + XOMDOT / n), GR's constant rate.
    pb_t = v["PB"] + pbdot * dt_s
    k = pk["K"] + v.get("XOMDOT", 0.0) * v["PB"] / orbit.TWO_PI
    dd_v = {"PB": v["PB"], "PBDOT": pbdot, "ECC": v["ECC"], "EDOT": v.get("EDOT", 0.0), "OM": v["OM"],
            "OMDOT": k * orbit.TWO_PI / pb_t, "GAMMA": pk["GAMMA"], "DR": pk["DR"], "DTH": pk["DTH"],
            "A0": v.get("A0", 0.0), "B0": v.get("B0", 0.0)}
    return dd.dd_delay_with(dt_s, dd_v, a1, 0.0, T_SUN_S * v["M2"], pk["SINI"])


# ------------------------------------------------------------------ from a .par

_DEG_PER_YR = orbit.DEG_TO_RAD / orbit.JULIAN_YEAR_S


def _table(par) -> list[tuple[str, str, float]]:
    """(key, .par name, factor): v[key] = factor * value of the .par parameter (0 when absent)."""
    return [
        ("PB", "PB", orbit.SECONDS_PER_DAY),
        ("XPBDOT", "XPBDOT", orbit.tempo_factor(par, "XPBDOT")),
        ("A1", "A1", 1.0),
        ("A1DOT", "A1DOT", orbit.tempo_factor(par, "A1DOT")),
        ("ECC", "ECC", 1.0),
        ("EDOT", "EDOT", orbit.tempo_factor(par, "EDOT")),
        ("OM", "OM", orbit.DEG_TO_RAD),
        ("XOMDOT", "XOMDOT", _DEG_PER_YR),
        ("MTOT", "MTOT", 1.0),
        ("M2", "M2", 1.0),
        ("A0", "A0", 1.0),
        ("B0", "B0", 1.0),
    ]


def par_factors(par) -> dict[str, tuple[str, float]]:
    """For each key of :func:`values_from_par`: (.par name, factor) with v = factor * .par value."""
    return {key: (name, factor) for key, name, factor in _table(par)}


def values_from_par(par) -> dict:
    """The ``v`` dict (float64 JAX scalars, units as in the module table) for a DDGR .par.

    Raises :class:`jugbayes.errors.InputError` for what the model cannot take: FB0..FBn instead
    of PB, a post-Keplerian parameter GR derives (SINI, PBDOT, OMDOT, GAMMA, DR, DTH), a
    missing or non-positive MTOT or M2, M2 >= MTOT, ECC outside [0, 1), or masses that give
    SINI > 1 (no inclination fits the orbit).
    """
    p = par.get("BINARY")
    if p is None or p.value.upper() != "DDGR":
        raise orbit.fail(par, "BINARY", f"DDGR delay asked for, but the .par has BINARY {p.value if p else None}")
    orbit.check_unsupported(par)
    for name in ("T0", "A1", "PB", "MTOT", "M2"):
        orbit.require(par, name, "DDGR")
    if orbit.fb_keys(par.params):
        raise orbit.fail(par, "FB0", "BINARY DDGR needs PB (the masses fix the orbit through it), not FB0..FBn")
    for name in _DERIVED:
        if par.get(name) is not None:
            raise orbit.fail(par, name, f"BINARY DDGR derives {name} from MTOT and M2 under GR; remove {name} "
                                        "(use XOMDOT/XPBDOT for excess OMDOT/PBDOT)")
    values = {key: factor * orbit.value(par, name) for key, name, factor in _table(par)}
    if not values["PB"] > 0:
        raise orbit.fail(par, "PB", f"PB must be positive, got {par['PB'].value}")
    if not 0.0 <= values["ECC"] < 1.0:
        raise orbit.fail(par, "ECC", f"ECC must lie in [0, 1), got {par['ECC'].value}")
    if not 0.0 < values["M2"] < values["MTOT"]:
        raise orbit.fail(par, "M2", f"DDGR needs 0 < M2 < MTOT, got M2 {par['M2'].value}, MTOT {par['MTOT'].value}")
    sini = float(pk_parameters(values, values["ECC"], values["A1"])["SINI"])
    if not sini <= 1.0:
        raise orbit.fail(par, "MTOT", f"MTOT {par['MTOT'].value} and M2 {par['M2'].value} give SINI = {sini:.6g} > 1 "
                                      "for this A1 and PB: no orbit inclination fits")
    return orbit.as_jax(values)
