"""What ``jugbayes fit --method nuts`` does after the fit: the NUTS posterior, written as posterior.nc,
summary.csv and posterior.par, with its convergence summary.  ``jugbayes fit`` and each ``jugbayes pta --method
nuts`` task call :func:`run_nuts`; :func:`add_nuts_options` gives both commands the same options.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

POSTERIOR_FILES = ("posterior.nc", "summary.csv", "posterior.par")
# the keywords of run_nuts that choose the posterior and its draws (the options a pta task carries)
NUTS_OPTIONS = ("chains", "warmup", "samples", "seed", "config", "marginalize", "sample_noise", "dense_mass",
                "backend")


def add_nuts_options(p: argparse.ArgumentParser) -> None:
    """The posterior and sampler options shared by ``jugbayes fit`` and ``jugbayes pta``."""
    p.add_argument("--chains", type=int, help="NUTS chains (default 4, or the config's [sampler] chains)")
    p.add_argument("--warmup", type=int, help="NUTS warm-up draws per chain (default 500, or the config's)")
    p.add_argument("--samples", type=int, help="NUTS draws per chain (default 1000, or the config's)")
    p.add_argument("--seed", type=int, help="random seed (default 0, or the config's; same seed, same samples)")
    p.add_argument("--config", metavar="FILE", help="nuts: TOML file of priors and sampler settings (see "
                   "configs/priors_default.toml); default priors: +-K WLS sigmas within physical bounds")
    p.add_argument("--marginalize", metavar="linear|P1,P2", help="nuts: marginalise these parameters analytically "
                   "('linear': PHOFF, JUMPs, DMX, FD; or .par names) and draw them from their conditional")
    p.add_argument("--sample-noise", action="store_true", help="nuts: sample the white-noise (EFAC/EQUAD/ECORR) and "
                   "red/DM-noise (log10 amplitude, index) parameters too, with enterprise's default priors")
    p.add_argument("--dense-mass", action="store_true", default=None,
                   help="nuts: adapt a dense mass matrix (on top of the WLS whitening)")
    p.add_argument("--backend", choices=("numpyro", "blackjax"), default="numpyro",
                   help="nuts: the NUTS implementation (default numpyro; blackjax: window adaptation, same outputs)")


def nuts_options(args: argparse.Namespace) -> dict:
    """:data:`NUTS_OPTIONS` from parsed options (the config's path made absolute: a task may run elsewhere)."""
    opts = {key: getattr(args, key) for key in NUTS_OPTIONS}
    opts["config"] = str(Path(opts["config"]).resolve()) if opts["config"] else None
    opts["sample_noise"] = bool(opts["sample_noise"])
    return opts


@dataclass
class NutsRun:
    """One pulsar's posterior: the InferenceData written, its summary table and convergence figures."""

    idata: Any
    table: Any
    diagnostics: dict
    warnings: list


def _warn_stderr(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def run_nuts(run, outdir, *, chains=None, warmup=None, samples=None, seed=None, config=None, marginalize=None,
             sample_noise: bool = False, dense_mass=None, backend: str = "numpyro", workers: int | None = None,
             progress: bool = False, corner=None, echo: Callable[[str], None] = print,
             warn: Callable[[str], None] = _warn_stderr) -> NutsRun:
    """Sample the posterior after ``run``'s fit (a :class:`jugbayes.fit.command.WlsRun`) and write
    ``outdir``/posterior.nc, summary.csv, posterior.par (and the ``corner`` plot where given); print the
    convergence summary and table through ``echo``, each convergence problem through ``warn``.  ``config``: a
    TOML path (priors and [sampler] settings; the given sampler settings win).  ``workers``: processes for the
    chains (:func:`jugbayes.sample.nuts.sample_nuts`); the draws do not depend on it."""
    from jugbayes.sample.nuts import sample_nuts
    from jugbayes.sample.priors import read_config, sampler_settings

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    prior_config = read_config(config) if config else None
    settings = sampler_settings(prior_config, chains=chains, warmup=warmup, samples=samples, seed=seed,
                                dense_mass=dense_mass)
    result = sample_nuts(run.model, run.result, run.noise, **settings, config=prior_config,
                         marginalize=marginalize or (), sample_noise=sample_noise, progress=progress, workers=workers,
                         backend=backend)
    return write_posterior(run, result, outdir, config_text=Path(config).read_text() if config else None,
                           corner=corner, echo=echo, warn=warn)


def write_posterior(run, result, outdir: Path, *, config_text=None, corner=None, echo=print,
                    warn=_warn_stderr) -> NutsRun:
    """NUTS outputs: posterior.nc, summary.csv, posterior.par, the corner plot; summary and warnings."""
    from types import SimpleNamespace

    import numpy as np

    from jugbayes.io import write_par
    from jugbayes.io.output import atomic_path, atomic_write_text
    from jugbayes.report.fitted_par import fitted_values, updated_par
    from jugbayes.report.par_output import output_par
    from jugbayes.report.posterior import diagnostics, inference_data, summary_table
    from jugbayes.report.posterior import warnings as posterior_warnings

    model, fit = run.model, run.result
    idata = inference_data(model, result, fit, config=config_text, noise=run.noise, log_likelihood=True)
    with atomic_path(outdir / "posterior.nc") as tmp:
        idata.to_netcdf(tmp)
    table = summary_table(idata)
    atomic_write_text(outdir / "summary.csv", table.to_csv())
    d = diagnostics(idata, table)
    echo(f"NUTS: {d['chains']} chains x {d['draws']} draws; {d['divergences']} divergences; mean tree depth "
         f"{d['mean_tree_depth']:.2f} ({d['mean_leapfrog_steps']:.1f} leapfrog steps), {d['max_tree_depth_hits']} "
         f"draws at the maximum {d['max_tree_depth']}; ESS bulk >= {d['min_ess_bulk']:.0f}, tail >= "
         f"{d['min_ess_tail']:.0f}; R-hat <= {d['max_r_hat']:.4f}")
    formats = {"mean": "{:.15g}", "sd": "{:.4g}", "ess_bulk": "{:.0f}", "ess_tail": "{:.0f}", "r_hat": "{:.4f}",
               "(mean-wls)/sigma": "{:+.3f}", "sd/sigma": "{:.3f}"}
    echo(table[list(formats)].to_string(formatters={k: f.format for k, f in formats.items()}))
    problems = posterior_warnings(d)
    for text in problems:
        warn(text)
    # Medians and sds of the offsets (model units), turned into .par values exactly as for the fit.
    flat = result.samples.reshape(-1, len(result.names))
    medians = SimpleNamespace(names=result.names, offsets=np.median(flat, axis=0), sigma=flat.std(axis=0))
    posterior_par = output_par(updated_par(model.par, fitted_values(model, medians)), model,
                               inputs=(model.par.path, *model.toas.files),
                               command="fit --method nuts: posterior medians and sds")
    write_par(posterior_par, outdir / "posterior.par", protect=tuple(model.toas.files))
    echo(f"wrote {', '.join(str(outdir / name) for name in POSTERIOR_FILES)}")
    if corner:
        from jugbayes.report.corner import corner_plot

        corner_plot(idata, path=corner)
        echo(f"wrote {corner} (corner plot)")
    return NutsRun(idata, table, d, problems)
