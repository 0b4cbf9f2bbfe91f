"""``jugbayes pta`` on real Dask clusters: a LocalCluster of worker processes, and ``dask worker`` processes
started separately on 127.0.0.1; results equal ``jugbayes fit`` run alone, failures are rows, reruns resume,
and a worker killed mid-task loses nothing."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, ROOT
from daskworker import separate_workers

distributed = pytest.importorskip("distributed")

from jugbayes.cli import main  # noqa: E402
from jugbayes.cluster import local_cluster  # noqa: E402
from jugbayes.pta.runner import run_pta  # noqa: E402
from jugbayes.pta.source import PulsarJob, read_source  # noqa: E402

EPHEM = str(EPHEM_DIR / "de421.bsp")
OPTIONS = {"fit": None, "freeze": None, "plot": False, "clock_dir": str(CLOCK_DIR), "ephem_file": EPHEM,
           "strict_clock": False, "gps_file": "gps2utc.clk", "clk": None}
NGC = DATASETS / "NGC6440E"
ISOLATED = ROOT / "models" / "isolated_msp"


def _make_source(root: Path) -> Path:
    """par/ and tim/ folders: NGC6440E (its .tim INCLUDEs half its TOAs), the isolated example, a broken .par
    and a .par without a .tim."""
    (root / "par").mkdir(parents=True)
    (root / "tim").mkdir()
    shutil.copy(NGC / "NGC6440E.par", root / "par" / "NGC6440E.par")
    lines = (NGC / "NGC6440E.tim").read_text().splitlines(keepends=True)
    (root / "tim" / "NGC6440E.tim").write_text("".join(lines[:30]) + "INCLUDE NGC6440E.rest\n")
    (root / "tim" / "NGC6440E.rest").write_text("".join(lines[30:]))
    shutil.copy(ISOLATED / "isolated_msp.par", root / "par" / "J1234+5612.par")
    shutil.copy(ISOLATED / "isolated_msp.tim", root / "tim" / "J1234+5612.example.tim")
    (root / "par" / "J0000+0000.par").write_text("PSRJ J0000+0000\nF0 1.2.3 1\n")
    (root / "tim" / "J0000+0000.tim").write_text("FORMAT 1\n")
    (root / "par" / "J1111+1111.par").write_text("PSRJ J1111+1111\nF0 100 1\n")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return _make_source(tmp_path_factory.mktemp("pta-source"))


@pytest.fixture(scope="module")
def cluster_client():
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@lru_cache(maxsize=None)
def _fit_alone(par: str, tim: str, out: str) -> dict:
    """``jugbayes fit PAR TIM --summary`` in this process: the reference a PTA task must reproduce."""
    summary = Path(out) / (Path(par).stem + ".json")
    args = ["fit", par, tim, "--summary", str(summary), "--clock-dir", str(CLOCK_DIR), "--ephem-file", EPHEM]
    assert main(args) == 0
    return json.loads(summary.read_text())


def _assert_same_fit(got: dict, alone: dict) -> None:
    assert list(got["params"]) == list(alone["params"])
    for name, p in alone["params"].items():
        q = got["params"][name]
        assert abs(Decimal(q["value"]) - Decimal(p["value"])) <= Decimal(1e-12) * abs(Decimal(p["value"])), name
        assert q["uncertainty"] == pytest.approx(p["uncertainty"], rel=1e-12, abs=0), name
    for key in ("chi2", "reduced_chi2", "wrms_us"):
        assert got[key] == pytest.approx(alone[key], rel=1e-12, abs=0), key
    assert (got["dof"], got["iterations"], got["ntoas"]) == (alone["dof"], alone["iterations"], alone["ntoas"])


def _rows(outdir: Path) -> dict:
    with open(outdir / "summary.csv", newline="") as fh:
        return {r["pulsar"]: r for r in csv.DictReader(fh)}


def test_pta_on_a_local_cluster_equals_fit_alone_keeps_failures_and_resumes(source, cluster_client, tmp_path):
    out = tmp_path / "out"
    jobs = read_source(source, OPTIONS, skip=out)
    assert [j.name for j in jobs] == ["J0000+0000", "J1111+1111", "J1234+5612", "NGC6440E"]
    counts = run_pta(jobs, out, client=cluster_client, progress=False)
    assert counts == {"ok": 2, "failed": 2, "skipped": 0}
    rows = _rows(out)
    assert rows["J0000+0000"]["error"].endswith("J0000+0000.par:2: bad number '1.2.3' for F0")
    assert "Traceback" in (out / "J0000+0000" / "error.txt").read_text()
    assert rows["J1111+1111"]["error"].endswith("no .tim file for J1111+1111 under " + str(source))
    assert json.loads((out / "summary.json").read_text())[2]["pulsar"] == "J1234+5612"
    for job in jobs[2:]:
        got = json.loads((out / job.name / "fit.json").read_text())
        _assert_same_fit(got, _fit_alone(job.par, job.tim, str(tmp_path)))
        assert float(rows[job.name]["chi2"]) == got["chi2"] and rows[job.name]["status"] == "ok"
    assert "GLS fit: chi2" in (out / "J1234+5612" / "fit.txt").read_text()
    assert int(rows["J1234+5612"]["ntoas"]) == 1392 and int(rows["NGC6440E"]["ntoas"]) == 62

    # A rerun skips the fitted pulsars (their folders stay as they were) and tries the failed ones again.
    stamp = {j.name: (out / j.name / "result.json").stat().st_mtime_ns for j in jobs[2:]}
    assert run_pta(jobs, out, client=cluster_client, progress=False) == {"ok": 2, "failed": 2, "skipped": 2}
    assert stamp == {j.name: (out / j.name / "result.json").stat().st_mtime_ns for j in jobs[2:]}
    # Editing a file the .tim INCLUDEs (the fit is the same) makes that pulsar, and only it, run again.
    with open(source / "tim" / "NGC6440E.rest", "a") as fh:
        fh.write("C a comment\n")
    assert run_pta(jobs, out, client=cluster_client, progress=False)["skipped"] == 1
    assert (out / "NGC6440E" / "result.json").stat().st_mtime_ns != stamp["NGC6440E"]
    assert (out / "J1234+5612" / "result.json").stat().st_mtime_ns == stamp["J1234+5612"]
    _assert_same_fit(json.loads((out / "NGC6440E" / "fit.json").read_text()),
                     _fit_alone(jobs[3].par, jobs[3].tim, str(tmp_path)))
    assert not list((out / ".partial").glob("*")) if (out / ".partial").exists() else True


NUTS = {"method": "nuts", "chains": 2, "warmup": 60, "samples": 60, "seed": 3, "config": None, "marginalize": None,
        "sample_noise": False, "dense_mass": None, "backend": "numpyro"}


def test_pta_nuts_draws_equal_fit_nuts_alone(source, cluster_client, tmp_path):
    """A pulsar's NUTS task on a worker draws what ``jugbayes fit --method nuts`` run alone draws, bit for bit
    (both run XLA on one thread), and its row carries the sampler's figures."""
    job = read_source(source, OPTIONS | NUTS)[3]
    assert job.name == "NGC6440E"
    alone = subprocess.Popen([sys.executable, "-m", "jugbayes", "fit", job.par, job.tim, "--method", "nuts",
                              "--chains", "2", "--warmup", "60", "--samples", "60", "--seed", "3", "--outdir",
                              tmp_path / "alone", "--no-progress", "--clock-dir", CLOCK_DIR, "--ephem-file", EPHEM],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run_pta([job], tmp_path / "out", client=cluster_client, progress=False) == {"ok": 1, "skipped": 0}
    _, err = alone.communicate(timeout=600)
    assert alone.returncode == 0, err
    import arviz as az

    mine, alone_dir = tmp_path / "out" / "NGC6440E", tmp_path / "alone"
    got, ref = (az.from_netcdf(d / "posterior.nc").posterior for d in (mine, alone_dir))
    assert list(got.data_vars) == list(ref.data_vars) == ["F0", "F1", "RAJ", "DECJ", "DM"]
    for name in ref.data_vars:
        assert got[name].shape == (2, 60) and (got[name].values == ref[name].values).all(), name
    assert (mine / "summary.csv").read_text() == (alone_dir / "summary.csv").read_text()
    row = _rows(tmp_path / "out")["NGC6440E"]
    assert (row["status"], row["draws"], row["divergences"]) == ("ok", "120", "0")
    assert 1.0 <= float(row["max_r_hat"]) < 1.2 and float(row["min_ess_bulk"]) > 20
    text = (tmp_path / "out" / "NGC6440E" / "fit.txt").read_text()
    assert "NUTS: 2 chains x 60 draws" in text and ".partial" not in text
    # A rerun with the same options skips it; other NUTS options make it run again.
    assert run_pta([job], tmp_path / "out", client=cluster_client, progress=False)["skipped"] == 1
    assert read_source(source, OPTIONS | NUTS | {"seed": 4})[3].options != job.options


def test_pta_refuses_an_outdir_it_did_not_make(source, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me\n")
    res = subprocess.run([sys.executable, "-m", "jugbayes", "pta", str(source), "--outdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "is not empty and holds no pta.json" in res.stderr
    assert "Traceback" not in res.stderr and (tmp_path / "mine.txt").read_text() == "keep me\n"


def _run_and_kill_mid_task(client, job: PulsarJob, out: Path, pid_of) -> str:
    """Run ``job`` in a thread; SIGKILL the worker process that starts it once it has begun; return the killed
    worker's address."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(run_pta([job], out, client=client, progress=False)))
    thread.start()
    victim = None
    while victim is None and thread.is_alive():
        if list((out / ".partial").glob(f"{job.name}.*")):  # the task has made its staging folder: it runs
            busy = [addr for addr, keys in client.processing().items() if keys]
            victim = busy[0] if busy else None
        time.sleep(0.005)
    assert victim is not None, "the task finished before it could be interrupted"
    os.kill(pid_of(victim), signal.SIGKILL)
    thread.join(timeout=300)
    assert result == {"ok": 1, "skipped": 0}
    return victim


def _check_retried(out: Path, job: PulsarJob, victim: str, tmp_path: Path) -> None:
    row = json.loads((out / job.name / "result.json").read_text())["row"]
    print(f"retried on {row['worker']} after {victim} was killed; the task took {row['wall_s']:.2f} s there")
    assert row["status"] == "ok" and row["worker"] != victim
    _assert_same_fit(json.loads((out / job.name / "fit.json").read_text()),
                     _fit_alone(job.par, job.tim, str(tmp_path)))
    assert not list((out / ".partial").glob("*")) if (out / ".partial").exists() else True


def test_a_worker_killed_mid_task_on_a_local_cluster_loses_nothing(source, cluster_client, tmp_path):
    job = read_source(source, OPTIONS)[3]
    assert job.name == "NGC6440E"
    cluster_client.restart()  # fresh worker processes: a task's first seconds go to importing JAX, time to kill it
    pids = cluster_client.run(os.getpid)
    victim = _run_and_kill_mid_task(cluster_client, job, tmp_path / "out", pids.get)
    _check_retried(tmp_path / "out", job, victim, tmp_path)


def test_separately_started_dask_workers_and_one_killed_mid_task(source, tmp_path):
    job = read_source(source, OPTIONS)[3]
    assert job.name == "NGC6440E"
    with separate_workers(2) as (address, workers), distributed.Client(address) as client:
        pids = client.run(os.getpid)
        assert sorted(pids.values()) == sorted(w.pid for w in workers)
        victim = _run_and_kill_mid_task(client, job, tmp_path / "out", pids.get)
    _check_retried(tmp_path / "out", job, victim, tmp_path)


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "jugbayes", "pta", *map(str, args), "--clock-dir", CLOCK_DIR, "--ephem-file", EPHEM,
            "--no-progress"]


def test_cli_runs_a_toml_list_on_its_own_local_cluster(source, tmp_path):
    (tmp_path / "pta.toml").write_text(f'[[pulsar]]\nname = "ngc"\npar = "{source}/par/NGC6440E.par"\n'
                                       f'tim = "{source}/tim/NGC6440E.tim"\nfreeze = "DM"\n')
    res = subprocess.run(_cli(tmp_path / "pta.toml", "--outdir", tmp_path / "out", "--workers", "1"),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("1 pulsars: 1 fitted (0 already done), 0 failed; wrote")
    fit = json.loads((tmp_path / "out" / "ngc" / "fit.json").read_text())
    assert "DM" not in fit["params"] and set(fit["params"]) == {"RAJ", "DECJ", "F0", "F1"}
    assert _rows(tmp_path / "out")["ngc"]["worker"].startswith("tcp://127.0.0.1:")


def test_ctrl_c_stops_the_run_leaving_only_complete_results(source, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(source, "--outdir", out, "--workers", "2"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    while proc.poll() is None and not list(out.glob("*/result.json")):
        time.sleep(0.02)
    start = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    print(f"stopped {time.perf_counter() - start:.2f} s after Ctrl-C")
    assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("interrupted") and "Traceback" not in err
    assert not (out / ".partial").exists()
    rows = _rows(out)
    assert len(rows) == 4 and "missing" in {r["status"] for r in rows.values()}
    for name, row in rows.items():
        assert (out / name).is_dir() == (row["status"] != "missing")
        if row["status"] == "ok":
            assert all((out / name / f).is_file() for f in ("fitted.par", "fit.json", "fit.txt", "result.json"))
