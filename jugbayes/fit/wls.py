"""Stage one: weighted (or generalised) least squares by Gauss-Newton with a column-scaled SVD solve.

The design matrix is the autodiff Jacobian of the shared residual function with respect to the
free parameters' offsets, plus a constant column for the arbitrary phase offset (unless PHOFF is
fitted).  Parameters that act only through the delays before the binary (DM, DMn, DMX_*, NE_SW) get
their columns by the chain rule, still all autodiff: d(residual_i)/d(delay_i) from one forward-mode
pass with a unit tangent on an extra per-TOA delay, times d(delay_i)/d(parameter) from the delay
sub-function; every other column is a forward-mode (jacfwd) column.  See :func:`design_matrix_fn`.

Correlated noise (ECORR, red/DM noise: basis T, prior weights phi) is marginalised by projection
(:func:`jugbayes.model.noise.kernel.project`): the whitened noise block [[T/sigma], [phi^-1/2]] is factorised
once per fit (an orthonormal basis Q by Cholesky), and each step projects the whitened design matrix and
residuals off it.  The
projected (n + m) x p matrix A has A^T A = J^T C^-1 J, the GLS normal matrix (never formed), and
its column-scaled SVD gives the step and the covariance, with singular values below ``RCOND``
times the largest dropped (a warning names the degenerate combination).  This is the solution of
the SVD of the full noise-augmented (p + m columns) system, at a fraction of the cost.

Each Gauss-Newton step is one jitted call.  Python decides whether to accept a step (halving it,
with only the residuals evaluated, while chi2 rises) and when to stop (every step below
``tol_sigma`` of its sigma and chi2 steady).
"""

from __future__ import annotations

import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.errors import InputError
from jugbayes.jitcache import cached_jit, compile_pool
from jugbayes.model import padding
from jugbayes.model.noise import fixed_kernel, kernel, toa_sigma_and_basis, with_wideband_rows

enable_x64()

RCOND = 1e-12  # singular values below RCOND * max (after column scaling) are dropped
OFFSET = "OFFSET"  # the phase-offset column (turns, as PHOFF) in results
TANGENT_BUDGET = 500_000  # TOAs x tangents (or x points for chi2) evaluated together: bounds memory (~8 kB per unit)
QUADRATIC_TOL = 0.25  # |delta chi2 - 1| at +-1 sigma along a parameter's profile direction that earns a warning
# Parameters the residuals depend on linearly (to far below any sigma): the quadratic check skips them.
LINEAR_RE = re.compile(r"^(OFFSET|PHOFF|JUMP\d+|DMX_\w+|FD\d+|DM\d*)$")


class DegenerateFitWarning(UserWarning):
    """Some combination of free parameters is not constrained by the data."""


class NonQuadraticFitWarning(UserWarning):
    """chi2 is not quadratic within one sigma of the fit: its covariance misdescribes the uncertainty."""


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
    # name -> (delta chi2 at -1 sigma, at +1 sigma) along the parameter's profile direction (1, 1 if quadratic)
    quadratic_check: dict = field(default_factory=dict)
    # wideband data: the DM residuals (pc cm^-3) fitted jointly with the TOAs, and their DMEFAC/DMEQUAD sigmas
    dm_residuals_pc_cm3: np.ndarray | None = None
    dm_sigma_pc_cm3: np.ndarray | None = None

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


# Compiled step programs shared by models of one structure, free set and TOA bucket (model/padding.py) in this
# process: they take the data as arguments and close over nothing else (``what`` in _make_step), so a
# validation study's data sets compile them once.  Least recently used dropped beyond MAX_SHARED_STEPS.
MAX_SHARED_STEPS = 16
_SHARED_STEPS: OrderedDict = OrderedDict()

# Parameters that change the residuals only through the delays added before the binary delay: their
# columns come from the chain rule (see design_matrix_fn).  Anything not listed gets a jacfwd column.
_PRE_BINARY_DELAY = re.compile(r"^(DM\d*|DMX_\w+|NE_SW)$")


