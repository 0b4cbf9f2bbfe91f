"""enterprise + PTMCMCSampler's noise posterior of B1855+09 9yv1: the peer's side of the ESS-per-second comparison.

Run from the project root with jugbayes's Python; enterprise (a peer, never a dependency) in another::

    python tools/run_enterprise_noise_posterior.py --enterprise-python /work/entenv/bin/python \\
        [--max-wall-s 2100] [--niter 1000000] [--cpu 1] [--keep DIR]

That Python needs ``pip install enterprise-pulsar ptmcmcsampler pint-pulsar`` (``apt-get install
libsuitesparse-dev`` first); ``tools/enterprise_peer.py posterior`` is what it runs, on one core (``taskset -c
CPU``, ``OMP_NUM_THREADS=1`` and the BLAS thread counts 1).

The model, as enterprise users write it: PINT's residuals and full design matrix (``gp_signals.TimingModel()``,
the 90 free timing parameters and the offset marginalised), and the noise model jugbayes builds from the .par
(``noise_for_model``): per-backend ``MeasurementNoise(efac, log10_t2equad)``, per-backend ``EcorrKernelNoise``,
the red power law on the .par's 45 frequencies k / Tspan (Tspan jugbayes's, the TDB span; enterprise's own basis
times are PINT's barycentric TOAs).  14 parameters, priors jugbayes's defaults for sampled noise
(``jugbayes.model.noise.PRIOR_RANGES``: EFAC U(0.01, 10), log10 EQUAD/ECORR U(-8.5, -5), log10 A U(-20, -11),
gamma U(0, 7)).  PTMCMCSampler with its default jumps (SCAM, AM, DE), one chain from the .par's values, initial
jump covariance 0.01^2 I, thinned by 10 (its default), ``niter`` iterations or as many as fit ``--max-wall-s``
at the measured likelihood cost.

Summary (``tests/data/enterprise/B1855+09_9yv1_ptmcmc_noise_posterior.json``, no chain): the first
``--burn`` fraction of the thinned chain removed; per parameter median, sd, ESS bulk and tail (arviz's
rank-normalised estimators, one chain) and ESS bulk per second of sampling wall time; the likelihood's cost.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from make_enterprise_references import DATASET, enterprise_names, load_b1855  # noqa: E402

OUT = ROOT / "tests" / "data" / "enterprise" / "B1855+09_9yv1_ptmcmc_noise_posterior.json"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def read_chain(outdir: Path, ndim: int) -> np.ndarray:
    """PTMCMC's cold chain (thinned rows: ndim parameters, log posterior, log likelihood, acceptance, PT)."""
    files = [f for f in glob.glob(str(outdir / "chain_*.txt")) if "hot" not in f]
    if len(files) != 1:
        raise RuntimeError(f"expected one cold chain file in {outdir}, found {files}")
    chain = np.loadtxt(files[0])
    if chain.shape[1] != ndim + 4:
        raise RuntimeError(f"{files[0]}: {chain.shape[1]} columns, expected {ndim + 4}")
    return chain


