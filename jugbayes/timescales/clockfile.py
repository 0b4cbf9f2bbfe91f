"""TEMPO2-format clock-correction files (``*.clk``), linearly interpolated.

A ``.clk`` file starts with a ``# FROM TO`` line naming the two clocks; data
lines are ``MJD offset_s`` (further columns are ignored), other ``#`` lines
are comments.  The offset is what to add to a time on the FROM clock to get
the TO clock.  Times outside the tabulated range are reported, never silently
given zero: :meth:`ClockFile.evaluate` returns a mask of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jugbayes.errors import InputError
from jugbayes.io import numbers
from jugbayes.io.textfile import read_text_lines


@dataclass(frozen=True)
class ClockFile:
    """One clock-correction table: ``to = from + offset_s(mjd)``."""

    path: str
    from_clock: str
    to_clock: str
    mjd: np.ndarray
    offset_s: np.ndarray

    @property
    def mjd_range(self) -> tuple[float, float]:
        return float(self.mjd[0]), float(self.mjd[-1])

    def evaluate(self, mjd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (s) at ``mjd`` by linear interpolation, and a mask of MJDs outside the table.

        Outside the table the end values are returned; callers must act on the mask.
        """
        mjd = np.asarray(mjd, dtype=np.float64)
        outside = (mjd < self.mjd[0]) | (mjd > self.mjd[-1])
        return np.interp(mjd, self.mjd, self.offset_s), outside


def read_tempo2_clock(path: str | os.PathLike) -> ClockFile:
    """Read a TEMPO2 ``.clk`` file; problems are ``InputError`` with file and line."""
    path = Path(path)
    lines = read_text_lines(path, "TEMPO2 clock file")
    header = lines[0].lstrip("#").split() if lines[0].startswith("#") else []
    if len(header) < 2:
        raise InputError(path, 1, "a TEMPO2 clock file starts with '# FROM_CLOCK TO_CLOCK'")
    mjds, offsets = [], []
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2 or not (numbers.is_float(fields[0]) and numbers.is_float(fields[1])):
            raise InputError(path, lineno, f"expected 'MJD offset_seconds', got {line.strip()[:60]!r}")
        mjd, off = numbers.to_float(fields[0]), numbers.to_float(fields[1])
        if mjds and mjd < mjds[-1]:
            raise InputError(path, lineno, f"MJD {fields[0]} is earlier than the line before: table not sorted")
        mjds.append(mjd)
        offsets.append(off)
    if not mjds:
        raise InputError(path, len(lines), "no clock corrections in file")
    return ClockFile(str(path), header[0], header[1], np.asarray(mjds), np.asarray(offsets))
