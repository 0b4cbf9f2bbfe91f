"""Time ``jugbayes fit`` (WLS, or GLS with correlated noise) end to end and a warm re-fit.

(a) Fresh process: ``jugbayes fit PAR TIM --out-par ...`` as a subprocess, files to written .par.
(b) In process: build the model once, then the first fit (includes compilation) and a warm re-fit.
(c) ``--simulate N``: N TOAs simulated with the data set's .par (``jugbayes.simulate.simulate``; template:
    the real TOAs resampled with replacement, each at a random time of its day, so sites, frequencies,
    errors, flags, DMX ranges and JUMPs keep their coverage), written to a .tim and fitted in a fresh
    process that reports its time and peak memory (VmHWM).
    J0613-size: ``--dataset J0613-0200_dfg12 --simulate 7422``; large: ``--simulate 100000``.
Usage: ``python benchmarks/bench_fit.py [--dataset B1855+09_9yv1] [--repeat 3] [--simulate N]``.
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


def resampled_template(toas, n: int, seed: int = 0):
    """``n`` TOAs drawn with replacement from ``toas`` (sorted), each moved to a random time of its day."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed)
    idx = np.sort(rng.integers(0, len(toas), n))
    ticks = rng.integers(0, 10**15, n)
    days = toas.mjd_int[idx]
    return dataclasses.replace(
        toas, names=[f"sim{i}" for i in range(n)], mjd_text=[f"{d}.{t:015d}" for d, t in zip(days, ticks)],
        mjd_int=days, mjd_frac=ticks / 1e15, freq_mhz=toas.freq_mhz[idx], error_us=toas.error_us[idx],
        obs=[toas.obs[i] for i in idx], flags=[dict(toas.flags[i]) for i in idx], file_index=np.zeros(n, int),
        line=np.arange(1, n + 1), commands=[])


def _peak_rss_gb(resource) -> float:
    """This process's peak resident memory.  Linux: VmHWM, which exec resets; ru_maxrss would instead start
    from the parent's size at fork (4 GB after simulating 100k TOAs), whatever this process uses."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def child(par_path: str, tim_path: str, ephem: str) -> None:
    """Fresh-process fit of a written .tim: seconds for read+build, first fit, warm re-fit; peak RSS.
    Uses the persistent compilation cache as ``jugbayes fit`` does (run twice to see it warm)."""
    import resource

    from conftest import CLOCK_DIR

    from jugbayes.config import enable_compilation_cache

    enable_compilation_cache()

    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model = build_model(read_par(par_path, warn=False), read_tim(tim_path), clock_dir=CLOCK_DIR, ephem_file=ephem)
        noise = noise_for_model(model)
        t1 = time.perf_counter()
        result = fit_wls(model, noise=noise)
        t2 = time.perf_counter()
        fit_wls(model, noise=noise)
        t3 = time.perf_counter()
    rss_gb = _peak_rss_gb(resource)
    print(f"  {len(model.toas)} TOAs, {len(result.names)} columns, {'GLS' if noise.correlated else 'WLS'}, "
          f"{result.iterations} iterations, reduced chi2 {result.reduced_chi2:.3f}, converged {result.converged}")
    print(f"  fresh process: read+build {t1 - t0:.2f} s, first fit {t2 - t1:.2f} s (total {t2 - t0:.2f} s), "
          f"warm re-fit {t3 - t2:.2f} s, peak memory {rss_gb:.2f} GB")


def simulated(par_path: Path, tim_path: Path, ephem: Path, n: int) -> None:
    """Simulate ``n`` TOAs from the data set's .par and time their fit in a fresh process."""
    from conftest import CLOCK_DIR

    from jugbayes.io import read_par, read_tim, write_tim
    from jugbayes.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        template = resampled_template(read_tim(tim_path), n)
        toas = simulate(read_par(par_path, warn=False), template, seed=1, clock_dir=CLOCK_DIR, ephem_file=ephem)
        out = Path(tmp) / f"sim{n}.tim"
        write_tim(toas, out)
        print(f"simulated {n} TOAs from {par_path.name} in {time.perf_counter() - t0:.1f} s")
        for _ in range(2):  # the second run finds the compiled code in the persistent cache
            subprocess.run([sys.executable, __file__, "--child", str(par_path), str(out), str(ephem)], check=True)
        from conftest import CLOCK_DIR as clock_dir

        for run in range(3):  # `jugbayes fit` itself, files to written .par, as the B1855 figure
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "jugbayes", "fit", str(par_path), str(out), "--out-par",
                            str(Path(tmp) / f"out{run}.par"), "--clock-dir", str(clock_dir), "--ephem-file",
                            str(ephem)], check=True, capture_output=True)
            print(f"  jugbayes fit in a fresh process, files -> .par: {time.perf_counter() - t0:.2f} s")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="B1855+09_9yv1")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--simulate", type=int, default=0, help="fit N TOAs simulated from the data set's .par")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child)
    from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS

    par_rel, tim_rel = PINT_DATASETS[args.dataset]
    par_path, tim_path = DATASETS / par_rel, DATASETS / tim_rel
    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    from jugbayes.io import read_par

    ephem = (read_par(par_path, warn=False).get("EPHEM").value or "DE421").lower()
    if args.simulate:
        return simulated(par_path, tim_path, EPHEM_DIR / f"{ephem}.bsp", args.simulate)
    fresh = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # a new .par each time: jugbayes fit does not overwrite one
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "jugbayes", "fit", str(par_path), str(tim_path), "--out-par",
                            str(Path(tmp) / f"out{i}.par"), "--clock-dir", str(CLOCK_DIR), "--ephem-file",
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
