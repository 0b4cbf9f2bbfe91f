"""The clock chain: CLK parsing, per-site files, warnings (one per site), strict mode, pseudo-sites."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import CLOCK_DIR

from jugbayes.errors import InputError
from jugbayes.geometry.sites import sites
from jugbayes.io import read_tim
from jugbayes.timescales.clockchain import (ClockError, ClockWarning, TimeStandard, clock_corrections,
                                            observatory_to_utc_s, parse_clk)
from jugbayes.timescales.clockfile import read_tempo2_clock, read_tempo_clock
from jugbayes.timescales.mjd import SplitMJD


@pytest.mark.parametrize("value, expected", [
    (None, TimeStandard("TT(TAI)")),
    ("TT(TAI)", TimeStandard("TT(TAI)")),
    ("tt(bipm2019)", TimeStandard("TT(BIPM2019)", bipm_version="2019")),
    ("TT(BIPM)", TimeStandard("TT(BIPM)", bipm_version="")),
    ("TT(BIPM05)", TimeStandard("TT(BIPM05)", bipm_version="05")),
    ("UTC(NIST)", TimeStandard("UTC(NIST)")),
    ("UNCORR", TimeStandard("UNCORR", observatory_clocks=False)),
])
def test_parse_clk(value, expected):
    assert parse_clk(value) == expected


def test_unknown_clk_names_file_and_line():
    with pytest.raises(InputError, match=r"x\.par:7: CLK 'TT\(GPS\)' is not a time standard"):
        parse_clk("TT(GPS)", "x.par", 7)


def _tim(tmp_path, lines):
    path = tmp_path / "t.tim"
    path.write_text("FORMAT 1\n" + "\n".join(lines) + "\n")
    return read_tim(path)


def _corr(toas, standard=TimeStandard("TT(TAI)"), **kw):
    offsets = np.array([float(f.get("to", 0.0)) for f in toas.flags])
    return clock_corrections(SplitMJD(toas.mjd_int, toas.mjd_frac), np.asarray(toas.obs), sites(), standard,
                             offsets, kw.pop("clock_dir", CLOCK_DIR), **kw)


def test_gbt_chain_is_site_file_plus_gps(tmp_path):
    toas = _tim(tmp_path, ["a 1400 55616.7983754206933 1.0 gbt"])
    corr = _corr(toas)
    site = read_tempo_clock(CLOCK_DIR / "tempo" / "clock" / "time_gbt.dat", "1").evaluate([55616.7983754206933])[0]
    gps = read_tempo2_clock(CLOCK_DIR / "T2runtime" / "clock" / "gps2utc.clk").evaluate([55616.7983754206933])[0]
    assert corr.observatory_to_utc_s[0] == pytest.approx(site[0] + gps[0], abs=1e-15)
    assert corr.utc_to_tt_s[0] == pytest.approx(34 + 32.184, abs=1e-12)  # 34 leap seconds in 2011


def test_out_of_range_warns_once_per_site_naming_file_and_mjds(tmp_path):
    toas = _tim(tmp_path, ["a 1400 62500.5 1.0 gbt", "b 1400 62501.5 1.0 gbt", "c 1400 55000.5 1.0 gbt"])
    with pytest.warns(ClockWarning) as record:
        corr = _corr(toas)
    messages = [str(w.message) for w in record if issubclass(w.category, ClockWarning)]
    assert len(messages) == 1
    assert "site 'gbt'" in messages[0] and "time_gbt.dat" in messages[0] and "MJD 62500.5-62501.5" in messages[0]
    assert np.isfinite(corr.total_s).all()


def test_strict_turns_the_warning_into_an_error(tmp_path):
    toas = _tim(tmp_path, ["a 1400 62500.5 1.0 gbt"])
    with pytest.raises(ClockError, match="time_gbt.dat"):
        _corr(toas, strict=True)


def test_missing_clock_file_warns_with_search_path(tmp_path):
    toas = _tim(tmp_path, ["a 1400 55000.5 1.0 ao"])
    empty = tmp_path / "clocks"
    empty.mkdir()
    with pytest.warns(ClockWarning, match=r"time_ao\.dat not found .*--clock-dir"):
        corr = _corr(toas, clock_dir=empty)
    assert corr.observatory_to_utc_s[0] == 0.0


def test_site_without_clock_file_warns(tmp_path):
    toas = _tim(tmp_path, ["a 600 58000.5 1.0 chime"])
    with pytest.warns(ClockWarning, match="lists no observatory clock file for it; its TOAs are taken as GPS time"):
        corr = _corr(toas)
    gps = read_tempo2_clock(CLOCK_DIR / "T2runtime" / "clock" / "gps2utc.clk").evaluate([58000.5])[0]
    assert corr.observatory_to_utc_s[0] == pytest.approx(gps[0], abs=1e-15) and gps[0] != 0.0


def test_uncorr_skips_observatory_clocks(tmp_path):
    toas = _tim(tmp_path, ["a 1400 55000.5 1.0 gbt"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClockWarning)
        corr = _corr(toas, parse_clk("UNCORR"))
    assert corr.observatory_to_utc_s[0] == 0.0 and corr.utc_to_tt_s[0] == pytest.approx(66.184)


def test_pseudo_sites(tmp_path):
    toas = _tim(tmp_path, ["a 1400 55000.5 1.0 @", "b 1400 55000.5 1.0 coe"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClockWarning)
        corr = _corr(toas)
    assert corr.total_s[0] == 0.0  # barycentric: TDB already
    assert corr.observatory_to_utc_s[1] == 0.0 and corr.utc_to_tt_s[1] == pytest.approx(66.184)


def test_time_offsets_are_added(tmp_path):
    toas = _tim(tmp_path, ["a 1400 55000.5 1.0 gbt", "TIME 0.5", "b 1400 55000.5 1.0 gbt"])
    corr = _corr(toas)
    assert corr.time_offset_s.tolist() == [0.0, 0.5]
    assert corr.total_s[1] - corr.total_s[0] == pytest.approx(0.5, abs=1e-12)


def test_tt_bipm_without_year_uses_newest_file(tmp_path):
    toas = _tim(tmp_path, ["a 1400 58000.5 1.0 gbt"])
    newest = _corr(toas, parse_clk("TT(BIPM)"))
    y2025 = _corr(toas, parse_clk("TT(BIPM2025)"))
    assert newest.utc_to_tt_s[0] == y2025.utc_to_tt_s[0]
    assert 27e-6 < newest.utc_to_tt_s[0] - _corr(toas).utc_to_tt_s[0] < 28.5e-6


def test_missing_bipm_file_is_an_error(tmp_path):
    toas = _tim(tmp_path, ["a 1400 58000.5 1.0 gbt"])
    with pytest.raises(ClockError, match="tai2tt_bipm1999.clk"):
        _corr(toas, parse_clk("TT(BIPM1999)"))


def test_observatory_to_utc_empty_input():
    assert observatory_to_utc_s(sites()["gbt"], np.array([]), TimeStandard("TT(TAI)"), CLOCK_DIR).size == 0
