"""The NUTS posterior for people: ArviZ InferenceData in .par units, a summary table set against the
WLS fit, and convergence diagnostics with readable warnings.

Posterior variables are named as the .par parameters, in the units of the WLS JSON summary
(:func:`jugbayes.report.fitted_par.fitted_values`: RAJ in hours, other angles in degrees).  A float64
F0 of ~300 Hz resolves only ~6e-14 Hz, no finer than its uncertainty (an epoch such as T0 ~ 5e4 d
hardly better), so in the default ``posterior`` group -- the one every ``az.*`` function reads --
such a variable holds offsets from the WLS value: each variable's ``stored`` attribute says
``absolute`` or ``offset from reference``, and ``reference`` holds the WLS value exactly (a decimal
string).  A variable is stored absolute when its posterior sd spans at least ``ABSOLUTE_MIN_ULPS``
float64 steps of its value.  Two more groups hold every variable one way: ``posterior_absolute``
(reference + offset, float64, as far as float64 resolves it) and ``posterior_offset``; the summary
table and corner plot use the offsets.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

OFFSET_GROUP = "posterior_offset"
ABSOLUTE_GROUP = "posterior_absolute"
ABSOLUTE_MIN_ULPS = 1e6  # sd / float64 step of the value above which absolute draws lose nothing (< 1e-12 of sd)
STORED_ABSOLUTE, STORED_OFFSET = "absolute", "offset from reference"
RHAT_MAX = 1.01  # warn above (Vehtari et al. 2021)
ESS_MIN = 400  # warn below, bulk or tail
HDI_PROB = 0.94
PRIOR_DRAWS = 1000
DEFAULT_MAX_TREE_DEPTH = 10  # NumPyro's NUTS default
_NOISE_PREFIXES = ("EFAC", "EQUAD", "ECORR", "T2EFAC", "T2EQUAD", "TNEF", "TNEQ", "TNECORR", "TNRED", "TNDM",
                   "RNAMP", "RNIDX", "LOG10")


@dataclass(frozen=True)
class WlsGaussian:
    """The WLS fit as a Gaussian over the sampled parameters, in .par units (NaN where a parameter was not fitted)."""

    names: tuple[str, ...]  # .par names
    values: tuple[Decimal, ...]  # exact WLS values (0 where not fitted: the reference of the offsets)
    sigma: np.ndarray
    covariance: np.ndarray
    chi2: float
    dof: int

    def to_json(self) -> str:
        return json.dumps({"params": list(self.names), "values": [str(v) for v in self.values],
                           "sigma": _nan_to_none(self.sigma), "covariance": _nan_to_none(self.covariance),
                           "chi2": self.chi2, "dof": self.dof})

    @classmethod
    def from_json(cls, text: str) -> WlsGaussian:
        d = json.loads(text)
        to_array = lambda x: np.array(x, dtype=float)  # noqa: E731  (None -> nan)
        return cls(tuple(d["params"]), tuple(Decimal(v) for v in d["values"]), to_array(d["sigma"]),
                   to_array(d["covariance"]), float(d["chi2"]), int(d["dof"]))


def _nan_to_none(a: np.ndarray) -> list:
    return np.where(np.isfinite(a), a, None).tolist()


def _jsonable(obj):
    """``json.dumps`` fallback for what priors and configs may hold (numpy, Decimal, dataclasses, paths)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return str(obj)


def wls_gaussian(model, result, fit) -> WlsGaussian:
    """The fit's values, sigmas and covariance for ``result.names``, turned into .par units (``par_factor``)."""
    from jugbayes.report.fitted_par import fitted_values, par_factor

    by_name = {v.name: v for v in fitted_values(model, fit)}
    k = len(result.names)
    par_names, values, factors, idx = [], [], np.ones(k), []
    for i, name in enumerate(result.names):
        par_name, factors[i] = par_factor(model, name)
        par_names.append(par_name)
        if par_name in by_name and name in fit.names:
            values.append(by_name[par_name].value)
            idx.append(fit.names.index(name))
        else:  # not fitted (a sampled noise parameter): its draws are values, not offsets; no Gaussian
            values.append(Decimal(0))
            idx.append(-1)
    idx = np.array(idx)
    have = idx >= 0
    cov = np.full((k, k), np.nan)
    full = np.asarray(fit.covariance)
    cov[np.ix_(have, have)] = full[np.ix_(idx[have], idx[have])] / np.outer(factors[have], factors[have])
    return WlsGaussian(tuple(par_names), tuple(values), np.sqrt(np.diag(cov)), cov, float(fit.chi2), int(fit.dof))


