"""Stage two: a NUTS posterior over the timing parameters, warm-started from the WLS/GLS fit.

Layout: :func:`sample_nuts` and :func:`sample_chains` are the entry points; the posterior itself (a log density
of unconstrained z with its data as an argument pytree, z -> parameters, start and whitening) is built by
:func:`jugbayes.sample.posterior.build_posterior`, and sampled by a thin runner per backend
(:mod:`jugbayes.sample.numpyro_nuts`, the default, or :mod:`jugbayes.sample.blackjax_nuts`).  This module
holds the entry points; the posterior module the likelihoods and the result type (re-exported here).

Likelihood: the same residual function as stage one, Gaussian in the residuals with the same noise
kernel as the fitter (:mod:`jugbayes.model.noise.kernel`: scaled TOA errors, ECORR epochs, GP columns; the
phase offset and the marginalised columns as infinite-variance columns, as in the GLS chi2).

Priors and transforms (:mod:`jugbayes.sample.priors`): by default uniform within +-K WLS sigmas
(K = 50) intersected with physical bounds (0 <= SINI <= 1, 0 <= ECC < 1, M2 > 0, ...); a TOML config
may set uniform, normal, log-uniform or bounded priors per parameter.  Each parameter is a function
of one unconstrained coordinate u (logistic map for two-sided bounds, exponential for one-sided), so
every point has a finite log-density; the log-Jacobian is added.

Whitening: NUTS samples z with u = u_fit + W z, W the square root of the fit covariance pushed into
u-space by the transforms' derivatives at the fit (delta method), in the eigen-subspace of the
correlation matrix the SVD threshold keeps; degenerate directions are held at the fit values.  The
sampler then meets a near-isotropic posterior; ``dense_mass`` adds dense mass-matrix adaptation.

Linear marginalisation (``marginalize``; "linear" means PHOFF, JUMPs, DMX and FD): these parameters
enter the residuals through delays or phase offsets that do not change the TOAs' emission times by
more than nanoseconds, so their residual derivatives are constant far below any posterior width.
Their design-matrix columns (autodiff at the fit) join the Woodbury solve as infinite-variance
columns, NUTS samples only the rest, and each draw of the rest gets one draw of them from their
Gaussian conditional (conditional covariance and means in the result).  A free PHOFF is always
treated so, since it is the phase offset the likelihood marginalises.

Sampled noise (``sample_noise``): the white-noise (EFAC, log10 EQUAD/ECORR in seconds) and red/DM
power-law (log10 amplitude, index) parameters of :func:`jugbayes.model.noise.noise_parameters` join
the timing parameters, uniform within its ranges by default (enterprise's conventions: EFAC 0.01..10,
log10 EQUAD/ECORR -8.5..-5, so log-uniform amplitudes; log10 A -20..-11; gamma 0..7).  The likelihood
is then :func:`jugbayes.model.noise.noise_loglike`'s, with the noise-dependent log-determinants.  The
timing parameters' posterior width depends on the noise (red noise above all), so they are whitened at each
noise value (:func:`jugbayes.sample.posterior.conditional_timing_u`: the linearised GLS solution and covariance there, the map's
log-Jacobian added); the noise coordinates start from a guess (:data:`jugbayes.sample.priors.NOISE_SCALE`)
that :func:`jugbayes.sample.posterior.laplace_whitening` moves to the mode of their Laplace-marginal density and whitens by its Hessian.
With ``marginalize`` the marginalised columns join the kernel's infinite-variance columns at every noise
value, so the likelihood carries their noise-dependent log-determinant (restricted likelihood), and each
draw gets its conditional draw of them at its own noise; a free PHOFF is held at its fit value (the
likelihood marginalises the offset).

Compilation: every number that depends on the data set (TOA data, fit values, Woodbury factors, prior
bounds, whitening) reaches the NumPyro model as an argument, never through a closure.  With ``share_compiled``
NumPyro passes them to the compiled sampler as arguments (``MCMC(jit_model_args=True)``), so it depends on the
model's structure only: a validation study's data sets load it from JAX's persistent cache instead of compiling
it again.  Otherwise they are constants of one data set's program, which XLA folds (faster per step).

Chains: chain c is one NumPyro run from the key ``fold_in(key, c)`` of the seed, so its draws depend on the
seed and c only; :func:`sample_nuts` runs the chains one after another in this process, or spreads them over
worker processes pinned to their own cores (:mod:`jugbayes.sample.chains`; the CLI's default), with one
progress bar fed by a host callback in the sampler's loop.

Draws: ``NutsResult.samples`` holds timing offsets in model units, in ``fit.names`` order (OFFSET
left out), then the noise parameters' values in their sampling units.
"""

