"""Where a fresh process's ``jugbayes fit`` time goes: import, TOA preparation + model build, the fit, and in
the fit JAX's tracing, lowering to MLIR, XLA compilation and cache reads (``jax.monitoring`` durations, summed
per event, with counts), on an empty compilation cache and then on the cache the first run filled.

Usage: ``python benchmarks/profile_compile.py [--dataset B1855+09_9yv1] [--runs 2]``.  Each run is a new
process with one XLA thread, as ``jugbayes fit`` runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(dataset: str) -> None:
    t0 = time.perf_counter()
    import jax

    from jugbayes.config import enable_compilation_cache

    t_import = time.perf_counter() - t0
    events: dict[str, list[float]] = {}
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **kw: events.setdefault(name, []).append(secs))
    enable_compilation_cache()
    sys.path.insert(0, str(ROOT / "tests"))
    import warnings

    from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS

    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    par_rel, tim_rel = PINT_DATASETS[dataset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t1 = time.perf_counter()
        par, toas = read_par(DATASETS / par_rel, warn=False), read_tim(DATASETS / tim_rel)
        ephem = EPHEM_DIR / f"{(par.get('EPHEM').value or 'DE421').lower()}.bsp"
        model = build_model(par, toas, clock_dir=CLOCK_DIR, ephem_file=ephem)
        noise = noise_for_model(model)
        t2 = time.perf_counter()
        before = {k: len(v) for k, v in events.items()}
        fit_wls(model, noise=noise)
        t3 = time.perf_counter()
    in_fit = {k: v[before.get(k, 0):] for k, v in events.items()}
    print(json.dumps({"import_s": t_import, "read_build_s": t2 - t1, "fit_s": t3 - t2,
                      "build_events": {k: [len(v[:before.get(k, 0)]), sum(v[:before.get(k, 0)])]
                                       for k, v in events.items() if before.get(k)},
                      "fit_events": {k: [len(v), sum(v)] for k, v in in_fit.items() if v}}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="B1855+09_9yv1")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    from fresh_process import run_child

    with tempfile.TemporaryDirectory() as cache:
        for run in range(args.runs):
            r, wall = run_child(__file__, args.dataset, cache)
            print(f"run {run + 1} ({'empty cache' if run == 0 else 'cache from the runs before'}): process "
                  f"{wall:.2f} s; import jax {r['import_s']:.2f} s, read + build {r['read_build_s']:.2f} s, "
                  f"fit {r['fit_s']:.2f} s")
            for phase in ("build_events", "fit_events"):
                for name, (count, total) in sorted(r[phase].items(), key=lambda kv: -kv[1][1]):
                    if total >= 0.01:
                        print(f"    {phase[:-7]:5s} {name}: {count} x, {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