def wls_from_idata(idata) -> WlsGaussian:
    """The WLS Gaussian that :func:`inference_data` stored in the ``wls`` attribute."""
    return WlsGaussian.from_json(idata.attrs["wls"])


def _offsets_par_units(model, result, fit, wls: WlsGaussian) -> np.ndarray:
    """Draws as offsets from the WLS values in .par units, (chains, draws, k), never via large absolute values."""
    from jugbayes.report.fitted_par import par_factor

    out = np.empty(np.shape(result.samples), dtype=float)
    for i, name in enumerate(result.names):
        factor = par_factor(model, name)[1]
        center = float(np.asarray(fit.offsets)[fit.names.index(name)]) if name in fit.names else 0.0
        out[:, :, i] = (np.asarray(result.samples)[:, :, i] - center) / factor
    return out


def tree_depth(n_steps: np.ndarray) -> np.ndarray:
    """NUTS tree depth from leapfrog steps: floor(log2(n)) + 1 (ArviZ's definition for NumPyro; 2^d - 1 -> d)."""
    n = np.maximum(np.asarray(n_steps, dtype=np.int64), 1)
    return np.frexp(n.astype(float))[1].astype(np.int64)  # exponent e with n = m 2^e, 0.5 <= m < 1


def _sample_stats(result) -> dict:
    stats = result.sample_stats
    n_steps = np.asarray(stats["num_steps"])
    out = {"diverging": np.asarray(stats["diverging"], dtype=bool), "n_steps": n_steps,
           "tree_depth": tree_depth(n_steps), "energy": np.asarray(stats["energy"], dtype=float)}
    for key, name in (("accept_prob", "acceptance_rate"), ("step_size", "step_size"), ("lp", "lp")):
        if key in stats:
            out[name] = np.asarray(stats[key], dtype=float)
    return out


def _priors_attr(result) -> str:
    priors = getattr(result, "priors", None)
    if priors is not None:
        return json.dumps(priors, default=_jsonable)
    from jugbayes.sample import nuts

    k = getattr(nuts, "PRIOR_SIGMAS", None)
    return json.dumps(f"flat within +-{k:g} sigma of the fit in whitened coordinates" if k else "not recorded")


def _config_attr(config) -> str:
    return config if isinstance(config, str) else json.dumps(config, default=_jsonable)


def _observed(model, fit, noise) -> tuple[dict, dict]:
    """(observed_data, constant_data): post-fit residuals and TOA errors in seconds, MJD and frequency."""
    err_us = np.asarray(model.toas.error_us, dtype=float)
    observed = {"residual_s": np.asarray(fit.residuals_s, dtype=float), "error_s": err_us * 1e-6}
    if noise is not None:
        from jugbayes.model.noise import toa_sigma_and_basis

        observed["sigma_s"] = np.asarray(toa_sigma_and_basis(noise, err_us)[0], dtype=float)  # EFAC/EQUAD-scaled
    constant = {"mjd": np.asarray(model.toas.mjd, dtype=float), "freq_mhz": np.asarray(model.toas.freq_mhz, float)}
    return observed, constant


