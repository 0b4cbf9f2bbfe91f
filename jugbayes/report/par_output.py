"""What a written .par needs besides the fitted values, so TEMPO2 and PINT read it as jugbayes meant it.

Three additions to :func:`jugbayes.report.fitted_par.updated_par`'s output:

- settings: every setting whose absence means something else in TEMPO2 or PINT, written as the
  model used it.  TEMPO2 without a line assumes solar wind ``NE_SW 4`` (cm^-3 at 1 AU),
  ``PLANET_SHAPIRO Y``, ``CORRECT_TROPOSPHERE Y``, ``DILATEFREQ Y``, ``TIMEEPH IF99``,
  ``UNITS TCB`` and ``MODE 0`` (an unweighted fit); PINT without ``CLK`` applies BIPM.  jugbayes
  reads a missing line as none of the effects (NE_SW 0, N, N, N), TDB (refusing other units), IF99 or
  FB90 (:func:`jugbayes.prepare.choose_time_ephemeris`), and always fits with weights, so those lines
  are written whenever the .par lacks them.  ``EPHEM``, ``CLK``
  (as the fit used it, ``--clk`` included), ``UNITS`` and ``TIMEEPH`` are always written;
  ``ECL`` for ecliptic coordinates and ``TNREDC``/``TNDMC`` for power-law noise likewise.
- summary lines (``START``, ``FINISH``, ``NTOA``, ``CHI2``, ``CHI2R``, ``TRES``), replacing any from an
  earlier fit; ``CHI2R`` as TEMPO2 writes it (reduced chi2, then degrees of freedom).
- a header of comment lines (program, version, date, input files), replacing an earlier jugbayes header.

A line the .par already has is kept as written, except ``TIMEEPH``/``CLK``/``EPHEM`` where the model
used another value (``--timeeph``, ``--clk``): those get the value used, after a comment line.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path

from jugbayes import __version__
from jugbayes.io.par import ParFile, Parameter
from jugbayes.model import catalog

HEADER_TAG = "# Program: jugbayes"  # the line that marks a header jugbayes wrote (replaced on rewrite)
_HEADER_KEYS = ("# Created:", HEADER_TAG, "# Input:")
SUMMARY_NAMES = ("START", "FINISH", "NTOA", "CHI2", "CHI2R", "TRES")
# Settings jugbayes reads as "off" when absent, where TEMPO2's default is on (or non-zero).
_OFF_WHEN_ABSENT = (("NE_SW", "0"), ("PLANET_SHAPIRO", "N"), ("CORRECT_TROPOSPHERE", "N"), ("DILATEFREQ", "N"))
_NOISE_COUNTS = (("TNREDAMP", "TNREDC"), ("RNAMP", "TNREDC"), ("TNDMAMP", "TNDMC"))  # PINT's and jugbayes's default: 30 frequencies
_DEFAULT_NOISE_COUNT = "30"


@dataclass(frozen=True)
class FitSummary:
    """What a fit leaves in the .par's summary lines (TRES: weighted rms, us)."""

    chi2: float
    dof: int
    wrms_us: float

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else math.nan


def _line(name: str, value: str, comment: str | None = None) -> Parameter:
    spec = catalog.lookup(name)
    return Parameter(spec.name, name, value, spec=spec, comment=comment)


def model_settings(model) -> list[tuple[str, str, bool]]:
    """(name, value, always) for the settings the model was evaluated with; ``always``: replace a differing line."""
    par, prep = model.par, model.prep
    out = [("EPHEM", prep.ephem, True), ("CLK", prep.standard.name, True), ("UNITS", "TDB", False),
           ("TIMEEPH", prep.timeeph, True), ("MODE", "1", False)]
    out += [(name, value, False) for name, value in _OFF_WHEN_ABSENT]
    if model.structure.frame == "ecliptic":
        out.append(("ECL", "IERS2010", False))
    counts = dict.fromkeys(count for amp, count in _NOISE_COUNTS if par.get(amp) is not None)
    return out + [(count, _DEFAULT_NOISE_COUNT, False) for count in counts]


def _with_settings(lines: list, par: ParFile, settings) -> list:
    """``lines`` with each setting written: missing ones appended, differing ones (``always``) replaced."""
    lines = list(lines)
    for name, value, always in settings:
        old = par.get(name)
        if old is None:
            lines.append(_line(name, value))
        elif always and old.value.strip().upper() != value.upper():
            i = next(k for k, x in enumerate(lines) if x is old)  # the note on a line of its own: PINT
            lines[i:i + 1] = [f"# {old.written_name} {old.value} in the input; jugbayes used {value}",  # reads no
                              dataclasses.replace(old, value=value)]  # comment after a value
    return lines


def _mjd_text(day: int, frac: float, rounding) -> str:
    return f"{day + rounding(frac * 1e6) / 1e6:.6f}"  # 0.1 s margin either side: TOAs at the ends stay inside


def summary_lines(toas, fit: FitSummary | None) -> list[Parameter]:
    """START/FINISH (UTC MJD, just outside the first and last TOA), NTOA, and with a fit CHI2, CHI2R, TRES."""
    mjd = toas.mjd_int + toas.mjd_frac
    first, last = int(mjd.argmin()), int(mjd.argmax())
    out = [_line("START", _mjd_text(int(toas.mjd_int[first]), float(toas.mjd_frac[first]), math.floor)),
           _line("FINISH", _mjd_text(int(toas.mjd_int[last]), float(toas.mjd_frac[last]), math.ceil)),
           _line("NTOA", str(len(toas)))]
    if fit is not None:
        out += [_line("CHI2", f"{fit.chi2:.6f}"), _line("CHI2R", f"{fit.reduced_chi2:.6f} {fit.dof}"),
                _line("TRES", f"{fit.wrms_us:.6f}")]
    return out


def _with_summary(lines: list, summary: list[Parameter]) -> list:
    """``lines`` with each summary line in place of an old one of its name, or appended."""
    new = {p.name: p for p in summary}
    out = []
    for line in lines:
        if isinstance(line, Parameter) and line.name in new:
            out.append(new.pop(line.name))
        elif not (isinstance(line, Parameter) and line.name in SUMMARY_NAMES and line.used):
            out.append(line)
    return out + list(new.values())


def _without_old_header(lines: list) -> list:
    """``lines`` less the comment header an earlier jugbayes run put at the top."""
    head = 0
    while head < len(lines) and isinstance(lines[head], str) and lines[head].startswith(_HEADER_KEYS):
        head += 1
    if any(isinstance(x, str) and x.startswith(HEADER_TAG) for x in lines[:head]):
        return lines[head:]
    return lines


def header_lines(inputs, command: str, now: _dt.datetime | None = None) -> list[str]:
    """Comment lines naming the program, version, time (UTC) and input files, as PINT and TEMPO2 head theirs."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return [f"# Created: {now.strftime('%Y-%m-%dT%H:%M:%SZ')}", f"{HEADER_TAG} {__version__} ({command})",
            "# Input: " + " ".join(str(Path(p)) for p in inputs)]


def output_par(par: ParFile, model, *, inputs, command: str, fit: FitSummary | None = None,
               now: _dt.datetime | None = None) -> ParFile:
    """``par`` (the fitted values already in) with header, settings and summary lines: ready to write."""
    lines = _without_old_header(par.lines)
    lines = _with_settings(lines, par, model_settings(model))
    lines = _with_summary(lines, summary_lines(model.toas, fit))
    return dataclasses.replace(par, lines=header_lines(inputs, command, now) + lines)
