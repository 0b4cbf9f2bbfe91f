"""Troposphere delay (``CORRECT_TROPOSPHERE Y``), as PINT's ``TroposphereDelay`` computes it.

delay = Z_h * m_h(el): the hydrostatic zenith delay Z_h times the Niell mapping function m_h at the
pulsar's elevation el.  Like PINT (and TEMPO2 unless told otherwise) the wet zenith delay is taken
as zero, so the wet mapping function never contributes.

- Z_h (Davis et al. 1985, appendix A): ``Z_h = P / 43.921 kPa / (c (1 - 0.00266 cos 2 lat - 0.00028 H))``
  metres of path over c, with P the US Standard Atmosphere pressure at the site's height,
  ``P = 101.325 kPa (288.15 / (288.15 - 0.0065 H_m))^-5.25575`` (CRC Handbook), H in km.
- m_h (Niell 1996, eq. 4): Herring's continued fraction ``f(s; a, b, c) = (1 + a/(1 + b/(1 + c))) /
  (s + a/(s + b/(s + c)))`` with s = sin el and a, b, c interpolated linearly in |lat| between
  Niell's 15-degree table rows, each an average plus an annual term ``cos(2 pi (year fraction))``
  (year fraction from TDB with Niell's 28-day phase, half a year more in the south), plus the
  height correction ``(1/s - f(s; 2.53e-5, 5.49e-3, 1.14e-3)) H_km``.
- lat and H are the site's WGS84 geodetic latitude and height (as astropy's EarthLocation gives
  PINT); the elevation is measured from the geodetic vertical, rotated into GCRS at each TOA with
  the same Earth-orientation chain as the site position.  PINT's elevations come from astropy's
  AltAz, which adds aberration and light bending (< 1e-4 rad): < 1e-10 s of delay above 5 degrees.
- TOAs at the barycentre or geocentre, and TOAs with the pulsar below the horizon (PINT warns
  and does the same), get no delay.

The host part (:func:`troposphere_data`) is computed once from the TOAs; :func:`troposphere_delay_s`
is the JAX part, a function of the pulsar direction (so of RAJ/DECJ/PM, whose derivative it
carries; PINT keeps the delay fixed during a fit, a difference of ~1e-8 s per radian).
"""

from __future__ import annotations

import math

import erfa
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import C_M_S
from jugbayes.geometry.observatory import site_gcrs_posvel_m
from jugbayes.geometry.sites import sites
from jugbayes.model.astrometry import dot3

enable_x64()

# Niell (1996) table 3, hydrostatic: rows at |lat| = 0 (copy of 15), 15, 30, 45, 60, 75, 90 (copy of 75) degrees.
_LAT_DEG = np.array([0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0])
_A_AVG = np.array([1.2769934, 1.2769934, 1.2683230, 1.2465397, 1.2196049, 1.2045996, 1.2045996]) * 1e-3
_B_AVG = np.array([2.9153695, 2.9153695, 2.9152299, 2.9288445, 2.9022565, 2.9024912, 2.9024912]) * 1e-3
_C_AVG = np.array([62.610505, 62.610505, 62.837393, 63.721774, 63.824265, 64.258455, 64.258455]) * 1e-3
_A_AMP = np.array([0.0, 0.0, 1.2709626, 2.6523662, 3.4000452, 4.1202191, 4.1202191]) * 1e-5
_B_AMP = np.array([0.0, 0.0, 2.1414979, 3.0160779, 7.2562722, 11.723375, 11.723375]) * 1e-5
_C_AMP = np.array([0.0, 0.0, 9.0128400, 4.3497037, 84.795348, 170.37206, 170.37206]) * 1e-5
_HEIGHT_ABC = (2.53e-5, 5.49e-3, 1.14e-3)  # Niell's height correction coefficients (per km)
_DOY_OFFSET_D = -28.0  # Niell's phase of the annual term
_J2000_MJD = 51544.5


