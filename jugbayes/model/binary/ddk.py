"""DDK: the DD delay with Kopeikin's (1995, 1996) kinematic corrections, as PINT's ``DDKmodel`` does it.

``ddk_delay_s(dt_s, v, geometry)`` is a pure ``jax.numpy`` function.  ``dt_s`` and ``v`` are as for
:func:`jugbayes.model.binary.dd.dd_delay_s` (epoch T0; the DD keys of :mod:`.dd`'s table, with
``KIN``/``KOM`` in place of ``SINI``):

=========== ================ ==================================================================
key         unit             from the .par
=========== ================ ==================================================================
KIN         rad              KIN [deg]: inclination (Damour & Taylor 1992 convention)
KOM         rad              KOM [deg]: longitude of the ascending node, from the east of the
                             .par's frame (equatorial or ecliptic) through north
K96         1 (0 or 1)       K96 flag (default 1 as in PINT): proper-motion terms on or off; a
                             switch, not a parameter to fit
=========== ================ ==================================================================

``geometry`` is what the residual function supplies beyond the orbit, per row (float64 arrays
shaped like ``dt_s``, or scalars), all in the frame of the .par's astrometric parameters: ICRS
for RAJ/DECJ, the .par's ecliptic (obliquity ``ECL``) for ELONG/ELAT.  :func:`ddk_geometry`
builds it:

================ ======== ==========================================================================
key              unit     meaning
================ ======== ==========================================================================
east_ls          s (ls)   Delta_I0: the SSB-to-observatory vector's component along the sky's east
                          at the pulsar (Kopeikin 1995 eq. 15)
north_ls         s (ls)   Delta_J0: its component along the sky's north (eq. 16)
px_rad           rad      parallax; 1 / distance = px_rad / (1 au in light-seconds)
pm_lon_rad_s     rad/s    proper motion in longitude (RA or ecliptic longitude), times cos(lat)
pm_lat_rad_s     rad/s    proper motion in latitude (Dec or ecliptic latitude)
================ ======== ==========================================================================

With t = dt_s (from T0), mu_l, mu_b the proper motion, D the distance:

    d_i     = K96 (-mu_l sin KOM + mu_b cos KOM) t                   (Kopeikin 1996 eq. 10)
    i       = KIN + d_i,                      sin i feeds the Shapiro delay
    a1_pm   = (A1 + A1DOT t) (1 + cot(i) d_i)                         (1996 eq. 8)
    a1      = a1_pm (1 + cot(i) (Delta_I0 sin KOM - Delta_J0 cos KOM) / D)     (1995 eq. 18)
    omega  += K96 (mu_l cos KOM + mu_b sin KOM) t / sin i              (1996 eq. 9)
            - (Delta_I0 cos KOM + Delta_J0 sin KOM) / (D sin i)       (1995 eq. 19)

and then the DD delay (:func:`.dd.dd_delay_with`) with that a1, omega and sin i.  These are the
terms PINT's DDK applies: the proper-motion changes of i, a1 and omega, and the mixed
annual-orbital parallax of a1 and omega; like PINT it leaves out the pure orbital parallax
(Kopeikin 1995 eq. 14).  KOM is measured from the east of the .par's own frame, as PINT does, so
the same KOM means a different node in an ecliptic and an equatorial .par (for J1713+0747, KOM
83.1 deg read in the two frames changes the delay by up to 0.45 us; TEMPO2's residuals for the
two .par files in ../shared change the same way).  DDK needs PX > 0 (as PINT).
"""

from __future__ import annotations

import jax.numpy as jnp

from jugbayes.config import enable_x64
from jugbayes.constants import AU_LS, MAS_TO_RAD
from jugbayes.model import astrometry
from jugbayes.model.binary import dd, orbit

enable_x64()

EPOCH = "T0"
MODELS = ("DDK",)
GEOMETRY_KEYS = ("east_ls", "north_ls", "px_rad", "pm_lon_rad_s", "pm_lat_rad_s")
_MAS_PER_YR = MAS_TO_RAD / orbit.JULIAN_YEAR_S


