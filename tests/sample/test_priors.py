"""Priors from TOML configs and their transforms: clear errors, bounds honoured, Jacobians right."""

from __future__ import annotations

import math
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT

from jugbayes.errors import InputError
from jugbayes.io import read_par, read_tim
from jugbayes.model.timing_model import build_model
from jugbayes.sample import priors as pr

T_SUN_S = 4.925490947641267e-06  # G Msun / c^3 (IAU 2015 nominal), the M2 factor

ELL1_PAR = """\
PSRJ           J1910-5959
RAJ            19:10:00.0
DECJ           -59:59:00.0
F0             300.123456789            1
F1             -1.5e-15                 1
PEPOCH         56000
POSEPOCH       56000
DM             10.0
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
PLANET_SHAPIRO N
TZRMJD         56000.1
TZRFRQ         1400
TZRSITE        coe
BINARY         ELL1
PB             1.533449                 1
A1             1.897991                 1
TASC           56000.36                 1
EPS1           1e-7                     1
EPS2           -2e-7                    1
SINI           {sini}                   1
M2             0.21                     1
"""


def ell1_files(directory, *, sini: str = "0.999", n: int = 300, error_us: float = 2.0, seed: int = 2):
    """An edge-on ELL1 binary .par and a geocentric one-frequency template .tim (offline: TT(TAI), DE421)."""
    par = directory / "ell1.par"
    par.write_text(ELL1_PAR.format(sini=sini))
    mjd = np.sort(55700.0 + np.random.default_rng(seed).uniform(0.0, 600.0, n))
    lines = ["FORMAT 1"] + [f"t{i} 1400.0 {m:.13f} {error_us} coe" for i, m in enumerate(mjd)]
    tim = directory / "ell1.tim"
    tim.write_text("\n".join(lines) + "\n")
    return par, tim


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    par, tim = ell1_files(tmp_path_factory.mktemp("ell1"), n=20)
    return build_model(read_par(par), read_tim(tim))


def _config(tmp_path, text: str) -> pr.PriorConfig:
    path = tmp_path / "priors.toml"
    path.write_text(text)
    return pr.read_config(path)


NAMES = ("F0", "SINI", "M2", "A1")
CENTER = np.array([0.0, 0.0005, 0.0, 0.0])  # offsets (model units): SINI fitted at 0.9995
SIGMA = np.array([1e-12, 0.001, 0.03 * T_SUN_S, 1e-6])


@pytest.mark.parametrize("text, needle", [
    ('[priors]\nSINI = { kind = "flat", lower = 0, upper = 1 }\n', "unknown prior kind 'flat'"),
    ('[priors]\nSINI = { kind = "uniform", lower = 0.99, upper = 0.98 }\n', "lower 0.99 must be below upper 0.98"),
    ('[priors]\nSINI = { kind = "uniform", lower = 0.9 }\n', "uniform needs upper"),
    ('[priors]\nM2 = { kind = "log-uniform", lower = 0, upper = 1 }\n', "log-uniform needs lower > 0"),
    ('[priors]\nPX = { kind = "normal", mu = 1, sigma = -1 }\n', "normal needs sigma > 0"),
    ('[priors]\nSINI = { kind = "uniform", lower = "a", upper = 1 }\n', "expected a number"),
    ('[priors]\nSINI = { kind = "normal", mu = 1, sigma = 1, lower = 0 }\n', "not 'lower'"),
    ('[sampler]\nchain = 4\n', "unknown setting"),
    ('[sampler]\nK = -1\n', "K must be positive"),
    ('[sampler]\ndense_mass = 1\n', "expected true/false"),
    ('[prior]\nSINI = 1\n', "unknown table [prior]"),
    ('[bounds]\nPX = [1]\n', "expected [lower, upper]"),
    ('[priors]\nSINI = { kind = "uniform" lower = 0 }\n', "not valid TOML"),
])
def test_bad_config_names_file_and_key(tmp_path, text, needle):
    with pytest.raises(InputError) as err:
        _config(tmp_path, text)
    assert needle in str(err.value) and "priors.toml" in str(err.value)


def test_error_gives_the_line_of_the_key(tmp_path):
    with pytest.raises(InputError) as err:
        _config(tmp_path, '# c\n[sampler]\nK = 5\n\n[priors]\nSINI = { kind = "flat" }\n')
    assert err.value.line == 6