def _params_fn(model, free: tuple[str, ...], with_offset: bool):
    """``(x, only=None) -> params``: the free parameters' offsets (and the phase offset, last) into a full
    params dict; with ``only`` (indices into x), ``x`` holds just those entries and the rest stay at zero
    offset (so forward-mode tangents touch only the parameters being differentiated)."""
    base = model.zero_params()
    # The offset is a phase offset (turns), applied before residuals go to the nearest pulse, so a large
    # step along a near-degenerate JUMPs-versus-offset direction cannot skip pulses.
    cols = free + (("PHOFF",) if with_offset else ())

    def params(x, only=None, rest=None):
        p = dict(base)
        if rest is not None:
            p.update(params(rest))
        for j, i in enumerate(range(len(cols)) if only is None else only):
            p[cols[i]] = x[j]
        return p

    return params


def design_matrix_fn(model, free: tuple[str, ...], with_offset: bool = True):
    """``(x, data=model.data) -> (residuals_s, J)`` with J = d residuals / d x (n x len(x)), x the free offsets
    (+ phase offset), and ``(x, data) -> residuals_s``.  Pass ``data`` inside ``jax.jit`` so the compiled code
    takes the TOAs as an argument instead of embedding them (smaller, faster to load, shared by data sets).

    Equal to ``jax.jacfwd`` of the residuals, cheaper: a residual i depends on the delays of row i and of
    the TZR row only, so for a parameter acting only through the delays before the binary,
    J_ik = g_i dD_i/dx_k + h_i dD_tzr/dx_k, with g and h two forward-mode passes (unit tangents on an
    extra delay on the TOA rows and on the TZR row) and dD/dx the Jacobian of the delay sub-function.
    """
    from jugbayes.model.timing_model import delays_s

    params = _params_fn(model, free, with_offset)
    s = model.structure
    cols = free + (("PHOFF",) if with_offset else ())
    chain = np.array([i for i, n in enumerate(cols) if _PRE_BINARY_DELAY.match(n)], dtype=int)
    direct = np.array([i for i, n in enumerate(cols) if not _PRE_BINARY_DELAY.match(n)], dtype=int)

    def masked(r, data):  # padded data (model/padding.py): the copies' rows exactly zero
        return r * (data["row_mask"] if r.ndim == 1 else data["row_mask"][:, None]) if "row_mask" in data else r

    def resid(x, data=None):
        data = model.data if data is None else data
        return masked(model.residual_fn(params(x), data)["time_s"], data)

    k = len(direct)
    perm = np.argsort(np.concatenate([direct, chain]))  # rows of [direct; chain] back to the order of x

    def batch_size(data, most: int, budget: int) -> int:
        # Forward-mode passes per batch: each tangent carries its own copy of every intermediate (n values), so
        # at 100k TOAs all 90 at once would need ~8 GB; one batch covers them all below ~5000 TOAs.
        return int(max(1, min(most, budget // data["dt_pepoch_s"].shape[0])))  # rows: TOAs + the TZR row

    def parts(x, data):
        x = jax.lax.stop_gradient(x)
        n_rows = data["dt_pepoch_s"].shape[0]
        batch = batch_size(data, max(k + 2, len(cols)), TANGENT_BUDGET)
        toa_rows = jnp.ones(n_rows).at[-1].set(0.0)
        tzr_row = jnp.zeros(n_rows).at[-1].set(1.0)

        def f(x_direct, extra):
            return model.residual_fn(params(x_direct, direct, x), data, extra_delay_s=extra)["time_s"]

        def pre_binary_delay(x_chain):  # binary left out: the only delay that depends on the others
            delays, _ = delays_s(s, params(x_chain, chain, x), data)
            return sum(v for name, v in delays.items() if name != "binary")

        x0, e0 = x[direct], jnp.zeros(n_rows)
        tan_x = jnp.vstack([jnp.eye(k), jnp.zeros((2, k))])
        tan_e = jnp.vstack([jnp.zeros((k, n_rows)), toa_rows, tzr_row])
        cols_t = jax.lax.map(lambda t: jax.jvp(f, (x0, e0), t)[1], (tan_x, tan_e), batch_size=batch)  # (k + 2, n)
        xc = x[chain]
        d_delay = jax.lax.map(lambda t: jax.jvp(pre_binary_delay, (xc,), (t,))[1], jnp.eye(len(chain)),
                              batch_size=batch_size(data, len(chain), 4 * TANGENT_BUDGET))
        return f(x0, e0), cols_t, d_delay  # d_delay: (len(chain), n_rows)

    def design(x, data=None):
        data = model.data if data is None else data
        if len(chain) == 0:
            tangent = lambda t: jax.jvp(lambda xx: resid(xx, data), (x,), (t,))[1]  # noqa: E731
            batch = batch_size(data, max(k + 2, len(cols)), TANGENT_BUDGET)
            return resid(x, data), jax.lax.map(tangent, jnp.eye(len(cols)), batch_size=batch).T
        # Computed inside a conditional so that XLA keeps these outputs as arrays: fused into the products
        # below, the forward-mode passes were re-evaluated per column (4x slower).  The other branch (x not
        # finite) is NaN, not a second copy of the passes to compile.
        r, cols_t, d_delay = jax.lax.cond(jnp.all(jnp.isfinite(x)), parts, _nan_like(parts), x, data)
        g, h = cols_t[k], cols_t[k + 1]
        chained = g[None, :] * d_delay[:, :-1] + h[None, :] * d_delay[:, -1:]
        return masked(r, data), masked(jnp.concatenate([cols_t[:k], chained], axis=0)[perm].T, data)

    return design, resid


def _nan_like(fn):
    """A function with ``fn``'s signature and output shapes that returns NaN (traces ``fn`` only abstractly)."""
    def nan(*args):
        return jax.tree_util.tree_map(lambda a: jnp.full(a.shape, jnp.nan, a.dtype), jax.eval_shape(fn, *args))
    return nan


def _with_dm_rows(model, free, with_offset, design, resid):
    """``design``/``resid`` with the wideband DM residuals (pc cm^-3) appended as rows, their Jacobian by jacfwd
    of the DM residual function alone (it evaluates only the model DM): the joint vector PINT's
    WidebandTOAFitter fits."""
    from jugbayes.model.timing_model import dm_residuals_pc_cm3

    params = _params_fn(model, free, with_offset)

    def dm_resid(x, data):
        return dm_residuals_pc_cm3(model.structure, params(x), data)

    def design_wb(x, data=None):
        data = model.data if data is None else data
        r, jac = design(x, data)
        return jnp.concatenate([r, dm_resid(x, data)]), jnp.vstack([jac, jax.jacfwd(dm_resid)(x, data)])

    def resid_wb(x, data=None):
        data = model.data if data is None else data
        return jnp.concatenate([resid(x, data), dm_resid(x, data)])

    return design_wb, resid_wb


def _fit_factor(kern):
    """(projector off the noise columns, projector off them and the phase offset): the step projects its
    whitened [J, r] off the first (the offset is a fitted column), the GLS chi2 marginalises the offset too."""
    fac = kernel.factor(kern)
    return kernel.projector(fac, infinite=False), kernel.projector(fac, infinite=True)


def _chi2(proj, r):
    """r^T C^-1 r of the columns ``proj`` projects off (WLS: |r / sigma|^2)."""
    top, bottom = kernel.project(proj, r)
    return jnp.sum(top * top) + jnp.sum(bottom * bottom)


def _make_step(model, free: tuple[str, ...], with_offset: bool, gls: bool, n_bucket: int):
    """Jitted ``step(x, factor, data) -> (resid, chi2, step, cov, singular values, V^T, kept)``,
    ``chi2_at(x, factor, data) -> (resid, chi2)`` and ``chi2_many(xs, factor, data) -> chi2s``, cached on the
    model so a re-fit reuses the compiled code (``factor``: :func:`_fit_factor`'s; ``data``: the model's data
    padded to ``n_bucket`` TOAs, :func:`padded_data`).

    The step solves min |A dx + b| for the whitened [J, r], projected off the noise basis when there is
    one (see the module docstring): QR, then the column-scaled SVD of R, small singular values dropped.
    """
    key = (free, with_offset, gls, n_bucket)
    cache = model.__dict__.setdefault("_fit_steps", {})
    if key in cache:  # a re-fit of the same model reuses the compiled step
        return cache[key]
    what = repr((model.structure, model.names, free, with_offset, gls))  # all that the programs close over
    shared = _SHARED_STEPS.get((what, n_bucket))
    if shared is not None:  # another model of this structure and size (a validation study's next data set)
        _SHARED_STEPS.move_to_end((what, n_bucket))
        cache[key] = shared
        return shared
    design, resid = design_matrix_fn(model, free, with_offset)
    if model.structure.wideband:
        design, resid = _with_dm_rows(model, free, with_offset, design, resid)

    def step(x, factor, data):
        r, jac = design(x, data)
        ab = jnp.vstack(kernel.project(factor[0], jnp.hstack([jac, r[:, None]])))
        # QR first (LAPACK, cheap): [A b] = Q [[R, c], [0, rho]], so min |A dx + b| = min |R dx + c|, and the
        # column-scaled SVD is that of the p x p triangle R (same singular values and V as A's).
        rc = jnp.linalg.qr(ab, mode="r")
        a, c = rc[:-1, :-1], rc[:-1, -1]
        norms = jnp.sqrt(jnp.sum(a * a, axis=0))
        norms = jnp.where(norms > 0, norms, 1.0)
        u, sv, vt = jnp.linalg.svd(a / norms)
        keep = sv > RCOND * sv[0]
        s_inv = jnp.where(keep, 1.0 / jnp.where(keep, sv, 1.0), 0.0)
        dx = -(vt.T @ (s_inv * (u.T @ c))) / norms
        cov = ((vt.T * s_inv**2) @ vt) / jnp.outer(norms, norms)
        return r, _chi2(factor[1], r), dx, cov, sv, vt, keep

    def chi2_at(x, factor, data):
        r = resid(x, data)
        return r, _chi2(factor[1], r)

    # Batches of points share each pass over the noise basis (the GLS chi2 is memory-bound).
    batch = max(1, min(64, TANGENT_BUDGET // n_bucket))

    def chi2_many(xs, factor, data):
        return jax.lax.map(lambda x: _chi2(factor[1], resid(x, data)), xs, batch_size=batch)

    cache[key] = _SHARED_STEPS[(what, n_bucket)] = tuple(cached_jit(f, what) for f in (step, chi2_at, chi2_many))
    while len(_SHARED_STEPS) > MAX_SHARED_STEPS:
        _SHARED_STEPS.popitem(last=False)
    return cache[key]


def padded_data(model) -> dict:
    """The model's data with its TOAs padded to their bucket size (:mod:`jugbayes.model.padding`), kept on
    the model."""
    if "_padded" not in model.__dict__:
        n_toa = len(model.toas)
        model.__dict__["_padded"] = padding.pad_rows(model.data, n_toa, padding.bucket_size(n_toa))
    return model.__dict__["_padded"]


def fit_kernel(model, noise, sigma_s, n_bucket: int, pad_epochs: bool = True):
    """(the fit's noise kernel for TOA errors ``sigma_s``, with the wideband DM rows and ``n_bucket - n`` padding
    rows after the n TOAs; the indices of its real rows).  ``pad_epochs``: ECORR epochs padded to their bucket
    (empty epochs), so that one program serves data sets with other epoch counts."""
    n_toa = len(sigma_s)
    kern = with_wideband_rows(model, noise, fixed_kernel(noise, sigma_s))
    rows = padding.real_rows(n_toa, n_bucket, len(kern.sigma) - n_toa)
    if pad_epochs:
        kern = kernel.pad_epochs(kern, padding.bucket_size(len(kern.ecorr_var)))
    return kernel.white_rows(kern, np.ones(n_bucket - n_toa), at=n_toa), rows


def _compile_and_factor(model, kern, gls: bool, *programs):
    """(step projector, chi2 projector) for this kernel, kept on the model for re-fits with the same noise; with
    ``programs`` ((jitted, (x, data)) pairs taking the factor second) compiled at the same time as the factor's
    program on threads: the fit's first run compiles them at once."""
    kern = kernel.Kernel(*(np.asarray(a) for a in kern))
    key = (gls,) + tuple(_checksum(a) for a in kern)
    cache = model.__dict__.setdefault("_noise_factors", {})
    if key in cache:
        return cache[key]
    cache.clear()  # one noise model at a time
    with compile_pool() as pool:
        _fit_factor_jit.compile_ahead(pool, kern)
        shapes = jax.eval_shape(_fit_factor, kern)
        shapes = (shapes[0], shapes[1] if gls else shapes[0])
        for fn, (x, data) in programs:
            fn.compile_ahead(pool, x, shapes, data)
        step_proj, all_proj = _fit_factor_jit(kern)
    cache[key] = (step_proj, all_proj if gls else step_proj)
    return cache[key]


_fit_factor_jit = cached_jit(_fit_factor, "")


def _checksum(arr: np.ndarray) -> tuple:
    """A cheap fingerprint of an array's exact contents (shape, and two wrapping sums of its 64-bit words)."""
    words = np.ascontiguousarray(arr, dtype=np.float64).view(np.uint64).ravel()
    with np.errstate(over="ignore"):
        return arr.shape, int(words.sum()), int((words * np.arange(1, len(words) + 1, dtype=np.uint64)).sum())


def fit_wls(model, free: tuple[str, ...] | None = None, *, sigma_us: np.ndarray | None = None, max_iter: int = 50,
            tol_sigma: float = 1e-3, tol_chi2: float = 1e-6, noise=None) -> FitResult:
    """Fit the free parameters (default: the .par's) by WLS, or GLS when ``noise`` has correlated parts.

    TOA errors: ``sigma_us`` if given, else the .tim's scaled by the noise model's EFAC/EQUAD (if any).
    Wideband TOAs (``-pp_dm``): their DM residuals join the TOA residuals in one GLS (PINT's WidebandTOAFitter),
    with the ``-pp_dme`` errors scaled by DMEFAC/DMEQUAD; chi2 and dof count both.
    """
    free = tuple(model.free if free is None else free)
    unknown = [n for n in free if n not in model.names]
    if unknown:
        raise KeyError(f"not parameters of this model: {', '.join(unknown)}")
    with_offset = "PHOFF" not in free
    _check_enough_toas(model, free + ((OFFSET,) if with_offset else ()))
    raw = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
    if sigma_us is not None:
        raw = np.asarray(sigma_us, dtype=np.float64) * 1e-6
    n_toa = len(raw)
    data = padded_data(model)
    n_bucket = data["row_mask"].shape[0]
    kern, rows = fit_kernel(model, noise, raw, n_bucket)
    raw = np.asarray(kern.sigma)[rows]
    gls = noise is not None and noise.correlated
    names = free + ((OFFSET,) if with_offset else ())
    step_fn, chi2_fn, chi2_many = _make_step(model, free, with_offset, gls, n_bucket)
    # x stays a host array (numpy arithmetic between steps: no small JAX programs), passed the same way each call.
    x = np.zeros(len(names))
    n_check = len(_nonlinear(names))
    checks = [(chi2_many, (np.zeros((2 * n_check, len(x))), data))] if n_check else []
    factor = _compile_and_factor(model, kern, gls, (step_fn, (x, data)), (chi2_fn, (x, data)), *checks)
    r, chi2, dx, cov, s, vt, keep = step_fn(x, factor, data)
    r0, chi2_prefit = np.asarray(r)[rows], float(chi2)  # the first step is taken at the .par's values
    wrms_pre = _wrms_us(r0[:n_toa], raw[:n_toa])
    dropped = _report_degenerate(names, np.asarray(s), np.asarray(vt), np.asarray(keep))
    converged, iterations = False, 0
    for iterations in range(1, max_iter + 1):
        sig = np.sqrt(np.abs(np.diag(np.asarray(cov))))
        dx = np.asarray(dx)
        trial, scale = x + dx, 1.0
        r_t, chi2_t = chi2_fn(trial, factor, data)
        while not float(chi2_t) <= float(chi2) * (1 + 1e-12) and scale > 1e-3:  # NaN counts as worse
            scale /= 2
            trial = x + scale * dx
            r_t, chi2_t = chi2_fn(trial, factor, data)
        small = np.all(np.abs(dx) * scale <= tol_sigma * np.where(sig > 0, sig, np.inf))
        steady = abs(float(chi2) - float(chi2_t)) <= tol_chi2 * max(float(chi2), 1.0)
        if small and steady:
            # Converged: the covariance of the last linearisation (at most tol_sigma away) is kept.
            x, r, chi2, converged = trial, r_t, chi2_t, True
            break
        x = trial
        r, chi2, dx, cov, s, vt, keep = step_fn(x, factor, data)
    cov = np.asarray(cov)
    r = np.asarray(r)[rows]
    _check_finite_fit(model, names, x, r, float(chi2))
    chi2_of = lambda xs: np.asarray(chi2_many(np.asarray(xs), factor, data))  # noqa: E731
    check = _quadratic_check(chi2_of, np.asarray(x), cov, names, float(chi2)) if converged else {}
    rt, st = r[:n_toa], raw[:n_toa]
    wb = {} if len(r) == n_toa else {"dm_residuals_pc_cm3": r[n_toa:], "dm_sigma_pc_cm3": raw[n_toa:]}
    return FitResult(names, np.asarray(x), np.sqrt(np.abs(np.diag(cov))), cov, float(chi2), chi2_prefit,
                     len(r) - len(names), wrms_pre, _wrms_us(rt, st), iterations, converged, rt, rt / st, dropped,
                     check, **wb)


def _check_enough_toas(model, names: tuple[str, ...]) -> None:
    """An ``InputError`` (naming the .tim) unless there are more TOAs than fitted columns."""
    n = len(model.toas)
    if n <= len(names):
        raise InputError(model.toas.path, None, f"{n} TOA{'s' if n != 1 else ''} cannot constrain {len(names)} fitted "
                         f"parameters ({', '.join(names)}): a fit needs more TOAs than that; fit fewer (--fit)")


def _check_finite_fit(model, names, x: np.ndarray, r: np.ndarray, chi2: float) -> None:
    """An ``InputError`` (naming the .par) if the fit ended on non-finite values: never a NaN answer."""
    bad = [n for n, v in zip(names, np.asarray(x)) if not np.isfinite(v)]
    if bad or not np.isfinite(chi2) or not np.all(np.isfinite(r)):
        what = f"parameters {', '.join(bad)}" if bad else "residuals and chi2"
        raise InputError(model.par.path, None, f"the fit diverged ({what} not finite): the starting values are "
                         "too far from the data, or the model overflows; check the .par's values")


def _quadratic_check(chi2_of, x: np.ndarray, cov: np.ndarray, names, chi2_min: float) -> dict:
    """delta chi2 at x -+ cov[:, i] / sigma_i for each nonlinear parameter i; warn where it is not ~1.

    ``chi2_of`` maps an array of points (rows) to their chi2.

    Moving parameter i by one sigma and the others by their regression on it (the profile direction)
    raises a quadratic chi2 by exactly 1.  Far from 1 means the linearised covariance is not the
    uncertainty (a curved valley, a nearby minimum): the posterior needs ``--method nuts``.
    """
    idx = _nonlinear(names)
    if not idx:
        return {}
    sig = np.sqrt(np.abs(np.diag(cov)[idx]))
    d = (cov[:, idx] / np.where(sig > 0, sig, 1.0)).T  # one point pair per nonlinear parameter: one program
    chi2s = chi2_of(np.vstack([x - d, x + d])) - chi2_min
    out, bad = {}, []
    for j, i in enumerate(idx):
        if not cov[i, i] > 0:
            continue
        delta = (float(chi2s[j]), float(chi2s[len(idx) + j]))
        out[names[i]] = delta
        if max(abs(v - 1) for v in delta) > QUADRATIC_TOL:
            bad.append(f"{names[i]} ({delta[0]:.2f}, {delta[1]:.2f})")
    if bad:
        warnings.warn("chi2 is not quadratic within 1 sigma of the fit (delta chi2 at -1 and +1 sigma along each "
                      f"parameter's profile, 1 expected): {', '.join(bad)}; the WLS uncertainties of these are "
                      "unreliable and other minima may exist: sample the posterior (--method nuts)",
                      NonQuadraticFitWarning, stacklevel=3)
    return out


def _nonlinear(names) -> list[int]:
    """Indices of the parameters the quadratic check moves (not in LINEAR_RE)."""
    return [i for i, name in enumerate(names) if not LINEAR_RE.match(name)]


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
