"""TOA files: TEMPO2 (``FORMAT 1``), Princeton and Parkes formats, with tim commands.

The reader follows what TEMPO2 and PINT do with the same files (line-format
detection, ``INCLUDE``, ``JUMP`` blocks, ``TIME``, ``EFAC``/``EQUAD``,
``SKIP``/``NOSKIP``, ``EMIN``/``EMAX``/``FMIN``/``FMAX``, ``PHASE``, ``INFO``,
``END``), so it yields the same TOAs PINT does.  Each TOA's MJD is kept as its
exact text and as (integer day, float64 fraction of day): ~1 ps resolution.
Problems are reported as ``FILE:LINE: problem``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jugbayes.errors import InputError
from jugbayes.geometry.sites import resolve_site, sites
from jugbayes.io import numbers
from jugbayes.io.output import atomic_write_text
from jugbayes.io.textfile import read_text_lines, refuse_overwrite

# Commands TEMPO/TEMPO2 define for .tim files.  The second set is recognised and
# ignored (with a warning), as PINT does.
_COMMANDS = {
    "INCLUDE", "JUMP", "TIME", "EFAC", "EQUAD", "EMIN", "EMAX", "FMIN", "FMAX", "SKIP", "NOSKIP",
    "MODE", "END", "FORMAT", "INFO", "PHASE", "PHA1", "PHA2",
}
_IGNORED_COMMANDS = {"DITHER", "EMAP", "SEARCH", "SIGMA", "SIM", "TRACK", "ZAWGT"}
_NUMERIC_COMMANDS = {"TIME", "EFAC", "EQUAD", "EMIN", "EMAX", "FMIN", "FMAX", "PHASE"}
# Flag names a TOA line may not use: they would shadow TOA columns (PINT refuses them too).
_RESERVED_FLAGS = {"error", "freq", "mjd", "obs", "name", "flags", "scale"}
_FLAG_KEY_RE = re.compile(r"^[A-Za-z_][\w.+-]*$")
_PRINCETON_RE = re.compile(r"^[0-9a-z@] ")
# TEMPO's rule for Princeton TOAs written with a truncated MJD.
_PRINCETON_MJD_MIN, _PRINCETON_MJD_OFFSET = 40000, 39126


class TimCommandWarning(UserWarning):
    """A tim-file command that is recognised but has no effect."""


@dataclass
class TOAs:
    """Times of arrival in ``.tim`` order, as columns.

    ``mjd_int + mjd_frac`` is the TOA's MJD in its site's time scale (UTC for
    observatories, TDB for the barycentre); ``mjd_text`` is the exact decimal.
    ``freq_mhz`` is ``inf`` for infinite frequency (written as 0 or ``inf``).
    ``error_us`` includes any tim-file ``EFAC``/``EQUAD``.  ``flags`` holds each
    TOA's ``-flag value`` pairs without the leading ``-``, plus those the tim
    commands set (``to``, ``jump``, ``tim_jump``, ``phase``, ``info``).
    """

    names: list[str]
    mjd_text: list[str]
    mjd_int: np.ndarray
    mjd_frac: np.ndarray
    freq_mhz: np.ndarray
    error_us: np.ndarray
    obs: list[str]
    flags: list[dict[str, str]]
    files: list[str]
    file_index: np.ndarray
    line: np.ndarray
    commands: list[tuple[str, int, list[str]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def path(self) -> str:
        """The top-level ``.tim`` file."""
        return self.files[0]

    @property
    def mjd(self) -> np.ndarray:
        """MJDs as single float64 (~1 us resolution): for display and plots only."""
        return self.mjd_int + self.mjd_frac

    def where(self, i: int) -> str:
        """``FILE:LINE`` of TOA ``i``, for messages."""
        return f"{self.files[self.file_index[i]]}:{self.line[i]}"

    def observatory_counts(self) -> dict[str, int]:
        return dict(Counter(self.obs))

    def flag_values(self) -> dict[str, dict[str, int]]:
        """For each flag, how many TOAs carry each value."""
        out: dict[str, Counter] = {}
        for f in self.flags:
            for k, v in f.items():
                out.setdefault(k, Counter())[v] += 1
        return {k: dict(c) for k, c in out.items()}


@dataclass
class _Row:
    name: str
    freq_text: str
    mjd_int: int
    mjd_frac_text: str  # digits after the decimal point, exactly as written
    error_text: str
    obs_code: str
    flags: dict[str, str]


@dataclass
class _State:
    """Tim-command state; shared by included files, as TEMPO2 and PINT share it."""

    time_s: float = 0.0
    phase: float = 0.0
    efac: float = 1.0
    equad_us: float = 0.0
    emin: float = 0.0
    emax: float = np.inf
    fmin: float = 0.0
    fmax: float = np.inf
    skip: bool = False
    info: str | None = None
    jump_open_at: tuple[str, int] | None = None
    jump_count: int = 0
    ended: bool = False
    tempo2: bool = False
    stack: list[Path] = field(default_factory=list)


class _Collector:
    def __init__(self) -> None:
        self.cols: dict[str, list] = {k: [] for k in ("names", "mjd_text", "mjd_int", "mjd_frac", "freq_mhz",
                                                       "error_us", "obs", "flags", "file_index", "line")}
        self.files: list[str] = []
        self.line_counts: list[int] = []
        self.commands: list[tuple[str, int, list[str]]] = []

    def file_id(self, path: Path, nlines: int) -> int:
        self.files.append(str(path))
        self.line_counts.append(nlines)
        return len(self.files) - 1


# ---------------------------------------------------------------- line formats


def _line_format(line: str, tempo2: bool) -> str:
    """Classify a line: princeton, comment, command, blank, parkes, tempo2, ambiguous or unknown.

    The order is PINT's, with one exception: under ``FORMAT 1`` a line that
    starts like a Princeton TOA (one lowercase letter or digit, then a space)
    is "ambiguous": read as TEMPO2 if it parses so, else as Princeton (PINT
    always reads it as Princeton, misreading TEMPO2 TOAs named ``a`` or ``1``).
    """
    if _PRINCETON_RE.match(line):
        return "ambiguous" if tempo2 else "princeton"
    stripped = line.strip()
    if not stripped:
        return "blank"
    if line.startswith(("C ", "c ", "#", "CC ", "C\t")) or stripped == "C":
        return "comment"
    if stripped.split()[0].upper() in _COMMANDS | _IGNORED_COMMANDS:
        return "command"
    if line.startswith(" ") and len(line) > 41 and line[41] == ".":
        return "parkes"
    # PINT counts the newline in its 80-character test; we see lines without it.
    if tempo2 or len(line) >= 80:
        return "tempo2"
    if len(line) > 14 and line[14] == "." and not line[:2].isspace():
        return "itoa"
    return "unknown"


def _parse_princeton(line: str) -> _Row:
    mjd_field = line[24:44].strip()
    day, frac = numbers.mjd_parts(mjd_field)
    if day < _PRINCETON_MJD_MIN:
        day += _PRINCETON_MJD_OFFSET
    # The DM-correction column becomes flag ``ddm`` on every Princeton TOA ("0.0" when blank), as PINT does.
    ddm = line[68:78].strip()
    if ddm and not numbers.is_float(ddm):
        raise ValueError(f"bad DM correction {ddm!r} in columns 69-78")
    flags = {"ddm": repr(numbers.to_float(ddm)) if ddm else "0.0"}
    return _Row(line[2:15].strip(), line[15:24].strip(), day, frac, line[44:53].strip(), line[0], flags)


def _parse_parkes(line: str) -> _Row:
    day_text, frac = line[34:41].strip(), line[42:55].strip()
    if not numbers.is_int(day_text) or (frac and not frac.isdigit()):
        raise ValueError(f"bad MJD {line[34:55].strip()!r} in columns 35-55")
    phase = line[55:62].strip()
    if phase and (not numbers.is_float(phase) or float(phase) != 0.0):
        raise ValueError(f"Parkes-format phase offset {phase!r} is not supported (only 0)")
    if len(line) < 80 or not line[79].strip():
        raise ValueError("Parkes-format line has no observatory code in column 80")
    return _Row(line[1:25].strip(), line[25:34].strip(), int(day_text), frac, line[63:71].strip(), line[79], {})


def _parse_tempo2(line: str) -> _Row:
    tokens = line.split()
    if len(tokens) < 5:
        raise ValueError("TEMPO2 TOA line needs: name freq_MHz MJD error_us observatory [-flag value ...]")
    name, freq, mjd, err, obs, *rest = tokens
    day, frac = numbers.mjd_parts(mjd)
    if len(rest) % 2:
        raise ValueError(f"flags must come in '-flag value' pairs; {rest[-1]!r} has no partner")
    flags = {}
    for key, value in zip(rest[::2], rest[1::2]):
        k = key[1:] if key.startswith("-") else key
        if not _FLAG_KEY_RE.match(k):  # a name starts with a letter or _: "-1.5" is a misplaced number, "-nan" a flag
            raise ValueError(f"{key!r} is not a valid flag name")
        if k.lower() in _RESERVED_FLAGS:
            raise ValueError(f"flag {key!r} would overwrite a TOA column")
        flags[k.lower()] = value
    return _Row(name, freq, day, frac, err, obs, flags)


_PARSERS = {"princeton": _parse_princeton, "parkes": _parse_parkes, "tempo2": _parse_tempo2}


# ---------------------------------------------------------------- commands


def _command_number(word: str, args: list[str], path: Path, lineno: int) -> float:
    """The number after a numeric tim command, or an ``InputError``: finite (EMAX/FMAX may be inf), EFAC > 0, EQUAD >= 0."""
    if not args or not numbers.is_float(args[0]):
        raise InputError(path, lineno, f"{word} needs a number, got {' '.join(args)[:40] or 'nothing'!r}")
    x = numbers.to_float(args[0])
    if np.isnan(x) or (np.isinf(x) and not (word in ("EMAX", "FMAX") and x > 0)):
        raise InputError(path, lineno, f"{word} needs a finite number, got {args[0][:40]!r}")
    if word == "EFAC" and x <= 0:
        raise InputError(path, lineno, f"EFAC must be positive, got {args[0]!r}")
    if word == "EQUAD" and x < 0:
        raise InputError(path, lineno, f"EQUAD must be non-negative, got {args[0]!r}")
    return x


def _command(tokens: list[str], path: Path, lineno: int, st: _State, out: _Collector) -> None:
    word = tokens[0].upper()
    args = tokens[1:]
    out.commands.append((str(path), lineno, tokens))
    if word in _NUMERIC_COMMANDS:
        x = _command_number(word, args, path, lineno)
        if word == "TIME":
            st.time_s += x
        elif word == "PHASE":
            st.phase += x
        else:
            setattr(st, {"EFAC": "efac", "EQUAD": "equad_us", "EMIN": "emin", "EMAX": "emax",
                         "FMIN": "fmin", "FMAX": "fmax"}[word], x)
    elif word == "INCLUDE":
        if not args:
            raise InputError(path, lineno, "INCLUDE needs a file name")
        target = path.parent / args[0]
        if not target.is_file():
            raise InputError(path, lineno, f"INCLUDE target not found: {target}")
        if target.resolve() in st.stack:
            raise InputError(path, lineno, f"INCLUDE of {target} would loop")
        saved = st.tempo2
        st.tempo2 = False
        _read_file(target, st, out)
        st.tempo2 = saved
    elif word == "JUMP":
        if st.jump_open_at is None:
            st.jump_open_at = (str(path), lineno)
        else:
            st.jump_open_at = None
            st.jump_count += 1
    elif word == "SKIP":
        st.skip = True
    elif word == "NOSKIP":
        st.skip = False
    elif word == "FORMAT":
        if args[:1] == ["1"]:
            st.tempo2 = True
    elif word == "INFO":
        st.info = args[0] if args else None
    elif word == "END":
        st.ended = True
    elif word in _IGNORED_COMMANDS:
        warnings.warn(f"{path}:{lineno}: tim command {word} has no effect here; ignored", TimCommandWarning,
                      stacklevel=2)
    # MODE, PHA1, PHA2: recorded in ``commands``, no effect on the TOAs.


# ---------------------------------------------------------------- TOAs


def _accept(row: _Row, path: Path, lineno: int, st: _State, out: _Collector, fid: int) -> None:
    try:
        freq = numbers.to_float(row.freq_text)
        err = numbers.to_float(row.error_text)
    except ValueError:
        bad = row.freq_text if not numbers.is_float(row.freq_text) else row.error_text
        raise InputError(path, lineno, f"bad number {bad[:40]!r} in TOA line") from None
    if not np.isfinite(err) or err <= 0:
        raise InputError(path, lineno, f"TOA error must be a finite, positive number of us, got {row.error_text[:40]!r}")
    if freq == 0.0:  # TEMPO's convention for infinite frequency; "inf" is read the same way
        freq = np.inf
    elif np.isinf(freq) and row.freq_text.strip().lstrip("+").lower() not in ("inf", "infinity"):
        raise InputError(path, lineno, f"frequency {row.freq_text[:40]!r} MHz overflows a float: not a frequency "
                                       "(write 0 or inf for an infinite frequency)")
    if freq < 0 or np.isnan(freq):
        raise InputError(path, lineno, f"bad frequency {row.freq_text[:40]!r} MHz (0 or inf: infinite frequency)")
    if st.emin > err or st.emax < err or st.fmin > freq or st.fmax < freq:
        return
    try:
        site = resolve_site(row.obs_code)
    except KeyError:
        raise InputError(path, lineno, f"unknown observatory code {row.obs_code!r}") from None
    flags = dict(row.flags)
    if st.time_s != 0.0:
        flags["to"] = repr(st.time_s)
    if st.phase != 0.0:
        flags["phase"] = repr(st.phase)
    if st.jump_open_at is not None:
        flags["jump"] = flags["tim_jump"] = str(st.jump_count + 1)
    if st.info is not None:
        flags["info"] = st.info
    c = out.cols
    c["names"].append(row.name or "unk")
    c["mjd_text"].append(f"{row.mjd_int}.{row.mjd_frac_text}" if row.mjd_frac_text else str(row.mjd_int))
    c["mjd_int"].append(row.mjd_int)
    c["mjd_frac"].append(float("0." + row.mjd_frac_text) if row.mjd_frac_text else 0.0)
    c["freq_mhz"].append(freq)
    c["error_us"].append(float(np.hypot(err * st.efac, st.equad_us)))
    c["obs"].append(site)
    c["flags"].append(flags)
    c["file_index"].append(fid)
    c["line"].append(lineno)


def _parse_toa(line: str, kind: str, path: Path, lineno: int) -> _Row:
    try:
        if kind != "ambiguous":
            return _PARSERS[kind](line)
        try:
            row = _parse_tempo2(line)
            resolve_site(row.obs_code)
            return row
        except (ValueError, KeyError) as tempo2_exc:
            try:
                return _parse_princeton(line)
            except ValueError:
                raise ValueError(str(tempo2_exc).strip("'\"")) from None
    except ValueError as exc:
        label = "tempo2" if kind == "ambiguous" else kind
        raise InputError(path, lineno, f"{exc} ({label} format)") from None


def _read_file(path: Path, st: _State, out: _Collector) -> None:
    lines = read_text_lines(path, ".tim file")
    fid = out.file_id(path, len(lines))
    st.stack.append(path.resolve())
    for lineno, line in enumerate(lines, start=1):
        kind = _line_format(line, st.tempo2)
        if kind in ("comment", "blank"):
            continue
        if kind == "command":
            _command(line.split(), path, lineno, st, out)
        elif kind in _PARSERS or kind == "ambiguous":
            if st.skip:
                continue
            _accept(_parse_toa(line, kind, path, lineno), path, lineno, st, out, fid)
        elif kind == "itoa":
            raise InputError(path, lineno, "ITOA-format TOAs are not supported; convert to TEMPO2 format")
        else:
            raise InputError(path, lineno, f"unrecognised line (not a TOA in any known format, nor a command): "
                                           f"{line.strip()[:60]!r}")
        if st.ended:
            break
    st.stack.pop()


def read_tim(path: str | os.PathLike) -> TOAs:
    """Read a ``.tim`` file and everything it INCLUDEs."""
    path = Path(path)
    st, out = _State(), _Collector()
    _read_file(path, st, out)
    if st.jump_open_at is not None:
        f, ln = st.jump_open_at
        raise InputError(f, ln, "JUMP block opened here is never closed (a second JUMP line ends it)")
    c = out.cols
    if not c["names"]:
        where = out.commands[-1][:2] if st.ended else (path, out.line_counts[0])
        raise InputError(*where, "no TOAs found" + (" before END" if st.ended else " by the end of the file"))
    return TOAs(
        names=c["names"],
        mjd_text=c["mjd_text"],
        mjd_int=np.asarray(c["mjd_int"], dtype=np.int64),
        mjd_frac=np.asarray(c["mjd_frac"], dtype=np.float64),
        freq_mhz=np.asarray(c["freq_mhz"], dtype=np.float64),
        error_us=np.asarray(c["error_us"], dtype=np.float64),
        obs=c["obs"],
        flags=c["flags"],
        files=out.files,
        file_index=np.asarray(c["file_index"], dtype=np.int32),
        line=np.asarray(c["line"], dtype=np.int64),
        commands=out.commands,
    )


# ---------------------------------------------------------------- writing


def _obs_code(site: str) -> str:
    s = sites()[site]
    return s.tempo2_code or s.name


def format_tim(toas: TOAs) -> str:
    """TEMPO2-format (``FORMAT 1``) text for the TOAs, with every flag."""
    out = ["FORMAT 1", "MODE 1"]
    for i in range(len(toas)):
        freq = toas.freq_mhz[i]
        freq_text = "0.0" if np.isinf(freq) else repr(float(freq))
        name = toas.names[i] if toas.names[i] and not any(ch.isspace() for ch in toas.names[i]) else "unk"
        flags = " ".join(f"-{k} {v}" for k, v in toas.flags[i].items())
        out.append(f"{name} {freq_text} {toas.mjd_text[i]} {float(toas.error_us[i])!r} {_obs_code(toas.obs[i])} {flags}".rstrip())
    return "\n".join(out) + "\n"


def write_tim(toas: TOAs, path: str | os.PathLike) -> None:
    """Write TOAs as a TEMPO2 ``.tim``, refusing to overwrite any file they were read from."""
    atomic_write_text(refuse_overwrite(path, toas.files), format_tim(toas))
