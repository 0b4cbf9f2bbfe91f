"""Statistics of a validation study: coverage with binomial errors, pulls, SBC ranks and their uniformity."""

from __future__ import annotations

import numpy as np
from scipy import stats

LEVELS = (0.68, 0.95)


def z_of_level(level: float) -> float:
    """Half-width (sigma) of the central Gaussian interval holding ``level`` (0.95 -> 1.96)."""
    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(k: int, n: int, level: float) -> list[float]:
    """Wilson score interval for a binomial fraction k/n (never of zero width, unlike f +- stderr at 0 or 1)."""
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return [float(ci.low), float(ci.high)]


def coverage(covered: np.ndarray) -> dict:
    """Fraction of data sets whose interval held the truth, its binomial standard error, Wilson intervals."""
    covered = np.asarray(covered, dtype=bool)
    n, k = covered.size, int(covered.sum())
    f = k / n
    return {"fraction": f, "stderr": float(np.sqrt(f * (1 - f) / n)), "wilson68": wilson_interval(k, n, 0.68),
            "wilson95": wilson_interval(k, n, 0.95), "n": n}


def gaussian_covered(pulls: np.ndarray, level: float) -> np.ndarray:
    """Whether the Gaussian interval value +- z(level) sigma held the truth, from the pulls."""
    return np.abs(np.asarray(pulls)) < z_of_level(level)


def pull_summary(pulls: np.ndarray, bins: int = 20, span: float = 5.0) -> dict:
    """Mean and sd of the pulls (fit - truth) / sigma with their standard errors, and a histogram."""
    p = np.asarray(pulls, dtype=float)
    n = p.size
    counts, edges = np.histogram(np.clip(p, -span, span), bins=bins, range=(-span, span))
    sd = float(p.std(ddof=1))
    return {"mean": float(p.mean()), "mean_err": sd / np.sqrt(n), "sd": sd, "sd_err": sd / np.sqrt(2 * (n - 1)),
            "histogram": {"counts": counts.tolist(), "edges": edges.tolist()}}


def rank_of_truth(truth: float, draws: np.ndarray) -> int:
    """SBC rank: how many posterior draws fall below the truth (0 .. len(draws))."""
    return int(np.sum(np.asarray(draws) < truth))


def rank_histogram(ranks: np.ndarray, n_draws: int, bins: int) -> np.ndarray:
    """Counts of ranks (0 .. n_draws) in ``bins`` equal groups; ``n_draws + 1`` must divide by ``bins``."""
    if (n_draws + 1) % bins:
        raise ValueError(f"{n_draws + 1} possible ranks do not split into {bins} equal bins")
    return np.bincount(np.asarray(ranks, dtype=int) // ((n_draws + 1) // bins), minlength=bins)


def uniformity_test(counts: np.ndarray) -> dict:
    """Pearson chi-square test of equal bin counts: statistic, dof and p-value (small p: not uniform)."""
    counts = np.asarray(counts, dtype=float)
    result = stats.chisquare(counts)
    return {"chi2": float(result.statistic), "dof": counts.size - 1, "p": float(result.pvalue)}


def gaussian_posterior(mean_lik: np.ndarray, cov_lik: np.ndarray,
                       prior_sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a Gaussian likelihood N(mean_lik, cov_lik) times a prior N(0, diag(prior_sd^2)).

    Worked in units of each parameter's likelihood sigma, so parameters of very different sizes
    (F0 ~ 1e-13 Hz, PX ~ 0.1 mas) do not spoil the inversions.
    """
    d = np.sqrt(np.diag(cov_lik))
    corr = cov_lik / np.outer(d, d)
    precision = np.linalg.inv(corr) + np.diag((d / np.asarray(prior_sd)) ** 2)
    cov = np.linalg.inv(precision)
    cov = (cov + cov.T) / 2
    mean = cov @ np.linalg.solve(corr, np.asarray(mean_lik) / d)
    return mean * d, cov * np.outer(d, d)
