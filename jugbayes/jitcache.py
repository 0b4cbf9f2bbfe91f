"""Compiled functions kept across processes: traced and lowered once, then loaded from disk.

JAX's persistent compilation cache (:func:`jugbayes.config.enable_compilation_cache`) skips XLA
compilation in a new process, but every process still traces the Python function and lowers it to
StableHLO: about a second for the fitter's step.  :func:`cached_jit` keeps the lowered program too, as a
``jax.export`` serialization keyed by everything it depends on (the function's name and the caller's
key, the arguments' tree structure, shapes and dtypes, the JAX version and a hash of jugbayes's own
source), and calls that program instead of tracing again.  Array arguments only; static pytree
leaves (such as the model data's names) are part of the key, not of the call.  Keep each argument's
placement the same from call to call (committed device arrays or not): JAX compiles, and loads, one
executable per placement.

Off unless the compilation cache is configured (the CLI turns it on; tests do not).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp

_EXPORT_DIR: list[Path] = []  # set by enable(); empty: plain jax.jit


def enable(root: Path, max_bytes: int | None = None) -> None:
    """Keep exported programs under ``root`` (``jugbayes.config.enable_compilation_cache`` calls this),
    first pruning it to ``max_bytes`` (least recently used programs go first)."""
    _EXPORT_DIR[:] = [Path(root)]
    if max_bytes is not None:
        prune(Path(root), max_bytes)


def prune(folder: Path, max_bytes: int) -> int:
    """Delete the least recently used files of ``folder`` until it holds at most ``max_bytes``; count deleted."""
    entries = sorted(_files(folder), key=lambda e: e[1].st_mtime)
    total = sum(st.st_size for _, st in entries)
    removed = 0
    for path, st in entries:
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= st.st_size
        removed += 1
    return removed


def disable() -> None:
    _EXPORT_DIR.clear()


@lru_cache(maxsize=1)
def _source_hash() -> str:
    """A hash of jugbayes's .py files: any code change makes new keys."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _signature(args) -> str:
    leaves, treedef = jax.tree_util.tree_flatten(args)
    shapes = [(tuple(x.shape), str(x.dtype)) if isinstance(x, jax.ShapeDtypeStruct)
              else (tuple(jnp.shape(x)), str(jnp.result_type(x))) for x in leaves]
    return f"{treedef}|{shapes}"


def exportable(cls):
    """Class decorator: let a NamedTuple cross a :func:`cached_jit` program's inputs or outputs (``jax.export``
    serializes only registered node types; unregistered, the program is compiled again in every process)."""
    jax.export.register_namedtuple_serialization(cls, serialized_name=f"{cls.__module__}.{cls.__qualname__}")
    return cls


def cached_jit(fn, key: str) -> "CachedJit":
    """``jax.jit(fn)``, served from an on-disk export when the cache is on.

    ``key`` names what ``fn`` closes over (the model structure, the free parameters, ...): two functions
    with the same name, key and argument signature must compute the same thing.
    """
    return CachedJit(fn, key)


class CachedJit:
    """See :func:`cached_jit`.  :meth:`compile_ahead` compiles for given argument shapes on a thread pool, so
    that a caller's several programs compile at once (XLA releases the GIL while it compiles)."""

    def __init__(self, fn, key: str):
        self._fn, self._key = fn, key
        self._jitted = jax.jit(fn)
        self._programs: dict = {}  # signature -> callable on the pytree arguments, or its Future

    def __call__(self, *args):
        if not _EXPORT_DIR and not self._programs:
            return self._jitted(*args)
        sig = _signature(args)
        program = self._programs.get(sig)
        if program is None:
            program = self._programs[sig] = self._build(args, compile_now=False)
        elif isinstance(program, Future):
            program = self._programs[sig] = program.result()
        return program(*args)

    def compile_ahead(self, pool: ThreadPoolExecutor, *args) -> None:
        """Start compiling for ``args`` (arrays, or ``jax.ShapeDtypeStruct`` leaves) on ``pool``; the first
        call with arguments of that signature waits for it."""
        sig = _signature(args)
        if sig not in self._programs:
            self._programs[sig] = pool.submit(self._build, args, True)

    def _build(self, args, compile_now: bool):
        if not _EXPORT_DIR:
            return self._jitted.lower(*args).compile() if compile_now else self._jitted
        name = f"{getattr(self._fn, '__qualname__', self._fn)}|{self._key}|{_signature(args)}"
        on_leaves = _load_or_export(self._jitted, name, args)
        if compile_now:
            on_leaves = on_leaves.lower(*jax.tree_util.tree_leaves(args)).compile()
        return lambda *a: on_leaves(*jax.tree_util.tree_leaves(a))


def compile_pool() -> ThreadPoolExecutor:
    """Threads for :meth:`CachedJit.compile_ahead`: one per core this process may use (at most 4)."""
    from jugbayes.processes import usable_cores

    return ThreadPoolExecutor(max(1, min(4, usable_cores())), thread_name_prefix="jugbayes-compile")


def _load_or_export(jitted, full_key: str, args):
    """A jitted callable on the flat array leaves of ``args``: loaded from disk, or exported and saved."""
    digest = hashlib.sha256(f"{full_key}|{jax.__version__}|{jax.default_backend()}|{_source_hash()}".encode())
    path = _EXPORT_DIR[0] / f"{digest.hexdigest()}.jaxexport"
    exported = None
    if path.exists():
        try:
            exported = jax.export.deserialize(bytearray(path.read_bytes()))
            os.utime(path)  # last use, for prune()
        except Exception:  # an unreadable entry (another JAX, a truncated write) is rebuilt
            exported = None
    if exported is None:
        leaves, treedef = jax.tree_util.tree_flatten(args)

        def flat(*xs):
            return jitted(*jax.tree_util.tree_unflatten(treedef, xs))

        try:
            exported = jax.export.export(jax.jit(flat))(*leaves)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(exported.serialize())
            tmp.replace(path)
        except Exception as exc:  # exporting is an optimisation: fall back to plain jit
            warnings.warn(f"could not keep a compiled program on disk ({exc}); compiling each run", stacklevel=4)
            return jax.jit(flat)
    return jax.jit(exported.call)


COMPILED_SUBDIRS = {"jax": "JAX compilation cache", "export": "exported jugbayes programs"}  # under the cache root


def _files(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """Every file under ``folder`` with its stat (none if it does not exist)."""
    return [(p, p.stat()) for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def compiled_usage(root: Path) -> dict[str, tuple[int, int]]:
    """Files and bytes of each compiled-program folder under ``root`` (``jugbayes cache info``)."""
    usage = {}
    for sub in COMPILED_SUBDIRS:
        files = _files(root / sub)
        usage[sub] = (len(files), sum(st.st_size for _, st in files))
    return usage


def clear_compiled(root: Path) -> tuple[int, int]:
    """Delete the compiled programs under ``root`` (files, bytes); downloaded ephemerides and clocks stay."""
    import shutil

    n, size = (sum(x) for x in zip(*compiled_usage(root).values()))
    for sub in COMPILED_SUBDIRS:
        shutil.rmtree(root / sub, ignore_errors=True)
    return n, size
