"""The ``jugbayes`` command line.

Errors in user input are printed as one ``FILE:LINE: problem`` line on stderr
with exit status 2; warnings as ``warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import warnings
from pathlib import Path

from jugbayes import __version__
from jugbayes.errors import JugbayesError
from jugbayes.report.inspect import inspect_dict, inspect_text
from jugbayes.sample.command import POSTERIOR_FILES, add_nuts_options

EXIT_INPUT_ERROR = 2
EXIT_FIT_QUALITY = 3  # fit --strict: the fit ended but cannot be right


def _cmd_inspect(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim

    par = read_par(args.par)
    toas = read_tim(args.tim) if args.tim else None
    if args.json:
        print(json.dumps(inspect_dict(par, toas), indent=2))
    else:
        print(inspect_text(par, toas))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim, write_par, write_tim

    src, out = Path(args.input), Path(args.out)
    if src.suffix.lower() == ".par":
        par = read_par(src)
        _check_outputs(args, {"--out": out}, (src,))
        write_par(par, out)
        print(f"wrote {out} ({len(par.params)} parameters, {len(par.unused)} unused kept)")
    else:
        toas = read_tim(src)
        _check_outputs(args, {"--out": out}, toas.files)
        write_tim(toas, out)
        print(f"wrote {out} ({len(toas)} TOAs, TEMPO2 format)")
    return 0


def _cmd_toas(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim
    from jugbayes.prepare import prepare_toas
    from jugbayes.report.toas_table import format_toa_table, write_toa_table

    par = read_par(args.par)
    toas = read_tim(args.tim)
    _check_outputs(args, {"--out": args.out}, (args.par, *toas.files))
    prep = prepare_toas(par, toas, **_time_transfer_kw(args))
    if args.out:
        write_toa_table(prep, args.out, protect=(args.par,))
        print(f"wrote {args.out} ({len(prep)} TOAs; {prep.standard.name}, {prep.ephem})")
    else:
        sys.stdout.write(format_toa_table(prep))
    return 0


def _cmd_residuals(args: argparse.Namespace) -> int:
    import numpy as np

    from jugbayes.io import read_par, read_tim
    from jugbayes.model.physical import check_finite_residuals
    from jugbayes.model.timing_model import build_model
    from jugbayes.report.residual_table import (format_residual_table, mean_weights_sigma_us, remove_mean, summary,
                                                write_residual_table)

    par = read_par(args.par)
    toas = read_tim(args.tim)
    _check_outputs(args, {"--out": args.out, "--plot": args.plot}, (args.par, *toas.files, args.noise_dict),
                   plots=("--plot",))
    par = _with_noise_dict(args, par, toas)
    model = build_model(par, toas, **_time_transfer_kw(args))
    result = {k: np.asarray(v) for k, v in model.residuals().items()}
    check_finite_residuals(toas, result["time_s"])
    sigma_us, weights = mean_weights_sigma_us(model)
    resid = remove_mean(result["phase"], result["spin_freq_hz"], sigma_us, args.mean_mode,
                        rewrap=not model.structure.pulse_numbers)
    result.pop("spin_freq_hz")
    delays = {k: v for k, v in result.items() if k.startswith("delay_")}
    dm_columns, dm_line = _wideband_table(model, result)
    text = format_residual_table(toas, resid, result["phase"], delays, dm_columns)
    stats = summary(resid, toas.error_us)
    line = (f"{stats['ntoas']} TOAs: weighted rms {stats['wrms_us']:.4f} us, chi2 {stats['chi2']:.2f} (TOA errors "
            f"only; mean weights: {weights}){dm_line}")
    if args.out:
        write_residual_table(text, args.out, (*toas.files, args.par))
        print(f"wrote {args.out}; {line}")
    else:
        sys.stdout.write(text)
        print(line, file=sys.stderr)
    if args.plot:
        _plot_residuals(model, {"pre-fit": resid}, args.plot, f"{par.pulsar or Path(args.par).stem}: {line}")
    return 0


def _with_noise_dict(args, par, toas):
    """``par`` with --noise-dict's values for this pulsar (each change said on stderr), or ``par`` itself."""
    if not args.noise_dict:
        return par
    from jugbayes.io.noise_dict import apply_noise_dict, read_noise_dict

    par, changes = apply_noise_dict(par, read_noise_dict(args.noise_dict), toas, path=args.noise_dict)
    print(f"noise from {args.noise_dict}: " + ("; ".join(changes) or "nothing for this pulsar"), file=sys.stderr)
    return par


