"""Noise model: DM noise against an independent formula on PINT's TDBs and dispersion delays, the sampled-noise
likelihood against a dense n x n evaluation, noise parameters, refused noise-model parts, a GLS fit with DM noise."""

from __future__ import annotations

import csv
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS, ROOT

from jugbayes.errors import InputError
from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.noise import (DMNoiseWarning, build_noise, fixed_kernel, grouped_forms, grouped_gram, kernel,
                                  noise_chi2_logdet, noise_factor, noise_for_model, noise_loglike, noise_parameters,
                                  toa_sigma_and_basis)
from jugbayes.model.timing_model import build_model

EXAMPLE = ROOT / "models" / "isolated_msp"
NOISE_LINES = "TNREDAMP -13.3\nTNREDGAM 3.1\nTNREDC 8\nTNDMAMP -12.9\nTNDMGAM 2.5\nTNDMC 7\n"
DM_CONST = 1.0 / 2.41e-4  # MHz^2 s cm^3 / pc: the dispersion constant as TEMPO and PINT define it
YEAR_S = 365.25 * 86400.0


def _write_par(path, text: str):
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_par(path)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The example pulsar's first 200 TOAs (two receivers, 8 frequencies), with every kind of noise."""
    tmp = tmp_path_factory.mktemp("noise")
    lines = (EXAMPLE / "isolated_msp.tim").read_text().splitlines()
    (tmp / "small.tim").write_text("\n".join(lines[:202]) + "\n")
    par = _write_par(tmp / "noise.par", (EXAMPLE / "isolated_msp.par").read_text() + NOISE_LINES)
    model = build_model(par, read_tim(tmp / "small.tim"))
    return model, noise_for_model(model)


@pytest.fixture(scope="module")
def chi2_logdet(small):
    """noise_chi2_logdet for the small model, compiled once for the module."""
    noise = small[1]
    return jax.jit(lambda resid_s, values: noise_chi2_logdet(noise, resid_s, values))


def _dense(r, sigma_s, basis, phi):
    c = np.diag(sigma_s**2) + basis @ np.diag(phi) @ basis.T
    one = np.ones_like(r)
    ci_r, ci_1 = np.linalg.solve(c, r), np.linalg.solve(c, one)
    chi2 = r @ ci_r - (one @ ci_r) ** 2 / (one @ ci_1)
    return chi2, np.linalg.slogdet(c)[1] + np.log(one @ ci_1)


def _with_values(noise, values):
    """The noise model's sigma and weights at ``values`` by direct use of the formulas (TEMPO2/enterprise)."""
    params = noise_parameters(noise)
    get = {p.name: v for p, v in zip(params, values)}
    efac = np.array([get[p.name] for p in params if p.kind == "efac"])
    equad = 10.0 ** np.array([get[p.name] for p in params if p.kind == "equad"])
    ecorr = 10.0 ** np.array([get[p.name] for p in params if p.kind == "ecorr"])
    scale = np.prod(np.where(noise.efac_mask > 0, efac[None, :], 1.0), axis=1)
    sigma = scale * np.sqrt(noise.toa_error_s**2 + noise.equad_mask @ equad**2)
    phi = [ecorr[noise.ecorr_param] ** 2]
    for law, prefix in ((noise.red, "TNRED"), (noise.dm, "TNDM")):
        if law is None:
            continue
        f = law.freqs_hz
        psd = 10.0 ** (2 * get[prefix + "AMP"]) / (12 * np.pi**2) * YEAR_S ** (3 - get[prefix + "GAM"]) \
            * f ** -get[prefix + "GAM"]
        phi.append(np.repeat(psd * law.df_hz, 2))
    return sigma, np.concatenate(phi)


def _random_values(noise, rng):
    return np.array([rng.uniform(p.lower, p.upper) for p in noise_parameters(noise)])


# ---------------------------------------------------------------- DM noise basis and weights


