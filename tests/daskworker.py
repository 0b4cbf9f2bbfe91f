"""Real Dask workers for tests: a scheduler with no workers, and ``dask worker`` processes started separately
that connect to it over 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

from conftest import ROOT


def start_worker(address: str) -> subprocess.Popen:
    """``python -m dask worker ADDRESS`` (one thread, no nanny) in its own process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                             "--host", "127.0.0.1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@contextmanager
def separate_workers(n: int):
    """A scheduler on 127.0.0.1 with ``n`` separately started worker processes: yields (address, workers)."""
    import distributed

    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0") as scheduler_only:
        workers = [start_worker(scheduler_only.scheduler_address) for _ in range(n)]
        try:
            with distributed.Client(scheduler_only) as client:
                client.wait_for_workers(n, timeout=120)
            yield scheduler_only.scheduler_address, workers
        finally:
            for w in workers:
                w.kill()
                w.wait(timeout=30)
