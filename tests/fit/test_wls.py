"""WLS fits against PINT's (``*.pint_fit.json``), read-back of the written .par, degeneracy warnings."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS, ephem_file

from jugbayes.fit.wls import DegenerateFitWarning, fit_wls
from jugbayes.io import read_par, read_tim, write_par
from jugbayes.model.timing_model import build_model
from jugbayes.report.fitted_par import fitted_values, updated_par

_PINT_CLK = {"NGC6440E": "TT(BIPM2023)"}  # PINT's reading of CLK UTC(NIST)
_cache: dict = {}


def _model(name):
    if name not in _cache:
        par_rel, tim_rel = PINT_DATASETS[name]
        par = read_par(DATASETS / par_rel, warn=False)
        _cache[name] = build_model(par, read_tim(DATASETS / tim_rel), clock_dir=CLOCK_DIR, ephem_file=ephem_file(par),
                                   clk=_PINT_CLK.get(name))
    return _cache[name]


def _pint(name):
    folder = DATASETS / PINT_DATASETS[name][0].split("/")[0]
    return json.loads(next(folder.glob("*.pint_fit.json")).read_text())


@pytest.mark.parametrize("name", ["NGC6440E", "J0613-0200_dfg12", "B1855+09_dfg12"])
def test_wls_matches_pint(name):
    """Same free parameters as PINT (it also frees DMX_0001 when a .par gives no flag): values within 0.1 sigma,
    uncertainties within 2%, chi2 within 0.1%."""
    model, pint = _model(name), _pint(name)
    ref = pint["DownhillWLSFitter"]
    result = fit_wls(model, tuple(pint["free_params"]))
    assert result.converged
    assert abs(result.chi2 / ref["chi2"] - 1) < 1e-3, (result.chi2, ref["chi2"])
    values = {v.name: v for v in fitted_values(model, result)}
    assert set(values) == set(ref["params"])
    for pname, pv in ref["params"].items():
        ours = values[pname]
        assert abs(float(ours.value) - pv["value"]) <= 0.1 * pv["uncertainty"], pname
        assert abs(ours.uncertainty / pv["uncertainty"] - 1) <= 0.02, pname


def test_written_par_gives_the_fitted_residuals(tmp_path):
    model = _model("NGC6440E")
    result = fit_wls(model)
    out = tmp_path / "fitted.par"
    write_par(updated_par(model.par, fitted_values(model, result)), out)
    again = build_model(read_par(out, warn=False), read_tim(DATASETS / PINT_DATASETS["NGC6440E"][1]),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    refit_resid = np.asarray(again.residuals()["time_s"])
    diff = refit_resid - result.residuals_s
    assert np.abs(diff - diff.mean()).max() < 1e-9  # the constant is the fitted phase offset
    assert math.isclose(float(np.sum((refit_resid - refit_resid.mean()) ** 2)),
                        float(np.sum((result.residuals_s - result.residuals_s.mean()) ** 2)), rel_tol=1e-6)


def test_degenerate_combination_is_named(tmp_path):
    """A JUMP on every TOA (but not the TZR reference) is the phase offset over again: one direction is
    dropped, with a warning naming both."""
    from jugbayes.io import write_tim

    par_rel, tim_rel = PINT_DATASETS["NGC6440E"]
    toas = read_tim(DATASETS / tim_rel)
    for flags in toas.flags:
        flags["be"] = "GUPPI"
    write_tim(toas, tmp_path / "j.tim")
    (tmp_path / "j.par").write_text((DATASETS / par_rel).read_text() + "JUMP -be GUPPI 0.0 1\n")
    model = build_model(read_par(tmp_path / "j.par", warn=False), read_tim(tmp_path / "j.tim"),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    with pytest.warns(DegenerateFitWarning, match=r"JUMP1.*OFFSET|OFFSET.*JUMP1"):
        result = fit_wls(model)
    assert result.dropped and result.converged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)
        plain = fit_wls(_model("NGC6440E"))
    assert result.chi2 == pytest.approx(plain.chi2, rel=1e-6)


def test_unknown_parameter_is_refused():
    with pytest.raises(KeyError, match="NOPE"):
        fit_wls(_model("NGC6440E"), ("F0", "NOPE"))


def _gls_b1855():
    """(noise, GLS result) of B1855+09 9yv1 with PINT's free parameters, fitted once per session."""
    from jugbayes.model.noise import noise_for_model

    if "gls_b1855" not in _cache:
        model = _model("B1855+09_9yv1")
        noise = noise_for_model(model)
        _cache["gls_b1855"] = noise, fit_wls(model, tuple(_pint("B1855+09_9yv1")["free_params"]), noise=noise)
    return _cache["gls_b1855"]


