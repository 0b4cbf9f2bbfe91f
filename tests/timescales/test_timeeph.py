"""The IF99 (TE405) time-ephemeris reader: layout, continuity of the series, coverage and bad files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EPHEM_DIR, split_mjd

from jugbayes.timescales.timeeph import TimeEphemerisError, read_time_ephemeris

TE405 = str(EPHEM_DIR / "TIMEEPH_short.te405")


def test_layout_of_tempo2s_short_file():
    teph = read_time_ephemeris(TE405)
    assert teph.start_mjd == 38736.0 and teph.step_d == 32.0 and teph.n_sub == 8
    assert teph.coeffs.shape == (971, 8, 7)  # 971 records of 32 days: MJD 38736-69808


def test_series_is_continuous_across_sub_intervals_and_records():
    teph = read_time_ephemeris(TE405)
    edges = teph.start_mjd + 4.0 * np.arange(1, 400)  # 4-day sub-intervals, 50 records
    before = teph.delta_t_d(split_mjd(edges - 1e-9))
    after = teph.delta_t_d(split_mjd(edges))
    assert np.abs(before - after).max() * 86400 < 1e-11  # seconds
    year = teph.delta_t_d(split_mjd(np.linspace(55000, 55365, 200))) * 86400
    assert 1.6e-3 < np.ptp(year) / 2 < 1.75e-3  # TT - TDB's annual term, 1.66 ms


def test_times_outside_the_file_are_an_error():
    teph = read_time_ephemeris(TE405)
    with pytest.raises(TimeEphemerisError, match=r"TT MJD 30000\.0-30000\.0 is outside the time ephemeris"):
        teph.delta_t_d(split_mjd([30000.0]))


def test_not_a_te405_file(tmp_path):
    bad = tmp_path / "bad.te405"
    bad.write_bytes(b"x" * 5000)
    with pytest.raises(TimeEphemerisError, match="bad.te405: not a TE405"):
        read_time_ephemeris(str(bad))
