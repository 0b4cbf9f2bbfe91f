"""Send a PTA's pulsars to a Dask cluster as independent tasks, a few at a time, results to disk.

The cluster (an embedded ``LocalCluster`` or one at ``--scheduler``) and the windowed submission are
:mod:`jugbayes.cluster`'s.  A worker that dies mid-task loses nothing: the scheduler runs the task again on
another worker, and a task publishes its folder only when complete (:mod:`jugbayes.pta.store`).  The client
reads the summary back from disk at the end.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from jugbayes.cluster import dask_client, run_windowed
from jugbayes.processes import usable_cores
from jugbayes.pta import store
from jugbayes.pta.summary import write_summary
from jugbayes.pta.task import failed_row, run_pulsar


def _record_lost(job, outdir: Path, run: str, exc: BaseException) -> None:
    """A task that never returned (e.g. its workers kept dying): the client writes its failed row."""
    stage = store.staging(outdir, job.name)
    (stage / "error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    files = [f for f in (job.par, job.tim) if f and Path(f).is_file()]
    row = failed_row(job, f"the task did not finish: {type(exc).__name__}: {exc}") | {"run": run}
    store.write_json(stage / store.RESULT, {"row": row, "inputs": store.fingerprint(job.options, files)})
    store.publish(stage, outdir, job.name)


def _size(job) -> int:
    """Bytes of the job's .tim: the largest pulsars go first, so that the last tasks are short ones."""
    try:
        return Path(job.tim).stat().st_size
    except (OSError, TypeError):
        return 0


def _run_tasks(client, todo: list, outdir: Path, bar, run: str) -> None:
    """Run ``todo``'s pulsars as tasks; each finished task advances ``bar``."""
    items = [(job, str(outdir), run) for job in todo]
    for (job, _, _), fut in run_windowed(client, run_pulsar, items, label=lambda item: f"pulsar-{item[0].name}"):
        if fut.status != "finished":
            _record_lost(job, outdir, run, fut.exception() if fut.status == "error" else RuntimeError(fut.status))
        bar.update()


def run_pta(jobs: list, outdir: str | Path, *, scheduler: str | None = None, workers: int | None = None,
            progress: bool = True, client=None) -> dict:
    """Fit every job whose folder in ``outdir`` is not current, then write the summary; return the status
    counts (with ``skipped``: the pulsars a previous run had done).  ``client``: use this Dask client
    instead of connecting to ``scheduler`` or starting a local cluster."""
    from tqdm.auto import tqdm

    outdir = Path(outdir)
    store.open_outdir(outdir)
    todo = sorted((j for j in jobs if not store.is_current(j, outdir / j.name)), key=_size, reverse=True)
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
