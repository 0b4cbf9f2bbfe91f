"""Posterior InferenceData, summary table and diagnostics, on NUTS-like draws from NGC6440E's WLS Gaussian."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from conftest import DATASETS
from scipy.stats import norm

from jugbayes.report.posterior import diagnostics, inference_data, summary_table, tree_depth, warnings, wls_from_idata

PINT_WLS = json.loads((DATASETS / "NGC6440E" / "NGC6440E.pint_fit.json").read_text())["DownhillWLSFitter"]["params"]
NAMES = {"RAJ", "DECJ", "F0", "F1", "DM"}


@pytest.fixture(scope="module")
def idata(ngc_fit, draw_gaussian):
    from jugbayes.model.noise import noise_for_model

    model, fit = ngc_fit
    return inference_data(model, draw_gaussian(fit), fit, config="[priors]\nF0 = 'uniform'\n",
                          noise=noise_for_model(model))


def test_round_trips_through_netcdf(idata, ngc_fit, tmp_path):
    import arviz as az

    model, fit = ngc_fit
    idata.to_netcdf(tmp_path / "p.nc")
    back = az.from_netcdf(tmp_path / "p.nc")
    assert set(back.posterior.data_vars) == NAMES and back.posterior["F0"].shape == (4, 1000)
    assert {"diverging", "tree_depth", "n_steps", "energy"} <= set(back.sample_stats.data_vars)
    np.testing.assert_array_equal(back.posterior_offset["F0"].values, idata.posterior_offset["F0"].values)
    np.testing.assert_array_equal(back.observed_data["residual_s"].values, fit.residuals_s)
    np.testing.assert_allclose(back.observed_data["error_s"].values, model.toas.error_us * 1e-6, rtol=1e-15)
    assert back.attrs["config"] == "[priors]\nF0 = 'uniform'\n"
    assert json.loads(back.attrs["priors"]) and back.attrs["par_file"].endswith("NGC6440E.par")
    wls = wls_from_idata(back)
    assert wls.dof == fit.dof and wls.chi2 == pytest.approx(fit.chi2)


def test_wls_attribute_in_summary_units_matches_pint(idata):
    """RAJ in hours, DECJ in degrees, as PINT reports them: values within 0.02 sigma, sigmas within 1%."""
    wls = wls_from_idata(idata)
    for name, value, sigma in zip(wls.names, wls.values, wls.sigma):
        pint = PINT_WLS[name]
        assert abs(float(value - Decimal(pint["value_str"]))) <= 0.02 * pint["uncertainty"], name
        assert sigma == pytest.approx(pint["uncertainty"], rel=0.01), name
        assert idata.posterior[name].attrs["reference"] == str(value)


def test_offsets_keep_precision_absolute_values_agree(idata):
    """The offset group is exact; absolute F0 draws equal reference + offset to float64 resolution."""
    for name in NAMES:
        ref = float(idata.posterior[name].attrs["reference"])
        absolute = idata.posterior_absolute[name].values
        offset = idata.posterior_offset[name].values
        np.testing.assert_allclose(absolute - ref, offset, atol=2 * np.spacing(abs(ref)) + 1e-300)
        assert offset.std() / idata.posterior[name].attrs["wls_sigma"] == pytest.approx(1, abs=0.05)


def test_tree_depth_is_numpyro_doubling_depth():
    # a tree of depth d that runs to the end takes 2^d - 1 leapfrog steps; a U-turn in the last doubling fewer
    steps = np.array([1, 2, 3, 4, 6, 7, 8, 15, 511, 512, 1023])
    np.testing.assert_array_equal(tree_depth(steps), [1, 2, 2, 3, 3, 3, 4, 4, 9, 10, 10])


def test_summary_table_against_the_gaussian(idata):
    table = summary_table(idata)
    assert set(table.index) == NAMES
    for col in ("mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat", "wls", "wls_sigma",
                "(mean-wls)/sigma", "sd/sigma"):
        assert col in table.columns
    n_eff = 4000
    assert (table["(mean-wls)/sigma"].abs() < 4 / np.sqrt(n_eff)).all()
    assert ((table["sd/sigma"] - 1).abs() < 0.05).all()
    # the 94% HDI of a Gaussian is +-1.881 sigma (independent of our code: scipy's quantile)
    width = (table["hdi_97%"] - table["hdi_3%"]) / table["wls_sigma"]
    np.testing.assert_allclose(width, 2 * norm.ppf(0.97), rtol=0.06)
    assert table.loc["RAJ", "mean"] == pytest.approx(PINT_WLS["RAJ"]["value"], abs=1e-9)  # hours


def test_clean_run_has_no_warnings(idata):
    diag = diagnostics(idata)
    assert diag["divergences"] == 0 and diag["max_tree_depth_hits"] == 0 and diag["mean_tree_depth"] == 3
    assert diag["max_r_hat"] < 1.01 and diag["min_ess_bulk"] > 400
    assert warnings(diag) == []


def test_warnings_name_the_problems(ngc_fit, draw_gaussian):
    model, fit = ngc_fit
    bad = draw_gaussian(fit, chains=2, draws=100, seed=3)
    i_f0 = bad.names.index("F0")
    bad.samples[1, :, i_f0] += 3 * fit.sigma[fit.names.index("F0")]  # the chains disagree on F0
    bad.sample_stats["diverging"][0, :5] = True
    bad.sample_stats["num_steps"][1, :7] = 1023
    diag = diagnostics(inference_data(model, bad, fit))
    assert diag["divergences"] == 5 and diag["max_tree_depth_hits"] == 7
    assert "F0" in diag["r_hat_high"] and diag["max_r_hat"] > 1.5
    assert set(diag["ess_low"]) == NAMES  # 200 draws in all
    text = warnings(diag)
    assert len(text) == 4
    assert "R-hat" in text[0] and "F0" in text[0]
    assert "below 400" in text[1] and "5 divergent" in text[2] and "7 draws" in text[3] and "tree depth 10" in text[3]


@pytest.fixture(scope="module")
def example_idatas(draw_gaussian):
    """InferenceData of NUTS-like Gaussian draws around each bundled example's WLS fit (isolated_msp: F0's sd
    ~2 float64 steps of F0)."""
    from conftest import CLOCK_DIR, EPHEM_DIR

    from jugbayes.fit.wls import fit_wls
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    out = {}
    for name in ("isolated_msp", "ell1_shapiro", "dd_binary"):
        folder = Path(__file__).resolve().parents[2] / "models" / name
        model = build_model(read_par(folder / f"{name}.par", warn=False), read_tim(folder / f"{name}.tim"),
                            clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
        noise = noise_for_model(model)
        fit = fit_wls(model, noise=noise)
        out[name] = inference_data(model, draw_gaussian(fit, chains=2, draws=500), fit, noise=noise,
                                   log_likelihood=name == "isolated_msp")
    return out


@pytest.mark.parametrize("name", ["isolated_msp", "ell1_shapiro", "dd_binary"])
def test_arviz_on_the_default_group_gives_our_summary(example_idatas, name):
    """az.summary of the default posterior group: mean (+ reference where stored as offsets) and sd equal
    summary.csv's within 1% of the sd, for every parameter."""
    import arviz as az

    idata = example_idatas[name]
    ours = summary_table(idata)
    theirs = az.summary(idata, round_to="none")
    for param in ours.index:
        var = idata.posterior[param]
        ref = float(Decimal(var.attrs["reference"])) if var.attrs["stored"] != "absolute" else 0.0
        sd = ours.loc[param, "sd"]
        assert theirs.loc[param, "sd"] == pytest.approx(sd, rel=0.01), param
        assert abs(theirs.loc[param, "mean"] + ref - ours.loc[param, "mean"]) <= 0.01 * sd, param
        assert len(np.unique(var.values)) > 900, param  # resolved draws, not a handful of float64 steps
    assert json.loads(idata.posterior.attrs["offset_variables"]) == [
        p for p in ours.index if idata.posterior[p].attrs["stored"] == "offset from reference"]
    if name == "isolated_msp":
        assert idata.posterior["F0"].attrs["stored"] == "offset from reference"
        assert idata.posterior["F1"].attrs["stored"] == "absolute"
        np.testing.assert_allclose(idata.posterior_absolute["F0"].values.std(), ours.loc["F0", "sd"], rtol=0.3)


def test_arviz_plots_run_on_the_default_group(example_idatas):
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idata = example_idatas["isolated_msp"]
    axes = az.plot_trace(idata, var_names=["F0", "RAJ"])
    assert axes.shape == (2, 2)
    assert az.plot_pair(idata, var_names=["F0", "F1", "PX"]).shape == (2, 2)
    plt.close("all")


def test_loo_and_waic_run_on_a_bundled_example(example_idatas):
    """isolated_msp (white noise): a log-likelihood per TOA, so az.loo and az.waic run; 1392 TOAs, 1000 draws of a
    5-parameter Gaussian: p_loo near the number of parameters, no Pareto k above 0.7."""
    import arviz as az

    idata = example_idatas["isolated_msp"]
    assert idata.log_likelihood["residual_s"].shape == (2, 500, 1392)
    loo, waic = az.loo(idata, pointwise=True), az.waic(idata)
    k = len(idata.posterior.data_vars)
    assert np.isfinite(loo.elpd_loo) and 0.5 * k < loo.p_loo < 2 * k and (loo.pareto_k.values < 0.7).all()
    assert waic.elpd_waic == pytest.approx(loo.elpd_loo, abs=1.0)
