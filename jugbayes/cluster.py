"""Independent tasks on a Dask cluster: ``jugbayes pta``'s pulsars and ``jugbayes validate``'s data sets.

Without a scheduler address an embedded ``distributed.LocalCluster`` runs one single-threaded worker process
per core, each with one XLA thread and pinned to its own cores (XLA:CPU keeps helper threads beside even a
one-thread computation; :mod:`jugbayes.processes`).  A worker that dies mid-task loses nothing: the scheduler
runs the task again on another worker.  The client keeps only the tasks in flight (about two per worker
thread).  Importing this module imports neither JAX nor Dask.
"""

from __future__ import annotations

import os
import signal
import uuid
from contextlib import contextmanager

SCHEDULER_ENV = "JUGBAYES_SCHEDULER"


def prepare_worker_process(cache: bool = True) -> None:
    """In a task, before JAX loads in its process: one XLA thread (where nobody chose otherwise); then, with
    ``cache``, keep compiled programs on disk, as the CLI does."""
    from jugbayes.config import enable_compilation_cache
    from jugbayes.processes import default_to_one_thread

    default_to_one_thread()

    if cache and not getattr(prepare_worker_process, "done", False):
        enable_compilation_cache()
        prepare_worker_process.done = True


def worker_address() -> str:
    """The Dask worker this runs on, or "local"."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _local_worker_setup(groups):
    from distributed import WorkerPlugin

    class LocalWorkerSetup(WorkerPlugin):
        """For LocalCluster worker ``k`` (workers are named 0, 1, ...): pin it to the k-th of ``groups``' core
        sets, and let Ctrl-C reach the client only (which stops the workers), not the workers' event loops."""

        name = "jugbayes-local-worker"

        def setup(self, worker):
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            except ValueError:  # not the worker's main thread
                pass
            if groups and isinstance(worker.name, int):
                from jugbayes.processes import pin_after_jax_starts

                pin_after_jax_starts(groups[worker.name % len(groups)])

    return LocalWorkerSetup()


def local_cluster(workers: int):
    """An embedded cluster on 127.0.0.1: ``workers`` processes of one thread, one XLA thread each."""
    import logging

    from distributed import LocalCluster

    from jugbayes.processes import THREAD_ENV

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", env=dict(THREAD_ENV), silence_logs=logging.ERROR)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, pin: bool = True):
    """A Client of the cluster at ``scheduler`` (else ``$JUGBAYES_SCHEDULER``), or of an embedded one of
    ``workers`` processes (default: one per core), each pinned to its own cores unless not ``pin``."""
    from distributed import Client

    from jugbayes.processes import core_groups, usable_cores

    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        with Client(address, timeout="30s") as client:
            yield client
        return
    n = workers or usable_cores()
    with local_cluster(n) as cluster, Client(cluster) as client:
        client.register_plugin(_local_worker_setup(core_groups(n) if pin else None))
        try:
            yield client
        except KeyboardInterrupt:
            _kill_local_workers(cluster)
            raise


def _kill_local_workers(cluster) -> None:
    """Stop the embedded cluster's worker processes now (a task in flight would delay a graceful close by
    seconds); what they had in flight is lost, and the callers keep only results that came back whole."""
    for nanny in list(cluster.workers.values()):
        process = getattr(getattr(nanny, "process", None), "process", None)
        if process is not None and process.pid:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except OSError:
                pass


def _window(client) -> int:
    """How many tasks to keep submitted: two per worker thread, and a few for workers yet to join."""
    return 2 * sum(client.nthreads().values()) + 4


def run_windowed(client, fn, items, label=str):
    """``fn(*item)`` for each item of ``items`` as a task, a window at a time; yields ``(item, future)`` as each
    finishes (``future.status`` "finished", or "error" for a task that raised or whose workers kept dying).
    Leaving early (an exception, Ctrl-C) cancels the tasks in flight.  ``label(item)``: names the task."""
    from distributed import as_completed

    queue, futures, running = iter(items), as_completed(), {}

    def submit_more():
        limit = _window(client)
        while len(running) < limit:
            item = next(queue, None)
            if item is None:
                return
            fut = client.submit(fn, *item, key=f"{label(item)}-{uuid.uuid4().hex[:8]}", pure=False)
            running[fut.key] = (fut, item)
            futures.add(fut)

    submit_more()
    try:
        for fut in futures:
            _, item = running.pop(fut.key)
            yield item, fut
            fut.release()
            submit_more()
    except BaseException:
        client.cancel([f for f, _ in running.values()], force=True)
        raise
