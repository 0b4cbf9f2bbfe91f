"""Time one jitted residual evaluation and one full Jacobian: plain jacfwd over the free parameters, and
the fitter's design matrix (``fit.wls.design_matrix_fn``: the same derivatives, delay-only columns by the
chain rule; residuals and Jacobian together).

(a) A shared data set (default B1855+09_9yv1: 4005 TOAs, ~90 free parameters; any name in
    tests/conftest.py PINT_DATASETS works).  (b) Scaling: the same .par over synthetic TOA sets.
Compile time is reported separately; timings are the best of ``--repeat`` after compilation.

Usage: ``python benchmarks/bench_residuals.py [--dataset NAME] [--sizes 4005 20000 100000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(model, repeat: int) -> dict:
    import jax

    free = list(model.free) or list(model.names)  # a .par with nothing free: all parameters
    p0 = model.zero_params()

    def resid(pfree):
        return model.residual_fn({**p0, **pfree}, model.data)["time_s"]

    f = jax.jit(resid)
    jac = jax.jit(jax.jacfwd(resid))
    pf = {n: p0[n] for n in free}
    t0 = time.perf_counter()
    f(pf).block_until_ready()
    compile_f = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.tree_util.tree_map(lambda x: x.block_until_ready(), jac(pf))
    compile_j = time.perf_counter() - t0
    eval_s = _best(lambda: f(pf).block_until_ready(), repeat)
    jac_s = _best(lambda: jax.tree_util.tree_map(lambda x: x.block_until_ready(), jac(pf)), repeat)
    from jugbayes.fit.wls import design_matrix_fn

    dm = jax.jit(design_matrix_fn(model, tuple(free), with_offset=False)[0])
    x0 = jax.numpy.zeros(len(free))
    jax.block_until_ready(dm(x0))
    dm_s = _best(lambda: jax.block_until_ready(dm(x0)), repeat)
    return {"ntoa": len(model.toas), "nfree": len(free), "compile_resid_s": compile_f, "compile_jac_s": compile_j,
            "resid_ms": eval_s * 1e3, "jac_ms": jac_s * 1e3, "dm_ms": dm_s * 1e3}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="B1855+09_9yv1")
    ap.add_argument("--sizes", type=int, nargs="*", default=[20_000, 100_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    from conftest import shared_model

    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    import jax

    print(f"python {platform.python_version()}, jax {jax.__version__} on {jax.default_backend()}, "
          f"{os.cpu_count()} CPUs")
    rows = []
    _, model = shared_model(args.dataset)
    rows.append((args.dataset, measure(model, args.repeat)))
    from bench_prepare import synthetic_tim

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            tim = Path(tmp) / f"syn{n}.tim"
            synthetic_tim(tim, n)
            _, model = shared_model(args.dataset, tim)
            rows.append((f"synthetic {n}", measure(model, args.repeat)))
    print(f"{'TOAs':>28} {'free':>5} {'residuals':>11} {'jacfwd':>11} {'design mat.':>11} {'compile r/j (s)':>16}")
    for label, r in rows:
        print(f"{label:>18} {r['ntoa']:>9} {r['nfree']:>5} {r['resid_ms']:>9.3f}ms {r['jac_ms']:>9.2f}ms "
              f"{r['dm_ms']:>9.2f}ms {r['compile_resid_s']:>7.2f}/{r['compile_jac_s']:.2f}")


if __name__ == "__main__":
    main()
