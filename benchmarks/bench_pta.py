"""``jugbayes pta --method wls`` on the test PTA (``tools/make_test_pta.py``): scaling, task overhead, memory,
and equality with ``jugbayes fit`` run alone.

(a) Cold run (2 workers, empty compilation cache), to fill the cache.
(b) The batch with 1 worker and with 2 (embedded LocalCluster, workers started and JAX imported before the
    clock starts; programs cached on disk): wall time, speed-up, peak RSS per worker, the client's RSS.  The
    one worker runs on both cores (its XLA helper threads use the second) and again confined to one core, as
    each of the two workers is.
(c) One task's overhead: the same pulsar fitted by ``run_pulsar`` in this process and as a task on a warm
    worker (median of ``--repeat``).
(d) The client's memory against the number of pulsars: the simulated pulsars listed once and ``--copies``
    times (under other names).
(e) Every fitted pulsar's values, uncertainties and chi2 against ``jugbayes fit`` run alone (a new process),
    on all cores and on one core (as each worker of (b) ran: the fitter's last digits depend on the cores
    a process may use).

Usage: ``python benchmarks/bench_pta.py [--n 21] [--ntoa 400] [--repeat 5] [--copies 4] [--no-check]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
TIME_OPTS = {"clock_dir": str(SHARED / "clock"), "ephem_file": str(SHARED / "ephem" / "de421.bsp"),
             "strict_clock": False, "gps_file": "gps2utc.clk", "clk": None}


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _warm_worker() -> None:
    import jax  # noqa: F401

    import jugbayes.fit.wls  # noqa: F401


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch(jobs, outdir: Path, workers: int, one_core: bool = False) -> dict:
    """Run ``jobs`` on a fresh embedded cluster of ``workers``; time only the run (workers already warm).
    ``one_core``: a single worker confined to one core, as each of several workers is."""
    from jugbayes.cluster import dask_client
    from jugbayes.processes import pin_after_jax_starts
    from jugbayes.pta.runner import run_pta

    with dask_client(None, workers) as client:
        client.run(_warm_worker)
        if one_core:
            client.run(pin_after_jax_starts, (min(os.sched_getaffinity(0)),))
        rss0 = _rss_mb()
        start = time.perf_counter()
        counts = run_pta(jobs, outdir, client=client, progress=False)
        wall = time.perf_counter() - start
        peaks = client.run(_peak_rss_mb)
    return {"wall_s": wall, "counts": counts, "worker_peak_rss_mb": sorted(peaks.values()),
            "client_rss_growth_mb": _rss_mb() - rss0}


def overhead(job, tmp: Path, repeat: int) -> dict:
    """Median seconds of one pulsar's task in this process and on a warm single worker."""
    from jugbayes.cluster import dask_client
    from jugbayes.pta.task import run_pulsar

    local = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        run_pulsar(job, tmp / f"local{i}")
        local.append(time.perf_counter() - start)
    remote = []
    with dask_client(None, 1) as client:
        for i in range(repeat + 1):
            start = time.perf_counter()
            client.submit(run_pulsar, job, str(tmp / f"remote{i}"), pure=False).result()
            remote.append(time.perf_counter() - start)
    loc, rem = statistics.median(local[1:]), statistics.median(remote[1:])
    return {"in_process_s": loc, "task_s": rem, "overhead_s": rem - loc}


def _fit_args(job, summary: Path) -> list[str]:
    o = job.options
    args = ["fit", job.par, job.tim, "--summary", str(summary), "--clock-dir", o["clock_dir"], "--ephem-file",
            o["ephem_file"], "--gps-clock", o["gps_file"]]
    for flag, key in (("--fit", "fit"), ("--freeze", "freeze"), ("--clk", "clk")):
        if o.get(key):
            args += [flag, o[key]]
    return args + (["--strict-clock"] if o.get("strict_clock") else [])


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


def _fit_alone(job, summary: Path, core: int | None) -> dict:
    """``jugbayes fit`` on ``job``'s pair in a new process (on one ``core`` when given); its summary."""
    import subprocess

    pin = None if core is None else (lambda: os.sched_setaffinity(0, {core}))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "jugbayes", *_fit_args(job, summary)], capture_output=True, text=True,
                         env=env, preexec_fn=pin)
    assert res.returncode == 0, res.stderr
    return json.loads(summary.read_text())


