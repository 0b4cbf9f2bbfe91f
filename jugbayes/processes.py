"""Worker processes for JAX work that runs in parallel over the cores (NUTS chains, validation data sets).

XLA:CPU keeps helper threads beside even a "single-threaded" computation (about 1.8 cores per process), and
two unpinned JAX processes on 2 cores then run 3-4x slower each (the sampled-noise NUTS step: ~70 ms against
19-21 ms pinned).  CPU affinity is what bounds JAX's threads (jax-ml/jax#1539), so each worker is pinned to
its own cores (once JAX's backend has started: :func:`pin_after_jax_starts`).  Importing this module does not
import JAX.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor

from jugbayes.config import FAST_COMPILE_XLA_FLAG, SINGLE_THREAD_XLA_FLAGS, fast_compile_flag

THREAD_ENV = {"XLA_FLAGS": f"{fast_compile_flag()} {SINGLE_THREAD_XLA_FLAGS}".strip(),  # XLA: flags first
              "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def default_to_one_thread(keys=tuple(THREAD_ENV)) -> None:
    """Before JAX loads in this process: :data:`THREAD_ENV`'s ``keys`` where nobody set them (an empty value
    counts as set)."""
    import sys

    if "jax" not in sys.modules:
        if "XLA_FLAGS" in keys and os.environ.get("XLA_FLAGS", "").strip() == FAST_COMPILE_XLA_FLAG:
            # only what config.fast_compile_flags added in a jugbayes parent: the one-thread default still applies
            del os.environ["XLA_FLAGS"]
        for key in keys:
            os.environ.setdefault(key, THREAD_ENV[key])


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


def pin_after_jax_starts(cores) -> None:
    """Restrict this process to ``cores``, once JAX's CPU backend has started.  XLA sizes its parallel
    partitioning of a computation by the cores a process sees when the backend starts, and the last bits of
    the results depend on it: started before pinning, every process of a machine computes the same bits
    (a fit in a worker equals the same fit in ``jugbayes fit``)."""
    import jax

    jax.devices()
    threads = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for tid in threads:  # every thread: on Linux an affinity belongs to a thread, and JAX's already run
        try:
            os.sched_setaffinity(int(tid), cores)
        except OSError:
            pass


def pin(cores_queue) -> None:
    """Restrict this process to the next free core set in ``cores_queue`` (none left: unrestricted)."""
    import queue

    try:
        cores = cores_queue.get_nowait()
    except queue.Empty:
        return
    pin_after_jax_starts(cores)


class WorkerPool(ProcessPoolExecutor):
    """A ProcessPoolExecutor that, left by an exception (an interrupt included), kills its workers at once
    instead of waiting for their work: no orphan process, no exit held up in multiprocessing's atexit join."""

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return super().__exit__(exc_type, exc, tb)
        self.terminate()
        return False

    def terminate(self, grace_s: float = 1.0) -> None:
        """Cancel what is queued and end every worker (SIGTERM, then SIGKILL after ``grace_s``)."""
        procs = list((self._processes or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(grace_s)
            if p.is_alive():
                p.kill()
                p.join(grace_s)
        manager = getattr(self, "_executor_manager_thread", None)
        if manager is not None:  # let it finish closing the queues: an exit while it does leaks their semaphores
            manager.join(grace_s)


def spawn_pool(workers: int, initializer, initargs: tuple = ()) -> WorkerPool:
    """A spawn-context :class:`WorkerPool` whose workers are pinned to disjoint cores, then run
    ``initializer(*initargs)``.  Each worker uses one XLA thread (set before JAX loads) and ignores SIGINT:
    Ctrl-C reaches the whole process group, and only the parent acts on it (ending the workers)."""
    from multiprocessing import get_context

    ctx = get_context("spawn")
    groups, cores_queue = core_groups(workers), None
    if groups:
        cores_queue = ctx.Queue()
        for g in groups:
            cores_queue.put(g)
    return WorkerPool(workers, mp_context=ctx, initializer=_init, initargs=(cores_queue, initializer, initargs))


def _init(cores_queue, initializer, initargs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(THREAD_ENV)
    if cores_queue is not None:
        pin(cores_queue)
    if initializer is not None:
        initializer(*initargs)
