"""Many data sets fitted one after another in one fresh process: what each compiles.

The shared real data sets, then the bundled isolated pulsar cut to five TOA counts (one model structure; 1300,
1350 and 1392 TOAs fall in one bucket of model/padding.py, 600 and 900 in two others), each fitted by ``fit_wls`` as ``jugbayes fit`` fits it, in one new process with one XLA thread and an
empty compilation cache (``--warm``: a second process on the cache the first filled).  Per data set: the fit's
seconds, and from ``jax.monitoring`` the XLA compilations (count, seconds), tracing and lowering seconds.
Programs are keyed by model structure, free set and TOA bucket, so only a new bucket compiles again.

Usage: ``python benchmarks/bench_compile_many.py [--warm]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CUTS = (600, 900, 1300, 1350, 1392)  # TOAs of the bundled isolated pulsar kept in each cut


def _cut(tim: Path, n: int, out: Path) -> Path:
    """The first ``n`` TOA lines of a TEMPO2-format .tim (header lines kept)."""
    lines, kept, count = tim.read_text().splitlines(keepends=True), [], 0
    for line in lines:
        is_toa = line.strip() and not line.split()[0].upper() in ("FORMAT", "MODE", "C", "#")
        if is_toa:
            count += 1
            if count > n:
                continue
        kept.append(line)
    out.write_text("".join(kept))
    return out


def child(tmp: str) -> None:
    import jax

    from jugbayes.config import enable_compilation_cache

    events: list[tuple[str, float]] = []
    jax.monitoring.register_event_duration_secs_listener(lambda name, secs, **kw: events.append((name, secs)))
    enable_compilation_cache()
    sys.path.insert(0, str(ROOT / "tests"))
    import warnings

    from conftest import CLOCK_DIR, DATASETS, PINT_DATASETS, ephem_file

    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    sets = [(name, DATASETS / par, DATASETS / tim) for name, (par, tim) in PINT_DATASETS.items()]
    iso = ROOT / "models" / "isolated_msp"
    sets += [(f"isolated_msp[{n}]", iso / "isolated_msp.par",
              _cut(iso / "isolated_msp.tim", n, Path(tmp) / f"iso{n}.tim")) for n in CUTS]
    rows = []
    for name, par_path, tim_path in sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            par = read_par(par_path, warn=False)
            model = build_model(par, read_tim(tim_path), clock_dir=CLOCK_DIR, ephem_file=ephem_file(par))
            noise = noise_for_model(model)
            free = model.free or ("F0", "F1")
            start = len(events)
            t0 = time.perf_counter()
            fit_wls(model, free, noise=noise)
            wall = time.perf_counter() - t0
        mine = events[start:]

        def total(suffix):
            hits = [s for n, s in mine if n.endswith(suffix)]
            return len(hits), sum(hits)

        rows.append({"data set": name, "ntoa": len(model.toas), "fit_s": wall,
                     "compiles": total("backend_compile_duration"), "trace": total("jaxpr_trace_duration"),
                     "lower": total("jaxpr_to_mlir_module_duration"), "cache_reads": total("cache_retrieval_time_sec")})
    print(json.dumps(rows))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warm", action="store_true", help="then once more on the cache the first process filled")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    from fresh_process import run_child

    with tempfile.TemporaryDirectory() as tmp:
        for run in range(2 if args.warm else 1):
            rows, _ = run_child(__file__, tmp, Path(tmp) / "cache")
            print(f"process {run + 1} ({'empty cache' if run == 0 else 'warm cache'}):")
            for r in rows:
                print(f"  {r['data set']:22s} {r['ntoa']:5d} TOAs: fit {r['fit_s']:6.2f} s; {r['compiles'][0]} XLA "
                      f"compiles {r['compiles'][1]:5.2f} s, tracing {r['trace'][1]:4.2f} s, lowering "
                      f"{r['lower'][1]:4.2f} s, {r['cache_reads'][0]} cache reads {r['cache_reads'][1]:4.2f} s")
            print(f"  total: fit {sum(r['fit_s'] for r in rows):.1f} s, {sum(r['compiles'][0] for r in rows)} XLA "
                  f"compiles {sum(r['compiles'][1] for r in rows):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
