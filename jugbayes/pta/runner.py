"""Send a PTA's pulsars to a Dask cluster as independent tasks, a few at a time, results to disk.

Without a scheduler address an embedded ``distributed.LocalCluster`` runs one single-threaded worker process
per core, each with one XLA thread and pinned to its own core (as :mod:`jugbayes.processes` does for NUTS
chains).  A worker that dies mid-task loses nothing: the scheduler runs the task again on another worker,
and a task publishes its folder only when complete (:mod:`jugbayes.pta.store`).  The client keeps only the
tasks in flight (about two per worker thread) and reads the summary back from disk at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import uuid
from contextlib import contextmanager
from pathlib import Path

from distributed import WorkerPlugin

from jugbayes.processes import core_groups, usable_cores
from jugbayes.pta import store
from jugbayes.pta.summary import write_summary
from jugbayes.pta.task import failed_row, run_pulsar

SCHEDULER_ENV = "JUGBAYES_SCHEDULER"


class LocalWorkerSetup(WorkerPlugin):
    """For LocalCluster worker ``k`` (workers are named 0, 1, ...): pin it to the k-th of ``groups``' core sets,
    and let Ctrl-C reach the client only (which stops the workers), not the workers' own event loops."""

    name = "jugbayes-local-worker"

    def __init__(self, groups):
        self.groups = groups

    def setup(self, worker):
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the worker's main thread
            pass
        if self.groups and isinstance(worker.name, int):
            try:
                os.sched_setaffinity(0, self.groups[worker.name % len(self.groups)])
            except OSError:
                pass


def local_cluster(workers: int):
    """An embedded cluster on 127.0.0.1: ``workers`` processes of one thread, one XLA thread each."""
    import logging

    from distributed import LocalCluster

    from jugbayes.processes import THREAD_ENV

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", env=dict(THREAD_ENV), silence_logs=logging.ERROR)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A Client of the cluster at ``scheduler`` (else ``$JUGBAYES_SCHEDULER``), or of an embedded one."""
    from distributed import Client

    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        with Client(address, timeout="30s") as client:
            yield client
        return
    n = workers or usable_cores()
    with local_cluster(n) as cluster, Client(cluster) as client:
        client.register_plugin(LocalWorkerSetup(core_groups(n)))
        try:
            yield client
        except KeyboardInterrupt:
            _kill_local_workers(cluster)
            raise


def _kill_local_workers(cluster) -> None:
    """Stop the embedded cluster's worker processes now (a task in flight would delay a graceful close by
    seconds); their results in flight are unpublished, so nothing incomplete is left."""
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


def _record_lost(job, outdir: Path, run: str, exc: BaseException) -> None:
    """A task that never returned (e.g. its workers kept dying): the client writes its failed row."""
    stage = store.staging(outdir, job.name)
    (stage / "error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    files = [f for f in (job.par, job.tim) if f and Path(f).is_file()]
    row = failed_row(job, f"the task did not finish: {type(exc).__name__}: {exc}") | {"run": run}
    store.write_json(stage / store.RESULT, {"row": row, "inputs": store.fingerprint(job.options, files)})
    store.publish(stage, outdir, job.name)


def _run_tasks(client, todo: list, outdir: Path, bar, run: str) -> None:
    """Submit ``todo`` a window at a time; each finished task advances ``bar``."""
    from distributed import as_completed

    queue, futures, running = iter(todo), as_completed(), {}

    def submit_more():
        limit = _window(client)
        while len(running) < limit:
            job = next(queue, None)
            if job is None:
                return
            fut = client.submit(run_pulsar, job, str(outdir), run, key=f"pulsar-{job.name}-{uuid.uuid4().hex[:8]}",
                                pure=False)
            running[fut.key] = (fut, job)
            futures.add(fut)

    submit_more()
    try:
        for fut in futures:
            _, job = running.pop(fut.key)
            if fut.status != "finished":
                _record_lost(job, outdir, run, fut.exception() if fut.status == "error" else RuntimeError(fut.status))
            bar.update()
            fut.release()
            submit_more()
    except BaseException:
        client.cancel([f for f, _ in running.values()], force=True)
        raise


def run_pta(jobs: list, outdir: str | Path, *, scheduler: str | None = None, workers: int | None = None,
            progress: bool = True, client=None) -> dict:
    """Fit every job whose folder in ``outdir`` is not current, then write the summary; return the status
    counts (with ``skipped``: the pulsars a previous run had done).  ``client``: use this Dask client
    instead of connecting to ``scheduler`` or starting a local cluster."""
    from tqdm.auto import tqdm

    outdir = Path(outdir)
    store.open_outdir(outdir)
    todo = [j for j in jobs if not store.is_current(j, outdir / j.name)]
    run = uuid.uuid4().hex[:12]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="pulsars", unit="pulsar", disable=not progress)
    try:
        if todo and client is not None:
            _run_tasks(client, todo, outdir, bar, run)
        elif todo:
            with dask_client(scheduler, min(workers or usable_cores(), len(todo))) as own:
                _run_tasks(own, todo, outdir, bar, run)
    finally:
        bar.close()
        shutil.rmtree(outdir / store.PARTIAL, ignore_errors=True)
        counts = write_summary(jobs, outdir, redo={j.name for j in todo}, run=run)
    return counts | {"skipped": len(jobs) - len(todo)}
