"""The two NUTS backends on one posterior (issue 23 section 2): NumPyro and BlackJAX, wall time, ESS per second, and
their agreement within Monte Carlo error.

For each data set: the WLS/GLS fit, then ``sample_nuts`` with ``--backend numpyro`` and ``--backend blackjax``
(same chains, warm-up, draws and workers).  Per backend: wall time of the sampling (compilation included, as a
user meets it), min ESS bulk over the parameters (ArviZ, rank-normalised), min ESS bulk per second, max R-hat,
divergences and mean leapfrog steps per draw.  Agreement: for every parameter the difference of the two
posterior means in units of its Monte Carlo standard error (sd / sqrt(ESS) of each, in quadrature), and the
ratio of the posterior sds.

Usage: ``python benchmarks/bench_backends.py [--dataset NGC6440E --dataset B1855+09_9yv1] [--chains 4]
[--warmup 500] [--samples 1000] [--workers 2] [--sample-noise] [--marginalize linear]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _summary(result, wall_s: float) -> dict:
    import arviz as az
    import numpy as np

    draws = {f"p{i}": result.samples[:, :, i] for i in range(result.samples.shape[2])}
    data = az.from_dict(posterior=draws)
    ess = az.ess(data, method="bulk")
    rhat = az.rhat(data)
    ess_v = np.array([float(ess[k]) for k in draws])
    return {"wall_s": wall_s, "ess": ess_v, "min_ess": ess_v.min(), "min_ess_per_s": ess_v.min() / wall_s,
            "max_rhat": max(float(rhat[k]) for k in draws),
            "divergences": int(np.sum(result.sample_stats["diverging"])),
            "steps": float(np.mean(result.sample_stats["num_steps"])),
            "mean": result.samples.mean(axis=(0, 1)), "sd": result.samples.std(axis=(0, 1), ddof=1)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", action="append")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=None, help="default: one per core")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-noise", action="store_true")
    ap.add_argument("--marginalize", default="")
    args = ap.parse_args(argv)
    import jax
    import numpy as np
    from conftest import shared_model

    from jugbayes.fit.wls import fit_wls
    from jugbayes.model.noise import noise_for_model
    from jugbayes.sample.nuts import sample_nuts

    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"python {platform.python_version()}, jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs")
    for dataset in args.dataset or ["NGC6440E", "B1855+09_9yv1"]:
        _, model = shared_model(dataset)
        noise = noise_for_model(model)
        fit = fit_wls(model, model.free, noise=noise)
        out = {}
        for backend in ("numpyro", "blackjax"):
            t0 = time.perf_counter()
            result = sample_nuts(model, fit, noise, chains=args.chains, warmup=args.warmup, samples=args.samples,
                                 seed=args.seed, workers=args.workers, sample_noise=args.sample_noise,
                                 marginalize=args.marginalize, backend=backend)
            out[backend] = s = _summary(result, time.perf_counter() - t0)
            print(f"{dataset} {backend:8s}: {len(result.names)} parameters, {s['wall_s']:.1f} s, min ESS bulk "
                  f"{s['min_ess']:.0f} ({s['min_ess_per_s']:.1f}/s), max R-hat {s['max_rhat']:.4f}, "
                  f"{s['divergences']} divergences, {s['steps']:.1f} leapfrog steps per draw", flush=True)
        a, b = out["numpyro"], out["blackjax"]
        se = np.sqrt(a["sd"] ** 2 / a["ess"] + b["sd"] ** 2 / b["ess"])
        z = np.abs(a["mean"] - b["mean"]) / se
        ratio = b["sd"] / a["sd"]
        print(f"{dataset} agreement: max |mean difference| {z.max():.2f} Monte Carlo se (median {np.median(z):.2f}), "
              f"sd ratio blackjax/numpyro {ratio.min():.3f}..{ratio.max():.3f}", flush=True)


if __name__ == "__main__":
    main()