from __future__ import annotations

from jugbayes.config import enable_x64
from jugbayes.errors import JugbayesError
from jugbayes.sample.posterior import LINEAR_RE, PRIOR_SIGMAS, NutsResult, build_posterior, chain_keys

__all__ = ["BACKENDS", "LINEAR_RE", "PRIOR_SIGMAS", "NutsResult", "sample_chains", "sample_nuts"]

enable_x64()


BACKENDS = ("numpyro", "blackjax")


def sample_nuts(model, fit, noise=None, *, chains: int = 4, warmup: int = 500, samples: int = 1000, seed: int = 0,
                prior_sigmas: float | None = None, config=None, marginalize=(), dense_mass: bool = False,
                sample_noise: bool = False, progress: bool = False, workers: int | None = 1,
                share_compiled: bool = False, backend: str = "numpyro") -> NutsResult:
    """Sample the posterior of ``fit.names`` (less the phase offset, which is marginalised).

    ``config``: a :class:`jugbayes.sample.priors.PriorConfig` (priors, bounds, K); ``prior_sigmas``
    overrides its K.  ``marginalize``: "linear" and/or .par names to marginalise analytically.
    ``sample_noise``: sample the noise parameters too (their draws, in sampling units, follow the
    timing parameters in ``names``).  ``progress``: a progress bar (iterations of all chains).
    ``workers``: processes the chains run in (:mod:`jugbayes.sample.chains`, each pinned to its own cores);
    1 runs them one after another in this process, None one per core (at most one per chain).  Chain c
    always draws from the key ``fold_in(key, c)`` of ``seed``: same seed, same chains, whichever process ran them.
    ``share_compiled``: the data reach the compiled sampler as arguments, so data sets of one structure share
    it (validation studies); otherwise as constants, which XLA folds: B1855+09 9yv1 with the noise fixed, 5.2 ms
    against 9.1 ms per leapfrog step (one pinned core).  ``backend``: "numpyro" or "blackjax" (the same
    posterior, :mod:`jugbayes.sample.posterior`; NUTS with Stan-style window adaptation in both).
    """
    if model.structure.wideband and sample_noise:
        raise JugbayesError("wideband TOAs (-pp_dm) with --sample-noise: the sampled-noise posterior does not use "
                            "the DM measurements yet; sample with the noise fixed (the DM rows as in the GLS fit)")
    _check_backend(backend)
    from jugbayes.processes import usable_cores

    kw = dict(warmup=warmup, samples=samples, seed=seed, prior_sigmas=prior_sigmas, config=config,
              marginalize=marginalize, dense_mass=dense_mass, sample_noise=sample_noise, share_compiled=share_compiled,
              backend=backend)
    from tqdm.auto import tqdm

    workers = max(1, min(int(workers or usable_cores()), chains))
    desc = f"NUTS, {chains} chain{'s' * (chains > 1)}" + (f" in {workers} processes" if workers > 1 else "")
    with tqdm(total=chains * (warmup + samples), desc=desc, unit="it", disable=not progress) as bar:
        report = bar.update if progress else None
        if workers > 1:
            from jugbayes.sample.chains import sample_in_workers

            return sample_in_workers(model, fit, noise, chains=chains, workers=workers, report=report, **kw)
        return sample_chains(model, fit, noise, tuple(range(chains)), report=report, **kw)


def sample_chains(model, fit, noise, chain_ids: tuple[int, ...], *, warmup: int, samples: int, seed: int,
                  prior_sigmas: float | None, config, marginalize, dense_mass: bool, sample_noise: bool,
                  share_compiled: bool = False, report=None, backend: str = "numpyro") -> NutsResult:
    """:func:`sample_nuts`'s chains ``chain_ids``, one after another in this process.  ``report(n)``: called
    (from JAX's callback thread) as each chain finishes another n iterations."""
    _check_backend(backend)
    post = build_posterior(model, fit, noise, prior_sigmas=prior_sigmas, config=config, marginalize=marginalize,
                           sample_noise=sample_noise)
    if backend == "blackjax":
        from jugbayes.sample.blackjax_nuts import run_blackjax as run
    else:
        from jugbayes.sample.numpyro_nuts import run_numpyro as run
    u_draws, stats = run(post, chain_keys(seed, chain_ids), warmup=warmup, samples=samples, dense_mass=dense_mass,
                         share_compiled=share_compiled, report=report)
    return post.result(u_draws, stats, chain_ids, seed)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise JugbayesError(f"--backend {backend}: not a NUTS backend (choose {' or '.join(BACKENDS)})")

