"""``jugbayes pta --method nuts``: measured per-pulsar task times on this machine, Dask's per-task overhead, and
from them a simulated 68-pulsar release on 8, 32 and 128 workers.

(a) The test PTA (``tools/make_test_pta.py``: ``--n`` simulated pulsars and the small shared real data sets;
    ``--all-real`` adds B1855+09 9yv1 and J1713+0747) sampled by ``run_pta`` on an embedded cluster of
    ``--workers``, first on an empty compilation cache, then again into a new folder (programs cached):
    each pulsar's task time (fit + 4 chains, one after another in the task) and the batch's wall time.
(b) Dask's overhead per task: ``--tasks`` empty tasks through the same windowed submission, timed.
    ``--compare-pinning``: the cached batch once more on workers not pinned to cores.
(c) A release of ``--release`` pulsars whose task times are drawn (seeded bootstrap) from the cached times of
    (a), scaled by ``--scale`` (a real release has more TOAs per pulsar than the test PTA), handed out as Dask
    does (each free worker takes the next pulsar): the makespan on each worker count, its lower bound
    (total / workers, or the longest task), and the task length below which the scheduler, handing out one
    task per overhead interval, would keep that many workers waiting (workers x overhead).

Usage: ``python benchmarks/bench_pta_nuts.py [--n 6] [--ntoa 400] [--chains 4] [--warmup 500] [--samples 1000]
[--workers 2] [--release 68] [--scale 1] [--all-real] [--compare-pinning]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
TIME_OPTS = {"clock_dir": str(SHARED / "clock"), "ephem_file": str(SHARED / "ephem" / "de421.bsp"),
             "strict_clock": False, "gps_file": "gps2utc.clk", "clk": None}
HEAVY = ("B1855+09_9yv1", "J1713+0747_11yv0_short")


def _noop() -> None:
    return None


def sample_batch(jobs, outdir: Path, client) -> dict:
    from jugbayes.pta.runner import run_pta

    start = time.perf_counter()
    counts = run_pta(jobs, outdir, client=client, progress=False)
    wall = time.perf_counter() - start
    with open(outdir / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"wall_s": wall, "counts": counts,
            "pulsars": {r["pulsar"]: {k: r[k] for k in ("status", "ntoas", "wall_s", "draws", "max_r_hat",
                                                        "min_ess_bulk", "mean_leapfrog_steps", "error")}
                        for r in rows}}


def task_overhead_ms(client, n: int) -> float:
    """Seconds per empty task through :func:`jugbayes.cluster.run_windowed`, in ms."""
    from jugbayes.cluster import run_windowed

    start = time.perf_counter()
    for _ in run_windowed(client, _noop, [()] * n, label=lambda item: "noop"):
        pass
    return 1e3 * (time.perf_counter() - start) / n


def makespan(times: list[float], workers: int) -> float:
    """Each free worker takes the next task in order (Dask's behaviour with tasks of unknown length)."""
    import heapq

    free = [0.0] * workers
    for t in times:
        heapq.heappush(free, heapq.heappop(free) + t)
    return max(free)


def simulate_release(times_s: list[float], n: int, scale: float, overhead_ms: float, seed: int = 1) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed)
    draws = (scale * rng.choice(np.asarray(times_s), size=n, replace=True)).tolist()
    out = []
    for w in (8, 32, 128):
        span = makespan(draws, w)
        bound = max(sum(draws) / w, max(draws))
        out.append({"workers": w, "makespan_min": span / 60, "lower_bound_min": bound / 60,
                    "busy_fraction": sum(draws) / (w * span),
                    "scheduler_limited_below_s": w * overhead_ms / 1e3})
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=6, help="simulated pulsars (default 6)")
    p.add_argument("--ntoa", type=int, default=400)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tasks", type=int, default=500, help="empty tasks for the overhead (default 500)")
    p.add_argument("--release", type=int, default=68)
    p.add_argument("--scale", type=float, default=1.0, help="scale of the drawn task times (default 1)")
    p.add_argument("--all-real", action="store_true", help="also B1855+09 9yv1 and J1713+0747 (minutes each)")
    p.add_argument("--compare-pinning", action="store_true", help="then the cached batch again on workers not "
                   "pinned to cores")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_pta_nuts_"))
    os.environ["JUGBAYES_CACHE_DIR"] = str(tmp / "cache")  # before the workers start: they inherit it
    sys.path.insert(0, str(ROOT / "tools"))
    import make_test_pta

    from jugbayes.cluster import dask_client
    from jugbayes.pta.source import read_source

    make_test_pta.main([str(tmp / "pta"), "--n", str(args.n), "--ntoa", str(args.ntoa)])
    nuts = {"method": "nuts", "chains": args.chains, "warmup": args.warmup, "samples": args.samples, "seed": 0,
            "config": None, "marginalize": None, "sample_noise": False, "dense_mass": None, "backend": "numpyro"}
    jobs = read_source(tmp / "pta" / "pta.toml", dict(TIME_OPTS, fit=None, freeze=None, plot=False) | nuts)
    jobs = [j for j in jobs if args.all_real or j.name not in HEAVY]
    print(f"{len(jobs)} pulsars, {args.chains} chains x ({args.warmup} + {args.samples}); {args.workers} workers; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    out = {}
    with dask_client(None, args.workers) as client:
        for label in ("cold", "cached"):
            out[label] = sample_batch(jobs, tmp / label, client)
            print(f"{label}: batch {out[label]['wall_s']:.1f} s; per pulsar (s): " + ", ".join(
                f"{k} {float(v['wall_s']):.1f}" for k, v in out[label]["pulsars"].items()))
        out["overhead_ms"] = task_overhead_ms(client, args.tasks)
    print(f"Dask overhead per empty task: {out['overhead_ms']:.2f} ms ({args.tasks} tasks, {args.workers} workers)")
    if args.compare_pinning:
        with dask_client(None, args.workers, pin=False) as client:
            out["cached_unpinned"] = sample_batch(jobs, tmp / "unpinned", client)
        print(f"cached, workers not pinned: batch {out['cached_unpinned']['wall_s']:.1f} s (pinned "
              f"{out['cached']['wall_s']:.1f} s); per pulsar (s): " + ", ".join(
                  f"{k} {float(v['wall_s']):.1f}" for k, v in out["cached_unpinned"]["pulsars"].items()))
    times = [float(v["wall_s"]) for v in out["cached"]["pulsars"].values() if v["status"] == "ok"]
    print(f"cached task times: median {statistics.median(times):.1f} s, range {min(times):.1f}-{max(times):.1f} s")
    out["release"] = simulate_release(times, args.release, args.scale, out["overhead_ms"])
    for r in out["release"]:
        print(f"{args.release} pulsars (times x {args.scale:g}) on {r['workers']:3d} workers: "
              f"{r['makespan_min']:.1f} min (bound {r['lower_bound_min']:.1f}; workers busy {100 * r['busy_fraction']:.0f}%); the scheduler "
              f"would limit tasks shorter than {r['scheduler_limited_below_s']:.2f} s")
    (tmp / "bench.json").write_text(json.dumps(out, indent=1))
    print(f"load average {os.getloadavg()[0]:.2f} at the end; files in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
