"""TEMPO2/PINT ``.par`` files: read, inspect, write.

Every parameter keeps its value exactly as written (text), so nothing is lost
to float64 and a read -> write -> read cycle is an identity on values, fit
flags and uncertainties.  Comment lines and parameters the model does not use
are kept in place and written back unchanged.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from decimal import Decimal

from jugbayes.errors import InputError
from jugbayes.io import numbers
from jugbayes.io.output import atomic_write_text
from jugbayes.io.textfile import read_text_lines, refuse_overwrite
from jugbayes.model import catalog
from jugbayes.model.catalog import ParamSpec

_BOOL_TRUE = {"Y", "YES", "T", "TRUE"}
_BOOL_FALSE = {"N", "NO", "F", "FALSE"}
# Masked families for which two lines with one selector are an error (PINT
# refuses them too); repeated JUMPs are allowed, as both PINT and TEMPO2 read them.
_UNIQUE_SELECTOR_FAMILIES = {"EFAC", "EQUAD", "TNEQ", "ECORR", "DMEFAC", "DMEQUAD"}
# Selector keywords for masked parameters and how many values each takes.
_SELECTOR_ARITY = {"MJD": 2, "FREQ": 2, "TEL": 1, "NAME": 1}


class UnusedParameterWarning(UserWarning):
    """Parameters in a ``.par`` the timing model does not use (kept, written back)."""


@dataclass
class Parameter:
    """One parameter line of a ``.par`` file.

    ``value`` and ``uncertainty`` are the text as written.  ``name`` is the
    canonical name (``ECC`` for ``E``, ``JUMP3`` for the third JUMP line);
    ``written_name`` is the name as it appeared.  ``spec`` is ``None`` for a
    parameter the timing model does not use.
    """

    name: str
    written_name: str
    value: str
    fit: bool = False
    uncertainty: str | None = None
    selector: tuple[str, ...] = ()
    spec: ParamSpec | None = None
    line: int | None = None
    comment: str | None = None  # an inline ``# ...`` after the fields, written back
    # The line had a fit-flag column; it is written back only then (or when free), since
    # PINT reads "0" as uncertainty 0 and lets a flag on a repeated JUMP re-flag the first.
    flag_written: bool = False

    @property
    def used(self) -> bool:
        return self.spec is not None

    @property
    def kind(self) -> str:
        return self.spec.kind if self.spec else catalog.TEXT

    def as_pair(self) -> tuple[float, float]:
        """A two-number parameter's values (``WAVEk``: sine, cosine amplitude; ``IFUNCk``: MJD, offset)."""
        a, b = self.value.split()
        return numbers.to_float(a), numbers.to_float(b)

    def as_float(self) -> float:
        """The value as float64 (angles: RAJ in hours, DECJ in degrees)."""
        return float(self.as_decimal())

    def as_split(self) -> tuple[float, float]:
        """The value as an exact float64 pair ``(hi, lo)``, for epochs and F0."""
        return numbers.split_decimal(self.as_decimal())

    def as_decimal(self) -> Decimal:
        """The exact value (angles: RAJ in hours, DECJ in degrees)."""
        if self.kind in (catalog.HMS, catalog.DMS) and numbers.is_sexagesimal(self.value):
            return numbers.sexagesimal_to_decimal(self.value)
        return numbers.to_decimal(self.value)

    def as_bool(self) -> bool:
        """Y/YES/T/TRUE, or a nonzero number, is true."""
        v = self.value.upper()
        return v in _BOOL_TRUE or (numbers.is_float(v) and float(v) != 0.0)


