"""Corner plot: files written, WLS ellipse geometry, and the 1-sigma ellipse holding 39% of Gaussian draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from jugbayes.errors import JugbayesError
from jugbayes.report.corner import corner_plot, ellipse_points, mass_levels
from jugbayes.report.posterior import default_corner_names, inference_data


@pytest.fixture(scope="module")
def idata(ngc_fit, draw_gaussian):
    model, fit = ngc_fit
    return inference_data(model, draw_gaussian(fit, seed=7), fit)


def _panel(fig, x, y):
    return next(ax for ax in fig.axes if ax.get_label() == f"{x}|{y}")


def _line(ax, gid):
    return next(line for line in ax.get_lines() if line.get_gid() == gid).get_xydata()


def _corr_block(fit, x, y):
    """The fit's correlation of x and y, straight from its covariance in model units (unit-free)."""
    i, j = fit.names.index(x), fit.names.index(y)
    c = fit.covariance[np.ix_([i, j], [i, j])]
    s = np.sqrt(np.diag(c))
    return c / np.outer(s, s)


def test_writes_png_and_pdf(idata, tmp_path):
    corner_plot(idata, path=tmp_path / "c.png")
    corner_plot(idata, names="F0,F1", path=tmp_path / "c.pdf")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"


def test_ellipses_are_the_wls_covariance(idata, ngc_fit):
    """Points of the drawn 1- and 2-sigma ellipses satisfy x^T R^-1 x = 1 and 4 for the fit's 2x2 block."""
    _, fit = ngc_fit
    fig = corner_plot(idata, names=["RAJ", "DECJ", "F0", "F1"])
    for x, y in (("F0", "F1"), ("RAJ", "DECJ"), ("RAJ", "F1")):
        inv = np.linalg.inv(_corr_block(fit, x, y))
        ax = _panel(fig, x, y)
        for gid, q in (("wls-1sigma", 1.0), ("wls-2sigma", 4.0)):
            pts = _line(ax, gid)
            np.testing.assert_allclose(np.einsum("ni,ij,nj->n", pts, inv, pts), q, rtol=1e-9)
        np.testing.assert_array_equal(_line(ax, "wls-value"), [[0.0, 0.0]])
    assert abs(_corr_block(fit, "F0", "F1")[0, 1]) > 0.3  # a tilted ellipse is being tested


def test_one_sigma_ellipse_holds_39_percent_of_wls_gaussian_draws(idata):
    """For draws from the WLS Gaussian, 1 - exp(-1/2) = 39.3% fall inside the plotted 1-sigma ellipse."""
    fig = corner_plot(idata, names=["F0", "F1", "DM"])
    off = idata.posterior_offset
    n = off["F0"].size
    for x, y in (("F0", "F1"), ("F0", "DM")):
        ellipse = MplPath(_line(_panel(fig, x, y), "wls-1sigma"))
        pts = np.column_stack([off[v].values.ravel() / off[v].attrs["wls_sigma"] for v in (x, y)])
        inside = ellipse.contains_points(pts).mean()
        expected = 1 - math.exp(-0.5)
        assert abs(inside - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (x, y, inside)


def test_ellipse_points_for_a_degenerate_block():
    pts = ellipse_points(np.array([[1.0, 1.0], [1.0, 1.0]]), 2.0)  # perfectly correlated: a segment
    np.testing.assert_allclose(pts[:, 0], pts[:, 1], atol=1e-12)
    assert np.abs(pts).max() == pytest.approx(2.0, rel=1e-3)  # x = y = 2 cos t


def test_mass_levels_of_a_known_histogram():
    h = np.array([[4.0, 3.0], [2.0, 1.0]])  # total 10
    assert mass_levels(h, (0.4, 0.7, 0.9, 1.0)) == [4.0, 3.0, 2.0, 1.0]


def test_default_names_and_bad_names(idata):
    many = ["F0", "F1", "DMX_0001", "JUMP1", "EFAC1", "PB", "DM"]
    assert default_corner_names(many) == ["F0", "F1", "PB", "DM"]
    fig = corner_plot(idata, max_params=2)
    assert len([ax for ax in fig.axes if ax.axison]) == 3  # 2 diagonal + 1 panel
    assert "first 2 of 5" in fig._suptitle.get_text()
    with pytest.raises(JugbayesError, match="no posterior for BOGUS"):
        corner_plot(idata, names="F0,BOGUS")