def site_geodetic(itrf_xyz_m) -> tuple[float, float, float]:
    """(WGS84 geodetic latitude rad, longitude rad, height m) of an ITRF position."""
    lon, lat, height = erfa.gc2gd(1, np.asarray(itrf_xyz_m, dtype=np.float64))
    return float(lat), float(lon), float(height)


def zenith_hydrostatic_delay_s(lat_rad: float, height_m: float) -> float:
    """Davis et al. (1985) hydrostatic zenith delay (s) with the standard-atmosphere pressure at the height."""
    pressure_kpa = 101.325 * (288.15 / (288.15 - 0.0065 * height_m)) ** -5.25575
    height_km = height_m / 1000.0
    return (pressure_kpa / 43.921) / (C_M_S * (1.0 - 0.00266 * math.cos(2.0 * lat_rad) - 0.00028 * height_km))


def niell_coefficients(lat_rad: float, tdb_mjd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Niell's hydrostatic (a, b, c) at a latitude, per TDB MJD (annual term included)."""
    season = 0.5 if lat_rad < 0 else 0.0
    year_fraction = np.mod(2000.0 + (tdb_mjd - _J2000_MJD + _DOY_OFFSET_D) / 365.25 + season, 1.0)
    annual = np.cos(2.0 * np.pi * year_fraction)
    abs_lat = abs(math.degrees(lat_rad))
    return tuple(np.interp(abs_lat, _LAT_DEG, avg) + np.interp(abs_lat, _LAT_DEG, amp) * annual
                 for avg, amp in ((_A_AVG, _A_AMP), (_B_AVG, _B_AMP), (_C_AVG, _C_AMP)))


def herring_map(sin_el, a, b, c):
    """Herring's continued-fraction mapping function, normalised to 1 at the zenith."""
    return (1.0 + a / (1.0 + b / (1.0 + c))) / (sin_el + a / (sin_el + b / (sin_el + c)))


def troposphere_data(obs, tt, tdb) -> dict[str, np.ndarray]:
    """Per-row arrays the delay needs: ``tropo_up`` (n, 3) geodetic vertical in GCRS (zeros where no
    delay applies), ``tropo_zenith_s``, Niell's ``tropo_a/b/c`` and ``tropo_height_km``.

    ``obs``: canonical site names per row; ``tt``, ``tdb``: the rows' SplitMJD times.
    """
    n = len(obs)
    out = {"tropo_up": np.zeros((n, 3)), "tropo_zenith_s": np.zeros(n), "tropo_height_km": np.zeros(n),
           "tropo_a": np.zeros(n), "tropo_b": np.zeros(n), "tropo_c": np.zeros(n)}
    names = np.asarray(obs)
    table = sites()
    tdb_mjd = tdb.as_float()
    for name in np.unique(names):
        xyz = table[name].itrf_xyz_m
        if xyz is None or not any(xyz):  # barycentre, geocentre
            continue
        rows = names == name
        lat, lon, height = site_geodetic(xyz)
        up_itrf = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        out["tropo_up"][rows] = site_gcrs_posvel_m(up_itrf, tt[rows])[0]  # a rotation: the unit vector stays one
        out["tropo_zenith_s"][rows] = zenith_hydrostatic_delay_s(lat, height)
        out["tropo_height_km"][rows] = height / 1000.0
        out["tropo_a"][rows], out["tropo_b"][rows], out["tropo_c"][rows] = niell_coefficients(lat, tdb_mjd[rows])
    return out


def troposphere_delay_s(n_hat, d):
    """The delay (s) per row for pulsar directions ``n_hat`` (n, 3), from :func:`troposphere_data`'s arrays."""
    sin_el = dot3(d["tropo_up"], n_hat)
    visible = sin_el > 0.0  # also false where tropo_up is zero (no site)
    s = jnp.where(visible, sin_el, 1.0)  # keeps the unused branch (and its derivative) finite
    mapping = herring_map(s, d["tropo_a"], d["tropo_b"], d["tropo_c"])
    mapping = mapping + (1.0 / s - herring_map(s, *_HEIGHT_ABC)) * d["tropo_height_km"]
    return jnp.where(visible, d["tropo_zenith_s"] * mapping, 0.0)