@dataclass
class ParFile:
    """A parsed ``.par``: its lines in order, parameters addressable by name."""

    path: str | None
    lines: list[Parameter | str] = field(default_factory=list)
    _index: tuple = field(default=(None, -1, {}), init=False, repr=False, compare=False)

    @property
    def params(self) -> dict[str, Parameter]:
        """Parameters the timing model uses, by canonical name, in file order."""
        # Rebuilt when lines are added or replaced by a new list (the reader appends; editors make new files).
        if self._index[0] is not self.lines or self._index[1] != len(self.lines):
            self._index = (self.lines, len(self.lines),
                           {p.name: p for p in self.lines if isinstance(p, Parameter) and p.used})
        return self._index[2]

    @property
    def unused(self) -> list[Parameter]:
        """Parameters the timing model does not use, in file order."""
        return [p for p in self.lines if isinstance(p, Parameter) and not p.used]

    @property
    def pulsar(self) -> str | None:
        p = self.params.get("PSR")
        return p.value if p else None

    def get(self, name: str) -> Parameter | None:
        """A used parameter by canonical name or any alias (``E`` finds ``ECC``)."""
        spec = catalog.lookup(name)
        return self.params.get(spec.name if spec and not spec.mask else name.upper())

    def __getitem__(self, name: str) -> Parameter:
        p = self.get(name)
        if p is None:
            raise KeyError(name)
        return p

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def masked(self, family: str) -> list[Parameter]:
        """The masked parameters of one family (``JUMP``, ``EFAC``, ...) in file order."""
        return [p for p in self.params.values() if p.spec.mask and p.spec.name == family]


# ---------------------------------------------------------------- reading


