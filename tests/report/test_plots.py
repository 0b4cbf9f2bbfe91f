"""Residual figures: columns MJD / orbital phase / frequency, colours per backend, EFAC/EQUAD-scaled error bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CLOCK_DIR, EPHEM_DIR

DD = Path(__file__).resolve().parents[2] / "models" / "dd_binary"


@pytest.fixture(scope="module")
def dd_model():
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model

    return build_model(read_par(DD / "dd_binary.par", warn=False), read_tim(DD / "dd_binary.tim"),
                       clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")


def test_orbital_phase_follows_pb_from_t0(dd_model):
    from jugbayes.report.plots import orbital_phase

    phase, label = orbital_phase(dd_model)
    par = dd_model.par
    rough = np.mod((dd_model.toas.mjd - par["T0"].as_float()) / par["PB"].as_float(), 1.0)  # no Roemer delay
    diff = np.abs((phase - rough + 0.5) % 1.0 - 0.5)
    assert label == "orbital phase (from T0)" and (0 <= phase).all() and (phase < 1).all()
    assert diff.max() < 500.0 / (par["PB"].as_float() * 86400.0) + 1e-6  # within the light travel time


def test_panels_colours_and_scaled_error_bars(dd_model, tmp_path):
    from jugbayes.model.noise import noise_for_model, toa_sigma_and_basis
    from jugbayes.report.plots import orbital_phase, plot_residual_panels

    toas = dd_model.toas
    sigma_us = toa_sigma_and_basis(noise_for_model(dd_model), toas.error_us, sigma_only=True)[0] * 1e6
    r = np.asarray(dd_model.residuals()["time_s"])
    fig = plot_residual_panels(toas, {"pre-fit": r, "post-fit": 0 * r}, sigma_us, tmp_path / "r.png",
                               phase=orbital_phase(dd_model))
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_xlabel() for ax in axes[1]] == ["MJD", "orbital phase (from T0)", "frequency (MHz)"]
    backends = sorted({f["f"] for f in toas.flags})
    assert [t.get_text() for t in fig.legends[0].get_texts()] == backends and len(backends) == 4
    # the first group is Rcvr1_2_ASP: T2EFAC 1.1, T2EQUAD 0.1 us in dd_binary.par
    sel = np.array([f["f"] == backends[0] for f in toas.flags])
    bars = axes[0, 0].containers[0].lines[2][0].get_segments()
    half_heights = np.array([abs(s[1, 1] - s[0, 1]) / 2 for s in bars])
    np.testing.assert_allclose(half_heights, 1.1 * np.sqrt(np.asarray(toas.error_us)[sel] ** 2 + 0.1**2), rtol=1e-12)


def test_gls_plot_adds_whitened_panel_and_red_noise_curve(tmp_path):
    """With red noise, fit --plot's figure has a third row (post-fit less the noise realisations) and the
    red-noise realisation drawn on the post-fit row."""
    from jugbayes.fit.command import plot_fit, run_wls

    par = tmp_path / "red.par"
    par.write_text((DD / "dd_binary.par").read_text() + "TNREDAMP -13.5\nTNREDGAM 3.0\nTNREDC 10\n")
    run = run_wls(par, DD / "dd_binary.tim", echo=lambda s: None, clock_dir=CLOCK_DIR,
                  ephem_file=EPHEM_DIR / "de421.bsp")
    plot_fit(run, tmp_path / "r.png")
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "r.png").shape[0] > 0
    from jugbayes.report.plots import plot_model_residuals

    fig = plot_model_residuals(run.model, {"pre-fit": run.result.residuals_s, "post-fit": run.result.residuals_s},
                               None, noise=run.noise)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    assert axes[2, 0].get_ylabel() == "whitened residual (us)"
    lines = [ln for ln in axes[1, 0].get_lines() if not ln.get_label().startswith("_")]  # not the error-bar caps
    assert [ln.get_label() for ln in lines] == ["red noise realisation"]
    assert np.ptp(lines[0].get_ydata()) > 0.01  # us: a visible curve
