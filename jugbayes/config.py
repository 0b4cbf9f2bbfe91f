"""Process-wide settings that keep jugbayes offline unless a command asks to download.

astropy would fetch fresh IERS Earth-orientation tables from the internet when
its bundled ones look old; jugbayes uses the tables the ``astropy-iers-data``
package ships instead.  Every module that uses astropy's time or coordinates
calls :func:`configure_astropy` first (it is cheap after the first call).
"""

from __future__ import annotations

from functools import lru_cache


# XLA on the CPU with one thread: set before JAX starts in worker processes, where the parallelism is across
# processes (NUTS chains, validation data sets; :mod:`jugbayes.processes`).
SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


DEFAULT_CACHE_MAX_MB = 2048  # per compiled-program folder (jax/, export/)


def cache_root():
    """jugbayes's cache folder (compiled programs, downloaded clocks and ephemerides): ``$JUGBAYES_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/jugbayes``, else ``~/.cache/jugbayes``; an empty variable counts as unset."""
    import os
    from pathlib import Path

    if base := os.environ.get("JUGBAYES_CACHE_DIR"):
        return Path(base).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "jugbayes"
    return Path.home() / ".cache" / "jugbayes"


@lru_cache(maxsize=1)
def configure_astropy() -> None:
    """Turn off astropy's automatic IERS downloads (tables come from ``astropy-iers-data``)."""
    from astropy.utils import iers

    iers.conf.auto_download = False
    # Do not complain that the shipped predictive table is "stale": it is the
    # newest the installed package has; a user updates it with pip.
    iers.conf.auto_max_age = None


# XLA:CPU's LLVM IR fusion emitters rather than its newer MLIR ones: the fitter's programs compile in about half
# the time and run as fast (issue 28; benchmarks/profile_compile.py).  Only for the jaxlib releases it was measured
# on: XLA aborts on a flag it does not know, and newer XLA drops the older emitters.
FAST_COMPILE_XLA_FLAG = "--xla_cpu_use_fusion_emitters=false"
FAST_COMPILE_JAXLIB = ("0.10.",)


@lru_cache(maxsize=1)
def fast_compile_flag() -> str:
    """:data:`FAST_COMPILE_XLA_FLAG` where the installed jaxlib is one it was measured on and
    ``$JUGBAYES_FAST_COMPILE`` is not 0 (the CLI sets 0 for ``--method nuts``: the sampler's log density ran
    7-11% slower with these emitters, more than their shorter compile saves in a run of minutes), else ""."""
    import os
    from importlib import metadata

    if os.environ.get("JUGBAYES_FAST_COMPILE", "1") == "0":
        return ""
    try:
        return FAST_COMPILE_XLA_FLAG if metadata.version("jaxlib").startswith(FAST_COMPILE_JAXLIB) else ""
    except metadata.PackageNotFoundError:
        return ""


def fast_compile_flags() -> None:
    """Before JAX's backend starts (XLA reads ``$XLA_FLAGS`` then): put :func:`fast_compile_flag` in it unless it
    already chooses the emitters.  Child processes inherit it, so that every process of a run compiles the same
    code (the same last bits)."""
    import os
    import sys

    flags = os.environ.get("XLA_FLAGS", "")
    bridge = sys.modules.get("jax._src.xla_bridge")
    if "xla_cpu_use_fusion_emitters" in flags or getattr(bridge, "_backends", None) or not fast_compile_flag():
        return
    # First: XLA stops reading flags at a word without "--" (SINGLE_THREAD_XLA_FLAGS ends with one).
    os.environ["XLA_FLAGS"] = f"{fast_compile_flag()} {flags}".strip()


@lru_cache(maxsize=1)
def enable_x64() -> None:
    """Make JAX compute in float64 (jugbayes never uses float32: timing needs ns over decades); and
    :func:`fast_compile_flags`."""
    fast_compile_flags()
    import jax

    jax.config.update("jax_enable_x64", True)


def enable_compilation_cache() -> None:
    """Keep JAX's compiled programs on disk so a second run of a command skips compilation (and, for the
    programs :func:`jugbayes.jitcache.cached_jit` makes, tracing and lowering).

    ``$JUGBAYES_CACHE_DIR/jax`` (else ``~/.cache/jugbayes/jax``); ``JUGBAYES_NO_JAX_CACHE=1`` turns it off.
    Each of the two folders is kept under ``$JUGBAYES_CACHE_MAX_MB`` (default 2048), oldest files out first (exported programs by last use).
    """
    import os

    if os.environ.get("JUGBAYES_NO_JAX_CACHE"):
        return
    import jax

    root = cache_root()
    from jugbayes import jitcache

    max_bytes = int(float(os.environ.get("JUGBAYES_CACHE_MAX_MB", DEFAULT_CACHE_MAX_MB)) * 2**20)
    jax.config.update("jax_compilation_cache_dir", str(root / "jax"))
    # Not jax_compilation_cache_max_size: with it set, JAX 0.10.2 writes no cache entries at all.
    jitcache.prune(root / "jax", max_bytes)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # small programs too: a fresh fit loads ~10

    jitcache.enable(root / "export", max_bytes)  # and skip tracing/lowering of the fitter's programs
