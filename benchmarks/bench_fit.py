"""Time ``jugbayes fit`` (WLS, or GLS with correlated noise) end to end and a warm re-fit.

(a) Fresh process: ``jugbayes fit PAR TIM --out-par ...`` as a subprocess, files to written .par.
(b) In process: build the model once, then the first fit (includes compilation) and a warm re-fit.
Usage: ``python benchmarks/bench_fit.py [--dataset B1855+09_9yv1] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="B1855+09_9yv1")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS

    par_rel, tim_rel = PINT_DATASETS[args.dataset]
    par_path, tim_path = DATASETS / par_rel, DATASETS / tim_rel
    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    from jugbayes.io import read_par

    ephem = (read_par(par_path, warn=False).get("EPHEM").value or "DE421").lower()
    fresh = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "jugbayes", "fit", str(par_path), str(tim_path), "--out-par",
                            str(Path(tmp) / "out.par"), "--clock-dir", str(CLOCK_DIR), "--ephem-file",
                            str(EPHEM_DIR / f"{ephem}.bsp")], check=True, capture_output=True)
            fresh.append(time.perf_counter() - t0)
    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_tim
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model = build_model(read_par(par_path, warn=False), read_tim(tim_path), clock_dir=CLOCK_DIR,
                            ephem_file=EPHEM_DIR / f"{ephem}.bsp")
        noise = noise_for_model(model)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = fit_wls(model, noise=noise)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_wls(model, noise=noise)
        t_warm = time.perf_counter() - t0
    kind = "GLS" if noise.correlated else "WLS"
    print(f"{args.dataset}: {len(model.toas)} TOAs, {len(result.names)} fitted columns, {kind}, "
          f"{result.iterations} iterations")
    print(f"  fresh process, files -> .par: min {min(fresh):.2f} s, median {statistics.median(fresh):.2f} s")
    print(f"  in process: build {t_build:.2f} s, first fit {t_first:.2f} s, warm re-fit {t_warm:.2f} s")


if __name__ == "__main__":
    main()
