"""Worker processes for JAX work that runs in parallel over the cores (NUTS chains, validation data sets).

XLA:CPU keeps helper threads beside even a "single-threaded" computation (about 1.8 cores per process), and
two unpinned JAX processes on 2 cores then run 3-4x slower each (the sampled-noise NUTS step: ~70 ms against
19-21 ms pinned).  CPU affinity is what bounds JAX's threads (jax-ml/jax#1539), so each worker is pinned to
its own cores before JAX starts.  Importing this module does not import JAX.
"""

from __future__ import annotations

import os

from jugbayes.config import SINGLE_THREAD_XLA_FLAGS

THREAD_ENV = {"XLA_FLAGS": SINGLE_THREAD_XLA_FLAGS,
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the platform reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def core_groups(workers: int) -> list[tuple[int, ...]] | None:
    """Disjoint sets of the cores this process may use, one per worker, or None where the platform cannot pin
    (no ``os.sched_setaffinity``) or there are more workers than cores."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if workers > len(cores):
        return None
    return [tuple(cores[i::workers]) for i in range(workers)]


def pin(cores_queue) -> None:
    """Restrict this process to the next free core set in ``cores_queue`` (none left: unrestricted)."""
    import queue

    try:
        os.sched_setaffinity(0, cores_queue.get_nowait())
    except (queue.Empty, OSError):
        pass


def spawn_pool(workers: int, initializer, initargs: tuple = ()):
    """A spawn-context ProcessPoolExecutor whose workers are pinned to disjoint cores, then run
    ``initializer(*initargs)``.  Each worker uses one XLA thread (set before JAX loads)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    ctx = get_context("spawn")
    groups, cores_queue = core_groups(workers), None
    if groups:
        cores_queue = ctx.Queue()
        for g in groups:
            cores_queue.put(g)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                               initargs=(cores_queue, initializer, initargs))


def _init(cores_queue, initializer, initargs) -> None:
    if cores_queue is not None:
        pin(cores_queue)
    os.environ.update(THREAD_ENV)
    if initializer is not None:
        initializer(*initargs)