@pytest.mark.parametrize("text, needle", [
    ('[priors]\nPX = { kind = "normal", mu = 1, sigma = 0.1 }\n', "PX: not a sampled parameter"),
    ('[priors]\nSINI = { kind = "uniform", lower = 0.9, upper = 0.99 }\n', "WLS value 0.9995"),
    ('[priors]\nF0 = { kind = "bounded" }\n', "F0 has no physical bounds"),
    ('[priors]\nF0 = { kind = "log-uniform", lower = 1, upper = 1000 }\n', "float64 resolves"),
    ('[priors]\nSINI = { kind = "uniform", lower = 1.5, upper = 2 }\n', "does not overlap"),
    ('[bounds]\nNOTAPARAM = [0, 1]\n', "not a .par parameter name"),
])
def test_config_checked_against_the_model(tmp_path, model, text, needle):
    cfg = _config(tmp_path, text)
    with pytest.raises(InputError) as err:
        pr.resolve_priors(model, NAMES, CENTER, SIGMA, cfg)
    assert needle in str(err.value) and "priors.toml" in str(err.value)


def test_prior_on_a_marginalised_parameter_is_refused(tmp_path, model):
    cfg = _config(tmp_path, '[priors]\nA1 = { kind = "uniform", lower = 1.8, upper = 2 }\n')
    with pytest.raises(InputError, match="marginalised analytically"):
        pr.resolve_priors(model, NAMES[:3], CENTER[:3], SIGMA[:3], cfg, marginalized=("A1",))


def test_defaults_box_within_physical_bounds(model):
    by = {p.par_name: p for p in pr.resolve_priors(model, NAMES, CENTER, SIGMA, K=50)}
    assert by["SINI"].upper == 1 and float(by["SINI"].lower) == pytest.approx(0.9995 - 0.05)  # box cut at SINI = 1
    assert by["M2"].lower == 0 and float(by["M2"].upper) == pytest.approx(0.21 + 1.5)  # M2 > 0 cuts the box
    assert float(by["F0"].upper - by["F0"].lower) == pytest.approx(100e-12, rel=1e-9)
    assert all(p.transform == "interval" and p.K == 50 for p in by.values())
    d = by["SINI"].describe()
    assert d["kind"] == "uniform" and d["upper"] == "1.0" and d["K"] == 50


def test_px_unbounded_by_default_and_bounds_table_overrides(tmp_path, model):
    assert pr.physical_bounds(model, "PX", None) == (-math.inf, math.inf)
    cfg = _config(tmp_path, "[bounds]\nPX = [0.0, inf]\nSINI = [0.5, 1.0]\n")
    assert pr.physical_bounds(model, "PX", cfg) == (0.0, math.inf)
    by = {p.par_name: p for p in pr.resolve_priors(model, NAMES, CENTER, SIGMA, cfg)}
    assert float(by["SINI"].lower) == pytest.approx(0.9495)  # the box, inside the new bounds


def test_config_priors_in_par_units(tmp_path, model):
    cfg = _config(tmp_path, '[priors]\nSINI = { kind = "uniform", lower = 0.99, upper = 1.5 }\n'
                            'M2 = { kind = "log-uniform", lower = 0.01, upper = 2 }\n'
                            'A1 = { kind = "normal", mu = 1.898, sigma = 0.001 }\n'
                            'F0 = { kind = "uniform", lower = 300.12345678, upper = 300.1234568 }\n')
    by = {p.par_name: p for p in pr.resolve_priors(model, NAMES, CENTER, SIGMA, cfg)}
    assert (by["SINI"].lo, by["SINI"].hi) == pytest.approx((-0.009, 0.001), abs=1e-15)  # upper cut to 1
    assert by["M2"].transform == "log-interval" and by["M2"].hi == pytest.approx(math.log(2.0))
    # A1 >= 0 lies 1898 sigma below mu: dropped (NORMAL_REACH), so the transform is the identity
    assert by["A1"].mu == pytest.approx(0.000009, abs=1e-15) and by["A1"].transform == "real"
    assert by["F0"].lo == pytest.approx(-0.000000009, rel=1e-9)  # exact difference from the .par's F0


def test_normal_priors_keep_only_near_physical_bounds(tmp_path, model):
    """A normal prior is truncated at a physical bound within NORMAL_REACH sigma of mu (SINI <= 1 here) and not
    at one far out in its tail (SINI >= 0, PB > 0), whose transform would cost float64 resolution: a normal PB
    prior was refused ("narrow the range") before, with no way to narrow it."""
    cfg = _config(tmp_path, '[priors]\nSINI = { kind = "normal", mu = 0.999, sigma = 0.001 }\n'
                            'PB = { kind = "normal", mu = 1.533449, sigma = 1e-6 }\n')
    names = ("SINI", "PB")
    by = {p.par_name: p for p in pr.resolve_priors(model, names, np.zeros(2), np.array([0.001, 0.05]), cfg)}
    assert by["SINI"].transform == "upper" and by["SINI"].hi == pytest.approx(0.001, abs=1e-15)
    assert by["PB"].transform == "real" and by["PB"].sd == pytest.approx(1e-6 * 86400.0)
    far = _config(tmp_path, '[priors]\nSINI = { kind = "normal", mu = 1.5, sigma = 0.01 }\n')
    (sini,) = pr.resolve_priors(model, ("SINI",), np.zeros(1), np.array([0.001]), far)
    assert sini.transform == "interval"  # mu outside the bounds: both kept, the prior lives against SINI = 1


