"""The timing (and noise) posterior as a sampler-agnostic shape: pure functions of an unconstrained vector z.

:class:`Posterior` holds ``log_density(z, args)`` (jittable, differentiable; every log-Jacobian inside), the map
z -> parameter values, the dimension, the start and the starting whitening; the data and constants travel in the
``args`` pytree, never in a closure, so one compiled sampler can serve data sets of one structure (as BlackJAX's
``logdensity_fn`` and discovery's likelihoods take them).  :func:`build_posterior` resolves the priors, whitens
by the fit covariance, takes the Laplace start for sampled noise and sets up the marginalisation;
:meth:`Posterior.result` turns a backend's draws into a :class:`jugbayes.sample.nuts.NutsResult`.  The
samplers themselves are thin runners (:mod:`jugbayes.sample.numpyro_nuts`, :mod:`jugbayes.sample.blackjax_nuts`);
:mod:`jugbayes.sample.nuts` describes the coordinates, priors and likelihoods.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.errors import JugbayesError
from jugbayes.model.noise import columns_gram, grouped_forms, grouped_gram, noise_factor, noise_loglike, split_gram
from jugbayes.model.noise.likelihood import SplitGram

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



@dataclass(frozen=True)
class Posterior:
    """A posterior density over unconstrained z (``dim`` of them), u = u(z) the priors' unconstrained coordinates.

    ``u_of(z, args)``: (u, log |du/dz|); ``log_density_u(u, args)``: log posterior density of u (priors'
    log-Jacobians included); ``params_of_u(u, args)``: the sampled parameters' values (model-unit timing offsets
    of ``setup.rest``, then noise values).  ``z0``: the start; ``whitening``: u-space W of the start's metric.
    ``setup``: what :meth:`result` needs to report draws (priors, fit centre, marginalised columns)."""

    u_of: Callable
    log_density_u: Callable
    params_of_u: Callable
    args: dict
    dim: int
    z0: np.ndarray
    whitening: np.ndarray
    setup: "_Setup"

    def log_density(self, z, args):
        """Log density of z (jittable, differentiable): the posterior of u plus log |du/dz|."""
        return self.log_density_and_u(z, args)[0]

    def log_density_and_u(self, z, args):
        """(log density of z, u): runners keep u with each draw, since mapping z back afterwards redoes solves."""
        u, log_jac = self.u_of(z, args)
        return self.log_density_u(u, args) + log_jac, u

    def params(self, z, args):
        """The sampled parameters' values at z (model-unit timing offsets, then noise values)."""
        return self.params_of_u(self.u_of(z, args)[0], args)

    def result(self, u_draws: np.ndarray, stats: dict, chain_ids: tuple[int, ...], seed: int) -> NutsResult:
        """The :class:`NutsResult` of draws of u (chains, draws, len(u)) and a runner's sample stats."""
        return _result(self, np.asarray(u_draws), stats, tuple(chain_ids), seed)


@dataclass(frozen=True)
class _Setup:
    names: tuple[str, ...]  # fitted parameters, OFFSET excluded
    rest: tuple[str, ...]  # those NUTS samples
    lin: tuple[str, ...]  # marginalised analytically
    held: tuple[str, ...]  # held at the fit (a free PHOFF with sampled noise)
    noise_params: tuple
    theta_fit: np.ndarray
    priors: list
    transforms: object
    like: _Likelihood
    K: float
    laplace: dict | None
    fac_of: Callable | None  # noise values -> the kernel's factor with the marginalised columns (sampled noise)


def chain_keys(seed: int, chain_ids: tuple[int, ...]):
    """Keys (chains, 2): chain c samples from ``fold_in(key, c)`` of the seed's first key (its draws depend on the
    seed and c only, whichever process runs it); the second key is the linear draws' (:meth:`Posterior.result`)."""
    key_mcmc = jax.random.split(jax.random.PRNGKey(seed))[0]
    return jnp.stack([jax.random.fold_in(key_mcmc, c) for c in chain_ids])


