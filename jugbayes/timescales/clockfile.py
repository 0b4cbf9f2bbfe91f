"""Clock-correction files in TEMPO2 (``*.clk``) and TEMPO (``time_*.dat``) formats.

TEMPO2: a ``# FROM TO`` line naming the two clocks, then ``MJD offset_s`` lines
(further columns ignored); other ``#`` lines are comments.

TEMPO: fixed columns (MJD in columns 1-9, two offsets in microseconds in 10-21
and 22-33, a one-character TEMPO site code in column 35); the correction is the
second offset minus the first, and a first offset above 800 us has 818.8 us
taken off (a rule hard-wired in TEMPO).  Header lines start with ``MJD`` or
``=====``; ``INCLUDE file`` pulls in another file from the same directory.  One
file may hold several sites, told apart by the site code.

Both give what to add to a time on the file's clock to get the next clock in
the chain, linearly interpolated.  Times outside the table are reported, never
silently given zero: :meth:`ClockFile.evaluate` returns a mask of them.
Some files end with a placeholder far in the future ("bogus last correction",
as PINT's site table marks them); readers drop it when asked.
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


def read_tempo2_clock(path: str | os.PathLike, *, drop_last: bool = False) -> ClockFile:
    """Read a TEMPO2 ``.clk`` file; problems are ``InputError`` with file and line.

    ``drop_last`` discards the final row (a placeholder, not a measurement).
    """
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
        mjd, off = (_number(fields[0]), _number(fields[1])) if len(fields) >= 2 else (None, None)
        if mjd is None or off is None:
            raise InputError(path, lineno, f"expected 'MJD offset_seconds', got {line.strip()[:60]!r}")
        if mjds and mjd < mjds[-1]:
            raise InputError(path, lineno, f"MJD {fields[0]} is earlier than the line before: table not sorted")
        mjds.append(mjd)
        offsets.append(off)
    return _finish(path, len(lines), header[0], header[1], mjds, offsets, drop_last)


def _finish(path, nlines, from_clock, to_clock, mjds, offsets, drop_last) -> ClockFile:
    if drop_last and len(mjds) > 1:
        mjds, offsets = mjds[:-1], offsets[:-1]
    if not mjds:
        raise InputError(path, nlines, "no clock corrections in file")
    return ClockFile(str(path), from_clock, to_clock, np.asarray(mjds, dtype=float), np.asarray(offsets, dtype=float))


# TEMPO's sanity window for clock-file MJDs (earlier or later rows are notes, not data).
_TEMPO_MJD_MIN, _TEMPO_MJD_MAX = 39000.0, 100000.0
_TEMPO_EECO_OFFSET_US = 818.8


def _number(text: str) -> float | None:
    """A clock-file number (plain float fast path; TEMPO's ``D`` exponents too), or None."""
    try:
        return float(text)
    except ValueError:
        return numbers.to_float(text) if numbers.is_float(text) else None


def _tempo_field(line: str, start: int, stop: int) -> float | None:
    text = line[start:stop].strip()
    return _number(text) if text else None


def _tempo_rows(path: Path, site_code: str | None, seen: set) -> list[tuple[float, float, int]]:
    """(mjd, offset_s, line) rows of a TEMPO clock file for one site, INCLUDEs expanded."""
    if path in seen:
        raise InputError(path, None, "clock file INCLUDEs itself")
    seen = seen | {path}
    rows = []
    for lineno, line in enumerate(read_text_lines(path, "TEMPO clock file"), start=1):
        tokens = line.split()
        if not tokens or line.startswith("#") or tokens[0].upper().startswith("MJD") or tokens[0].startswith("====="):
            continue
        if tokens[0].upper() == "INCLUDE":
            if len(tokens) < 2:
                raise InputError(path, lineno, "INCLUDE needs a file name")
            target = path.parent / tokens[1]
            if not target.exists():
                raise InputError(path, lineno, f"INCLUDEd clock file {tokens[1]} not found in {path.parent}")
            rows.extend(_tempo_rows(target, site_code, seen))
            continue
        code = line[34].lower() if len(line) > 34 else ""
        if site_code is not None and code != site_code.lower():
            continue
        mjd = _tempo_field(line, 0, 9)
        first, second = _tempo_field(line, 9, 21), _tempo_field(line, 21, 33)
        if mjd is None or (first is None and second is None):
            continue  # free-text note line, as TEMPO treats it
        if not (_TEMPO_MJD_MIN <= mjd <= _TEMPO_MJD_MAX):
            continue  # placeholder rows such as MJD -2740.5
        first, second = first or 0.0, second or 0.0
        if first > 800.0:
            first -= _TEMPO_EECO_OFFSET_US
        rows.append((mjd, (second - first) * 1e-6, lineno))
    return rows


def read_tempo_clock(path: str | os.PathLike, site_code: str | None = None, *, drop_last: bool = False) -> ClockFile:
    """Read a TEMPO ``time_*.dat`` clock file, keeping the rows of one TEMPO site code.

    With ``site_code=None`` every row is kept (a single-site file).
    """
    path = Path(path)
    rows = _tempo_rows(path, site_code, frozenset())
    for (m0, _, _), (m1, _, line) in zip(rows, rows[1:]):
        if m1 < m0:
            raise InputError(path, line, f"MJD {m1} is earlier than the row before: table not sorted")
    label = f"site {site_code}" if site_code else "site"
    return _finish(path, None, f"{label} clock", "UTC(GPS/NIST)", [r[0] for r in rows], [r[1] for r in rows], drop_last)
