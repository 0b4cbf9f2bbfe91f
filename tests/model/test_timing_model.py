"""The residual function against PINT and TEMPO2, in extended precision, and under jit/autodiff."""

from __future__ import annotations

import glob
from decimal import Decimal, localcontext
from math import factorial
from pathlib import Path

import jax
import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS, ephem_file, pint_residual_rows
from extended_precision import extended, require_extended_longdouble, ridders_derivative

from jugbayes.errors import InputError
from jugbayes.io import read_par, read_tim
from jugbayes.model.timing_model import build_model

# NGC6440E says CLK UTC(NIST): PINT reads that as TT(BIPM2023), jugbayes as TEMPO does; compare like with like.
_PINT_CLK = {"NGC6440E": "TT(BIPM2023)"}
# Data sets with no PINT csv: the same TOAs with another .par.
_OTHER_DATASETS = {
    "J1713+0747_ICRS": ("J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.gls.ICRS.par",
                        "J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.tim"),
}
_cache: dict = {}


def _model(name: str, clk: str | None = None):
    key = (name, clk)
    if key not in _cache:
        par_rel, tim_rel = PINT_DATASETS[name] if name in PINT_DATASETS else _OTHER_DATASETS[name]
        par = read_par(DATASETS / par_rel, warn=False)
        toas = read_tim(DATASETS / tim_rel)
        _cache[key] = build_model(par, toas, clock_dir=CLOCK_DIR, ephem_file=ephem_file(par), clk=clk)
    return _cache[key]


def _demeaned(x):
    x = np.asarray(x, dtype=float)
    return x - x.mean()


@pytest.mark.parametrize("name", ["J1744-1134", "NGC6440E", "J0613-0200_dfg12", "B1855+09_dfg12", "B1855+09_9yv1",
                                  "J1713+0747"])
def test_residuals_match_pint(name):
    model = _model(name, _PINT_CLK.get(name))
    ours = np.asarray(model.residuals()["time_s"])
    rows = pint_residual_rows(DATASETS / PINT_DATASETS[name][1])
    pint = np.array([float(r["resid_s"]) for r in rows])
    diff_ns = _demeaned(ours - pint) * 1e9
    assert np.abs(diff_ns).max() <= 2.0, np.abs(diff_ns).max()


_COMPONENT_COLUMNS = {  # our delay -> PINT's columns summed
    "delay_dispersion_s": ("delay_DispersionDM", "delay_DispersionDMX"),
    "delay_binary_s": ("delay_BinaryELL1", "delay_BinaryDD", "delay_BinaryDDK"),
    "delay_fd_s": ("delay_FD",),
    "delay_roemer_s": ("delay_AstrometryEquatorial", "delay_AstrometryEcliptic"),
    "delay_shapiro_s": ("delay_SolarSystemShapiro",),
}


@pytest.mark.parametrize("name", ["J1744-1134", "J0613-0200_dfg12", "B1855+09_dfg12", "B1855+09_9yv1", "J1713+0747"])
def test_each_delay_component_matches_pint(name):
    out = _model(name).residuals()
    rows = pint_residual_rows(DATASETS / PINT_DATASETS[name][1])
    checked = 0
    for ours, columns in _COMPONENT_COLUMNS.items():
        present = [c for c in columns if c in rows[0]]
        if not present:
            assert ours not in out
            continue
        pint = sum(np.array([float(r[c]) for r in rows]) for c in present)
        assert np.abs(np.asarray(out[ours]) - pint).max() < 1e-9, (ours, np.abs(np.asarray(out[ours]) - pint).max())
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name, tempo2_file, limit_ns", [
    ("J1744-1134", "J1744-1134/J1744-1134.basic.par.tempo2_test", 6.0),
    ("J0613-0200_dfg12", "J0613-0200_dfg12/J0613-0200_NANOGrav_dfg+12_TAI_FB90.par.tempo2_test", 6.0),
    ("B1855+09_dfg12", "B1855+09_dfg12/B1855+09_NANOGrav_dfg+12_TAI_FB90.par.tempo2_test", 14.0),
])
def test_residuals_match_tempo2(name, tempo2_file, limit_ns):
    """No worse than PINT's own difference from TEMPO2 plus 2 ns (../shared/README.md lists PINT's)."""
    rows = open(DATASETS / tempo2_file).read().split("\n")[1:]
    tempo2 = np.array([float(r.split()[0]) for r in rows if r.strip()])
    diff_ns = _demeaned(np.asarray(_model(name).residuals()["time_s"]) - tempo2) * 1e9
    assert np.abs(diff_ns).max() <= limit_ns, np.abs(diff_ns).max()