def ddk_delay_s(dt_s, v, geometry):
    """DDK binary delay (s) at ``dt_s`` seconds after T0; ``v`` and ``geometry`` as in the module tables."""
    dt_s = jnp.asarray(dt_s, dtype=jnp.float64)
    g = geometry
    k96 = v.get("K96", 1.0)
    s_kom, c_kom = jnp.sin(v["KOM"]), jnp.cos(v["KOM"])
    mu_l, mu_b = g["pm_lon_rad_s"], g["pm_lat_rad_s"]

    d_kin = k96 * (-mu_l * s_kom + mu_b * c_kom) * dt_s
    kin = v["KIN"] + d_kin
    sin_kin = jnp.sin(kin)
    cot_kin = jnp.cos(kin) / sin_kin
    inv_d = g["px_rad"] / AU_LS  # 1 / distance, in 1 / light-second

    a1 = v["A1"] + v.get("A1DOT", 0.0) * dt_s
    a1 = a1 + a1 * cot_kin * d_kin  # proper motion (zero without K96: d_kin = 0)
    a1 = a1 + a1 * cot_kin * inv_d * (g["east_ls"] * s_kom - g["north_ls"] * c_kom)  # parallax

    d_omega = (k96 * (mu_l * c_kom + mu_b * s_kom) * dt_s
               - inv_d * (g["east_ls"] * c_kom + g["north_ls"] * s_kom)) / sin_kin
    return dd.dd_delay_with(dt_s, v, a1, d_omega, v.get("M2", 0.0), sin_kin)


def ddk_geometry(ssb_obs_pos_ls, psr_dir, px_mas, pm_lon_mas_yr, pm_lat_mas_yr, obliquity_rad=None):
    """The ``geometry`` dict of :func:`ddk_delay_s`.

    ``ssb_obs_pos_ls`` (n, 3) and ``psr_dir`` (n, 3, unit vectors, proper motion included) are in
    ICRS; with ``obliquity_rad`` (an ecliptic .par) both are first rotated into that ecliptic
    frame.  ``px_mas`` and the proper motions (mas/yr, the longitude one times cos(lat)) are the
    .par's, in its own frame.  Pure JAX: parameters may be traced.
    """
    r = jnp.asarray(ssb_obs_pos_ls)
    n = jnp.asarray(psr_dir)
    if obliquity_rad is not None:  # ICRS -> ecliptic: the inverse rotation about x
        r = astrometry.ecliptic_to_icrs(r, -obliquity_rad)
        n = astrometry.ecliptic_to_icrs(n, -obliquity_rad)
    cos_lat = jnp.sqrt(n[..., 0] ** 2 + n[..., 1] ** 2)
    sin_lat = n[..., 2]
    cos_lon, sin_lon = n[..., 0] / cos_lat, n[..., 1] / cos_lat
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    return {
        "east_ls": -x * sin_lon + y * cos_lon,
        "north_ls": -(x * cos_lon + y * sin_lon) * sin_lat + z * cos_lat,
        "px_rad": px_mas * MAS_TO_RAD,
        "pm_lon_rad_s": pm_lon_mas_yr * _MAS_PER_YR,
        "pm_lat_rad_s": pm_lat_mas_yr * _MAS_PER_YR,
    }


# ------------------------------------------------------------------ from a .par


def par_factors(par) -> dict[str, tuple[str, float]]:
    """For each key of :func:`values_from_par`: (.par name, factor) with v = factor * .par value."""
    return dd.par_factors(par) | {"K96": ("K96", 1.0)}


def values_from_par(par) -> dict:
    """The ``v`` dict (float64 JAX scalars) for a DDK .par.

    As PINT: K96 defaults to true; SINI is refused (KIN replaces it); PX must be given and
    positive (the parallax terms divide by the distance).  KIN with sin(KIN) = 0 is refused too
    (the corrections divide by sin i).
    """
    model = dd._model(par, MODELS)
    values = dd.float_values(par, model)
    orbit.require(par, "KIN", model)
    if jnp.sin(values["KIN"]) == 0.0:
        raise orbit.fail(par, "KIN", f"KIN {par['KIN'].value}: sin(KIN) = 0, the Kopeikin terms divide by it")
    px = par.get("PX")
    if px is None or not px.as_float() > 0:
        raise orbit.fail(par, "PX" if px is not None else None, "BINARY DDK needs a positive parallax PX")
    k96 = par.get("K96")
    values["K96"] = 1.0 if k96 is None or k96.as_bool() else 0.0
    return orbit.as_jax(values)
