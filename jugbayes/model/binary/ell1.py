"""ELL1 and ELL1H: the binary delay for nearly circular orbits (Lange et al. 2001), as PINT computes it.

``ell1_delay_s(dt_s, v)`` is a pure ``jax.numpy`` function of ``dt_s``, the seconds from TASC to
the time at which the binary is evaluated (the TDB arrival time minus every delay computed before
the binary: Roemer, Shapiro, dispersion, ...), and of ``v``, a dict of float64 scalars:

=========== ================ ==================================================================
key         unit             from the .par
=========== ================ ==================================================================
PB          s                PB [d] * 86400                          } one of the two
PBDOT       s/s              PBDOT; |value| > 1e-7 means 1e-12 units }
FB0..FBn    s^-(k+1)         FB0..FBn (orbital frequency and derivatives) }
A1          s (light-s)      A1
A1DOT       s/s              A1DOT or XDOT; |value| > 1e-7 means 1e-12 units
EPS1, EPS2  1                EPS1, EPS2
EPS1DOT     1/s              EPS1DOT * 1e-12 (PINT reads EPS1DOT/EPS2DOT always in 1e-12/s)
EPS2DOT     1/s              EPS2DOT * 1e-12
M2          s                M2 [Msun] * T_SUN_S (G M2 / c^3)          } ELL1 Shapiro
SINI        1                SINI                                      }
H3          s                H3                                        } ELL1H Shapiro
H4          s                H4 (with H3: harmonics 3..NHARMS)         }
STIGMA      1                STIGMA (with H3: exact form)              }
NHARMS      1 (an integer)   NHARMS, at least 7 (only with H4; PINT's rule)
=========== ================ ==================================================================

Missing optional keys count as 0.  Which Shapiro form is used depends only on which keys ``v``
has (never on values), so the function traces once per model and stays jittable:

* no ``H3``: ``-2 M2 ln(1 - SINI sin Phi)`` (ELL1);
* ``H3`` and ``STIGMA``: Freire & Wex (2010) eq. 29, ``-2 H3/stigma^3 ln(1 + stigma^2 - 2 stigma
  sin Phi)``, PINT's default (TEMPO2 uses eq. 28, which leaves the first two harmonics to the
  Roemer delay; the two differ by terms a fit absorbs into A1, EPS1, EPS2 and a constant);
* ``H3`` and ``H4``: harmonics 3..NHARMS of the Fourier series (Freire & Wex eq. 19 and 13),
  stigma = H4/H3;
* ``H3`` alone: the third harmonic, ``-(4/3) H3 sin 3Phi``.

The Roemer delay is PINT's: Lange et al.'s expansion extended to third order in the eccentricity
(Zhu et al. 2019; Fiore et al. 2023; TEMPO's bnryell1.f).  Written as a Fourier series in Phi it is

    R/a1 = sum_{k=1..4} (s_k sin kPhi + c_k cos kPhi)

and the inverse timing formula (Damour & Deruelle 1986 eqs. 46-52) turns this proper-time delay
into the coordinate-time one:
``Dre (1 - n Dre' + (n Dre')^2 + n^2 Dre Dre''/2)`` with ``n = 2 pi / Pb(t)``, primes d/dPhi.

Phi = 2 pi frac(orbits), with whole orbits removed before the 2 pi, so at ~4000 orbits the
phase carries ~3e-12 rad of float64 rounding (3 ps of delay per light-second of A1).
"""

from __future__ import annotations

import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.constants import T_SUN_S
from jugbayes.model.binary import orbit

enable_x64()

EPOCH = "TASC"
MODELS = ("ELL1", "ELL1H", "ELL1K")
_DEG_PER_YR = orbit.DEG_TO_RAD / orbit.JULIAN_YEAR_S  # OMDOT (deg/yr) -> rad/s
_PER_YR = 1.0 / orbit.JULIAN_YEAR_S  # LNEDOT (1/yr) -> 1/s
# The H3+H4 series is summed over a fixed set of harmonics (masked beyond NHARMS) so that NHARMS
# can live in ``v`` without changing the traced computation.
MAX_HARMONICS = 32
EPSDOT_UNIT = 1e-12  # PINT: EPS1DOT and EPS2DOT are in units of 1e-12 / s


# ------------------------------------------------------------------ delay (JAX)


def _roemer_coefficients(e1, e2):
    """(s_k, c_k) for k = 1..4: R/a1 = sum s_k sin kPhi + c_k cos kPhi, third order in eps."""
    e1s, e2s = e1 * e1, e2 * e2
    s = (
        1.0 - (3.0 * e1s + 5.0 * e2s) / 8.0,
        0.5 * e2 - e2 * (3.0 * e1s + 5.0 * e2s) / 12.0,
        3.0 * (e2s - e1s) / 8.0,
        e2 * (e2s - 3.0 * e1s) / 3.0,
    )
    c = (
        0.25 * e1 * e2,
        -0.5 * e1 + e1 * (2.0 * e1s + 3.0 * e2s) / 6.0,
        -0.75 * e1 * e2,
        e1 * (e1s - 3.0 * e2s) / 3.0,
    )
    return s, c


