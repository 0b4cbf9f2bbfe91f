"""Ctrl-C (SIGINT to the process group) and SIGTERM at fixed moments of ``fit --method nuts`` and ``validate``:
exit within 5 s with one line, no traceback, no worker left, no partial file; a rerun resumes.

Slow (a JAX process start-up each, ~2 min in all); run with::

    PYTHONPATH=. python -m pytest tests/test_cli_interrupts.py -m slow -q
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATASETS, ROOT

pytestmark = pytest.mark.slow
NGC = DATASETS / "NGC6440E"
SOURCES = ("--clock-dir", str(DATASETS.parent / "clock"), "--ephem-file", str(DATASETS.parent / "ephem" / "de421.bsp"))
MESSAGES = {signal.SIGINT: (130, "interrupted;"), signal.SIGTERM: (143, "terminated (SIGTERM);")}


def _alive(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def interrupt_at(args, delay_s: float, sig, cwd):
    """Start ``jugbayes ARGS``, send ``sig`` after ``delay_s``; (rc, stderr, seconds to exit, children left)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "jugbayes", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, start_new_session=True)
    time.sleep(delay_s)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    sent = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does
    else:
        os.kill(proc.pid, sig)  # what kill(1) or a batch system does: the main process only
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    time.sleep(1.5)  # multiprocessing's resource tracker leaves once its pipe closes
    return proc.returncode, err, took, [c for c in children if _alive(c)]


def assert_clean_exit(rc, err, took, left, sig):
    code, message = MESSAGES[sig]
    assert rc == code and took < 5 and not left, (rc, took, left, err[-2000:])
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(message), err[-2000:]


def no_partial_files(folder: Path):
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in files if ".part" in p.name or p.suffix == ".tmp"]
    for p in files:
        if p.suffix == ".json":
            json.loads(p.read_text())


@pytest.mark.parametrize(("delay_s", "sig"), [(1, signal.SIGINT), (2, signal.SIGTERM), (3, signal.SIGINT), (25, signal.SIGINT),
                                          (25, signal.SIGTERM)])
def test_nuts_fit_interrupted(tmp_path, delay_s, sig):
    outdir = tmp_path / "post"
    args = ["fit", NGC / "NGC6440E.par", NGC / "NGC6440E.tim", "--method", "nuts", "--outdir", outdir, "--chains", "2",
            "--warmup", "300000", "--samples", "300000", "--no-progress", *SOURCES]
    assert_clean_exit(*interrupt_at(args, delay_s, sig, tmp_path), sig)
    assert not outdir.exists() or not any(outdir.iterdir())  # nothing, not half a posterior (the run takes minutes)


def test_validate_interrupted_then_resumed(tmp_path):
    config = tmp_path / "study.toml"
    text = (ROOT / "configs" / "validate_isolated.toml").read_text()
    config.write_text(text.replace('par = "../models/', f'par = "{ROOT}/models/'))
    outdir = tmp_path / "study"
    args = ["validate", config, "--outdir", outdir, "--workers", "2", "--no-progress"]
    for delay_s, sig in ((3, signal.SIGINT), (20, signal.SIGTERM), (20, signal.SIGINT)):
        assert_clean_exit(*interrupt_at([*args, "--n", "5000"], delay_s, sig, tmp_path), sig)  # never done by then
        no_partial_files(tmp_path)
    n = len(list((outdir / "datasets").glob("*.json"))) + 10  # resumed: the finished ones kept, ten more run
    res = subprocess.run([sys.executable, "-m", "jugbayes", *map(str, args), "--n", str(n)], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)
    assert res.returncode == 0, res.stderr
    assert len(list((outdir / "datasets").glob("*.json"))) == n
    assert json.loads((outdir / "report.json").read_text())["n_datasets"] == n
