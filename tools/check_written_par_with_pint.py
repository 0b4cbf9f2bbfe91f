"""Peer check: PINT, reading the .par jugbayes writes after a fit, gives jugbayes's post-fit residuals.

For every shared data set with free parameters (``../shared/datasets`` and ``../shared/recent``; a
``*_DE421.par`` copy where the original names a kernel not in ``../shared/ephem``), jugbayes fits
as ``jugbayes fit --out-par`` does (WLS, or GLS with the .par's noise) and writes the fitted .par;
PINT then reads that .par with the same .tim.  Printed per data set, in ns, after removing the
mean difference (the fitted phase offset is not a .par parameter): max |PINT at the written .par -
jugbayes post-fit| and, for scale, max |PINT - jugbayes| at the input .par (the models' own
agreement).  Run from the project root with jugbayes's Python::

    python tools/check_written_par_with_pint.py --pint-python /path/to/python [--only NAME,...] [--keep DIR]

A .par with ``CLK UTC(NIST)`` is fitted with ``--clk TT(BIPM2023)``, PINT's reading of it.  PINT is
a peer to compare with, never a dependency of jugbayes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from pint_peer import pint_residuals  # noqa: E402

from jugbayes.errors import JugbayesError  # noqa: E402

_PINT_CLK = {"UTC(NIST)": "TT(BIPM2023)"}


def _prefix(path: Path) -> str:
    return path.name.replace(".", "_").split("_")[0]


def data_sets(shared: Path) -> list[tuple[Path, Path]]:
    """(par, tim) pairs: each shared .par with the .tim of its folder whose name starts like it."""
    from jugbayes.io import read_par

    kernels = {p.stem.upper() for p in (shared / "ephem").glob("*.bsp")}
    out = []
    for par_path in sorted((shared / "datasets").glob("*/*.par")) + sorted((shared / "recent").glob("*/*.par")):
        tims = [t for t in par_path.parent.glob("*.tim") if _prefix(t) == _prefix(par_path)]
        par = read_par(par_path, warn=False)
        ephem = par.get("EPHEM").value.upper() if par.get("EPHEM") else "DE421"
        if len(tims) == 1 and ephem in kernels and any(p.fit for p in par.params.values()):
            out.append((par_path, tims[0]))
    return out


def fit_and_write(par_path: Path, tim_path: Path, shared: Path, out_par: Path) -> tuple:
    """Fit as ``jugbayes fit`` does and write the .par; (pre-fit residuals, post-fit residuals, clk, seconds)."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim, write_par
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model
    from jugbayes.report.fitted_par import fitted_values, updated_par
    from jugbayes.report.par_output import FitSummary, output_par

    start = time.perf_counter()
    par = read_par(par_path, warn=False)
    clk = _PINT_CLK.get(par.get("CLK").value.strip().upper()) if par.get("CLK") else None
    ephem = (par.get("EPHEM").value if par.get("EPHEM") else "DE421").lower()
    model = build_model(par, read_tim(tim_path), clock_dir=shared / "clock",
                        ephem_file=shared / "ephem" / f"{ephem}.bsp", clk=clk)
    noise = noise_for_model(model)
    result = fit_wls(model, model.free, noise=noise)
    fitted = output_par(updated_par(par, fitted_values(model, result)), model, inputs=(par_path, tim_path),
                        command="tools/check_written_par_with_pint.py",
                        fit=FitSummary(result.chi2, result.dof, result.wrms_postfit_us))
    write_par(fitted, out_par)
    pre = np.asarray(model.residuals()["time_s"])
    return pre, np.asarray(result.residuals_s), clk, time.perf_counter() - start


def max_abs_ns(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b - mean(a - b)| in ns."""
    d = a - b
    return float(np.abs(d - d.mean()).max() * 1e9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pint-python", required=True, help="a Python with pint-pulsar installed")
    ap.add_argument("--shared", default=os.environ.get("JUGBAYES_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--only", metavar="NAME,...", help="only .par files whose name contains one of these")
    ap.add_argument("--keep", metavar="DIR", help="keep the written .par files here")
    args = ap.parse_args()
    shared = Path(args.shared)
    sets = data_sets(shared)
    if args.only:
        sets = [s for s in sets if any(k in s[0].name for k in args.only.split(","))]
    with tempfile.TemporaryDirectory() as tmp:
        outdir = Path(args.keep or tmp)
        outdir.mkdir(parents=True, exist_ok=True)
        rows, skipped = [], []
        for par_path, tim_path in sets:
            written = outdir / f"{par_path.stem}.fitted.par"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    pre, post, clk, seconds = fit_and_write(par_path, tim_path, shared, written)
                except JugbayesError as exc:  # a .par jugbayes refuses to fit: nothing written to compare
                    skipped.append(f"skipped {par_path.name}: {str(exc).split(': ', 1)[-1]}")
                    continue
            # One PINT process per .par: in one process for several, PINT's later results moved by microseconds.
            pint_in, pint_out = (pint_residuals(p, tim_path, args.pint_python, shared)["resid_s"]
                                 for p in (par_path, written))
            rows.append((par_path.name, len(post), max_abs_ns(pint_in, pre), max_abs_ns(pint_out, post), clk, seconds))
    print(f"{'par':<52} {'TOAs':>5} {'input .par':>11} {'written .par':>13}  (max |PINT - jugbayes|, ns)")
    worst = 0.0
    for name, n, before, after, clk, seconds in rows:
        worst = max(worst, after)
        note = f"  (fitted with --clk {clk})" if clk else ""
        print(f"{name:<52} {n:5d} {before:11.3f} {after:13.3f}  fit {seconds:.0f} s{note}")
    print("\n".join(skipped))
    print(f"largest difference at the written .par: {worst:.3f} ns over {len(rows)} data sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