def test_gls_matches_pint_b1855_9yv1():
    """EFAC/EQUAD, ECORR (235 epochs) and red noise (45 frequencies): PINT's GLS, 90 free parameters.

    chi2 within 0.1% and every value within 0.1 sigma.  Uncertainties within 2% except T0 and OM, ours 2.4x
    PINT's: at e = 2e-5 their correlation is 1 - 6e-11, and the profile chi2 (next test) sides with ours.
    Recorded, not hidden: see docs/status.md.
    """
    model, pint = _model("B1855+09_9yv1"), _pint("B1855+09_9yv1")
    ref = pint["DownhillGLSFitter"]
    noise, result = _gls_b1855()
    assert noise.ecorr_basis.shape[1] == 235 and noise.red_basis.shape[1] == 90
    assert result.converged and abs(result.chi2 / ref["chi2"] - 1) < 1e-3
    values = {v.name: v for v in fitted_values(model, result)}
    for pname, pv in ref["params"].items():
        ours = values[pname]
        assert abs(float(ours.value) - pv["value"]) <= 0.1 * pv["uncertainty"], pname
        ratio = ours.uncertainty / pv["uncertainty"]
        if pname in ("T0", "OM"):
            assert 1.0 <= ratio <= 3.0, (pname, ratio)
        else:
            assert abs(ratio - 1) <= 0.02, (pname, ratio)


def test_gls_b1855_t0_om_sigmas_follow_the_profile_chi2(tmp_path):
    """T0 and OM held at the fit + k sigma, the other 89 parameters refitted (full nonlinear GLS): chi2 rises by
    k^2 with our sigmas, and by only ~0.17 k^2 with PINT's (2.4x smaller), so PINT's understate these two.

    The held point starts on the covariance's profile direction (T0 alone cannot move: a shift by one sigma
    moves the orbital phase by ~4 ms of delay unless OM follows); the refit then finds the conditional minimum.
    """
    from types import SimpleNamespace

    from jugbayes.model.noise import noise_for_model

    model, pint = _model("B1855+09_9yv1"), _pint("B1855+09_9yv1")
    free = tuple(pint["free_params"])
    _, result = _gls_b1855()
    names = list(result.names)
    sigmas = {v.name: v.uncertainty for v in fitted_values(model, result)}

    files = (tmp_path / f"held{i}.par" for i in itertools.count())

    def profile_chi2(name, shift_sigmas):
        j = names.index(name)
        offsets = result.offsets + shift_sigmas * result.sigma[j] * result.covariance[:, j] / result.covariance[j, j]
        moved = fitted_values(model, SimpleNamespace(names=result.names, offsets=offsets, sigma=result.sigma))
        path = next(files)
        write_par(updated_par(model.par, moved), path)
        par = read_par(path, warn=False)
        held = build_model(par, model.toas, clock_dir=CLOCK_DIR, ephem_file=ephem_file(par))
        refit = fit_wls(held, tuple(n for n in free if n != name), noise=noise_for_model(held))
        assert refit.converged, (name, shift_sigmas)
        return refit.chi2 - result.chi2

    for name in ("T0", "OM"):
        ratio = pint["DownhillGLSFitter"]["params"][name]["uncertainty"] / sigmas[name]
        assert 0.3 < ratio < 0.5, (name, ratio)  # the known 2.4x
        for k in (-1.0, 1.0):
            assert profile_chi2(name, k) == pytest.approx(1.0, abs=0.02), name
        assert profile_chi2(name, ratio) < 0.25, name  # PINT's 1 sigma: far below delta chi2 = 1


def test_white_noise_scaling_follows_tempo2():
    """sigma = EFAC * sqrt(sigma_toa^2 + EQUAD^2) per selector; TOAs without EFAC/EQUAD unchanged."""
    from jugbayes.model.noise import scaled_sigma_s

    sigma = np.array([1e-6, 2e-6, 3e-6])
    equad_mask = np.array([[1.0], [0.0], [0.0]])
    efac_mask = np.array([[1.0], [1.0], [0.0]])
    out = np.asarray(scaled_sigma_s(sigma, equad_mask, np.array([1e-6]), efac_mask, np.array([1.5])))
    np.testing.assert_allclose(out, [1.5 * np.sqrt(2) * 1e-6, 3e-6, 3e-6], rtol=1e-15)


def test_ecorr_epochs_group_within_one_second():
    from jugbayes.model.noise import ecorr_epochs

    t = np.array([100.0, 100.5, 100.9, 102.0, 500.0, 500.2, 800.0])
    groups = [sorted(g.tolist()) for g in ecorr_epochs(t)]
    assert groups == [[0, 1, 2], [4, 5]]  # 102.0 and 800.0 stand alone and are dropped