def summarise(chain: np.ndarray, names: list[str], burn: float, wall_s: float) -> dict:
    import arviz as az

    keep = chain[int(burn * len(chain)):]
    data = az.convert_to_dataset({n: keep[None, :, i] for i, n in enumerate(names)})
    bulk, tail = az.ess(data, method="bulk"), az.ess(data, method="tail")
    out = {}
    for i, n in enumerate(names):
        x = keep[:, i]
        out[n] = {"median": float(np.median(x)), "sd": float(np.std(x, ddof=1)), "mean": float(np.mean(x)),
                  "q05": float(np.quantile(x, 0.05)), "q95": float(np.quantile(x, 0.95)),
                  "ess_bulk": float(bulk[n]), "ess_tail": float(tail[n]),
                  "ess_bulk_per_s": float(bulk[n]) / wall_s}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enterprise-python", required=True)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--niter", type=int, default=1_000_000)
    ap.add_argument("--max-wall-s", type=float, default=2100.0, help="sampling wall-time budget (s)")
    ap.add_argument("--cpu", default="1", help="core(s) for taskset -c ('' for none)")
    ap.add_argument("--burn", type=float, default=0.25, help="fraction of the chain removed as burn-in")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="keep PTMCMC's chain files in this folder")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    shared = Path(args.shared).resolve()

    from jugbayes.model.noise import PRIOR_RANGES, noise_parameters

    model, noise = load_b1855(shared)
    params = noise_parameters(noise)
    names, flag = enterprise_names(params, model.par.pulsar)
    start = {e: float(np.clip(p.value, p.lower, p.upper)) for e, p in zip(names, params)}
    spec = {"shared": str(shared), "par": str(shared / "datasets" / DATASET[0] / DATASET[1]),
            "tim": str(shared / "datasets" / DATASET[0] / DATASET[2]), "flag": flag,
            "components": int(noise.names["red"]["nf"]), "tspan_s": float(noise.names["red"]["tspan_s"]),
            "priors": {k: list(v) for k, v in PRIOR_RANGES.items()}, "start": start, "niter": args.niter,
            "max_wall_s": args.max_wall_s, "seed": args.seed}

    with tempfile.TemporaryDirectory() as tmp:
        outdir = Path(args.keep) if args.keep else Path(tmp) / "chains"
        outdir.mkdir(parents=True, exist_ok=True)
        spec_path = outdir / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1))
        cmd = [args.enterprise_python, str(ROOT / "tools" / "enterprise_peer.py"), "posterior", str(spec_path),
               str(outdir)]
        if args.cpu:
            cmd = ["taskset", "-c", args.cpu] + cmd
        print("running:", " ".join(cmd), flush=True)
        t0 = time.time()
        done = subprocess.run(cmd, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True)
        total_wall = time.time() - t0
        if done.returncode != 0:
            raise SystemExit(f"enterprise failed:\n{done.stderr[-4000:]}")
        info = json.loads((outdir / "run_info.json").read_text())
        ent_names = info["param_names"]
        chain = read_chain(outdir, len(ent_names))
    if len(chain) != info["niter"] // info["thin"] + 1:
        raise SystemExit(f"{len(chain)} chain rows for {info['niter']} iterations thinned by {info['thin']}")

    # in jugbayes's order and names
    col = [ent_names.index(e) for e in names]
    stats = summarise(chain[:, col], [p.name for p in params], args.burn, info["sample_wall_s"])
    n_kept = len(chain) - int(args.burn * len(chain))
    result = {
        "about": "enterprise + PTMCMCSampler noise posterior of B1855+09 9yv1, timing model marginalised "
                 "(tools/run_enterprise_noise_posterior.py; its docstring says what was run)",
        "dataset": list(DATASET), "enterprise_version": info["enterprise_version"],
        "ptmcmcsampler_version": info["ptmcmcsampler_version"], "command": " ".join(sys.argv),
        "names": [p.name for p in params], "enterprise_names": names,
        "priors": {p.name: [p.lower, p.upper] for p in params},
        "niter": info["niter"], "thin": info["thin"], "burn_fraction": args.burn, "n_kept": n_kept,
        "acceptance": float(chain[-1, -2]), "sample_wall_s": info["sample_wall_s"],
        "setup_wall_s": info["setup_wall_s"], "total_wall_s": total_wall,
        "seconds_per_loglike": info["seconds_per_loglike"], "seconds_per_logprior": info["seconds_per_logprior"],
        "n_timing_columns": info["n_timing_columns"], "ecorr_epochs": info["ecorr_epochs"],
        "tspan_s": info["tspan_s"], "pint_tspan_s": info["pint_tspan_s"],
        "threads": {"cpu": args.cpu, **ONE_THREAD, "affinity": info["affinity"]},
        "ess_method": "arviz.ess bulk and tail (rank-normalised, one chain) on the thinned chain after burn-in",
        "parameters": stats,
        "min_ess_bulk": min(s["ess_bulk"] for s in stats.values()),
        "min_ess_bulk_per_s": min(s["ess_bulk_per_s"] for s in stats.values()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")

    print(f"{info['niter']} iterations in {info['sample_wall_s']:.0f} s (total {total_wall:.0f} s), "
          f"{info['seconds_per_loglike'] * 1e3:.2f} ms per likelihood, acceptance {result['acceptance']:.3f}, "
          f"{n_kept} thinned draws kept")
    print(f"{'parameter':24s} {'median':>11s} {'sd':>9s} {'ESS bulk':>9s} {'ESS tail':>9s} {'ESS/s':>8s}")
    for n, s in stats.items():
        print(f"{n:24s} {s['median']:11.5f} {s['sd']:9.5f} {s['ess_bulk']:9.1f} {s['ess_tail']:9.1f} "
              f"{s['ess_bulk_per_s']:8.4f}")
    print(f"min ESS bulk {result['min_ess_bulk']:.1f}, min ESS bulk/s {result['min_ess_bulk_per_s']:.4f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