def _write_noise_dict(path, par, values=None, protect=()) -> None:
    from jugbayes.io.noise_dict import noise_dict, write_noise_dict

    nd = noise_dict(par, values)
    write_noise_dict(nd, path, protect=protect)
    print(f"wrote {path} ({len(nd)} noise values, enterprise names{'; posterior medians' if values else ''})")


def _wideband_table(model, result: dict) -> tuple[dict | None, str]:
    """The residual table's DM columns and a summary phrase for wideband TOAs (None, "" without)."""
    if not model.structure.wideband:
        return None, ""
    from jugbayes.model.noise import noise_for_model
    from jugbayes.report.residual_table import dm_summary, wideband_columns

    sigma = noise_for_model(model).wb_sigma_pc_cm3
    stats = dm_summary(result["dm_resid_pc_cm3"], sigma)
    return (wideband_columns(model, result["dm_resid_pc_cm3"], sigma),
            f"; {stats['n_dm']} wideband DMs: weighted rms {stats['dm_wrms_pc_cm3']:.3g} pc cm^-3, chi2 "
            f"{stats['dm_chi2']:.2f} (DMEFAC/DMEQUAD-scaled errors)")


def _cmd_fit(args: argparse.Namespace) -> int:
    from jugbayes.fit.command import plot_fit, run_wls
    from jugbayes.io import read_par, read_tim

    if args.method == "nuts" and not args.outdir:
        raise JugbayesError("--method nuts needs --outdir DIR for the posterior (netCDF), summary and .par")
    par = read_par(args.par)
    toas = read_tim(args.tim)
    _check_outputs(args, _fit_outputs(args), (args.par, *toas.files, args.config, args.noise_dict), plots=("--plot",))
    par = _with_noise_dict(args, par, toas)
    run = run_wls(args.par, args.tim, fit=args.fit, freeze=args.freeze, out_par=args.out_par, summary=args.summary,
                  parenthesis=args.parenthesis, strict=args.strict, loaded=(par, toas), **_time_transfer_kw(args))
    if run.refused:
        print("--strict: the fit cannot be right (warnings above); nothing written", file=sys.stderr)
        return EXIT_FIT_QUALITY
    if args.write_noise_dict and args.method == "wls":
        _write_noise_dict(args.write_noise_dict, par, protect=(args.par, *toas.files, args.noise_dict))
    idata = _run_nuts(args, run) if args.method == "nuts" else None
    if args.plot:  # nuts: the corner plot went to --plot, the residuals go to DIR/residuals.png
        png = Path(args.outdir) / "residuals.png" if args.method == "nuts" else args.plot
        plot_fit(run, png, title=run.par.pulsar or Path(args.par).stem)
        _say_residual_plot(run.model, png)
    if args.report:
        from jugbayes.report.fit_table import fit_table
        from jugbayes.report.html import fit_report

        out = fit_report(run.model, run.result, run.noise, Path(args.report) / "report.html", idata=idata,
                         fit_text=fit_table(run.values, parenthesis=args.parenthesis), protect=(args.par, *toas.files),
                         warnings=list(dict.fromkeys(_SHOWN_WARNINGS)))
        print(f"wrote {out} (one page: fit, noise, warnings, residuals{', posterior' if idata is not None else ''})")
    return 0


_CHAIN_FILES = ("chain_1.txt", "pars.txt")