def _is_comment(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#") or s == "C" or s.startswith(("C ", "C\t", "c ", "c\t"))


# Parameters for which ``inf`` is a value TEMPO2 itself writes: TZRFRQ inf is infinite frequency, as 0 is.
_INF_ALLOWED = {"TZRFRQ"}


def _check_value(spec: ParamSpec, text: str) -> str | None:
    """Why ``text`` is not a valid value for ``spec``, or ``None`` if it is."""
    kind = spec.kind
    if kind in (catalog.FLOAT, catalog.MJD) and not numbers.is_float(text):
        return f"bad number {_shown(text)} for {spec.name}"
    if kind in (catalog.FLOAT, catalog.MJD, catalog.HMS, catalog.DMS) and numbers.is_float(text) \
            and not numbers.is_finite_float(text):
        if not (spec.name in _INF_ALLOWED and numbers.to_float(text) == float("inf")):
            return f"{spec.name} must be a finite number, got {_shown(text)}"
    if kind in (catalog.HMS, catalog.DMS):
        if numbers.is_sexagesimal(text):
            try:
                numbers.sexagesimal_to_decimal(text)
            except ValueError as exc:
                return f"bad angle for {spec.name}: {exc}"
        elif not numbers.is_float(text):
            return f"bad angle {_shown(text)} for {spec.name} (expected {'hh:mm:ss.s' if kind == catalog.HMS else 'dd:mm:ss.s'})"
    if kind == catalog.INT and (not numbers.is_int(text) or len(text.lstrip("+-")) > 18):
        return f"bad integer {_shown(text)} for {spec.name}"
    if kind == catalog.BOOL and text.upper() not in _BOOL_TRUE | _BOOL_FALSE and not numbers.is_float(text):
        return f"bad yes/no value {_shown(text)} for {spec.name} (expected Y or N)"
    return None


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut short if long (a 1 MB number stays a one-line error)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _is_fit_flag(token: str) -> bool:
    """True if ``token``, after a value, reads as a fit flag (an integer equal to 0 or 1)."""
    return numbers.is_int(token) and int(token) in (0, 1)


def _fit_and_uncertainty(tokens: list[str], name: str) -> tuple[bool, bool, str | None, str | None]:
    """Read the optional ``[FIT] [UNCERTAINTY]`` tail; returns (fit, flag_written, uncertainty, problem).

    ``flag_written`` is true when the tail has a fit-flag column: a lone 0 or 1, or any
    number followed by an uncertainty.

    As PINT reads it: a lone integer 0 or 1 is the fit flag, any other lone
    number the uncertainty; with two tokens the second is the uncertainty and
    the first sets the fit flag only if it is 0 or 1.
    """
    if not tokens:
        return False, False, None, None
    if len(tokens) > 2:
        return False, False, None, f"too many fields after the value of {name}: {' '.join(tokens)!r}"
    for t in tokens:
        if not numbers.is_float(t):
            return False, False, None, f"bad fit flag or uncertainty {_shown(t)} for {name}"
        if not numbers.is_finite_float(t):
            return False, False, None, f"uncertainty of {name} must be a finite number, got {_shown(t)}"
        if t.startswith("-"):
            return False, False, None, f"negative fit flag or uncertainty {t!r} for {name}"
    first = tokens[0]
    is_flag = _is_fit_flag(first)
    fit = is_flag and int(first) == 1
    if len(tokens) == 2:
        return fit, True, tokens[1], None
    return fit, is_flag, None if is_flag else first, None


def _read_selector(tokens: list[str], name: str) -> tuple[tuple[str, ...], list[str], str | None]:
    """Split a masked parameter's tokens into selector and the rest; third item a problem."""
    if not tokens:
        return (), [], f"{name} needs a TOA selector and a value"
    key = tokens[0]
    if key.startswith("-") and len(key) > 1 and not numbers.is_float(key):
        arity = 1
    elif key.upper() in _SELECTOR_ARITY:
        arity = _SELECTOR_ARITY[key.upper()]
        key = key.upper()
    else:
        return (), [], (
            f"{name} needs a TOA selector (-flag value, MJD a b, FREQ a b, TEL x or NAME x), got {key!r}"
        )
    if len(tokens) < 1 + arity + 1:
        return (), [], f"{name} {key}: selector needs {arity} value(s) and then the parameter's value"
    sel_values = tokens[1 : 1 + arity]
    if key in ("MJD", "FREQ"):
        bad = [v for v in sel_values if not numbers.is_float(v)]
        if bad:
            return (), [], f"bad number {bad[0]!r} in {name} {key} range"
    return (key, *sel_values), tokens[1 + arity :], None


def _parse_pair(spec: ParamSpec, written: str, tokens: list[str], lineno: int, path, comment) -> Parameter:
    """A two-number parameter (``WAVE1 a b``, ``IFUNC1 mjd offset [uncertainty]``): held as ``"a b"``, never
    fitted; a third number, where the family has one, is its uncertainty."""
    n_max = 3 if spec.name.startswith("IFUNC") else 2
    if not 2 <= len(tokens) <= n_max or not all(numbers.is_float(t) for t in tokens):
        what = "an MJD and an offset (s)" if n_max == 3 else "two numbers (sine and cosine amplitudes)"
        raise InputError(path, lineno, f"{written} needs {what}, got {' '.join(tokens)!r}")
    bad = [t for t in tokens if not numbers.is_finite_float(t)]
    if bad:
        raise InputError(path, lineno, f"{written} must be finite numbers, got {_shown(bad[0])}")
    unc = tokens[2] if len(tokens) == 3 else None
    return Parameter(spec.name, written, " ".join(tokens[:2]), uncertainty=unc, spec=spec, line=lineno,
                     comment=comment)


def _parse_line(text: str, lineno: int, path: str | None) -> Parameter:
    tokens = text.split()
    written = tokens[0]
    spec = catalog.lookup(written)
    if spec is None or spec.kind == catalog.TEXT:
        rest = text.strip()[len(written) :].strip()
        return Parameter(written.upper() if spec is None else spec.name, written, rest, spec=spec, line=lineno)
    comment = None
    hashes = [i for i, t in enumerate(tokens) if t.startswith("#")]
    if hashes:
        comment = " ".join(tokens[hashes[0] :])
        tokens = tokens[: hashes[0]]
    tokens = tokens[1:]
    selector: tuple[str, ...] = ()
    if spec.mask:
        selector, tokens, problem = _read_selector(tokens, written)
        if problem:
            raise InputError(path, lineno, problem)
    if not tokens:
        raise InputError(path, lineno, f"{written} has no value")
    if spec.kind == catalog.PAIR:
        return _parse_pair(spec, written, tokens, lineno, path, comment)
    value, tail = tokens[0], tokens[1:]
    problem = _check_value(spec, value)
    if problem is None:
        fit, flag_written, unc, problem = _fit_and_uncertainty(tail, written)
    if problem:
        raise InputError(path, lineno, problem)
    return Parameter(spec.name, written, value, fit, unc, selector, spec, lineno, comment, flag_written)


def parse_par_lines(lines: list[str], path: str | os.PathLike | None = None, *, warn: bool = True) -> ParFile:
    """Parse ``.par`` text lines; errors name ``path`` and the 1-based line."""
    path = None if path is None else os.fspath(path)
    par = ParFile(path)
    seen: dict[str, int] = {}
    mask_counts: dict[str, int] = {}
    selectors_seen: dict[tuple, int] = {}
    for lineno, text in enumerate(lines, start=1):
        if _is_comment(text):
            par.lines.append(text)
            continue
        p = _parse_line(text, lineno, path)
        if p.spec is not None and p.spec.mask:
            if p.name in _UNIQUE_SELECTOR_FAMILIES:
                key = (p.name, *p.selector)  # selector keywords (MJD, TEL, ...) are upper-cased already
                if key in selectors_seen:
                    raise InputError(path, lineno, f"duplicated parameter {p.written_name} {' '.join(p.selector)} "
                                                   f"(same selector already given at line {selectors_seen[key]})")
                selectors_seen[key] = lineno
            mask_counts[p.name] = mask_counts.get(p.name, 0) + 1
            p = replace(p, name=f"{p.name}{mask_counts[p.name]}")
        elif p.spec is not None:
            if p.name in seen:
                raise InputError(
                    path, lineno, f"duplicated parameter {p.written_name} (already given at line {seen[p.name]})"
                )
            seen[p.name] = lineno
        par.lines.append(p)
    if not any(isinstance(p, Parameter) for p in par.lines):
        raise InputError(path, len(lines), "no parameters found by the end of the file: not a .par file")
    if warn and par.unused:
        unused = list(dict.fromkeys(p.written_name for p in par.unused))
        names = ", ".join(unused[:12]) + (f", ... ({len(unused)} in all)" if len(unused) > 12 else "")
        warnings.warn(
            f"{path or '<par>'}: parameters not used by the timing model, kept and written back unchanged: {names}",
            UnusedParameterWarning,
            stacklevel=3,
        )
    return par


def read_par(path: str | os.PathLike, *, warn: bool = True) -> ParFile:
    """Read a TEMPO2/PINT ``.par`` file."""
    return parse_par_lines(read_text_lines(path, ".par file"), path, warn=warn)


# ---------------------------------------------------------------- writing


def format_param(p: Parameter) -> str:
    """One ``.par`` line for a parameter, readable by TEMPO, TEMPO2 and PINT."""
    if p.kind == catalog.TEXT:
        return f"{p.written_name:<15} {p.value}".rstrip()
    if p.kind == catalog.PAIR:
        return " ".join((f"{p.written_name:<15}", p.value, *(t for t in (p.uncertainty, p.comment) if t)))
    head = " ".join((p.written_name, *p.selector))
    parts = [f"{head:<15}", f"{p.value:>25}"]
    # An uncertainty with no flag before it must not read back as a flag.
    unc_would_read_as_flag = p.uncertainty is not None and _is_fit_flag(p.uncertainty)
    if p.fit or p.flag_written or unc_would_read_as_flag:
        parts.append("1" if p.fit else "0")
    if p.uncertainty is not None:
        parts.append(f"{p.uncertainty:>25}")
    if p.comment:
        parts.append(p.comment)
    return " ".join(parts)


def format_par(par: ParFile) -> str:
    """The whole ``.par`` text."""
    out = [line if isinstance(line, str) else format_param(line) for line in par.lines]
    return "\n".join(out) + "\n"


def write_par(par: ParFile, path: str | os.PathLike, *, protect: tuple = ()) -> None:
    """Write ``par`` to ``path``, refusing to overwrite ``par.path`` or any path in ``protect``."""
    atomic_write_text(refuse_overwrite(path, (par.path, *protect)), format_par(par))
