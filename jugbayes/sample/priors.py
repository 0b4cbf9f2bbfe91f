"""Priors for the NUTS sampler, read from a TOML file (``--config``), and the bijections that give every
point of the sampler's unconstrained space a finite log-density.

Values are in .par units as the WLS ``--summary`` JSON reports them: RAJ in hours; DECJ, ELONG, ELAT,
OM, KIN and KOM in degrees; PB in days; M2 in solar masses; everything else as written in the .par.
A config file (``configs/priors_default.toml`` documents the defaults) has three optional tables::

    [sampler]
    K = 50              # default prior: uniform within +-K WLS sigmas of the WLS value
    chains = 4
    warmup = 500
    samples = 1000
    seed = 0
    dense_mass = false  # dense mass-matrix adaptation (on top of the WLS whitening)

    [bounds]            # physical bounds by .par name, replacing the built-in ones below
    PX = [0.0, inf]     # e.g. to impose PX >= 0 (not the default: see below)

    [priors]            # per-pulsar priors by .par name
    SINI = { kind = "uniform", lower = 0.9, upper = 1.0 }
    M2 = { kind = "log-uniform", lower = 0.01, upper = 2.0 }
    PX = { kind = "normal", mu = 1.2, sigma = 0.1 }
    ECC = { kind = "bounded" }  # flat within the physical bounds alone (lower/upper may narrow them)

Kinds: ``uniform`` (lower, upper), ``normal`` (mu, sigma; truncated to the physical bounds that lie
within ``NORMAL_REACH`` sigma of a mu inside them: farther ones, such as PB > 0, cut off < 1e-88 of it and
are dropped),
``log-uniform`` (0 < lower < upper), ``bounded`` (flat within the physical bounds, optionally
narrowed by lower/upper).  An explicit range is intersected with the physical bounds.

Defaults, for every sampled parameter the [priors] table does not name: uniform within +-K WLS sigmas
of the WLS value, intersected with the physical bounds (so the prior is always proper).  Physical
bounds (:data:`PHYSICAL_BOUNDS`): 0 <= SINI <= 1, 0 <= ECC < 1, M2 > 0, 0 <= KIN <= 180 deg,
0 <= STIGMA <= 1, H3 >= 0, H4 >= 0, SHAPMAX >= 0 (sin i >= 0), A1 >= 0, PB > 0; PX > 0 only for DDK
(whose Kopeikin terms divide by the distance).  PX is otherwise unbounded, as in TEMPO and PINT: a
hard PX >= 0 cut biases the parallax of a weakly detected pulsar upward.  KOM and OM are circular
and unbounded; their default box is at most +-180 degrees wide, so it covers each angle once.

Transforms: each parameter's offset theta (model units) is a function of one unconstrained u:
two-sided bounds by a logistic map theta = lo + (hi - lo) sigmoid(u), one-sided bounds by an
exponential theta = lo + e^u (or hi - e^u), log-uniform by a logistic map on ln(value).  The
log-Jacobian is added, so the density in u is finite everywhere and the prior in theta is as stated.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.errors import InputError, JugbayesError

DEFAULT_K = 50.0
KINDS = ("uniform", "normal", "log-uniform", "bounded")
INF = math.inf
# .par name -> (lower, upper) in .par units
PHYSICAL_BOUNDS: dict[str, tuple[float, float]] = {
    "SINI": (0.0, 1.0), "ECC": (0.0, 1.0), "M2": (0.0, INF), "KIN": (0.0, 180.0), "STIGMA": (0.0, 1.0),
    "H3": (0.0, INF), "H4": (0.0, INF), "SHAPMAX": (0.0, INF), "A1": (0.0, INF), "PB": (0.0, INF),
}
CIRCULAR_DEG = ("KOM", "OM")  # default box capped at +-180 degrees
_SAMPLER_KEYS = {"K": (int, float), "chains": int, "warmup": int, "samples": int, "seed": int, "dense_mass": bool}
_PRIOR_KEYS = {"uniform": ("lower", "upper"), "normal": ("mu", "sigma"), "log-uniform": ("lower", "upper"),
               "bounded": ()}
_OPTIONAL_KEYS = {"bounded": ("lower", "upper")}
NORMAL_REACH = 20.0  # a normal prior is truncated only at physical bounds this many sigma from its mean
RESOLUTION_SIGMA = 1e-6  # a transform must resolve the posterior to this fraction of a WLS sigma


@dataclass(frozen=True)
class PriorConfig:
    """A parsed config file: sampler settings, physical-bound overrides and per-parameter priors."""

    path: str | None = None
    sampler: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)  # .par name -> (lower, upper)
    priors: dict = field(default_factory=dict)  # .par name -> {"kind": ..., numbers}
    text: str = ""

    @property
    def K(self) -> float:
        return float(self.sampler.get("K", DEFAULT_K))

    def line_of(self, key: str) -> int | None:
        """The first line that names ``key`` as a TOML key (for error messages)."""
        pattern = re.compile(rf"^\s*(\[\s*\w+\s*\.\s*)?\"?{re.escape(key)}\"?\s*[=\]]", re.IGNORECASE)
        for i, line in enumerate(self.text.splitlines(), 1):
            if pattern.match(line):
                return i
        return None

    def error(self, key: str, problem: str) -> InputError:
        return InputError(self.path, self.line_of(key), problem)


def _canonical(name: str) -> str:
    """The .par name for a config key (aliases such as E or STIG accepted)."""
    from jugbayes.model.catalog import lookup

    spec = lookup(name)
    if spec is not None and not spec.mask:
        return spec.name
    return name.upper() if re.fullmatch(r"\w+", name) else name  # noise labels ("EFAC -f X") keep their case


def _number(cfg: PriorConfig, where: str, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise cfg.error(key, f"{where}: expected a number, got {value!r}")
    return float(value)


def read_config(path: str | Path) -> PriorConfig:
    """Read and check a TOML config (sampler settings, bounds, priors); errors name the file and key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(path, None, f"cannot read the config: {e.strerror or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(path, None, f"not valid TOML: {e}") from None
    cfg = PriorConfig(path=str(path), text=text)
    unknown = set(data) - {"sampler", "bounds", "priors"}
    if unknown:
        key = sorted(unknown)[0]
        raise cfg.error(key, f"unknown table [{key}]: expected [sampler], [bounds] or [priors]")
    sampler = _check_sampler(cfg, data.get("sampler", {}))
    bounds = {_canonical(k): _check_bounds(cfg, k, v) for k, v in _table(cfg, data, "bounds").items()}
    priors = {_canonical(k): _check_prior(cfg, k, v) for k, v in _table(cfg, data, "priors").items()}
    return PriorConfig(path=str(path), sampler=sampler, bounds=bounds, priors=priors, text=text)


def _table(cfg: PriorConfig, data: dict, name: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise cfg.error(name, f"[{name}] must be a table")
    return table


def _check_sampler(cfg: PriorConfig, table) -> dict:
    if not isinstance(table, dict):
        raise cfg.error("sampler", "[sampler] must be a table")
    out = {}
    for key, value in table.items():
        if key not in _SAMPLER_KEYS:
            raise cfg.error(key, f"[sampler] {key}: unknown setting (known: {', '.join(_SAMPLER_KEYS)})")
        kind = _SAMPLER_KEYS[key]
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise cfg.error(key, f"[sampler] {key}: expected {'true/false' if kind is bool else 'a number'}, "
                                 f"got {value!r}")
        out[key] = value
    if "K" in out and not out["K"] > 0:
        raise cfg.error("K", f"[sampler] K must be positive, got {out['K']}")
    for key in ("chains", "warmup", "samples"):
        if key in out and out[key] < (0 if key == "warmup" else 1):
            raise cfg.error(key, f"[sampler] {key} must be {'>= 0' if key == 'warmup' else 'positive'}, "
                                 f"got {out[key]}")
    return out


def _check_bounds(cfg: PriorConfig, key: str, value) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise cfg.error(key, f"[bounds] {key}: expected [lower, upper] (use -inf/inf for none), got {value!r}")
    lo, hi = (_number(cfg, f"[bounds] {key}", key, v) for v in value)
    if not lo < hi:
        raise cfg.error(key, f"[bounds] {key}: lower {lo:g} must be below upper {hi:g}")
    return lo, hi


def _check_prior(cfg: PriorConfig, key: str, value) -> dict:
    if not isinstance(value, dict):
        raise cfg.error(key, f"[priors] {key}: expected a table such as {{ kind = \"uniform\", lower = ..., "
                             f"upper = ... }}, got {value!r}")
    kind = value.get("kind")
    if kind not in KINDS:
        raise cfg.error(key, f"[priors] {key}: unknown prior kind {kind!r} (known: {', '.join(KINDS)})")
    needed, optional = _PRIOR_KEYS[kind], _OPTIONAL_KEYS.get(kind, ())
    out = {"kind": kind}
    for k, v in value.items():
        if k == "kind":
            continue
        if k not in needed and k not in optional:
            raise cfg.error(key, f"[priors] {key}: {kind} takes {', '.join(needed + optional) or 'no values'}, "
                                 f"not {k!r}")
        out[k] = _number(cfg, f"[priors] {key}: {k}", key, v)
    missing = [k for k in needed if k not in out]
    if missing:
        raise cfg.error(key, f"[priors] {key}: {kind} needs {' and '.join(missing)}")
    lo, hi = out.get("lower", -INF), out.get("upper", INF)
    if not lo < hi:
        raise cfg.error(key, f"[priors] {key}: lower {lo:g} must be below upper {hi:g}")
    if kind == "log-uniform" and not lo > 0:
        raise cfg.error(key, f"[priors] {key}: log-uniform needs lower > 0, got {lo:g}")
    if kind == "normal" and not out["sigma"] > 0:
        raise cfg.error(key, f"[priors] {key}: normal needs sigma > 0, got {out['sigma']:g}")
    return out


# ---------------------------------------------------------------- resolved priors


@dataclass(frozen=True)
class Prior:
    """The prior used for one sampled parameter, and its transform (offsets in model units).

    ``transform``: ``real`` (theta = u), ``interval`` (lo + (hi - lo) sigmoid u), ``lower``
    (lo + e^u), ``upper`` (hi - e^u), or ``log-interval`` (theta = factor (e^y - ref),
    y = lo + (hi - lo) sigmoid u, with lo/hi the logs of the .par-unit bounds).
    """

    name: str  # model parameter
    par_name: str
    kind: str  # uniform | normal | log-uniform | bounded
    source: str  # "config" or "default"
    lower: Decimal | None  # .par units
    upper: Decimal | None
    transform: str
    lo: float
    hi: float
    ref: float = 0.0  # .par value at offset 0 (log-interval)
    factor: float = 1.0  # model value = factor * .par value
    mu: float | None = None  # normal prior, offsets (model units)
    sd: float | None = None
    mu_par: float | None = None  # normal prior, .par units
    sd_par: float | None = None
    K: float | None = None  # default box half-width in WLS sigmas

    def describe(self) -> dict:
        """The prior in .par units, for the output."""
        out = {"kind": self.kind, "source": self.source}
        if self.lower is not None:
            out["lower"] = _short(self.lower)
        if self.upper is not None:
            out["upper"] = _short(self.upper)
        if self.kind == "normal":
            out.update(mu=self.mu_par, sigma=self.sd_par)
        if self.K is not None:
            out["K"] = self.K
        return out


def _short(value: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = 20
        return str(+value)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def physical_bounds(model, par_name: str, config: PriorConfig | None) -> tuple[float, float]:
    """(lower, upper) in .par units; (-inf, inf) where the parameter has none."""
    if config is not None and par_name in config.bounds:
        return config.bounds[par_name]
    if par_name == "PX" and model.structure.binary == "DDK":
        return 0.0, INF
    return PHYSICAL_BOUNDS.get(par_name, (-INF, INF))


def resolve_priors(model, names, center, sigma, config: PriorConfig | None = None, K: float | None = None,
                   marginalized=(), noise_params=()) -> list[Prior]:
    """The prior of each sampled parameter: timing ``names`` (WLS offsets ``center``, sigmas ``sigma``,
    model units), then the sampled noise parameters ``noise_params`` (:func:`noise_parameters`).

    Raises :class:`InputError` naming the config file and key for a parameter that is not sampled, a
    range that excludes the WLS value, or a range that float64 cannot resolve at the posterior's width.
    """
    from jugbayes.report.fitted_par import par_factor

    config = config or PriorConfig()
    K = float(K if K is not None else config.K)
    to_model = {}
    for n in names:
        to_model[par_factor(model, n)[0]] = n
    to_model.update({q.name: q.name for q in noise_params})
    marg_par = {par_factor(model, n)[0] for n in marginalized}
    for key in config.priors:
        if key in marg_par:
            raise config.error(key, f"[priors] {key}: this parameter is marginalised analytically (flat prior); "
                                    "drop its prior or leave it out of --marginalize")
        if key not in to_model:
            raise config.error(key, f"[priors] {key}: not a sampled parameter of this model (sampled: "
                                    f"{', '.join(sorted(to_model)) or 'none'})")
    for key in config.bounds:
        from jugbayes.model.catalog import lookup

        if lookup(key) is None and not re.match(r"^(JUMP|DMX_|FD)\w*$", key):
            raise config.error(key, f"[bounds] {key}: not a .par parameter name")
    timing = [_resolve_one(model, n, float(c), float(s), config, K) for n, c, s in zip(names, center, sigma)]
    return timing + [_resolve_noise(q, config) for q in noise_params]


# Typical posterior widths of sampled noise parameters (sampling units), for the initial whitening only.
NOISE_SCALE = {"efac": 0.05, "equad": 0.2, "ecorr": 0.2, "red_log10_amp": 0.3, "red_gamma": 0.5,
               "dm_log10_amp": 0.3, "dm_gamma": 0.5}


def noise_scale(q) -> float:
    return NOISE_SCALE.get(q.kind, 0.2)


def _resolve_noise(q, config: PriorConfig) -> Prior:
    """A sampled noise parameter's prior: its default range (uniform; EQUAD/ECORR/amplitudes in log10, so
    log-uniform in the amplitude, as enterprise), or the config's uniform/normal in the same units."""
    spec = config.priors.get(q.name)
    common = dict(name=q.name, par_name=q.name, factor=1.0, ref=0.0)
    if spec is None:
        return Prior(kind=q.prior, source="default", lower=_dec(q.lower), upper=_dec(q.upper),
                     transform="interval", lo=q.lower, hi=q.upper, **common)
    kind = spec["kind"]
    if kind not in ("uniform", "normal"):
        raise config.error(q.name, f"[priors] {q.name}: noise parameters take uniform or normal priors (in "
                                   f"{'log10 seconds' if q.kind in ('equad', 'ecorr') else 'their sampling units'})")
    phys = (0.0, INF) if q.kind == "efac" else (-INF, INF)
    lo, hi = max(spec.get("lower", -INF), phys[0]), min(spec.get("upper", INF), phys[1])
    extra = dict(mu=spec["mu"], sd=spec["sigma"], mu_par=spec["mu"], sd_par=spec["sigma"]) if kind == "normal" else {}
    return Prior(kind=kind, source="config", lower=None if math.isinf(lo) else _dec(lo),
                 upper=None if math.isinf(hi) else _dec(hi), transform=_transform_kind(lo, hi), lo=lo, hi=hi,
                 **extra, **common)


def _offset(value: float | Decimal, ref: Decimal, factor: float) -> float:
    """A .par-unit value as a model-unit offset from ``ref`` (exact difference first; a Decimal ``value`` is
    taken exactly, so a prior centred on the .par value itself has offset 0)."""
    if not isinstance(value, Decimal) and math.isinf(value):
        return value
    with localcontext() as ctx:
        ctx.prec = 50
        return float(((value if isinstance(value, Decimal) else _dec(value)) - ref) * _dec(factor))


def _par_value(offset: float, ref: Decimal, factor: float) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return ref + _dec(offset) / _dec(factor)


def _resolve_one(model, name: str, center: float, sigma: float, config: PriorConfig, K: float) -> Prior:
    from jugbayes.report.fitted_par import par_factor

    par_name, factor = par_factor(model, name)
    if not (np.isfinite(sigma) and sigma > 0):
        raise JugbayesError(f"{par_name} has WLS uncertainty {sigma:g}: the fit cannot constrain it (degenerate); "
                            "freeze it (--freeze) before sampling")
    p = model.par.get(par_name)
    ref = p.as_decimal() if p is not None else Decimal(0)
    phys = physical_bounds(model, par_name, config)
    plo, phi = _offset(phys[0], ref, factor), _offset(phys[1], ref, factor)
    spec = config.priors.get(par_name)
    common = dict(name=name, par_name=par_name, factor=factor, ref=float(ref))

    def where() -> str:
        return f"[priors] {par_name}" if spec is not None else f"{par_name}"

    if spec is None:  # default: +-K sigma box within the physical bounds
        half = K * sigma
        if par_name in CIRCULAR_DEG:
            half = min(half, 180.0 * factor)
        lo, hi = max(center - half, plo), min(center + half, phi)
        if not lo < hi:
            raise config.error(par_name, f"{par_name}: the WLS value {_short(_par_value(center, ref, factor))} lies "
                                         f"more than K = {K:g} sigma outside its physical bounds {phys}")
        lower = _dec(phys[0]) if lo == plo else _par_value(lo, ref, factor)
        upper = _dec(phys[1]) if hi == phi else _par_value(hi, ref, factor)
        prior = Prior(kind="uniform", source="default", lower=lower, upper=upper, transform="interval", lo=lo,
                      hi=hi, K=K, **common)
    else:
        kind = spec["kind"]
        ulo, uhi = spec.get("lower", -INF), spec.get("upper", INF)
        lo_par, hi_par = max(ulo, phys[0]), min(uhi, phys[1])
        mu = float(spec.get("mu", 0.0))
        if kind == "normal" and lo_par <= mu <= hi_par:  # a bound far in the tail costs float64 resolution only
            reach = NORMAL_REACH * spec["sigma"]
            lo_par = lo_par if lo_par > mu - reach else -INF
            hi_par = hi_par if hi_par < mu + reach else INF
        if kind == "bounded" and math.isinf(lo_par) and math.isinf(hi_par):
            raise config.error(par_name, f"[priors] {par_name}: bounded, but {par_name} has no physical bounds; "
                                         "give lower and/or upper")
        if not lo_par < hi_par:
            raise config.error(par_name, f"[priors] {par_name}: the range [{ulo:g}, {uhi:g}] does not overlap the "
                                         f"physical bounds [{phys[0]:g}, {phys[1]:g}]")
        lo, hi = _offset(lo_par, ref, factor), _offset(hi_par, ref, factor)
        if kind != "normal" and (("lower" in spec and center < _offset(ulo, ref, factor))
                                 or ("upper" in spec and center > _offset(uhi, ref, factor))):
            raise config.error(par_name, f"[priors] {par_name}: the WLS value "
                                         f"{_short(_par_value(center, ref, factor))} lies outside [{ulo:g}, {uhi:g}]")
        bounds = dict(lower=None if math.isinf(lo_par) else _dec(lo_par),
                      upper=None if math.isinf(hi_par) else _dec(hi_par))
        if kind == "log-uniform":
            prior = Prior(kind=kind, source="config", transform="log-interval", lo=math.log(lo_par),
                          hi=math.log(hi_par), **bounds, **common)
        else:
            extra = {}
            if kind == "normal":
                extra = dict(mu=_offset(spec["mu"], ref, factor), sd=spec["sigma"] * factor,
                             mu_par=float(spec["mu"]), sd_par=spec["sigma"])
            prior = Prior(kind=kind, source="config", transform=_transform_kind(lo, hi), lo=lo, hi=hi,
                          **bounds, **extra, **common)
    _check_resolution(prior, center, sigma, config, where())
    return prior


def _transform_kind(lo: float, hi: float) -> str:
    if math.isfinite(lo) and math.isfinite(hi):
        return "interval"
    if math.isfinite(lo):
        return "lower"
    if math.isfinite(hi):
        return "upper"
    return "real"


# ---------------------------------------------------------------- transforms


def start_point(prior: Prior, center: float, sigma: float) -> float:
    """The WLS offset moved inside the prior's support (by up to half a sigma, or a quarter of the range)."""
    lo, hi = _theta_bounds(prior)
    width = hi - lo
    margin = min(0.5 * sigma, 0.25 * width) if math.isfinite(width) else 0.5 * sigma
    if math.isfinite(lo):
        center = max(center, lo + margin)
    if math.isfinite(hi):
        center = min(center, hi - margin)
    return center


def _theta_bounds(prior: Prior) -> tuple[float, float]:
    if prior.transform == "log-interval":
        return (prior.factor * (math.exp(prior.lo) - prior.ref), prior.factor * (math.exp(prior.hi) - prior.ref))
    return prior.lo, prior.hi


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def to_unconstrained(prior: Prior, theta: float) -> float:
    """u for an offset strictly inside the support (numpy, host side)."""
    t = prior.transform
    if t == "real":
        return theta
    if t == "interval":
        return _logit((theta - prior.lo) / (prior.hi - prior.lo))
    if t == "lower":
        return math.log(theta - prior.lo)
    if t == "upper":
        return math.log(prior.hi - theta)
    y = math.log(prior.ref + theta / prior.factor)
    return _logit((y - prior.lo) / (prior.hi - prior.lo))


def dtheta_du(prior: Prior, u: float) -> float:
    """The transform's derivative at ``u`` (for pushing the WLS covariance into u-space)."""
    t = prior.transform
    if t == "real":
        return 1.0
    if t in ("lower", "upper"):
        return math.exp(u)
    s = 1.0 / (1.0 + math.exp(-u))
    if t == "interval":
        return (prior.hi - prior.lo) * s * (1.0 - s)
    y = prior.lo + (prior.hi - prior.lo) * s
    return prior.factor * math.exp(y) * (prior.hi - prior.lo) * s * (1.0 - s)


def _check_resolution(prior: Prior, center: float, sigma: float, config: PriorConfig, where: str) -> None:
    """Refuse a transform whose float64 steps near the WLS value are not small against the WLS sigma."""
    if not sigma > 0:
        return
    start = start_point(prior, center, sigma)
    u = to_unconstrained(prior, start)
    lo, hi = _theta_bounds(prior)
    eps = np.finfo(float).eps
    scale = max(abs(v) for v in (lo, hi, start, hi - lo) if math.isfinite(v))
    step = eps * (abs(dtheta_du(prior, u)) * abs(u) + scale)  # float spacing of u, and of the sums forming theta
    if prior.transform == "log-interval":
        step += eps * prior.factor * abs(prior.ref + start / prior.factor)
    if step > RESOLUTION_SIGMA * sigma:
        raise config.error(prior.par_name, f"{where}: float64 resolves this prior's range only in steps of "
                                           f"{step / sigma:.2g} WLS sigma near the WLS value; narrow the range")


class Transforms:
    """All sampled parameters' transforms, grouped by kind for vectorised JAX evaluation."""

    def __init__(self, priors: list[Prior]):
        self.priors = priors
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(priors):
            groups.setdefault(p.transform, []).append(i)
        self.groups = {t: np.asarray(ix) for t, ix in groups.items()}
        arr = lambda attr, ix: jnp.asarray([getattr(priors[i], attr) for i in ix])  # noqa: E731
        self.lo = {t: arr("lo", ix) for t, ix in self.groups.items()}
        self.hi = {t: arr("hi", ix) for t, ix in self.groups.items()}
        log_ix = self.groups.get("log-interval", np.zeros(0, int))
        self.log_ref, self.log_factor = arr("ref", log_ix), arr("factor", log_ix)
        normal = [i for i, p in enumerate(priors) if p.kind == "normal"]
        self.normal = np.asarray(normal, int)
        self.mu = jnp.asarray([priors[i].mu for i in normal])
        self.sd = jnp.asarray([priors[i].sd for i in normal])

    def arrays(self) -> dict:
        """The transforms' numbers (bounds, references, normal priors) as a pytree of arrays, so that a jitted
        density can take them as an argument: the compiled program then depends on the grouping only."""
        return {"lo": self.lo, "hi": self.hi, "log_ref": self.log_ref, "log_factor": self.log_factor,
                "mu": self.mu, "sd": self.sd}

    def forward(self, u, arrays: dict | None = None):
        """(theta, log prior density + log |d theta/du|) for unconstrained ``u`` (JAX, jittable).

        ``arrays``: :meth:`arrays` (passed through a jitted function's arguments); default: this object's."""
        a = self.arrays() if arrays is None else arrays
        theta = u
        logp = 0.0
        for t, ix in self.groups.items():
            ui = u[ix]
            lo, hi = a["lo"][t], a["hi"][t]
            if t == "real":
                continue
            if t in ("lower", "upper"):
                th = lo + jnp.exp(ui) if t == "lower" else hi - jnp.exp(ui)
                logp = logp + jnp.sum(ui)
            else:
                s = jax.nn.sigmoid(ui)
                logp = logp + jnp.sum(jnp.log(hi - lo) + jax.nn.log_sigmoid(ui) + jax.nn.log_sigmoid(-ui))
                if t == "interval":
                    th = jnp.clip(lo + (hi - lo) * s, lo, hi)
                else:  # uniform in y = ln(value): no further density term
                    th = a["log_factor"] * (jnp.exp(lo + (hi - lo) * s) - a["log_ref"])
            theta = theta.at[ix].set(th)
        if len(self.normal):
            logp = logp - 0.5 * jnp.sum(((theta[self.normal] - a["mu"]) / a["sd"]) ** 2)
        return theta, logp


SAMPLER_DEFAULTS = {"chains": 4, "warmup": 500, "samples": 1000, "seed": 0, "dense_mass": False}


def sampler_settings(config: PriorConfig | None, **given) -> dict:
    """chains/warmup/samples/seed/dense_mass: a given (not None) value, else the config's, else the default."""
    from_config = config.sampler if config is not None else {}
    return {key: given[key] if given.get(key) is not None else from_config.get(key, default)
            for key, default in SAMPLER_DEFAULTS.items()}