def _fit_outputs(args) -> dict:
    """Every file ``fit`` may write, by the option that names it (for nuts: the files in --outdir)."""
    outputs = {"--out-par": args.out_par, "--summary": args.summary, "--plot": args.plot,
               "--write-noise-dict": args.write_noise_dict}
    if args.report and Path(args.report).is_dir():  # folders given are made; a new one holds nothing to overwrite
        outputs["--report (report.html)"] = Path(args.report) / "report.html"
    if args.write_chain and args.method == "nuts" and Path(args.write_chain).is_dir():
        outputs.update({f"--write-chain ({name})": Path(args.write_chain) / name for name in _CHAIN_FILES})
    if args.method == "nuts":
        outdir = Path(args.outdir)
        if outdir.exists() and not outdir.is_dir():
            raise JugbayesError(f"{outdir}: --outdir: is a file, not a folder")
        if outdir.is_dir():  # a new folder holds nothing to overwrite
            names = POSTERIOR_FILES + (("residuals.png",) if args.plot else ())
            outputs.update({f"--outdir ({name})": outdir / name for name in names})
    return outputs


def _check_outputs(args, outputs: dict, inputs, plots: tuple = ()) -> None:
    """Before any work: no output onto an input or another output, nor over a file without --overwrite."""
    from jugbayes.io.output import check_outputs, check_plot_path

    check_outputs(outputs, inputs, overwrite=args.overwrite)
    for option in plots:
        check_plot_path(option, outputs[option])


_PARENT_GROUPS = {"noise_dict": "noise values", "time_transfer": "clocks and ephemerides", "overwrite": "output files"}


