"""Our sampled-noise posterior of B1855+09 9yv1 against enterprise + PTMCMC's (issue 23's peer check).

Reads a ``jugbayes fit ... --method nuts --sample-noise [--marginalize linear] --outdir DIR`` run's
``DIR/posterior.nc`` and the stored enterprise run (``tests/data/enterprise/B1855+09_9yv1_ptmcmc_noise_posterior.json``,
made by ``tools/run_enterprise_noise_posterior.py``; the timing model marginalised, the same priors), and prints per
noise parameter both medians, their difference in enterprise's posterior sd (target: within 0.2), both sds, and
both codes' ESS bulk per second (ours: min over all parameters, divided by ``--wall-s``, the run's wall time).

Usage: ``python tools/compare_noise_posterior_with_enterprise.py DIR --wall-s SECONDS``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "enterprise" / "B1855+09_9yv1_ptmcmc_noise_posterior.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--wall-s", type=float, required=True, help="wall time of our run (s)")
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    args = ap.parse_args(argv)
    import arviz as az
    import numpy as np

    ref = json.loads(args.reference.read_text())
    idata = az.from_netcdf(args.outdir / "posterior.nc")
    ess = az.ess(idata.posterior, method="bulk")
    worst = 0.0
    print(f"{'parameter':24s} {'ours':>10s} {'enterprise':>10s} {'diff/sd':>8s} {'sd ours':>8s} {'sd ent':>8s}")
    for name in ref["names"]:
        if name not in idata.posterior:
            print(f"{name}: not in {args.outdir / 'posterior.nc'}", file=sys.stderr)
            return 1
        draws = np.asarray(idata.posterior[name]).ravel()
        theirs = ref["parameters"][name]
        z = (np.median(draws) - theirs["median"]) / theirs["sd"]
        worst = max(worst, abs(z))
        print(f"{name:24s} {np.median(draws):10.5f} {theirs['median']:10.5f} {z:+8.3f} {draws.std(ddof=1):8.5f} "
              f"{theirs['sd']:8.5f}")
    ours = min(float(ess[v]) for v in idata.posterior.data_vars)
    print(f"max |median difference| {worst:.3f} enterprise sd (target 0.2)")
    print(f"ESS bulk per second (min over parameters): ours {ours / args.wall_s:.3f} ({ours:.0f} in {args.wall_s:.0f} s), "
          f"enterprise + PTMCMC {ref['min_ess_bulk_per_s']:.4f} ({ref['min_ess_bulk']:.0f} in "
          f"{ref['total_wall_s']:.0f} s): ratio {ours / args.wall_s / ref['min_ess_bulk_per_s']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
