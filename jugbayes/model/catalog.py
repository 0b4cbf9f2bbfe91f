"""Catalogue of the ``.par`` parameters the timing model knows.

Every name maps to a :class:`ParamSpec`: its canonical spelling, value kind,
the component that uses it, and its unit as TEMPO2/PINT write it.  Names not
in the catalogue are kept and written back, but reported as unused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Value kinds: how the text after the name is read and checked.
FLOAT = "float"  # a number, kept as text; D exponents allowed
MJD = "mjd"  # an epoch, a number needing the exact two-float split
HMS = "hms"  # right ascension, hh:mm:ss.s (or decimal hours)
DMS = "dms"  # declination, dd:mm:ss.s (or decimal degrees)
STR = "str"  # one word
BOOL = "bool"  # Y/N, T/F, 1/0
INT = "int"
TEXT = "text"  # the rest of the line, verbatim (informational keys)
PAIR = "pair"  # two numbers, e.g. TEMPO2's WAVEk sine and cosine amplitudes; kept as "a b"

# Components: who uses a parameter.  INFO keys describe a past fit; SETTINGS
# choose how the model is evaluated.
SETTINGS, INFO = "settings", "info"
SPIN, GLITCH, ASTROMETRY, DISPERSION, SOLAR_WIND = "spin", "glitch", "astrometry", "dispersion", "solar_wind"
FD, JUMPS, BINARY, NOISE = "fd", "jumps", "binary", "noise"
PIECEWISE = "piecewise"  # PINT's piecewise spin-down solutions (PWEP_i ...)
WAVE = "wave"  # TEMPO2's harmonic whitening (WAVE_OM, WAVEEPOCH, WAVEk)
IFUNC = "ifunc"  # TEMPO2's interpolated phase offsets (SIFUNC, IFUNCk)
CHROMATIC = "chromatic"  # PINT's chromatic delays (CM, CMX_i, CMWaveX) and Fourier delays (WaveX, DMWaveX)


@dataclass(frozen=True)
class ParamSpec:
    """What the catalogue knows of one parameter (or one member of a family)."""

    name: str
    kind: str
    component: str
    unit: str = ""
    mask: bool = False  # takes a TOA selector (JUMP -fe X, EFAC -f Y, ...)
    index: int | None = None  # family index (F2 -> 2, DMX_0003 -> 3)

    @property
    def fittable(self) -> bool:
        return self.kind in (FLOAT, MJD, HMS, DMS) and self.component not in (SETTINGS, INFO)


def _s(name, kind, component, unit="", aliases=(), mask=False):
    return (name, kind, component, unit, tuple(aliases), mask)


_SINGLE = [
    # settings and identity
    _s("PSR", STR, SETTINGS, aliases=("PSRJ", "PSRB")),
    _s("EPHEM", STR, SETTINGS),
    _s("CLK", STR, SETTINGS, aliases=("CLOCK",)),
    _s("UNITS", STR, SETTINGS),
    _s("TIMEEPH", STR, SETTINGS),
    _s("T2CMETHOD", STR, SETTINGS),
    _s("BINARY", STR, SETTINGS),
    _s("ECL", STR, SETTINGS),
    _s("PLANET_SHAPIRO", BOOL, SETTINGS),
    _s("CORRECT_TROPOSPHERE", BOOL, SETTINGS),
    _s("DILATEFREQ", BOOL, SETTINGS),
    _s("DMDATA", BOOL, SETTINGS),
    _s("TZRMJD", MJD, SPIN, "d"),
    _s("TZRSITE", STR, SPIN),
    _s("TZRFRQ", FLOAT, SPIN, "MHz"),
    # informational: describe an earlier fit, do not change the model
    _s("NTOA", INT, INFO),
    _s("TRES", FLOAT, INFO, "us"),
    _s("CHI2", TEXT, INFO),
    _s("CHI2R", TEXT, INFO),
    _s("NITS", INT, INFO),
    _s("MODE", INT, INFO),
    _s("START", TEXT, INFO, "d"),
    _s("FINISH", TEXT, INFO, "d"),
    _s("INFO", TEXT, INFO),
    _s("EPHVER", INT, INFO),
    _s("NPRNT", INT, INFO),
    _s("DMXMAX", TEXT, INFO),
    _s("RM", FLOAT, INFO, "rad/m2"),
    _s("DMRES", FLOAT, INFO, "us"),
    _s("TRACK", TEXT, INFO),
    _s("IBOOT", TEXT, INFO),
    _s("PLANET_SHAPIRO2", TEXT, INFO),
    # spin
    _s("PEPOCH", MJD, SPIN, "d"),
    _s("PHOFF", FLOAT, SPIN, "cycles"),
    # astrometry
    _s("RAJ", HMS, ASTROMETRY, "hourangle", aliases=("RA",)),
    _s("DECJ", DMS, ASTROMETRY, "deg", aliases=("DEC",)),
    _s("PMRA", FLOAT, ASTROMETRY, "mas/yr"),
    _s("PMDEC", FLOAT, ASTROMETRY, "mas/yr"),
    _s("ELONG", FLOAT, ASTROMETRY, "deg", aliases=("LAMBDA",)),
    _s("ELAT", FLOAT, ASTROMETRY, "deg", aliases=("BETA",)),
    _s("PMELONG", FLOAT, ASTROMETRY, "mas/yr", aliases=("PMLAMBDA",)),
    _s("PMELAT", FLOAT, ASTROMETRY, "mas/yr", aliases=("PMBETA",)),
    _s("POSEPOCH", MJD, ASTROMETRY, "d"),
    _s("PX", FLOAT, ASTROMETRY, "mas"),
    # dispersion and solar wind
    _s("DM", FLOAT, DISPERSION, "pc/cm3"),
    _s("DMEPOCH", MJD, DISPERSION, "d"),
    _s("DMX", FLOAT, DISPERSION, "d"),
    _s("NE_SW", FLOAT, SOLAR_WIND, "cm-3", aliases=("SOLARN0", "NE1AU")),
    _s("SWM", FLOAT, SOLAR_WIND),
    _s("SWP", FLOAT, SOLAR_WIND),
    # binary
    _s("PB", FLOAT, BINARY, "d"),
    _s("PBDOT", FLOAT, BINARY),
    _s("XPBDOT", FLOAT, BINARY),
    _s("A1", FLOAT, BINARY, "ls"),
    _s("A1DOT", FLOAT, BINARY, "ls/s", aliases=("XDOT",)),
    _s("ECC", FLOAT, BINARY, aliases=("E",)),
    _s("EDOT", FLOAT, BINARY, "1/s"),
    _s("OM", FLOAT, BINARY, "deg"),
    _s("OMDOT", FLOAT, BINARY, "deg/yr"),
    _s("XOMDOT", FLOAT, BINARY, "deg/yr"),
    _s("LNEDOT", FLOAT, BINARY, "1/yr"),
    _s("T0", MJD, BINARY, "d"),
    _s("TASC", MJD, BINARY, "d"),
    _s("EPS1", FLOAT, BINARY),
    _s("EPS2", FLOAT, BINARY),
    _s("EPS1DOT", FLOAT, BINARY, "1/s"),
    _s("EPS2DOT", FLOAT, BINARY, "1/s"),
    _s("GAMMA", FLOAT, BINARY, "s"),
    _s("SINI", FLOAT, BINARY),
    _s("M2", FLOAT, BINARY, "Msun"),
    _s("MTOT", FLOAT, BINARY, "Msun"),
    _s("SHAPMAX", FLOAT, BINARY),
    _s("H3", FLOAT, BINARY, "s"),
    _s("H4", FLOAT, BINARY, "s"),
    _s("STIGMA", FLOAT, BINARY, aliases=("STIG", "VARSIGMA")),
    _s("NHARMS", INT, BINARY),
    _s("KIN", FLOAT, BINARY, "deg"),
    _s("KOM", FLOAT, BINARY, "deg"),
    _s("K96", BOOL, BINARY),
    _s("DR", FLOAT, BINARY),
    _s("DTH", FLOAT, BINARY, aliases=("DTHETA",)),
    _s("A0", FLOAT, BINARY, "s"),
    _s("B0", FLOAT, BINARY, "s"),
    # noise (selector-masked white noise, power-law red and DM noise)
    _s("EFAC", FLOAT, NOISE, aliases=("T2EFAC", "TNEF"), mask=True),
    _s("EQUAD", FLOAT, NOISE, "us", aliases=("T2EQUAD",), mask=True),
    _s("TNEQ", FLOAT, NOISE, "log10(s)", mask=True),
    _s("ECORR", FLOAT, NOISE, "us", aliases=("TNECORR",), mask=True),
    _s("DMEFAC", FLOAT, NOISE, mask=True),
    _s("DMEQUAD", FLOAT, NOISE, "pc/cm3", mask=True),
    _s("TNREDAMP", FLOAT, NOISE, "log10", aliases=()),
    _s("TNREDGAM", FLOAT, NOISE),
    _s("TNREDC", INT, NOISE),
    _s("TNREDFLOG", FLOAT, NOISE),
    _s("TNREDFLOG_FACTOR", FLOAT, NOISE),
    _s("TNREDTSPAN", FLOAT, NOISE),
    _s("TNDMAMP", FLOAT, NOISE, "log10"),
    _s("TNDMGAM", FLOAT, NOISE),
    _s("TNDMC", INT, NOISE),
    _s("TNDMFLOG", FLOAT, NOISE),
    _s("TNDMTSPAN", FLOAT, NOISE),
    _s("RNAMP", FLOAT, NOISE),
    _s("RNIDX", FLOAT, NOISE),
    # TEMPO2 WAVE and IFUNC, PINT's chromatic and wave-X terms, PINT's ORBWAVE (indexed members: _FAMILIES)
    _s("WAVEEPOCH", MJD, WAVE, "d"),
    _s("WAVE_OM", FLOAT, WAVE, "rad/d"),
    _s("CM", FLOAT, CHROMATIC, "pc/cm3 MHz^(alpha-2)"),
    _s("CMEPOCH", MJD, CHROMATIC, "d"),
    _s("TNCHROMIDX", FLOAT, CHROMATIC),
    _s("WXEPOCH", MJD, CHROMATIC, "d"),
    _s("DMWXEPOCH", MJD, CHROMATIC, "d"),
    _s("CMWXEPOCH", MJD, CHROMATIC, "d"),
    _s("ORBWAVE_OM", FLOAT, BINARY, "rad/s"),
    _s("ORBWAVE_EPOCH", MJD, BINARY, "d"),
    _s("SIFUNC", INT, IFUNC),
    _s("FDJUMPLOG", BOOL, SETTINGS),
    # jumps
    _s("JUMP", FLOAT, JUMPS, "s", mask=True),
    _s("DMJUMP", FLOAT, DISPERSION, "pc/cm3", mask=True),
]

# Indexed families: (regex on the upper-cased name, canonical format, kind, component, unit).
# ``{i}`` is the integer index; DMX-style families keep a 4-digit, zero-padded index.
_FAMILIES = [
    (r"F(\d+)", "F{i}", FLOAT, SPIN, "Hz/s^n"),
    (r"DM(\d+)", "DM{i}", FLOAT, DISPERSION, "pc/cm3/yr^n"),
    (r"FB(\d+)", "FB{i}", FLOAT, BINARY, "Hz/s^n"),
    (r"FD(\d+)", "FD{i}", FLOAT, FD, "s"),
    (r"DMX_(\d+)", "DMX_{i:04d}", FLOAT, DISPERSION, "pc/cm3"),
    (r"DMXR1_(\d+)", "DMXR1_{i:04d}", MJD, DISPERSION, "d"),
    (r"DMXR2_(\d+)", "DMXR2_{i:04d}", MJD, DISPERSION, "d"),
    (r"DMXEP_(\d+)", "DMXEP_{i:04d}", MJD, INFO, "d"),
    (r"DMXF1_(\d+)", "DMXF1_{i:04d}", FLOAT, INFO, "MHz"),
    (r"DMXF2_(\d+)", "DMXF2_{i:04d}", FLOAT, INFO, "MHz"),
    (r"GLEP_(\d+)", "GLEP_{i}", MJD, GLITCH, "d"),
    (r"GLPH_(\d+)", "GLPH_{i}", FLOAT, GLITCH, "cycles"),
    (r"GLF0_(\d+)", "GLF0_{i}", FLOAT, GLITCH, "Hz"),
    (r"GLF1_(\d+)", "GLF1_{i}", FLOAT, GLITCH, "Hz/s"),
    (r"GLF2_(\d+)", "GLF2_{i}", FLOAT, GLITCH, "Hz/s^2"),
    (r"GLF0D_(\d+)", "GLF0D_{i}", FLOAT, GLITCH, "Hz"),
    (r"GLTD_(\d+)", "GLTD_{i}", FLOAT, GLITCH, "d"),
    (r"WAVE(\d+)", "WAVE{i}", PAIR, WAVE, "s"),
    (r"SWXDM_(\d+)", "SWXDM_{i:04d}", FLOAT, SOLAR_WIND, "pc/cm3"),
    (r"SWXP_(\d+)", "SWXP_{i:04d}", FLOAT, SOLAR_WIND, ""),
    (r"SWXR1_(\d+)", "SWXR1_{i:04d}", MJD, SOLAR_WIND, "d"),
    (r"SWXR2_(\d+)", "SWXR2_{i:04d}", MJD, SOLAR_WIND, "d"),
    (r"CM(\d+)", "CM{i}", FLOAT, CHROMATIC, "pc/cm3 MHz^(alpha-2)/yr^n"),
    (r"CMX_(\d+)", "CMX_{i:04d}", FLOAT, CHROMATIC, "pc/cm3 MHz^(alpha-2)"),
    (r"CMXR1_(\d+)", "CMXR1_{i:04d}", MJD, CHROMATIC, "d"),
    (r"CMXR2_(\d+)", "CMXR2_{i:04d}", MJD, CHROMATIC, "d"),
    *((rf"{kind}FREQ_(\d+)", f"{kind}FREQ_{{i:04d}}", FLOAT, CHROMATIC, "1/d") for kind in ("WX", "DMWX", "CMWX")),
    *((rf"{kind}{sc}_(\d+)", f"{kind}{sc}_{{i:04d}}", FLOAT, CHROMATIC, unit)
      for kind, unit in (("WX", "s"), ("DMWX", "pc/cm3"), ("CMWX", "pc/cm3 MHz^(alpha-2)")) for sc in ("SIN", "COS")),
    (r"ORBWAVEC(\d+)", "ORBWAVEC{i}", FLOAT, BINARY, "orbits"),
    (r"ORBWAVES(\d+)", "ORBWAVES{i}", FLOAT, BINARY, "orbits"),
    (r"IFUNC(\d+)", "IFUNC{i}", PAIR, IFUNC, "d, s"),
    (r"PWEP_(\d+)", "PWEP_{i}", MJD, PIECEWISE, "d"),
    (r"PWSTART_(\d+)", "PWSTART_{i}", MJD, PIECEWISE, "d"),
    (r"PWSTOP_(\d+)", "PWSTOP_{i}", MJD, PIECEWISE, "d"),
    (r"PWPH_(\d+)", "PWPH_{i}", FLOAT, PIECEWISE, "cycles"),
    (r"PWF0_(\d+)", "PWF0_{i}", FLOAT, PIECEWISE, "Hz"),
    (r"PWF1_(\d+)", "PWF1_{i}", FLOAT, PIECEWISE, "Hz/s"),
    (r"PWF2_(\d+)", "PWF2_{i}", FLOAT, PIECEWISE, "Hz/s^2"),
]
# Families whose members also take TOA selectors: PINT's FDpJUMP (TEMPO2 writes FDJUMPp), p the polynomial index.
_MASKED_FAMILIES = [
    (r"FD(\d+)JUMP", "FD{i}JUMP", FLOAT, FD, "s"),
    (r"FDJUMP(\d+)", "FD{i}JUMP", FLOAT, FD, "s"),
]
_FAMILIES_RE = [(re.compile(f"^{pat}$"), fmt, kind, comp, unit, False) for pat, fmt, kind, comp, unit in _FAMILIES]
_FAMILIES_RE += [(re.compile(f"^{pat}$"), fmt, kind, comp, unit, True) for pat, fmt, kind, comp, unit in _MASKED_FAMILIES]


@lru_cache(maxsize=1)
def _singles() -> dict[str, ParamSpec]:
    table = {}
    for name, kind, comp, unit, aliases, mask in _SINGLE:
        spec = ParamSpec(name, kind, comp, unit, mask)
        for key in (name, *aliases):
            table[key.upper()] = spec
    return table


def lookup(written_name: str) -> ParamSpec | None:
    """The spec for a name as written in a ``.par`` (any case, alias or family member)."""
    key = written_name.upper()
    spec = _singles().get(key)
    if spec is not None:
        return spec
    for regex, fmt, kind, comp, unit, mask in _FAMILIES_RE:
        m = regex.match(key)
        if m:
            i = int(m.group(1))
            return ParamSpec(fmt.format(i=i), kind, comp, unit, mask=mask, index=i)
    return None


def mask_names() -> frozenset[str]:
    """Canonical names of the parameters that take TOA selectors."""
    return frozenset(s.name for s in _singles().values() if s.mask)
