"""Writing outputs safely: paths checked against the inputs before any work, files written atomically, strict JSON.

Every writer goes through :func:`atomic_write_text` or :func:`atomic_path`: the data go to a temporary file in
the target's folder, renamed over the target only once complete, so an interrupted or failed write leaves the
old file (or none), never half a file.  :func:`check_outputs` runs before a command computes anything.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from jugbayes.errors import InputError


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` are one file: equal after resolving symlinks and ``..``, or the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def check_outputs(outputs: dict[str, str | os.PathLike | None], inputs, *, overwrite: bool = False) -> None:
    """Refuse (``InputError``) any output that is an input, repeats another output, or exists without ``overwrite``.

    ``outputs`` maps what names each path (an option such as ``--summary``) to the path (``None``: not asked
    for); ``inputs`` are every file read (the .par, the .tim and each file it INCLUDEs, configs).
    """
    seen: dict[Path, str] = {}
    inputs = [Path(i) for i in inputs if i is not None]
    for option, path in outputs.items():
        if path is None:
            continue
        p = Path(path)
        for src in inputs:
            if _same_file(p, src):
                raise InputError(p, None, f"{option}: refusing to overwrite an input file ({src}); "
                                          "choose another output path")
        key = p.resolve()
        if key in seen:
            raise InputError(p, None, f"{option} and {seen[key]} name the same file; choose two paths")
        seen[key] = option
        if p.is_dir():
            raise InputError(p, None, f"{option}: is a directory, not a file")
        if not p.parent.is_dir():
            raise InputError(p, None, f"{option}: folder {p.parent} does not exist")
        if p.exists() and not overwrite:
            raise InputError(p, None, f"{option}: exists; give --overwrite to replace it, or choose another path")


def check_plot_path(option: str, path: str | os.PathLike | None) -> None:
    """Refuse a figure path whose suffix matplotlib cannot write (before any work, not after it)."""
    if path is None:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in kinds:
        raise InputError(path, None, f"{option}: cannot draw a figure as {'.' + suffix if suffix else 'a file with no suffix'} "
                                     f"(use one of .{', .'.join(sorted(kinds))})")


@contextmanager
def atomic_path(path: str | os.PathLike):
    """A temporary path beside ``path`` (same suffix, so writers infer the format); renamed to ``path`` on success.

    On any exception (an interrupt included) the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename); returns ``path`` as a Path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_figure(fig, path: str | os.PathLike, **savefig_kw) -> None:
    """``fig.savefig`` atomically (the format from ``path``'s suffix)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **savefig_kw)


def finite_or_none(obj):
    """``obj`` with every non-finite float (NaN, inf) replaced by ``None``, in nested dicts, lists and tuples."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj, **dumps_kw) -> Path:
    """Strict JSON (non-finite numbers as ``null``, never the invalid NaN/Infinity tokens), written atomically."""
    return atomic_write_text(path, json.dumps(finite_or_none(obj), allow_nan=False, **dumps_kw))