@pytest.mark.parametrize("name, libstempo_file", [
    ("J1713+0747", "J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.gls.par.libstempo"),
    ("J1713+0747_ICRS", "J1713+0747_11yv0_short/J1713+0747_NANOGrav_11yv0_short.gls.ICRS.par.libstempo"),
])
def test_residuals_match_libstempo(name, libstempo_file):
    """DDK (ecliptic and ICRS .par) against TEMPO2 via libstempo: PINT is 10 ns from it, we must be within 12 ns."""
    columns = open(DATASETS / libstempo_file).read().split("\n")[1].lstrip("# ").split()
    assert columns[:2] == ["TOA", "TOAerr"]  # then Frequency, Residual [s], BinaryDelay
    table = np.loadtxt(DATASETS / libstempo_file, comments="#")
    model = _model(name)
    assert model.structure.binary == "DDK" and len(table) == len(model.prep.tdb.day) - 1
    diff_ns = _demeaned(np.asarray(model.residuals()["time_s"]) - table[:, 3]) * 1e9
    assert np.abs(diff_ns).max() <= 12.0, np.abs(diff_ns).max()


# ---------------------------------------------------------------- precision


def _phase_in_decimal(model) -> np.ndarray:
    """The model's phase residual (turns) with the spin phase evaluated in 50-digit decimal arithmetic.

    Delays and JUMPs come from the float64 model (each is accurate to ~1e-13 s); the phase, where float64
    alone would lose ~1e-4 turns, is summed exactly from the exact TDBs and .par values.
    """
    from jugbayes.model.timing_model import delays_s

    par, prep = model.par, model.prep
    total = np.asarray(sum(delays_s(model.structure, model.zero_params(), model.data)[0].values()))
    jump_phase = np.asarray(model.data["jump_mask"]) @ np.array([model.reference[f"JUMP{i + 1}"]
                                                                 for i in range(model.structure.n_jumps)])
    with localcontext() as ctx:
        ctx.prec = 50
        f = [par[f"F{k}"].as_decimal() if par.get(f"F{k}") else Decimal(0) for k in range(model.structure.n_f)]
        pepoch = par["PEPOCH"].as_decimal()
        phases = []
        for i in range(len(total)):
            t = (Decimal(int(prep.tdb.day[i])) + Decimal(float(prep.tdb.frac[i])) - pepoch) * 86400 - Decimal(total[i])
            phase = sum(f[k] * t ** (k + 1) / factorial(k + 1) for k in range(len(f)))
            phases.append(phase + Decimal(float(jump_phase[i])) * f[0])
        rel = [p - phases[-1] for p in phases[:-1]]
        return np.array([float(r - r.to_integral_value()) for r in rel])


@pytest.mark.parametrize("name", ["J1744-1134", "B1855+09_9yv1"])
def test_phase_precision_against_decimal(name):
    model = _model(name)
    ours = np.asarray(model.residuals()["phase"])
    exact = _phase_in_decimal(model)
    err_ns = (ours - exact) / model.par["F0"].as_float() * 1e9
    assert np.sqrt(np.mean(err_ns**2)) <= 0.1 and np.abs(err_ns).max() <= 1.0, np.abs(err_ns).max()


_FAST_PAR = """PSRJ J0000+0000
RAJ 04:37:15.8961737
DECJ -47:15:09.110714
PMRA 121.4
PMDEC -71.5
PX 6.4
POSEPOCH 53750
F0 700.123456789012345678901 1
F1 -7.3e-16 1
F2 1.1e-27
PEPOCH 53750
DM 2.64476 1
DMEPOCH 53750
EPHEM DE421
CLK TT(TAI)
TZRMJD 53750.3
TZRSITE coe
TZRFRQ 1400
"""


