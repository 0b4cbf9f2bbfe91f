"""Regenerate the bundled example data sets in ``models/``.

Run from the project root: ``python models/make_examples.py``.  Deterministic
(fixed seed): running it again reproduces the committed files byte for byte.

``isolated_msp``: a made-up isolated millisecond pulsar (J1234+5612) observed
with two receivers every ~3 weeks for 10 years.  An observing pattern (epochs,
sub-band frequencies, errors, flags) is made first; ``jugbayes.simulate`` then
moves each TOA to zero residual under the .par and adds white noise (EFAC/EQUAD)
and ECORR jitter, seed 1.  The TOAs are referred to the geocentre (site ``coe``)
and the .par uses TT(TAI), so the example needs no observatory clock files: it
runs offline on a fresh install (the DE421 ephemeris comes from the ``de421``
package).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

ISOLATED_PAR = """\
# Example timing model made up for jugbayes (not a real pulsar).
PSRJ           J1234+5612
RAJ            12:34:56.7891234         1
DECJ           +56:12:34.567890         1
PMRA           -3.25                    1
PMDEC          5.10                     1
PX             0.85                     1
POSEPOCH       57000
F0             218.81184379608264       1
F1             -4.0835D-16              1
PEPOCH         57000
DM             10.3912                  1
DMEPOCH        57000
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
TIMEEPH        FB90
PLANET_SHAPIRO N
TZRMJD         57000.1234567890123
TZRFRQ         1400.0
TZRSITE        coe
JUMP           -fe Rcvr_800             0.0  1
T2EFAC         -f Rcvr1_2_GUPPI         1.05
T2EFAC         -f Rcvr_800_GUPPI        1.10
T2EQUAD        -f Rcvr1_2_GUPPI         0.05
T2EQUAD        -f Rcvr_800_GUPPI        0.08
ECORR          -f Rcvr1_2_GUPPI         0.10
ECORR          -f Rcvr_800_GUPPI        0.15
"""

# (receiver, centre MHz, sub-band offsets MHz, typical error us)
_RECEIVERS = [("Rcvr1_2", 1500.0, (-300.0, -100.0, 100.0, 300.0), 0.6),
              ("Rcvr_800", 820.0, (-75.0, -25.0, 25.0, 75.0), 0.9)]


def isolated_tim(seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    lines = ["FORMAT 1", "MODE 1", "C Example TOAs made up for jugbayes: observing pattern only (see make_examples.py)"]
    day = 55174.0
    k = 0
    while day < 58826.0:
        for fe, centre, offsets, err in _RECEIVERS:
            # each receiver observed within a few days of the nominal epoch, at night-ish local sidereal times
            start = day + rng.integers(0, 4) + rng.uniform(0.05, 0.45)
            for off in offsets:
                mjd_int = int(start)
                frac = f"{start - mjd_int:.13f}"[2:]
                e = err * rng.uniform(0.6, 2.5)
                lines.append(f"gbt_{k:05d} {centre + off:.3f} {mjd_int}.{frac} {e:.3f} coe -fe {fe} -be GUPPI "
                             f"-f {fe}_GUPPI -bw 200 -tobs 1200")
                k += 1
        day += rng.uniform(18.0, 24.0)
    return "\n".join(lines) + "\n"


def main() -> None:
    import tempfile
    import warnings

    from jugbayes.io import read_par, read_tim, write_tim
    from jugbayes.simulate import simulate

    out = HERE / "isolated_msp"
    out.mkdir(exist_ok=True)
    (out / "isolated_msp.par").write_text(ISOLATED_PAR)
    with tempfile.TemporaryDirectory() as tmp:
        pattern = Path(tmp) / "pattern.tim"
        pattern.write_text(isolated_tim())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "parameters not used": none expected, but keep the output clean
            toas = simulate(read_par(out / "isolated_msp.par"), read_tim(pattern), seed=1)
        write_tim(toas, out / "isolated_msp.tim")
    print(f"wrote {out}/isolated_msp.par and .tim ({len(toas)} simulated TOAs)")


if __name__ == "__main__":
    main()
