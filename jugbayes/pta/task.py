"""One pulsar of a PTA run: the fit ``jugbayes fit`` does, written to ``DIR/<PSR>/``; returns its summary row.

Runs in a Dask worker (or in-process).  The folder gets ``fitted.par``, ``fit.json`` (``jugbayes fit
--summary``), ``fit.txt`` (what ``jugbayes fit`` prints, and its warnings), ``residuals.png`` with
``plot``, and ``result.json`` (row and inputs' fingerprint, :mod:`jugbayes.pta.store`); a pulsar that fails
gets ``error.txt`` (the traceback) and a row with the error instead.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from pathlib import Path

from jugbayes.cluster import prepare_worker_process, worker_address
from jugbayes.errors import JugbayesError
from jugbayes.pta import store

# warning class name -> summary column (counts); the rest count as other_warnings
WARNING_COLUMNS = {"DegenerateFitWarning": "degenerate", "NonQuadraticFitWarning": "non_quadratic",
                   "ClockWarning": "clock_coverage"}
NUTS_FIELDS = ("draws", "divergences", "max_r_hat", "min_ess_bulk", "min_ess_tail", "mean_leapfrog_steps",
               "sampler_warnings")
ROW_FIELDS = ("pulsar", "status", "ntoas", "chi2", "dof", "reduced_chi2", "wrms_us", "iterations", "converged",
              "solver", *WARNING_COLUMNS.values(), "other_warnings", *NUTS_FIELDS, "wall_s", "peak_rss_mb", "worker",
              "error", "par", "tim", "run")
_FIT_OPTIONS = ("fit", "freeze")
_TIME_OPTIONS = ("clock_dir", "ephem_file", "strict_clock", "gps_file", "clk", "timeeph", "timeeph_file")


def _peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20  # KiB on Linux, bytes on macOS


def _fit(job, stage: Path, lines: list[str]):
    """``jugbayes fit`` on the job's pair into ``stage`` (then, for nuts, its posterior): (row fields, files
    read)."""
    from jugbayes.fit.command import plot_fit, run_wls

    if job.problem:
        raise JugbayesError(job.problem)
    opts = job.options
    run = run_wls(job.par, job.tim, out_par=stage / "fitted.par", summary=stage / "fit.json", echo=lines.append,
                  **{k: opts.get(k) for k in _FIT_OPTIONS}, **{k: opts[k] for k in _TIME_OPTIONS if k in opts})
    if opts.get("plot"):
        plot_fit(run, stage / "residuals.png", title=job.name)
    files = [job.par, *run.toas.files]
    fields = _ok_row(run.summary)
    if opts.get("method") == "nuts":
        fields |= _sample(run, opts, stage, lines)
        files += [opts["config"]] if opts.get("config") else []
    return fields, files


def _sample(run, opts: dict, stage: Path, lines: list[str]) -> dict:
    """``jugbayes fit --method nuts``'s posterior into ``stage``, the chains one after another in this process
    (the draws are those of any number of processes); its row fields."""
    from jugbayes.sample.command import NUTS_OPTIONS, run_nuts

    nuts = run_nuts(run, stage, **{k: opts.get(k) for k in NUTS_OPTIONS}, workers=1, progress=False,
                    corner=stage / "corner.png" if opts.get("plot") else None, echo=lines.append,
                    warn=lambda text: lines.append(f"warning: {text}"))
    d = nuts.diagnostics
    return {k: d[k] for k in NUTS_FIELDS[:-1]} | {"draws": d["chains"] * d["draws"],
                                                   "sampler_warnings": len(nuts.warnings)}


def _ok_row(info: dict) -> dict:
    keys = ("ntoas", "chi2", "dof", "reduced_chi2", "wrms_us", "iterations", "converged", "solver")
    return {k: info[k] for k in keys}


def _count_warnings(caught) -> dict:
    counts = dict.fromkeys(WARNING_COLUMNS.values(), 0) | {"other_warnings": 0}
    for w in caught:
        counts[WARNING_COLUMNS.get(w.category.__name__, "other_warnings")] += 1
    return counts


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, JugbayesError) else f"{type(exc).__name__}: {exc}"


def run_pulsar(job, outdir: str | Path, run: str = "") -> dict:
    """Fit ``job``'s pulsar into ``outdir/<name>/`` (published whole) and return its summary row, which names
    the ``run`` that made it."""
    prepare_worker_process()
    outdir, start = Path(outdir), time.perf_counter()
    stage = store.staging(outdir, job.name)
    lines: list[str] = []
    row = {"pulsar": job.name, "par": job.par, "tim": job.tim, "run": run}
    files = [f for f in (job.par, job.tim) if f and Path(f).is_file()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fields, files = _fit(job, stage, lines)
            row |= {"status": "ok"} | fields
        except Exception as exc:  # noqa: BLE001 - any failure of one pulsar becomes its row; the others go on
            row |= {"status": "failed", "error": _error_text(exc)}
            (stage / "error.txt").write_text(traceback.format_exc())
    lines += [f"warning: {w.message}" for w in caught]
    text = "\n".join(lines).replace(str(stage), str(outdir / job.name))  # the paths the files will have
    (stage / "fit.txt").write_text(text + "\n")
    row |= _count_warnings(caught) | {"wall_s": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb(),
                                      "worker": worker_address()}
    store.write_json(stage / store.RESULT, {"row": row, "inputs": store.fingerprint(job.options, files)})
    store.publish(stage, outdir, job.name)
    return row


def failed_row(job, error: str) -> dict:
    """The row of a task that never returned (its workers kept dying): written by the client."""
    return {"pulsar": job.name, "par": job.par, "tim": job.tim, "status": "failed", "error": error}
