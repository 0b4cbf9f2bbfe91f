"""Time reading .par/.tim files: the shared NANOGrav sets and a synthetic 100,000-TOA file.

Usage: ``python benchmarks/bench_io.py [SHARED_DIR]``.  Prints the best of 5 runs, in-process.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from jugbayes.io import read_par, read_tim

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, n=5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def synthetic_tim(path: Path, ntoa: int) -> None:
    rng = np.random.default_rng(0)
    mjd = np.sort(rng.uniform(50000, 60000, ntoa))
    with path.open("w") as fh:
        fh.write("FORMAT 1\n")
        for i, m in enumerate(mjd):
            fh.write(f"toa{i} 1400.000 {m:.15f} 1.000 gbt -fe L-wide -be PUPPI -f L-wide_PUPPI\n")


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    warnings.simplefilter("ignore")
    d = shared / "datasets" / "B1855+09_9yv1"
    par, tim = d / "B1855+09_NANOGrav_9yv1.gls.par", d / "B1855+09_NANOGrav_9yv1.tim"
    print(f"read_par B1855+09_9yv1 (489 params): {best_of(lambda: read_par(par)) * 1e3:8.1f} ms")
    print(f"read_tim B1855+09_9yv1 (4005 TOAs):  {best_of(lambda: read_tim(tim)) * 1e3:8.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.tim"
        for n in (10_000, 100_000):
            synthetic_tim(big, n)
            print(f"read_tim synthetic {n:>7} TOAs:     {best_of(lambda: read_tim(big), 3) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
