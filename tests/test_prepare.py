"""Prepared TOAs against the peers: TEMPO2's testtimes columns and PINT's per-TOA delays."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS, ROOT, pint_residual_rows

from jugbayes.constants import C_KM_S, T_SUN_S
from jugbayes.model.astrometry import astrometry_from_par, roemer_delay_s, shapiro_delay_s

TESTTIMES = "testtimes/testtimes.par|testtimes/testtimes.tim"


def _tempo2_columns(path):
    lines = open(path).read().split("\n")
    header = lines[0].split()
    rows = [line.split() for line in lines[1:] if line.strip()]
    return header, rows


@pytest.fixture(scope="module")
def t2():
    header, rows = _tempo2_columns(DATASETS / "testtimes" / "testtimes.par.tempo2_test")
    values = np.array([[float(v) for v in r] for r in rows])
    return {name: values[:, i] for i, name in enumerate(header)} | {"Ttt_text": [r[-1] for r in rows]}


def _vec(t2, prefix):
    return np.stack([t2[f"{prefix}{i}"] for i in range(3)], axis=1)


def test_testtimes_clock_correction_matches_tempo2_with_its_gps_series(prepared, t2):
    """Site -> UTC (TEMPO2's oclk + GPS->UTC) within 0.1 ns when the same GPS->UTC series is used."""
    _, prep = prepared(TESTTIMES, gps_file="gps2utc_tempo2.clk")
    diff_ns = (prep.clock.observatory_to_utc_s - t2["oclk"] - t2["ut1_utc"]) * 1e9  # column 2 is GPS->UTC
    assert np.abs(diff_ns).max() < 0.1, diff_ns
    total_ns = (prep.clock.total_s - t2["ttcorr"]) * 1e9
    assert np.abs(total_ns).max() < 0.1, total_ns


def test_testtimes_default_gps_series_differs_only_where_revised(prepared, t2):
    """With PINT's gps2utc.clk (revised since TEMPO2's run), two TOAs move by ~0.5 ns; the rest agree to 0.1 ns."""
    _, prep = prepared(TESTTIMES)
    diff_ns = np.abs(prep.clock.total_s - t2["ttcorr"]) * 1e9
    assert np.sort(diff_ns)[-3] < 0.1 and diff_ns.max() < 0.6, diff_ns


def test_testtimes_tt_matches_tempo2(prepared, t2):
    _, prep = prepared(TESTTIMES, gps_file="gps2utc_tempo2.clk")
    ours = [Decimal(s) for s in prep.tt.to_strings()]
    diff_ns = [float((a - Decimal(b)) * 86400 * 10**9) for a, b in zip(ours, t2["Ttt_text"])]
    assert max(map(abs, diff_ns)) < 0.5, diff_ns  # TEMPO2 printed Ttt to ~0.09 ns


def test_testtimes_tdb_matches_tempo2_by_if99(prepared, t2):
    """UTC -> TDB against testtimes' TEMPO2 column: testtimes.par names no TIMEEPH, so TEMPO2 used IF99
    (TIMEEPH_short.te405), and so does jugbayes when it finds the file (here beside the JPL kernel)."""
    _, prep = prepared(TESTTIMES, gps_file="gps2utc_tempo2.clk")
    assert prep.timeeph == "IF99"
    diff_ns = (prep.tdb.seconds_since(prep.utc) - t2["tt2tb"]) * 1e9
    assert np.abs(diff_ns).max() < 1.0, diff_ns


def test_testtimes_fb90_reading_is_60_ns_from_tempo2s_if99(prepared, t2):
    """PINT's reading (FB90 whatever the .par says): ~60 ns from TEMPO2's IF99, near-constant.  Where a .par
    says TIMEEPH FB90 (J1744-1134) TEMPO2 and jugbayes agree within 1 ns."""
    _, prep = prepared(TESTTIMES, gps_file="gps2utc_tempo2.clk", timeeph="FB90")
    diff_ns = (prep.tdb.seconds_since(prep.utc) - t2["tt2tb"]) * 1e9
    assert 55 < diff_ns.mean() < 65, diff_ns
    assert np.abs(diff_ns - diff_ns.mean()).max() < 2.0, diff_ns


def test_j1744_tdb_matches_tempo2(prepared):
    header, rows = _tempo2_columns(DATASETS / "J1744-1134" / "J1744-1134.basic.par.tempo2_test")
    tt2tb = np.array([float(r[header.index("tt2tb")]) for r in rows])
    _, prep = prepared("J1744-1134")
    diff_ns = (prep.tdb.seconds_since(prep.tt) - tt2tb) * 1e9
    assert np.abs(diff_ns).max() < 1.0, np.abs(diff_ns).max()


def test_testtimes_site_positions_match_tempo2(prepared, t2):
    """SSB -> site within 2 m at GBT; Arecibo rows differ by ~33 m (TEMPO2's older Arecibo coordinates)."""
    par, prep = prepared(TESTTIMES)
    err_m = np.linalg.norm(prep.ssb_obs_pos_ls - (_vec(t2, "ep") + _vec(t2, "tp")), axis=1) * C_KM_S * 1e3
    gbt = np.asarray(prep.toas.obs) == "gbt"
    assert gbt.sum() == 4 and err_m[gbt].max() < 2.0, err_m
    assert np.all((err_m[~gbt] > 30) & (err_m[~gbt] < 36)), err_m
    vel_err_mm_s = np.linalg.norm(prep.ssb_obs_vel_c - (_vec(t2, "ev") + _vec(t2, "tv")), axis=1) * C_KM_S * 1e6
    assert vel_err_mm_s[gbt].max() < 0.1, vel_err_mm_s


def test_testtimes_earth_position_matches_tempo2(prepared, t2):
    _, prep = prepared(TESTTIMES)
    from jugbayes.geometry.ephemeris import load_ephemeris
    from conftest import EPHEM_DIR

    earth_km, _ = load_ephemeris("DE421", EPHEM_DIR / "de421.bsp").posvel_km("earth", prep.tdb)
    err_m = np.linalg.norm(earth_km / C_KM_S - _vec(t2, "ep"), axis=1) * C_KM_S * 1e3
    assert err_m.max() < 0.01, err_m


def _pint_delays(name):
    rows = pint_residual_rows(DATASETS / PINT_DATASETS[name][1])
    key = next(k for k in rows[0] if k.startswith("delay_Astrometry"))
    return (np.array([float(r[key]) for r in rows]), np.array([float(r["delay_SolarSystemShapiro"]) for r in rows]))


# NGC6440E says CLK UTC(NIST): jugbayes follows TEMPO (UTC, then TT(TAI)); PINT uses TT(BIPM2023) instead,
# a 27 us later TDB that moves the Roemer delay by up to ~3 ns.  Compare like with like.
_PINT_CLK = {"NGC6440E": "TT(BIPM2023)"}


@pytest.mark.parametrize("name", ["J1744-1134", "J0613-0200_dfg12", "B1855+09_dfg12", "NGC6440E",
                                  "B1855+09_9yv1", "J1713+0747"])
def test_roemer_and_solar_shapiro_match_pint(prepared, name):
    par, prep = prepared(name, clk=_PINT_CLK.get(name))
    astro = astrometry_from_par(par)
    n_hat = astro.direction(prep.tdb.as_float())
    roemer = np.asarray(roemer_delay_s(prep.ssb_obs_pos_ls, n_hat, astro.px_rad))
    shapiro = np.asarray(shapiro_delay_s(prep.obs_sun_pos_ls, n_hat, T_SUN_S))
    pint_roemer, pint_shapiro = _pint_delays(name)
    assert len(roemer) == len(pint_roemer)
    assert np.abs(roemer - pint_roemer).max() < 1e-9, np.abs(roemer - pint_roemer).max()
    assert np.abs(shapiro - pint_shapiro).max() < 1e-9, np.abs(shapiro - pint_shapiro).max()


def test_utc_nist_follows_tempo_not_pint(prepared):
    """Without the override, UTC(NIST) gives TT(TAI): ~27 us earlier TDB than PINT's TT(BIPM2023)."""
    _, ours = prepared("NGC6440E")
    _, pintlike = prepared("NGC6440E", clk="TT(BIPM2023)")
    shift_us = pintlike.tdb.seconds_since(ours.tdb) * 1e6
    assert np.all((shift_us > 26.5) & (shift_us < 28.0)), shift_us


def test_bipm_standard_adds_tt_bipm_minus_tai(prepared):
    """B1855+09_9yv1 says TT(BIPM2019): TT(BIPM2019) - TT(TAI) is 26.7-27.7 us over 2004-2013."""
    par, prep = prepared("B1855+09_9yv1")
    assert prep.standard.name == "TT(BIPM2019)" and prep.standard.bipm_version == "2019"
    _, tai = prepared("B1855+09_9yv1", clk="TT(TAI)")
    delta_us = prep.tt.seconds_since(tai.tt) * 1e6
    assert np.all((delta_us > 26.5) & (delta_us < 28.0)), (delta_us.min(), delta_us.max())


def test_pint_tdb_agrees_at_float_resolution(prepared):
    """PINT's tdb_mjd column is float64 (~0.6 us at these MJDs); ours agrees to that resolution."""
    _, prep = prepared("B1855+09_9yv1")
    rows = pint_residual_rows(DATASETS / PINT_DATASETS["B1855+09_9yv1"][1])
    pint_tdb = np.array([float(r["tdb_mjd"]) for r in rows])
    assert np.abs((prep.tdb.as_float() - pint_tdb) * 86400e6).max() < 1.0


def test_planet_positions_when_asked(load_par, load_tim):
    from conftest import CLOCK_DIR, EPHEM_DIR

    from jugbayes.constants import AU_LS
    from jugbayes.prepare import PLANETS, prepare_toas

    par_rel, tim_rel = PINT_DATASETS["NGC6440E"]
    par, toas = load_par(str(DATASETS / par_rel)), load_tim(str(DATASETS / tim_rel))
    prep = prepare_toas(par, toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", planets=True)
    assert set(prep.obs_planet_pos_ls) == set(PLANETS)
    jupiter_au = np.linalg.norm(prep.obs_planet_pos_ls["jupiter"], axis=1) / AU_LS
    assert np.all((jupiter_au > 3.9) & (jupiter_au < 6.5))
    sun_au = np.linalg.norm(prep.obs_sun_pos_ls, axis=1) / AU_LS
    assert np.all((sun_au > 0.98) & (sun_au < 1.02))
    assert prepare_toas(par, toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp").obs_planet_pos_ls == {}


def test_timeeph_follows_tempo2_and_says_so(tmp_path, load_tim):
    import warnings as _w

    from conftest import CLOCK_DIR, EPHEM_DIR

    from jugbayes.errors import InputError
    from jugbayes.io import read_par
    from jugbayes.prepare import TimeEphemerisWarning, prepare_toas
    from jugbayes.timescales.timeeph import TimeEphemerisError

    text = (DATASETS / "testtimes" / "testtimes.par").read_text()
    toas = load_tim(str(DATASETS / "testtimes" / "testtimes.tim"))
    lonely = tmp_path / "kernels" / "de421.bsp"  # a kernel with no IF99 file beside it
    lonely.parent.mkdir()
    lonely.symlink_to(EPHEM_DIR / "de421.bsp")

    def run(line: str, kernel=EPHEM_DIR / "de421.bsp"):
        par_path = tmp_path / "t.par"
        par_path.write_text(text + line)
        with _w.catch_warnings(record=True) as record:
            _w.simplefilter("always")
            prep = prepare_toas(read_par(par_path, warn=False), toas, clock_dir=CLOCK_DIR, ephem_file=kernel)
        return prep.timeeph, [str(w.message) for w in record if issubclass(w.category, TimeEphemerisWarning)]

    assert run("TIMEEPH IF99\n") == ("IF99", [])
    assert run("TIMEEPH FB90\n") == ("FB90", [])
    assert run("TIMEEPH FB90\n", lonely) == ("FB90", [])
    used, said = run("")
    assert used == "IF99" and len(said) == 1 and "no TIMEEPH" in said[0] and "TIMEEPH_short.te405" in said[0]
    used, said = run("", lonely)
    assert used == "FB90" and len(said) == 1 and "no IF99 file" in said[0] and str(lonely.parent) in said[0]
    with pytest.raises(TimeEphemerisError, match=r"t\.par:\d+: TIMEEPH IF99 needs"):
        run("TIMEEPH IF99\n", lonely)
    with pytest.raises(InputError, match=r"t\.par:\d+: TIMEEPH 'TE200' is not a time ephemeris"):
        run("TIMEEPH TE200\n")


@pytest.mark.parametrize("clk_line", ["", "CLK UTC(NIST)\n", "CLK TT(BIPM2019)\n"])
def test_time_standard_is_said_once_where_tempo2_and_pint_differ(tmp_path, clk_line):
    """No CLK, or UTC(NIST): TT(TAI) as TEMPO2 reads it, said once; an explicit TT(BIPM) or --clk: nothing."""
    import warnings

    from jugbayes.io import read_par, read_tim
    from jugbayes.prepare import TimeStandardWarning, prepare_toas

    src = ROOT / "models" / "isolated_msp"
    par = tmp_path / "p.par"
    par.write_text("".join(ln + "\n" for ln in (src / "isolated_msp.par").read_text().splitlines()
                           if not ln.startswith("CLK")) + clk_line)
    toas = read_tim(src / "isolated_msp.tim")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_toas(read_par(par, warn=False), toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
        prepare_toas(read_par(par, warn=False), toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp",
                     clk="TT(BIPM2023)")
    said = [str(w.message) for w in caught if w.category is TimeStandardWarning]
    if "BIPM" in clk_line:
        assert said == []
    else:
        assert len(said) == 1 and "TT(TAI) as TEMPO and TEMPO2 read it" in said[0] and "--clk" in said[0]
        assert ("p.par:" in said[0]) and (("UTC(NIST)" in said[0]) == bool(clk_line))
