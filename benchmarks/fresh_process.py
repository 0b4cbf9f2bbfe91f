"""Run a benchmark script's ``--child`` part in a fresh process, as ``jugbayes`` runs a worker (one XLA thread:
``jugbayes.processes.THREAD_ENV``), with the compilation cache in ``cache_dir``; its last stdout line is JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(script: str | Path, arg: str, cache_dir: str | Path):
    """(the child's JSON result, the process's wall seconds)."""
    from jugbayes.processes import THREAD_ENV

    env = dict(os.environ, JUGBAYES_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), **THREAD_ENV)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(script), "--child", arg], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1]), time.perf_counter() - t0
