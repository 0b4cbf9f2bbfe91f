"""Where clock-correction files come from: local directories and a download cache.

Files are looked for, in order, in ``--clock-dir``, ``$JUGBAYES_CLOCK_DIR``,
``$TEMPO2/clock`` and the user cache.  Each directory may be flat (as
``$TEMPO2/clock`` is) or laid out like the IPTA ``pulsar-clock-corrections``
repository (``T2runtime/clock/*.clk``, ``tempo/clock/*.dat``).

:func:`update_cache` fills the cache from that repository (or a mirror): it
reads the repository's ``index.txt`` and downloads the files it lists, each
written atomically so an interrupted update never leaves half a file.  Only
the standard library is used, so the download needs no extra dependency.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jugbayes import __version__
from jugbayes.errors import InputError, JugbayesError

DEFAULT_URL = "https://raw.githubusercontent.com/ipta/pulsar-clock-corrections/main/"
INDEX_NAME = "index.txt"
REPO_SUBDIRS = ("T2runtime/clock", "tempo/clock")  # the repository's layout, tried after the flat one
_CHUNK_BYTES = 1 << 16
_SECONDS_PER_DAY = 86400.0

Progress = Callable[[int, int, str, str], None]  # (done, total, relative path, "downloaded"|"skipped"|"failed")


# --------------------------------------------------------------------------- where to look


def cache_dir() -> Path:
    """The user's clock-file download cache (it may not exist yet)."""
    from jugbayes.config import cache_root

    return cache_root() / "clock"


def _env_path(name: str) -> Path | None:
    """An environment variable as a path; unset and empty are the same (None)."""
    value = os.environ.get(name, "")
    return Path(value).expanduser() if value else None


def _candidate_dirs(clock_dir: str | os.PathLike | None) -> list[tuple[str, Path]]:
    """Every configured directory in search order, whether it exists or not."""
    found: list[tuple[str, Path]] = []
    if clock_dir is not None and os.fspath(clock_dir):
        found.append(("--clock-dir", Path(clock_dir).expanduser()))
    if env := _env_path("JUGBAYES_CLOCK_DIR"):
        found.append(("$JUGBAYES_CLOCK_DIR", env))
    if tempo2 := _env_path("TEMPO2"):
        found.append(("$TEMPO2/clock", tempo2 / "clock"))
    found.append(("cache", cache_dir()))
    return found


