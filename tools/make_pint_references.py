"""Write PINT's residuals for data sets the shared references do not cover into ``tests/data/pint/``.

Run from the project root with jugbayes's Python, PINT in another (``pip install pint-pulsar`` there)::

    python tools/make_pint_references.py --pint-python /path/to/python

Cases:
- ``J1909-3744_NB``: GMRT TOAs (clock referenced to GPS) from ``../shared/recent``.
- ``piecewise``: PINT's piecewise spin-down (PWEP_1 ...), barycentric TOAs, a GBT TZR TOA.
- ``vela_wave``: TEMPO2's WAVE harmonic whitening (20 harmonics), two glitches, Parkes.
- ``j0007_ifunc``: TEMPO2's IFUNC interpolated offsets (997 knots, SIFUNC 2), four glitches, geocentric.
- ``J1048+2339_orbwaves`` (ELL1) and ``_DD``: PINT's ORBWAVE orbital-phase series (5 harmonics).
- ``2145_swfit``: SWM 1 solar wind (power law, SWP 1.5) on CHIME TOAs.
- ``NGC6440E_bary``: NGC6440E's TOAs moved to the barycentre (site ``@``): each TOA's TDB less the
  Roemer and Shapiro delays jugbayes computes at the .par's values, so the residuals stay small.  The
  made-up ``.tim`` is written to ``tests/data/pint/`` too (it is our input, PINT's output is the reference).

- ``B1855+09_chromatic``: B1855+09 dfg12 with made-up CM/CM1 (TNCHROMIDX 4.4), two CMX ranges and CMWaveX,
  DMWaveX and WaveX terms (the ``.par`` is written to ``tests/data/pint/`` too).

- ``J0613-0200_ell1k``: J0613-0200 dfg12 as BINARY ELL1k with made-up OMDOT and LNEDOT (``.par`` written too).

- ``J1744-1134_swx``: J1744-1134 with two made-up SWX solar-wind segments (``.par`` written too).

- ``B1855+09_fdjump``: B1855+09 dfg12 with made-up FDJUMPs per receiver (``.par`` written too).

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


CHROMATIC_LINES = """CM 100.0 1
CM1 10.0 1
CMEPOCH 54000
TNCHROMIDX 4.4
CMX_0001 20.0 1
CMXR1_0001 53300
CMXR2_0001 54000
CMX_0002 -15.0 1
CMXR1_0002 54000.1
CMXR2_0002 55200
CMWXEPOCH 54200
CMWXFREQ_0001 0.0027
CMWXSIN_0001 8.0 1
CMWXCOS_0001 -5.0 1
DMWXEPOCH 54100
DMWXFREQ_0001 0.0031
DMWXSIN_0001 0.001 1
DMWXCOS_0001 -0.0005 1
DMWXFREQ_0002 0.0062
DMWXSIN_0002 0.0002 1
DMWXCOS_0002 0.0003 1
WXEPOCH 54300
WXFREQ_0001 0.00274
WXSIN_0001 2e-6 1
WXCOS_0001 -1e-6 1
WXFREQ_0002 0.00548
WXSIN_0002 5e-7 1
WXCOS_0002 3e-7 1
"""


def chromatic_par(shared: Path, out: Path) -> tuple[Path, Path]:
    """B1855+09 (DD binary, 430 and 1400 MHz) with PINT's CM, CMX, CMWaveX, DMWaveX and WaveX terms added."""
    folder = shared / "datasets" / "B1855+09_dfg12"
    par = out / "B1855+09_chromatic.par"
    par.write_text((folder / "B1855+09_NANOGrav_dfg+12_TAI_FB90.par").read_text() + CHROMATIC_LINES)
    return par, folder / "B1855+09_NANOGrav_dfg+12.tim"


def ell1k_par(shared: Path, out: Path) -> tuple[Path, Path]:
    """J0613-0200 dfg12 as BINARY ELL1k with a made-up OMDOT 20 deg/yr and LNEDOT 0.05 /yr."""
    folder = shared / "datasets" / "J0613-0200_dfg12"
    text = (folder / "J0613-0200_NANOGrav_dfg+12_TAI_FB90.par").read_text()
    par = out / "J0613-0200_ell1k.par"
    par.write_text(text.replace("BINARY         ELL1", "BINARY         ELL1k") + "OMDOT 20.0 1\nLNEDOT 0.05 1\n")
    return par, folder / "J0613-0200_NANOGrav_dfg+12.tim"


def swx_par(shared: Path, out: Path) -> tuple[Path, Path]:
    """J1744-1134 (11.8 deg from the ecliptic) with two made-up SWX segments (SWXP 2 and 2.5)."""
    folder = shared / "datasets" / "J1744-1134"
    par = out / "J1744-1134_swx.par"
    par.write_text((folder / "J1744-1134.basic.par").read_text() + "SWXDM_0001 0.005 1\nSWXP_0001 2.0\n"
                   "SWXR1_0001 53200\nSWXR2_0001 54400\nSWXDM_0002 0.003 1\nSWXP_0002 2.5\n"
                   "SWXR1_0002 54400.01\nSWXR2_0002 55700\n")
    return par, folder / "J1744-1134.Rcvr1_2.GASP.8y.x.tim"


def fdjump_par(shared: Path, out: Path) -> tuple[Path, Path]:
    """B1855+09 dfg12 with made-up per-receiver FDJUMPs (log-frequency, PINT's FDJUMPLOG Y)."""
    folder = shared / "datasets" / "B1855+09_dfg12"
    par = out / "B1855+09_fdjump.par"
    par.write_text((folder / "B1855+09_NANOGrav_dfg+12_TAI_FB90.par").read_text() + "FDJUMPLOG Y\n"
                   "FD1JUMP -fe 430G 2e-6 1\nFD2JUMP -fe 430G -1e-6 1\nFD1JUMP -fe L_wide 5e-7 1\n")
    return par, folder / "B1855+09_NANOGrav_dfg+12.tim"


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
             "2145_swfit": (pf / "2145_swfit_DE421.par", pf / "2145_swfit.tim"),
             "j0007_ifunc": (pf / "j0007_ifunc.par", pf / "j0007_ifunc.tim"),
             "J1048+2339_orbwaves": (pf / "J1048+2339_orbwaves.par", pf / "J1048+2339_3PC_fake.tim"),
             "J1048+2339_orbwaves_DD": (pf / "J1048+2339_orbwaves_DD.par", pf / "J1048+2339_3PC_fake.tim"),
             "NGC6440E_bary": barycentric_tim(shared, OUT),
             "B1855+09_chromatic": chromatic_par(shared, OUT),
             "J0613-0200_ell1k": ell1k_par(shared, OUT),
             "J1744-1134_swx": swx_par(shared, OUT),
             "B1855+09_fdjump": fdjump_par(shared, OUT)}
    wb = shared / "datasets" / "wideband_12yv3"
    for psr in ("B1855+09", "J1614-2230"):
        stem = wb / f"{psr}_NANOGrav_12yv3.wb"
        cases[f"wb_{psr}"] = (Path(f"{stem}.gls_DE421.par"), Path(f"{stem}.tim"))
    for name in args.cases or cases:
        par, tim = cases[name]
        write = write_wideband_reference if name.startswith("wb_") else write_reference
        print(f"wrote {write(name, par, tim, args.pint_python, shared)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