def test_gls_j1713_ddk_reaches_at_least_pints_chi2_and_flags_the_multimodal_orientation():
    """J1713+0747 (DDK, GLS): converges, to a chi2 no higher than PINT's, and warns that KIN/KOM are not quadratic.

    Known difference, not hidden (docs/status.md): this short data set leaves the orbit's orientation
    multimodal.  Profiling chi2 over KOM (every other parameter refitted) gives minima near KOM 83 deg
    (KIN 106, chi2 1843.46), KOM 5 deg (KIN 109, 1841.74) and KOM 300 deg (KIN 67, <= 1840.85).  PINT's
    step-halving path ends in the first (stopping while still moving ~1.5 deg per step, as its 0.01 chi2
    decrease rule allows), ours in the second, so the 0.1-sigma parity of issue 5 cannot hold here; the
    quadratic check tells the user that the WLS uncertainties of these parameters mean little.
    """
    from jugbayes.fit.wls import NonQuadraticFitWarning
    from jugbayes.model.noise import noise_for_model

    model, pint = _model("J1713+0747"), _pint("J1713+0747")
    with pytest.warns(NonQuadraticFitWarning, match="KOM") as record:
        result = fit_wls(model, tuple(pint["free_params"]), noise=noise_for_model(model), max_iter=60)
    assert result.converged
    assert result.chi2 <= pint["DownhillGLSFitter"]["chi2"] * (1 + 1e-4)
    assert "KIN" in str(record[0].message)
    assert max(abs(v - 1) for v in result.quadratic_check["F0"]) < 0.01  # linear directions pass


def test_quadratic_check_is_exact_for_a_quadratic_and_flags_a_curved_valley():
    from jugbayes.fit.wls import NonQuadraticFitWarning, _quadratic_check

    cov = np.array([[4.0, 1.0], [1.0, 1.0]])
    inv = np.linalg.inv(cov)
    quad = lambda xs: np.einsum("ij,jk,ik->i", xs, inv, xs)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _quadratic_check(quad, np.zeros(2), cov, ("A1", "PB"), 0.0)
    assert out == {"A1": pytest.approx((1.0, 1.0)), "PB": pytest.approx((1.0, 1.0))}
    banana = lambda xs: quad(xs) + 3.0 * xs[:, 0] ** 4  # noqa: E731
    with pytest.warns(NonQuadraticFitWarning, match=r"A1 \(49\.00, 49\.00\)"):
        _quadratic_check(banana, np.zeros(2), cov, ("A1", "DMX_0001"), 0.0)


def _jacfwd_design(model, free):
    """The reference: jax.jacfwd over every free parameter and the phase offset."""
    import jax

    from jugbayes.fit.wls import _params_fn

    params = _params_fn(model, free, True)
    resid = lambda x: model.residual_fn(params(x), model.data)["time_s"]  # noqa: E731
    return jax.jit(jax.jacfwd(resid))


def _assert_design_matches_jacfwd(model, free):
    import jax.numpy as jnp

    from jugbayes.fit.wls import design_matrix_fn

    design, _ = design_matrix_fn(model, free, True)
    x = jnp.zeros(len(free) + 1)
    _, fast = design(x)
    slow = np.asarray(_jacfwd_design(model, free)(x))
    scale = np.abs(slow).max(axis=0)
    assert np.all(scale > 0)
    rel = np.abs(np.asarray(fast) - slow).max(axis=0) / scale
    assert rel.max() < 1e-10, (free[int(np.argmax(rel))] if rel.argmax() < len(free) else "OFFSET", rel.max())


def test_design_matrix_equals_jacfwd_dd_dmx():
    """B1855+09 (DD binary, 28 DMX ranges, the TZR TOA at 424 MHz): the chain-rule columns of DMX equal jacfwd's."""
    model = _model("B1855+09_dfg12")
    assert sum(n.startswith("DMX_") for n in model.free) > 20
    _assert_design_matches_jacfwd(model, model.free)


