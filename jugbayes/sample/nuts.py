"""Stage two: a NumPyro NUTS posterior over the timing parameters, warm-started from the WLS/GLS fit.

Likelihood: the same residual function as stage one, Gaussian in the residuals with the same noise
model (scaled TOA errors; ECORR and red noise marginalised by the Woodbury identity; the phase offset
marginalised with an infinite-variance column, as in the GLS chi2).

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
noise value (:func:`conditional_timing_u`: the linearised GLS solution and covariance there, the map's
log-Jacobian added); the noise coordinates start from a guess (:data:`jugbayes.sample.priors.NOISE_SCALE`)
that :func:`laplace_whitening` moves to the mode of their Laplace-marginal density and whitens by its Hessian.
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

import re
import warnings
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.errors import JugbayesError
from jugbayes.model.noise import columns_gram, grouped_forms, grouped_gram, noise_factor, noise_loglike

enable_x64()

PRIOR_SIGMAS = 50.0  # default K (the config's [sampler] K overrides it)
LINEAR_RE = re.compile(r"^(PHOFF|JUMP\d+|DMX_\w+|FD\d+)$")
DEGENERATE_COND = 1e-7  # smallest/largest singular value of the marginalised columns (after scaling)
LINEARITY_TOL = 1e-6  # relative change of a marginalised column over 5 sigma that earns a warning
LAPLACE_FLOOR = 1e-3  # smallest Hessian eigenvalue kept, in the initial whitened units (scale <= 31.6x the guess)


@dataclass
class NutsResult:
    names: tuple[str, ...]  # fitted parameters (OFFSET excluded; sampled and marginalised), then sampled noise
    samples: np.ndarray  # (chains, draws, k) offsets in model units (marginalised: conditional draws); noise values
    sample_stats: dict
    whitening: np.ndarray  # u-space whitening of the sampled parameters
    center: np.ndarray  # fit offsets of ``names`` (noise: the .par values)
    priors: dict = field(default_factory=dict)  # .par name -> prior used (kind, bounds in .par units, K)
    K: float = PRIOR_SIGMAS
    marginalized: tuple[str, ...] = ()
    linear_mean: np.ndarray | None = None  # (chains, draws, m) conditional means of the marginalised ones
    linear_cov: np.ndarray | None = None  # (m, m) their conditional covariance (model units)
    start: dict = field(default_factory=dict)  # how the start and metric were set (Laplace step, if taken)


def _whitening(cov: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    """W with W W^T = cov, from the correlation matrix's eigen-directions whose variance is not negligible.

    Working on the correlation matrix makes the threshold independent of each parameter's units.
    """
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    vals, vecs = np.linalg.eigh((corr + corr.T) / 2)
    keep = vals > rcond * vals.max()
    return sd[:, None] * vecs[:, keep] * np.sqrt(vals[keep])


def laplace_whitening(log_density_u, u0: np.ndarray, w: np.ndarray, *, max_steps: int = 20,
                      floor: float = LAPLACE_FLOOR):
    """Move the start to the posterior mode and whiten by the Hessian there (a Laplace approximation).

    ``u = u0 + w z``; damped Newton steps in z (Hessian eigenvalues clipped at ``floor``, step halved until
    the log-density does not fall), then ``w <- w V diag(lambda)^-1/2`` from the Hessian H = V diag(lambda)
    V^T at the mode, so NUTS meets unit curvature in every direction.  Needed when some scales are only
    guesses (sampled noise parameters); ``floor`` bounds how far a flat direction's scale may grow (a factor
    ``floor**-0.5`` over the guess).  Returns (u0, w, info).
    """
    w_j, u0_j = jnp.asarray(w), jnp.asarray(u0)
    k = w.shape[1]

    def f(z):
        return log_density_u(u0_j + w_j @ z)

    value_grad = jax.jit(jax.value_and_grad(f))

    @jax.jit
    def neg_hessian(z):
        hvp = lambda v: -jax.jvp(jax.grad(f), (z,), (v,))[1]  # noqa: E731
        h = jax.lax.map(hvp, jnp.eye(k), batch_size=8)
        return (h + h.T) / 2

    def eig(z):
        lam, vec = np.linalg.eigh(np.asarray(neg_hessian(z)))
        return np.maximum(lam, floor), vec, lam

    z = jnp.zeros(k)
    value, grad = value_grad(z)
    start_value, steps = float(value), 0
    lam, vec, raw = eig(z)
    for steps in range(1, max_steps + 1):
        dz = vec @ ((vec.T @ np.asarray(grad)) / lam)
        newton_decrement = float(np.sqrt(np.sum((vec.T @ np.asarray(grad)) ** 2 / lam)))
        if newton_decrement < 1e-3:
            break
        t = 1.0
        while t > 1e-4:
            v_new, g_new = value_grad(z + t * dz)
            if np.isfinite(float(v_new)) and float(v_new) >= float(value) - 1e-9:
                break
            t /= 2
        else:
            break
        z, value, grad = z + t * dz, v_new, g_new
        lam, vec, raw = eig(z)
    info = {"newton_steps": steps, "log_density_gain": float(value) - start_value,
            "clipped_directions": int(np.sum(raw < floor)), "curvature_range": [float(raw.min()), float(raw.max())]}
    return np.asarray(u0_j + w_j @ z), w @ (vec / np.sqrt(lam)), info


def conditional_timing_u(xi, u_noise, a: dict, noise, transforms):
    """(u, log |du/dxi| up to a constant): timing coordinates xi whitened given the noise (``sample_noise``).

    The timing parameters' GLS covariance depends on the noise (on the red-noise amplitude above all:
    two orders of magnitude in curvature for B1855+09 within 2.5 sd of log10 A, by autodiff Hessians),
    so a fixed metric meets a funnel.
    Instead z_t = m(noise) + R^-T xi, with F = R R^T = D^T C~^-1 D and m = -F^-1 D^T C~^-1 r0 the
    linearised GLS solution at this noise (D, r0: residual derivatives and residuals at the fit, in the
    fit-whitened coordinates z_t, u_t = u0_t + W z_t; C~: :func:`jugbayes.model.noise.grouped_forms`, cheap
    and close to C).  The posterior stays exact (the Jacobian -sum log diag R is added); xi is near N(0, I).
    ``a``: u0, w (= W), prior (:meth:`Transforms.arrays`), grouped (:func:`jugbayes.model.noise.grouped_gram`
    of [D, r0]).
    """
    kz_t = xi.shape[0]
    k_t = a["w"].shape[0]
    u_fit = a["u0"][:k_t]
    noise_values = transforms.forward(jnp.concatenate([u_fit, u_noise]), a["prior"])[0][k_t:]
    q = grouped_forms(noise, noise_values, a["grouped"], kz_t + 1)
    chol = jnp.linalg.cholesky(q[:kz_t, :kz_t])
    mean = -jax.scipy.linalg.cho_solve((chol, True), q[:kz_t, kz_t])
    z_t = mean + jax.scipy.linalg.solve_triangular(chol.T, xi, lower=False)
    return jnp.concatenate([u_fit + a["w"] @ z_t, u_noise]), -jnp.sum(jnp.log(jnp.diagonal(chol)))


def linear_names(model, names, marginalize) -> tuple[str, ...]:
    """The parameters of ``names`` to marginalise: "linear" (PHOFF, JUMPs, DMX, FD) and/or .par names."""
    from jugbayes.report.fitted_par import par_factor
    from jugbayes.sample.priors import _canonical

    if isinstance(marginalize, str):
        marginalize = [m for m in marginalize.split(",")]
    by_par = {par_factor(model, n)[0]: n for n in names}
    chosen = {"PHOFF"} & set(names)
    for item in (m.strip() for m in marginalize or ()):
        if not item:
            continue
        if item.lower() == "linear":
            chosen |= {n for n in names if LINEAR_RE.match(n)}
        elif _canonical(item) in by_par:
            chosen.add(by_par[_canonical(item)])
        else:
            raise JugbayesError(f"--marginalize {item}: not a fitted parameter (fitted: {', '.join(sorted(by_par))})")
    return tuple(n for n in names if n in chosen)


class _Likelihood:
    """-chi2/2 with the noise fixed: the noise kernel (:mod:`jugbayes.model.noise.kernel`) with the phase offset
    and the marginalised parameters' columns as infinite-variance columns, factored once."""

    def __init__(self, model, noise, names, theta_fit, sigma_fit, lin):
        from jugbayes.model.noise import fixed_kernel, kernel, toa_sigma_and_basis

        self.model, self.names, self.lin = model, tuple(names), tuple(lin)
        self.base = dict(model.zero_params(), **{n: jnp.float64(v) for n, v in zip(names, theta_fit)})
        raw = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
        cols = self.design(theta_fit, sigma_fit)
        offset = "PHOFF" not in lin
        whitened = np.hstack(([np.ones((len(raw), 1))] if offset else []) + [cols]) / raw[:, None]
        self._check_degenerate(whitened / np.linalg.norm(whitened, axis=0))
        self.cols = cols  # (n, m) the marginalised parameters' residual derivatives at the fit
        self.fac = kernel.factor(fixed_kernel(noise, raw, inf=cols, offset=offset))
        self.m = len(lin)

    def design(self, theta_fit, sigma_fit) -> np.ndarray:
        """Columns d(time residual)/d(marginalised parameter) at the fit, checked for constancy over 5 sigma."""
        if not self.lin:
            return np.zeros((len(self.model.toas), 0))
        ix = [self.names.index(n) for n in self.lin]

        def resid(x):
            p = dict(self.base, **{n: x[i] for i, n in enumerate(self.lin)})
            return self.model.residual_fn(p, self.model.data)["time_s"]

        x0 = jnp.asarray(np.asarray(theta_fit)[ix])
        jac = jax.jit(jax.jacfwd(resid))
        m0 = np.asarray(jac(x0))
        m1 = np.asarray(jac(x0 + 5.0 * jnp.asarray(np.asarray(sigma_fit)[ix])))
        change = np.max(np.abs(m1 - m0), axis=0) / np.maximum(np.max(np.abs(m0), axis=0), 1e-300)
        bad = [f"{n} ({c:.2g})" for n, c in zip(self.lin, change) if c > LINEARITY_TOL]
        if bad:
            warnings.warn("marginalising analytically assumes the residuals are linear in these parameters, but "
                          f"their columns change over 5 sigma by (relative): {', '.join(bad)}", stacklevel=3)
        return m0

    def _check_degenerate(self, cols: np.ndarray) -> None:
        _, s, vt = np.linalg.svd(cols, full_matrices=False)
        if s[-1] < DEGENERATE_COND * s[0]:
            labels = (["phase offset"] if "PHOFF" not in self.lin else []) + list(self.lin)
            worst = np.argsort(-np.abs(vt[-1]))[:4]
            raise JugbayesError("the marginalised parameters are degenerate (with the phase offset): "
                                f"{', '.join(labels[i] for i in worst)}; freeze one or leave it out of --marginalize")

    def arrays(self) -> dict:
        """Everything the log-likelihood reads, as a pytree of arrays: the TOA data, the parameters' fit values
        and the noise kernel's factor.  Passed as an argument, not closed over, so that data sets with the same
        structure share one compiled sampler (validation studies)."""
        return {"data": self.model.data, "base": self.base, "fac": self.fac}

    def params(self, theta_rest, rest, arrays: dict | None = None) -> dict:
        base = (arrays or self.arrays())["base"]
        return dict(base, **{n: theta_rest[i] for i, n in enumerate(rest)})

    def loglike(self, p, arrays: dict | None = None):
        from jugbayes.model.noise import kernel

        a = arrays or self.arrays()
        return -0.5 * kernel.forms(a["fac"], self.model.residual_fn(p, a["data"])["time_s"])

    def linear_draw(self, p, eps, fac=None):
        """(draw, conditional mean) of the marginalised offsets given the rest (model units); ``fac``: the kernel's
        factor at this draw's noise (default: the fixed noise's)."""
        from jugbayes.model.noise import kernel

        fac = self.fac if fac is None else fac
        r = self.model.residual_fn(p, self.model.data)["time_s"]
        x0 = jnp.asarray([self.base[n] for n in self.lin])
        # r(x0 + dx) = r(x0) + X dx: the coefficients a of X in r(x0) are -dx
        return x0 - kernel.conditional(fac, r, eps, last=self.m), x0 - kernel.conditional(fac, r, last=self.m)

    def linear_cov(self) -> np.ndarray:
        from jugbayes.model.noise import kernel

        return np.asarray(kernel.covariance(self.fac, last=self.m))


