"""The pulsars of a PTA run: .par/.tim pairs found in a directory, or listed in a TOML file.

A directory is searched recursively (``par/`` and ``tim/`` folders, per-pulsar folders, or files side by
side); files are paired by the pulsar name at the start of their names (``J1909-3744_NANOGrav_12yv4.gls.par``
and ``J1909-3744_NANOGrav_12yv4.tim`` are ``J1909-3744``; a name without a J/B designation is the file name
up to its first dot).  A name with no .tim, or with several .par or .tim files, becomes a job that fails
with that problem, so the other pulsars still run; a TOML list settles such cases::

    [[pulsar]]
    par = "par/J1909-3744.gls.par"   # relative to the TOML file
    tim = "tim/J1909-3744.tim"
    name = "J1909-3744"              # optional: the output folder (default: from the .par's file name)
    freeze = "PX"                    # optional overrides of the command line's options (OVERRIDES)
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jugbayes.errors import InputError, JugbayesError

# TOML key -> option name (the keywords of jugbayes.fit.command.run_wls and, for nuts, sample.command.run_nuts)
OVERRIDES = {"fit": "fit", "freeze": "freeze", "clk": "clk", "ephem-file": "ephem_file", "clock-dir": "clock_dir",
             "gps-clock": "gps_file", "strict-clock": "strict_clock", "timeeph": "timeeph",
             "timeeph-file": "timeeph_file", "config": "config", "marginalize": "marginalize",
             "sample-noise": "sample_noise", "seed": "seed"}
_PATH_OPTIONS = ("ephem_file", "clock_dir", "timeeph_file", "config")
_NUTS_ONLY = ("config", "marginalize", "sample_noise", "seed")
_TYPES = {"sample_noise": (bool, "true or false"), "strict_clock": (bool, "true or false"),
          "seed": (int, "an integer")}
_PSR_NAME = re.compile(r"^([JB]\d{4}[+-]\d{2,4}[A-Za-z]?)(?![0-9])")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+\-_.]*$")


@dataclass(frozen=True)
class PulsarJob:
    """One pulsar's task: its name (the output folder), files, fit options, or the problem that stops it."""

    name: str
    par: str | None
    tim: str | None
    options: dict = field(default_factory=dict)
    problem: str | None = None


def pulsar_key(path: str | Path) -> str:
    """The pulsar name a file's name starts with (J/B designation), else its name up to the first dot."""
    name = Path(path).name
    m = _PSR_NAME.match(name)
    return m.group(1) if m else name.split(".")[0]


def read_source(source: str | Path, options: dict, skip: str | Path | None = None) -> list[PulsarJob]:
    """The jobs of ``source`` (a directory or a .toml list), each with ``options`` plus its own overrides;
    ``skip``: a folder not to search (the output directory)."""
    src = Path(source)
    if src.is_dir():
        return discover(src, options, skip)
    if src.suffix.lower() == ".toml" and src.is_file():
        return read_toml(src, options)
    raise InputError(src, None, "not a directory of .par/.tim files nor a .toml list of them")


def _files(root: Path, suffix: str, skip: Path | None) -> list[Path]:
    found = []
    for p in sorted(root.rglob(f"*{suffix}")):
        rel = p.relative_to(root).parts
        if p.is_file() and not any(part.startswith(".") for part in rel) and not (skip and p.is_relative_to(skip)):
            found.append(p)
    return found


def discover(root: Path, options: dict, skip: str | Path | None = None) -> list[PulsarJob]:
    """Pair the .par and .tim files under ``root`` by pulsar name (see the module's docstring)."""
    skip = Path(skip).resolve() if skip else None
    root = root.resolve()
    pars, tims = defaultdict(list), defaultdict(list)
    for p in _files(root, ".par", skip):
        pars[pulsar_key(p)].append(str(p))
    for t in _files(root, ".tim", skip):
        tims[pulsar_key(t)].append(str(t))
    if not pars:
        raise InputError(root, None, "no .par files here")
    return [_pair(name, pars[name], tims.get(name, []), options, root) for name in sorted(pars)]


