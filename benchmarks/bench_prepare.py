"""Time preparing TOAs (clock chain, TT -> TDB, observatory and Earth positions) with ``prepare_toas``.

(a) Fresh process: ``python -c ...`` imports jugbayes, reads B1855+09_9yv1's .par and .tim (4005 TOAs) and
    prepares them; the whole subprocess is timed (interpreter start included), and the child reports its own
    import, read and prepare times.  Repeated ``--repeat`` times: min and median.
(b) Scaling: synthetic TEMPO2 .tim files of 1k, 10k, 100k TOAs (GBT and Arecibo, MJD 53000-58000) prepared
    in-process with the B1855+09 .par after one warm-up call; time and time per TOA.

Usage: ``python benchmarks/bench_prepare.py [--shared DIR] [--repeat N] [--sizes 1000 10000 100000]``.
The shared data directory defaults to ``$JUGBAYES_SHARED``, else ``../shared`` next to the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASET = "B1855+09_9yv1"
PAR = "B1855+09_NANOGrav_9yv1.gls.par"
TIM = "B1855+09_NANOGrav_9yv1.tim"

CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
import jugbayes.prepare
from jugbayes.io import read_par, read_tim
t1 = time.perf_counter()
shared = sys.argv[1]
d = shared + "/datasets/B1855+09_9yv1/"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    par = read_par(d + "B1855+09_NANOGrav_9yv1.gls.par")
    toas = read_tim(d + "B1855+09_NANOGrav_9yv1.tim")
    t2 = time.perf_counter()
    prep = jugbayes.prepare.prepare_toas(par, toas, clock_dir=shared + "/clock",
                                         ephem_file=shared + "/ephem/de421.bsp")
t3 = time.perf_counter()
print(json.dumps({"n": len(prep), "import_s": t1 - t0, "read_s": t2 - t1, "prepare_s": t3 - t2}))
"""


def default_shared() -> Path:
    env = os.environ.get("JUGBAYES_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def fresh_process(shared: Path, repeat: int) -> list[dict]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", CHILD, str(shared)], capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(f"child failed (exit {res.returncode}):\n{res.stderr}")
        child = json.loads(res.stdout.strip().splitlines()[-1])
        child["wall_s"] = wall
        runs.append(child)
    return runs


def synthetic_tim(path: Path, ntoa: int, seed: int = 0) -> None:
    """TEMPO2 FORMAT 1 lines ``name freq mjd err site``: MJDs with 16 decimals, GBT and Arecibo."""
    rng = np.random.default_rng(seed)
    days = rng.integers(53_000, 58_000, ntoa)
    ticks = rng.integers(0, 10**16, ntoa)  # the fraction of a day, to 16 digits
    order = np.lexsort((ticks, days))
    freqs = rng.choice([430.0, 820.0, 1400.0, 2300.0], ntoa)
    site_codes = rng.choice(["gbt", "ao"], ntoa)
    errs = rng.uniform(0.5, 5.0, ntoa)
    with path.open("w") as fh:
        fh.write("FORMAT 1\n")
        for i, k in enumerate(order):
            fh.write(f"syn{i} {freqs[k]:.3f} {days[k]}.{ticks[k]:016d} {errs[k]:.3f} {site_codes[k]}\n")


def scaling(shared: Path, sizes: list[int], repeat: int) -> list[tuple[int, float, float]]:
    from jugbayes.io import read_par, read_tim
    from jugbayes.prepare import prepare_toas

    kwargs = {"clock_dir": shared / "clock", "ephem_file": shared / "ephem" / "de421.bsp"}
    rows = []
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")  # clock-file range warnings for synthetic dates
        par = read_par(shared / "datasets" / DATASET / PAR)
        warm = Path(tmp) / "warm.tim"
        synthetic_tim(warm, 200, seed=1)
        prepare_toas(par, read_tim(warm), **kwargs)  # warm-up: imports, IERS table, clock files, kernel
        for n in sizes:
            tim = Path(tmp) / f"syn{n}.tim"
            synthetic_tim(tim, n)
            t0 = time.perf_counter()
            toas = read_tim(tim)
            read_s = time.perf_counter() - t0
            assert len(toas) == n
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                prep = prepare_toas(par, toas, **kwargs)
                best = min(best, time.perf_counter() - t0)
            assert len(prep) == n
            rows.append((n, read_s, best))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=default_shared(), help="shared reference data directory")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions (fresh processes; in-process best of)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="synthetic TOA counts")
    args = ap.parse_args(argv)
    shared = args.shared.resolve()
    if not (shared / "datasets" / DATASET / TIM).is_file():
        sys.exit(f"{shared}: no datasets/{DATASET}/{TIM}; give --shared or set JUGBAYES_SHARED")

    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(f"python {sys.version.split()[0]} on {os.uname().sysname} {os.uname().machine}, {os.cpu_count()} CPUs")
    print(f"shared: {shared}\n")

    runs = fresh_process(shared, args.repeat)
    print(f"(a) fresh process, {DATASET} ({runs[0]['n']} TOAs), {args.repeat} runs")
    print(f"    {'':<26}{'min':>10}{'median':>10}")
    for key, label in (("wall_s", "whole subprocess"), ("import_s", "  import jugbayes"),
                       ("read_s", "  read_par + read_tim"), ("prepare_s", "  prepare_toas")):
        vals = [r[key] for r in runs]
        print(f"    {label:<26}{min(vals) * 1e3:>8.0f}ms{statistics.median(vals) * 1e3:>8.0f}ms")

    rows = scaling(shared, args.sizes, args.repeat)
    print(f"\n(b) in-process prepare_toas, synthetic GBT/Arecibo TOAs (after a warm-up call; best of {args.repeat})")
    print(f"    {'TOAs':>8}{'read_tim':>12}{'prepare':>12}{'per TOA':>12}")
    for n, read_s, prep_s in rows:
        print(f"    {n:>8}{read_s * 1e3:>10.1f}ms{prep_s * 1e3:>10.1f}ms{prep_s / n * 1e6:>10.2f}us")


if __name__ == "__main__":
    main()
