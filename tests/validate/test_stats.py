"""Validation statistics on synthetic draws with known answers, and against scipy's own tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from jugbayes.validate.stats import (coverage, gaussian_covered, gaussian_posterior, pull_summary, rank_histogram,
                                     rank_of_truth, uniformity_test, wilson_interval, z_of_level)


def test_z_of_level():
    assert z_of_level(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_of_level(0.68) == pytest.approx(0.994458, abs=1e-6)


def test_coverage_of_unit_normal_pulls_is_nominal():
    pulls = np.random.default_rng(42).standard_normal(4000)
    for level in (0.68, 0.95):
        c = coverage(gaussian_covered(pulls, level))
        assert c["n"] == 4000
        assert abs(c["fraction"] - level) < 3 * np.sqrt(level * (1 - level) / 4000)
        assert c["stderr"] == pytest.approx(np.sqrt(c["fraction"] * (1 - c["fraction"]) / 4000))
    # pulls from too-small sigmas (true scatter 1.3 sigma) under-cover, clearly
    assert coverage(gaussian_covered(1.3 * pulls, 0.68))["fraction"] < 0.60


def test_wilson_interval_matches_scipy():
    for k, n in ((0, 20), (13, 20), (20, 20), (137, 200)):
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n, 0.95) == pytest.approx([ci.low, ci.high], abs=1e-9)


def test_wilson_interval_is_the_score_interval():
    """Against the closed form (Wilson 1927), z from the level: (f + z^2/2n +- z sqrt(f(1-f)/n + z^2/4n^2)) / (1 + z^2/n)."""
    for k, n, level in ((0, 10, 0.68), (7, 10, 0.95), (100, 100, 0.68), (37, 200, 0.95)):
        z, f = stats.norm.ppf(0.5 + level / 2), k / n
        centre = (f + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert wilson_interval(k, n, level) == pytest.approx([centre - half, centre + half], abs=1e-12)


def test_pull_summary():
    pulls = np.random.default_rng(1).standard_normal(2000)
    s = pull_summary(pulls)
    assert abs(s["mean"]) < 3 * s["mean_err"] and abs(s["sd"] - 1) < 3 * s["sd_err"]
    assert sum(s["histogram"]["counts"]) == 2000 and len(s["histogram"]["edges"]) == 21


def test_rank_histogram_and_uniformity():
    rng = np.random.default_rng(7)
    uniform = rng.integers(0, 100, 400)  # ranks 0..99 of 99 draws
    counts = rank_histogram(uniform, 99, 10)
    assert counts.sum() == 400 and len(counts) == 10
    ok = uniformity_test(counts)
    assert ok["p"] == pytest.approx(stats.chisquare(counts).pvalue) and ok["dof"] == 9
    assert ok["p"] > 0.01
    # by hand: counts 3 5 9 2 8, expected 5.4 each, chi2 = 37.2 / 5.4 on 4 dof
    assert uniformity_test(np.array([3, 5, 9, 2, 8])) == pytest.approx({"chi2": 37.2 / 5.4, "dof": 4, "p": 0.1418777})
    peaked = np.clip(rng.normal(50, 15, 400).astype(int), 0, 99)  # an over-wide posterior: ranks pile up mid-way
    assert uniformity_test(rank_histogram(peaked, 99, 10))["p"] < 1e-6
    with pytest.raises(ValueError):
        rank_histogram(uniform, 99, 7)
    assert rank_of_truth(0.5, np.array([0.1, 0.7, 0.2, 0.9])) == 2


def test_gaussian_posterior_one_dimension():
    mean, cov = gaussian_posterior(np.array([2.0]), np.array([[1.0]]), np.array([1.0]))
    assert mean[0] == pytest.approx(1.0) and cov[0, 0] == pytest.approx(0.5)  # equal weights: halfway, half variance
    # badly scaled parameters (1e-13 and 1e2) combine as each would alone
    cov_lik = np.diag([4e-26, 9e4])
    mean, cov = gaussian_posterior(np.array([1e-13, 300.0]), cov_lik, np.array([2e-13, 300.0]))
    assert mean == pytest.approx([0.5e-13, 150.0]) and np.diag(cov) == pytest.approx([2e-26, 4.5e4])


def test_sbc_ranks_detect_a_wrong_posterior():
    """Conjugate Gaussian SBC: the right posterior gives uniform ranks; one with half its width does not."""
    rng = np.random.default_rng(3)
    right, wrong = [], []
    for _ in range(600):
        truth = rng.standard_normal()  # prior N(0, 1)
        y = truth + rng.standard_normal()  # one datum, sigma 1
        m, c = gaussian_posterior(np.array([y]), np.array([[1.0]]), np.array([1.0]))
        right.append(rank_of_truth(truth, m[0] + np.sqrt(c[0, 0]) * rng.standard_normal(99)))
        wrong.append(rank_of_truth(truth, m[0] + 0.5 * np.sqrt(c[0, 0]) * rng.standard_normal(99)))
    assert uniformity_test(rank_histogram(right, 99, 10))["p"] > 0.01
    assert uniformity_test(rank_histogram(wrong, 99, 10))["p"] < 1e-4