def _priors_for_transforms(model, tmp_path):
    cfg = _config(tmp_path, '[priors]\nM2 = { kind = "log-uniform", lower = 0.01, upper = 2 }\n'
                            'A1 = { kind = "bounded", upper = 1.9 }\n')
    return pr.resolve_priors(model, NAMES, CENTER, SIGMA, cfg)


def test_transforms_stay_inside_and_finite(model, tmp_path):
    priors = _priors_for_transforms(model, tmp_path)
    t = pr.Transforms(priors)
    for u in (np.full(4, -700.0), np.full(4, 700.0), np.zeros(4)):
        theta, logp = t.forward(jnp.asarray(u))
        assert np.isfinite(float(logp))
        for p, th in zip(priors, np.asarray(theta)):
            lo, hi = pr._theta_bounds(p)
            assert lo - 1e-12 * abs(lo) <= th <= hi + 1e-12 * abs(hi)


def test_jacobian_integrates_to_the_prior_volume(model, tmp_path):
    """Integral over u of exp(log Jacobian) = the prior's mass: (hi - lo) for uniform, ln(hi/lo) for log-uniform.

    The uniform and log-uniform priors are unnormalised (densities 1 and 1/x), so these are the integrals of
    those densities over their ranges: independent of the code's formulas.
    """
    by = {p.par_name: p for p in _priors_for_transforms(model, tmp_path)}
    u = np.linspace(-60.0, 60.0, 200001)
    for name, mass in (("SINI", 1.0 - 0.9495), ("M2", math.log(2.0 / 0.01)), ("A1", 1.9)):
        t = pr.Transforms([by[name]])
        logp = jax.vmap(lambda x: t.forward(x[None])[1])(jnp.asarray(u))
        assert np.trapezoid(np.exp(np.asarray(logp)), u) == pytest.approx(mass, rel=1e-6), name


def test_unconstrained_round_trip_and_derivative(model, tmp_path):
    priors = _priors_for_transforms(model, tmp_path)
    t = pr.Transforms(priors)
    theta0 = np.array([pr.start_point(p, c, s) for p, c, s in zip(priors, CENTER, SIGMA)])
    u0 = np.array([pr.to_unconstrained(p, x) for p, x in zip(priors, theta0)])
    np.testing.assert_allclose(np.asarray(t.forward(jnp.asarray(u0))[0]), theta0, rtol=1e-9, atol=1e-20)
    jac = np.asarray(jnp.diag(jax.jacfwd(lambda u: t.forward(u)[0])(jnp.asarray(u0))))
    np.testing.assert_allclose(jac, [pr.dtheta_du(p, u) for p, u in zip(priors, u0)], rtol=1e-9)


def test_start_point_moves_inside_the_support(model):
    by = {p.par_name: p for p in pr.resolve_priors(model, NAMES, np.array([0, 0.002, 0, 0]), SIGMA)}
    # SINI fitted at 1.001 (outside): the start is half a sigma inside the bound
    assert pr.start_point(by["SINI"], 0.002, 0.001) == pytest.approx(0.001 - 0.0005)


def test_bundled_default_config_matches_the_code():
    path = ROOT / "configs" / "priors_default.toml"
    cfg = pr.read_config(path)
    data = tomllib.loads(path.read_text())
    assert cfg.K == pr.DEFAULT_K and not data.get("priors")
    assert {k: v for k, v in cfg.sampler.items() if k != "K"} == pr.SAMPLER_DEFAULTS
    assert cfg.bounds == pr.PHYSICAL_BOUNDS


def test_sampler_settings_cli_over_config_over_default(tmp_path):
    cfg = _config(tmp_path, "[sampler]\nchains = 2\nseed = 7\ndense_mass = true\n")
    s = pr.sampler_settings(cfg, chains=None, warmup=None, samples=50, seed=None, dense_mass=None)
    assert s == {"chains": 2, "warmup": 500, "samples": 50, "seed": 7, "dense_mass": True}