def test_dm_noise_basis_and_weights_follow_the_formula(tmp_path):
    """J1744-1134 with TNDMAMP/TNDMGAM (TNDMC left at its default, 30): columns sin/cos(2 pi k t/T) (1400/f)^2,
    with t PINT's TDBs and f from PINT's dispersion delay (f^2 = K DM / delay); weights A^2/(12 pi^2)
    f_yr^(gamma-3) f^-gamma / T."""
    par_rel, tim_rel = PINT_DATASETS["J1744-1134"]
    text = (DATASETS / par_rel).read_text() + "TNDMAMP -12.7\nTNDMGAM 3.4\n"
    par = _write_par(tmp_path / "dm.par", text)
    model = build_model(par, read_tim(DATASETS / tim_rel), clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
    noise = noise_for_model(model)
    with open(next((DATASETS / "J1744-1134").glob("*.pint_residuals.csv")), newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda row: int(row["index"]))
    t = np.array([float(row["tdb_mjd"]) for row in rows]) * 86400.0
    scale = 1400.0**2 * np.array([float(row["delay_DispersionDM"]) for row in rows]) / (DM_CONST * par["DM"].as_float())
    span = t.max() - t.min()
    k = np.arange(1, 31)
    arg = 2 * np.pi * t[:, None] * k[None, :] / span
    expected = np.empty((len(t), 60))
    expected[:, 0::2], expected[:, 1::2] = np.sin(arg) * scale[:, None], np.cos(arg) * scale[:, None]
    assert noise.dm_basis.shape == (1462, 60) and noise.red_basis.shape == (1462, 0)
    col_max = np.abs(expected).max(axis=0)
    assert np.all(np.abs(noise.dm_basis - expected).max(axis=0) <= 1e-9 * col_max)
    f = k / span
    psd = 10 ** (2 * -12.7) / (12 * np.pi**2) * YEAR_S ** (3 - 3.4) * f**-3.4
    np.testing.assert_allclose(noise.dm_weight_s2, np.repeat(psd / span, 2), rtol=1e-10)
    assert noise.basis().shape[1] == 60 and noise.correlated


def test_dm_noise_is_larger_at_low_frequency(small):
    """Rows of the DM basis scale as f^-2: 745 MHz rows carry (1400/745)^2 = 3.5 times the 1400 MHz weight."""
    model, noise = small
    freq = np.asarray(model.toas.freq_mhz)
    row_norm = np.abs(noise.dm_basis).max(axis=1)
    lo, hi = row_norm[freq == 745.0].max(), row_norm[freq == 1400.0].max()
    assert 2.5 < lo / hi < 3.6


@pytest.mark.parametrize("extra, problem", [
    ("TNDMAMP -13\n", "TNDMAMP is given without TNDMGAM"),
    ("TNREDGAM 3\n", "TNREDGAM is given without TNREDAMP"),
    ("TNREDAMP -13\nTNREDGAM 3\nTNREDTSPAN 10\n", "does not implement yet: TNREDTSPAN"),
    ("TNDMAMP -13\nTNDMGAM 3\nTNDMFLOG 4\n", "does not implement yet: TNDMFLOG"),
    ("TNDMAMP -13\nTNDMGAM 3\nTNDMC 0\n", "TNDMC must be at least 1"),
])
def test_incomplete_or_unsupported_noise_is_refused(small, tmp_path, extra, problem):
    model, _ = small
    par = _write_par(tmp_path / "bad.par", (EXAMPLE / "isolated_msp.par").read_text() + extra)
    tdb_s = model.prep.tdb.as_float()[:-1] * 86400.0
    with pytest.raises(InputError, match=problem) as err:
        build_noise(par, model.toas, tdb_s, np.asarray(model.toas.freq_mhz))
    assert "bad.par" in str(err.value)


def test_dm_error_scaling_without_wideband_dms_warns(small, tmp_path):
    """DMEFAC/DMEQUAD scale only -pp_dme errors: for narrowband TOAs a warning, nothing else changes."""
    model, _ = small
    par = _write_par(tmp_path / "dmefac.par", (EXAMPLE / "isolated_msp.par").read_text() + "DMEFAC -f Rcvr1_2_GUPPI 1.1\n")
    tdb_s = model.prep.tdb.as_float()[:-1] * 86400.0
    with pytest.warns(DMNoiseWarning, match="no TOA has -pp_dm"):
        noise = build_noise(par, model.toas, tdb_s, np.asarray(model.toas.freq_mhz))
    assert noise.wb_sigma_pc_cm3 is None


# ---------------------------------------------------------------- sampled noise parameters


def test_noise_parameters_names_units_and_ranges(small):
    _, noise = small
    params = noise_parameters(noise)
    assert [p.name for p in params] == [
        "EFAC -f Rcvr1_2_GUPPI", "EFAC -f Rcvr_800_GUPPI", "EQUAD -f Rcvr1_2_GUPPI", "EQUAD -f Rcvr_800_GUPPI",
        "ECORR -f Rcvr1_2_GUPPI", "ECORR -f Rcvr_800_GUPPI", "TNREDAMP", "TNREDGAM", "TNDMAMP", "TNDMGAM"]
    by_name = {p.name: p for p in params}
    assert by_name["EFAC -f Rcvr_800_GUPPI"].value == pytest.approx(1.10, rel=1e-15)
    assert by_name["EQUAD -f Rcvr_800_GUPPI"].value == pytest.approx(np.log10(0.08e-6), rel=1e-15)
    assert by_name["ECORR -f Rcvr1_2_GUPPI"].value == pytest.approx(np.log10(0.10e-6), rel=1e-15)
    assert (by_name["TNDMAMP"].value, by_name["TNDMGAM"].value) == (-12.9, 2.5)
    ranges = {p.kind: (p.lower, p.upper) for p in params}
    assert ranges == {"efac": (0.01, 10.0), "equad": (-8.5, -5.0), "ecorr": (-8.5, -5.0), "red_log10_amp": (-20, -11),
                      "red_gamma": (0, 7), "dm_log10_amp": (-20, -11), "dm_gamma": (0, 7)}
    assert all(p.prior == "uniform" for p in params)


def test_tempo_rnamp_is_listed_as_tnredamp(small, tmp_path):
    """RNAMP/RNIDX give TNREDAMP = log10(RNAMP (2 pi sqrt 3) / (86400 * 365.24 * 1e6)), TNREDGAM = -RNIDX."""
    model, _ = small
    par = _write_par(tmp_path / "rn.par", (EXAMPLE / "isolated_msp.par").read_text() + "RNAMP 0.017\nRNIDX -4.5\n")
    noise = build_noise(par, model.toas, model.prep.tdb.as_float()[:-1] * 86400.0)
    got = {p.name: p.value for p in noise_parameters(noise)}
    amp = 0.017 * 2 * np.pi * np.sqrt(3) / (86400 * 365.24 * 1e6)
    assert got["TNREDAMP"] == pytest.approx(np.log10(amp), rel=1e-14)
    assert got["TNREDGAM"] == 4.5 and "TNDMAMP" not in got


def test_chi2_and_logdet_match_dense_evaluation(small, chi2_logdet):
    """chi2 and the restricted log det against numpy's dense 200 x 200 algebra, at the .par values and random
    values (sigma and weights recomputed from the formulas, not from the code under test)."""
    model, noise = small
    rng = np.random.default_rng(5)
    resid = rng.standard_normal(len(model.toas)) * 2e-6
    points = [np.array([p.value for p in noise_parameters(noise)])] + [_random_values(noise, rng) for _ in range(4)]
    for values in points:
        chi2, logdet = (float(x) for x in chi2_logdet(resid, jnp.asarray(values)))
        sigma, phi = _with_values(noise, values)
        _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
        chi2_ref, logdet_ref = _dense(resid, sigma, basis, phi)
        assert abs(chi2 / chi2_ref - 1) < 1e-8, (values, chi2, chi2_ref)
        assert abs(logdet - logdet_ref) < 1e-8 * abs(logdet_ref), (values, logdet, logdet_ref)


def test_loglike_with_overlapping_ecorr_selectors(small, tmp_path):
    """Two ECORR lines over the same TOAs (the epochs are no longer disjoint blocks) still match the dense result."""
    model, _ = small
    text = (EXAMPLE / "isolated_msp.par").read_text() + "ECORR -fe Rcvr1_2 0.2\n" + NOISE_LINES
    par = _write_par(tmp_path / "overlap.par", text)
    noise = noise_for_model(build_model(par, model.toas))
    resid = np.random.default_rng(2).standard_normal(len(model.toas)) * 2e-6
    values = np.array([p.value for p in noise_parameters(noise)])
    chi2, logdet = (float(x) for x in jax.jit(lambda r, v: noise_chi2_logdet(noise, r, v))(resid, values))
    sigma, phi = _with_values(noise, values)
    _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
    chi2_ref, logdet_ref = _dense(resid, sigma, basis, phi)
    assert abs(chi2 / chi2_ref - 1) < 1e-8 and abs(logdet - logdet_ref) < 1e-8 * abs(logdet_ref)


@pytest.mark.parametrize("extra", ["", NOISE_LINES])
def test_loglike_without_ecorr(small, tmp_path, extra):
    """EFAC/EQUAD only (no ECORR epochs), with and without Fourier noise: still the dense result."""
    model, _ = small
    text = "".join(line + "\n" for line in (EXAMPLE / "isolated_msp.par").read_text().splitlines()
                   if not line.split()[:1] == ["ECORR"])
    noise = noise_for_model(build_model(_write_par(tmp_path / "no_ecorr.par", text + extra), model.toas))
    assert noise.ecorr_basis.shape[1] == 0
    resid = np.random.default_rng(3).standard_normal(len(model.toas)) * 2e-6
    values = np.array([p.value for p in noise_parameters(noise)])
    chi2, logdet = (float(x) for x in jax.jit(lambda r, v: noise_chi2_logdet(noise, r, v))(resid, values))
    sigma, phi = _with_values(noise, values)
    _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
    chi2_ref, logdet_ref = _dense(resid, sigma, basis, phi)
    assert abs(chi2 / chi2_ref - 1) < 1e-8 and abs(logdet - logdet_ref) < 1e-8 * abs(logdet_ref)


def test_chi2_at_par_values_equals_the_fixed_noise_kernel(small, chi2_logdet):
    """The sampled-noise kernel at the .par's values is the fixed one the fitter and the noise-fixed posterior use."""
    model, noise = small
    resid = np.random.default_rng(3).standard_normal(len(model.toas)) * 1e-6
    values = jnp.asarray([p.value for p in noise_parameters(noise)])
    chi2, logdet = chi2_logdet(resid, values)
    sigma = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
    fac = kernel.factor(fixed_kernel(noise, sigma))
    assert abs(float(chi2) / float(kernel.forms(fac, jnp.asarray(resid))) - 1) < 1e-10
    assert abs(float(logdet) / float(fac.logdet) - 1) < 1e-12


def test_loglike_value_and_gradient(small):
    """noise_loglike is -1/2 (chi2 + log det) of the dense evaluation; its gradient with respect to the values is
    finite and matches central differences; its gradient with respect to the residuals is finite."""
    model, noise = small
    rng = np.random.default_rng(7)
    resid = jnp.asarray(rng.standard_normal(len(model.toas)) * 2e-6)
    values = jnp.asarray(_random_values(noise, rng))
    f = jax.jit(lambda v: noise_loglike(noise, resid, v))
    sigma, phi = _with_values(noise, np.asarray(values))
    _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
    expected = -0.5 * sum(_dense(np.asarray(resid), sigma, basis, phi))
    assert abs(float(f(values)) / expected - 1) < 1e-8
    grad = np.asarray(jax.jit(jax.grad(f))(values))
    assert np.all(np.isfinite(grad))
    h = 1e-5
    for i in range(len(values)):
        e = jnp.zeros(len(values)).at[i].set(h)
        fd = (float(f(values + e)) - float(f(values - e))) / (2 * h)
        assert abs(grad[i] - fd) <= 1e-5 * max(abs(fd), 1.0), (noise_parameters(noise)[i].name, grad[i], fd)
    grad_r = np.asarray(jax.jit(jax.grad(lambda r: noise_loglike(noise, r, values)))(resid))
    assert np.all(np.isfinite(grad_r))


# ---------------------------------------------------------------- GLS fit with DM noise


def test_gls_fit_with_dm_noise_converges_to_the_dense_chi2(tmp_path):
    """The example's simulated TOAs (white noise and ECORR from its .par) fitted with red and DM noise added to
    the model: converges, parameters within 4 sigma of the truth, chi2 equal to the dense r^T C^-1 r."""
    text = (EXAMPLE / "isolated_msp.par").read_text() + NOISE_LINES
    truth = _write_par(tmp_path / "dm.par", text)
    lines = (EXAMPLE / "isolated_msp.tim").read_text().splitlines()
    (tmp_path / "part.tim").write_text("\n".join(lines[:2 + 400]) + "\n")
    model = build_model(truth, read_tim(tmp_path / "part.tim"))
    noise = noise_for_model(model)
    assert noise.dm_basis.shape[1] == 14
    result = fit_wls(model, ("F0", "F1", "RAJ", "DECJ", "DM", "JUMP1"), noise=noise)
    assert result.converged
    sigma, basis, weights = toa_sigma_and_basis(noise, model.toas.error_us)
    chi2_ref, _ = _dense(result.residuals_s, sigma, basis, weights)
    assert abs(result.chi2 / chi2_ref - 1) < 1e-8
    pulls = np.abs(result.offsets / result.sigma)[:-1]  # offsets from the true .par values; OFFSET left out
    assert np.all(pulls < 4), dict(zip(result.names, pulls))


def test_fourier_gram_equals_the_direct_product(small):
    """G^T diag(w) G from trigonometric moments equals the direct product (red + DM columns and the offset),
    and bases that are not harmonics of one fundamental get no FourierGram."""
    from jugbayes.model.noise import fourier_basis, fourier_gram

    _, noise = small
    gram = noise.gram()
    assert gram is not None and noise.red_basis.shape[1] and noise.dm_basis.shape[1]
    g = np.hstack([noise.red_basis, noise.dm_basis, np.ones((noise.red_basis.shape[0], 1))])
    w = np.random.default_rng(4).uniform(0.5, 2.0, len(g)) * 1e12
    direct = g.T @ (w[:, None] * g)
    got = np.asarray(gram(jnp.asarray(w)))
    assert np.max(np.abs(got - direct)) < 1e-11 * np.max(np.abs(direct))
    t_s = np.linspace(0.0, 3e8, 50) + 4.7e9
    other = fourier_basis(t_s, np.arange(1, 4) / 2.9e8)  # a second fundamental
    assert fourier_gram(fourier_basis(t_s, np.arange(1, 4) / 3e8), 2.0 * other) is None


def _dense_forms(y, sigma_s, basis, phi):
    """y^T C^-1 y with the offset marginalised (C^-1 projected off the constant), dense numpy."""
    c = np.diag(sigma_s**2) + basis @ np.diag(phi) @ basis.T
    one = np.ones(len(sigma_s))
    ci_y, ci_1 = np.linalg.solve(c, y), np.linalg.solve(c, one)
    return y.T @ ci_y - np.outer(one @ ci_y, one @ ci_y) / (one @ ci_1)


def test_noise_forms_of_a_matrix_match_dense_evaluation(small):
    """y^T C^-1 y for several columns at once (the sampler's conditional metric) against dense algebra."""
    model, noise = small
    rng = np.random.default_rng(8)
    y = rng.standard_normal((len(model.toas), 5)) * 1e-6
    values = _random_values(noise, rng)
    got = np.asarray(kernel.forms(noise_factor(noise, jnp.asarray(values)), jnp.asarray(y)))
    sigma, phi = _with_values(noise, values)
    _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
    ref = _dense_forms(y, sigma, basis, phi)
    assert np.abs(got - ref).max() < 1e-8 * np.abs(ref).max()


def test_grouped_forms_exact_unless_equads_move(small):
    """The per-selector-group weights scale exactly when only EFACs, ECORRs and red/DM noise change (EFAC
    multiplies every error in its group); a changed EQUAD makes them approximate, still positive definite."""
    model, noise = small
    rng = np.random.default_rng(9)
    y = rng.standard_normal((len(model.toas), 4)) * 1e-6
    params = noise_parameters(noise)
    ref_values = np.array([p.value for p in params])
    g = grouped_gram(noise, y, ref_values)
    forms = jax.jit(lambda v, gg: grouped_forms(noise, v, gg, 4))
    moved = ref_values.copy()
    for i, p in enumerate(params):
        if p.kind != "equad":
            moved[i] = p.value + (0.3 if p.kind == "efac" else 0.4)
    _, basis, _ = toa_sigma_and_basis(noise, noise.toa_error_s * 1e6)
    for values in (ref_values, moved):
        sigma, phi = _with_values(noise, values)
        ref = _dense_forms(y, sigma, basis, phi)
        assert np.abs(np.asarray(forms(jnp.asarray(values), g)) - ref).max() < 1e-8 * np.abs(ref).max()
    equad_moved = moved.copy()
    for i, p in enumerate(params):
        if p.kind == "equad":
            equad_moved[i] = -6.0  # 1 us: larger than most TOA errors
    sigma, phi = _with_values(noise, equad_moved)
    ref = _dense_forms(y, sigma, basis, phi)
    got = np.asarray(forms(jnp.asarray(equad_moved), g))
    assert np.all(np.linalg.eigvalsh(got) > 0)
    assert 0.5 < np.linalg.det(got) ** 0.25 / np.linalg.det(ref) ** 0.25 < 2.0


def test_noise_realisations_are_the_dense_conditional_means(small):
    """Each process's realisation against numpy's dense formula T_c phi_c T_c^T P r, P = C^-1 projected off
    the constant (the infinite-variance phase offset), sigma and phi from the formulas; they sum to the GP part."""
    from jugbayes.model.noise import noise_realisations_s

    model, noise = small
    rng = np.random.default_rng(11)
    resid = rng.standard_normal(len(model.toas)) * 2e-6 + 3e-6
    got = noise_realisations_s(noise, model.toas.error_us, resid)
    assert set(got) == {"ecorr", "red", "dm"}
    sigma, phi = _with_values(noise, np.array([p.value for p in noise_parameters(noise)]))
    parts = {"ecorr": noise.ecorr_basis, "red": noise.red_basis, "dm": noise.dm_basis}
    basis = np.hstack(list(parts.values()))
    c = np.diag(sigma**2) + basis @ np.diag(phi) @ basis.T
    one = np.ones_like(resid)
    ci_r, ci_1 = np.linalg.solve(c, resid), np.linalg.solve(c, one)
    p_r = ci_r - ci_1 * (one @ ci_r) / (one @ ci_1)
    j = 0
    for name, b in parts.items():
        k = b.shape[1]
        want = b @ (phi[j:j + k] * (b.T @ p_r))
        j += k
        assert np.abs(got[name] - want).max() < 1e-9 * np.abs(want).max(), name
        assert np.abs(want).max() > 1e-8  # each process carries something
