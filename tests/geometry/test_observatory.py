"""Observatory GCRS position/velocity: our ERFA chain and IERS reader against astropy, and invariants."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import split_mjd

from jugbayes.config import configure_astropy
from jugbayes.geometry.observatory import EARTH_ROTATION_RAD_S, EOPWarning, earth_orientation, site_gcrs_posvel_m
from jugbayes.geometry.sites import sites
from jugbayes.timescales.mjd import SplitMJD

GBT_XYZ = (882589.289, -4924872.368, 3943729.418)
SITES = {"gbt": GBT_XYZ, "parkes": sites()["parkes"].itrf_xyz_m, "arecibo": sites()["arecibo"].itrf_xyz_m}


@pytest.fixture(scope="module")
def tt() -> SplitMJD:
    """300 TT times, MJD 50000-61000 (1995-2025), at random times of day."""
    rng = np.random.default_rng(20240611)
    return split_mjd(np.sort(rng.uniform(50_000, 61_000, 300)))


def test_gbt_position_is_the_table_entry():
    assert sites()["gbt"].itrf_xyz_m == GBT_XYZ


@pytest.mark.parametrize("name", sorted(SITES))
def test_matches_astropy(name, tt):
    """Measured max: 0.082 m and 0.0054 mm/s (astropy takes its EOPs from IERS C04 where it has them)."""
    configure_astropy()
    import astropy.units as u
    from astropy.coordinates import EarthLocation
    from astropy.time import Time

    xyz = SITES[name]
    pos, vel = site_gcrs_posvel_m(xyz, tt)
    jd1, jd2 = tt.jd_pair()
    ref_p, ref_v = EarthLocation.from_geocentric(*xyz, unit=u.m).get_gcrs_posvel(
        Time(jd1, jd2, format="jd", scale="tt"))
    ref_p = ref_p.xyz.to_value(u.m).T
    ref_v = ref_v.xyz.to_value(u.m / u.s).T
    assert pos.shape == vel.shape == ref_p.shape == (300, 3)
    dpos = np.linalg.norm(pos - ref_p, axis=1).max()
    dvel_mm_s = np.linalg.norm(vel - ref_v, axis=1).max() * 1e3
    assert dpos < 0.15, f"{name}: max |ours - astropy| position = {dpos:.4f} m"
    assert dvel_mm_s < 0.02, f"{name}: max |ours - astropy| velocity = {dvel_mm_s:.4f} mm/s"


@pytest.mark.parametrize("name", sorted(SITES))
def test_rotation_invariants(name, tt):
    xyz = np.asarray(SITES[name])
    pos, vel = site_gcrs_posvel_m(xyz, tt)
    # A rotation keeps the length (measured 3e-9 m).
    dlen = np.abs(np.linalg.norm(pos, axis=1) - np.linalg.norm(xyz)).max()
    assert dlen < 1e-6, f"{name}: | |GCRS| - |ITRF| | up to {dlen:.3g} m"
    # Rotation about the pole: v = omega x r, so v is perpendicular to r and |v| = omega * (distance from the
    # axis); polar motion (< 1 arcsec) moves that distance by ~1e-6 of itself.
    speed = np.linalg.norm(vel, axis=1)
    expected = EARTH_ROTATION_RAD_S * np.hypot(xyz[0], xyz[1])
    rel = np.abs(speed / expected - 1).max()
    assert rel < 1e-5, f"{name}: |v| / (omega * hypot(x, y)) - 1 up to {rel:.3g}"
    cos = np.einsum("ni,ni->n", pos, vel) / (np.linalg.norm(pos, axis=1) * speed)
    assert np.abs(cos).max() < 1e-12
    # The spin axis stays within ~0.1 deg of GCRS z over 1995-2025 (precession ~20"/yr), so v_z is small,
    # but not zero: the axis has precessed.
    assert np.abs(vel[:, 2]).max() < 0.005 * speed.max()
    assert np.abs(vel[:, 2]).max() > 1e-4 * speed.max()


def test_velocity_is_derivative_of_position():
    """Central difference over +-1 s vs the returned velocity (the ERA rate, in m/s).

    Measured 4e-5 m/s: the velocity leaves out precession-nutation (~50"/yr ~ 8e-12 rad/s * 6400 km), as
    astropy's does; a wrong rate or unit would be off by metres per second.
    """
    xyz = SITES["parkes"]
    tt = split_mjd(np.linspace(53_000.1, 58_000.9, 50))
    _, vel = site_gcrs_posvel_m(xyz, tt)
    plus, _ = site_gcrs_posvel_m(xyz, tt.add_seconds(1.0))
    minus, _ = site_gcrs_posvel_m(xyz, tt.add_seconds(-1.0))
    worst = np.abs((plus - minus) / 2.0 - vel).max()
    assert worst < 1e-4, f"max |finite difference - velocity| = {worst:.3g} m/s"


def test_geocentre_and_empty():
    pos, vel = site_gcrs_posvel_m(None, split_mjd([55_000.25, 56_000.5]))
    assert pos.shape == vel.shape == (2, 3)
    assert not pos.any() and not vel.any()
    empty = SplitMJD(np.zeros(0, dtype=np.int64), np.zeros(0))
    for xyz in (None, GBT_XYZ):
        pos, vel = site_gcrs_posvel_m(xyz, empty)
        assert pos.shape == vel.shape == (0, 3)


def test_iers_table():
    eop = earth_orientation()
    assert eop.mjd[0] <= 50_000 and eop.mjd[-1] >= 61_000
    assert np.all(np.diff(eop.mjd) == 1.0)
    # UT1 - TAI has no leap-second steps (1 s): day-to-day changes are the length-of-day excess, < 10 ms.
    assert np.abs(np.diff(eop.ut1_minus_tai_s)).max() < 0.01
    assert -40 < eop.ut1_minus_tai_s.min() and eop.ut1_minus_tai_s.max() < 0
    assert np.abs(eop.xp_arcsec).max() < 1 and np.abs(eop.yp_arcsec).max() < 1


def test_no_warning_inside_the_table(tt):
    with warnings.catch_warnings():
        warnings.simplefilter("error", EOPWarning)
        site_gcrs_posvel_m(GBT_XYZ, tt)


def test_times_past_the_table_warn():
    end = earth_orientation().mjd[-1]
    times = split_mjd([55_000.3, 70_000.0])
    with pytest.warns(EOPWarning, match=r"1 times after MJD"):
        pos, vel = site_gcrs_posvel_m(GBT_XYZ, times)
    assert end < 70_000
    assert np.isfinite(pos).all() and np.isfinite(vel).all()
    assert abs(np.linalg.norm(pos[1]) - np.linalg.norm(GBT_XYZ)) < 1e-6
