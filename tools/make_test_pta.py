"""Build a test PTA for ``jugbayes pta`` (kept out of git): simulated pulsars plus the shared real data sets.

    python tools/make_test_pta.py OUTDIR [--n 21] [--ntoa 400] [--shared ../shared]

Writes ``OUTDIR/par/<PSR>.par`` and ``OUTDIR/tim/<PSR>.tim`` for ``--n`` made-up pulsars, in turn isolated,
ELL1 and DD binaries, each observed from two observatories (GBT and Arecibo) at 820 and 1400 MHz, with
EFAC/EQUAD/ECORR per receiver/backend and, for every second pulsar, power-law red noise; TOAs made by
``jugbayes simulate`` (seed = the pulsar's index).  Then ``OUTDIR/pta.toml`` lists those and the shared
real data sets (by absolute path), so that either works as SOURCE::

    jugbayes pta OUTDIR/par/.. --outdir RESULTS ...     # the simulated pulsars (par/ and tim/ folders)
    jugbayes pta OUTDIR/pta.toml --outdir RESULTS --clock-dir ../shared/clock --ephem-file ../shared/ephem/de421.bsp
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (folder, .par, .tim, per-pulsar overrides) of the shared real data sets (paths under SHARED/datasets)
REAL = [("NGC6440E", "NGC6440E.par", "NGC6440E.tim"),
        ("J1744-1134", "J1744-1134.basic.par", "J1744-1134.Rcvr1_2.GASP.8y.x.tim",
         'fit = "F0,F1,RAJ,DECJ,PMRA,PMDEC,DM"  # its .par frees nothing\n'),
        ("B1855+09_9yv1", "B1855+09_NANOGrav_9yv1.gls.par", "B1855+09_NANOGrav_9yv1.tim"),
        ("J0613-0200_dfg12", "J0613-0200_NANOGrav_dfg+12_TAI_FB90.par", "J0613-0200_NANOGrav_dfg+12.tim"),
        ("J1713+0747_11yv0_short", "J1713+0747_NANOGrav_11yv0_short.gls.par", "J1713+0747_NANOGrav_11yv0_short.tim")]
SETUPS = [("Rcvr_1400", "GUPPI"), ("Rcvr_820", "GUPPI"), ("Rcvr_1400", "PUPPI"), ("Rcvr_820", "PUPPI")]

HEAD = """\
PSRJ           {name}
RAJ            {ra}         1
DECJ           {dec}        1
PMRA           {pmra:.2f}                    1
PMDEC          {pmdec:.2f}                    1
PX             0.7                      1
POSEPOCH       56500
F0             {f0:.14f}       1
F1             {f1:.4e}              1
PEPOCH         56500
DM             {dm:.4f}                  1
DMEPOCH        56500
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
TIMEEPH        FB90
PLANET_SHAPIRO N
TZRMJD         56500.1234567890123
TZRFRQ         1400.0
TZRSITE        coe
JUMP           -fe Rcvr_820             0.0  1
"""
ELL1 = """\
BINARY         ELL1
PB             {pb:.10f}             1
A1             {a1:.7f}                1
TASC           56500.3512345678         1
EPS1           2.1D-6                   1
EPS2           -1.05D-6                 1
"""
DD = """\
BINARY         DD
PB             {pb:.10f}             1
A1             {a1:.7f}                1
T0             56500.7712345678         1
ECC            0.1712345                1
OM             112.345678               1
OMDOT          0.0271                   1
"""


def par_text(i: int) -> tuple[str, str]:
    """(name, .par text) of made-up pulsar ``i``: isolated, ELL1 or DD (i mod 3); red noise for odd ``i``."""
    import numpy as np

    rng = np.random.default_rng(1000 + i)
    ra_h, dec_d = 1.0 + (22.0 * i / 23.0) % 22.0, 2.0 + 30.0 * rng.uniform()  # Arecibo sees Dec 0-37
    name = f"J{int(ra_h):02d}{int(ra_h % 1 * 60):02d}+{int(dec_d):02d}{int(dec_d % 1 * 60):02d}"
    text = HEAD.format(name=name, ra=f"{int(ra_h):02d}:{int(ra_h % 1 * 60):02d}:{rng.uniform(0, 60):010.7f}",
                       dec=f"+{int(dec_d):02d}:{int(dec_d % 1 * 60):02d}:{rng.uniform(0, 60):09.6f}",
                       pmra=rng.normal(0, 5), pmdec=rng.normal(0, 5), f0=rng.uniform(100, 600),
                       f1=-10 ** rng.uniform(-16, -15), dm=rng.uniform(5, 80))
    if i % 3 == 1:
        text += ELL1.format(pb=rng.uniform(0.5, 10), a1=rng.uniform(1, 10))
    elif i % 3 == 2:
        text += DD.format(pb=rng.uniform(2, 20), a1=rng.uniform(3, 20))
    for fe, be in SETUPS:
        flag = f"{fe}_{be}"
        text += (f"T2EFAC         -f {flag}  {rng.uniform(0.9, 1.3):.3f}\n"
                 f"T2EQUAD        -f {flag}  {rng.uniform(0.01, 0.3):.3f}\n"
                 f"ECORR          -f {flag}  {rng.uniform(0.05, 0.4):.3f}\n")
    if i % 2:
        text += f"TNRedAmp       {rng.uniform(-14.5, -13.5):.3f}\nTNRedGam       {rng.uniform(2, 5):.3f}\nTNRedC 20\n"
    return name, text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir", type=Path)
    p.add_argument("--n", type=int, default=21, help="simulated pulsars (default 21)")
    p.add_argument("--ntoa", type=int, default=400, help="TOAs per simulated pulsar (default 400)")
    p.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared reference data")
    args = p.parse_args(argv)
    from jugbayes.cli import main as jugbayes

    shared = args.shared.resolve()
    (args.outdir / "par").mkdir(parents=True, exist_ok=True)
    (args.outdir / "tim").mkdir(exist_ok=True)
    entries = []
    for i in range(args.n):
        name, text = par_text(i)
        par, tim = args.outdir / "par" / f"{name}.par", args.outdir / "tim" / f"{name}.tim"
        par.write_text(f"# made up by tools/make_test_pta.py (pulsar {i})\n" + text)
        if not tim.exists():
            rc = jugbayes(["simulate", str(par), "--out", str(tim), "--start", "55000", "--end", "58650",
                           "--ntoa", str(args.ntoa), "--obs", "gbt,ao", "--freqs", "820,1400", "--seed", str(i),
                           "--clock-dir", str(shared / "clock"), "--ephem-file", str(shared / "ephem/de421.bsp")])
            if rc:
                return rc
        entries.append(f'[[pulsar]]\npar = "par/{name}.par"\ntim = "tim/{name}.tim"\n')
    for folder, par, tim, *extra in REAL:
        d = shared / "datasets" / folder
        entries.append(f'[[pulsar]]\nname = "{folder}"\npar = "{d / par}"\ntim = "{d / tim}"\n' + "".join(extra))
    (args.outdir / "pta.toml").write_text("# made by tools/make_test_pta.py\n\n" + "\n".join(entries))
    print(f"wrote {args.n} simulated pulsars under {args.outdir} and {args.outdir / 'pta.toml'} "
          f"({len(entries)} pulsars with {len(REAL)} real ones)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