def _fast_tim(path, n=600):
    rng = np.random.default_rng(7)
    mjds = np.sort(rng.uniform(48270.0, 59227.0, n))  # 30 years
    lines = ["FORMAT 1"]
    for i, m in enumerate(mjds):
        frac = f"{rng.integers(0, 10**16):016d}"
        lines.append(f"t{i} {rng.choice([820.0, 1400.0, 2300.0])} {int(m)}.{frac} 1.0 coe")
    path.write_text("\n".join(lines) + "\n")


_FAST_BINARY = """BINARY ELL1
PB 1.533449474
A1 1.8979910
TASC 53630.723214894
EPS1 2.7e-8
EPS2 -1.0e-7
M2 0.2067
SINI 0.99771
"""


def test_phase_precision_against_decimal_30yr_700hz_binary(tmp_path):
    """A simulated 30-year, 700 Hz ELL1 binary (J1909-3744-like orbit): the phase against 50-digit decimal,
    and every delay against the same model evaluated in longdouble."""
    (tmp_path / "fast.par").write_text(_FAST_PAR + _FAST_BINARY)
    _fast_tim(tmp_path / "fast.tim")
    model = build_model(read_par(tmp_path / "fast.par"), read_tim(tmp_path / "fast.tim"),
                        ephem_file=EPHEM_DIR / "de421.bsp")
    assert model.structure.binary == "ELL1"
    ours = np.asarray(model.residuals()["phase"])
    exact = _phase_in_decimal(model)
    err_ns = (ours - exact) / 700.123456789 * 1e9
    assert np.sqrt(np.mean(err_ns**2)) <= 0.1 and np.abs(err_ns).max() <= 1.0, np.abs(err_ns).max()
    # the check has teeth: the same phase summed in plain float64 is off by far more than a nanosecond
    from jugbayes.model.timing_model import delays_s

    total = np.asarray(sum(delays_s(model.structure, model.zero_params(), model.data)[0].values()))
    t = np.asarray(model.data["dt_pepoch_s"]) - total
    f = [700.123456789012345678901, -7.3e-16, 1.1e-27]
    naive = f[0] * t + f[1] * t**2 / 2 + f[2] * t**3 / 6
    naive = naive[:-1] - naive[-1]
    naive_err_ns = np.abs((naive - np.round(naive)) - exact) / 700.12 * 1e9
    assert naive_err_ns.max() > 10.0, naive_err_ns.max()
    _assert_float64_matches_longdouble(model)


def _assert_float64_matches_longdouble(model):
    """The whole residual function (delays, binary, phase offsets) in float64 against the same jaxpr evaluated
    in longdouble: the float64 rounding of every step costs well under a nanosecond."""
    require_extended_longdouble()
    fn = lambda p: model.residual_fn(p, model.data)  # noqa: E731
    p0 = model.zero_params()
    f64, ld = jax.jit(fn)(p0), extended(fn, p0)(p0)
    for key in ("time_s", "total_delay_s"):
        diff_ns = (np.asarray(ld[key]) - np.asarray(f64[key]).astype(np.longdouble)) * 1e9
        assert np.sqrt(np.mean(diff_ns**2)) <= 0.01 and np.abs(diff_ns).max() <= 0.1, (key, np.abs(diff_ns).max())


def test_float64_matches_longdouble_b1855():
    _assert_float64_matches_longdouble(_model("B1855+09_9yv1"))


# ---------------------------------------------------------------- jit and autodiff


def test_jit_and_jacobian():
    model = _model("J1744-1134")
    fn = jax.jit(lambda p: model.residual_fn(p, model.data)["time_s"])
    p0 = model.zero_params()
    np.testing.assert_array_equal(np.asarray(fn(p0)), np.asarray(model.residuals()["time_s"]))
    jac = jax.jacfwd(fn)(p0)
    assert set(jac) == set(model.names)
    steps = {"F0": 1e-11, "F1": 1e-19, "RAJ": 1e-9, "DECJ": 1e-9, "PMRA": 0.1, "PX": 0.1, "DM": 1e-4}
    for name, h in steps.items():
        up = dict(p0, **{name: p0[name] + h})
        down = dict(p0, **{name: p0[name] - h})
        numeric = (np.asarray(fn(up)) - np.asarray(fn(down))) / (2 * h)
        auto = np.asarray(jac[name])
        scale = np.abs(auto).max()
        assert scale > 0 and np.abs(auto - numeric).max() <= 1e-5 * scale, name


