"""Stage one: weighted least squares by Gauss-Newton with a column-scaled SVD solve.

The design matrix is the autodiff Jacobian of the shared residual function with respect to the
free parameters' offsets, plus a constant column for the arbitrary phase offset (unless PHOFF is
fitted).  Each iteration is one jitted call: residuals, Jacobian, whitening by the TOA errors,
column scaling (each column divided by its norm), SVD, dropping singular values below
``rcond`` times the largest (with a warning naming the degenerate combination), the step, and
the covariance with the scaling undone.  Python only decides whether to accept the step (halving
it while chi2 rises) and when to stop (every step below ``tol_sigma`` of its sigma and chi2
steady).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.model.noise import gls_chi2, offset_marginal_factor, toa_sigma_and_basis

enable_x64()

RCOND = 1e-12  # singular values below RCOND * max (after column scaling) are dropped
OFFSET = "OFFSET"  # the phase-offset column (turns, as PHOFF) in results


class DegenerateFitWarning(UserWarning):
    """Some combination of free parameters is not constrained by the data."""


@dataclass
class FitResult:
    """The outcome of a fit; values are offsets from the .par, in the model's units."""

    names: tuple[str, ...]  # free parameters (OFFSET last when it was fitted)
    offsets: np.ndarray
    sigma: np.ndarray
    covariance: np.ndarray
    chi2: float
    chi2_prefit: float
    dof: int
    wrms_prefit_us: float
    wrms_postfit_us: float
    iterations: int
    converged: bool
    residuals_s: np.ndarray
    whitened: np.ndarray
    dropped: list[str] = field(default_factory=list)

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    @property
    def correlation(self) -> np.ndarray:
        s = np.sqrt(np.diag(self.covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.covariance / np.outer(s, s)


def _wrms_us(r: np.ndarray, sigma_s: np.ndarray) -> float:
    w = 1.0 / sigma_s**2
    mean = np.sum(w * r) / np.sum(w)
    return float(np.sqrt(np.sum(w * (r - mean) ** 2) / np.sum(w)) * 1e6)


def _make_step(model, free: tuple[str, ...], with_offset: bool, n_noise: int):
    """A jitted ``(x, sigma) -> (resid, chi2, step, cov, singular values, V, kept)`` for offsets ``x``.

    GLS by augmentation: the noise basis T (weights phi) joins the design matrix and each noise column
    gets a prior row 1/sqrt(phi), so one column-scaled SVD of [[J/sigma, T/sigma], [0, phi^-1/2]]
    solves for the timing step marginalised over the noise.  With no basis this is plain WLS.
    chi2 is r^T C^-1 r with C = N + T phi T^T + (offset, infinite variance), by the Woodbury identity.
    """
    key = (free, with_offset, n_noise)
    cache = model.__dict__.setdefault("_fit_steps", {})
    if key in cache:  # a re-fit of the same model reuses the compiled step
        return cache[key]
    base = model.zero_params()
    n_par = len(free) + (1 if with_offset else 0)

    def resid(x):
        p = dict(base)
        for i, name in enumerate(free):
            p[name] = x[i]
        if with_offset:
            # The offset is a phase offset (turns), applied before residuals go to the nearest pulse, so
            # a large step along a near-degenerate JUMPs-versus-offset direction cannot skip pulses.
            p["PHOFF"] = x[-1]
        return model.residual_fn(p, model.data)["time_s"]

    def chi2_of(r, sigma_s, t_mat, phi):
        b = r / sigma_s
        if n_noise == 0:
            return jnp.sum(b * b)
        return gls_chi2(b, *offset_marginal_factor(sigma_s, t_mat, phi))

    @jax.jit
    def step(x, sigma_s, t_mat, phi):
        r = resid(x)
        jac = jax.jacfwd(resid)(x)
        top = jnp.hstack([jac, t_mat]) / sigma_s[:, None]
        if n_noise:
            prior = jnp.hstack([jnp.zeros((n_noise, n_par)), jnp.diag(1.0 / jnp.sqrt(phi))])
            a = jnp.vstack([top, prior])
            b = jnp.concatenate([r / sigma_s, jnp.zeros(n_noise)])
        else:
            a, b = top, r / sigma_s
        norms = jnp.sqrt(jnp.sum(a * a, axis=0))
        norms = jnp.where(norms > 0, norms, 1.0)
        u, sv, vt = jnp.linalg.svd(a / norms, full_matrices=False)
        keep = sv > RCOND * sv[0]
        s_inv = jnp.where(keep, 1.0 / jnp.where(keep, sv, 1.0), 0.0)
        dx = -(vt.T @ (s_inv * (u.T @ b))) / norms
        cov = ((vt.T * s_inv**2) @ vt) / jnp.outer(norms, norms)
        return r, chi2_of(r, sigma_s, t_mat, phi), dx[:n_par], cov[:n_par, :n_par], sv, vt[:, :n_par], keep

    cache[key] = (step, resid, jax.jit(chi2_of))
    return cache[key]


def fit_wls(model, free: tuple[str, ...] | None = None, *, sigma_us: np.ndarray | None = None, max_iter: int = 50,
            tol_sigma: float = 1e-3, tol_chi2: float = 1e-6, noise=None) -> FitResult:
    """Fit the free parameters (default: the .par's) by WLS, or GLS when ``noise`` has correlated parts.

    TOA errors: ``sigma_us`` if given, else the .tim's scaled by the noise model's EFAC/EQUAD (if any).
    """
    free = tuple(model.free if free is None else free)
    unknown = [n for n in free if n not in model.names]
    if unknown:
        raise KeyError(f"not parameters of this model: {', '.join(unknown)}")
    with_offset = "PHOFF" not in free
    raw, basis, weights = toa_sigma_and_basis(noise, model.toas.error_us)
    if sigma_us is not None:
        raw = np.asarray(sigma_us, dtype=np.float64) * 1e-6
    sigma_s = jnp.asarray(raw)
    names = free + ((OFFSET,) if with_offset else ())
    step_fn, resid, chi2_fn = _make_step(model, free, with_offset, basis.shape[1])
    t_mat, phi = jnp.asarray(basis), jnp.asarray(weights)
    step = lambda x, sig: step_fn(x, sig, t_mat, phi)  # noqa: E731
    x = jnp.zeros(len(names))
    r, chi2, dx, cov, s, vt, keep = step(x, sigma_s)
    r0, chi2_prefit = np.asarray(r), float(chi2)  # the first step is taken at the .par's values
    wrms_pre = _wrms_us(r0, raw)
    dropped = _report_degenerate(names, np.asarray(s), np.asarray(vt), np.asarray(keep))
    converged, iterations = False, 0
    for iterations in range(1, max_iter + 1):
        sig = np.sqrt(np.abs(np.diag(np.asarray(cov))))
        trial, factor = x + dx, 1.0
        r_t, chi2_t, dx_t, cov_t, s_t, vt_t, keep_t = step(trial, sigma_s)
        while not float(chi2_t) <= float(chi2) * (1 + 1e-12) and factor > 1e-3:  # NaN counts as worse
            factor /= 2
            trial = x + factor * dx
            r_t, chi2_t, dx_t, cov_t, s_t, vt_t, keep_t = step(trial, sigma_s)
        small = np.all(np.abs(np.asarray(dx)) * factor <= tol_sigma * np.where(sig > 0, sig, np.inf))
        steady = abs(float(chi2) - float(chi2_t)) <= tol_chi2 * max(float(chi2), 1.0)
        x, r, chi2, dx, cov, s, vt, keep = trial, r_t, chi2_t, dx_t, cov_t, s_t, vt_t, keep_t
        if small and steady:
            converged = True
            break
    cov = np.asarray(cov)
    r = np.asarray(r)
    return FitResult(names, np.asarray(x), np.sqrt(np.abs(np.diag(cov))), cov, float(chi2), chi2_prefit,
                     len(r) - len(names), wrms_pre, _wrms_us(r, raw), iterations, converged, r, r / raw, dropped)


def _report_degenerate(names, s, vt, keep) -> list[str]:
    """Warn for each dropped singular direction, naming the parameters that make it up."""
    dropped = []
    for i in np.nonzero(~keep)[0]:
        weights = vt[i]
        top = np.argsort(-np.abs(weights))[:4]
        combo = " + ".join(f"{weights[j]:+.2f}*{names[j]}" for j in top if abs(weights[j]) > 0.05)
        dropped.append(combo)
        warnings.warn(f"fit is degenerate: the combination {combo} is not constrained (singular value "
                      f"{s[i]:.2e} of {s[0]:.2e}); it is held fixed", DegenerateFitWarning, stacklevel=3)
    return dropped
