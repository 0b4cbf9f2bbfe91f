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

``ell1_shapiro``: a made-up J1909-3744-like binary (ELL1, PB 1.53 d, A1 1.90 lt-s, nearly edge-on:
SINI 0.998, M2 0.21 Msun, a Shapiro delay of ~12 us at conjunction), and ``dd_binary``: a made-up
eccentric binary (DD, PB 4.1 d, ECC 0.17) whose periastron advance and Einstein delay (OMDOT and
GAMMA: the values GR gives for 1.35 + 0.30 Msun) are measured.  Both: two receivers every ~3 weeks
for 10 years, eight sub-bands each, with a backend change (ASP -> GUPPI) a third of the way in, so
four receiver/backend pairs, each with its own EFAC, EQUAD and ECORR; seeds 2 and 3.
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


def _binary_noise_lines() -> str:
    """JUMP for the 800 MHz receiver and EFAC/EQUAD/ECORR (us) per receiver/backend pair."""
    lines = ["JUMP           -fe Rcvr_800             0.0  1"]
    for (fe, be), (efac, equad, ecorr) in _NOISE.items():
        lines += [f"T2EFAC         -f {fe}_{be:<14s}{efac}", f"T2EQUAD        -f {fe}_{be:<13s}{equad}",
                  f"ECORR          -f {fe}_{be:<13s}{ecorr}"]
    return "\n".join(lines) + "\n"


_NOISE = {("Rcvr1_2", "ASP"): (1.10, 0.10, 0.15), ("Rcvr_800", "ASP"): (1.15, 0.15, 0.25),
          ("Rcvr1_2", "GUPPI"): (1.02, 0.03, 0.06), ("Rcvr_800", "GUPPI"): (1.05, 0.05, 0.10)}
_BACKEND_CHANGE_MJD = 56400.0  # ASP before, GUPPI after (as NANOGrav's 2010 change)


def binary_tim(seed: int, start: float = 55200.0, end: float = 58850.0, nsub: int = 8) -> str:
    """Observing pattern: both receivers within a few days of each ~3-weekly epoch, ``nsub`` sub-bands each."""
    rng = np.random.default_rng(seed)
    lines = ["FORMAT 1", "MODE 1", "C Example TOAs made up for jugbayes: observing pattern only (see make_examples.py)"]
    day, k = start, 0
    while day < end:
        for fe, centre, offsets, err in _RECEIVERS:
            be = "ASP" if day < _BACKEND_CHANGE_MJD else "GUPPI"
            scale = 1.6 if be == "ASP" else 1.0  # the older backend's narrower band gives larger errors
            t = day + rng.integers(0, 4) + rng.uniform(0.05, 0.95)
            lo, hi = offsets[0] * 1.25, offsets[-1] * 1.25
            for j in range(nsub):
                mjd_int = int(t)
                frac = f"{t - mjd_int:.13f}"[2:]
                e = err * scale * rng.uniform(0.7, 2.0)
                freq = centre + lo + (hi - lo) * (j + 0.5) / nsub
                lines.append(f"{be.lower()}_{k:05d} {freq:.3f} {mjd_int}.{frac} {e:.3f} coe -fe {fe} -be {be} "
                             f"-f {fe}_{be} -bw {(hi - lo) / nsub:.1f} -tobs 1200")
                k += 1
        day += rng.uniform(18.0, 24.0)
    return "\n".join(lines) + "\n"


ELL1_PAR = """\
# Example timing model made up for jugbayes (J1909-3744-like, not a real pulsar).
PSRJ           J1911-3745
RAJ            19:11:47.3412345         1
DECJ           -37:45:14.123456         1
PMRA           -9.51                    1
PMDEC          -35.78                   1
PX             0.86                     1
POSEPOCH       56500
F0             339.31568740524312       1
F1             -1.6148D-15              1
PEPOCH         56500
DM             10.3932                  1
DM1            0.0002                   1
DMEPOCH        56500
BINARY         ELL1
PB             1.5334494748             1
A1             1.8979910                1
TASC           56500.3512345678         1
EPS1           2.1D-8                   1
EPS2           -1.05D-7                 1
M2             0.2067                   1
SINI           0.9980                   1
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
TIMEEPH        FB90
PLANET_SHAPIRO N
TZRMJD         56500.1234567890123
TZRFRQ         1400.0
TZRSITE        coe
""" + _binary_noise_lines()

DD_PAR = """\
# Example timing model made up for jugbayes (an eccentric binary; not a real pulsar).
PSRJ           J1756+1822
RAJ            17:56:12.3456789         1
DECJ           +18:22:33.44556          1
PMRA           2.10                     1
PMDEC          -4.30                    1
PX             0.40                     1
POSEPOCH       56500
F0             187.23456789012345       1
F1             -6.12D-16                1
PEPOCH         56500
DM             41.2345                  1
DM1            -0.0011                  1
DMEPOCH        56500
BINARY         DD
PB             4.1234567891             1
A1             9.2345678                1
T0             56500.7712345678         1
ECC            0.1712345                1
OM             112.345678               1
OMDOT          0.0271                   1
GAMMA          0.000565                 1
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
TIMEEPH        FB90
PLANET_SHAPIRO N
TZRMJD         56500.1234567890123
TZRFRQ         1400.0
TZRSITE        coe
""" + _binary_noise_lines()



def _write_example(name: str, par_text: str, tim_text: str, seed: int) -> None:
    import tempfile
    import warnings

    from jugbayes.io import read_par, read_tim, write_tim
    from jugbayes.simulate import simulate

    out = HERE / name
    out.mkdir(exist_ok=True)
    (out / f"{name}.par").write_text(par_text)
    with tempfile.TemporaryDirectory() as tmp:
        pattern = Path(tmp) / "pattern.tim"
        pattern.write_text(tim_text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "parameters not used": none expected, but keep the output clean
            toas = simulate(read_par(out / f"{name}.par"), read_tim(pattern), seed=seed)
        write_tim(toas, out / f"{name}.tim")
    print(f"wrote {out}/{name}.par and .tim ({len(toas)} simulated TOAs)")


def main() -> None:
    _write_example("isolated_msp", ISOLATED_PAR, isolated_tim(), seed=1)
    _write_example("ell1_shapiro", ELL1_PAR, binary_tim(seed=2), seed=2)
    _write_example("dd_binary", DD_PAR, binary_tim(seed=3), seed=3)


if __name__ == "__main__":
    main()
