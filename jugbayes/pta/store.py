"""The output directory of a PTA run: one folder per pulsar, published whole, and what a rerun may skip.

A task writes into ``DIR/.partial/<PSR>.<random>/`` and, when every file is there (``result.json`` last),
renames that folder to ``DIR/<PSR>``: a killed worker or an interrupted run leaves complete folders only.
``result.json`` holds the summary row and the inputs' fingerprint: the options, the jugbayes version and the
SHA-256 of the .par, the .tim and every file the .tim INCLUDEs.  A rerun skips a pulsar whose folder is
complete, succeeded, and whose fingerprint matches the inputs as they are now.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from jugbayes import __version__
from jugbayes.errors import JugbayesError
from jugbayes.sample.command import POSTERIOR_FILES  # a --method nuts folder's files besides OUTPUTS

RESULT = "result.json"
PARTIAL = ".partial"
MARKER = "pta.json"
OUTPUTS = ("fitted.par", "fit.json", "fit.txt")  # besides result.json, in a successful pulsar's folder


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(options: dict, files) -> dict:
    """What a result depends on: options, jugbayes version, and each input file's SHA-256."""
    return {"options": options, "jugbayes": __version__,
            "files": {str(Path(f).resolve()): file_sha256(f) for f in files}}


def is_current(job, folder: Path) -> bool:
    """True when ``folder`` holds a complete, successful result for ``job`` with its inputs unchanged."""
    try:
        record = json.loads((folder / RESULT).read_text())
    except (OSError, ValueError):
        return False
    inputs = record.get("inputs", {})
    files = inputs.get("files", {})
    if record.get("row", {}).get("status") != "ok" or inputs.get("options") != job.options:
        return False
    if inputs.get("jugbayes") != __version__ or not {job.par, job.tim} <= set(files):
        return False
    outputs = OUTPUTS + (POSTERIOR_FILES if job.options.get("method") == "nuts" else ())
    if not all((folder / name).is_file() for name in outputs):
        return False
    try:
        return all(file_sha256(f) == sha for f, sha in files.items())
    except OSError:
        return False


def open_outdir(outdir: Path) -> None:
    """Create ``outdir`` or reopen one a PTA run made; refuse a non-empty folder it did not make.  Clears the
    staging folders an interrupted run left."""
    marker = outdir / MARKER
    if outdir.exists() and any(outdir.iterdir()) and not marker.exists():
        raise JugbayesError(f"{outdir} is not empty and holds no {MARKER} of a jugbayes pta run; choose a new or "
                            "empty --outdir (nothing there is overwritten)")
    (outdir / PARTIAL).mkdir(parents=True, exist_ok=True)
    for stale in (outdir / PARTIAL).iterdir():
        shutil.rmtree(stale, ignore_errors=True)
    if not marker.exists():
        marker.write_text(json.dumps({"made_by": "jugbayes pta", "jugbayes": __version__}) + "\n")


def staging(outdir: Path, name: str) -> Path:
    """A new empty folder to write ``name``'s results in before publishing them."""
    path = outdir / PARTIAL / f"{name}.{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def publish(stage: Path, outdir: Path, name: str) -> None:
    """Move the complete ``stage`` folder to ``outdir/name``, replacing an earlier result of ``name``."""
    target = outdir / name
    if target.exists():
        old = outdir / PARTIAL / f"{name}.old.{uuid.uuid4().hex[:12]}"
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(stage, target)
    except OSError:  # another attempt of the same task published first (a retried task that was not dead)
        shutil.rmtree(stage, ignore_errors=True)
