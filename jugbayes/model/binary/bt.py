"""BT: Blandford & Teukolsky's (1976) binary delay, as PINT's ``BTmodel`` computes it.

``bt_delay_s(dt_s, v)`` is a pure ``jax.numpy`` function of ``dt_s``, the seconds from T0 to the
time at which the binary is evaluated, and of ``v``, a dict of float64 scalars:

=========== ================ ==================================================================
key         unit             from the .par
=========== ================ ==================================================================
PB          s                PB [d] * 86400                          } one of the two
PBDOT       s/s              PBDOT; |value| > 1e-7 means 1e-12 units }
FB0..FBn    s^-(k+1)         FB0..FBn (orbital frequency and derivatives) }
A1          s (light-s)      A1
A1DOT       s/s              A1DOT or XDOT; |value| > 1e-7 means 1e-12 units
ECC         1                ECC (or E)
EDOT        1/s              EDOT; |value| > 1e-7 means 1e-12 units
OM          rad              OM [deg]
OMDOT       rad/s            OMDOT [deg per Julian year]
GAMMA       s                GAMMA (Einstein delay amplitude)
=========== ================ ==================================================================

Missing optional keys count as 0.  With the mean anomaly M = 2 pi frac(orbits) (:mod:`.orbit`),
e = ECC + EDOT t, u the eccentric anomaly (Kepler's equation, solved as in :mod:`.dd`),
omega = OM + OMDOT t (linear in time, unlike DD's OM + k Ae), a1 = A1 + A1DOT t and Pb(t) the
instantaneous period:

    L     = a1 sin omega (cos u - e) + (a1 sqrt(1 - e^2) cos omega + GAMMA) sin u
    R     = 1 - 2 pi a1 (sqrt(1 - e^2) cos omega cos u - sin omega sin u) / ((1 - e cos u) Pb(t))
    delay = L R

(B&T eq. 2.33 with the first-order inverse-delay factor R, as PINT and TEMPO2's BTmodel; no
Shapiro delay, so M2/SINI are not read).  Unlike DD, a zero ECC leaves OM as given.
"""

from __future__ import annotations

import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.model.binary import dd, orbit

enable_x64()

EPOCH = "T0"
MODELS = ("BT",)


def bt_delay_s(dt_s, v):
    """BT binary delay (s) at ``dt_s`` seconds after T0; ``v`` as in the module table."""
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    orbits, pb = orbit.orbits_and_period(dt_s, v)
    mean, _ = orbit.mean_anomaly(orbits)
    e = v.get("ECC", 0.0) + v.get("EDOT", 0.0) * dt_s
    u, su, cu = orbit.kepler(mean, e)
    omega = v.get("OM", 0.0) + v.get("OMDOT", 0.0) * dt_s
    so, co = jnp.sin(omega), jnp.cos(omega)
    a1 = v["A1"] + v.get("A1DOT", 0.0) * dt_s
    beta = a1 * jnp.sqrt(1.0 - e * e) * co
    roemer_einstein = a1 * so * (cu - e) + (beta + v.get("GAMMA", 0.0)) * su
    inverse = 1.0 - orbit.TWO_PI * (beta * cu - a1 * so * su) / ((1.0 - e * cu) * pb)
    return roemer_einstein * inverse


# ------------------------------------------------------------------ from a .par

_DEG_PER_YR = orbit.DEG_TO_RAD / orbit.JULIAN_YEAR_S


def _table(par) -> list[tuple[str, str, float]]:
    return orbit.orbit_table(par) + [
        ("A1", "A1", 1.0),
        ("A1DOT", "A1DOT", orbit.tempo_factor(par, "A1DOT")),
        ("ECC", "ECC", 1.0),
        ("EDOT", "EDOT", orbit.tempo_factor(par, "EDOT")),
        ("OM", "OM", orbit.DEG_TO_RAD),
        ("OMDOT", "OMDOT", _DEG_PER_YR),
        ("GAMMA", "GAMMA", 1.0),
    ]


def par_factors(par) -> dict[str, tuple[str, float]]:
    """For each key of :func:`values_from_par`: (.par name, factor) with v = factor * .par value."""
    return {key: (name, factor) for key, name, factor in _table(par)}


def values_from_par(par) -> dict:
    """The ``v`` dict (float64 JAX scalars, units as in the module table) for a BT .par.

    Refuses M2/SINI (BT has no Shapiro delay; PINT's BT has no such parameters), ECC outside
    [0, 1) and a negative A1.
    """
    dd._model(par, MODELS)
    orbit.check_unsupported(par)
    orbit.require(par, "T0", "BT")
    orbit.require(par, "A1", "BT")
    for name in ("M2", "SINI"):
        if par.get(name) is not None:
            raise orbit.fail(par, name, f"BINARY BT has no Shapiro delay: {name} would be ignored (use DD)")
    values = orbit.orbit_values_from_par(par)
    for key, name, factor in _table(par):
        if key not in values:
            values[key] = factor * orbit.value(par, name)
    if values["A1"] < 0:
        raise orbit.fail(par, "A1", f"A1 cannot be negative, got {par['A1'].value}")
    if not 0.0 <= values["ECC"] < 1.0:
        raise orbit.fail(par, "ECC", f"ECC must lie in [0, 1), got {par['ECC'].value}")
    return orbit.as_jax(values)
