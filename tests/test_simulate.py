"""Simulate then fit: zero-residual TOAs, seeded noise, and a fit from a perturbed start recovering the truth."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim, write_tim
from jugbayes.model.noise import noise_for_model
from jugbayes.model.timing_model import build_model
from jugbayes.report.fitted_par import fitted_values
from jugbayes.simulate import simulate, zero_residual_toas

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
    assert np.abs(resid).max() < 1e-11
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
