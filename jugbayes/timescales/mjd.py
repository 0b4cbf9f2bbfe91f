"""Times as (integer MJD, float64 fraction of day): ~10 ps resolution without long doubles.

A single float64 MJD resolves only ~1 us today; splitting off the integer day
keeps the fraction's rounding at 2**-53 day ~ 10 ps.  Adding seconds carries
whole days into the integer part so the fraction stays in [0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86400.0
MJD_TO_JD = 2400000.5


@dataclass(frozen=True)
class SplitMJD:
    """Array of times: ``day`` (int64 MJD) plus ``frac`` (float64 fraction of a day, in [0, 1))."""

    day: np.ndarray
    frac: np.ndarray

    @classmethod
    def from_parts(cls, day, frac) -> "SplitMJD":
        """Normalise any (day, fraction) pair so the fraction lies in [0, 1)."""
        day = np.asarray(day, dtype=np.int64)
        frac = np.asarray(frac, dtype=np.float64)
        carry = np.floor(frac)
        frac = frac - carry
        # A tiny negative fraction rounds to exactly 1.0 here (-1e-17 + 1): carry that day too.
        over = frac >= 1.0
        return cls(day + carry.astype(np.int64) + over, np.where(over, frac - 1.0, frac))

    def __len__(self) -> int:
        return len(self.day)

    def __getitem__(self, index) -> "SplitMJD":
        return SplitMJD(self.day[index], self.frac[index])

    def add_seconds(self, seconds) -> "SplitMJD":
        """These times plus ``seconds`` (array or scalar)."""
        return SplitMJD.from_parts(self.day, self.frac + np.asarray(seconds, dtype=np.float64) / SECONDS_PER_DAY)

    def seconds_since(self, other: "SplitMJD") -> np.ndarray:
        """``self - other`` in seconds, computed without forming large float MJDs."""
        return ((self.day - other.day) + (self.frac - other.frac)) * SECONDS_PER_DAY

    def as_float(self) -> np.ndarray:
        """Plain float64 MJDs (~1 us resolution: for display, tables and interpolation only)."""
        return self.day + self.frac

    def jd_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """(jd1, jd2) for ERFA/astropy/jplephem: jd1 = day + 2400000.5 is exact in float64."""
        return self.day.astype(np.float64) + MJD_TO_JD, self.frac

    def to_strings(self, digits: int = 16) -> list[str]:
        """Decimal MJD strings with ``digits`` after the point (16 digits ~ 10 ps, the data's resolution)."""
        scale = 10**digits
        ticks = np.round(self.frac * scale).astype(np.int64)
        carry = ticks // scale
        days, ticks = self.day + carry, ticks - carry * scale
        return [f"{d}.{t:0{digits}d}" for d, t in zip(days.tolist(), ticks.tolist())]