def check_equal(jobs, outdir: Path, tmp: Path, core: int | None = None) -> dict:
    """Largest relative differences between each pulsar's fit.json and ``jugbayes fit`` run alone, per
    pulsar where not zero."""
    worst = {"value": 0.0, "uncertainty": 0.0, "chi2": 0.0, "pulsars": 0, "differ": {}}
    for job in jobs:
        got_path = outdir / job.name / "fit.json"
        if not got_path.exists():
            continue
        alone_path = tmp / f"{job.name}.alone{'' if core is None else f'-core{core}'}.json"
        got, alone = json.loads(got_path.read_text()), _fit_alone(job, alone_path, core)
        assert list(got["params"]) == list(alone["params"]), job.name
        here = {"value": 0.0, "uncertainty": 0.0, "chi2": _rel(got["chi2"], alone["chi2"])}
        for name, p in alone["params"].items():
            q = got["params"][name]
            v = abs(Decimal(q["value"]) - Decimal(p["value"])) / max(abs(Decimal(p["value"])), Decimal("1e-300"))
            here["value"] = max(here["value"], float(v))
            here["uncertainty"] = max(here["uncertainty"], _rel(q["uncertainty"], p["uncertainty"]))
        for k, v in here.items():
            worst[k] = max(worst[k], v)
        if any(here.values()):
            worst["differ"][job.name] = here
        worst["pulsars"] += 1
    return worst


def copies(jobs, k: int):
    """``jobs`` listed ``k`` times under other names (for the client-memory check)."""
    import dataclasses

    return [dataclasses.replace(j, name=f"{j.name}-c{i}") for i in range(k) for j in jobs]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=21)
    p.add_argument("--ntoa", type=int, default=400)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--copies", type=int, default=4)
    p.add_argument("--no-check", action="store_true")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_pta_"))
    os.environ["JUGBAYES_CACHE_DIR"] = str(tmp / "cache")  # before the workers start: they inherit it
    sys.path.insert(0, str(ROOT / "tools"))
    import make_test_pta

    from jugbayes.config import enable_compilation_cache
    from jugbayes.pta.source import read_source

    enable_compilation_cache()
    make_test_pta.main([str(tmp / "pta"), "--n", str(args.n), "--ntoa", str(args.ntoa)])
    jobs = read_source(tmp / "pta" / "pta.toml", dict(TIME_OPTS, fit=None, freeze=None, plot=False))
    print(f"{len(jobs)} pulsars; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    out = {"cold_2_workers": batch(jobs, tmp / "cold", 2)}
    print("cold (2 workers):", json.dumps(out["cold_2_workers"]))
    for n in (1, 2):
        out[f"warm_{n}_worker"] = batch(jobs, tmp / f"warm{n}", n)
        print(f"warm ({n} worker{'s' if n > 1 else ''}):", json.dumps(out[f"warm_{n}_worker"]))
    out["warm_1_worker_1_core"] = batch(jobs, tmp / "warm1c", 1, one_core=True)
    print("warm (1 worker on one core):", json.dumps(out["warm_1_worker_1_core"]))
    print(f"speed-up 2 vs 1 workers: {out['warm_1_worker']['wall_s'] / out['warm_2_worker']['wall_s']:.2f}x (the one "
          f"worker on both cores), {out['warm_1_worker_1_core']['wall_s'] / out['warm_2_worker']['wall_s']:.2f}x (on "
          "one core, as each of the two)")
    out["overhead"] = overhead(jobs[0], tmp, args.repeat)
    print("one task:", json.dumps(out["overhead"]))
    sim = jobs[:args.n]
    for k in (1, args.copies):
        r = batch(copies(sim, k), tmp / f"copies{k}", 2)
        print(f"client RSS growth with {k * len(sim)} pulsars: {r['client_rss_growth_mb']:.1f} MB "
              f"(batch {r['wall_s']:.1f} s)")
    if not args.no_check:  # each worker of the 2 ran on one core: so does the second fit alone
        for core in (None, min(os.sched_getaffinity(0))):
            where = "on all cores" if core is None else f"on core {core} only"
            print(f"largest relative difference from jugbayes fit alone ({where}):",
                  json.dumps(check_equal(jobs, tmp / "warm2", tmp, core)))
    print(f"load average {os.getloadavg()[0]:.2f} at the end; files in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