def test_unsupported_components_fail_with_their_names(tmp_path):
    par = tmp_path / "g.par"
    par.write_text(_FAST_PAR + "SWM 2\n")
    _fast_tim(tmp_path / "g.tim", n=5)
    with pytest.raises(InputError, match=r"does not implement yet: solar-wind model SWM 2 \(SWM 0 and 1 only\)"):
        build_model(read_par(par), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")
    par.write_text(_FAST_PAR + "NE_SW1 0.001\nDMWAVEOM 0.1\n")  # not read, and they change residuals
    with pytest.raises(InputError, match=r"terms the reader does not know: NE_SW1, DMWAVEOM"):
        build_model(read_par(par, warn=False), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")
    par.write_text(_FAST_PAR + "NE_SW 8\nSWM 1\nSWP 1.5 1\n")
    with pytest.raises(InputError, match=r"a free SWP \(the SWM 1 power-law index is held fixed\)"):
        build_model(read_par(par), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")
    par.write_text(_FAST_PAR + "UNITS TCB\n")  # was silently read as TDB
    with pytest.raises(InputError, match=r"g\.par: .*does not implement yet: UNITS TCB \(parameters in TDB units"):
        build_model(read_par(par), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")


@pytest.mark.filterwarnings("ignore")
def test_every_shared_par_builds_or_fails_cleanly(tmp_path):
    """Every .par in ../shared either gives a model whose residual function traces, or one clear InputError
    (never another exception); terms the reader leaves unused but that change residuals are refused."""
    import warnings

    from jugbayes.errors import JugbayesError

    tim = tmp_path / "few.tim"
    tim.write_text("FORMAT 1\n" + "".join(f"t{i} 1400.0 {55000 + 125 * i}.25 1.0 coe\n" for i in range(8)))
    toas = read_tim(tim)
    pars = sorted(glob.glob(str(DATASETS.parent / "parfiles" / "*.par")) + glob.glob(str(DATASETS / "*" / "*.par")))
    outcomes = {}
    for path in pars:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = build_model(read_par(path, warn=False), toas, clock_dir=CLOCK_DIR,
                                    ephem_file=EPHEM_DIR / "de421.bsp")
            out = jax.eval_shape(lambda p: model.residual_fn(p, model.data)["time_s"], model.zero_params())
            assert out.shape == (8,)
            outcomes[Path(path).name] = "ok"
        except JugbayesError as exc:
            assert str(exc).startswith(str(path)) or Path(path).name in str(exc), str(exc)
            outcomes[Path(path).name] = str(exc)
    # the one refusal left: a .par whose ELAT line is commented out
    assert outcomes["J1744-1134.basic.ecliptic.par"].endswith("J1744-1134.basic.ecliptic.par:4: ELONG is given "
                                                               "without ELAT: no pulsar position")
    assert [name for name, out in outcomes.items() if out != "ok"] == ["J1744-1134.basic.ecliptic.par"]
    for name in ("vela_wave.par", "J1513-5908_PKS_alldata_white.par", "piecewise.par", "j0007_ifunc.par"):
        assert outcomes[name] == "ok", outcomes[name]
    assert list(outcomes.values()).count("ok") >= 0.7 * len(outcomes), outcomes


@pytest.mark.parametrize("filename, binary", [("J1737+0811_bt_simple.par", "BT"), ("J1713+0747_ddk_simple.par", "DDK")])
@pytest.mark.filterwarnings("ignore:clock corrections")  # the made-up TOAs run past the BIPM2015 table
def test_shared_bt_and_ddk_pars_build(tmp_path, filename, binary):
    """The shared BT and DDK .par files are supported and give finite residuals and derivatives (made-up TOAs)."""
    from jugbayes.model.timing_model import _check_supported

    par = read_par(DATASETS.parent / "parfiles" / filename, warn=False)
    _check_supported(par)
    _fast_tim(tmp_path / "t.tim", n=40)
    # (the DDK .par names DE430, not in ../shared: DE421 stands in; only the wiring is checked here)
    model = build_model(par, read_tim(tmp_path / "t.tim"), clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
    assert model.structure.binary == binary
    out = model.residuals()
    assert np.all(np.isfinite(np.asarray(out["delay_binary_s"]))) and np.abs(np.asarray(out["delay_binary_s"])).max() > 1
    jac = jax.jacfwd(lambda p: model.residual_fn(p, model.data)["time_s"])(model.zero_params())
    assert all(np.all(np.isfinite(np.asarray(col))) for col in jac.values())


def test_glitch_phase_shape():
    """Zero before GLEP; GLPH step at it; slope GLF0 + GLF0D just after; the decay term tends to GLF0D * GLTD."""
    from jugbayes.model.timing_model import glitch_phase

    dt = np.array([-10.0, 0.0, 1e-3, 1e9])
    ph = np.asarray(glitch_phase(dt, 0.25, 1e-6, -1e-14, 0.0, 2e-7, 86400.0 * 30))
    assert ph[0] == 0.0 and ph[1] == 0.0
    assert ph[2] == pytest.approx(0.25 + 1e-3 * (1e-6 + 2e-7), rel=1e-9)
    assert ph[3] == pytest.approx(0.25 + 1e-6 * 1e9 - 1e-14 * 1e18 / 2 + 2e-7 * 86400 * 30, rel=1e-12)
    no_decay = np.asarray(glitch_phase(dt, 0.0, 0.0, 0.0, 0.0, 2e-7, 0.0))
    assert np.all(no_decay == 0.0)  # GLTD 0: no decaying term (as PINT), and no division by zero


def test_glitch_model_builds_and_needs_an_epoch(tmp_path):
    (tmp_path / "g.par").write_text(_FAST_PAR + "GLEP_1 55000\nGLPH_1 0.1\nGLF0_1 1e-7\n")
    _fast_tim(tmp_path / "g.tim", n=50)
    model = build_model(read_par(tmp_path / "g.par"), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")
    assert model.structure.glitches == ("1",) and {"GLEP_1", "GLPH_1", "GLF0_1", "GLTD_1"} <= set(model.names)
    jac = jax.jacfwd(lambda p: model.residual_fn(p, model.data)["phase"])(model.zero_params())
    after = model.prep.tdb.as_float()[:-1] > 55000.01
    assert np.all(np.asarray(jac["GLPH_1"])[after] != 0) and np.all(np.asarray(jac["GLPH_1"])[~after] == 0)
    (tmp_path / "bad.par").write_text(_FAST_PAR + "GLPH_2 0.1\n")
    with pytest.raises(InputError, match="glitch 2 has parameters but no GLEP_2"):
        build_model(read_par(tmp_path / "bad.par"), read_tim(tmp_path / "g.tim"), ephem_file=EPHEM_DIR / "de421.bsp")


@pytest.mark.parametrize("name", ["B1855+09_9yv1", "J1713+0747"])
def test_autodiff_matches_extended_precision_finite_differences(name):
    """Every free parameter (B1855+09_9yv1: DD, DMX, FD, JUMPs, 90 free; J1713+0747: DDK, 54 free): jacfwd
    against Ridders-extrapolated central differences of the same model evaluated in longdouble.

    In float64 the differences' own rounding (~1e-12 s) leaves the DDK angles KIN/KOM only ~2e-6 relative;
    in longdouble the differences are good to ~1e-9, so the 1e-6 check is a check of the derivatives.
    """
    require_extended_longdouble()
    model = _model(name)
    p0 = model.zero_params()
    fn = lambda p: model.residual_fn(p, model.data)["time_s"]  # noqa: E731
    jac = jax.jit(jax.jacfwd(fn))(p0)
    in_longdouble = extended(fn, p0)
    assert len(model.free) == {"B1855+09_9yv1": 90, "J1713+0747": 54}[name]
    bad = {}
    for par_name in model.free:
        col = np.asarray(jac[par_name])
        scale = np.abs(col).max()
        assert scale > 0, par_name
        numeric, estimate = ridders_derivative(lambda x: in_longdouble(dict(p0, **{par_name: x})),
                                               np.longdouble(p0[par_name]), np.longdouble(1e-6 / scale))
        error = float(np.abs(numeric - col).max() / scale)
        if error > 1e-6 or estimate / scale > 1e-7:
            bad[par_name] = (error, float(estimate / scale))
    assert not bad, bad