def inference_data(model, result, fit, *, config=None, noise=None, log_likelihood: bool = False):
    """ArviZ InferenceData of a NUTS run (``NutsResult``) against its WLS ``fit``; round-trips through netCDF.

    posterior: draws named as the .par parameters in summary-JSON units, absolute or as offsets from the
    WLS value (each variable's ``stored`` and ``reference`` attributes say which, and from what);
    ``posterior_absolute`` and ``posterior_offset``: every variable one way; sample_stats: diverging,
    n_steps, tree_depth, energy, acceptance_rate, step_size and lp (the log density NUTS sampled, in its
    whitened coordinates, up to a constant: as ``az.from_numpyro``); observed_data:
    post-fit residuals and errors (s); prior: ``PRIOR_DRAWS`` draws of each proper prior, stored as the
    posterior variable is; log_likelihood (when asked; see :mod:`jugbayes.report.loglik` for what is stored
    with correlated noise, and its ``about`` attribute); attributes (strings): config, wls (JSON), priors
    (JSON), versions, files.
    """
    import arviz as az
    import xarray as xr

    from jugbayes import __version__

    wls = wls_gaussian(model, result, fit)
    offsets = _offsets_par_units(model, result, fit, wls)
    absolute = {n: float(v) + offsets[:, :, i] for i, (n, v) in enumerate(zip(wls.names, wls.values))}
    stored = {n: _storage(float(v), offsets[:, :, i]) for i, (n, v) in enumerate(zip(wls.names, wls.values))}
    posterior = {n: absolute[n] if stored[n] == STORED_ABSOLUTE else offsets[:, :, i] for i, n in enumerate(wls.names)}
    observed, constant = _observed(model, fit, noise)
    dims = {name: ["toa"] for name in (*observed, *constant)}
    attrs = {"jugbayes_version": __version__, "par_file": str(model.par.path or ""),
             "tim_file": str(model.toas.path or ""), "wls": wls.to_json(), "priors": _priors_attr(result),
             "sampler": "numpyro NUTS", "max_tree_depth": int(getattr(result, "max_tree_depth",
                                                                       DEFAULT_MAX_TREE_DEPTH))}
    if config is not None:
        attrs["config"] = _config_attr(config)
    idata = az.from_dict(posterior=posterior, sample_stats=_sample_stats(result), observed_data=observed,
                         constant_data=constant, dims=dims, attrs=attrs)
    coords = idata.posterior.coords
    idata.add_groups({OFFSET_GROUP: xr.Dataset({n: (("chain", "draw"), offsets[:, :, i])
                                                for i, n in enumerate(wls.names)}, coords=coords),
                      ABSOLUTE_GROUP: xr.Dataset({n: (("chain", "draw"), absolute[n]) for n in wls.names},
                                                 coords=coords)})
    _add_marginalized(idata, model, result, fit)
    _add_prior(idata, getattr(result, "priors", None) or {}, wls, stored)
    if log_likelihood:
        _add_log_likelihood(idata, model, result, noise)
    for i, name in enumerate(wls.names):
        p = model.par.get(name)
        unit = _unit(getattr(p, "spec", None))
        for group, how in ((idata.posterior, stored[name]), (idata[OFFSET_GROUP], STORED_OFFSET),
                           (idata[ABSOLUTE_GROUP], STORED_ABSOLUTE)):
            group[name].attrs.update(units=unit, reference=str(wls.values[i]), wls_sigma=float(wls.sigma[i]),
                                     stored=how)
    idata.posterior.attrs["offset_variables"] = json.dumps([n for n in wls.names if stored[n] == STORED_OFFSET])
    return idata


def _storage(reference: float, offsets: np.ndarray) -> str:
    """How the default posterior group holds a variable: absolute if float64 resolves its sd finely, else offsets."""
    sd = float(np.std(offsets))
    return STORED_ABSOLUTE if sd >= ABSOLUTE_MIN_ULPS * np.spacing(abs(reference)) else STORED_OFFSET


def absolute_posterior(idata):
    """Every posterior variable as absolute values (float64, reference + offset): the ``posterior_absolute`` group."""
    return idata[ABSOLUTE_GROUP]


def prior_draws(prior: dict, reference: Decimal, rng, n: int) -> np.ndarray | None:
    """``n`` draws of one prior as offsets from ``reference`` (.par units; its ``describe()`` dict), None if
    improper (flat with an open side).  uniform/bounded: flat in [lower, upper]; log-uniform: flat in the log;
    normal: mu, sigma, truncated to [lower, upper]."""
    lo, hi = (Decimal(prior[k]) if prior.get(k) is not None else None for k in ("lower", "upper"))
    kind = prior.get("kind")
    if kind == "normal":
        mu, sd = float(Decimal(str(prior["mu"])) - reference), float(prior["sigma"])
        a = -np.inf if lo is None else float(lo - reference)
        b = np.inf if hi is None else float(hi - reference)
        import scipy.stats

        return scipy.stats.truncnorm.rvs((a - mu) / sd, (b - mu) / sd, loc=mu, scale=sd, size=n, random_state=rng)
    if lo is None or hi is None:
        return None
    if kind == "log-uniform":
        return np.exp(rng.uniform(np.log(float(lo)), np.log(float(hi)), n)) - float(reference)
    if kind in ("uniform", "bounded"):
        return float(lo - reference) + float(hi - lo) * rng.uniform(size=n)
    return None


