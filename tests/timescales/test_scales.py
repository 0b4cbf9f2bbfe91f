"""UTC -> TT and TT -> TDB; split-MJD arithmetic keeps picosecond resolution."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jugbayes.timescales.mjd import SplitMJD
from jugbayes.timescales.scales import tai_minus_utc_s, tdb_minus_tt_s, tt_from_tdb, tt_minus_utc_s


@pytest.mark.parametrize("mjd, leap", [(41317.0, 10.0), (50000.0, 29.0), (57753.99999, 36.0), (57754.0, 37.0),
                                       (60000.5, 37.0)])
def test_leap_seconds(mjd, leap):
    """TAI - UTC from the IERS leap-second table: 10 s in 1972, 36 -> 37 s at 2017-01-01 (MJD 57754)."""
    day = int(mjd)
    assert tai_minus_utc_s(SplitMJD.from_parts([day], [mjd - day]))[0] == leap
    assert tt_minus_utc_s(SplitMJD.from_parts([day], [mjd - day]))[0] == pytest.approx(leap + 32.184, abs=1e-12)


def test_tdb_minus_tt_is_the_annual_term_plus_a_topocentric_part():
    tt = SplitMJD.from_parts(np.arange(55000, 55366), np.full(366, 0.25))
    geo = tdb_minus_tt_s(tt, tt.frac)
    assert 1.6e-3 < np.abs(geo).max() < 1.7e-3  # the 1.66 ms annual term
    topo = tdb_minus_tt_s(tt, tt.frac, (882589.289, -4924872.368, 3943729.418))
    assert 0 < np.abs(topo - geo).max() < 2.2e-6  # v_earth . r_site / c^2 is ~2 us at most


def test_tt_from_tdb_inverts():
    tt = SplitMJD.from_parts(np.arange(50000, 60000, 97), np.linspace(0, 0.99, 104))
    tdb = tt.add_seconds(tdb_minus_tt_s(tt, tt.frac))
    back = tt_from_tdb(tdb)
    assert np.abs(back.seconds_since(tt)).max() < 1e-12


@given(st.integers(40000, 70000), st.integers(0, 10**16 - 1), st.floats(-200.0, 200.0))
def test_add_seconds_is_exact_to_picoseconds(day, digits, seconds):
    text = f"{day}.{digits:016d}"
    t = SplitMJD.from_parts([day], [float("0." + f"{digits:016d}")])
    shifted = t.add_seconds(seconds)
    assert 0.0 <= shifted.frac[0] < 1.0
    exact = Decimal(text) + Decimal(seconds) / 86400
    err_s = (Decimal(shifted.to_strings()[0]) - exact) * 86400
    assert abs(err_s) < Decimal("3e-11")


def test_to_strings_carries_into_the_day():
    t = SplitMJD(np.array([50000]), np.array([1.0 - 1e-18]))
    assert t.to_strings() == ["50001.0000000000000000"]


def test_seconds_since_handles_day_boundaries():
    a = SplitMJD.from_parts([50001], [0.0])
    b = SplitMJD.from_parts([50000], [0.999])
    assert a.seconds_since(b)[0] == pytest.approx(86.4, abs=1e-10)


def test_utc_to_tt_on_a_leap_second_day_matches_astropy():
    """2016-12-31 ends with a leap second; a TOA's MJD fraction counts SI seconds / 86400 from 0h UTC."""
    from astropy.time import Time

    from jugbayes.config import configure_astropy

    configure_astropy()
    seconds = np.array([0.0, 43200.0, 86399.0, 86399.9])
    utc = SplitMJD.from_parts(np.full(4, 57753), seconds / 86400.0)
    tt = utc.add_seconds(tt_minus_utc_s(utc))
    for s, ours in zip(seconds, tt.to_strings()):
        hh, mm, ss = int(s // 3600), int(s % 3600 // 60), s % 60
        ref = Time(f"2016-12-31T{hh:02d}:{mm:02d}:{ss:06.3f}", scale="utc").tt
        ours_jd = Decimal(ours) + Decimal("2400000.5")
        ref_jd = Decimal(repr(ref.jd1)) + Decimal(repr(ref.jd2))
        assert abs(ours_jd - ref_jd) * 86400 < Decimal("1e-9"), (s, ours, ref.isot)


def test_from_parts_never_returns_a_fraction_of_one():
    """-1e-17 day normalises to (day - 1, 1 - 1e-17), which rounds to 1.0 in float64: it must carry."""
    t = SplitMJD.from_parts(np.array([50000]), np.array([-1e-17]))
    assert 0.0 <= t.frac[0] < 1.0 and t.day[0] + t.frac[0] == pytest.approx(50000.0)
