"""JPL ephemerides: SPK kernels vs the PyPI package, velocities, Earth-Moon geometry, where kernels come from."""

from __future__ import annotations

import filecmp
import http.server
import shutil

import de421
import numpy as np
import pytest

from conftest import DATASET_TIMS, EPHEM_DIR, split_mjd
from localhttp import directory_handler, serving
from jugbayes.cli import EXIT_INPUT_ERROR, main
from jugbayes.geometry.ephemeris import (EphemerisError, PackageEphemeris, SPKEphemeris, download_ephemeris,
                                         ephem_cache_dir, load_ephemeris)
from jugbayes.io import read_tim
from jugbayes.timescales.mjd import SplitMJD

DE421_BSP = EPHEM_DIR / "de421.bsp"
DE405_BSP = EPHEM_DIR / "de405.bsp"


@pytest.fixture(scope="module")
def data_span_tdb() -> SplitMJD:
    """200 times from the earliest to the latest TOA of all the shared data sets."""
    lo, hi = np.inf, -np.inf
    for tim in DATASET_TIMS:
        toas = read_tim(tim)
        mjd = toas.mjd_int + toas.mjd_frac
        lo, hi = min(lo, mjd.min()), max(hi, mjd.max())
    assert 52000 < lo < 54000 < 56000 < hi < 58000  # the NANOGrav sets span 2002-2013
    return split_mjd(np.linspace(lo, hi, 200))


@pytest.fixture(scope="module")
def spk421():
    eph = SPKEphemeris(DE421_BSP)
    yield eph
    eph.close()


@pytest.fixture(scope="module")
def spk405():
    eph = SPKEphemeris(DE405_BSP)
    yield eph
    eph.close()


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("body", ["earth", "sun", "moon", "jupiter"])
def test_spk_kernel_matches_pypi_package(spk421, data_span_tdb, body):
    """Acceptance: de421.bsp via jplephem.spk and the de421 package agree to < 1 m over the data's span."""
    pkg = PackageEphemeris(de421)
    p_spk, v_spk = spk421.posvel_km(body, data_span_tdb)
    p_pkg, v_pkg = pkg.posvel_km(body, data_span_tdb)
    assert p_spk.shape == p_pkg.shape == (200, 3)
    dpos_m = np.linalg.norm(p_spk - p_pkg, axis=1).max() * 1e3
    dvel_mm_s = np.linalg.norm(v_spk - v_pkg, axis=1).max() * 1e6
    assert dpos_m < 1.0, f"{body}: max |SPK - package| position = {dpos_m:.3g} m"
    assert dvel_mm_s < 0.01, f"{body}: max |SPK - package| velocity = {dvel_mm_s:.3g} mm/s"  # measured 1e-8 mm/s


@pytest.mark.parametrize("body", ["earth", "sun", "moon", "jupiter"])
def test_spk_velocity_is_derivative_of_position(spk421, data_span_tdb, body):
    """Central difference over +-60 s vs the returned velocity (km/s, not km/day).

    Measured max difference: 8.5e-10 km/s (Earth), 6.2e-9 km/s (Moon): the truncation term
    h^2 |d3x/dt3| / 6 plus float rounding of ~1e8 km positions.
    """
    h = 60.0
    _, vel = spk421.posvel_km(body, data_span_tdb)
    plus, _ = spk421.posvel_km(body, data_span_tdb.add_seconds(h))
    minus, _ = spk421.posvel_km(body, data_span_tdb.add_seconds(-h))
    fd = (plus - minus) / (2 * h)
    worst = np.abs(fd - vel).max()
    assert worst < 2e-8, f"{body}: max |finite difference - velocity| = {worst:.3g} km/s"


def test_earth_speed(spk421, data_span_tdb):
    speed = np.linalg.norm(spk421.posvel_km("earth", data_span_tdb)[1], axis=1)
    assert 29.0 < speed.min() < 29.5 and 30.1 < speed.max() < 31.0, (speed.min(), speed.max())
    dist_au = np.linalg.norm(spk421.posvel_km("earth", data_span_tdb)[0], axis=1) / 1.495978707e8
    assert 0.97 < dist_au.min() and dist_au.max() < 1.03


