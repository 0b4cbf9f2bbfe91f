"""Observatory clock -> UTC -> TT: the clock-correction chain for each TOA.

Per site (the package's site table says which files): the observatory's clock
files (site -> GPS or UTC), then GPS -> UTC (``gps2utc.clk``) where the site
is GPS-referenced; UTC -> TAI by leap seconds; TAI -> TT(TAI) = TAI + 32.184 s,
or TT(BIPMyyyy) with ``tai2tt_bipmyyyy.clk`` when the .par's ``CLK`` asks for it.

``CLK`` values, as TEMPO and TEMPO2 define them:

- ``TT(TAI)`` (also the default when a .par has no ``CLK``, as in TEMPO2);
- ``TT(BIPMyyyy)``; ``TT(BIPM)`` means the newest ``tai2tt_bipm*.clk`` found;
- ``UTC(NIST)``: observatory corrections to UTC, which is then taken as UTC
  itself (UTC(NIST) - UTC is a few ns), then TT(TAI);
- ``UNCORR``: no observatory clock corrections at all; TOAs are taken as UTC.

A TOA outside a clock file's table, or a site whose clock file cannot be
found, produces one :class:`ClockWarning` per site naming the file and the MJD
range affected (``strict=True`` makes it a :class:`ClockError`); it is never a
silent zero.  Pseudo-sites: barycentre TOAs are already TDB, geocentre TOAs
are UTC with no observatory clock.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from jugbayes.errors import InputError, JugbayesError
from jugbayes.geometry.sites import Site
from jugbayes.timescales import clocksource
from jugbayes.timescales.clockfile import ClockFile, read_tempo2_clock, read_tempo_clock
from jugbayes.timescales.mjd import SplitMJD
from jugbayes.timescales.scales import tt_minus_utc_s

GPS_TO_UTC_FILE = "gps2utc.clk"
TT_MINUS_TAI_IN_BIPM_FILES_S = 32.184  # tai2tt_bipm*.clk tabulate TT(BIPM) - TAI, so include 32.184 s
_BIPM_RE = re.compile(r"^TT\(BIPM(\d{2}|\d{4})?\)$")


class ClockWarning(UserWarning):
    """Clock corrections missing or extrapolated for some TOAs."""


class ClockError(JugbayesError):
    """Clock corrections missing or extrapolated, with ``strict`` clock checking on."""


@dataclass(frozen=True)
class TimeStandard:
    """What a .par's ``CLK`` asks for."""

    name: str
    observatory_clocks: bool = True
    bipm_version: str | None = None  # e.g. "2019"; "" for the newest available


def parse_clk(value: str | None, path=None, line: int | None = None) -> TimeStandard:
    """The time standard a ``CLK``/``CLOCK`` value names (``None``: TT(TAI), TEMPO2's default)."""
    if value is None:
        return TimeStandard("TT(TAI)")
    text = value.strip().upper()
    if text == "TT(TAI)":
        return TimeStandard("TT(TAI)")
    if text == "UTC(NIST)":
        return TimeStandard("UTC(NIST)")
    if text == "UNCORR":
        return TimeStandard("UNCORR", observatory_clocks=False)
    match = _BIPM_RE.match(text)
    if match:
        return TimeStandard(text, bipm_version=match.group(1) or "")
    raise InputError(path, line, f"CLK {value!r} is not a time standard jugbayes knows: use TT(TAI), "
                                 "TT(BIPMyyyy), TT(BIPM), UTC(NIST) or UNCORR")


@lru_cache(maxsize=64)
def _read_clock(path: str, fmt: str, site_code: str | None, drop_last: bool) -> ClockFile:
    if fmt == "tempo":
        return read_tempo_clock(path, site_code, drop_last=drop_last)
    return read_tempo2_clock(path, drop_last=drop_last)


def _bipm_file_name(version: str, clock_dir) -> str:
    if version:
        return f"tai2tt_bipm{version.lower()}.clk"
    found = []
    for _, directory in clocksource.search_dirs(clock_dir):
        for sub in ("", "T2runtime/clock"):
            found += [p.name for p in (directory / sub).glob("tai2tt_bipm[0-9][0-9][0-9][0-9].clk")]
    if not found:
        raise ClockError(f"CLK TT(BIPM): no tai2tt_bipmyyyy.clk found ({clocksource.describe_search(clock_dir)})")
    return max(found)


def _bipm_drops_last(name: str) -> bool:
    """Files up to BIPM2019 (copied from TEMPO2) end with a placeholder row; later ones do not."""
    year = re.search(r"bipm(\d+)", name).group(1)
    return len(year) == 2 or int(year) <= 2019


@dataclass
class _Problems:
    """Clock troubles for one site, gathered into one message."""

    site: str
    notes: list[str]

    def add_missing(self, name: str, clock_dir, mjd: np.ndarray, what: str) -> None:
        self.notes.append(f"{what} {name} not found ({clocksource.describe_search(clock_dir)}); "
                          f"{len(mjd)} TOAs at MJD {mjd.min():.1f}-{mjd.max():.1f} get no correction from it")

    def add_outside(self, clock: ClockFile, mjd: np.ndarray) -> None:
        lo, hi = clock.mjd_range
        self.notes.append(f"{len(mjd)} TOAs at MJD {mjd.min():.1f}-{mjd.max():.1f} lie outside "
                          f"{Path(clock.path).name} (MJD {lo:.1f}-{hi:.1f}); its nearest value is used")

    def report(self, strict: bool) -> None:
        if not self.notes:
            return
        message = f"clock corrections for site '{self.site}': " + "; ".join(self.notes)
        if strict:
            raise ClockError(message)
        warnings.warn(message, ClockWarning, stacklevel=4)


