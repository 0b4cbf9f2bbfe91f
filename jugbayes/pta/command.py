"""The ``jugbayes pta`` subcommand's options and its run (imports neither JAX nor Dask until it runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jugbayes.errors import JugbayesError
from jugbayes.sample.command import NUTS_OPTIONS, add_nuts_options, nuts_options

DESCRIPTION = (
    "Fit every pulsar of SOURCE, each as an independent task on a Dask cluster: DIR/<PSR>/ gets what jugbayes "
    "fit writes (fitted.par, fit.json, fit.txt; residuals.png with --plot; with --method nuts also posterior.nc, "
    "summary.csv, posterior.par), DIR/summary.csv and summary.json one row per pulsar (status, TOAs, chi2, reduced "
    "chi2, weighted rms, iterations, warnings, wall time; for nuts divergences, R-hat, ESS; a pulsar "
    "that fails is a row with its error, the traceback in DIR/<PSR>/error.txt). A rerun skips pulsars whose "
    "results are complete and whose .par, .tim (with INCLUDEs) and options are unchanged. SOURCE: a directory "
    "(searched recursively; .par and .tim paired by the pulsar name their file names start with) or a TOML list "
    "of [[pulsar]] entries: par = ..., tim = ..., optional name = ... and per-pulsar fit, freeze, clk, "
    "ephem-file, clock-dir, gps-clock, strict-clock, timeeph, timeeph-file; for nuts config, marginalize, "
    "sample-noise, seed.")


def add_pta_options(p: argparse.ArgumentParser) -> None:
    """The options of ``jugbayes pta`` (the clock/ephemeris ones are added beside them, as for ``fit``)."""
    p.add_argument("source", metavar="SOURCE", help="directory of .par/.tim files, or a .toml list of pairs")
    p.add_argument("--method", choices=("wls", "nuts"), default="wls", help="wls: the WLS/GLS fit (default); nuts: "
                   "the fit, then its NUTS posterior (DIR/<PSR>/posterior.nc, summary.csv, posterior.par), the chains "
                   "of a pulsar one after another in its task, drawn as jugbayes fit --method nuts draws them")
    p.add_argument("--outdir", required=True, metavar="DIR", help="results (resumable; a new or empty folder, or "
                   "one an earlier jugbayes pta run made)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://HOST:8786 (default "
                   "$JUGBAYES_SCHEDULER; without either: a local cluster of one process per core)")
    p.add_argument("--workers", type=int, metavar="N", help="local cluster: worker processes (default: one per core)")
    p.add_argument("--fit", metavar="P1,P2", help="fit exactly these parameters (every pulsar)")
    p.add_argument("--freeze", metavar="P3,P4", help="hold these parameters fixed (every pulsar)")
    p.add_argument("--plot", action="store_true", help="also draw DIR/<PSR>/residuals.png (pre- and post-fit; "
                   "nuts: and corner.png)")
    add_nuts_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _absolute(path: str | None) -> str | None:
    """Paths in the options, made absolute: workers may run elsewhere in the file system."""
    return None if path is None else str(Path(path).resolve())


def options_from_args(args: argparse.Namespace, time_transfer: dict) -> dict:
    """Every pulsar's options: the keywords of :func:`jugbayes.fit.command.run_wls`, ``plot``, ``method`` and,
    for nuts, those of :func:`jugbayes.sample.command.run_nuts`."""
    opts = dict(time_transfer, fit=args.fit, freeze=args.freeze, plot=args.plot, method=args.method)
    if args.method == "nuts":
        opts |= nuts_options(args)
    for key in ("clock_dir", "ephem_file", "timeeph_file"):
        opts[key] = _absolute(opts.get(key))
    return opts


def run_command(args: argparse.Namespace, time_transfer: dict) -> int:
    """``jugbayes pta``: 0 when every pulsar was fitted, 1 when some failed (their rows say why)."""
    given = [f"--{k.replace('_', '-')}" for k in NUTS_OPTIONS
             if k != "backend" and getattr(args, k) not in (None, False)]
    if args.method == "wls" and (given or args.backend != "numpyro"):
        raise JugbayesError(f"{', '.join(given or ['--backend'])}: options of --method nuts (this run is --method wls)")
    for option in ("chains", "warmup", "samples"):
        if getattr(args, option) is not None and getattr(args, option) < (1 if option == "chains" else 0):
            raise JugbayesError(f"--{option} needs a {'positive' if option == 'chains' else 'non-negative'} number")
    if args.workers is not None and args.workers < 1:
        raise JugbayesError("--workers needs a positive number")
    if args.config:  # a bad prior file is one error now, not one failed row per pulsar
        from jugbayes.sample.priors import read_config

        read_config(args.config)
    from jugbayes.pta.runner import run_pta
    from jugbayes.pta.source import check_unique, read_source

    outdir = Path(args.outdir)
    jobs = read_source(args.source, options_from_args(args, time_transfer), skip=outdir)
    check_unique(jobs)
    counts = run_pta(jobs, outdir, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress)
    failed = len(jobs) - counts.get("ok", 0)
    done = "fitted" if args.method == "wls" else "fitted and sampled"
    print(f"{len(jobs)} pulsars: {counts.get('ok', 0)} {done} ({counts['skipped']} already done), {failed} failed; "
          f"wrote {outdir / 'summary.csv'} and {outdir / 'summary.json'}")
    if failed:
        print(f"warning: {failed} pulsars failed; their errors are in {outdir / 'summary.csv'}", file=sys.stderr)
    return 1 if failed else 0
