"""Warnings for fits that cannot be right: reduced chi2, phase wraps, one dominating TOA."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from jugbayes.fit.quality import fit_quality

F0_HZ = 100.0


def _toas(error_us):
    error_us = np.asarray(error_us, dtype=float)
    return SimpleNamespace(error_us=error_us, where=lambda i: f"t.tim:{i + 3}")


def _result(resid_s, error_us, n_free=3):
    resid_s, error_us = np.asarray(resid_s, dtype=float), np.asarray(error_us, dtype=float)
    w = resid_s / (error_us * 1e-6)
    dof = len(w) - n_free
    return SimpleNamespace(residuals_s=resid_s, whitened=w, dof=dof, reduced_chi2=float(np.sum(w**2)) / dof)


def test_a_good_fit_gives_no_warning():
    rng = np.random.default_rng(1)
    err = np.full(200, 2.0)
    assert fit_quality(_result(rng.normal(0, 2e-6, 200), err), _toas(err), F0_HZ) == []


def test_large_reduced_chi2():
    rng = np.random.default_rng(2)
    err = np.full(200, 1.0)
    (text,) = fit_quality(_result(rng.normal(0, 5e-6, 200), err), _toas(err), F0_HZ)  # reduced chi2 ~25
    assert text.startswith("reduced chi2 2") and "far above 1" in text and "--fit F0,F1" in text


def test_residuals_piled_at_half_a_turn():
    rng = np.random.default_rng(3)
    err = np.full(100, 10.0)
    turns = rng.uniform(-0.3, 0.3, 100)
    turns[::4] = rng.choice([-0.46, 0.46], 25)  # a quarter miscounted: piled against the wrap
    found = fit_quality(_result(turns / F0_HZ, err), _toas(err), F0_HZ)
    wraps = [t for t in found if "not phase-connected" in t]
    assert wraps and wraps[0].startswith("25 of 100 post-fit residuals lie within 0.1 turn of +-0.5 turn")
    turns[::4] = 0.0
    assert not [t for t in fit_quality(_result(turns / F0_HZ, err), _toas(err), F0_HZ) if "phase-connected" in t]


def test_one_toa_dominating_chi2_is_named():
    err = np.full(50, 1.0)
    resid = np.r_[np.tile([1e-6, -1e-6], 20), np.zeros(10)]
    resid[7] = 40e-6  # 40 sigma: 1600 of chi2 ~1640
    found = fit_quality(_result(resid, err), _toas(err), F0_HZ)
    assert any(t.startswith("one TOA (t.tim:10) carries 98% of chi2 (residual 40 sigma)") for t in found)


def test_one_toa_dominating_the_weights_is_named():
    err = np.full(40, 20.0)
    err[5] = 0.001
    found = fit_quality(_result(np.zeros(40), err), _toas(err), F0_HZ)
    assert found == ["one TOA (t.tim:8, error 0.001 us against a median 20 us) carries 100% of the total weight: "
                     "the fit follows that TOA alone; check its error bar, or comment it out and fit again"]
    few = np.array([1.0, 2.0, 3.0])  # a few TOAs of unequal errors are no such sign
    assert fit_quality(_result(np.zeros(3), few, n_free=1), _toas(few), F0_HZ) == []
