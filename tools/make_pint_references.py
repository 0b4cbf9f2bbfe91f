"""Write PINT's residuals for data sets the shared references do not cover into ``tests/data/pint/``.

Run from the project root with jugbayes's Python, PINT in another (``pip install pint-pulsar`` there)::

    python tools/make_pint_references.py --pint-python /path/to/python

Cases:
- ``J1909-3744_NB``: GMRT TOAs (clock referenced to GPS) from ``../shared/recent``.
- ``piecewise``: PINT's piecewise spin-down (PWEP_1 ...), barycentric TOAs, a GBT TZR TOA.
- ``vela_wave``: TEMPO2's WAVE harmonic whitening (20 harmonics), two glitches, Parkes.
- ``j0007_ifunc``: TEMPO2's IFUNC interpolated offsets (997 knots, SIFUNC 2), four glitches, geocentric.
- ``NGC6440E_bary``: NGC6440E's TOAs moved to the barycentre (site ``@``): each TOA's TDB less the
  Roemer and Shapiro delays jugbayes computes at the .par's values, so the residuals stay small.  The
  made-up ``.tim`` is written to ``tests/data/pint/`` too (it is our input, PINT's output is the reference).

Each reference CSV has ``index`` (.tim order), ``resid_s`` (absolute phase from TZR, nearest pulse, no mean
removed) and PINT's delay components ``delay_<function>`` (s).

Wideband cases (``wb_B1855+09``, ``wb_J1614-2230``: ``../shared/datasets/wideband_12yv3``, the ``*_DE421.par``):
``<case>.pint_dm_residuals.csv`` (``index`` of each TOA with ``-pp_dm``, PINT's pre-fit ``dm_resid``, ``model_dm``,
raw and DMEFAC/DMEQUAD-scaled ``dm_error``, post-fit ``dm_resid_postfit``, pc cm^-3) and
``<case>.pint_wideband_fit.json`` (WidebandDownhillFitter: each free parameter's change and sigma in PINT's
units, chi2, dof).  ``--cases`` picks some cases.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import warnings
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from pint_peer import pint_residuals, pint_wideband  # noqa: E402

OUT = ROOT / "tests" / "data" / "pint"


def barycentric_tim(shared: Path, out: Path) -> tuple[Path, Path]:
    """NGC6440E's TOAs as barycentric (``@``) TOAs; returns (par, tim)."""
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model

    par_path = shared / "datasets" / "NGC6440E" / "NGC6440E.par"
    tim_path = shared / "datasets" / "NGC6440E" / "NGC6440E.tim"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        toas = read_tim(tim_path)
        model = build_model(read_par(par_path), toas, clock_dir=shared / "clock",
                            ephem_file=shared / "ephem" / "de421.bsp", clk="TT(BIPM2023)")
    r = model.residuals()
    geometric_s = (r["delay_roemer_s"] + r["delay_shapiro_s"]).__array__()
    tdb = model.prep.tdb[: len(toas)]
    lines = ["FORMAT 1"]
    for i in range(len(toas)):
        mjd = Decimal(int(tdb.day[i])) + Decimal(repr(float(tdb.frac[i])))
        mjd -= Decimal(repr(float(geometric_s[i]))) / Decimal(86400)
        lines.append(f"bary{i} {float(toas.freq_mhz[i])!r} {mjd:.16f} {float(toas.error_us[i])!r} @")
    tim = out / "NGC6440E_bary.tim"
    tim.write_text("\n".join(lines) + "\n")
    return par_path, tim


def write_reference(name: str, par: Path, tim: Path, pint_python: str, shared: Path) -> Path:
    ref = pint_residuals(par, tim, pint_python, shared)
    path = OUT / f"{name}.pint_residuals.csv"
    names = sorted(ref)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["index", *names])
        for i in range(len(ref["resid_s"])):
            w.writerow([i, *(repr(float(ref[k][i])) for k in names)])
    return path


def write_wideband_reference(name: str, par: Path, tim: Path, pint_python: str, shared: Path) -> Path:
    import json

    arrays, fit = pint_wideband(par, tim, pint_python, shared)
    path = OUT / f"{name}.pint_dm_residuals.csv"
    cols = ["index", "dm_resid", "model_dm", "dm_error", "dm_error_scaled", "dm_resid_postfit"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for i in range(len(arrays["index"])):
            w.writerow([int(arrays["index"][i]), *(repr(float(arrays[k][i])) for k in cols[1:])])
    (OUT / f"{name}.pint_wideband_fit.json").write_text(json.dumps(fit, indent=1) + "\n")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pint-python", required=True, help="a Python with pint-pulsar installed")
    ap.add_argument("--shared", default=os.environ.get("JUGBAYES_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--cases", nargs="*", help="only these cases (default: all)")
    args = ap.parse_args()
    shared = Path(args.shared).resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    nb = shared / "recent" / "J1909-3744_NB"
    pf = shared / "parfiles"
    cases = {"J1909-3744_NB": (nb / "J1909-3744.NB_DE421.par", nb / "J1909-3744.NB.tim"),
             "piecewise": (pf / "piecewise.par", pf / "piecewise.tim"),
             "vela_wave": (pf / "vela_wave.par", pf / "vela_wave.tim"),
             "j0007_ifunc": (pf / "j0007_ifunc.par", pf / "j0007_ifunc.tim"),
             "NGC6440E_bary": None}
    wb = shared / "datasets" / "wideband_12yv3"
    for psr in ("B1855+09", "J1614-2230"):
        stem = wb / f"{psr}_NANOGrav_12yv3.wb"
        cases[f"wb_{psr}"] = (Path(f"{stem}.gls_DE421.par"), Path(f"{stem}.tim"))
    for name in args.cases or cases:
        par, tim = cases[name] or barycentric_tim(shared, OUT)
        write = write_wideband_reference if name.startswith("wb_") else write_reference
        print(f"wrote {write(name, par, tim, args.pint_python, shared)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