def roemer_series(phi, e1, e2):
    """(R, dR/dPhi, d2R/dPhi2) of the ELL1 Roemer delay per unit a1 (third order in eps)."""
    s, c = _roemer_coefficients(e1, e2)
    r = r1 = r2 = 0.0
    for k in range(1, 5):
        sk, ck = jnp.sin(k * phi), jnp.cos(k * phi)
        r = r + s[k - 1] * sk + c[k - 1] * ck
        r1 = r1 + k * (s[k - 1] * ck - c[k - 1] * sk)
        r2 = r2 - k * k * (s[k - 1] * sk + c[k - 1] * ck)
    return r, r1, r2


def ell1k_eps(dt_s, v):
    """ELL1k's (eps1, eps2) at ``dt_s`` after TASC: rotated by OMDOT and scaled by 1 + LNEDOT dt (Susobhanan et
    al. 2018, eq. 15, as PINT)."""
    w, grow = v["OMDOT"] * dt_s, 1.0 + v["LNEDOT"] * dt_s
    sin, cos = jnp.sin(w), jnp.cos(w)
    return grow * (v["EPS1"] * cos + v["EPS2"] * sin), grow * (v["EPS2"] * cos - v["EPS1"] * sin)


def ell1k_roemer(phi, e1, e2):
    """(R, dR/dPhi, d2R/dPhi2) per unit a1 of ELL1k's first-order Roemer delay (Susobhanan et al. 2018, eq. 6):
    sin Phi + (eps2 sin 2Phi - eps1 (cos 2Phi + 3)) / 2, with its constant -3 eps1 / 2 that ELL1 drops."""
    s2, c2 = jnp.sin(2.0 * phi), jnp.cos(2.0 * phi)
    s1, c1 = jnp.sin(phi), jnp.cos(phi)
    return (s1 + 0.5 * (e2 * s2 - e1 * (c2 + 3.0)), c1 + e2 * c2 + e1 * s2, -s1 - 2.0 * (e2 * s2 - e1 * c2))


def inverse_delay(dre, drep, drepp, nhat):
    """Damour & Deruelle's inverse timing formula: the delay at the emission (proper) time."""
    q = nhat * drep
    return dre * (1.0 - q + q * q + 0.5 * nhat * nhat * dre * drepp)


def _stigma_from_h4(h3, h4):
    safe = jnp.where(h3 != 0.0, h3, 1.0)
    return jnp.where(h3 != 0.0, h4 / safe, 0.0)


