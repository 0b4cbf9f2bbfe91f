"""Simulate then fit: zero-residual TOAs, seeded noise, and a fit from a perturbed start recovering the truth."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLOCK_DIR, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jugbayes.cli import main
from jugbayes.errors import JugbayesError

from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim, write_tim
from jugbayes.model.noise import noise_for_model
from jugbayes.model.timing_model import build_model
from jugbayes.report.fitted_par import fitted_values
from jugbayes.simulate import ObservingPlan, observing_pattern, simulate, simulate_plan, zero_residual_toas

EXAMPLE = ROOT / "models" / "isolated_msp"


@pytest.fixture(scope="module")
def truth():
    return read_par(EXAMPLE / "isolated_msp.par")


@pytest.fixture(scope="module")
def template():
    return read_tim(EXAMPLE / "isolated_msp.tim")


def test_zero_residual_toas(truth, template):
    exact = zero_residual_toas(truth, template)
    resid = np.asarray(build_model(truth, exact).residuals()["time_s"])
    assert np.abs(resid).max() < 1e-10
    assert exact.obs == template.obs and np.array_equal(exact.freq_mhz, template.freq_mhz)


def test_same_seed_same_file(truth, template, tmp_path):
    a, b, c = (simulate(truth, template, seed=s) for s in (3, 3, 4))
    write_tim(a, tmp_path / "a.tim")
    write_tim(b, tmp_path / "b.tim")
    write_tim(c, tmp_path / "c.tim")
    assert (tmp_path / "a.tim").read_text() == (tmp_path / "b.tim").read_text() != (tmp_path / "c.tim").read_text()


def test_fit_from_perturbed_start_recovers_truth(truth, template, tmp_path):
    toas = simulate(truth, template, seed=11)
    text = (EXAMPLE / "isolated_msp.par").read_text()
    perturbed = (text.replace("218.81184379608264", "218.81184379608364")  # +1e-12 Hz, ~16 sigma
                 .replace("10.3912 ", "10.3922 ").replace("0.85  ", "1.35  "))
    (tmp_path / "start.par").write_text(perturbed)
    start = read_par(tmp_path / "start.par")
    model = build_model(start, toas)
    result = fit_wls(model, noise=noise_for_model(model))
    assert result.converged
    values = {v.name: v for v in fitted_values(model, result)}
    true = {p.name: p.as_float() for p in truth.params.values() if p.name in values}
    pulls = {n: (float(values[n].value) - true[n]) / values[n].uncertainty for n in true}
    assert all(abs(p) < 3 for p in pulls.values()), pulls
    expected = result.dof
    assert abs(result.chi2 - expected) < 5 * np.sqrt(2 * expected), (result.chi2, expected)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(53500, 57500), span=st.floats(20.0, 2000.0), ntoa=st.integers(1, 40),
       sites=st.lists(st.sampled_from(["coe", "gbt", "ao"]), min_size=1, max_size=2, unique=True),
       freqs=st.lists(st.sampled_from([430.0, 820.0, 1400.0, 2300.0]), min_size=1, max_size=3, unique=True),
       seed=st.integers(0, 2**31 - 1))
def test_planned_toas_without_noise_have_zero_residual(truth, tmp_path, start, span, ntoa, sites, freqs, seed):
    """Written to a .tim, read back and evaluated by a fresh model: every residual is below 1 ns."""
    plan = ObservingPlan(start, start + span, ntoa, obs=tuple(sites), freqs_mhz=tuple(freqs), error_us=0.7)
    toas = simulate_plan(truth, plan, seed=seed, noise=False, clock_dir=CLOCK_DIR)
    write_tim(toas, tmp_path / "sim.tim")
    back = read_tim(tmp_path / "sim.tim")
    assert len(back) == ntoa
    resid = np.asarray(build_model(truth, back, clock_dir=CLOCK_DIR).residuals()["time_s"])
    assert np.abs(resid).max() < 1e-9


def test_plan_layout_is_realistic(truth):
    """Exact count, epochs near the cadence, sub-bands around each centre, flags for noise selectors."""
    plan = ObservingPlan(55000.0, 56000.0, 200, cadence_days=50.0, obs=("gbt", "ao"), freqs_mhz=(820.0, 1400.0),
                         error_us=0.5)
    toas = observing_pattern(truth, plan, seed=2)
    mjd = toas.mjd
    assert len(toas) == 200 and mjd.min() >= 55000.0 and mjd.max() < 56001.0
    assert set(toas.obs) == {"gbt", "arecibo"}
    days = np.unique(np.floor(mjd[np.array(toas.obs) == "gbt"]))
    assert len(days) == 20 and 30 < np.median(np.diff(days)) < 70
    for centre in (820.0, 1400.0):
        sel = np.array([f["fe"] == f"Rcvr_{centre:g}" for f in toas.flags])
        assert np.all(np.abs(toas.freq_mhz[sel] / centre - 1) <= 0.125)
    assert {f["f"] for f in toas.flags} == {"Rcvr_820_GUPPI", "Rcvr_1400_GUPPI", "Rcvr_820_PUPPI", "Rcvr_1400_PUPPI"}
    assert 0.3 < np.median(toas.error_us) < 0.8


def test_plan_observes_above_the_horizon(truth):
    """Every GBT TOA has the pulsar above 20 deg elevation (astropy's alt-az as the independent check)."""
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time
    from astropy.utils import iers

    from jugbayes.geometry.sites import sites

    iers.conf.auto_download = False
    toas = observing_pattern(truth, ObservingPlan(55000.0, 58000.0, 120, obs=("gbt",)), seed=5)
    src = SkyCoord(truth["RAJ"].as_float() * 15 * u.deg, truth["DECJ"].as_float() * u.deg)
    where = EarthLocation.from_geocentric(*sites()["gbt"].itrf_xyz_m, unit=u.m)
    alt = src.transform_to(AltAz(obstime=Time(toas.mjd, format="mjd", scale="utc"), location=where)).alt.deg
    assert alt.min() > 19.5


def test_plan_same_seed_same_file(truth, tmp_path):
    plan = ObservingPlan(55000.0, 55400.0, 30, obs=("coe",), freqs_mhz=(820.0, 1400.0))
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        write_tim(simulate_plan(truth, plan, seed=seed), tmp_path / f"{name}.tim")
    a, b, c = ((tmp_path / f"{n}.tim").read_text() for n in "abc")
    assert a == b != c


@pytest.mark.parametrize("plan, message", [
    (ObservingPlan(55000.0, 54000.0, 10), "end must come after the start"),
    (ObservingPlan(55000.0, 56000.0, 0), "--ntoa 0"),
    (ObservingPlan(55000.0, 56000.0, 10, cadence_days=-3.0), "--cadence-days"),
    (ObservingPlan(55000.0, 56000.0, 10, freqs_mhz=(-1.0,)), "--freqs"),
    (ObservingPlan(55000.0, 56000.0, 10, error_us=0.0), "--error-us"),
    (ObservingPlan(55000.0, 56000.0, 10, obs=("nowhere",)), "unknown observatory code 'nowhere'"),
    (ObservingPlan(55000.0, 56000.0, 10, obs=("parkes",)), "never rises"),  # Dec +56 from Parkes
])
def test_plan_bad_options(truth, plan, message):
    with pytest.raises(JugbayesError, match=message):
        observing_pattern(truth, plan)


@pytest.mark.parametrize("extra, message", [
    ([], "give a template TIM, or --start, --end and --ntoa"),
    (["--start", "55000", "--end", "56000"], "missing --ntoa"),
    ([str(EXAMPLE / "isolated_msp.tim"), "--ntoa", "5"], "not both"),
    (["--start", "55000", "--end", "56000", "--ntoa", "5", "--freqs", "1400,x"], "comma-separated numbers"),
])
def test_cli_simulate_bad_options(tmp_path, capsys, extra, message):
    rc = main(["simulate", str(EXAMPLE / "isolated_msp.par"), *extra, "--out", str(tmp_path / "x.tim")])
    assert rc != 0 and message in capsys.readouterr().err
    assert not (tmp_path / "x.tim").exists()


def test_cli_simulate_layout(tmp_path):
    out = tmp_path / "sim.tim"
    rc = main(["simulate", str(EXAMPLE / "isolated_msp.par"), "--start", "55000", "--end", "55500", "--ntoa", "24",
               "--freqs", "820,1400", "--error-us", "0.5", "--seed", "3", "--no-noise", "--out", str(out)])
    assert rc == 0
    toas = read_tim(out)
    assert len(toas) == 24
    resid = np.asarray(build_model(read_par(EXAMPLE / "isolated_msp.par"), toas).residuals()["time_s"])
    assert np.abs(resid).max() < 1e-9


EXAMPLES = ["isolated_msp", "ell1_shapiro", "dd_binary"]


def _truth_pulls(par, model, result) -> dict:
    values = {v.name: v for v in fitted_values(model, result)}
    return {n: (float(values[n].value) - par[n].as_float()) / values[n].uncertainty
            for n in values if par.get(n) is not None and n != "JUMP1"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_bundled_example_fit_recovers_truth(name, tmp_path):
    """Every third TOA of each bundled example: a GLS fit lands within 3 sigma of the .par (the truth)."""
    lines = (ROOT / "models" / name / f"{name}.tim").read_text().splitlines()
    header = [ln for ln in lines if not ln.startswith(("gbt_", "asp_", "guppi_"))]
    toas_lines = [ln for ln in lines if ln not in header]
    (tmp_path / "sub.tim").write_text("\n".join(header + toas_lines[::3]) + "\n")
    par = read_par(ROOT / "models" / name / f"{name}.par")
    model = build_model(par, read_tim(tmp_path / "sub.tim"))
    result = fit_wls(model, noise=noise_for_model(model))
    assert result.converged and len(result.names) >= 9
    pulls = _truth_pulls(par, model, result)
    assert all(abs(p) < 3 for p in pulls.values()), pulls


@pytest.mark.slow
def test_examples_are_regenerated_byte_for_byte(tmp_path, monkeypatch):
    """models/make_examples.py reproduces the committed .tim files (here: the ELL1 one, into a scratch dir)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "models" / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    mod._write_example("ell1_shapiro", mod.ELL1_PAR, mod.binary_tim(seed=2), seed=2)
    for ext in ("par", "tim"):
        committed = (ROOT / "models" / "ell1_shapiro" / f"ell1_shapiro.{ext}").read_text()
        assert (tmp_path / "ell1_shapiro" / f"ell1_shapiro.{ext}").read_text() == committed


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_bundled_example_cli_fit_full(name, tmp_path):
    """`jugbayes fit EXAMPLE.par EXAMPLE.tim --method wls` on all TOAs recovers the truth within 3 sigma."""
    import json

    par_path = ROOT / "models" / name / f"{name}.par"
    rc = main(["fit", str(par_path), str(par_path.with_suffix(".tim")), "--method", "wls",
               "--summary", str(tmp_path / "fit.json")])
    assert rc == 0
    summary = json.loads((tmp_path / "fit.json").read_text())
    par = read_par(par_path)
    for n, p in summary["params"].items():
        if n != "JUMP1" and par.get(n) is not None:
            assert abs(float(p["value"]) - par[n].as_float()) < 3 * p["uncertainty"], (n, p)


def test_wideband_dm_measurements_are_simulated_with_their_errors(tmp_path):
    """Wideband TOAs (NANOGrav 12.5-yr B1855+09): without noise the model predicts every TOA and every DM
    measurement; with noise the DM residuals are N(0, DMEFAC/DMEQUAD-scaled -pp_dme), seeded, and survive the .tim."""
    from conftest import DATASETS, EPHEM_DIR

    stem = DATASETS / "wideband_12yv3" / "B1855+09_NANOGrav_12yv3.wb"
    par, template = read_par(f"{stem}.gls_DE421.par", warn=False), read_tim(f"{stem}.tim")
    kw = dict(clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = build_model(par, simulate(par, template, noise=False, **kw), **kw).residuals()
        assert np.abs(exact["time_s"]).max() < 1e-10 and np.abs(exact["dm_resid_pc_cm3"]).max() < 1e-12
        noisy = simulate(par, template, seed=4, **kw)
        write_tim(noisy, tmp_path / "wb.tim")
        again = read_tim(tmp_path / "wb.tim")
        assert [f["pp_dm"] for f in again.flags] == [f["pp_dm"] for f in noisy.flags]
        model = build_model(par, again, **kw)
    z = np.asarray(model.residuals()["dm_resid_pc_cm3"]) / noise_for_model(model).wb_sigma_pc_cm3
    n = len(z)
    assert n == len(template) and abs(z.mean()) < 4 / np.sqrt(n), z.mean()
    assert abs(np.sum(z ** 2) - n) < 4 * np.sqrt(2 * n), (np.sum(z ** 2), n)
    assert [f["pp_dm"] for f in simulate(par, template, seed=4, **kw).flags] == [f["pp_dm"] for f in noisy.flags]
