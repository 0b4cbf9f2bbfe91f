"""Prepared TOAs: everything the timing model needs from the files, computed once.

From a .par (``CLK``, ``EPHEM``, ``PLANET_SHAPIRO``) and its TOAs: clock
corrections to TT, TT and TDB, the observatory's position and velocity
relative to the solar-system barycentre, and the Sun's (and, when asked for,
the planets') position relative to the observatory.  This is the ``data`` side
of ``residuals(params, data)``; nothing here depends on fitted parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jugbayes.constants import C_KM_S, C_M_S
from jugbayes.errors import InputError
from jugbayes.geometry.ephemeris import load_ephemeris
from jugbayes.geometry.observatory import site_gcrs_posvel_m
from jugbayes.geometry.sites import sites
from jugbayes.io import numbers
from jugbayes.io.par import ParFile
from jugbayes.io.tim import TOAs
from jugbayes.timescales.clockchain import (GPS_TO_UTC_FILE, ClockCorrections, TimeStandard, clock_corrections,
                                           parse_clk)
from jugbayes.timescales.mjd import SplitMJD
from jugbayes.timescales.scales import tdb_minus_tt_s, tt_from_tdb

DEFAULT_EPHEM = "DE421"  # PINT's default when a .par names none


class TimeEphemerisWarning(UserWarning):
    """The .par asks for a TDB - TT series jugbayes does not implement."""


def _check_time_ephemeris(par: ParFile) -> None:
    """TDB - TT is the FB90 series (ERFA ``dtdb``, as PINT); say so when a .par asks for IF99 (TE405)."""
    p = par.get("TIMEEPH")
    if p is not None and p.value.upper() != "FB90":
        warnings.warn(f"{par.path}:{p.line}: TIMEEPH {p.value} is not implemented; jugbayes uses FB90, as PINT does "
                      "(IF99 differs by a near-constant ~60 ns plus a few ns of slow variation)",
                      TimeEphemerisWarning, stacklevel=3)
PLANETS = ("jupiter", "saturn", "venus", "uranus", "neptune")  # those TEMPO2/PINT include in planetary Shapiro


@dataclass(frozen=True)
class PreparedTOAs:
    """Per-TOA arrays in .tim order (n TOAs; vectors are (n, 3), ICRF axes)."""

    toas: TOAs
    standard: TimeStandard
    ephem: str
    clock: ClockCorrections
    tt: SplitMJD
    tdb: SplitMJD
    ssb_obs_pos_ls: np.ndarray
    ssb_obs_vel_c: np.ndarray
    obs_sun_pos_ls: np.ndarray
    obs_planet_pos_ls: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.toas)

    @property
    def utc(self) -> SplitMJD:
        return SplitMJD(self.toas.mjd_int, self.toas.mjd_frac)


def _time_offsets_s(toas: TOAs) -> np.ndarray:
    """The tim file's ``TIME`` offsets (flag ``to``, seconds) per TOA."""
    out = np.zeros(len(toas))
    for i, flags in enumerate(toas.flags):
        text = flags.get("to")
        if text is None:
            continue
        if not numbers.is_float(text):
            raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]), f"-to {text!r} is not a number of seconds")
        out[i] = numbers.to_float(text)
    return out


def _par_text(par: ParFile, name: str) -> tuple[str | None, int | None]:
    p = par.get(name)
    return (p.value, p.line) if p is not None else (None, None)


def prepare_toas(par: ParFile, toas: TOAs, *, clock_dir=None, ephem_file=None, strict_clock: bool = False,
                 planets: bool | None = None, gps_file: str = GPS_TO_UTC_FILE, clk: str | None = None) -> PreparedTOAs:
    """Clock corrections, TT, TDB and solar-system geometry for each TOA under ``par``'s settings.

    ``clock_dir``/``ephem_file`` override where clock files and the ephemeris come from;
    ``strict_clock`` turns missing or out-of-range clock corrections into errors; ``planets``
    (default: the .par's ``PLANET_SHAPIRO``) adds the planets' positions; ``clk`` overrides the
    .par's ``CLK`` (e.g. ``TT(BIPM2023)``, which is what PINT uses for ``UTC(NIST)``).
    """
    _check_time_ephemeris(par)
    if clk is not None:
        standard = parse_clk(clk, None, None)
    else:
        par_clk, clk_line = _par_text(par, "CLK")
        standard = parse_clk(par_clk, par.path, clk_line)
    ephem_name = _par_text(par, "EPHEM")[0] or DEFAULT_EPHEM
    if planets is None:
        planets = par.get("PLANET_SHAPIRO") is not None and par["PLANET_SHAPIRO"].as_bool()
    table = sites()
    site_names = np.asarray(toas.obs)
    utc = SplitMJD(toas.mjd_int, toas.mjd_frac)

    clock = clock_corrections(utc, site_names, table, standard, _time_offsets_s(toas), clock_dir, strict_clock,
                              gps_file)
    as_utc = utc.add_seconds(clock.time_offset_s + clock.observatory_to_utc_s)
    tt = as_utc.add_seconds(clock.utc_to_tt_s)
    n = len(toas)
    tdb_minus_tt = np.zeros(n)
    site_pos_m, site_vel_m_s = np.zeros((n, 3)), np.zeros((n, 3))
    bary = site_names == "barycenter"
    for name in np.unique(site_names[~bary]):
        rows = site_names == name
        xyz = table[name].itrf_xyz_m  # None for the geocentre
        tdb_minus_tt[rows] = tdb_minus_tt_s(tt[rows], as_utc.frac[rows], xyz)
        site_pos_m[rows], site_vel_m_s[rows] = site_gcrs_posvel_m(xyz, tt[rows])
    tdb = tt.add_seconds(tdb_minus_tt)
    if bary.any():  # barycentric TOAs are TDB as written; their TT is for the table only
        tdb.day[bary], tdb.frac[bary] = as_utc.day[bary], as_utc.frac[bary]
        bary_tt = tt_from_tdb(as_utc[bary])
        tt.day[bary], tt.frac[bary] = bary_tt.day, bary_tt.frac

    ephem = load_ephemeris(ephem_name, ephem_file)
    earth_km, earth_km_s = ephem.posvel_km("earth", tdb)
    ssb_obs_pos_ls = (earth_km + site_pos_m / 1000.0) / C_KM_S
    ssb_obs_vel_c = earth_km_s / C_KM_S + site_vel_m_s / C_M_S
    ssb_obs_pos_ls[bary] = 0.0
    ssb_obs_vel_c[bary] = 0.0
    sun_km, _ = ephem.posvel_km("sun", tdb)
    obs_sun_pos_ls = sun_km / C_KM_S - ssb_obs_pos_ls
    obs_planets = {}
    if planets:
        for body in PLANETS:
            obs_planets[body] = ephem.posvel_km(body, tdb)[0] / C_KM_S - ssb_obs_pos_ls
    return PreparedTOAs(toas, standard, ephem_name.upper(), clock, tt, tdb, ssb_obs_pos_ls, ssb_obs_vel_c,
                        obs_sun_pos_ls, obs_planets)