def shapiro_delay(phi, v):
    """The companion's Shapiro delay in the parameterisation the keys of ``v`` select."""
    if "H3" not in v:
        return -2.0 * v.get("M2", 0.0) * jnp.log(1.0 - v.get("SINI", 0.0) * jnp.sin(phi))
    h3 = v["H3"]
    if "STIGMA" in v:
        sg = v["STIGMA"]
        return -2.0 * h3 / sg**3 * jnp.log(1.0 + sg * sg - 2.0 * sg * jnp.sin(phi))
    if "H4" not in v:
        return -(4.0 / 3.0) * h3 * jnp.sin(3.0 * phi)
    # Freire & Wex eq. 13: harmonic k has coefficient (-1)^p 2/k stigma^k (p = (k+1)/2 for odd k,
    # with sin kPhi; p = (k+2)/2 for even k, with cos kPhi); the series from k = 3 times
    # -2 r = -2 H3 / stigma^3.
    sg = _stigma_from_h4(h3, v["H4"])
    nharms = v.get("NHARMS", 7.0)
    total = jnp.zeros_like(phi)
    power = 1.0  # stigma^(k-3), built by products so that stigma = 0 is exact and differentiable
    for k in range(3, MAX_HARMONICS + 1):
        if k % 2:
            sign = -1.0 if ((k + 1) // 2) % 2 else 1.0
            basis = jnp.sin(k * phi)
        else:
            sign = -1.0 if ((k + 2) // 2) % 2 else 1.0
            basis = jnp.cos(k * phi)
        total = total + jnp.where(k <= nharms, sign * 2.0 / k * power, 0.0) * basis
        power = power * sg
    return -2.0 * h3 * total


def ell1_delay_s(dt_s, v):
    """ELL1/ELL1H binary delay (s) at ``dt_s`` seconds after TASC; ``v`` as in the module table."""
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    orbits, pb = orbit.orbits_and_period(dt_s, v)
    phi, _ = orbit.mean_anomaly(orbits)
    a1 = v["A1"] + v.get("A1DOT", 0.0) * dt_s
    if "LNEDOT" in v:  # ELL1k
        r, r1, r2 = ell1k_roemer(phi, *ell1k_eps(dt_s, v))
    else:
        e1 = v.get("EPS1", 0.0) + v.get("EPS1DOT", 0.0) * dt_s
        e2 = v.get("EPS2", 0.0) + v.get("EPS2DOT", 0.0) * dt_s
        r, r1, r2 = roemer_series(phi, e1, e2)
    nhat = orbit.TWO_PI / pb
    return inverse_delay(a1 * r, a1 * r1, a1 * r2, nhat) + shapiro_delay(phi, v)


# ------------------------------------------------------------------ from a .par


def _table(par) -> list[tuple[str, str, float]]:
    """(key, .par name, factor): v[key] = factor * value of the .par parameter (0 when absent)."""
    model = _model(par)
    rows = orbit.orbit_table(par) + [
        ("A1", "A1", 1.0),
        ("A1DOT", "A1DOT", orbit.tempo_factor(par, "A1DOT")),
        ("EPS1", "EPS1", 1.0),
        ("EPS2", "EPS2", 1.0),
    ]
    if model == "ELL1K":  # eps evolve by OMDOT and LNEDOT instead of EPS1DOT/EPS2DOT (PINT)
        rows += [("OMDOT", "OMDOT", _DEG_PER_YR), ("LNEDOT", "LNEDOT", _PER_YR)]
    else:
        rows += [("EPS1DOT", "EPS1DOT", EPSDOT_UNIT), ("EPS2DOT", "EPS2DOT", EPSDOT_UNIT)]
    if model in ("ELL1", "ELL1K"):
        rows += [("M2", "M2", T_SUN_S), ("SINI", "SINI", 1.0)]
    else:
        rows += [("H3", "H3", 1.0)]
        if par.get("STIGMA") is not None:
            rows += [("STIGMA", "STIGMA", 1.0)]
        elif par.get("H4") is not None:
            rows += [("H4", "H4", 1.0)]
    return rows


def _model(par) -> str:
    p = par.get("BINARY")
    model = p.value.upper() if p is not None else None
    if model not in MODELS:
        raise orbit.fail(par, "BINARY", f"ELL1 delay asked for, but the .par has BINARY {model}")
    return model


def par_factors(par) -> dict[str, tuple[str, float]]:
    """For each key of :func:`values_from_par` read from one .par parameter: (name, factor), v = factor * value."""
    return {key: (name, factor) for key, name, factor in _table(par)}


def values_from_par(par) -> dict:
    """The ``v`` dict (float64 JAX scalars, units as in the module table) for an ELL1/ELL1H .par.

    The delay's epoch is TASC (:data:`EPOCH`).  Raises :class:`jugbayes.errors.InputError` for a
    model the values cannot describe (PB and FB0 together, SINI outside [0, 1], ...).
    """
    model = _model(par)
    orbit.check_unsupported(par)
    orbit.require(par, "TASC", model)
    orbit.require(par, "A1", model)
    values = orbit.orbit_values_from_par(par)
    if model == "ELL1K":
        for name in ("EPS1DOT", "EPS2DOT", "EDOT"):
            if orbit.value(par, name) != 0.0:
                raise orbit.fail(par, name, f"BINARY ELL1k has no {name}: its eccentricity evolves by OMDOT and LNEDOT")
    for key, name, factor in _table(par):
        if key not in values:
            values[key] = factor * orbit.value(par, name)
    if values["A1"] < 0:
        raise orbit.fail(par, "A1", f"A1 cannot be negative, got {par['A1'].value}")
    if model in ("ELL1", "ELL1K"):
        if not 0.0 <= values["SINI"] <= 1.0:
            raise orbit.fail(par, "SINI", f"SINI must lie in [0, 1], got {par['SINI'].value}")
        if values["M2"] < 0:
            raise orbit.fail(par, "M2", f"M2 cannot be negative, got {par['M2'].value}")
    else:
        if par.get("H4") is not None and par.get("STIGMA") is not None:
            raise orbit.fail(par, "H4", "ELL1H takes H4 or STIGMA, not both")
        if "STIGMA" in values and not values["STIGMA"] > 0:
            raise orbit.fail(par, "STIGMA", f"STIGMA must be positive, got {par['STIGMA'].value}")
        if "H4" in values:
            if values["H3"] == 0.0 and values["H4"] != 0.0:
                raise orbit.fail(par, "H4", "H4 needs a nonzero H3 (stigma = H4/H3)")
            nharms = max(int(orbit.value(par, "NHARMS", 7.0)), 7)
            if nharms > MAX_HARMONICS:
                raise orbit.fail(par, "NHARMS", f"NHARMS above {MAX_HARMONICS} is not supported")
            values["NHARMS"] = float(nharms)
    return orbit.as_jax(values)
