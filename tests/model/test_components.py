"""Timing-model components added for issue 4 through ``build_model``: troposphere, DDGR, DMJUMP, ``-pn`` pulse numbers.

Reference values marked "PINT" were computed with PINT 1.1.8 for these tests (offline against ../shared, the
same .par edits as here): ``delay_TroposphereDelay`` and ``delay_BinaryDDGR`` as the difference of
``TimingModel.delay`` up to and before the component, and residuals from ``Residuals(subtract_mean=False)``.
"""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal, localcontext
from math import factorial

import jax
import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PARFILES

from jugbayes.constants import C_M_S
from jugbayes.errors import InputError
from jugbayes.io import read_par, read_tim
from jugbayes.model import troposphere
from jugbayes.model.dispersion import DMJumpWarning, dm_jump_offsets
from jugbayes.model.spin import PulseNumberWarning
from jugbayes.model.timing_model import build_model, delays_s

NS = 1e-9
_KW = dict(clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")


def _edited_par(tmp_path, source, replace: dict[str, str] = {}, add: str = "", name="edited.par"):  # noqa: B006
    """A copy of a .par with whole lines replaced by keyword (``{"F0": "F0 61.4"}``) and lines added."""
    lines = []
    for line in open(source).read().splitlines():
        key = line.split()[0] if line.split() else ""
        if key in replace:
            if replace[key]:
                lines.append(replace[key])
        else:
            lines.append(line)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n" + add)
    return read_par(path, warn=False)


# ---------------------------------------------------------------- troposphere

J1744 = DATASETS / "J1744-1134"
# PINT's delay_TroposphereDelay for J1744-1134.basic.par with CORRECT_TROPOSPHERE Y (GBT; elevations 5.1-40 deg).
_J1744_TROPO_PINT = {
    0: 1.0958899565594038e-08, 58: 6.946476194258366e-08, 209: 1.0853398180188378e-08, 418: 1.668689719735994e-08,
    627: 1.6686684034539212e-08, 836: 1.7853039935289416e-08, 990: 1.0848225429072045e-08,
    1045: 1.6159020788109046e-08, 1254: 1.9902298475926727e-08,
}
# A southern pulsar at Parkes over one day and half a year later: Niell's southern season, and the pulsar
# below the horizon at two TOAs (no delay, as PINT).
_SOUTH_PAR = """PSRJ J0437-4715
RAJ 04:37:15.8961737
DECJ -47:15:09.110714
F0 173.687946184
PEPOCH 55000
DM 2.64476
EPHEM DE421
CLK TT(TAI)
CORRECT_TROPOSPHERE Y
"""
_SOUTH_MJDS = ["55000.0", "55000.125", "55000.25", "55000.375", "55000.5", "55000.625", "55000.75", "55000.875",
               "55180.3", "55180.6"]
_SOUTH_TROPO_PINT = [7.713566674283356e-09, 8.226436420954997e-09, 1.347967781839543e-08, 6.134655450296123e-08,
                     0.0, 0.0, 2.7537140567801544e-08, 1.0550508022788563e-08, 1.7811657926358748e-08,
                     7.82080178396427e-09]


def test_troposphere_matches_pint_at_gbt(tmp_path):
    par = _edited_par(tmp_path, J1744 / "J1744-1134.basic.par", {"CORRECT_TROPOSPHERE": "CORRECT_TROPOSPHERE Y"})
    model = build_model(par, read_tim(J1744 / "J1744-1134.Rcvr1_2.GASP.8y.x.tim"), **_KW)
    assert model.structure.troposphere
    ours = np.asarray(model.residuals()["delay_troposphere_s"])
    idx = list(_J1744_TROPO_PINT)
    diff = np.abs(ours[idx] - np.array(list(_J1744_TROPO_PINT.values())))
    assert diff.max() < 0.1 * NS, diff.max() / NS
    assert np.all(ours > 7e-9) and ours.max() > 6e-8  # GBT zenith delay ~7.7 ns, 9x at 5 deg


@pytest.mark.filterwarnings("ignore:.*clock")  # no Parkes clock files in ../shared: the delay does not need them
def test_troposphere_matches_pint_in_the_south_and_below_the_horizon(tmp_path):
    (tmp_path / "s.par").write_text(_SOUTH_PAR)
    toa_lines = "".join(f"t{i} 1400.0 {m} 1.0 pks\n" for i, m in enumerate(_SOUTH_MJDS))
    (tmp_path / "s.tim").write_text("FORMAT 1\n" + toa_lines)
    model = build_model(read_par(tmp_path / "s.par"), read_tim(tmp_path / "s.tim"), **_KW)
    ours = np.asarray(model.residuals()["delay_troposphere_s"])
    assert np.abs(ours - np.array(_SOUTH_TROPO_PINT)).max() < 0.1 * NS
    assert np.all((ours == 0.0) == (np.array(_SOUTH_TROPO_PINT) == 0.0))
    p0 = model.zero_params()
    d_decj = jax.jit(jax.jacfwd(lambda x: model.residual_fn(dict(p0, DECJ=x), model.data)["delay_troposphere_s"]))(
        p0["DECJ"])
    assert np.all(np.isfinite(np.asarray(d_decj))) and np.abs(np.asarray(d_decj)).max() > 0


def test_zenith_delay_is_davis_formula():
    """Davis et al. (1985): 2.2768 mm/hPa of pressure; at sea level (1013.25 hPa), 45 deg: 2.3070 m."""
    assert troposphere.zenith_hydrostatic_delay_s(math.radians(45), 0.0) == pytest.approx(2.2768e-3 * 1013.25 / C_M_S,
                                                                                           rel=1e-4)
    # Higher sites have less atmosphere above them: ~12% less at 1 km (scale height ~8 km).
    ratio = troposphere.zenith_hydrostatic_delay_s(0.7, 1000.0) / troposphere.zenith_hydrostatic_delay_s(0.7, 0.0)
    assert 0.87 < ratio < 0.90


def test_mapping_function_is_one_at_zenith_and_follows_a_curved_atmosphere():
    """Niell's function against the path through a thin shell 8 km up (the scale height) over a 6371 km Earth,
    1 / sqrt(1 - (R cos el / (R + h))^2): equal at zenith, close at 60 and 30 deg, diverging near the horizon."""
    a, b, c = troposphere.niell_coefficients(math.radians(38.4), np.array([55000.0, 55182.0]))
    for el_deg, rel in ((90.0, 1e-15), (60.0, 1e-4), (30.0, 3e-4), (10.0, 5e-3)):
        el = math.radians(el_deg)
        shell = 1.0 / math.sqrt(1.0 - (6371.0 / (6371.0 + 8.0) * math.cos(el)) ** 2)
        m = np.asarray(troposphere.herring_map(math.sin(el), a, b, c))
        assert np.all(np.abs(m / shell - 1.0) <= rel), (el_deg, m, shell)
    up = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    data = {"tropo_up": up, "tropo_zenith_s": np.full(2, 7.7e-9), "tropo_height_km": np.full(2, 0.8),
            "tropo_a": a, "tropo_b": b, "tropo_c": c}
    at_zenith = troposphere.troposphere_delay_s(up, data)  # height term 1/s - f(s) vanishes too
    np.testing.assert_allclose(np.asarray(at_zenith), 7.7e-9, rtol=1e-14)
    below = troposphere.troposphere_delay_s(-up, data)
    assert np.all(np.asarray(below) == 0.0)


# ---------------------------------------------------------------- DDGR through the model

B1855 = DATASETS / "B1855+09_dfg12"
# PINT's delay_BinaryDDGR for B1855+09_NANOGrav_dfg+12_TAI_FB90.par made DDGR as below, at TOAs 0, 117, ... 585.
_B1855_DDGR_PINT = [-6.126336204407494, 5.285537402971045, -5.885674549623843, -9.064390936647271,
                    -8.493082650735005, -5.624656361543316]


def test_ddgr_model_matches_pint_and_differentiates_in_the_masses(tmp_path):
    par = _edited_par(tmp_path, B1855 / "B1855+09_NANOGrav_dfg+12_TAI_FB90.par",
                      {"BINARY": "BINARY DDGR", "SINI": "MTOT 1.7828 1"},
                      add="XOMDOT 0.002\nXPBDOT 3e-12\nEDOT 1e-17\nA1DOT 2e-14\n")
    model = build_model(par, read_tim(B1855 / "B1855+09_NANOGrav_dfg+12.tim"), ephem_file=EPHEM_DIR / "de405.bsp",
                        clock_dir=CLOCK_DIR)
    assert model.structure.binary == "DDGR" and {"MTOT", "M2"} <= set(model.free)
    out = model.residuals()
    ours = np.asarray(out["delay_binary_s"])[::117]
    assert np.abs(ours - np.array(_B1855_DDGR_PINT)).max() < 0.1 * NS
    p0 = model.zero_params()
    masses = {k: p0[k] for k in ("MTOT", "M2", "XOMDOT", "XPBDOT")}
    jac = jax.jit(jax.jacfwd(lambda sub: model.residual_fn(dict(p0, **sub), model.data)["time_s"]))(masses)
    for name in masses:
        col = np.asarray(jac[name])
        assert np.all(np.isfinite(col)) and np.abs(col).max() > 0, name


# ---------------------------------------------------------------- DMJUMP

NGC = DATASETS / "NGC6440E"
_NGC_KW = dict(_KW, clk="TT(BIPM2023)")  # as PINT reads its CLK UTC(NIST)
_cache: dict = {}


def _ngc_base():
    if "base" not in _cache:
        _cache["base"] = build_model(read_par(NGC / "NGC6440E.par", warn=False), read_tim(NGC / "NGC6440E.tim"),
                                     **_NGC_KW)
    return _cache["base"]


def test_dmjump_changes_no_toa_residual_and_offsets_the_model_dm_as_pint(tmp_path):
    """PINT's DispersionJump: DM - DMJUMP on the selected TOAs for wideband DMs; TOA delays untouched."""
    base = _ngc_base()
    par = _edited_par(tmp_path, NGC / "NGC6440E.par", add="DMJUMP MJD 53400 53700 0.01 1\nDMJUMP -fe X 0.002\n")
    with pytest.warns(DMJumpWarning, match=r"DMJUMP1 \(MJD 53400 53700\) marked free"):
        model = build_model(par, base.toas, prep=base.prep)
    assert not any(n.startswith("DMJUMP") for n in model.names)
    np.testing.assert_array_equal(np.asarray(model.residuals()["time_s"]), np.asarray(base.residuals()["time_s"]))
    offsets = dm_jump_offsets(par, base.toas)
    inside = (base.toas.mjd >= 53400) & (base.toas.mjd <= 53700)
    assert 0 < inside.sum() < len(inside)
    np.testing.assert_array_equal(offsets, np.where(inside, -0.01, 0.0))


# ---------------------------------------------------------------- pulse numbers

_DF0_HZ = 2e-7  # F0 61.485476554 -> 61.485476754: ~9 turns of drift over the data set, which nearest-pulse would wrap
# PINT's residuals (default track mode: use_pulse_numbers) of the F0-shifted .par with the pulse numbers written
# below (counted from the TZR TOA), at TOAs 0, 12, ..., 60.
_NGC_PN_PINT = [-0.0892531475095693, -0.03297591731622351, 0.0016823639777332026, 0.048607259023127174,
                0.09980279755745308, 0.08386048569215923]


def _pulse_numbers_from_decimal(model) -> list[int]:
    """Each TOA's pulse, counted from the TZR TOA's: the spin phase summed in 50-digit decimal from exact TDBs,
    the .par's F_k and the float64 delays, rounded (independent of the residual function's phase bookkeeping)."""
    total = np.asarray(sum(delays_s(model.structure, model.zero_params(), model.data)[0].values()))
    par, tdb = model.par, model.prep.tdb
    with localcontext() as ctx:
        ctx.prec = 50
        f = [par[f"F{k}"].as_decimal() for k in range(model.structure.n_f)]
        pepoch = par["PEPOCH"].as_decimal()
        phases = []
        for i in range(len(total)):
            t = (Decimal(int(tdb.day[i])) + Decimal(float(tdb.frac[i])) - pepoch) * 86400 - Decimal(total[i])
            phases.append(sum(f[k] * t ** (k + 1) / factorial(k + 1) for k in range(len(f))))
        return [int((p - phases[-1]).to_integral_value()) for p in phases[:-1]]


def _tim_with_flags(path, toas, flags: list[str]):
    lines = ["FORMAT 1"] + [f"t{i} {float(toas.freq_mhz[i])!r} {toas.mjd_text[i]} {float(toas.error_us[i])!r} "
                            f"{toas.obs[i]} {fl}" for i, fl in enumerate(flags)]
    path.write_text("\n".join(lines) + "\n")
    return read_tim(path)


def _shifted_par(tmp_path, add=""):
    return _edited_par(tmp_path, NGC / "NGC6440E.par", {"F0": f"F0 {Decimal('61.485476554') + Decimal(_DF0_HZ)!s} 1"},
                       add=add, name=f"shifted{len(add)}.par")


def test_pulse_numbers_keep_track_where_the_nearest_pulse_wraps(tmp_path):
    base = _ngc_base()
    pn = _pulse_numbers_from_decimal(base)
    toas_pn = _tim_with_flags(tmp_path / "pn.tim", base.toas, [f"-pn {n}" for n in pn])
    model = build_model(_shifted_par(tmp_path), toas_pn, prep=base.prep)
    assert model.structure.pulse_numbers
    out = model.residuals()
    phase = np.asarray(out["phase"])

    # Independent expectation: F0 + dF adds dF (t_e - t_e,TZR) turns at emission times t_e; the first TOA's
    # residual is brought within half a turn.
    delays, _ = delays_s(base.structure, base.zero_params(), base.data)
    t_e = np.asarray(base.data["dt_pepoch_s"]) - np.asarray(sum(delays.values()))
    expected = np.asarray(base.residuals()["phase"]) + _DF0_HZ * (t_e[:-1] - t_e[-1])
    expected -= np.round(expected[0])
    assert np.ptp(expected) > 3.0  # turns: the nearest pulse would be wrong
    np.testing.assert_allclose(phase, expected, rtol=0, atol=1e-7)

    # PINT (pulse numbers from TZR; its first residual is -5.49 turns, ours -0.49: 5 whole turns apart).
    idx = list(range(0, 62, 12))
    diff = np.asarray(out["time_s"])[idx] - np.array(_NGC_PN_PINT)
    turns = diff * 61.485476754
    assert np.abs(turns - np.round(turns)).max() < 1e-6
    assert np.abs(diff - diff.mean()).max() < 1 * NS

    # TEMPO2 counts from the first TOA (any origin): same residuals.
    toas_t2 = _tim_with_flags(tmp_path / "pn2.tim", base.toas, [f"-pn {n - pn[0]}" for n in pn])
    other = build_model(_shifted_par(tmp_path), toas_t2, prep=base.prep)
    np.testing.assert_allclose(np.asarray(other.residuals()["phase"]), phase, rtol=0, atol=1e-9)

    # TRACK 0: nearest pulse despite the flags, so the drift wraps.
    nearest = build_model(_shifted_par(tmp_path, "TRACK 0\n"), toas_pn, prep=base.prep)
    wrapped = np.asarray(nearest.residuals()["phase"])
    assert not nearest.structure.pulse_numbers and np.abs(wrapped).max() <= 0.5
    np.testing.assert_allclose(wrapped, expected - np.round(expected), rtol=0, atol=1e-7)


def test_phase_commands_and_padd_flags_add_turns(tmp_path):
    """PINT's delta_pulse_number: -padd flags and PHASE commands add to the model phase (residuals here are
    within 0.12 turns, so +0.3 turns does not wrap)."""
    base = _ngc_base()
    odd = np.arange(len(base.toas)) % 2 == 1
    flags = ["-padd 0.2" if o else "" for o in odd]
    model = build_model(base.par, _tim_with_flags(tmp_path / "padd.tim", base.toas, flags), prep=base.prep)
    shift = np.asarray(model.residuals()["phase"]) - np.asarray(base.residuals()["phase"])
    np.testing.assert_allclose(shift, np.where(odd, 0.2, 0.0), rtol=0, atol=1e-9)
    text = (tmp_path / "padd.tim").read_text().splitlines()
    (tmp_path / "phase.tim").write_text("\n".join(text[:11] + ["PHASE 0.1"] + text[11:]) + "\n")  # from TOA 10 on
    model = build_model(base.par, read_tim(tmp_path / "phase.tim"), prep=base.prep)
    shift = np.asarray(model.residuals()["phase"]) - np.asarray(base.residuals()["phase"])
    np.testing.assert_allclose(shift, np.where(odd, 0.2, 0.0) + np.where(np.arange(len(odd)) >= 10, 0.1, 0.0),
                               rtol=0, atol=1e-9)


def test_incomplete_or_bad_pulse_numbers(tmp_path):
    base = _ngc_base()
    some = _tim_with_flags(tmp_path / "some.tim", base.toas, ["-pn 5" if i < 3 else "" for i in range(62)])
    with pytest.warns(PulseNumberWarning, match=r"3 of 62 TOAs have -pn .*/some.tim:5 and 58 more do not"):
        model = build_model(base.par, some, prep=base.prep)
    assert not model.structure.pulse_numbers
    track = _edited_par(tmp_path, NGC / "NGC6440E.par", add="TRACK -2\n", name="track.par")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match=r"TRACK -2 tracks pulse numbers, but 59 of 62 TOAs have no -pn"):
            build_model(track, some, prep=base.prep)
    half = _tim_with_flags(tmp_path / "half.tim", base.toas, ["-pn 5.5"] * 62)
    with pytest.raises(InputError, match=re.escape("half.tim:2: -pn '5.5' is not a whole pulse number")):
        build_model(base.par, half, prep=base.prep)