def test_design_matrix_equals_jacfwd_solar_wind_dm_series(tmp_path):
    """NE_SW, DM1 and a DMX range that also holds the TZR TOA (its delay moves every residual)."""
    par_rel, tim_rel = PINT_DATASETS["NGC6440E"]
    text = (DATASETS / par_rel).read_text().replace("SOLARN0               0.00", "NE_SW 4.0 1")
    (tmp_path / "x.par").write_text(text + "DM1 0.001 1\nDMX_0001 0.0 1\nDMXR1_0001 50000\nDMXR2_0001 60000\n")
    model = build_model(read_par(tmp_path / "x.par", warn=False), read_tim(DATASETS / tim_rel),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    assert {"NE_SW", "DM1", "DMX_0001", "DM"} <= set(model.free) and model.structure.solar_wind
    _assert_design_matches_jacfwd(model, model.free)


@pytest.mark.parametrize("ecorr_blocks", [False, True])
def test_gls_step_equals_dense_generalised_least_squares(ecorr_blocks):
    """The projected (Woodbury) GLS step, covariance and chi2 against the textbook dense solution
    dx = -(J^T C^-1 J)^-1 J^T C^-1 r with C = N + T phi T^T formed explicitly (numpy, 62 TOAs); with
    ``ecorr_blocks`` N also holds disjoint ECORR epochs, whitened block by block instead of as columns."""
    import jax.numpy as jnp

    from jugbayes.fit.wls import _fit_factor, _make_step, design_matrix_fn
    from jugbayes.model.noise import kernel

    model = _model("NGC6440E")
    free = model.free
    n = len(model.toas)
    rng = np.random.default_rng(3)
    sigma = np.asarray(model.toas.error_us) * 1e-6
    t_mat = np.hstack([rng.standard_normal((n, 4)), (rng.random((n, 3)) < 0.3).astype(float)])
    phi = np.array([1e-11, 3e-12, 1e-12, 5e-13, 1e-12, 2e-12, 4e-12])
    epoch, ecorr_var = np.zeros(n, dtype=np.int64), np.zeros(0)
    n_mat = np.diag(sigma**2)
    if ecorr_blocks:  # epochs of 1-5 consecutive TOAs, some TOAs in none
        epoch = np.minimum(np.arange(n) // rng.integers(1, 6), 9)
        ecorr_var = rng.uniform(0.1, 4.0, 9) * np.median(sigma) ** 2
        for e in range(9):
            rows = epoch == e
            n_mat[np.ix_(rows, rows)] += ecorr_var[e]
    step = _make_step(model, free, True, True, n)[0]
    x = jnp.zeros(len(free) + 1)
    factor = _fit_factor(kernel.Kernel(*(jnp.asarray(a) for a in (sigma, epoch, ecorr_var, t_mat, phi, np.ones((n, 1))))))
    r, chi2, dx, cov, *_ = step(x, factor, model.data)
    r, jac = (np.asarray(a) for a in design_matrix_fn(model, free, True)[0](x))
    c_inv = np.linalg.inv(n_mat + t_mat @ np.diag(phi) @ t_mat.T)
    normal = jac.T @ c_inv @ jac
    dense_cov = np.linalg.inv(normal)
    dense_dx = -dense_cov @ (jac.T @ c_inv @ r)
    sig = np.sqrt(np.diag(dense_cov))
    np.testing.assert_allclose(np.sqrt(np.diag(np.asarray(cov))), sig, rtol=1e-6)
    assert np.abs((np.asarray(dx) - dense_dx) / sig).max() < 1e-6
    ones = np.ones(n)  # chi2 with the phase offset marginalised
    c1 = c_inv @ ones
    dense_chi2 = r @ c_inv @ r - (ones @ c_inv @ r) ** 2 / (ones @ c1)
    assert float(chi2) == pytest.approx(dense_chi2, rel=1e-9)


def test_models_of_one_structure_share_the_compiled_step_and_fit_alike():
    """A validation study's data sets (same .par, other TOAs, counts in one bucket) reuse one compiled step; a
    fit through the shared programs equals a fit with programs compiled afresh for that model."""
    from conftest import ROOT

    from jugbayes.fit import wls
    from jugbayes.simulate import ObservingPlan, observing_pattern, simulate

    par = read_par(ROOT / "models" / "isolated_msp" / "isolated_msp.par", warn=False)
    template = observing_pattern(par, ObservingPlan(55000.0, 56000.0, 30, None, ("coe",), (820.0, 1400.0), 1.0))
    a, b = (build_model(par, simulate(par, template, seed=s)) for s in (1, 2))

    def plan(n_epochs, freqs):
        return build_model(par, observing_pattern(par, ObservingPlan(55000.0, 56000.0, n_epochs, None, ("coe",),
                                                                     freqs, 1.0)))
    near, far = plan(31, (1400.0,)), plan(200, (1400.0,))
    assert len(near.toas) != len(a.toas) and wls.padding.bucket_size(len(near.toas)) == wls.padding.bucket_size(
        len(a.toas)) != wls.padding.bucket_size(len(far.toas))
    free = ("F0", "F1", "DM")

    def step(m, f=free):
        return wls._make_step(m, f, True, False, wls.padding.bucket_size(len(m.toas)))
    step_a = step(a)
    assert step(b) is step_a
    assert step(near) is step_a  # another TOA count in the same bucket
    assert step(far) is not step_a
    assert step(a, ("F0", "DM")) is not step_a
    shared = fit_wls(b, free)
    wls._SHARED_STEPS.clear()
    b.__dict__.pop("_fit_steps")
    fresh = fit_wls(b, free)
    assert step(b) is not step_a
    np.testing.assert_array_equal(np.asarray(shared.offsets), np.asarray(fresh.offsets))
    np.testing.assert_array_equal(np.asarray(shared.covariance), np.asarray(fresh.covariance))
