"""NUTS against the WLS fit where the problem is linear (NGC6440E: F0, F1, RAJ, DECJ, DM, white noise); analytic
marginalisation on and off on a small simulated set; bounded, skewed SINI/M2 for an edge-on binary; sampled EFACs."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, ROOT

from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.timing_model import build_model
from jugbayes.model.noise import noise_for_model
from jugbayes.report.posterior import inference_data
from jugbayes.sample.nuts import sample_nuts
from jugbayes.sample.posterior import _whitening
from jugbayes.simulate import simulate

ISOLATED_PAR = """\
PSRJ           J0101+0101
RAJ            01:01:00.0
DECJ           +01:01:00.0
F0             200.123456789            1
F1             -1.0e-15                 1
PEPOCH         56000
POSEPOCH       56000
DM             20.0
EPHEM          DE421
CLK            TT(TAI)
UNITS          TDB
PLANET_SHAPIRO N
TZRMJD         56000.1
TZRFRQ         1400
TZRSITE        coe
FD1            2e-6                     1
JUMP           -fe B                    1e-5  1
DMX            30
DMX_0001       0.001                    1
DMXR1_0001     55600
DMXR2_0001     55900
DMX_0002       -0.002                   1
DMXR1_0002     55900
DMXR2_0002     56200
DMX_0003       0.0005                   1
DMXR1_0003     56200
DMXR2_0003     56500
{noise}"""


def isolated_files(directory, noise: str = "", epochs: int = 24):
    """An isolated pulsar with JUMP, DMX and FD (offline: geocentre, TT(TAI)); two receivers, 4 sub-bands each."""
    par = directory / "iso.par"
    par.write_text(ISOLATED_PAR.format(noise=noise))
    rng = np.random.default_rng(5)
    lines, k = ["FORMAT 1"], 0
    for day in np.linspace(55610.0, 56490.0, epochs):
        for fe, centre in (("A", 1400.0), ("B", 800.0)):
            t = day + rng.uniform(0.1, 0.4)
            for off in (-150.0, -50.0, 50.0, 150.0) if fe == "A" else (-60.0, -20.0, 20.0, 60.0):
                lines.append(f"t{k} {centre + off:.1f} {t:.13f} {rng.uniform(0.5, 1.5):.3f} coe -fe {fe}")
                k += 1
    tim = directory / "iso.tim"
    tim.write_text("\n".join(lines) + "\n")
    return par, tim


def _simulated_model(par, tim, seed: int, fit_par=None):
    """Simulate TOAs from ``par`` (noise included) and build the model of ``fit_par`` (default: ``par``) over them."""
    toas = simulate(read_par(par), read_tim(tim), seed=seed)
    return build_model(read_par(fit_par or par), toas)


def ngc_model_and_fit():
    """NGC6440E (shared data, PINT's clock reading) and its WLS fit."""
    par = read_par(DATASETS / "NGC6440E" / "NGC6440E.par", warn=False)
    model = build_model(par, read_tim(DATASETS / "NGC6440E" / "NGC6440E.tim"), clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    return model, fit_wls(model)


@pytest.fixture(scope="module")
def ngc():
    model, fit = ngc_model_and_fit()
    return model, fit, sample_nuts(model, fit, chains=4, warmup=500, samples=1000, seed=1)


def test_linear_posterior_matches_wls(ngc):
    """Posterior means within 0.1 sigma, sds within 5%, covariance within 10% (relative Frobenius)."""
    model, fit, post = ngc
    idx = [fit.names.index(n) for n in post.names]
    flat = post.samples.reshape(-1, len(post.names))
    sigma = fit.sigma[idx]
    assert np.all(np.abs(flat.mean(0) - fit.offsets[idx]) <= 0.1 * sigma)
    assert np.all(np.abs(flat.std(0) / sigma - 1) <= 0.05), flat.std(0) / sigma
    d = np.diag(1 / sigma)
    cov_fit = d @ fit.covariance[np.ix_(idx, idx)] @ d
    cov_post = d @ np.cov(flat.T) @ d
    assert np.linalg.norm(cov_post - cov_fit) / np.linalg.norm(cov_fit) <= 0.10
    assert post.sample_stats["diverging"].sum() == 0 and post.sample_stats["num_steps"].mean() < 16


def test_inference_data_in_par_units(ngc):
    import arviz as az

    model, fit, post = ngc
    idata = inference_data(model, post, fit)
    assert set(idata.posterior.data_vars) == {"F0", "F1", "RAJ", "DECJ", "DM"}
    assert idata.posterior["RAJ"].shape == (4, 1000)
    assert float(idata.posterior["RAJ"].mean()) == pytest.approx(17.8146667630, abs=1e-8)  # hours
    summary = az.summary(idata)
    assert (summary["r_hat"] < 1.01).all() and (summary["ess_bulk"] > 400).all()


def test_same_seed_same_samples_whichever_process_runs_the_chains(ngc, capsys):
    """The fixture ran 4 chains one after another in this process; 2 of them again in 2 pinned worker processes
    (with the progress bar fed through their queue) give the same draws bit for bit: chain c's key depends only
    on the seed and c, not on the number of chains or where they ran."""
    model, fit, post = ngc
    again = sample_nuts(model, fit, chains=2, warmup=500, samples=1000, seed=1, workers=2, progress=True)
    np.testing.assert_array_equal(again.samples, post.samples[:2])
    for key, value in again.sample_stats.items():
        np.testing.assert_array_equal(value, post.sample_stats[key][:2])
    assert "3000/3000" in capsys.readouterr().err  # every iteration of both chains reached the bar


def test_blackjax_backend_agrees_with_numpyro(ngc):
    """The same posterior sampled by BlackJAX (window adaptation; 2 chains x 1000) and by NumPyro (the fixture's
    4 x 1000): means and sds within Monte Carlo error, the same result fields and sample stats."""
    model, fit, post = ngc
    bj = sample_nuts(model, fit, chains=2, warmup=500, samples=1000, seed=1, backend="blackjax")
    assert bj.names == post.names and bj.samples.shape == (2, 1000, len(post.names))
    assert set(bj.sample_stats) == set(post.sample_stats)
    assert all(v.shape == (2, 1000) for v in bj.sample_stats.values())
    for i in range(len(post.names)):
        _mc_agree(bj.samples[:, :, i], post.samples[:, :, i])
    assert bj.sample_stats["diverging"].sum() == 0 and bj.sample_stats["num_steps"].mean() < 16
    np.testing.assert_array_equal(bj.whitening, post.whitening)
    assert bj.priors == post.priors and bj.start == post.start


def test_merged_chains_come_back_in_index_order():
    from jugbayes.sample.chains import merge_chains
    from jugbayes.sample.nuts import NutsResult

    def part(chains):  # each draw holds its chain index
        values = np.array(chains, dtype=float)[:, None, None] * np.ones((1, 3, 2))
        return NutsResult(("A", "B"), values, {"num_steps": values[..., 0]}, np.eye(2), np.zeros(2),
                          linear_mean=values[..., :1])

    merged = merge_chains([part((0, 2, 4)), part((1, 3))], [(0, 2, 4), (1, 3)])
    assert merged.samples.shape == (5, 3, 2) and merged.linear_mean.shape == (5, 3, 1)
    np.testing.assert_array_equal(merged.samples[:, 0, 0], np.arange(5))
    np.testing.assert_array_equal(merged.linear_mean[:, 0, 0], np.arange(5))
    assert merged.sample_stats["num_steps"].shape == (5, 3)
    np.testing.assert_array_equal(merged.sample_stats["num_steps"][:, 0], np.arange(5))


def test_whitening_is_unit_free_and_drops_degenerate_directions():
    cov = np.diag([1e-22, 1e2, 1.0])
    cov[1, 2] = cov[2, 1] = 10.0  # perfectly correlated pair: one direction has zero variance
    w = _whitening(cov)
    assert w.shape == (3, 2)
    np.testing.assert_allclose(w @ w.T, cov, atol=1e-9 * 1e2, rtol=1e-9)


def _mc_agree(a: np.ndarray, b: np.ndarray, n_sigma: float = 4.0) -> None:
    """Means and sds of two sets of draws (chains, draws) agree within Monte Carlo error (ESS-based)."""
    import arviz as az

    ess_a, ess_b = float(az.ess(a)), float(az.ess(b))
    sd_a, sd_b = a.std(), b.std()
    se_mean = np.hypot(sd_a / np.sqrt(ess_a), sd_b / np.sqrt(ess_b))
    assert abs(a.mean() - b.mean()) < n_sigma * se_mean, (a.mean(), b.mean(), se_mean)
    se_ratio = np.sqrt(1 / (2 * ess_a) + 1 / (2 * ess_b))
    assert abs(sd_a / sd_b - 1) < n_sigma * se_ratio, (sd_a, sd_b, se_ratio)


def _mc_agree_quantiles(a: np.ndarray, b: np.ndarray, n_sigma: float = 4.0) -> None:
    """Medians and 68% half-widths of two sets of draws agree within Monte Carlo error: for noise parameters,
    whose long prior-bounded tails make the sd (and its ESS-based error) a fragile figure at short chains."""
    import arviz as az

    ess_a, ess_b = float(az.ess(a)), float(az.ess(b))
    (lo_a, med_a, hi_a), (lo_b, med_b, hi_b) = np.percentile(a, [15.87, 50, 84.13]), np.percentile(b, [15.87, 50, 84.13])
    w_a, w_b = (hi_a - lo_a) / 2, (hi_b - lo_b) / 2
    se_median = 1.2533 * np.hypot(w_a / np.sqrt(ess_a), w_b / np.sqrt(ess_b))  # Gaussian: sqrt(pi / 2) sd / sqrt(n)
    assert abs(med_a - med_b) < n_sigma * se_median, (med_a, med_b, se_median)
    se_ratio = np.sqrt(1.15 / ess_a + 1.15 / ess_b)  # relative error of a 68% half-width (Gaussian)
    assert abs(w_a / w_b - 1) < n_sigma * se_ratio, (w_a, w_b, se_ratio)


def test_simulated_isolated_linear_posterior_matches_wls(tmp_path):
    """Simulated isolated pulsar, F0, F1, RAJ, DECJ and DM free, white noise fixed: the posterior is the WLS
    Gaussian (means within 0.1 sigma, sds within 5%, covariance within 10% relative Frobenius)."""
    par, tim = isolated_files(tmp_path, epochs=16)
    lines = []
    for line in par.read_text().splitlines():
        words = line.split()
        if words and words[0] in ("FD1", "DMX_0001", "DMX_0002", "DMX_0003"):
            line = " ".join(words[:2])  # held
        elif words and words[0] == "JUMP":
            line = " ".join(words[:4])
        elif words and words[0] in ("RAJ", "DECJ", "DM"):
            line = " ".join(words[:2]) + " 1"
        lines.append(line)
    fit_par = tmp_path / "fit.par"
    fit_par.write_text("\n".join(lines) + "\n")
    model = _simulated_model(par, tim, seed=8, fit_par=fit_par)
    fit = fit_wls(model)
    post = sample_nuts(model, fit, chains=2, warmup=300, samples=1000, seed=2)
    assert set(post.names) == {"F0", "F1", "RAJ", "DECJ", "DM"}
    idx = [fit.names.index(n) for n in post.names]
    flat = post.samples.reshape(-1, len(post.names))
    sigma = fit.sigma[idx]
    assert np.all(np.abs(flat.mean(0) - fit.offsets[idx]) <= 0.1 * sigma), (flat.mean(0) - fit.offsets[idx]) / sigma
    assert np.all(np.abs(flat.std(0) / sigma - 1) <= 0.05), flat.std(0) / sigma
    d = np.diag(1 / sigma)
    cov_fit = d @ fit.covariance[np.ix_(idx, idx)] @ d
    cov_post = d @ np.cov(flat.T) @ d
    assert np.linalg.norm(cov_post - cov_fit) / np.linalg.norm(cov_fit) <= 0.10
    assert post.sample_stats["diverging"].sum() == 0


@pytest.fixture(scope="module")
def marginalised(tmp_path_factory):
    par, tim = isolated_files(tmp_path_factory.mktemp("iso"))
    model = _simulated_model(par, tim, seed=4)
    noise = noise_for_model(model)
    fit = fit_wls(model, noise=noise)
    kw = dict(chains=2, warmup=250, samples=500, seed=3)
    return (model, fit, sample_nuts(model, fit, noise, marginalize="linear", **kw),
            sample_nuts(model, fit, noise, **kw))


def test_marginalisation_on_and_off_agree(marginalised):
    """F0/F1 sampled either way; JUMP, DMX, FD sampled (off) or drawn from their conditional (on): same posterior."""
    model, fit, on, off = marginalised
    assert set(on.marginalized) == {"JUMP1", "DMX_0001", "DMX_0002", "DMX_0003", "FD1"}
    assert on.names == off.names and on.whitening.shape[0] == 2
    for i, name in enumerate(on.names):
        _mc_agree(on.samples[:, :, i], off.samples[:, :, i])
        assert on.priors[name]["source"] == ("marginalize" if name in on.marginalized else "default")


def test_marginalised_conditional_covariance_is_the_wls_one(marginalised):
    """Conditional covariance of the marginalised given the sampled = the Schur complement of the fit covariance."""
    model, fit, on, _ = marginalised
    lin = [fit.names.index(n) for n in on.marginalized]
    rest = [fit.names.index(n) for n in on.names if n not in on.marginalized]
    c = fit.covariance
    schur = c[np.ix_(lin, lin)] - c[np.ix_(lin, rest)] @ np.linalg.solve(c[np.ix_(rest, rest)], c[np.ix_(rest, lin)])
    np.testing.assert_allclose(on.linear_cov, schur, rtol=1e-5, atol=0)
    assert on.linear_mean.shape == (2, 500, 5)


def test_marginalize_choices_and_errors(marginalised):
    from jugbayes.errors import JugbayesError
    from jugbayes.sample.posterior import linear_names

    model, fit, _, _ = marginalised
    names = tuple(n for n in fit.names if n != "OFFSET")
    assert linear_names(model, names, "linear") == ("DMX_0001", "DMX_0002", "DMX_0003", "FD1", "JUMP1")
    assert linear_names(model, names, "f1, jump1") == ("F1", "JUMP1")  # .par names, any case
    with pytest.raises(JugbayesError, match="--marginalize DM: not a fitted parameter"):
        linear_names(model, names, "DM")
    with pytest.raises(JugbayesError, match="no noise parameters"):
        sample_nuts(model, fit, sample_noise=True)
    with pytest.raises(JugbayesError, match="nothing left for NUTS"):
        sample_nuts(model, fit, marginalize="linear,F0,F1")


@pytest.fixture(scope="module")
def shapiro(tmp_path_factory):
    """Edge-on ELL1 binary (SINI 0.999, M2 0.21 Msun, 300 TOAs of 2 us): the WLS SINI is ~0.9994 +- 0.0006."""
    from sample.test_priors import ell1_files

    par, tim = ell1_files(tmp_path_factory.mktemp("shapiro"))
    model = _simulated_model(par, tim, seed=3)
    noise = noise_for_model(model)
    fit = fit_wls(model, noise=noise)
    return model, fit, sample_nuts(model, fit, noise, chains=2, warmup=200, samples=200, seed=0)


def _skewness(x: np.ndarray) -> float:
    d = x - x.mean()
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)


def test_shapiro_posterior_bounded_and_skewed(shapiro):
    """SINI never exceeds 1 although the WLS Gaussian puts mass there; SINI skews low, M2 high (known shape)."""
    from scipy.stats import norm

    model, fit, post = shapiro
    i, j = post.names.index("SINI"), post.names.index("M2")
    sini = model.par["SINI"].as_float() + post.samples[:, :, i].ravel()
    m2_msun = model.par["M2"].as_float() + post.samples[:, :, j].ravel() / 4.925490947641267e-06
    k = fit.names.index("SINI")
    wls_mass_above_1 = norm.sf(1.0, loc=model.par["SINI"].as_float() + fit.offsets[k], scale=fit.sigma[k])
    assert wls_mass_above_1 > 0.05  # the Gaussian approximation is unphysical here
    assert sini.max() <= 1.0 + 1e-12 and m2_msun.min() > 0
    assert _skewness(sini) < -0.5 and _skewness(m2_msun) > 0.3
    assert post.priors["SINI"]["upper"] == "1.0" and post.sample_stats["diverging"].sum() == 0


@pytest.fixture(scope="module")
def sampled_noise(tmp_path_factory):
    """TOAs simulated with EFAC 1.4 on both receivers (and a small ECORR); the sampler starts from EFAC 1.0."""
    d = tmp_path_factory.mktemp("efac")
    noise_lines = "T2EFAC -fe A 1.4\nT2EFAC -fe B 1.4\nECORR -fe A 0.1\nECORR -fe B 0.1\n"
    par, tim = isolated_files(d, noise=noise_lines, epochs=16)
    start = d / "start.par"
    start.write_text(par.read_text().replace(" 1.4", " 1.0"))
    model = _simulated_model(par, tim, seed=6, fit_par=start)
    noise = noise_for_model(model)
    fit = fit_wls(model, noise=noise)
    return fit, sample_nuts(model, fit, noise, chains=2, warmup=300, samples=300, seed=1, sample_noise=True)


def test_sampled_efac_recovers_the_simulated_value(sampled_noise):
    """Posterior EFACs within 3 sd of the truth 1.4, and on average near sqrt(chi2/dof) of the fit at EFAC 1."""
    fit, post = sampled_noise
    means = []
    for fe in ("A", "B"):
        name = f"EFAC -fe {fe}"
        x = post.samples[:, :, post.names.index(name)].ravel()
        assert abs(x.mean() - 1.4) < 3 * x.std(), (name, x.mean(), x.std())
        assert post.priors[name] == {"kind": "uniform", "source": "default", "lower": "0.01", "upper": "10.0"}
        means.append(x.mean())
    assert np.mean(means) == pytest.approx(np.sqrt(fit.chi2 / fit.dof), abs=0.1)
    assert post.sample_stats["diverging"].sum() == 0


@pytest.fixture(scope="module")
def marginalised_noise(tmp_path_factory):
    """EFAC, ECORR and red noise sampled, with JUMP/DMX/FD marginalised (on) or sampled (off)."""
    d = tmp_path_factory.mktemp("margnoise")
    noise_lines = ("T2EFAC -fe A 1.2\nT2EFAC -fe B 1.2\nECORR -fe A 1.0\nECORR -fe B 1.0\n"
                   "TNRedAmp -12.8\nTNRedGam 3.0\nTNRedC 8\n")
    par, tim = isolated_files(d, noise=noise_lines)
    model = _simulated_model(par, tim, seed=8)
    noise = noise_for_model(model)
    fit = fit_wls(model, noise=noise)
    kw = dict(chains=2, warmup=300, samples=500, seed=2, sample_noise=True)
    return model, fit, sample_nuts(model, fit, noise, marginalize="linear", **kw), sample_nuts(model, fit, noise, **kw)


def test_marginalisation_with_sampled_noise_gives_the_same_posterior(marginalised_noise):
    """With the noise sampled, the marginalised likelihood (the columns' noise-dependent log det included) and the
    conditional draws give the posterior sampling everything gives: every parameter, noise ones included."""
    model, fit, on, off = marginalised_noise
    assert set(on.marginalized) == {"JUMP1", "DMX_0001", "DMX_0002", "DMX_0003", "FD1"}
    assert on.names == off.names and "TNREDAMP" in on.names
    for i, name in enumerate(on.names):
        agree = _mc_agree if name in fit.names else _mc_agree_quantiles  # timing, else noise
        agree(on.samples[:, :, i], off.samples[:, :, i])
    assert on.linear_mean.shape == (2, 500, 5) and np.all(np.linalg.eigvalsh(on.linear_cov) > 0)
    assert on.sample_stats["diverging"].sum() == 0 and off.sample_stats["diverging"].sum() == 0
    assert on.sample_stats["num_steps"].mean() < off.sample_stats["num_steps"].mean()


_SHARED_PROGRAM_SCRIPT = """
import os, sys
from pathlib import Path
from jugbayes.config import enable_compilation_cache
enable_compilation_cache()
from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.noise import noise_for_model
from jugbayes.model.timing_model import build_model
from jugbayes.sample.nuts import sample_nuts
from jugbayes.simulate import simulate
cache = Path(os.environ["JUGBAYES_CACHE_DIR"]) / "jax"
par, tim = read_par(sys.argv[1]), read_tim(sys.argv[2])
seen = []
for seed in (1, 2):
    model = build_model(par, simulate(par, tim, seed=seed))
    noise = noise_for_model(model)
    sample_nuts(model, fit_wls(model, tuple(model.free), noise=noise), noise, chains=2, warmup=20, samples=20, seed=seed,
                share_compiled=True)
    seen.append({p.name for p in cache.iterdir()})
print("first", len(seen[0]), "new", len(seen[1] - seen[0]))
"""


def test_data_sets_of_one_structure_share_the_compiled_sampler(tmp_path):
    """A second simulated data set (same layout, other TOAs and noise) compiles nothing new: every program the
    fit and the sampler need is found in the persistent cache (the data reach them as arguments)."""
    import subprocess
    import sys

    example = ROOT / "models" / "isolated_msp"
    env = {**os.environ, "JUGBAYES_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("JUGBAYES_NO_JAX_CACHE", None)
    res = subprocess.run([sys.executable, "-c", _SHARED_PROGRAM_SCRIPT, str(example / "isolated_msp.par"),
                          str(example / "isolated_msp.tim")], capture_output=True, text=True, env=env, timeout=600,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    first, new = (int(x) for x in res.stdout.split()[1::2])
    assert first > 10 and new == 0, res.stdout
