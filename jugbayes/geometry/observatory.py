"""Observatory position and velocity relative to the geocentre, in GCRS.

The site's ITRF position is rotated into GCRS with ERFA's IAU 2006/2000A
CIO-based chain, as astropy does: polar motion (``pom00`` with ``sp00``),
Earth rotation angle (``era00`` of UT1) and the celestial-to-intermediate
matrix (``c2i06a``).  Velocity is Earth's rotation (the ERA rate) acting on
the site.  UT1 - UTC and the pole coordinates come from the IERS table that
the ``astropy-iers-data`` package ships (``finals2000A.all``: Bulletin B
values where published, else Bulletin A, predictions included), read by our
own fixed-column reader because astropy's general table reader takes ~2 s.
Nothing is downloaded.  Times past the table's end use its last values, with
a warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import erfa
import numpy as np

from jugbayes.constants import TT_MINUS_TAI_S
from jugbayes.timescales.mjd import SECONDS_PER_DAY, SplitMJD

ARCSEC_TO_RAD = math.pi / (180.0 * 3600.0)
# Earth rotation angle rate (IERS Conventions 2010, eq. 5.15): 2 pi * 1.00273781191135448 rad per UT1 day.
EARTH_ROTATION_RAD_S = 2.0 * math.pi * 1.00273781191135448 / SECONDS_PER_DAY


class EOPWarning(UserWarning):
    """Earth-orientation values extrapolated past the end of the IERS table."""


@dataclass(frozen=True)
class EarthOrientation:
    """Daily IERS values: MJD (UTC), UT1 - TAI (s), pole x and y (arcsec)."""

    mjd: np.ndarray
    ut1_minus_tai_s: np.ndarray
    xp_arcsec: np.ndarray
    yp_arcsec: np.ndarray
    source: str

    def at(self, mjd_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(UT1 - TAI s, xp arcsec, yp arcsec) linearly interpolated at UTC MJDs."""
        late, early = mjd_utc > self.mjd[-1], mjd_utc < self.mjd[0]
        if late.any():
            warnings.warn(f"{late.sum()} times after MJD {self.mjd[-1]:.0f}, the end of the IERS table {self.source}: "
                          "Earth orientation held at its last values (update the astropy-iers-data package)",
                          EOPWarning, stacklevel=3)
        if early.any():
            warnings.warn(f"{early.sum()} times before MJD {self.mjd[0]:.0f}, the start of the IERS table "
                          f"{self.source}: Earth orientation held at its first values", EOPWarning, stacklevel=3)
        interp = lambda col: np.interp(mjd_utc, self.mjd, col)  # noqa: E731
        return interp(self.ut1_minus_tai_s), interp(self.xp_arcsec), interp(self.yp_arcsec)


def _field(line: str, start: int, stop: int) -> float | None:
    text = line[start:stop].strip()
    return float(text) if text else None


@lru_cache(maxsize=1)
def earth_orientation() -> EarthOrientation:
    """The IERS table shipped with ``astropy-iers-data`` (finals2000A.all, fixed columns)."""
    from astropy_iers_data import IERS_A_FILE

    mjd, ut1_utc, xp, yp = [], [], [], []
    with open(IERS_A_FILE) as fh:
        for line in fh:
            day = _field(line, 7, 15)
            b = (_field(line, 134, 144), _field(line, 144, 154), _field(line, 154, 165))
            a = (_field(line, 18, 27), _field(line, 37, 46), _field(line, 58, 68))
            values = b if None not in b else a
            if day is None or None in values:
                continue
            mjd.append(day)
            xp.append(values[0])
            yp.append(values[1])
            ut1_utc.append(values[2])
    mjd_arr = np.asarray(mjd)
    # UT1 - UTC jumps at each leap second; UT1 - TAI is smooth, so interpolate that.
    tai_utc = _tai_minus_utc_at_midnight(mjd_arr)
    return EarthOrientation(mjd_arr, np.asarray(ut1_utc) - tai_utc, np.asarray(xp), np.asarray(yp), IERS_A_FILE)


def _tai_minus_utc_at_midnight(mjd: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        y, m, d, _ = erfa.jd2cal(2400000.5, mjd)
        return np.asarray(erfa.dat(y, m, d, 0.0), dtype=np.float64)


def site_gcrs_posvel_m(itrf_xyz_m, tt: SplitMJD) -> tuple[np.ndarray, np.ndarray]:
    """GCRS position (m) and velocity (m/s) of a site at times ``tt`` (TT); shapes (n, 3).

    ``itrf_xyz_m`` None means the geocentre (zeros).
    """
    n = len(tt)
    if itrf_xyz_m is None or n == 0:
        return np.zeros((n, 3)), np.zeros((n, 3))
    eop = earth_orientation()
    tai = tt.add_seconds(-TT_MINUS_TAI_S)
    ut1_tai, xp, yp = eop.at(tai.as_float())  # TAI vs UTC MJD: < 40 s, immaterial for daily tables
    ut1 = tai.add_seconds(ut1_tai)
    tt1, tt2 = tt.jd_pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        rc2i = erfa.c2i06a(tt1, tt2)
        era = erfa.era00(*ut1.jd_pair())
        rpom = erfa.pom00(xp * ARCSEC_TO_RAD, yp * ARCSEC_TO_RAD, erfa.sp00(tt1, tt2))
    # r_TIRS = RPOM^T r_ITRS; r_CIRS = R3(-ERA) r_TIRS; r_GCRS = RC2I^T r_CIRS.
    r_tirs = np.einsum("nji,j->ni", rpom, np.asarray(itrf_xyz_m, dtype=np.float64))
    c, s = np.cos(era), np.sin(era)
    r_cirs = np.stack([c * r_tirs[:, 0] - s * r_tirs[:, 1], s * r_tirs[:, 0] + c * r_tirs[:, 1], r_tirs[:, 2]], axis=1)
    v_cirs = EARTH_ROTATION_RAD_S * np.stack([-r_cirs[:, 1], r_cirs[:, 0], np.zeros(n)], axis=1)
    pos = np.einsum("nji,nj->ni", rc2i, r_cirs)
    vel = np.einsum("nji,nj->ni", rc2i, v_cirs)
    return pos, vel