def _pair(name: str, pars: list[str], tims: list[str], options: dict, root: Path) -> PulsarJob:
    problem = None
    if len(pars) > 1 or len(tims) > 1:
        several = pars if len(pars) > 1 else tims
        problem = (f"{len(several)} files for {name} ({', '.join(str(Path(f).relative_to(root)) for f in several)}): "
                   "list the pair to use in a TOML file (see jugbayes pta --help)")
    elif not tims:
        problem = f"{pars[0]}: no .tim file for {name} under {root}"
    return PulsarJob(_safe(name), pars[0], tims[0] if len(tims) == 1 else None, dict(options), problem)


def _safe(name: str) -> str:
    """``name`` as a folder name (characters other than letters, digits, + - _ . become _)."""
    return name if _SAFE_NAME.match(name) else re.sub(r"[^A-Za-z0-9+\-_.]", "_", name).lstrip(".") or "pulsar"


def _entry_lines(text: str) -> list[int]:
    """The 1-based line of each ``[[pulsar]]`` header."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*pulsar\s*\]\]", line)]


def read_toml(path: Path, options: dict) -> list[PulsarJob]:
    """The ``[[pulsar]]`` entries of a TOML list (see the module's docstring)."""
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(path, int(m.group(1)) if m else None, f"not valid TOML: {exc}") from None
    unknown = [k for k in data if k != "pulsar"]
    if unknown:
        raise InputError(path, _key_line(text, unknown[0]), f"unknown table or key {unknown[0]!r}: expected "
                         "[[pulsar]] entries")
    entries, lines = data.get("pulsar", []), _entry_lines(text)
    if not isinstance(entries, list) or not entries:
        raise InputError(path, None, "no [[pulsar]] entries")
    jobs = [_toml_job(path, e, lines[i] if i < len(lines) else None, options) for i, e in enumerate(entries)]
    seen = {}
    for i, job in enumerate(jobs):
        if job.name in seen:
            raise InputError(path, lines[i] if i < len(lines) else None,
                             f"pulsar name {job.name} is used twice (also at line {seen[job.name]}); set name = ...")
        seen[job.name] = lines[i] if i < len(lines) else None
    return jobs


def _key_line(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*\[*\s*\"?{re.escape(key)}\"?\s*[=\].]", line):
            return i
    return None


def _toml_job(path: Path, entry: dict, line: int | None, options: dict) -> PulsarJob:
    for key in ("par", "tim"):
        if not isinstance(entry.get(key), str):
            raise InputError(path, line, f"[[pulsar]] entry needs {key} = \"FILE\"")
    extra = set(entry) - set(OVERRIDES) - {"par", "tim", "name"}
    if extra:
        raise InputError(path, line, f"unknown key {sorted(extra)[0]!r} in [[pulsar]] (allowed: par, tim, name, "
                         f"{', '.join(OVERRIDES)})")
    base = path.parent.resolve()
    par, tim = (str((base / entry[k]).resolve()) for k in ("par", "tim"))
    opts = dict(options)
    for key, opt in OVERRIDES.items():
        if key in entry and opt in _NUTS_ONLY and opts.get("method") != "nuts":
            raise InputError(path, line, f"{key} is a --method nuts option; this run fits with --method "
                             f"{opts.get('method', 'wls')}")
        if key in entry:
            value = entry[key]
            kind, what = _TYPES.get(opt, (str, "a string"))
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise InputError(path, line, f"{key} = {value!r}: expected {what}")
            opts[opt] = str((base / value).resolve()) if opt in _PATH_OPTIONS else value
    name = entry.get("name", pulsar_key(par))
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise InputError(path, line, f"name {name!r} is not usable as a folder name (letters, digits, + - _ .)")
    return PulsarJob(name, par, tim, opts)


def check_unique(jobs: list[PulsarJob]) -> None:
    """Refuse two jobs writing the same output folder."""
    names = [j.name for j in jobs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise JugbayesError(f"several pulsars would write the same folder: {', '.join(twice)}")