def test_earth_and_moon_through_the_earth_moon_barycentre(spk421, data_span_tdb):
    jd1, jd2 = data_span_tdb.jd_pair()
    kernel = spk421._kernel
    emb = kernel[0, 3].compute(jd1, jd2).T
    earth_raw = emb + kernel[3, 399].compute(jd1, jd2).T
    moon_raw = emb + kernel[3, 301].compute(jd1, jd2).T
    earth, _ = spk421.posvel_km("earth", data_span_tdb)
    moon, _ = spk421.posvel_km("moon", data_span_tdb)
    np.testing.assert_allclose(earth, earth_raw, rtol=0, atol=1e-6)  # km
    np.testing.assert_allclose(moon, moon_raw, rtol=0, atol=1e-6)
    to_earth, to_moon = earth - emb, moon - emb
    cos = np.einsum("ni,ni->n", to_earth, to_moon) / (
        np.linalg.norm(to_earth, axis=1) * np.linalg.norm(to_moon, axis=1))
    assert np.all(cos < -1 + 1e-12), "Earth and Moon must lie on opposite sides of the EMB"
    # The barycentre splits the separation in the Moon/Earth mass ratio (DE421 EMRAT = 81.30057).
    ratio = np.linalg.norm(to_moon, axis=1) / np.linalg.norm(to_earth, axis=1)
    np.testing.assert_allclose(ratio, 81.30057, rtol=1e-6)
    sep = np.linalg.norm(earth - moon, axis=1)
    assert 356_000 < sep.min() and sep.max() < 407_000, (sep.min(), sep.max())
    assert sep.max() - sep.min() > 30_000  # 200 samples see both perigee and apogee


def test_package_earth_moonsplit_mjd(data_span_tdb):
    """The package stores EMB and geocentric Moon; the Earth/Moon split must use EMRAT the right way round."""
    pkg = PackageEphemeris(de421)
    earth, _ = pkg.posvel_km("earth", data_span_tdb)
    moon, _ = pkg.posvel_km("moon", data_span_tdb)
    emb, _ = pkg._posvel("earthmoon", *data_span_tdb.jd_pair())
    ratio = np.linalg.norm(moon - emb.T, axis=1) / np.linalg.norm(earth - emb.T, axis=1)
    np.testing.assert_allclose(ratio, 81.30057, rtol=1e-6)


def test_de405_and_de421_differ_slightly(spk405, spk421, data_span_tdb):
    p405, _ = spk405.posvel_km("earth", data_span_tdb)
    p421, _ = spk421.posvel_km("earth", data_span_tdb)
    diff = np.linalg.norm(p405 - p421, axis=1)
    assert diff.max() < 5.0, f"DE405 vs DE421 Earth: max {diff.max():.3f} km"  # measured 1.64 km
    assert diff.min() > 0.05, f"DE405 vs DE421 Earth: min {diff.min():.3f} km; the two files look identical"


@pytest.mark.parametrize("mjd", [10_000.0, 200_000.0])
def test_times_outside_the_kernel_are_clean_errors(spk421, mjd):
    tdb = split_mjd([55_000.0, mjd])
    with pytest.raises(EphemerisError, match="covers"):
        spk421.posvel_km("earth", tdb)
    with pytest.raises(EphemerisError, match="covers"):
        PackageEphemeris(de421).posvel_km("earth", tdb)
    with pytest.raises(EphemerisError, match="covers"):
        load_ephemeris("DE421", DE421_BSP).posvel_km("sun", tdb)


# ---------------------------------------------------------------- where kernels come from


