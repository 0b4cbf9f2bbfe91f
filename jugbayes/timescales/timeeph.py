"""TT -> TDB by Irwin & Fukushima's (1999) time ephemeris (TEMPO2's ``TIMEEPH IF99``, file ``*.te405``).

The file has JPL-ephemeris records of big- or little-endian float64: record 1 is a header (three
84-character titles, ``ncon`` 6-character constant names, the start/end/step Julian dates, ``ncon``,
and a (start, coefficients, sub-intervals) triple for each of two series), record 2 the constants'
values, then one record per step: its first and last Julian date, the Chebyshev coefficients of
TT - TDB's series DeltaT (days) per sub-interval, then those of the Earth's velocity (three
components, unused here).  The argument is TT as a Julian date.

TDB - TT follows Irwin & Fukushima's eq. 13 in TDB units, as TEMPO2 forms it:
``TEPH0 + (v_E . r_obs) / ((1 - L_C) K) + DeltaT / (1 - L_C)``, with the Earth's barycentric
velocity ``v_E`` (units of c) from the planetary ephemeris and the observatory's geocentric
position ``r_obs`` (light-seconds).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.timescales.mjd import MJD_TO_JD, SECONDS_PER_DAY, SplitMJD

# Irwin & Fukushima (1999) constants, as TEMPO2's ifteph.h states them.
IFTE_TEPH0_S = -65.564518e-6  # Teph - TDB offset at the epoch of TCB/TCG/TT
IFTE_LC = 1.48082686742e-8  # L_C, the mean rate of TCB - TCG
IFTE_KM1 = 1.55051979176e-8  # K - 1 = L_B / (1 - L_B), the IAU value TEMPO2 uses

TITLE_BYTES = 3 * 84
FILE_NAMES = ("TIMEEPH_short.te405", "TIMEEPH.te405", "TIMEEPH_long.te405")


class TimeEphemerisError(JugbayesError):
    """The IF99 time-ephemeris file is missing, unreadable, or does not cover the TOAs."""


@dataclass(frozen=True)
class TimeEphemeris:
    """The DeltaT series of a TE405 file: per record its start (MJD offset of ``mjd0``) and coefficients."""

    path: str
    start_mjd: float  # first data record's start
    step_d: float
    n_sub: int
    coeffs: np.ndarray  # (records, sub-intervals, coefficients)

    @property
    def end_mjd(self) -> float:
        return self.start_mjd + self.step_d * self.coeffs.shape[0]

    def delta_t_d(self, tt: SplitMJD) -> np.ndarray:
        """DeltaT (days) at TT ``tt``: the Chebyshev series of the record and sub-interval holding each time."""
        since = (tt.day - self.start_mjd) + tt.frac  # days since the first record (start_mjd is a whole day)
        if len(since) and (since.min() < 0.0 or since.max() >= self.coeffs.shape[0] * self.step_d):
            lo, hi = tt.as_float().min(), tt.as_float().max()
            raise TimeEphemerisError(f"{self.path}: TT MJD {lo:.1f}-{hi:.1f} is outside the time ephemeris "
                                     f"(MJD {self.start_mjd:.1f}-{self.end_mjd:.1f})")
        sub_d = self.step_d / self.n_sub
        cell = np.floor(since / sub_d).astype(np.int64)
        x = 2.0 * (since - cell * sub_d) / sub_d - 1.0  # in [-1, 1) within the sub-interval
        c = self.coeffs.reshape(-1, self.coeffs.shape[2])[cell]
        b1, b2 = np.zeros_like(x), np.zeros_like(x)  # Clenshaw's recurrence
        for k in range(c.shape[1] - 1, 0, -1):
            b1, b2 = 2.0 * x * b1 - b2 + c[:, k], b1
        return x * b1 - b2 + c[:, 0]


def _header(raw: bytes) -> tuple[str, int, list[tuple[int, int, int]]]:
    """(byte order, ncon, the two series' (offset, ncoeff, nsub)) from record 1."""
    for order in (">", "<"):
        for ncon in range(1, 401):
            at = TITLE_BYTES + 6 * ncon + 24
            if at + 28 > len(raw):
                break
            values = struct.unpack(order + "7i", raw[at:at + 28])
            if values[0] == ncon and 0 < values[2] < 100 and 0 < values[3] < 100:
                return order, ncon, [tuple(values[1:4]), tuple(values[4:7])]
    raise TimeEphemerisError("not a TE405 time-ephemeris file (no readable header)")


@lru_cache(maxsize=4)
def read_time_ephemeris(path: str) -> TimeEphemeris:
    """Read a TE405 file (see the module docstring)."""
    raw = Path(path).read_bytes()
    try:
        order, _, ((off1, nc1, ns1), (off2, nc2, ns2)) = _header(raw)
    except TimeEphemerisError as exc:
        raise TimeEphemerisError(f"{path}: {exc}") from None
    n_doubles = off2 - 1 + nc2 * ns2 * 3  # the second series is a 3-vector
    record_bytes = 8 * n_doubles
    data = np.frombuffer(raw[2 * record_bytes:], dtype=np.dtype(order + "f8"))
    n_rec = data.size // n_doubles
    if n_rec == 0 or off1 != 3:
        raise TimeEphemerisError(f"{path}: no data records of {n_doubles} numbers")
    records = data[: n_rec * n_doubles].reshape(n_rec, n_doubles)
    step_d = float(records[0, 1] - records[0, 0])
    starts_mjd = records[:, 0] - MJD_TO_JD
    if not np.allclose(np.diff(starts_mjd), step_d, rtol=0, atol=1e-9):
        raise TimeEphemerisError(f"{path}: records are not contiguous")
    coeffs = records[:, off1 - 1: off1 - 1 + nc1 * ns1].reshape(n_rec, ns1, nc1).astype(np.float64)
    return TimeEphemeris(os.fspath(path), float(starts_mjd[0]), step_d, ns1, coeffs)


def if99_tdb_minus_tt_s(teph: TimeEphemeris, tt: SplitMJD, earth_vel_c: np.ndarray,
                        obs_geocentric_ls: np.ndarray) -> np.ndarray:
    """TDB - TT (s) by IF99 at TT ``tt`` for an observatory at ``obs_geocentric_ls`` (GCRS, light-seconds)."""
    obs_term = np.einsum("ij,ij->i", earth_vel_c, obs_geocentric_ls) / ((1.0 - IFTE_LC) * (1.0 + IFTE_KM1))
    return IFTE_TEPH0_S + obs_term + teph.delta_t_d(tt) * SECONDS_PER_DAY / (1.0 - IFTE_LC)


def time_ephemeris_candidates(ephem_file=None) -> list[tuple[str, Path]]:
    """Labelled places the TE405 file is looked for: beside the JPL kernel, $JUGBAYES_EPHEM_DIR,
    $TEMPO2/ephemeris, the download cache."""
    from jugbayes.geometry.ephemeris import ephem_cache_dir

    dirs = []
    if ephem_file is not None:
        dirs.append(("beside --ephem-file", Path(ephem_file).parent))
    if os.environ.get("JUGBAYES_EPHEM_DIR"):
        dirs.append(("$JUGBAYES_EPHEM_DIR", Path(os.environ["JUGBAYES_EPHEM_DIR"])))
    if os.environ.get("TEMPO2"):
        dirs.append(("$TEMPO2/ephemeris", Path(os.environ["TEMPO2"]) / "ephemeris"))
    dirs.append(("download cache", ephem_cache_dir()))
    return [(label, d / name) for label, d in dirs for name in FILE_NAMES]


def find_time_ephemeris(timeeph_file=None, ephem_file=None) -> Path | None:
    """The TE405 file to use: ``timeeph_file`` if given (it must exist), else the first candidate found."""
    if timeeph_file is not None:
        path = Path(timeeph_file)
        if not path.is_file():
            raise TimeEphemerisError(f"--timeeph-file {path}: no such file")
        return path
    return next((path for _, path in time_ephemeris_candidates(ephem_file) if path.is_file()), None)
