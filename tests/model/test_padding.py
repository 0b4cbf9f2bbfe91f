"""TOA buckets (issue 28): padded data sets give the unpadded residuals on their real rows, and the fitter's
step on padded data (copies masked, white unit rows in the kernel) gives the unpadded chi2, step and
covariance, so one compiled program can serve every TOA count of a bucket."""

from __future__ import annotations

import glob
import warnings
from functools import lru_cache
from pathlib import Path

import jax
import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, ephem_file
from hypothesis import given
from hypothesis import strategies as st

from jugbayes.fit import wls
from jugbayes.io import read_par, read_tim
from jugbayes.model import padding
from jugbayes.model.noise import kernel, noise_for_model, toa_sigma_and_basis
from jugbayes.model.timing_model import build_model

# Every shared data set whose .par builds over its own .tim with the shared files (the wideband ones on DE421).
DATA_SETS = ["NGC6440E", "J1744-1134.basic", "J1713+0747_NANOGrav_11yv0_short.gls",
             "J1614-2230_NANOGrav_12yv3.wb.gls_DE421", "B1855+09_NANOGrav_9yv1.gls",
             "B1855+09_NANOGrav_dfg+12_TAI_FB90", "J0613-0200_NANOGrav_dfg+12_TAI_FB90"]


@lru_cache(maxsize=None)
def _model(stem: str):
    par_path = Path(glob.glob(str(DATASETS / "*" / f"{stem}.par"))[0])
    tim = sorted(par_path.parent.glob("*.tim"))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        par = read_par(par_path, warn=False)
        return build_model(par, read_tim(tim), clock_dir=CLOCK_DIR, ephem_file=ephem_file(par))


@given(st.integers(1, 10**7))
def test_buckets_hold_the_count_with_at_most_an_eighth_padding(n):
    b = padding.bucket_size(n)
    assert b >= n and (b <= padding.MIN_BUCKET or b < n * 1.125)
    assert padding.bucket_size(b) == b  # a bucket size is its own bucket


def test_few_buckets_cover_every_count():
    assert len({padding.bucket_size(n) for n in range(1, 100_001)}) <= 8 * 11  # eight per octave above 64


@pytest.mark.parametrize("stem", DATA_SETS)
def test_padded_residuals_equal_the_unpadded_on_the_real_rows(stem):
    """Every per-row array is padded (a missed one would misalign rows or fail to broadcast): the residuals
    and every delay on the real rows are bit for bit the unpadded ones."""
    model = _model(stem)
    n = len(model.toas)
    data = padding.pad_rows(model.data, n, padding.bucket_size(n) + 7)
    assert data["dt_pepoch_s"].shape[0] == padding.bucket_size(n) + 8
    f = jax.jit(model.residual_fn)
    plain, padded = f(model.zero_params(), model.data), f(model.zero_params(), data)
    for key, value in plain.items():
        got = np.asarray(padded[key])
        if key != "dm_resid_pc_cm3":  # wideband DM rows are not padded
            got = got[:n]
        np.testing.assert_array_equal(got, np.asarray(value), err_msg=key)


def _step_outputs(model, noise, pad: bool):
    """The fitter's first step (residuals on the real rows, chi2, and dx and covariance of the parameters outside
    the dropped degenerate directions) and the padded rows' residuals and Jacobian."""
    n = len(model.toas)
    raw = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
    n_bucket = padding.bucket_size(n) if pad else n
    data = wls.padded_data(model) if pad else model.data
    kern, rows = wls.fit_kernel(model, noise, raw, n_bucket, pad_epochs=pad)
    free = tuple(model.free)
    gls = noise is not None and noise.correlated
    step = wls._make_step(model, free, True, gls, n_bucket)[0]
    factor = wls._fit_factor(kernel.Kernel(*(np.asarray(a) for a in kern)))
    factor = (factor[0], factor[1] if gls else factor[0])
    r, chi2, dx, cov, _, vt, keep = (np.asarray(a) for a in step(np.zeros(len(free) + 1), factor, data))
    dropped = np.any(np.abs(vt[~keep]) > 1e-8, axis=0)  # in a direction the SVD dropped: rounding noise
    design = wls.design_matrix_fn(model, free, True)[0]
    r_d, jac = (np.asarray(a) for a in jax.jit(design)(np.zeros(len(free) + 1), data))
    return r[rows], float(chi2), dx[~dropped], cov[np.ix_(~dropped, ~dropped)], r_d[n:n_bucket], jac[n:n_bucket]


@pytest.mark.parametrize("stem", ["B1855+09_NANOGrav_9yv1.gls", "J1614-2230_NANOGrav_12yv3.wb.gls_DE421",
                                  "NGC6440E"])
def test_padded_step_equals_the_unpadded_step(stem):
    """GLS with ECORR and red noise (B1855 9yv1; its epochs padded too), wideband TOAs + DMs (J1614), WLS
    (NGC6440E): the padding's residuals and Jacobian rows are exactly zero, and chi2, the step and the covariance agree to rounding."""
    model = _model(stem)
    noise = noise_for_model(model)
    r, chi2, dx, cov, r_pad, j_pad = _step_outputs(model, noise, pad=True)
    r0, chi2_0, dx0, cov0, *_ = _step_outputs(model, noise, pad=False)
    assert len(r_pad) > 0 and not r_pad.any() and not j_pad.any()
    np.testing.assert_array_equal(r, r0)
    assert chi2 == pytest.approx(chi2_0, rel=1e-12)
    sig = np.sqrt(np.diag(cov0))
    assert len(dx) == len(dx0) > 5 and np.abs((dx - dx0) / sig).max() < 1e-9
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sig, rtol=1e-9)


def test_white_rows_and_empty_epochs_change_neither_chi2_nor_log_det_nor_gradients():
    """Unit white rows in no epoch with zero residuals, and ECORR epochs with no rows: the kernel's chi2 and
    restricted log det unchanged, and their gradients in the ECORR variances finite and unchanged."""
    import jax.numpy as jnp

    rng = np.random.default_rng(5)
    n, m = 40, 5
    kern = kernel.Kernel(rng.uniform(0.5, 2.0, n), np.minimum(np.arange(n) // 7, m), rng.uniform(0.1, 1.0, m),
                         rng.standard_normal((n, 3)), rng.uniform(0.5, 2.0, 3), np.ones((n, 1)))
    y = rng.standard_normal(n)
    padded = kernel.white_rows(kernel.pad_epochs(kern, 8), np.ones(9), at=25)
    assert padded.epoch[30] == 8 and padded.epoch[-1] == 8  # rows in no epoch: slot m of the padded kernel
    y_pad = np.concatenate([y[:25], np.zeros(9), y[25:]])

    def loglike(k, yy):
        def f(ecorr_var):
            fac = kernel.factor(k._replace(ecorr_var=ecorr_var))
            return fac.logdet + kernel.forms(fac, yy)
        return jax.value_and_grad(f)(jnp.asarray(k.ecorr_var))

    (a, grad_a), (b, grad_b) = loglike(kern, y), loglike(padded, y_pad)
    assert float(b) == pytest.approx(float(a), rel=1e-13)
    assert np.all(np.isfinite(grad_b))
    np.testing.assert_allclose(np.asarray(grad_b)[:m], np.asarray(grad_a), rtol=1e-12)
