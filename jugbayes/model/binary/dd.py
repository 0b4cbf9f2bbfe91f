"""DD, DDH and DDS: Damour & Deruelle's (1986) binary delay for eccentric orbits, as PINT computes it.

``dd_delay_s(dt_s, v)`` is a pure ``jax.numpy`` function of ``dt_s``, the seconds from T0 to the
time at which the binary is evaluated (the TDB arrival time minus every delay computed before the
binary), and of ``v``, a dict of float64 scalars:

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
M2          s                M2 [Msun] * T_SUN_S (G M2 / c^3)      } DD Shapiro
SINI        1                SINI                                  }
H3          s                H3                                    } DDH Shapiro: M2 = H3/stigma^3,
STIGMA      1                STIGMA                                }   SINI = 2 stigma/(1+stigma^2)
SHAPMAX     1                SHAPMAX (DDS, with M2)                  SINI = 1 - exp(-SHAPMAX)
A0, B0      s                A0, B0 (aberration)
DR, DTH     1                DR, DTH (relativistic orbit deformations)
=========== ================ ==================================================================

Missing optional keys count as 0; ``H3`` in ``v`` selects the DDH Shapiro form and ``SHAPMAX`` the
DDS one (a choice made by the keys, never by values, so the function traces once per model).
DDS is PINT's ``DDSmodel``: DD with sin i = 1 - exp(-SHAPMAX) (Kramer et al. 2006), which keeps
the fit well conditioned for sin i near 1; SHAPMAX must exceed -ln 2.  DDK (Kopeikin terms on
a1, omega and i) is :mod:`.ddk`, built on :func:`dd_delay_with`.

With the mean anomaly M = 2 pi frac(orbits) (:mod:`.orbit`), e = ECC + EDOT dt, the eccentric
anomaly u solving Kepler's equation u - e sin u = M, the true anomaly Ae counted from T0 (whole
orbits included), omega = OM + k Ae with k = OMDOT Pb(t) / (2 pi) (D&D eq. 25, as PINT),
a1 = A1 + A1DOT dt, alpha = a1 sin omega, beta = a1 sqrt(1 - (e(1+DTH))^2) cos omega:

    Dre   = alpha (cos u - e(1+DR)) + (beta + GAMMA) sin u     (Roemer + Einstein)
    Dre'  = -alpha sin u + (beta + GAMMA) cos u,  Dre'' = -alpha cos u - (beta + GAMMA) sin u
    n     = 2 pi / Pb(t) / (1 - e cos u)
    delay = Dre (1 - n Dre' + (n Dre')^2 + n^2 Dre Dre''/2 - e sin u/(1 - e cos u) n^2 Dre Dre'/2)
          - 2 M2 ln(1 - e cos u - SINI (sin omega (cos u - e) + sqrt(1 - e^2) cos omega sin u))
          + A0 (sin(omega + Ae) + e sin omega) + B0 (cos(omega + Ae) + e cos omega)

These are PINT's ``DDmodel`` terms (D&D eqs. 25-27, 46-52).  Kepler's equation is solved by
Markley's non-iterative method (:func:`.orbit.kepler`: float64 resolution for e < 0.99), with the
derivative taken through one Newton step at the solution, i.e. the implicit-function derivative
du = (dM + sin u de) / (1 - e cos u).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.constants import T_SUN_S
from jugbayes.model.binary import orbit

enable_x64()

EPOCH = "T0"
MODELS = ("DD", "DDH", "DDS")


# ------------------------------------------------------------------ delay (JAX)


def eccentric_anomaly(mean_anomaly, ecc):
    """u with u - e sin u = M, for M in [0, 2 pi) (then u in [0, 2 pi)) and |e| < 1 (:func:`.orbit.kepler`)."""
    return orbit.kepler(mean_anomaly, ecc)[0]


def true_anomaly_minus_u(sin_u, cos_u, ecc):
    """nu - u, continuous in u: 2 atan2(b sin u, 1 - b cos u) with b = e / (1 + sqrt(1 - e^2))."""
    b = ecc / (1.0 + jnp.sqrt(1.0 - ecc * ecc))
    return 2.0 * jnp.arctan2(b * sin_u, 1.0 - b * cos_u)


def shapiro_mass_sini(v):
    """(G M2 / c^3 in s, sin i) of the DD, DDH or DDS Shapiro delay; the keys of ``v`` pick the form."""
    if "H3" in v:
        sg = v["STIGMA"]
        return v["H3"] / sg**3, 2.0 * sg / (1.0 + sg * sg)
    if "SHAPMAX" in v:  # DDS: SHAPMAX = -ln(1 - sin i)
        return v.get("M2", 0.0), 1.0 - jnp.exp(-v["SHAPMAX"])
    return v.get("M2", 0.0), v.get("SINI", 0.0)


def dd_delay_s(dt_s, v):
    """DD/DDH/DDS binary delay (s) at ``dt_s`` seconds after T0; ``v`` as in the module table."""
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    tm2, sini = shapiro_mass_sini(v)
    return dd_delay_with(dt_s, v, v["A1"] + v.get("A1DOT", 0.0) * dt_s, 0.0, tm2, sini)


def dd_delay_with(dt_s, v, a1, d_omega, tm2, sini):
    """The DD delay with the projected semi-major axis ``a1`` (s), an extra periastron angle
    ``d_omega`` (rad, added to OM + k Ae), the Shapiro mass ``tm2`` (s) and ``sini`` given by the
    caller (scalars or arrays like ``dt_s``); the orbit, eccentricity, GAMMA, A0/B0, DR/DTH from ``v``.

    :func:`dd_delay_s` passes A1 + A1DOT dt, 0 and the .par's Shapiro parameters; DDK
    (:mod:`.ddk`) passes its Kopeikin-corrected a1, omega and sin i.
    """
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    orbits, pb = orbit.orbits_and_period(dt_s, v)
    mean, whole = orbit.mean_anomaly(orbits)
    e = v.get("ECC", 0.0) + v.get("EDOT", 0.0) * dt_s
    u, su, cu = orbit.kepler(mean, e)
    nu = u + true_anomaly_minus_u(su, cu, e)  # in [0, 2 pi) along with M
    ae = orbit.TWO_PI * whole + nu  # true anomaly since T0, whole orbits included
    omega = v.get("OM", 0.0) + v.get("OMDOT", 0.0) * pb / orbit.TWO_PI * ae + d_omega
    so, co = jnp.sin(omega), jnp.cos(omega)

    e_r = e * (1.0 + v.get("DR", 0.0))
    e_theta = e * (1.0 + v.get("DTH", 0.0))
    alpha = a1 * so
    beta_gamma = a1 * jnp.sqrt(1.0 - e_theta * e_theta) * co + v.get("GAMMA", 0.0)
    dre = alpha * (cu - e_r) + beta_gamma * su
    drep = -alpha * su + beta_gamma * cu
    drepp = -alpha * cu - beta_gamma * su
    one_m_ecu = 1.0 - e * cu
    nhat = orbit.TWO_PI / pb / one_m_ecu
    q = nhat * drep
    inverse = dre * (
        1.0 - q + q * q + 0.5 * nhat * nhat * dre * drepp - 0.5 * e * su / one_m_ecu * nhat * q * dre
    )

    shapiro = -2.0 * tm2 * jnp.log(one_m_ecu - sini * (so * (cu - e) + jnp.sqrt(1.0 - e * e) * co * su))

    # sin/cos(omega + Ae) need Ae only modulo 2 pi: nu, whose sin and cos follow from u's.
    sin_nu = jnp.sqrt(1.0 - e * e) * su / one_m_ecu
    cos_nu = (cu - e) / one_m_ecu
    aberration = v.get("A0", 0.0) * (so * cos_nu + co * sin_nu + e * so) + v.get("B0", 0.0) * (
        co * cos_nu - so * sin_nu + e * co
    )
    return inverse + shapiro + aberration


# ------------------------------------------------------------------ from a .par

_DEG_PER_YR = orbit.DEG_TO_RAD / orbit.JULIAN_YEAR_S

# The Shapiro parameters of each DD variant (key, .par name, factor); DDK's KIN/KOM are in .ddk.
_SHAPIRO_ROWS = {
    "DD": [("M2", "M2", T_SUN_S), ("SINI", "SINI", 1.0)],
    "DDH": [("H3", "H3", 1.0), ("STIGMA", "STIGMA", 1.0)],
    "DDS": [("M2", "M2", T_SUN_S), ("SHAPMAX", "SHAPMAX", 1.0)],
    "DDK": [("M2", "M2", T_SUN_S), ("KIN", "KIN", orbit.DEG_TO_RAD), ("KOM", "KOM", orbit.DEG_TO_RAD)],
}
# .par parameters a variant replaces: given anyway they would be silently ignored, so they are refused.
_REPLACED = {"DDS": {"SINI": "SHAPMAX"}, "DDK": {"SINI": "KIN"}}


def _model(par, models=MODELS) -> str:
    p = par.get("BINARY")
    model = p.value.upper() if p is not None else None
    if model not in models:
        raise orbit.fail(par, "BINARY", f"{'/'.join(models)} delay asked for, but the .par has BINARY {model}")
    return model


def _table(par, model: str) -> list[tuple[str, str, float]]:
    """(key, .par name, factor): v[key] = factor * value of the .par parameter (0 when absent)."""
    rows = orbit.orbit_table(par) + [
        ("A1", "A1", 1.0),
        ("A1DOT", "A1DOT", orbit.tempo_factor(par, "A1DOT")),
        ("ECC", "ECC", 1.0),
        ("EDOT", "EDOT", orbit.tempo_factor(par, "EDOT")),
        ("OM", "OM", orbit.DEG_TO_RAD),
        ("OMDOT", "OMDOT", _DEG_PER_YR),
        ("GAMMA", "GAMMA", 1.0),
    ]
    return rows + _SHAPIRO_ROWS[model] + [("A0", "A0", 1.0), ("B0", "B0", 1.0), ("DR", "DR", 1.0), ("DTH", "DTH", 1.0)]


def par_factors(par) -> dict[str, tuple[str, float]]:
    """For each key of :func:`values_from_par`: (.par name, factor) with v = factor * .par value."""
    return {key: (name, factor) for key, name, factor in _table(par, _model(par, MODELS + ("DDK",)))}


def values_from_par(par) -> dict:
    """The ``v`` dict (float64 JAX scalars, units as in the module table) for a DD/DDH/DDS .par.

    The delay's epoch is T0 (:data:`EPOCH`).  As PINT does, a zero (or missing) ECC zeroes OM,
    OMDOT and EDOT.  Raises :class:`jugbayes.errors.InputError` for values the model cannot take
    (PB and FB0 together, ECC outside [0, 1), SINI outside [0, 1], STIGMA <= 0, ...).
    """
    return orbit.as_jax(float_values(par, _model(par)))


def float_values(par, model: str) -> dict[str, float]:
    """The checked values (Python floats) of a DD-family .par (``model``: DD, DDH, DDS or DDK)."""
    orbit.check_unsupported(par)
    orbit.require(par, "T0", model)
    orbit.require(par, "A1", model)
    for name, instead in _REPLACED.get(model, {}).items():
        if par.get(name) is not None:
            raise orbit.fail(par, name, f"BINARY {model} does not use {name}; give {instead} instead")
    values = orbit.orbit_values_from_par(par)
    for key, name, factor in _table(par, model):
        if key not in values:
            values[key] = factor * orbit.value(par, name)
    if values["A1"] < 0:
        raise orbit.fail(par, "A1", f"A1 cannot be negative, got {par['A1'].value}")
    if not 0.0 <= values["ECC"] < 1.0:
        raise orbit.fail(par, "ECC", f"ECC must lie in [0, 1), got {par['ECC'].value}")
    if values["ECC"] == 0.0:  # PINT: no periastron, so no OM, OMDOT or EDOT
        values.update(OM=0.0, OMDOT=0.0, EDOT=0.0)
    if model == "DD" and not 0.0 <= values["SINI"] <= 1.0:
        raise orbit.fail(par, "SINI", f"SINI must lie in [0, 1], got {par['SINI'].value}")
    if model in ("DD", "DDS", "DDK") and values["M2"] < 0:
        raise orbit.fail(par, "M2", f"M2 cannot be negative, got {par['M2'].value}")
    if model == "DDS" and not values["SHAPMAX"] > -math.log(2.0):  # PINT's check: sin i > -1
        raise orbit.fail(par, "SHAPMAX" if par.get("SHAPMAX") else None,
                         f"SHAPMAX must be greater than -ln 2, got {values['SHAPMAX']}")
    if model == "DDH":
        if par.get("STIGMA") is None:
            raise orbit.fail(par, None, "BINARY DDH needs STIGMA (with H3)")
        if not values["STIGMA"] > 0:
            raise orbit.fail(par, "STIGMA", f"STIGMA must be positive, got {par['STIGMA'].value}")
    return values