@pytest.mark.parametrize("overlap", [False, True])
def test_dmx_ranges_add_to_the_dm_of_the_toas_they_hold(tmp_path, overlap):
    """DMX as a gather (disjoint ranges) and as a mask product (overlapping ranges, PINT warns): each TOA's
    dispersion delay is that of DM plus every DMX range containing it."""
    folder = DATASETS / "NGC6440E"
    par_text = next(folder.glob("*.par")).read_text()
    tim = read_tim(next(folder.glob("*.tim")))
    mjd = np.sort(tim.mjd_int + tim.mjd_frac)
    mid = float(mjd[len(mjd) // 2])
    r2 = (mid + 1.0) if not overlap else float(mjd[-1]) + 1.0
    extra = (f"DMX_0001 0.01 1\nDMXR1_0001 {mjd[0] - 1.0}\nDMXR2_0001 {mid}\n"
             f"DMX_0002 0.03 1\nDMXR1_0002 {mid + 0.5 if not overlap else mjd[0] - 1.0}\nDMXR2_0002 {r2}\n")
    (tmp_path / "dmx.par").write_text(par_text + extra)
    kw = dict(clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    model = build_model(read_par(tmp_path / "dmx.par", warn=False), tim, **kw)
    assert ("dmx_mask" in model.data) == overlap and ("dmx_index" in model.data) != overlap
    base = build_model(read_par(next(folder.glob("*.par")), warn=False), tim, **kw)
    delay = np.asarray(delays_s(model.structure, model.zero_params(), model.data)[0]["dispersion"])
    plain = np.asarray(delays_s(base.structure, base.zero_params(), base.data)[0]["dispersion"])
    t = np.append(tim.mjd_int + tim.mjd_frac, np.nan)  # the TZR row last
    in1 = t <= mid
    in2 = (t >= mid + 0.5) & (t <= r2) if not overlap else t <= r2
    dm = float(model.par["DM"].as_float())
    expected = plain * (dm + 0.01 * in1 + 0.03 * in2) / dm
    np.testing.assert_allclose(delay[:-1], expected[:-1], rtol=1e-12)


# ---------------------------------------------------------------- sites: GPS-referenced clocks, the barycentre

PINT_REFS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "pint"  # tools/make_pint_references.py


def _pint_reference(name: str) -> dict[str, np.ndarray]:
    import csv

    with open(PINT_REFS / f"{name}.pint_residuals.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0] if k != "index"}


def test_gmrt_toas_go_through_gps_to_utc_as_pint():
    """GMRT's clock is GPS: 446 InPTA TOAs.  Without the GPS step they were 6.5 ns from PINT (GPS - UTC)."""
    folder = DATASETS.parent / "recent" / "J1909-3744_NB"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(read_par(folder / "J1909-3744.NB_DE421.par", warn=False),
                            read_tim(folder / "J1909-3744.NB.tim"), **_KW)
    diff = np.asarray(model.residuals()["time_s"]) - _pint_reference("J1909-3744_NB")["resid_s"]
    # The mean is PINT's: it takes its TZR TOA's BIPM version from its own default (2023), not the .par's
    # TT(BIPM2019) that its TOAs use, a 2.26 ns phase-reference offset at TZRMJD 59000.97.
    assert np.abs(diff - diff.mean()).max() < 1 * NS
    assert abs(diff.mean()) < 3 * NS


def test_barycentric_toas_get_no_geometric_or_shapiro_delay_as_pint():
    """``@`` TOAs (tests/data/pint/NGC6440E_bary.tim): no Roemer, Shapiro or troposphere delay (was ~52 us)."""
    par = read_par(DATASETS / "NGC6440E" / "NGC6440E.par", warn=False)
    model = build_model(par, read_tim(PINT_REFS / "NGC6440E_bary.tim"), clk="TT(BIPM2023)", **_KW)
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    assert not r["delay_shapiro_s"].any() and not r["delay_roemer_s"].any()
    assert np.abs(r["time_s"] - _pint_reference("NGC6440E_bary")["resid_s"]).max() < 1 * NS


# ---------------------------------------------------------------- piecewise spin-down (PINT's PiecewiseSpindown)

def test_piecewise_spindown_matches_pint_and_fits(tmp_path):
    """PWEP_1 ... on 5 barycentric TOAs with a GBT TZR TOA: PINT's reading (TT(BIPM2023), FB90)."""
    par = read_par(PARFILES / "piecewise.par", warn=False)
    toas = read_tim(PARFILES / "piecewise.tim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no CLK, no TIMEEPH: said by the readers
        model = build_model(par, toas, clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de405.bsp",
                            clk="TT(BIPM2023)", timeeph="FB90")
    assert model.structure.pieces == ("1",)
    assert {"PWF0_1", "PWF1_1", "PWF2_1"} <= set(model.free)
    ours = np.asarray(model.residuals()["time_s"])
    assert np.abs(ours - _pint_reference("piecewise")["resid_s"]).max() < 1 * NS
    p0 = model.zero_params()
    grad = jax.jacfwd(lambda x: model.residual_fn(dict(p0, PWF0_1=x), model.data)["phase"])(p0["PWF0_1"])
    dt_s = np.asarray(model.data["pw_dt0_s_1"])[:-1] - np.asarray(model.residuals()["total_delay_s"])
    assert np.asarray(model.data["pw_rows_1"]).all()  # every TOA and the TZR TOA lie in the solution's range
    grad = np.asarray(grad)  # d(phase - TZR phase)/d PWF0_1: the emission times since PWEP_1, less the TZR's
    assert np.allclose(grad - grad[0], dt_s - dt_s[0], rtol=1e-9) and np.ptp(grad) > 1e6


def test_piecewise_solution_without_its_range_is_refused(tmp_path):
    lines = [ln for ln in (PARFILES / "piecewise.par").read_text().splitlines() if not ln.startswith("PWSTOP_1")]
    (tmp_path / "p.par").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"p\.par:\d+: piecewise solution 1 needs PWEP_1, PWSTART_1 and PWSTOP_1"):
        build_model(read_par(tmp_path / "p.par", warn=False), read_tim(PARFILES / "piecewise.tim"), **_KW)


# ---------------------------------------------------------------- TEMPO2 WAVE harmonic whitening

@pytest.mark.filterwarnings("ignore:.*clock")  # no Parkes clock files in ../shared (the same for PINT)
def test_wave_harmonics_match_pint():
    par = read_par(PARFILES / "vela_wave.par", warn=False)
    model = build_model(par, read_tim(PARFILES / "vela_wave.tim"), clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de405.bsp")
    assert model.structure.n_wave == 20
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    assert np.abs(r["time_s"] - _pint_reference("vela_wave")["resid_s"]).max() < 1 * NS
    # the term matters: the harmonics move the pulse phase by whole turns (amplitudes 0.1-0.6 s at F0 11.2 Hz)
    p0 = model.zero_params()
    d0 = dict(model.data, wave_amp_s=np.zeros_like(np.asarray(model.data["wave_amp_s"])))
    without = np.asarray(model.residual_fn(p0, d0)["phase"])
    assert np.abs((r["phase"] - without + 0.5) % 1.0 - 0.5).max() > 0.05


@pytest.mark.parametrize(("lines", "message"), [
    ("WAVE1 0.1 0.2\nWAVE3 0.1 0.2\n", r"WAVE2 is missing"),
    ("WAVE1 0.1 0.2\n", r"WAVE terms need WAVE_OM"),
])
def test_incomplete_wave_terms_are_refused(tmp_path, lines, message):
    par = _edited_par(tmp_path, PARFILES / "vela_wave.par",
                      {f"WAVE{k}": "" for k in range(1, 21)} | {"WAVE_OM": ""}, add=lines)
    with pytest.raises(InputError, match=message):
        build_model(par, read_tim(PARFILES / "vela_wave.tim"), clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de405.bsp")


# ---------------------------------------------------------------- TEMPO2 IFUNC interpolated offsets

def test_ifunc_offsets_match_pint():
    """997 IFUNC knots (SIFUNC 2) on J0007+7303's geocentric TOAs, as PINT reads them (no TIMEEPH: FB90)."""
    par = read_par(PARFILES / "j0007_ifunc.par", warn=False)
    model = build_model(par, read_tim(PARFILES / "j0007_ifunc.tim"), clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de405.bsp", timeeph="FB90")
    assert model.structure.ifunc and len(model.data["ifunc_knot_d"]) == 997
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    assert np.abs(r["time_s"] - _pint_reference("j0007_ifunc")["resid_s"]).max() < 1 * NS
    d0 = dict(model.data, ifunc_offset_s=np.zeros(997))  # the offsets (~92 s) move the phase by many turns' worth
    without = np.asarray(model.residual_fn(model.zero_params(), d0)["phase"])
    assert np.abs((r["phase"] - without + 0.5) % 1.0 - 0.5).max() > 0.05


def test_ifunc_needs_linear_interpolation(tmp_path):
    par = _edited_par(tmp_path, PARFILES / "j0007_ifunc.par", {"SIFUNC": "SIFUNC 0 0"})
    with pytest.raises(InputError, match=r"edited\.par:\d+: IFUNC terms: only SIFUNC 2"):
        build_model(par, read_tim(PARFILES / "j0007_ifunc.tim"), **_KW)


# ---------------------------------------------------------------- PINT's ORBWAVE orbital-phase series

@pytest.mark.parametrize("stem", ["J1048+2339_orbwaves", "J1048+2339_orbwaves_DD"])
def test_orbwaves_match_pint_and_are_free(stem):
    par = read_par(PARFILES / f"{stem}.par", warn=False)
    model = build_model(par, read_tim(PARFILES / "J1048+2339_3PC_fake.tim"), **_KW)
    assert {"ORBWAVEC0", "ORBWAVES4", "TASC" if "DD" not in stem else "T0"} <= set(model.free)
    ours = np.asarray(model.residuals()["time_s"])
    assert np.abs(ours - _pint_reference(stem)["resid_s"]).max() < 1 * NS
    p0 = model.zero_params()  # the waves are 0.1 orbits: without them the residuals are far off
    no_waves = dict(p0, ORBWAVEC0=-model.reference["ORBWAVEC0"], ORBWAVES0=-model.reference["ORBWAVES0"])
    assert np.abs(np.asarray(model.residual_fn(no_waves, model.data)["time_s"]) - ours).max() > 1e-4


@pytest.mark.parametrize(("replace", "message"), [
    ({"ORBWAVES4": ""}, "ORBWAVECk and ORBWAVESk pairs"),
    ({"ORBWAVE_EPOCH": ""}, "ORBWAVE terms need ORBWAVE_EPOCH"),
    ({"PB": "PB 0.250506696660119 1\nPBDOT 1e-12"}, "PBDOT cannot be used with ORBWAVE"),
])
def test_incomplete_orbwaves_are_refused(tmp_path, replace, message):
    par = _edited_par(tmp_path, PARFILES / "J1048+2339_orbwaves.par", replace)
    with pytest.raises(InputError, match=message):
        build_model(par, read_tim(PARFILES / "J1048+2339_3PC_fake.tim"), **_KW)


# ---------------------------------------------------------------- SWM 1 solar wind (power-law density)

def test_power_law_solar_wind_matches_pint():
    """J2145-0750 on CHIME (GPS-referenced, no clock file), NE_SW 10 cm^-3 with SWP 1.5."""
    par = read_par(PARFILES / "2145_swfit_DE421.par", warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CHIME has no clock file: said once
        model = build_model(par, read_tim(PARFILES / "2145_swfit.tim"), **_KW)
    assert "NE_SW" in model.free and float(model.data["swp"]) == 1.5
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    assert np.abs(r["time_s"] - _pint_reference("2145_swfit")["resid_s"]).max() < 1 * NS
    swm0 = dict(model.data)
    del swm0["swp"]  # the same TOAs with SWM 0's 1/r^2 density: a different delay by far more than 1 ns
    diff = np.asarray(model.residual_fn(model.zero_params(), swm0)["delay_solar_wind_s"]) - r["delay_solar_wind_s"]
    assert np.abs(diff).max() > 100 * NS


def test_power_law_geometry_is_swm0_at_index_two_and_a_path_integral():
    from jugbayes.constants import AU_M, PC_M
    from jugbayes.model.dispersion import solar_wind_geometry_pc, solar_wind_power_law_geometry_pc

    rng = np.random.default_rng(1)
    sun = rng.normal(size=(20, 3)) * 499.0  # ~1 AU in light-seconds
    n_hat = rng.normal(size=(20, 3))
    n_hat /= np.linalg.norm(n_hat, axis=1, keepdims=True)
    two = np.asarray(solar_wind_power_law_geometry_pc(sun, n_hat, 2.0))
    assert np.allclose(two, np.asarray(solar_wind_geometry_pc(sun, n_hat)), rtol=1e-12)
    # p = 3 by direct quadrature of (AU/s)^3 along the line of sight (s: distance to the Sun)
    r_m = np.linalg.norm(sun, axis=1) * C_M_S
    cos_t = np.einsum("ij,ij->i", sun, n_hat) / np.linalg.norm(sun, axis=1)
    x = np.geomspace(1e-6, 2000.0, 200001)[None, :] * AU_M  # along the line of sight from the observatory
    dist = np.sqrt(r_m[:, None] ** 2 + x**2 - 2 * r_m[:, None] * x * cos_t[:, None])
    quad = np.trapezoid((AU_M / dist) ** 3, x, axis=1) / PC_M
    assert np.allclose(np.asarray(solar_wind_power_law_geometry_pc(sun, n_hat, 3.0)), quad, rtol=1e-4)


# ---------------------------------------------------------------- chromatic (CM, CMX, CMWaveX), DMWaveX, WaveX

def test_chromatic_and_wave_x_terms_match_pint():
    """tests/data/pint/B1855+09_chromatic.par: B1855+09 dfg12 (DD, 430/1400 MHz) with made-up CM, CM1 (index 4.4),
    two CMX ranges, CMWaveX, DMWaveX and WaveX terms, all free."""
    par = read_par(PINT_REFS / "B1855+09_chromatic.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "B1855+09_dfg12" / "B1855+09_NANOGrav_dfg+12.tim"),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de405.bsp")
    assert (model.structure.n_cm, model.structure.n_cmx, model.structure.n_waves) == (2, 2, (2, 2, 1))
    assert {"CM", "CM1", "CMX_0002", "CMWXSIN_0001", "DMWXCOS_0002", "WXSIN_0001"} <= set(model.free)
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    pint = _pint_reference("B1855+09_chromatic")
    assert np.abs(r["time_s"] - pint["resid_s"]).max() < 1 * NS
    chromatic = pint["delay_constant_chromatic_delay"] + pint["delay_CMX_chromatic_delay"] + pint["delay_cmwavex_delay"]
    assert np.abs(r["delay_chromatic_s"] - chromatic).max() < 0.01 * NS and np.abs(chromatic).max() > 1e-6
    assert np.abs(r["delay_dmwavex_s"] - pint["delay_dmwavex_delay"]).max() < 0.01 * NS
    assert np.abs(r["delay_wavex_s"]).max() > 1e-6  # 2 us amplitude (PINT tabulates it only inside the total)


def test_wave_x_needs_its_frequencies_and_cmx_its_range(tmp_path):
    source = PINT_REFS / "B1855+09_chromatic.par"
    tim = read_tim(DATASETS / "B1855+09_dfg12" / "B1855+09_NANOGrav_dfg+12.tim")
    for replace, message in (({"WXFREQ_0002": ""}, "WXSIN_0002 has no WXFREQ_0002"),
                             ({"DMWXCOS_0001": ""}, "DMWXFREQ_0001 needs DMWXSIN_0001 and DMWXCOS_0001"),
                             ({"CMXR2_0001": ""}, "CMX_0001 has no CMXR1_0001/CMXR2_0001 range")):
        with pytest.raises(InputError, match=message):
            build_model(_edited_par(tmp_path, source, replace), tim, clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de405.bsp")


# ---------------------------------------------------------------- ELL1k (Susobhanan et al. 2018)

def test_ell1k_matches_pint():
    """J0613-0200 dfg12 as ELL1k with a made-up OMDOT 20 deg/yr and LNEDOT 0.05/yr (tests/data/pint)."""
    tim = read_tim(DATASETS / "J0613-0200_dfg12" / "J0613-0200_NANOGrav_dfg+12.tim")
    kw = dict(clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de405.bsp")
    model = build_model(read_par(PINT_REFS / "J0613-0200_ell1k.par", warn=False), tim, **kw)
    assert model.structure.binary == "ELL1K" and {"OMDOT", "LNEDOT"} <= set(model.free)
    ours = np.asarray(model.residuals()["time_s"])
    assert np.abs(ours - _pint_reference("J0613-0200_ell1k")["resid_s"]).max() < 1 * NS
    p0 = model.zero_params()  # the rotation and growth of eps matter at the us level over the 9 years
    still = dict(p0, OMDOT=-model.reference["OMDOT"], LNEDOT=-model.reference["LNEDOT"])
    assert np.abs(np.asarray(model.residual_fn(still, model.data)["time_s"]) - ours).max() > 1e-7


def test_ell1k_refuses_eps_derivatives(tmp_path):
    par = _edited_par(tmp_path, PINT_REFS / "J0613-0200_ell1k.par", add="EPS1DOT 1.0\n")
    with pytest.raises(InputError, match="BINARY ELL1k has no EPS1DOT"):
        build_model(par, read_tim(DATASETS / "J0613-0200_dfg12" / "J0613-0200_NANOGrav_dfg+12.tim"), **_KW)


# ---------------------------------------------------------------- SWX solar-wind segments

def test_swx_segments_match_pint():
    """J1744-1134 (11.8 deg from the ecliptic) with two made-up SWX segments, SWXP 2 and 2.5 (tests/data/pint)."""
    par = read_par(PINT_REFS / "J1744-1134_swx.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "J1744-1134" / "J1744-1134.Rcvr1_2.GASP.8y.x.tim"), **_KW)
    assert model.structure.n_swx == 2 and {"SWXDM_0001", "SWXDM_0002"} <= set(model.free)
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    pint = _pint_reference("J1744-1134_swx")
    assert np.abs(r["time_s"] - pint["resid_s"]).max() < 1 * NS
    assert np.abs(r["delay_solar_wind_x_s"] - pint["delay_swx_delay"]).max() < 0.5 * NS
    assert r["delay_solar_wind_x_s"].max() > 1e-5  # 11 us near conjunction
    # PINT's elongation at conjunction, 11.804060 deg, is the geocentric Sun's; ours the ecliptic of date's
    assert abs(np.degrees(float(model.data["swx_theta0_rad"])) - 11.804060) < 0.5 / 3600


# ---------------------------------------------------------------- FDJUMP (PINT's per-system FD terms)

def test_fdjumps_match_pint():
    """B1855+09 dfg12 with made-up FD1JUMP/FD2JUMP on 430G and FD1JUMP on L_wide, FDJUMPLOG Y (tests/data/pint)."""
    par = read_par(PINT_REFS / "B1855+09_fdjump.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "B1855+09_dfg12" / "B1855+09_NANOGrav_dfg+12.tim"),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de405.bsp")
    assert model.structure.fdjumps == ("FD1JUMP1", "FD2JUMP1", "FD1JUMP2") and model.structure.fdjump_log
    r = {k: np.asarray(v) for k, v in model.residuals().items()}
    pint = _pint_reference("B1855+09_fdjump")
    assert np.abs(r["time_s"] - pint["resid_s"]).max() < 1 * NS
    assert np.abs(r["delay_fdjump_s"] - pint["delay_fdjump_delay"]).max() < 0.01 * NS
    assert np.abs(pint["delay_fdjump_delay"]).max() > 1e-6