def _reporting_nuts():
    """NUTS that calls ``report(n)`` on the host as each chain finishes n more iterations (every ~0.5% of them).

    NumPyro's own progress bar reports from the compiled loop too, but only within one process; this one feeds a
    bar shared by chains running in several processes (:mod:`jugbayes.sample.chains`)."""
    from numpyro.infer import NUTS

    class ReportingNUTS(NUTS):
        def __init__(self, *args, report=None, iterations: int = 0, **kwargs):
            super().__init__(*args, **kwargs)
            self._report, self._iterations = report, int(iterations)

        def sample(self, state, model_args, model_kwargs):
            new = super().sample(state, model_args, model_kwargs)
            if self._report is None:
                return new
            stride = max(1, self._iterations // 200)
            done = jnp.where(new.i % stride == 0, stride, jnp.where(new.i == self._iterations, new.i % stride, 0))
            report = self._report
            jax.lax.cond(done > 0, lambda n: jax.debug.callback(lambda m: report(int(m)), n), lambda n: None, done)
            return new

    return ReportingNUTS


def sample_nuts(model, fit, noise=None, *, chains: int = 4, warmup: int = 500, samples: int = 1000, seed: int = 0,
                prior_sigmas: float | None = None, config=None, marginalize=(), dense_mass: bool = False,
                sample_noise: bool = False, progress: bool = False, workers: int | None = 1,
                share_compiled: bool = False) -> NutsResult:
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
    against 9.1 ms per leapfrog step (one pinned core).
    """
    if model.structure.wideband:
        raise JugbayesError("wideband TOAs (-pp_dm): the posterior does not use the DM measurements yet; "
                            "fit them with --method wls (the joint TOA + DM GLS)")
    from jugbayes.processes import usable_cores

    kw = dict(warmup=warmup, samples=samples, seed=seed, prior_sigmas=prior_sigmas, config=config,
              marginalize=marginalize, dense_mass=dense_mass, sample_noise=sample_noise, share_compiled=share_compiled)
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
                  share_compiled: bool = False, report=None) -> NutsResult:
    """:func:`sample_nuts`'s chains ``chain_ids``, one after another in this process.  ``report(n)``: called
    (from JAX's callback thread) as each chain finishes another n iterations."""
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC

    from jugbayes.fit.wls import OFFSET
    from jugbayes.report.fitted_par import par_factor
    from jugbayes.sample import priors as pr

    names = tuple(n for n in fit.names if n != OFFSET)
    idx = [fit.names.index(n) for n in names]
    theta_fit = np.asarray(fit.offsets, dtype=float)[idx]
    cov_all = np.asarray(fit.covariance, dtype=float)[np.ix_(idx, idx)]
    sigma_fit = np.sqrt(np.diag(cov_all))
    lin = linear_names(model, names, marginalize)
    noise_params, held = [], ()
    if sample_noise:
        noise, noise_params = _noise_params(model, noise)
        # a free PHOFF is the phase offset noise_loglike marginalises: hold it
        held, lin = tuple(n for n in lin if n == "PHOFF"), tuple(n for n in lin if n != "PHOFF")
    rest = tuple(n for n in names if n not in lin and n not in held)
    if not rest:
        raise JugbayesError("every fitted parameter is marginalised analytically: nothing left for NUTS to sample")
    ri = [names.index(n) for n in rest]
    K = float(prior_sigmas if prior_sigmas is not None else (config.K if config is not None else pr.DEFAULT_K))
    priors = pr.resolve_priors(model, rest, theta_fit[ri], sigma_fit[ri], config, K=K, marginalized=lin + held,
                               noise_params=noise_params)
    transforms = pr.Transforms(priors)
    scale = np.concatenate([sigma_fit[ri], [pr.noise_scale(q) for q in noise_params]])
    start = np.concatenate([theta_fit[ri], [q.value for q in noise_params]])
    start = np.array([pr.start_point(p, c, s) for p, c, s in zip(priors, start, scale)])
    u0 = np.array([pr.to_unconstrained(p, t) for p, t in zip(priors, start)])
    jac = np.array([pr.dtheta_du(p, u) for p, u in zip(priors, u0)])
    k_t = len(rest)
    w_t = _whitening(cov_all[np.ix_(ri, ri)] / np.outer(jac[:k_t], jac[:k_t]))
    w = np.zeros((len(priors), w_t.shape[1] + len(noise_params)))
    w[:k_t, :w_t.shape[1]] = w_t
    w[k_t:, w_t.shape[1]:] = np.diag(scale[k_t:] / jac[k_t:])
    like = _Likelihood(model, None if sample_noise else noise, names, theta_fit, sigma_fit, lin)
    inf = gram = None
    if sample_noise and lin:  # the marginalised columns join the kernel's infinite-variance ones at every noise value
        inf, gram = like.cols, columns_gram(noise, like.cols)
    # Every number that depends on the data set travels in ``args`` (a jitted argument), none in a closure.
    args = {"like": like.arrays(), "prior": transforms.arrays()}
    kz_t = w_t.shape[1]

    def log_density_u(u, a):
        """Log posterior density of the unconstrained u."""
        theta, log_prior = transforms.forward(u, a["prior"])
        p = like.params(theta[:k_t], rest, a["like"])
        if not sample_noise:
            return like.loglike(p, a["like"]) + log_prior
        return (noise_loglike(noise, model.residual_fn(p, a["like"]["data"])["time_s"], theta[k_t:], inf, gram)
                + log_prior)

    def u_of(z, a):
        """(u, log |du/dz|): the sampler's coordinates z mapped to unconstrained u."""
        if not sample_noise:
            return a["u0"] + a["w"] @ z, 0.0
        return conditional_timing_u(z[:kz_t], a["u0"][k_t:] + a["w_noise"] @ z[kz_t:], a, noise, transforms)

    laplace = None
    if sample_noise:
        # The noise scales are only a guess: Newton steps to the mode of the noise's (Laplace-)marginal density,
        # f(xi = 0, noise), and its Hessian there set the noise metric.
        w_noise = w[k_t:, kz_t:]
        lin_cols = _timing_design(model, like, transforms, rest, u0, w_t)
        grouped = grouped_gram(noise, lin_cols, [q.value for q in noise_params], inf)
        args.update(u0=jnp.asarray(u0), w=jnp.asarray(w_t), grouped=jax.tree.map(jnp.asarray, grouped))

        def noise_density(u_noise):
            u, log_jac = conditional_timing_u(jnp.zeros(kz_t), u_noise, args, noise, transforms)
            return log_density_u(u, args) + log_jac

        u_noise, w_noise, laplace = laplace_whitening(noise_density, u0[k_t:], w_noise)
        u0 = np.concatenate([u0[:k_t], u_noise])
        w = np.zeros_like(w)
        w[:k_t, :kz_t], w[k_t:, kz_t:] = w_t, w_noise
        args.update(u0=jnp.asarray(u0), w_noise=jnp.asarray(w_noise))
    else:
        args.update(u0=jnp.asarray(u0), w=jnp.asarray(w))
    k = w.shape[1]

    def numpyro_model(a):
        z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), event_shape=(k,)))
        u, log_jac = u_of(z, a)
        numpyro.deterministic("u", u)  # kept with each draw: mapping z back afterwards would redo the noise solves
        numpyro.factor("log_density", log_density_u(u, a) + log_jac)

    kernel = _reporting_nuts()(numpyro_model, dense_mass=dense_mass,
                                init_strategy=numpyro.infer.init_to_value(values={"z": jnp.zeros(k)}),
                                report=report, iterations=warmup + samples)
    # One chain after another (NumPyro's "sequential": one compiled loop, each chain its own run); chains run in
    # parallel in separate processes (sample_nuts' workers), not as a vectorized loop that waits for the slowest
    # chain at every step, nor as XLA devices sharing the cores (which contend: ~3x slower per step).
    chains = len(chain_ids)
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=samples, num_chains=chains, chain_method="sequential",
                progress_bar=False, jit_model_args=share_compiled)
    key_mcmc, key_lin = jax.random.split(jax.random.PRNGKey(seed))
    keys = jnp.stack([jax.random.fold_in(key_mcmc, c) for c in chain_ids])
    mcmc.run(keys[0] if chains == 1 else keys, args,
             extra_fields=("diverging", "num_steps", "energy", "accept_prob", "adapt_state.step_size",
                           "potential_energy"))
    u_draws = np.asarray(mcmc.get_samples(group_by_chain=True)["u"])
    flat_theta = np.asarray(jax.jit(jax.vmap(lambda uu, a: transforms.forward(uu, a)[0], in_axes=(0, None)))(
        jnp.asarray(u_draws.reshape(chains * samples, -1)), args["prior"]))
    out_names = names + tuple(q.name for q in noise_params)
    out = np.empty((chains * samples, len(out_names)))
    out[:, ri] = flat_theta[:, :k_t]
    out[:, len(names):] = flat_theta[:, k_t:]
    for n in held:
        out[:, names.index(n)] = theta_fit[names.index(n)]
    lin_mean = lin_cov = None
    if lin:
        eps = jnp.concatenate([jax.random.normal(jax.random.fold_in(key_lin, c), (samples, len(lin)))
                               for c in chain_ids])
        fac_of = None if not sample_noise else (lambda v: noise_factor(noise, v, inf, gram))  # noqa: E731
        lin_mean, lin_cov = _linear_draws(like, rest, flat_theta, eps, out, [names.index(n) for n in lin], fac_of)
        lin_mean = lin_mean.reshape(chains, samples, len(lin))
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {"diverging": np.asarray(extra["diverging"]), "num_steps": np.asarray(extra["num_steps"]),
             "energy": np.asarray(extra["energy"]), "accept_prob": np.asarray(extra["accept_prob"]),
             "step_size": np.asarray(extra["adapt_state.step_size"]),
             "lp": -np.asarray(extra["potential_energy"])}  # log density in the sampled coordinates (as az.from_numpyro)
    used = {p.par_name: p.describe() for p in priors}
    used.update({par_factor(model, n)[0]: {"kind": "flat (marginalised analytically)", "source": "marginalize"}
                 for n in lin})
    used.update({par_factor(model, n)[0]: {"kind": "held at the fit value (degenerate with the marginalised phase "
                                                   "offset)", "source": "sample-noise"} for n in held})
    center = np.concatenate([theta_fit, [q.value for q in noise_params]])
    start_info = {"whitening": ("timing: GLS covariance at each noise value; noise: Laplace at the mode of its "
                                "marginal") if laplace else "WLS/GLS covariance", **(laplace or {})}
    return NutsResult(out_names, out.reshape(chains, samples, len(out_names)), stats, w, center, used, K, lin,
                      lin_mean, lin_cov, start_info)