def _add_prior(idata, priors: dict, wls: WlsGaussian, stored: dict, seed: int = 0) -> None:
    """Group ``prior``: PRIOR_DRAWS draws of each proper prior in :func:`prior_draws`, stored as the posterior is."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    data = {}
    for name, ref in zip(wls.names, wls.values):
        if name in priors and (draws := prior_draws(priors[name], ref, rng, PRIOR_DRAWS)) is not None:
            data[name] = (("chain", "draw"), (draws + float(ref) if stored[name] == STORED_ABSOLUTE else draws)[None])
    if data:
        idata.add_groups({"prior": xr.Dataset(data, coords={"chain": [0], "draw": np.arange(PRIOR_DRAWS)})})


def _add_log_likelihood(idata, model, result, noise) -> None:
    """Group ``log_likelihood`` (variable ``residual_s``, as observed_data names the data) from :func:`jugbayes.report.loglik.pointwise_loglike`."""
    import xarray as xr

    from jugbayes.report.loglik import pointwise_loglike

    values, about = pointwise_loglike(model, result, noise)
    idata.attrs["log_likelihood"] = about
    if values is not None:
        ds = xr.Dataset({"residual_s": (("chain", "draw", "toa"), values)}, coords=idata.posterior.coords, attrs={"about": about})
        idata.add_groups({"log_likelihood": ds})


def posterior_medians(idata) -> dict[str, float]:
    """Each posterior variable's median as an absolute value (float64), by variable name."""
    post = idata[ABSOLUTE_GROUP] if ABSOLUTE_GROUP in idata.groups() else idata.posterior
    return {str(n): float(np.median(post[n].values)) for n in post.data_vars}


def _add_marginalized(idata, model, result, fit) -> None:
    """Group ``marginalized``: each draw's conditional mean of the analytically marginalised parameters, as
    offsets from the WLS value in .par units; their conditional covariance (same units) in its attrs."""
    import xarray as xr

    from jugbayes.report.fitted_par import par_factor

    names = tuple(getattr(result, "marginalized", ()) or ())
    mean = getattr(result, "linear_mean", None)
    if not names or mean is None:
        return
    par_names, factors = zip(*(par_factor(model, n) for n in names))
    factors = np.asarray(factors, dtype=float)
    center = np.array([float(np.asarray(fit.offsets)[fit.names.index(n)]) for n in names])
    data = {p: (("chain", "draw"), (np.asarray(mean)[:, :, i] - center[i]) / factors[i])
            for i, p in enumerate(par_names)}
    cov = np.asarray(getattr(result, "linear_cov", np.full((len(names),) * 2, np.nan))) / np.outer(factors, factors)
    attrs = {"params": json.dumps(list(par_names)), "conditional_covariance": json.dumps(_nan_to_none(cov))}
    idata.add_groups({"marginalized": xr.Dataset(data, coords=idata.posterior.coords, attrs=attrs)})


def _unit(spec) -> str:
    """The .par unit of a parameter spec as written in the summary: RAJ hours, F<n> Hz/s^n spelled out."""
    unit = getattr(spec, "unit", "") or ""
    if "^n" in unit and spec.index is not None:
        unit = unit.replace("/s^n", {0: "", 1: "/s"}.get(spec.index, f"/s^{spec.index}"))
    return {"hourangle": "h"}.get(unit, unit)


def _offset_dataset(idata):
    """The draws as offsets from each variable's ``reference`` (from the offset group when there is one)."""
    if OFFSET_GROUP in idata.groups():
        return idata[OFFSET_GROUP]
    post = idata.posterior
    return post.map(lambda v: v - float(v.attrs.get("reference", 0.0)), keep_attrs=True)


