"""Regenerate the bundled example data sets in ``models/``.

Run from the project root: ``python models/make_examples.py``.  Deterministic
(fixed seed): running it again reproduces the committed files byte for byte.

``isolated_msp``: a made-up isolated millisecond pulsar (J1234+5612) observed
at the GBT with two receivers every ~3 weeks for 10 years.  For now the TOAs
are only a realistic observing pattern (epochs, frequencies, errors, flags):
they are NOT yet simulated to have zero residual under the timing model; the
simulator (``jugbayes simulate``) will regenerate them once it exists.
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
CLK            TT(BIPM2019)
UNITS          TDB
TIMEEPH        FB90
PLANET_SHAPIRO N
TZRMJD         57000.1234567890123
TZRFRQ         1400.0
TZRSITE        gbt
JUMP           -fe Rcvr_800             0.0  1
T2EFAC         -f Rcvr1_2_GUPPI         1.05
T2EFAC         -f Rcvr_800_GUPPI        1.10
T2EQUAD        -f Rcvr1_2_GUPPI         0.05
T2EQUAD        -f Rcvr_800_GUPPI        0.08
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
                lines.append(f"gbt_{k:05d} {centre + off:.3f} {mjd_int}.{frac} {e:.3f} gbt -fe {fe} -be GUPPI "
                             f"-f {fe}_GUPPI -bw 200 -tobs 1200")
                k += 1
        day += rng.uniform(18.0, 24.0)
    return "\n".join(lines) + "\n"


def main() -> None:
    out = HERE / "isolated_msp"
    out.mkdir(exist_ok=True)
    (out / "isolated_msp.par").write_text(ISOLATED_PAR)
    (out / "isolated_msp.tim").write_text(isolated_tim())
    print(f"wrote {out}/isolated_msp.par and .tim")


if __name__ == "__main__":
    main()
