"""The log-density NUTS integrates must be smooth on the scale of its steps (issue 6's hazard).

Along random directions of the coordinates the sampler whitens by the GLS covariance, the log-density is
a quadratic with second differences of -h^2 on a grid of step h (in sigma).  Rounding in float64 adds
noise on top; forming ``t - delays`` from large times made it 0.027 at h = 0.01 on a stand-in model.
Here it must stay a small fraction of that on real data sets with correlated noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS

from jugbayes.fit.wls import OFFSET, fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.noise import fixed_kernel, kernel, noise_for_model, toa_sigma_and_basis
from jugbayes.model.timing_model import build_model

STEP_SIGMA = 0.01


def _log_density_and_whitening(name):
    par_rel, tim_rel = PINT_DATASETS[name]
    model = build_model(read_par(DATASETS / par_rel, warn=False), read_tim(DATASETS / tim_rel),
                        clock_dir=CLOCK_DIR, ephem_file=EPHEM_DIR / "de421.bsp")
    noise = noise_for_model(model)
    assert noise.correlated
    fit = fit_wls(model, model.free, noise=noise)
    names = [n for n in fit.names if n != OFFSET]
    idx = [fit.names.index(n) for n in names]
    center = np.asarray(fit.offsets)[idx]
    cov = np.asarray(fit.covariance)[np.ix_(idx, idx)]
    sd = np.sqrt(np.diag(cov))
    vals, vecs = np.linalg.eigh(cov / np.outer(sd, sd))
    keep = vals > 1e-12 * vals.max()
    whitening = sd[:, None] * vecs[:, keep] * np.sqrt(vals[keep])
    sigma = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
    fac = kernel.factor(fixed_kernel(noise, sigma))
    base = model.zero_params()

    @jax.jit
    def log_density(theta):
        p = dict(base, **{n: theta[i] for i, n in enumerate(names)})
        return -0.5 * kernel.forms(fac, model.residual_fn(p, model.data)["time_s"])

    return log_density, center, whitening


@pytest.mark.parametrize("name", ["B1855+09_9yv1", "J1713+0747"])
def test_log_density_is_smooth_along_whitened_directions(name):
    log_density, center, whitening = _log_density_and_whitening(name)
    rng = np.random.default_rng(0)
    steps = np.arange(-5, 6) * STEP_SIGMA
    roughness = []
    for _ in range(6):
        z = rng.standard_normal(whitening.shape[1])
        direction = whitening @ (z / np.linalg.norm(z))
        values = np.array([float(log_density(jnp.asarray(center + t * direction))) for t in steps])
        second = values[2:] - 2 * values[1:-1] + values[:-2]
        assert abs(second.mean() + STEP_SIGMA**2) < 0.5 * STEP_SIGMA**2  # the quadratic is there
        roughness.append(np.abs(second + STEP_SIGMA**2).max())
    assert max(roughness) <= 1e-3, roughness