def _timing_design(model, like, transforms, rest, u0, w_t) -> np.ndarray:
    """[D, r0] (n, k + 1): residual derivatives along the whitened timing coordinates (columns of ``w_t``) and
    the residuals, at the start ``u0`` (the noise-conditional whitening's linearisation)."""
    k_t = len(rest)

    def resid(z_t):
        theta = transforms.forward(jnp.concatenate([jnp.asarray(u0[:k_t]) + jnp.asarray(w_t) @ z_t,
                                                    jnp.asarray(u0[k_t:])]))[0]
        return model.residual_fn(like.params(theta[:k_t], rest), model.data)["time_s"]

    z0 = jnp.zeros(w_t.shape[1])
    return np.column_stack([np.asarray(jax.jit(jax.jacfwd(resid))(z0)), np.asarray(jax.jit(resid)(z0))])


def _noise_params(model, noise):
    """The noise model (built when not given) and its sampled parameters; an error when there are none."""
    from jugbayes.model import noise as noise_mod

    noise = noise if noise is not None else noise_mod.noise_for_model(model)
    params = noise_mod.noise_parameters(noise)
    if not params:
        raise JugbayesError("--sample-noise: the .par has no noise parameters (EFAC, EQUAD, ECORR, TNRedAmp/Gam, "
                            "TNDMAmp/Gam) to sample; add them with starting values")
    return noise, params


def _linear_draws(like, rest, flat_theta, eps, out, li, fac_of=None):
    """Fill ``out[:, li]`` with one conditional draw of the marginalised parameters per draw of the rest (``eps``:
    standard normal, one row per draw); return their conditional means (draws, m) and covariance (m, m).
    ``fac_of(noise values)``: the kernel's factor at each draw's noise (sampled noise; the covariance is then the
    average of the draws' conditional covariances), else the fixed noise's."""
    from jugbayes.model.noise import kernel

    k = len(rest)

    def one(args):
        theta, e = args
        fac = like.fac if fac_of is None else fac_of(theta[k:])
        draw, mean = like.linear_draw(like.params(theta[:k], rest), e, fac)
        return draw, mean, (jnp.zeros(()) if fac_of is None else kernel.covariance(fac, last=like.m))

    draws, means, covs = jax.lax.map(jax.jit(one), (jnp.asarray(flat_theta), eps), batch_size=64)
    out[:, li] = np.asarray(draws)
    return np.asarray(means), (like.linear_cov() if fac_of is None else np.asarray(covs).mean(axis=0))