def _parent(kind: str) -> argparse.ArgumentParser:
    """A parent parser holding one repeated block of options (its own section in --help)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group(_PARENT_GROUPS[kind])
    {"noise_dict": _add_noise_dict_option, "time_transfer": _add_time_transfer_options,
     "overwrite": _add_overwrite_option}[kind](group)
    return parent


def _add_overwrite_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist already (never inputs)")


def _plot_residuals(model, panels: dict, png, title: str) -> None:
    from jugbayes.report.plots import plot_model_residuals

    plot_model_residuals(model, panels, png, title=title)
    _say_residual_plot(model, png)


def _say_residual_plot(model, png) -> None:
    print(f"wrote {png} (residuals against MJD{', orbital phase' if model.structure.binary else ''} and frequency; "
          "error bars EFAC/EQUAD-scaled)")


def _run_nuts(args, run):
    """Stage two after the fit: the NUTS posterior in --outdir, then the noise dictionary and chain files asked
    for; returns the InferenceData."""
    from jugbayes.sample.command import nuts_options, run_nuts

    nuts = run_nuts(run, args.outdir, **nuts_options(args), workers=args.workers, progress=not args.no_progress,
                    corner=args.plot)
    model = run.model
    if args.write_noise_dict:
        from jugbayes.report.posterior import posterior_medians

        _write_noise_dict(args.write_noise_dict, model.par, posterior_medians(nuts.idata),
                          protect=(model.par.path, *model.toas.files, args.noise_dict))
    if args.write_chain:
        from jugbayes.report.ptmcmc import write_ptmcmc_chain

        print(f"wrote {', '.join(map(str, write_ptmcmc_chain(nuts.idata, model.par, args.write_chain)))} "
              "(PTMCMC layout)")
    return nuts.idata


def _simulation_plan(args: argparse.Namespace):
    """The ObservingPlan the --start/--end/--ntoa options describe, or None when a template TIM is used."""
    from jugbayes.simulate import ObservingPlan

    layout = {"--start": args.start, "--end": args.end, "--ntoa": args.ntoa}
    extra = {"--cadence-days": args.cadence_days, "--obs": args.obs, "--freqs": args.freqs, "--error-us": args.error_us}
    given = [k for k, v in layout.items() if v is not None]
    if args.tim is not None:
        if given or any(v is not None for v in extra.values()):
            raise JugbayesError("simulate: give a template TIM or a layout (--start/--end/--ntoa ...), not both")
        return None
    if len(given) < 3:
        missing = ", ".join(k for k in layout if layout[k] is None)
        raise JugbayesError(f"simulate: give a template TIM, or --start, --end and --ntoa (missing {missing})")

    def floats(option: str, text: str | None, default: tuple) -> tuple:
        if text is None:
            return default
        try:
            return tuple(float(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise JugbayesError(f"simulate: {option} {text!r}: expected comma-separated numbers (MHz)") from None

    obs = ("coe",) if args.obs is None else tuple(x.strip() for x in args.obs.split(",") if x.strip())
    return ObservingPlan(args.start, args.end, args.ntoa, args.cadence_days, obs,
                         floats("--freqs", args.freqs, (1400.0,)), 1.0 if args.error_us is None else args.error_us)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim, write_tim
    from jugbayes.simulate import simulate, simulate_plan

    plan = _simulation_plan(args)
    par = read_par(args.par)
    template = None if args.tim is None else read_tim(args.tim)
    _check_outputs(args, {"--out": args.out}, (args.par, *(template.files if template else ())))
    if plan is None:
        toas = simulate(par, template, seed=args.seed, noise=not args.no_noise, **_time_transfer_kw(args))
    else:
        toas = simulate_plan(par, plan, seed=args.seed, noise=not args.no_noise, **_time_transfer_kw(args))
    write_tim(toas, args.out)
    print(f"wrote {args.out}: {len(toas)} TOAs with zero residual under {args.par}"
          + ("" if args.no_noise else f", plus noise (seed {args.seed})"))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from jugbayes.validate import load_config, run_study

    methods = None if args.methods is None else tuple(m.strip() for m in args.methods.split(",") if m.strip())
    cfg = load_config(args.config, n_datasets=args.n, methods=methods, seed=args.seed)
    if args.workers is not None and args.workers < 1:
        raise JugbayesError("--workers needs a positive number")
    report = run_study(cfg, args.outdir, workers=args.workers, progress=not args.no_progress, cache=True,
                       scheduler=args.scheduler)
    print(f"{report['n_datasets']} data sets; coverage of the 68% / 95% intervals (binomial standard error):")
    for method, per in report["methods"].items():
        for name, e in per.items():
            c68, c95 = e["coverage68"], e["coverage95"]
            line = (f"  {method:4s} {name:10s} {100 * c68['fraction']:5.1f} +- {100 * c68['stderr']:4.1f}%  "
                    f"{100 * c95['fraction']:5.1f} +- {100 * c95['stderr']:4.1f}%  pulls {e['pulls']['mean']:+.2f} "
                    f"sd {e['pulls']['sd']:.2f}")
            if "ranks" in e:
                line += f"  SBC p {e['ranks']['p']:.3f}"
            print(line)
    print(f"wrote {Path(args.outdir) / 'report.json'} and figures")
    return 0


def _cmd_pta(args: argparse.Namespace) -> int:
    from jugbayes.pta.command import run_command

    return run_command(args, _time_transfer_kw(args))


def _cmd_ephem_download(args: argparse.Namespace) -> int:
    from jugbayes.geometry.ephemeris import NAIF_URL, download_ephemeris

    path = download_ephemeris(args.name, url=args.url or NAIF_URL, dest=args.dest)
    print(f"downloaded {args.name.upper()} to {path}")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from jugbayes import jitcache
    from jugbayes.config import cache_root

    root = cache_root()
    if args.cache_command == "clear":
        n, size = jitcache.clear_compiled(root)
        print(f"removed {n} compiled-program files ({size / 2**20:.1f} MiB) from {root}; "
              "downloaded ephemerides and clock files kept")
        return 0
    print(f"cache: {root}")
    for sub, (n, size) in jitcache.compiled_usage(root).items():
        print(f"  {sub + '/':8s} {n:6d} files {size / 2**20:9.1f} MiB  "
              f"({jitcache.COMPILED_SUBDIRS[sub]})")
    print("compiled programs are keyed by jugbayes's source and JAX's version; `jugbayes cache clear` removes them")
    return 0


def _time_transfer_kw(args: argparse.Namespace) -> dict:
    """The options :func:`_add_time_transfer_options` adds, as keywords for ``prepare_toas``/``build_model``."""
    return dict(clock_dir=args.clock_dir, ephem_file=args.ephem_file, strict_clock=args.strict_clock,
                gps_file=args.gps_clock, clk=args.clk, timeeph=args.timeeph, timeeph_file=args.timeeph_file)


def _add_time_transfer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clock-dir", metavar="DIR", help="look for clock files here first (flat, or laid out as the "
                   "IPTA pulsar-clock-corrections repository); then $JUGBAYES_CLOCK_DIR, $TEMPO2/clock, the cache")
    p.add_argument("--ephem-file", metavar="FILE", help="JPL SPK kernel (.bsp) to use instead of the .par's EPHEM")
    p.add_argument("--strict-clock", action="store_true",
                   help="make missing or out-of-range clock corrections an error instead of a warning")
    p.add_argument("--clk", metavar="STANDARD", help="time standard to use instead of the .par's CLK, e.g. TT(BIPM2023)")
    p.add_argument("--timeeph", type=str.upper, choices=("FB90", "IF99"),
                   help="TT -> TDB series instead of the .par's TIMEEPH (a .par without one: IF99 when its file is "
                   "found, as TEMPO2; FB90 is PINT's reading)")
    p.add_argument("--timeeph-file", metavar="FILE", help="TEMPO2's IF99 time ephemeris (TIMEEPH_short.te405); "
                   "default: beside --ephem-file, in $JUGBAYES_EPHEM_DIR, $TEMPO2/ephemeris or the cache")
    p.add_argument("--gps-clock", default="gps2utc.clk", metavar="NAME",
                   help="GPS -> UTC clock file (default gps2utc.clk, as PINT; TEMPO2's series is gps2utc_tempo2.clk)")


def _add_noise_dict_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--noise-dict", metavar="FILE.json", help="set EFAC/EQUAD/ECORR and red/DM noise from an "
                   "enterprise noise dictionary (\"<PSR>_<backend>_efac\", ..._log10_t2equad, ..._log10_ecorr, "
                   "<PSR>_red_noise_log10_A, ...); backends are the TOAs' -f (or other flag) values")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jugbayes",
        description="Pulsar timing on JAX: TEMPO2/PINT .par and .tim files in, fits and posteriors out.",
    )
    parser.add_argument("--version", action="version", version=f"jugbayes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "inspect",
        help="show a timing model's parameters and a TOA set's summary",
        description="Print the pulsar, the model's parameters (value, fit flag, uncertainty), the parameters the "
        "model does not use, and, given a .tim, the TOA count, MJD range, observatories and flags.",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par)")
    p.add_argument("tim", metavar="TIM", nargs="?", help="TOAs (.tim)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser(
        "convert", parents=[_parent("overwrite")],
        help="rewrite a .par, or a .tim of any format as TEMPO2 FORMAT 1",
        description="Read a .par or .tim and write it back out: a .par normalised (all parameters kept, values "
        "at full precision), a .tim (TEMPO2, Princeton or Parkes, with its INCLUDEs and commands applied) as one "
        "TEMPO2-format file with every flag.  Never overwrites the input.",
    )
    p.add_argument("input", metavar="FILE", help="a .par file, or a .tim/.toa file")
    p.add_argument("--out", "-o", required=True, metavar="OUT", help="output path")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser(
        "toas", parents=[_parent("time_transfer"), _parent("overwrite")],
        help="prepared TOAs: clock corrections, TT, TDB and solar-system geometry, one CSV row per TOA",
        description="Apply the clock chain (site -> UTC -> TT, as the .par's CLK says), TT -> TDB, and compute the "
        "observatory's position and velocity relative to the solar-system barycentre and the Sun's position "
        "relative to the observatory (ephemeris from the .par's EPHEM).  Writes CSV (to stdout without --out).",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par): CLK, EPHEM and the site settings come from it")
    p.add_argument("tim", metavar="TIM", help="TOAs (.tim)")
    p.add_argument("--out", "-o", metavar="FILE.csv", help="write the table here")
    p.set_defaults(func=_cmd_toas)

    p = sub.add_parser(
        "residuals", parents=[_parent("noise_dict"), _parent("time_transfer"), _parent("overwrite")],
        help="pre-fit timing residuals at the .par's values, one CSV row per TOA with each delay component",
        description="Evaluate the timing model at the .par's parameter values: residual (s, mean handling as "
        "chosen), phase residual (turns), and each delay component (s); prints the weighted rms and chi2.",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par)")
    p.add_argument("tim", metavar="TIM", help="TOAs (.tim)")
    p.add_argument("--out", "-o", metavar="FILE.csv", help="write the table here (default: stdout)")
    p.add_argument("--plot", metavar="FILE.png", help="also draw residuals against MJD")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--wmean", dest="mean_mode", action="store_const", const="wmean",
                   help="remove the weighted mean (default): as PINT, in turns from the first TOA's nearest "
                   "pulse, weights from the EFAC/EQUAD-scaled errors, then divided by F(t)")
    g.add_argument("--mean", dest="mean_mode", action="store_const", const="mean", help="remove the plain mean")
    g.add_argument("--no-mean", dest="mean_mode", action="store_const", const="none", help="remove nothing")
    p.set_defaults(mean_mode="wmean")
    p.set_defaults(func=_cmd_residuals)

    p = sub.add_parser(
        "fit", parents=[_parent("noise_dict"), _parent("time_transfer"), _parent("overwrite")],
        help="fit the timing model: --method wls (WLS, or GLS with correlated noise), or nuts (then a posterior)",
        description="Fit the .par's free parameters (or --fit/--freeze) to the TOAs by Gauss-Newton weighted least "
        "squares (generalised, with the .par's ECORR/red noise) with a column-scaled SVD solve, starting from the "
        ".par.  Prints pre-fit, post-fit, uncertainty and change in sigma per parameter.  Writes files only when "
        "asked: --out-par the fitted .par (never over an input), --summary a JSON summary, --plot a figure.  "
        "--method nuts then samples the posterior with NUTS into --outdir (posterior.nc, summary.csv, "
        "posterior.par).",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par)")
    p.add_argument("tim", metavar="TIM", help="TOAs (.tim)")
    p.add_argument("--method", choices=("wls", "nuts"), default="wls",
                   help="wls (default; GLS with correlated noise), or nuts: the fit, then a NUTS posterior")
    p.add_argument("--outdir", metavar="DIR", help="for nuts: where posterior.nc (ArviZ netCDF), summary.csv, "
                   "posterior.par and, with --plot, residuals.png go")
    add_nuts_options(p)
    p.add_argument("--workers", type=int, metavar="K", help="nuts: processes the chains run in, each on its own "
                   "cores (default: one per CPU core, at most one per chain; 1: one after another in this process)")
    p.add_argument("--no-progress", action="store_true", help="nuts: no progress bar (shown by default)")
    p.add_argument("--out-par", metavar="OUT.par", help="write the fitted .par here, stating EPHEM, CLK, "
                   "UNITS, TIMEEPH and each setting TEMPO2 would otherwise default (NE_SW 0, ...), with the fit's "
                   "NTOA/CHI2/CHI2R/TRES")
    p.add_argument("--summary", metavar="OUT.json", help="write a JSON summary (values, uncertainties, covariance)")
    p.add_argument("--plot", metavar="OUT.png", help="wls: draw pre- and post-fit residuals; nuts: a corner plot of the "
                   "posterior with the WLS 1- and 2-sigma ellipses (the residuals then go to DIR/residuals.png)")
    p.add_argument("--write-noise-dict", metavar="OUT.json", help="write the noise values in enterprise's names "
                   "(wls: the .par's, after --noise-dict; nuts: posterior medians of sampled ones)")
    p.add_argument("--report", metavar="DIR", help="write DIR/report.html: one self-contained page with the fit "
                   "table, noise values, warnings, residual figure and, after nuts, the posterior summary, trace and "
                   "corner plots")
    p.add_argument("--write-chain", metavar="DIR", help="nuts: also write DIR/chain_1.txt and DIR/pars.txt as "
                   "PTMCMCSampler does, for la_forge (all draws are post-warm-up: load with burn=0)")
    p.add_argument("--parenthesis", action="store_true",
                   help="print post-fit values as value(uncertainty) in the last two digits, e.g. 1.0145(17)")
    p.add_argument("--fit", metavar="P1,P2", help="fit exactly these parameters")
    p.add_argument("--freeze", metavar="P3,P4", help="hold these parameters fixed")
    p.add_argument("--strict", action="store_true", help="exit with status 3, writing nothing, when the fit cannot be "
                   "right (reduced chi2 far above 1, TOAs not phase-connected, one TOA dominating chi2); without it "
                   "these are warnings")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "simulate", parents=[_parent("time_transfer"), _parent("overwrite")],
        help="simulated TOAs with zero residual under PAR, plus noise: a template .tim's layout or a new one",
        description="Lay out TOAs (a template TIM's sites, frequencies, errors and flags, or --start/--end/--ntoa: "
        "epochs every --cadence-days with jitter, each site observing each centre frequency in 30-minute scans "
        "within 4 h of transit and above 20 deg elevation, several sub-band TOAs per scan, flags -fe Rcvr_<MHz> "
        "-be <backend> -f Rcvr_<MHz>_<backend>), move each TOA until PAR predicts it exactly (residual < 1e-10 s), "
        "then add white noise (errors scaled by EFAC/EQUAD), ECORR jitter and red noise from PAR's noise model.  "
        "Same seed, same file.",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par) the TOAs must follow")
    p.add_argument("tim", metavar="TIM", nargs="?", help="template TOAs (.tim): sites, frequencies, errors, flags")
    p.add_argument("--out", "-o", required=True, metavar="OUT.tim", help="simulated TOAs (TEMPO2 format)")
    p.add_argument("--start", type=float, metavar="MJD", help="first observing day (without TIM)")
    p.add_argument("--end", type=float, metavar="MJD", help="last observing day (without TIM)")
    p.add_argument("--ntoa", type=int, metavar="N", help="number of TOAs (without TIM)")
    p.add_argument("--cadence-days", type=float, metavar="D",
                   help="days between epochs (default: about 4 sub-band TOAs per scan)")
    p.add_argument("--obs", metavar="SITE1,SITE2", help="observatory codes (default coe, the geocentre: no clock "
                   "files needed)")
    p.add_argument("--freqs", metavar="MHZ1,MHZ2", help="receiver centre frequencies in MHz (default 1400)")
    p.add_argument("--error-us", type=float, metavar="S", help="typical TOA error in us (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the layout and the noise (default 0)")
    p.add_argument("--no-noise", action="store_true", help="write the zero-residual TOAs without noise")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "validate",
        help="uncertainty-validation study: simulate N data sets from a truth, fit each, report coverage/pulls/SBC",
        description="Run the study CONFIG.toml describes (see configs/validate_*.toml): simulate N data sets from "
        "the truth .par (or, for SBC, from a Gaussian prior around it), fit each with WLS and/or NUTS as tasks on a "
        "Dask cluster (local, or --scheduler), and write one result file per data set (a rerun skips finished ones), "
        "report.json (coverage of the 68%/95% intervals with binomial errors, pulls, SBC rank uniformity tests, NUTS "
        "sd / WLS "
        "sigma) and PNG figures into --outdir.",
    )
    p.add_argument("config", metavar="CONFIG.toml", help="study configuration")
    p.add_argument("--outdir", required=True, metavar="DIR", help="results, report and figures (resumable)")
    p.add_argument("--n", type=int, metavar="N", help="number of data sets (default: the config's n_datasets)")
    p.add_argument("--methods", metavar="wls,nuts", help="methods to run (default: the config's)")
    p.add_argument("--seed", type=int, metavar="K", help="the study's seed (default: the config's): another seed is "
                   "an independent replication, and needs its own --outdir")
    p.add_argument("--workers", type=int, metavar="K", help="local Dask cluster: worker processes, each on its own "
                   "cores (default: one per CPU core; 1: the data sets one after another in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the data sets on the running Dask scheduler at "
                   "ADDRESS, e.g. tcp://HOST:8786 (default $JUGBAYES_SCHEDULER; without either: a local cluster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_validate)

    from jugbayes.pta.command import DESCRIPTION, add_pta_options

    p = sub.add_parser(
        "pta", parents=[_parent("time_transfer")],
        help="fit many pulsars (a PTA), each a task on a Dask cluster; resumable",
                       description=DESCRIPTION)
    add_pta_options(p)
    p.set_defaults(func=_cmd_pta)

    from jugbayes.timescales.clocksource import add_clock_parser

    add_clock_parser(sub)

    p = sub.add_parser("ephem", help="solar-system ephemerides: download a JPL kernel into the cache",
                       description="Manage JPL ephemeris kernels (SPK .bsp files).")
    esub = p.add_subparsers(dest="ephem_command", metavar="ACTION", required=True)
    q = esub.add_parser("download", help="download NAME.bsp (e.g. DE440) from JPL into the ephemeris cache",
                        description="Download a JPL development ephemeris kernel into the cache "
                        "($JUGBAYES_CACHE_DIR/ephem or ~/.cache/jugbayes/ephem), where .par files naming it in "
                        "EPHEM will find it.")
    q.add_argument("name", metavar="NAME", help="ephemeris name, e.g. DE421 or DE440")
    q.add_argument("--url", metavar="URL", help="base URL to fetch NAME.bsp from (default: JPL NAIF)")
    q.add_argument("--dest", metavar="DIR", help="put NAME.bsp in DIR instead of the cache (then use it with "
                   "--ephem-file DIR/NAME.bsp, or point $JUGBAYES_EPHEM_DIR at DIR)")
    q.set_defaults(func=_cmd_ephem_download)

    p = sub.add_parser("cache", help="compiled programs kept on disk: show or clear them",
                       description="jugbayes keeps compiled programs in $JUGBAYES_CACHE_DIR (else "
                       "~/.cache/jugbayes): JAX's compilation cache in jax/, exported programs in export/.")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    csub.add_parser("info", help="where the cache is and how much it holds")
    csub.add_parser("clear", help="remove the compiled programs (downloaded ephemerides and clocks stay)")
    p.set_defaults(func=_cmd_cache)
    return parser


_SHOWN_WARNINGS: list[str] = []  # this command's warnings, for --report's page


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    _SHOWN_WARNINGS.append(str(message))
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jugbayes`` console script."""
    from jugbayes.interrupts import exit_status, interruptible, message

    with interruptible():
        try:
            return _main(argv)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (jugbayes.interrupts.Terminated)
            print(message(exc), file=sys.stderr)
            return exit_status(exc)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    if args.command in ("residuals", "fit", "validate"):
        from jugbayes.config import enable_compilation_cache

        enable_compilation_cache()
    try:
        return args.func(args)
    except JugbayesError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except BrokenPipeError:  # output piped into a pager or `head` that closed early
        sys.stderr.close()
        return 0