def summary_table(idata, hdi_prob: float = HDI_PROB):
    """ArviZ's summary (mean, sd, HDI, MCSE, ESS bulk/tail, R-hat) per parameter, beside the WLS value and sigma.

    ``(mean-wls)/sigma`` and ``sd/sigma`` compare the posterior with the WLS Gaussian (0 and 1 for a
    linear problem); statistics come from the offsets, so F0's are not limited by float64 absolute values.
    """
    import arviz as az

    off = _offset_dataset(idata)
    table = az.summary(off, hdi_prob=hdi_prob, round_to="none")
    refs = np.array([float(idata.posterior[n].attrs.get("reference", 0.0)) for n in table.index])
    sigma = np.array([float(idata.posterior[n].attrs.get("wls_sigma", np.nan)) for n in table.index])
    mean_offset = table["mean"].to_numpy().copy()
    for col in table.columns:
        if col == "mean" or col.startswith("hdi_"):
            table[col] = table[col] + refs
    table["wls"] = np.where(np.isfinite(sigma), refs, np.nan)
    table["wls_sigma"] = sigma
    with np.errstate(invalid="ignore", divide="ignore"):
        table["(mean-wls)/sigma"] = mean_offset / sigma
        table["sd/sigma"] = table["sd"].to_numpy() / sigma
    return table


def diagnostics(idata, table=None) -> dict:
    """Convergence figures: divergences, tree depth (mean, saturated draws), worst ESS and R-hat, and who."""
    table = summary_table(idata) if table is None else table
    stats = idata.sample_stats
    depth = np.asarray(stats["tree_depth"])
    max_depth = int(idata.attrs.get("max_tree_depth", DEFAULT_MAX_TREE_DEPTH))
    ess = np.minimum(table["ess_bulk"].to_numpy(), table["ess_tail"].to_numpy())
    return {
        "chains": int(depth.shape[0]), "draws": int(depth.shape[1]),
        "divergences": int(np.asarray(stats["diverging"]).sum()),
        "mean_tree_depth": float(depth.mean()), "mean_leapfrog_steps": float(np.asarray(stats["n_steps"]).mean()),
        "max_tree_depth": max_depth, "max_tree_depth_hits": int((depth >= max_depth).sum()),
        "min_ess_bulk": float(table["ess_bulk"].min()), "min_ess_tail": float(table["ess_tail"].min()),
        "max_r_hat": float(table["r_hat"].max()),
        "r_hat_high": [str(n) for n in table.index[table["r_hat"].to_numpy() > RHAT_MAX]],
        "ess_low": [str(n) for n in table.index[ess < ESS_MIN]],
    }


def _names(names: list[str], most: int = 6) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def warnings(diag: dict) -> list[str]:
    """Readable warnings from :func:`diagnostics`: R-hat > 1.01, ESS < 400, divergences, saturated tree depth."""
    out = []
    total = diag["chains"] * diag["draws"]
    if diag["r_hat_high"]:
        out.append(f"R-hat above {RHAT_MAX} (max {diag['max_r_hat']:.3f}) for {_names(diag['r_hat_high'])}: the "
                   "chains disagree; run more warm-up and draws before trusting this posterior")
    if diag["ess_low"]:
        out.append(f"effective sample size below {ESS_MIN} (bulk {diag['min_ess_bulk']:.0f}, tail "
                   f"{diag['min_ess_tail']:.0f}) for {_names(diag['ess_low'])}: run more draws")
    if diag["divergences"]:
        out.append(f"{diag['divergences']} divergent transitions ({100 * diag['divergences'] / total:.2g}% of "
                   "draws): the sampler could not follow parts of the posterior, which may be biased")
    if diag["max_tree_depth_hits"]:
        out.append(f"{diag['max_tree_depth_hits']} draws ({100 * diag['max_tree_depth_hits'] / total:.2g}%) "
                   f"reached the maximum tree depth {diag['max_tree_depth']}: sampling is inefficient (a badly "
                   "scaled or nearly degenerate direction)")
    return out


def default_corner_names(names) -> list[str]:
    """Timing parameters worth a corner plot: all but DMX, JUMP and noise parameters."""
    return [n for n in names if not n.startswith(("DMX", "JUMP")) and not n.upper().startswith(_NOISE_PREFIXES)]
