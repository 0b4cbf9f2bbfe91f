"""Reading user text files with clean errors for empty, binary or missing files."""

from __future__ import annotations

import os
from pathlib import Path

from jugbayes.errors import InputError

_MAX_BYTES = 512 * 1024 * 1024


def read_text_lines(path: str | os.PathLike, what: str) -> list[str]:
    """The lines of a text file (no line endings), or an ``InputError`` saying why not.

    ``what`` names the expected kind of file in messages (".par file", ".tim file").
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(p, None, f"is a directory, not a {what}")
        if p.stat().st_size > _MAX_BYTES:
            raise InputError(p, None, f"too large for a {what} ({p.stat().st_size} bytes)")
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(p, None, f"no such file (expected a {what})") from None
    except PermissionError:
        raise InputError(p, None, "permission denied") from None
    except OSError as exc:
        raise InputError(p, None, f"cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise InputError(p, 1, f"empty file, not a {what}")
    if b"\x00" in data[:65536]:
        raise InputError(p, data.count(b"\n", 0, data.index(b"\x00")) + 1, f"binary file (NUL byte), not a {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    head = text[:65536]
    controls = [i for i, ch in enumerate(head) if ord(ch) < 32 and ch not in "\t\n\r\f\v"]
    if len(controls) > 0.05 * len(head):
        raise InputError(p, head.count("\n", 0, controls[0]) + 1, f"binary file (control bytes), not a {what}")
    return text.splitlines()


def refuse_overwrite(target: str | os.PathLike, inputs) -> Path:
    """``target`` as a Path, or an ``InputError`` if it is one of the ``inputs`` files (never overwrite them)."""
    target = Path(target)
    for src in inputs:
        if src is not None and target.exists() and Path(src).exists() and target.samefile(src):
            raise InputError(target, None, "refusing to overwrite an input file; choose another output path")
    return target