def test_ephem_file_wins_over_the_ephem_dir(tmp_path, monkeypatch):
    """--ephem-file beats $JUGBAYES_EPHEM_DIR (here holding DE405 under the name de421.bsp)."""
    (tmp_path / "de421.bsp").symlink_to(DE405_BSP)
    monkeypatch.setenv("JUGBAYES_EPHEM_DIR", str(tmp_path))
    from_dir = load_ephemeris("DE421")
    from_file = load_ephemeris("DE421", ephem_file=DE421_BSP)
    assert isinstance(from_file, SPKEphemeris) and from_file.path == DE421_BSP.resolve()
    assert isinstance(from_dir, SPKEphemeris) and from_dir.path == DE405_BSP.resolve()
    tdb = split_mjd([55_000.5])
    gap_km = np.linalg.norm(from_dir.posvel_km("earth", tdb)[0] - from_file.posvel_km("earth", tdb)[0])
    from_dir.close()  # cached under (de405.bsp, "de421"), which only this test uses
    assert gap_km > 0.05


@pytest.mark.parametrize("name", ["DE421", "de421", " De421 "])
def test_ephem_dir_is_found_case_insensitively(tmp_path, monkeypatch, name):
    eph_dir, cache = tmp_path / "eph", tmp_path / "cache"
    eph_dir.mkdir()
    shutil.copyfile(DE421_BSP, eph_dir / "de421.bsp")
    (cache / "ephem").mkdir(parents=True)
    (cache / "ephem" / "de421.bsp").symlink_to(DE405_BSP)  # the cache comes after $JUGBAYES_EPHEM_DIR
    monkeypatch.setenv("JUGBAYES_EPHEM_DIR", str(eph_dir))
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(cache))
    eph = load_ephemeris(name)
    assert isinstance(eph, SPKEphemeris)
    eph.close()  # load_ephemeris caches open kernels; this one is in tmp_path, used by this test only
    assert eph.path == (eph_dir / "de421.bsp").resolve()
    assert eph.name == "de421"


def test_download_cache_is_used_without_ephem_dir(tmp_path, monkeypatch):
    (tmp_path / "ephem").mkdir()
    (tmp_path / "ephem" / "de421.bsp").symlink_to(DE421_BSP)
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path))
    eph = load_ephemeris("DE421")
    assert isinstance(eph, SPKEphemeris) and eph.path == DE421_BSP.resolve()


def test_falls_back_to_the_pypi_package(tmp_path, monkeypatch):
    monkeypatch.delenv("JUGBAYES_EPHEM_DIR", raising=False)
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path))
    eph = load_ephemeris("DE421")
    assert isinstance(eph, PackageEphemeris)
    assert eph.name == "de421"
    pos, _ = eph.posvel_km("earth", split_mjd([55_000.5]))
    assert 0.97 < np.linalg.norm(pos) / 1.495978707e8 < 1.03


def test_unknown_ephemeris_names_the_places_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("JUGBAYES_EPHEM_DIR", str(tmp_path / "eph"))
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(EphemerisError) as info:
        load_ephemeris("DE999")
    msg = str(info.value)
    assert "DE999" in msg
    assert str(tmp_path / "eph" / "de999.bsp") in msg
    assert str(tmp_path / "cache" / "ephem" / "de999.bsp") in msg
    assert "PyPI package de999" in msg
    assert "jugbayes ephem download DE999" in msg


@pytest.mark.parametrize("name", ["FOO", "", "421", "de42"])
def test_bad_names_are_clean_errors(name):
    with pytest.raises(EphemerisError, match="not a JPL development ephemeris name"):
        load_ephemeris(name)


def test_ephem_file_that_is_not_spk(tmp_path):
    text = tmp_path / "notes.bsp"
    text.write_text("this is not a kernel\n" * 100)
    with pytest.raises(EphemerisError, match="not a readable JPL SPK kernel"):
        load_ephemeris("DE421", ephem_file=text)
    empty = tmp_path / "empty.bsp"
    empty.write_bytes(b"")
    with pytest.raises(EphemerisError, match="not a readable JPL SPK kernel"):
        load_ephemeris("DE421", ephem_file=empty)
    with pytest.raises(EphemerisError, match="no such file"):
        load_ephemeris("DE421", ephem_file=tmp_path / "missing.bsp")