def _apply_file(name: str, fmt: str, site: Site, mjd: np.ndarray, clock_dir, problems: _Problems,
                what: str = "clock file", drop_last: bool | None = None) -> np.ndarray:
    path = clocksource.find_clock_file(name, clock_dir)
    if path is None:
        problems.add_missing(name, clock_dir, mjd, what)
        return np.zeros_like(mjd)
    drop = site.bogus_last_correction if drop_last is None else drop_last
    clock = _read_clock(os.fspath(path), fmt, site.tempo_code if fmt == "tempo" else None, drop)
    offset, outside = clock.evaluate(mjd)
    if outside.any():
        problems.add_outside(clock, mjd[outside])
    return offset


def observatory_to_utc_s(site: Site, mjd_utc: np.ndarray, standard: TimeStandard, clock_dir=None,
                         strict: bool = False, gps_file: str = GPS_TO_UTC_FILE) -> np.ndarray:
    """Site clock -> UTC correction (s) for TOAs of one site at (approximate) UTC MJDs.

    ``gps_file`` names the GPS -> UTC table (``gps2utc.clk``, as PINT uses; TEMPO2's own tree
    ships the Combined-Clock series as ``gps2utc_tempo2.clk`` in the IPTA repository).
    """
    mjd_utc = np.asarray(mjd_utc, dtype=np.float64)
    corr = np.zeros_like(mjd_utc)
    if site.pseudo or not standard.observatory_clocks or len(mjd_utc) == 0:
        return corr
    problems = _Problems(site.name, [])
    if not site.clock_files:
        taken_as = ("GPS time (as PINT takes them) and corrected GPS -> UTC" if site.apply_gps2utc
                    else "UTC, uncorrected")
        problems.notes.append(f"the site table lists no observatory clock file for it; its TOAs are taken as {taken_as}")
    for entry in site.clock_files:
        corr += _apply_file(entry["name"], site.clock_format or "tempo2", site, mjd_utc, clock_dir, problems)
    if site.apply_gps2utc:
        corr += _apply_file(gps_file, "tempo2", site, mjd_utc, clock_dir, problems, drop_last=False)
    problems.report(strict)
    return corr


def bipm_minus_tai_tt_s(mjd: np.ndarray, standard: TimeStandard, clock_dir=None, strict: bool = False) -> np.ndarray:
    """TT(BIPMyyyy) - TT(TAI) in seconds (~27 us), zero for standards that do not use BIPM."""
    mjd = np.asarray(mjd, dtype=np.float64)
    if standard.bipm_version is None or len(mjd) == 0:
        return np.zeros_like(mjd)
    name = _bipm_file_name(standard.bipm_version, clock_dir)
    path = clocksource.find_clock_file(name, clock_dir)
    if path is None:
        raise ClockError(f"CLK {standard.name} needs {name}, not found ({clocksource.describe_search(clock_dir)})")
    clock = _read_clock(os.fspath(path), "tempo2", None, _bipm_drops_last(name))
    offset, outside = clock.evaluate(mjd)
    if outside.any():
        problems = _Problems(standard.name, [])
        problems.add_outside(clock, mjd[outside])
        problems.report(strict)
    return offset - TT_MINUS_TAI_IN_BIPM_FILES_S


@dataclass(frozen=True)
class ClockCorrections:
    """Per-TOA corrections (s): observatory -> UTC, UTC -> TT, and their total (TOA time offsets included)."""

    observatory_to_utc_s: np.ndarray
    utc_to_tt_s: np.ndarray
    time_offset_s: np.ndarray  # tim-file TIME / -to offsets

    @property
    def total_s(self) -> np.ndarray:
        return self.observatory_to_utc_s + self.utc_to_tt_s + self.time_offset_s


def clock_corrections(utc: SplitMJD, site_names: np.ndarray, site_table: dict[str, Site], standard: TimeStandard,
                      time_offset_s: np.ndarray | None = None, clock_dir=None,
                      strict: bool = False, gps_file: str = GPS_TO_UTC_FILE) -> ClockCorrections:
    """Clock corrections taking each TOA (UTC MJD on its site's clock) to TT.

    Barycentric TOAs get zeros throughout (they are TDB already).
    """
    n = len(utc)
    offsets = np.zeros(n) if time_offset_s is None else np.asarray(time_offset_s, dtype=np.float64)
    shifted = utc.add_seconds(offsets)
    mjd = shifted.as_float()
    obs = np.zeros(n)
    for name in np.unique(site_names):
        rows = site_names == name
        obs[rows] = observatory_to_utc_s(site_table[name], mjd[rows], standard, clock_dir, strict, gps_file)
    as_utc = shifted.add_seconds(obs)
    bary = np.array([site_table[s].name == "barycenter" for s in site_names], dtype=bool)
    to_tt = np.zeros(n)
    if (~bary).any():
        ground = as_utc[~bary]
        to_tt[~bary] = tt_minus_utc_s(ground) + bipm_minus_tai_tt_s(ground.as_float(), standard, clock_dir, strict)
    return ClockCorrections(obs, to_tt, offsets)