def one_xla_thread() -> None:
    """Before JAX loads: XLA on one CPU thread unless ``$XLA_FLAGS`` is set (even empty), and with its
    faster-compiling emitters unless the command samples (``--method nuts``; :func:`config.fast_compile_flag`).
    Pulsar-timing arrays are small, and XLA's CPU code differs in its last bits between one thread and several, so
    a fit here equals, bit for bit, the same fit in a worker process (NUTS chains, ``validate``, ``pta`` tasks), and
    a seed gives the same NUTS draws in ``fit`` and ``pta`` (``validate`` compiles with the faster emitters: other
    last bits)."""
    import os

    argv = sys.argv[1:]
    if "--method=nuts" in argv or any(a == "--method" and b == "nuts" for a, b in zip(argv, argv[1:])):
        os.environ.setdefault("JUGBAYES_FAST_COMPILE", "0")  # config.fast_compile_flag: sampling keeps XLA's emitters
    from jugbayes.processes import default_to_one_thread

    default_to_one_thread(("XLA_FLAGS",))


def run() -> None:
    """The console script: :func:`main`, then exit.  After an interrupt, at once (``os._exit``, streams
    flushed): interpreter teardown in the middle of an XLA compilation can crash, and multiprocessing's atexit
    join can wait on workers."""
    from jugbayes.interrupts import exit_now

    one_xla_thread()
    rc = main()
    if rc in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        exit_now(rc)
    sys.exit(rc)


if __name__ == "__main__":  # pragma: no cover
    run()