def search_dirs(clock_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Existing clock directories, labelled, in search order.

    A ``clock_dir`` the user named explicitly must exist; configured but missing
    environment directories and an empty cache are skipped.
    """
    dirs = _candidate_dirs(clock_dir)
    if dirs[0][0] == "--clock-dir" and not dirs[0][1].is_dir():
        problem = "is not a directory" if dirs[0][1].exists() else "does not exist"
        raise JugbayesError(f"--clock-dir {dirs[0][1]} {problem}")
    return [(label, path) for label, path in dirs if path.is_dir()]


def _subdirs(directory: Path, name: str) -> list[Path]:
    """The places inside one search directory: flat first, then the repository layout.

    The repository keeps stale TEMPO-format copies under ``T2runtime/clock``
    (``time_gbt.dat``, ``leap.sec``), so only ``.clk`` files look there first.
    """
    t2, tempo = (directory / sub for sub in REPO_SUBDIRS)
    return [directory, t2, tempo] if name.lower().endswith(".clk") else [directory, tempo, t2]


def _match_in(directory: Path, name: str) -> Path | None:
    """``name`` in one directory: the exact name, else one differing only in case."""
    places = _subdirs(directory, name)
    for place in places:
        if (place / name).is_file():
            return place / name
    wanted = name.casefold()
    for place in places:
        try:
            entries = sorted(os.listdir(place))
        except OSError:
            continue
        for entry in entries:
            if entry.casefold() == wanted and (place / entry).is_file():
                return place / entry
    return None


def find_clock_file(name: str, clock_dir: str | os.PathLike | None = None) -> Path | None:
    """The clock file called ``name`` from the first search directory that has it, or None."""
    for _label, directory in search_dirs(clock_dir):
        if (path := _match_in(directory, name)) is not None:
            return path
    return None


def _show(path: Path) -> str:
    """A path for messages, with the home directory written as ``~``."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _describe_dirs(clock_dir: str | os.PathLike | None) -> list[str]:
    """``label path`` for each configured directory, missing ones marked."""
    return [f"{label} {_show(path)}" + ("" if path.is_dir() else " (missing)")
            for label, path in _candidate_dirs(clock_dir)]


def describe_search(clock_dir: str | os.PathLike | None = None) -> str:
    """One line saying where clock files were looked for, for "not found" messages."""
    return f"looked in {', '.join(_describe_dirs(clock_dir))}; run `jugbayes clock update` to download"


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class IndexEntry:
    """One line of the repository's ``index.txt``."""

    path: str  # relative, POSIX, e.g. "T2runtime/clock/gbt2gps.clk"
    update_days: float  # how old a copy may get before it is fetched again (inf: never)
    invalid_before: dt.date | None  # a copy older than this is stale whatever its age

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def _safe_relative(path: str) -> bool:
    """Whether an index path stays inside the cache (the index comes from the network)."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and "\\" not in path and ".." not in parts \
        and ":" not in parts[0]


def _parse_index_line(source: str, lineno: int, fields: list[str]) -> IndexEntry:
    """One non-comment line: ``path [update_days [invalid_if_older_than]]``."""
    path = fields[0]
    if not _safe_relative(path):
        raise InputError(source, lineno, f"unsafe path {path!r} (must be relative, without '..')")
    try:
        update_days = float(fields[1]) if len(fields) > 1 else float("inf")
    except ValueError:
        raise InputError(source, lineno, f"update interval {fields[1]!r} is not a number of days") from None
    invalid = fields[2] if len(fields) > 2 else "---"
    try:
        invalid_before = None if invalid.strip("-") == "" else dt.date.fromisoformat(invalid)
    except ValueError:
        raise InputError(source, lineno, f"date {invalid!r} is not YYYY-MM-DD or ---") from None
    return IndexEntry(path, update_days, invalid_before)


def parse_index(text: str, source: str = INDEX_NAME) -> list[IndexEntry]:
    """The entries of an ``index.txt`` (``#`` starts a comment); ``source`` names it in errors."""
    entries = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if fields:
            entries.append(_parse_index_line(source, lineno, fields))
    return entries


def _is_fresh(local: Path, entry: IndexEntry, now_s: float) -> bool:
    """Whether a local copy is recent enough to keep (by its mtime, the time it was fetched)."""
    try:
        mtime_s = local.stat().st_mtime
    except OSError:
        return False
    if entry.invalid_before is not None:
        invalid_s = dt.datetime.combine(entry.invalid_before, dt.time(), dt.timezone.utc).timestamp()
        if mtime_s < invalid_s:
            return False
    return (now_s - mtime_s) / _SECONDS_PER_DAY < entry.update_days


# --------------------------------------------------------------------------- downloading


@dataclass
class UpdateReport:
    """What :func:`update_cache` did: relative paths downloaded, skipped as fresh, or failed (with why)."""

    downloaded: list[str]
    failed: list[tuple[str, str]]
    dest: Path
    skipped: list[str] = field(default_factory=list)


def _base_url(url: str) -> str:
    """A base URL ending in ``/``; an existing local directory becomes a ``file://`` URL."""
    if "://" not in url and Path(url).expanduser().is_dir():
        url = Path(url).expanduser().resolve().as_uri()
    return url if url.endswith("/") else url + "/"


def _reason(exc: BaseException, timeout_s: float) -> str:
    """A short human reason for a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, BaseException):
            return str(exc.reason)
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed with {exc.expected} bytes still to come"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


_FETCH_ERRORS = (OSError, ValueError, http.client.HTTPException)  # URLError and HTTPError are OSErrors


def _open(url: str, timeout_s: float):
    """Open ``url`` for reading (http, https or file)."""
    request = urllib.request.Request(url, headers={"User-Agent": f"jugbayes/{__version__}"})
    return urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 (the scheme is the user's choice)


def _read_chunks(response) -> Iterable[bytes]:
    """The body of a response in chunks, checking it is as long as the server said."""
    expected = response.headers.get("Content-Length") if response.headers else None
    got = 0
    while chunk := response.read(_CHUNK_BYTES):
        got += len(chunk)
        yield chunk
    if expected is not None and expected.isdigit() and got != int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - got)


def _write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``path`` through a temporary file in its directory, so it is whole or untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like any new file
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _download(url: str, path: Path, timeout_s: float) -> None:
    """Fetch ``url`` into ``path`` atomically."""
    with _open(url, timeout_s) as response:
        _write_atomic(path, _read_chunks(response))


def _fetch_index(base: str, dest: Path, timeout_s: float) -> list[IndexEntry]:
    """Download and parse ``index.txt``, keeping a copy in ``dest``; failure is a JugbayesError."""
    url = base + INDEX_NAME
    try:
        with _open(url, timeout_s) as response:
            data = b"".join(_read_chunks(response))
    except _FETCH_ERRORS as exc:
        raise JugbayesError(f"could not download clock index {url}: {_reason(exc, timeout_s)}") from None
    try:
        entries = parse_index(data.decode("utf-8"), source=url)
    except UnicodeDecodeError:
        raise InputError(url, None, "not a text file") from None
    try:
        _write_atomic(dest / INDEX_NAME, [data])
    except OSError as exc:
        raise JugbayesError(f"cannot write to clock cache {dest}: {exc.strerror or exc}") from None
    return entries


def _select(entries: list[IndexEntry], only: list[str] | None) -> tuple[list[IndexEntry], list[str]]:
    """The entries named in ``only`` (by file name), and the names the index does not list."""
    if only is None:
        return entries, []
    wanted = set(only)
    chosen = [e for e in entries if e.name in wanted]
    listed = {e.name for e in chosen}
    return chosen, [name for name in only if name not in listed]


def update_cache(url: str = DEFAULT_URL, dest: Path | None = None, only: list[str] | None = None,
                 timeout_s: float = 30.0, progress: Progress | None = None, force: bool = False) -> UpdateReport:
    """Download the clock files listed in ``url``'s ``index.txt`` into ``dest`` (default: the user cache).

    Files keep the repository layout.  ``only`` limits the download to those file
    names; without ``force``, a local copy younger than its ``update_days`` is kept.
    A file that fails is reported and the rest go on; an index that cannot be
    fetched is a :class:`JugbayesError`.
    """
    base = _base_url(url)
    dest = Path(dest).expanduser() if dest is not None else cache_dir()
    entries, unlisted = _select(_fetch_index(base, dest, timeout_s), only)
    report = UpdateReport(downloaded=[], failed=[(name, f"not listed in {INDEX_NAME}") for name in unlisted],
                          dest=dest)
    now_s = time.time()
    for done, entry in enumerate(entries, start=1):
        local = dest / entry.path
        if not force and _is_fresh(local, entry, now_s):
            report.skipped.append(entry.path)
            status = "skipped"
        else:
            status = _update_one(base + urllib.parse.quote(entry.path), local, entry.path, timeout_s, report)
        if progress is not None:
            progress(done, len(entries), entry.path, status)
    return report


def _update_one(url: str, local: Path, rel_path: str, timeout_s: float, report: UpdateReport) -> str:
    """Download one file, recording the outcome in ``report``; returns the status word."""
    try:
        _download(url, local, timeout_s)
    except _FETCH_ERRORS as exc:
        report.failed.append((rel_path, _reason(exc, timeout_s)))
        return "failed"
    report.downloaded.append(rel_path)
    return "downloaded"


# --------------------------------------------------------------------------- command line


def _print_progress(done: int, total: int, rel_path: str, status: str) -> None:
    """One overwritten status line on a terminal."""
    print(f"\r[{done}/{total}] {status} {rel_path}\033[K", end="" if done < total else "\n",
          file=sys.stderr, flush=True)


def _summary(report: UpdateReport) -> str:
    """``downloaded N files to DIR`` with what was kept and what failed."""
    text = f"downloaded {len(report.downloaded)} files to {_show(report.dest)}"
    if report.skipped:
        text += f", {len(report.skipped)} up to date"
    if report.failed:
        names = ", ".join(PurePosixPath(path).name for path, _ in report.failed)
        text += f" ({len(report.failed)} failed: {names})"
    return text


def _cmd_clock_update(args: argparse.Namespace) -> int:
    progress = _print_progress if sys.stderr.isatty() else None
    report = update_cache(url=args.url, dest=args.cache_dir, only=args.only, force=args.force,
                          progress=progress)
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(_summary(report))
    return 0


def _cmd_clock_where(args: argparse.Namespace) -> int:
    existing = {str(path) for _label, path in search_dirs(args.clock_dir)}  # also checks --clock-dir
    print("clock files are looked for in, in order:")
    for i, line in enumerate(_describe_dirs(args.clock_dir), start=1):
        print(f"  {i}. {line}")
    if not existing:
        print("no clock directory exists; run `jugbayes clock update` to download")
    if args.name is None:
        return 0
    path = find_clock_file(args.name, args.clock_dir)
    print(f"{args.name}: {path}" if path is not None else f"{args.name}: not found")
    return 0 if path is not None else 1


def add_clock_parser(subparsers) -> None:
    """Add ``clock update`` and ``clock where`` to a CLI's subcommands."""
    clock = subparsers.add_parser(
        "clock",
        help="download clock-correction files, or show where they are looked for",
        description="Clock-correction files are looked for in --clock-dir, $JUGBAYES_CLOCK_DIR, $TEMPO2/clock and "
        "the user cache, each either flat or in the IPTA pulsar-clock-corrections layout.",
    )
    sub = clock.add_subparsers(dest="clock_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "update",
        help="download the IPTA clock files into the cache",
        description=f"Download the files listed in the repository's index.txt (default {DEFAULT_URL}) into the "
        f"user cache ({_show(cache_dir())}), keeping its layout.  Files younger than their update interval are "
        "kept unless --force.",
    )
    p.add_argument("--url", default=DEFAULT_URL, metavar="URL", help="repository base URL (http, https or file)")
    p.add_argument("--cache-dir", metavar="DIR", help="download into DIR instead (use it later as --clock-dir DIR)")
    p.add_argument("--only", action="append", metavar="NAME", help="only this file name (repeatable)")
    p.add_argument("--force", action="store_true", help="download even files that are up to date")
    p.set_defaults(func=_cmd_clock_update)

    p = sub.add_parser(
        "where",
        help="show where clock files are looked for, and which file NAME resolves to",
        description="Print the clock-file search order; given NAME, the file that would be used (exit 1 if none).",
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="a clock file name, e.g. gbt2gps.clk")
    p.add_argument("--clock-dir", metavar="DIR", help="a directory searched before all others")
    p.set_defaults(func=_cmd_clock_where)
