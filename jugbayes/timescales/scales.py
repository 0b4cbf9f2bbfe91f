"""UTC -> TAI -> TT and TT -> TDB for split MJDs.

Leap seconds come from ERFA (``erfa.dat``, the table astropy ships).  A TOA's
MJD fraction counts seconds since 0h UTC over 86400 even on a day that ends in
a leap second (the TEMPO/TEMPO2/PINT convention), so TAI = UTC + (TAI-UTC of
that instant) is exact here, with no 86401-second days to rescale.

TDB - TT is ERFA's ``dtdb`` (the Fairhead & Bretagnon 1990 series plus the
topocentric terms for the observatory's position): the same quantity astropy,
and through it PINT, computes.
"""

from __future__ import annotations

import warnings

import erfa
import numpy as np

from jugbayes.constants import TT_MINUS_TAI_S
from jugbayes.timescales.mjd import MJD_TO_JD, SECONDS_PER_DAY, SplitMJD


def tai_minus_utc_s(utc: SplitMJD) -> np.ndarray:
    """TAI - UTC (leap seconds, and the pre-1972 rate terms) at each UTC instant."""
    days = np.unique(utc.day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)  # "dubious year" before 1960 / far future
        year, month, day, _ = erfa.jd2cal(MJD_TO_JD, days.astype(np.float64))
    index = np.searchsorted(days, utc.day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        return np.asarray(erfa.dat(year[index], month[index], day[index], utc.frac), dtype=np.float64)


def tt_minus_utc_s(utc: SplitMJD) -> np.ndarray:
    """TT(TAI) - UTC in seconds: leap seconds plus 32.184 s."""
    return tai_minus_utc_s(utc) + TT_MINUS_TAI_S


def geodetic_uv_km(itrf_xyz_m) -> tuple[float, float, float]:
    """(east longitude rad, distance from the spin axis km, distance north of the equator km) for ``dtdb``."""
    if itrf_xyz_m is None:
        return 0.0, 0.0, 0.0
    x, y, z = (float(c) for c in itrf_xyz_m)
    return float(np.arctan2(y, x)), float(np.hypot(x, y) / 1000.0), z / 1000.0


def tdb_minus_tt_s(tt: SplitMJD, ut_frac: np.ndarray, itrf_xyz_m=None) -> np.ndarray:
    """TDB - TT (s) at a site (geocentre if ``itrf_xyz_m`` is None); ``ut_frac`` is UT (UTC will do) day fraction."""
    elong, u_km, v_km = geodetic_uv_km(itrf_xyz_m)
    jd1, jd2 = tt.jd_pair()
    return np.asarray(erfa.dtdb(jd1, jd2, ut_frac, elong, u_km, v_km), dtype=np.float64)


def tt_from_tdb(tdb: SplitMJD) -> SplitMJD:
    """TT for barycentric (TDB) times, inverting the geocentric TDB - TT by two fixed-point steps."""
    tt = tdb
    for _ in range(2):
        tt = tdb.add_seconds(-tdb_minus_tt_s(tt, tt.frac))
    return tt


def utc_day_fraction(tt: SplitMJD, tt_minus_utc: np.ndarray) -> np.ndarray:
    """UTC fraction of day for times given in TT (approximate UT for ``dtdb``; 1 s here is ~1e-10 s in TDB)."""
    return np.mod(tt.frac - tt_minus_utc / SECONDS_PER_DAY, 1.0)