def build_posterior(model, fit, noise, *, prior_sigmas: float | None, config, marginalize, sample_noise: bool
                    ) -> Posterior:
    """The posterior :func:`jugbayes.sample.nuts.sample_nuts` samples: priors resolved, whitened at the fit (timing:
    at each noise value, noise: Laplace at its mode, with ``sample_noise``), marginalised columns set up."""
    from jugbayes.fit.wls import OFFSET
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
    inf = gram = split = None
    if sample_noise and lin:  # the marginalised columns join the kernel's infinite-variance ones at every noise value
        inf, gram = like.cols, columns_gram(noise, like.cols)
        split = split_gram(noise, like.cols) or gram  # the log density only needs the likelihood: DMX block eliminated
    # Every number that depends on the data set travels in ``args`` (a jitted argument), none in a closure.
    args = {"like": like.arrays(), "prior": transforms.arrays()}
    kz_t = w_t.shape[1]

    def log_density_u(u, a):
        """Log posterior density of the unconstrained u."""
        theta, log_prior = transforms.forward(u, a["prior"])
        p = like.params(theta[:k_t], rest, a["like"])
        if not sample_noise:
            return like.loglike(p, a["like"]) + log_prior
        return (noise_loglike(noise, model.residual_fn(p, a["like"]["data"])["time_s"], theta[k_t:], inf, split)
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
        values = [q.value for q in noise_params]
        lin_cols, metric_inf = _off_sparse_columns(noise, values, inf, split, lin_cols)
        grouped = grouped_gram(noise, lin_cols, values, metric_inf)
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
    fac_of = None if not (sample_noise and lin) else (lambda v: noise_factor(noise, v, inf, gram))  # noqa: E731
    setup = _Setup(names, rest, lin, held, tuple(noise_params), theta_fit, priors, transforms, like, K, laplace,
                   fac_of)
    return Posterior(u_of, log_density_u, lambda u, a: transforms.forward(u, a["prior"])[0], args, w.shape[1],
                     np.zeros(w.shape[1]), w, setup)


def _result(post: Posterior, u_draws: np.ndarray, stats: dict, chain_ids, seed: int) -> NutsResult:
    """Draws of u -> parameter values; held ones at the fit; marginalised ones drawn from their conditional."""
    from jugbayes.report.fitted_par import par_factor

    s = post.setup
    chains, samples = u_draws.shape[:2]
    flat_theta = np.asarray(jax.jit(jax.vmap(post.params_of_u, in_axes=(0, None)))(
        jnp.asarray(u_draws.reshape(chains * samples, -1)), post.args))
    out_names = s.names + tuple(q.name for q in s.noise_params)
    ri = [s.names.index(n) for n in s.rest]
    k_t = len(s.rest)
    out = np.empty((chains * samples, len(out_names)))
    out[:, ri] = flat_theta[:, :k_t]
    out[:, len(s.names):] = flat_theta[:, k_t:]
    for n in s.held:
        out[:, s.names.index(n)] = s.theta_fit[s.names.index(n)]
    lin_mean = lin_cov = None
    if s.lin:
        key_lin = jax.random.split(jax.random.PRNGKey(seed))[1]
        eps = jnp.concatenate([jax.random.normal(jax.random.fold_in(key_lin, c), (samples, len(s.lin)))
                               for c in chain_ids])
        lin_mean, lin_cov = _linear_draws(s.like, s.rest, flat_theta, eps, out, [s.names.index(n) for n in s.lin],
                                         chains, s.fac_of)
        lin_mean = lin_mean.reshape(chains, samples, len(s.lin))
    used = {p.par_name: p.describe() for p in s.priors}
    used.update({par_factor(s.like.model, n)[0]: {"kind": "flat (marginalised analytically)", "source": "marginalize"}
                 for n in s.lin})
    used.update({par_factor(s.like.model, n)[0]: {"kind": "held at the fit value (degenerate with the marginalised "
                                                           "phase offset)", "source": "sample-noise"} for n in s.held})
    center = np.concatenate([s.theta_fit, [q.value for q in s.noise_params]])
    start_info = {"whitening": ("timing: GLS covariance at each noise value; noise: Laplace at the mode of its "
                                "marginal") if s.laplace else "WLS/GLS covariance", **(s.laplace or {})}
    return NutsResult(out_names, out.reshape(chains, samples, len(out_names)), stats, post.whitening, center, used,
                      s.K, s.lin, lin_mean, lin_cov, start_info)


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
        from jugbayes.model.noise import fixed_kernel, kernel, toa_sigma_and_basis, with_wideband_rows

        self.model, self.names, self.lin = model, tuple(names), tuple(lin)
        self.base = dict(model.zero_params(), **{n: jnp.float64(v) for n, v in zip(names, theta_fit)})
        raw = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
        n = len(raw)
        cols = self.design(theta_fit, sigma_fit)
        offset = "PHOFF" not in lin
        kern = with_wideband_rows(model, noise, fixed_kernel(noise, raw, inf=cols[:n], offset=offset))
        if len(kern.sigma) > n:  # wideband DM rows: the marginalised columns move the model DM too
            kern = kern._replace(inf=np.vstack([kern.inf[:n], np.hstack([np.zeros((len(kern.sigma) - n, int(offset))),
                                                                         cols[n:]])]))
        whitened = np.asarray(kern.inf) / np.asarray(kern.sigma)[:, None]
        self._check_degenerate(whitened / np.linalg.norm(whitened, axis=0))
        self.cols = cols  # (rows, m) the marginalised parameters' residual derivatives at the fit
        self.fac = kernel.factor(kern)
        self.m = len(lin)

    def residuals(self, p, data):
        """The rows of the likelihood: time residuals (s), then any wideband DM residuals (pc cm^-3)."""
        out = self.model.residual_fn(p, data)
        if "dm_resid_pc_cm3" not in out:
            return out["time_s"]
        return jnp.concatenate([out["time_s"], out["dm_resid_pc_cm3"]])

    def design(self, theta_fit, sigma_fit) -> np.ndarray:
        """Columns d(time residual)/d(marginalised parameter) at the fit, checked for constancy over 5 sigma."""
        if not self.lin:
            wideband = len(self.model.data["wb_index"]) if self.model.structure.wideband else 0
            return np.zeros((len(self.model.toas) + wideband, 0))
        ix = [self.names.index(n) for n in self.lin]

        def resid(x):
            p = dict(self.base, **{n: x[i] for i, n in enumerate(self.lin)})
            return self.residuals(p, self.model.data)

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
        return -0.5 * kernel.forms(a["fac"], self.residuals(p, a["data"]))

    def linear_draw(self, p, eps, fac=None):
        """(draw, conditional mean) of the marginalised offsets given the rest (model units); ``fac``: the kernel's
        factor at this draw's noise (default: the fixed noise's)."""
        from jugbayes.model.noise import kernel

        fac = self.fac if fac is None else fac
        r = self.residuals(p, self.model.data)
        x0 = jnp.asarray([self.base[n] for n in self.lin])
        # r(x0 + dx) = r(x0) + X dx: the coefficients a of X in r(x0) are -dx
        return x0 - kernel.conditional(fac, r, eps, last=self.m), x0 - kernel.conditional(fac, r, last=self.m)

    def linear_cov(self) -> np.ndarray:
        from jugbayes.model.noise import kernel

        return np.asarray(kernel.covariance(self.fac, last=self.m))



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


def _off_sparse_columns(noise, values, inf, split, lin_cols):
    """([D, r0], the infinite-variance columns) for the noise-conditional metric: with a :class:`SplitGram`, [D, r0]
    regressed off its eliminated columns at the starting noise ``values`` (GLS, the other columns marginalised) and
    those columns dropped.  Exact there (Frisch-Waugh-Lovell), approximate elsewhere, as the metric may be; the
    metric's cost then scales with the remaining columns (on B1855+09 9yv1, 5 of 76)."""
    if not isinstance(split, SplitGram):
        return lin_cols, inf
    from jugbayes.model.noise import kernel

    order = np.concatenate([split.rest, np.setdiff1d(np.arange(inf.shape[1]), split.rest)])
    fac = noise_factor(noise, jnp.asarray(values, dtype=jnp.float64), inf[:, order])
    beta = np.asarray(kernel.conditional(fac, jnp.asarray(lin_cols), last=split.d))
    return lin_cols - inf[:, order[len(split.rest):]] @ beta, inf[:, split.rest]


def _noise_params(model, noise):
    """The noise model (built when not given) and its sampled parameters; an error when there are none."""
    from jugbayes.model import noise as noise_mod

    noise = noise if noise is not None else noise_mod.noise_for_model(model)
    params = noise_mod.noise_parameters(noise)
    if not params:
        raise JugbayesError("--sample-noise: the .par has no noise parameters (EFAC, EQUAD, ECORR, TNRedAmp/Gam, "
                            "TNDMAmp/Gam) to sample; add them with starting values")
    return noise, params


def _linear_draws(like, rest, flat_theta, eps, out, li, chains: int, fac_of=None):
    """Fill ``out[:, li]`` with one conditional draw of the marginalised parameters per draw of the rest (``eps``:
    standard normal, one row per draw; ``chains`` of equal length); return their conditional means (draws, m) and covariance (m, m).
    ``fac_of(noise values)``: the kernel's factor at each draw's noise (sampled noise; the covariance is then the
    average of the draws' conditional covariances), else the fixed noise's."""
    from jugbayes.model.noise import kernel

    k = len(rest)

    def one(args):
        theta, e = args
        fac = like.fac if fac_of is None else fac_of(theta[k:])
        draw, mean = like.linear_draw(like.params(theta[:k], rest), e, fac)
        return draw, mean, (jnp.zeros(()) if fac_of is None else kernel.covariance(fac, last=like.m))

    # One chain at a time, so that a chain's draws are the same program's whichever process runs it.
    per_chain = jax.jit(lambda xs: jax.lax.map(one, xs, batch_size=64))
    parts = [per_chain((jnp.asarray(t), e)) for t, e in zip(np.split(flat_theta, chains), jnp.split(eps, chains))]
    draws, means, covs = (np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(3))
    out[:, li] = draws
    return means, (like.linear_cov() if fac_of is None else covs.mean(axis=0))

