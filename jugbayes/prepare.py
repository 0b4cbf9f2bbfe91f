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
    """Which TT -> TDB series is used where the .par does not say (TEMPO2 and PINT differ there)."""


class TimeStandardWarning(UserWarning):
    """A .par without CLK, or with UTC(NIST): read as TEMPO/TEMPO2 do (TT(TAI)), which PINT does not."""


TIME_EPHEMERIDES = ("FB90", "IF99")


def choose_time_ephemeris(par: ParFile, timeeph: str | None = None, timeeph_file=None, ephem_file=None):
    """("FB90" or "IF99", the TE405 file for IF99 or None), as TEMPO2 decides it.

    ``TIMEEPH`` (or ``timeeph``, an override such as ``--timeeph FB90`` for PINT's reading) names the
    series; a .par without one gets TEMPO2's default, IF99, when a TE405 file is found (said once, as
    a :class:`TimeEphemerisWarning`), else FB90 with a warning naming where it looked.
    """
    from jugbayes.timescales.timeeph import TimeEphemerisError, find_time_ephemeris, time_ephemeris_candidates

    p = par.get("TIMEEPH")
    where, line = (None, None) if timeeph is not None else (par.path, p.line if p is not None else None)
    name = timeeph if timeeph is not None else (p.value if p is not None else None)
    if name is not None and name.strip().upper() not in TIME_EPHEMERIDES:
        raise InputError(where, line, f"TIMEEPH {name!r} is not a time ephemeris jugbayes knows: use FB90 or IF99")
    if name is not None and name.strip().upper() == "FB90":
        return "FB90", None
    path = find_time_ephemeris(timeeph_file, ephem_file)
    if path is not None:
        if name is None:
            warnings.warn(f"{par.path}: no TIMEEPH, so TT -> TDB by IF99 ({path}), TEMPO2's default; PINT always "
                          "uses FB90 (~60 ns apart): give TIMEEPH FB90 or --timeeph FB90 for PINT's reading",
                          TimeEphemerisWarning, stacklevel=3)
        return "IF99", path
    looked = ", ".join(f"{label} {path.parent}" for label, path in time_ephemeris_candidates(ephem_file)[::3])
    if name is not None:
        raise TimeEphemerisError(f"{par.path}:{line}: TIMEEPH IF99 needs TEMPO2's TIMEEPH_short.te405 (looked in "
                                 f"{looked}); give --timeeph-file, or --timeeph FB90")
    warnings.warn(f"{par.path}: no TIMEEPH and no IF99 file (TIMEEPH_short.te405; looked in {looked}): TT -> TDB "
                  "by FB90, as PINT; TEMPO2 would use IF99 (~60 ns apart)", TimeEphemerisWarning, stacklevel=3)
    return "FB90", None


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
    timeeph: str = "FB90"  # the TT -> TDB series used: FB90 or IF99

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
                 planets: bool | None = None, gps_file: str = GPS_TO_UTC_FILE, clk: str | None = None,
                 timeeph: str | None = None, timeeph_file=None) -> PreparedTOAs:
    """Clock corrections, TT, TDB and solar-system geometry for each TOA under ``par``'s settings.

    ``clock_dir``/``ephem_file`` override where clock files and the ephemeris come from;
    ``strict_clock`` turns missing or out-of-range clock corrections into errors; ``planets``
    (default: the .par's ``PLANET_SHAPIRO``) adds the planets' positions; ``clk`` overrides the
    .par's ``CLK`` (e.g. ``TT(BIPM2023)``, which is what PINT uses for ``UTC(NIST)``); ``timeeph``/``timeeph_file``
    override the .par's ``TIMEEPH`` and where the IF99 file is (:func:`choose_time_ephemeris`).
    """
    timeeph, te405 = choose_time_ephemeris(par, timeeph, timeeph_file, ephem_file)
    if clk is not None:
        standard = parse_clk(clk, None, None)
    else:
        par_clk, clk_line = _par_text(par, "CLK")
        standard = parse_clk(par_clk, par.path, clk_line)
        if standard.name in ("TT(TAI)", "UTC(NIST)") and (par_clk is None or standard.name == "UTC(NIST)"):
            where = f"{par.path}:{clk_line}: CLK UTC(NIST)" if par_clk else f"{par.path}: no CLK"
            warnings.warn(f"{where}, so TT(TAI) as TEMPO and TEMPO2 read it; PINT reads it as TT(BIPM) (27.6 us "
                          "later, nearly constant): --clk TT(BIPM2023) for PINT's reading",
                          TimeStandardWarning, stacklevel=2)
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
        if te405 is None:
            tdb_minus_tt[rows] = tdb_minus_tt_s(tt[rows], as_utc.frac[rows], xyz)
        site_pos_m[rows], site_vel_m_s[rows] = site_gcrs_posvel_m(xyz, tt[rows])
    ephem = load_ephemeris(ephem_name, ephem_file)
    if te405 is not None and (~bary).any():
        from jugbayes.timescales.timeeph import if99_tdb_minus_tt_s, read_time_ephemeris

        earth_vel_c = ephem.posvel_km("earth", tt[~bary])[1] / C_KM_S  # at TT: 1.7 ms from TDB changes nothing
        tdb_minus_tt[~bary] = if99_tdb_minus_tt_s(read_time_ephemeris(str(te405)), tt[~bary], earth_vel_c,
                                                  site_pos_m[~bary] / C_M_S)
    tdb = tt.add_seconds(tdb_minus_tt)
    if bary.any():  # barycentric TOAs are TDB as written; their TT is for the table only
        tdb.day[bary], tdb.frac[bary] = as_utc.day[bary], as_utc.frac[bary]
        bary_tt = tt_from_tdb(as_utc[bary])
        tt.day[bary], tt.frac[bary] = bary_tt.day, bary_tt.frac

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
                        obs_sun_pos_ls, obs_planets, timeeph)