def test_truncated_kernel_is_a_clean_error(tmp_path):
    """jplephem reads segments lazily; a cut-off kernel must be refused when opened, not fail later."""
    cut = tmp_path / "cut.bsp"
    cut.write_bytes(DE421_BSP.read_bytes()[:8192])
    with pytest.raises(EphemerisError, match="truncated"):
        load_ephemeris("DE421", ephem_file=cut)


# ---------------------------------------------------------------- downloads


@pytest.fixture(scope="module")
def ephem_url(tmp_path_factory):
    """A local server with de421.bsp (the shared kernel) and de440.bsp (text, not a kernel); no de430.bsp."""
    root = tmp_path_factory.mktemp("served")
    (root / "de421.bsp").symlink_to(DE421_BSP)
    (root / "de440.bsp").write_text("<html>not found</html>\n")
    with serving(directory_handler(root)) as url:
        yield url


def test_download_into_cache_then_found(ephem_url, tmp_path, monkeypatch):
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path))
    assert ephem_cache_dir() == tmp_path / "ephem"
    path = download_ephemeris("DE421", url=ephem_url, dest=ephem_cache_dir())
    assert path == tmp_path / "ephem" / "de421.bsp"
    assert filecmp.cmp(path, DE421_BSP, shallow=False)
    assert sorted(p.name for p in (tmp_path / "ephem").iterdir()) == ["de421.bsp"]  # no .part left
    eph = load_ephemeris("DE421")
    assert isinstance(eph, SPKEphemeris) and eph.path == path.resolve()
    eph.close()


def test_download_default_dest_is_the_cache(ephem_url, tmp_path, monkeypatch):
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path / "c"))
    path = download_ephemeris("de421", url=ephem_url.rstrip("/"))
    assert path == tmp_path / "c" / "ephem" / "de421.bsp"
    assert filecmp.cmp(path, DE421_BSP, shallow=False)


def test_download_404_is_clean_and_leaves_nothing(ephem_url, tmp_path):
    with pytest.raises(EphemerisError, match=r"could not download .*de430\.bsp.*404"):
        download_ephemeris("DE430", url=ephem_url, dest=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_of_a_non_kernel_is_refused(ephem_url, tmp_path):
    with pytest.raises(EphemerisError, match="not a readable JPL SPK kernel"):
        download_ephemeris("DE440", url=ephem_url, dest=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_bad_name_fetches_nothing(tmp_path):
    with pytest.raises(EphemerisError, match="not a JPL development ephemeris name"):
        download_ephemeris("../etc", url="http://127.0.0.1:9/", dest=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_ephem_download(ephem_url, tmp_path, capsys):
    assert main(["ephem", "download", "DE421", "--url", ephem_url, "--dest", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "de421.bsp"
    assert str(target) in out
    assert filecmp.cmp(target, DE421_BSP, shallow=False)


def test_cli_ephem_download_404(ephem_url, tmp_path, capsys):
    assert main(["ephem", "download", "DE430", "--url", ephem_url, "--dest", str(tmp_path)]) == EXIT_INPUT_ERROR
    err = capsys.readouterr().err
    assert "could not download" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises the whole de421.bsp (Content-Length) and hangs up after its first 200 kB."""

    def do_GET(self):  # noqa: N802
        size = DE421_BSP.stat().st_size
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with DE421_BSP.open("rb") as fh:
            self.wfile.write(fh.read(200_000))
        self.close_connection = True

    def log_message(self, *args):  # noqa: ARG002
        pass


def test_interrupted_download_installs_nothing(tmp_path):
    with serving(_TruncatingHandler) as url, pytest.raises(EphemerisError):
        download_ephemeris("DE421", url=url, dest=tmp_path)
    assert list(tmp_path.iterdir()) == []
