"""Where one jitted residual evaluation spends its time, kernel by kernel (XLA CPU).

Records ``--calls`` evaluations with JAX's profiler (a Perfetto trace, no TensorBoard needed), sums the
duration of every compiled kernel (XLA "fusion" thunk) per call, and prints the largest with the
operations each contains (counts of sin/cos/log/divide...), read from the compiled HLO.  A kernel that
holds an expensive chain also computed elsewhere shows up here twice: XLA CPU copies fused elementwise
chains into every kernel that reads them.  Times are only comparable within one run of a quiet machine.

Usage: ``python benchmarks/profile_residuals.py [--dataset B1855+09_9yv1] [--calls 50] [--top 15]``.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

_EXPENSIVE = ("sine", "cosine", "atan2", "log", "divide", "sqrt", "rsqrt", "cbrt", "exponential", "power", "floor",
              "slice", "gather", "dot", "reduce")


def kernel_ops(hlo_text: str) -> dict[str, collections.Counter]:
    """Fusion instruction name -> counts of the notable operations in the computation it calls."""
    calls = dict(re.findall(r"%([\w.\-]+) = [^\n]*? fusion\([^\n]*calls=(%[\w.\-]+)", hlo_text))
    bodies = {m.group(1): m.group(2) for m in re.finditer(r"^(%[\w.\-]+) [^\n]*\{\n(.*?)\n\}", hlo_text, re.S | re.M)}
    out = {}
    for name, comp in calls.items():
        ops = re.findall(r"= \w+\[[\d,]*\][^ ]* ([a-z\-0-9]+)\(", bodies.get(comp, ""))
        out[name] = collections.Counter(op for op in ops if op in _EXPENSIVE)
        out[name]["(all)"] = len(ops)
    return out


def kernel_times_us(trace_dir: Path, calls: int) -> collections.Counter:
    """Mean duration per call (us) of each complete ("X") trace event, by name."""
    path = sorted(trace_dir.rglob("*.trace.json.gz"))[-1]
    events = json.load(gzip.open(path))
    events = events["traceEvents"] if isinstance(events, dict) else events
    total = collections.Counter()
    for e in events:
        if e.get("ph") == "X":
            total[e["name"]] += e.get("dur", 0) / calls
    return total


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="B1855+09_9yv1")
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    import jax
    from conftest import shared_model

    _, model = shared_model(args.dataset)
    p0 = model.zero_params()
    free = {n: p0[n] for n in model.free}
    f = jax.jit(lambda pf: model.residual_fn({**p0, **pf}, model.data)["time_s"])
    ops = kernel_ops(f.lower(free).compile().as_text())
    for _ in range(10):
        jax.block_until_ready(f(free))
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        for _ in range(args.calls):
            jax.block_until_ready(f(free))
        jax.profiler.stop_trace()
        times = kernel_times_us(Path(tmp), args.calls)
    kernels = {name: t for name, t in times.items() if name in ops}
    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"{args.dataset}: {len(model.toas)} TOAs; {len(ops)} kernels, {sum(kernels.values()):.0f} us per call "
          f"in kernels")
    for name, t in sorted(kernels.items(), key=lambda kv: -kv[1])[: args.top]:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(ops[name].items()) if op != "(all)")
        print(f"{t:9.1f} us  {name:32s} {ops[name]['(all)']:4d} ops  {detail}")


if __name__ == "__main__":
    main()
