"""Stage two: a NumPyro NUTS posterior over the timing parameters, warm-started from the WLS/GLS fit.

The likelihood calls the same residual function as stage one: Gaussian in the residuals with the
same noise model (scaled TOA errors; ECORR and red noise marginalised by the Woodbury identity; the
phase offset marginalised with an infinite-variance column, as in the GLS chi2).  So that NUTS meets
a near-isotropic posterior, it samples whitened coordinates z: theta = theta_fit + W z, with W the
square root of the fit covariance in the subspace the fit's SVD kept (degenerate directions are
held at the fit values).  Prior: flat in theta within +-K sigma of the fit (K = ``prior_sigmas``,
default 50) in each whitened direction.  Physical bounds (SINI <= 1, ECC < 1, ...) and sampling the
noise parameters are not implemented yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64

enable_x64()

PRIOR_SIGMAS = 50.0


@dataclass
class NutsResult:
    names: tuple[str, ...]  # fitted model parameters (offsets), OFFSET excluded
    samples: np.ndarray  # (chains, draws, k) offsets in model units
    sample_stats: dict
    whitening: np.ndarray
    center: np.ndarray


def _whitening(cov: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    """W with W W^T = cov, from the correlation matrix's eigen-directions whose variance is not negligible.

    Working on the correlation matrix makes the threshold independent of each parameter's units.
    """
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    vals, vecs = np.linalg.eigh((corr + corr.T) / 2)
    keep = vals > rcond * vals.max()
    return sd[:, None] * vecs[:, keep] * np.sqrt(vals[keep])


def sample_nuts(model, fit, noise=None, *, chains: int = 4, warmup: int = 500, samples: int = 1000, seed: int = 0,
                prior_sigmas: float = PRIOR_SIGMAS, progress: bool = False) -> NutsResult:
    """Sample the posterior of ``fit.names`` (less the phase offset, which is marginalised)."""
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    from jugbayes.fit.wls import OFFSET
    from jugbayes.model.noise import gls_chi2, offset_marginal_factor, toa_sigma_and_basis

    names = tuple(n for n in fit.names if n != OFFSET)
    idx = [fit.names.index(n) for n in names]
    center = np.asarray(fit.offsets)[idx]
    cov = np.asarray(fit.covariance)[np.ix_(idx, idx)]
    w = _whitening(cov)
    k = w.shape[1]
    raw, basis, weights = toa_sigma_and_basis(noise, model.toas.error_us)
    sigma = jnp.asarray(raw)
    u, chol = offset_marginal_factor(sigma, jnp.asarray(basis), jnp.asarray(weights))  # noise fixed: factor once
    base = model.zero_params()
    w_j, c_j = jnp.asarray(w), jnp.asarray(center)

    def chi2(z):
        theta = c_j + w_j @ z
        p = dict(base)
        for i, name in enumerate(names):
            p[name] = theta[i]
        return gls_chi2(model.residual_fn(p, model.data)["time_s"] / sigma, u, chol)

    def numpyro_model():
        z = numpyro.sample("z", dist.Uniform(-prior_sigmas * jnp.ones(k), prior_sigmas * jnp.ones(k)).to_event(1))
        numpyro.factor("likelihood", -0.5 * chi2(z))

    kernel = NUTS(numpyro_model, init_strategy=numpyro.infer.init_to_value(values={"z": jnp.zeros(k)}))
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=samples, num_chains=chains, chain_method="vectorized",
                progress_bar=progress)
    mcmc.run(jax.random.PRNGKey(seed), extra_fields=("diverging", "num_steps", "energy"))
    z = np.asarray(mcmc.get_samples(group_by_chain=True)["z"])
    theta = center + np.einsum("cdk,pk->cdp", z, w)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {"diverging": np.asarray(extra["diverging"]), "num_steps": np.asarray(extra["num_steps"]),
             "energy": np.asarray(extra["energy"])}
    return NutsResult(names, theta, stats, w, center)


def to_inference_data(model, result: NutsResult, fit):
    """ArviZ InferenceData: posterior variables named as the .par parameters, in .par units."""
    import arviz as az

    from jugbayes.report.fitted_par import par_factor

    posterior = {}
    for i, name in enumerate(result.names):
        par_name, factor = par_factor(model, name)
        p = model.par.get(par_name)
        ref = float(p.as_decimal()) if p is not None else 0.0
        posterior[par_name] = ref + result.samples[:, :, i] / factor
    stats = {"diverging": result.sample_stats["diverging"], "tree_size": result.sample_stats["num_steps"],
             "energy": result.sample_stats["energy"]}
    idata = az.from_dict(posterior=posterior, sample_stats=stats)
    idata.posterior.attrs["wls_chi2"] = float(fit.chi2)
    idata.posterior.attrs["prior"] = f"flat within +-{PRIOR_SIGMAS:g} sigma of the fit in whitened coordinates"
    return idata
