"""Run a validation study: data sets as tasks on a Dask cluster (:mod:`jugbayes.cluster`: an embedded one of a
process per core, or one at ``--scheduler``), one result file each, written by the client (resumable).

Layout of ``outdir``: ``study.json`` (the configuration and its fingerprint), ``reference.json``
(the expected WLS sigmas from a noise-free data set: they set the SBC prior widths),
``datasets/NNNNN.json`` (one per finished data set; a rerun skips those), then ``report.json``
and the figures (:mod:`jugbayes.validate.report`).

Data set ``i``: truth = the .par, or (SBC) the .par plus offsets drawn from N(0, (prior_width x
sigma_ref)^2) per parameter; TOAs = the layout moved to zero residual under the truth, plus the
.par's noise (seed from ``(seed, i)``); fit from the .par with WLS/GLS, and with NUTS if asked.
WLS as a posterior: the Gaussian with the fit's covariance, times the SBC prior when there is one
(analytically).  Under SBC, NUTS samples with the SBC prior itself (:func:`sbc_priors`: the truths' normal
prior, truncated where they are), so its ranks test the sampler on exactly the posterior the truths
come from; otherwise with its default wide prior.  Ranks use ``draws`` evenly spaced draws of the chains
(thinned, as Talts et al. advise, so that they are nearly independent).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.io.output import atomic_write_text
from jugbayes.validate.config import StudyConfig


@lru_cache(maxsize=2)
def _layout(cfg_json: str):
    """(par, template TOAs, a model on them) for a study, once per process."""
    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model
    from jugbayes.simulate import ObservingPlan, observing_pattern

    cfg = StudyConfig(**json.loads(cfg_json))
    par = read_par(cfg.par, warn=False)
    lay = cfg.layout
    if "template" in lay:
        template = read_tim(lay["template"])
    else:
        plan = ObservingPlan(float(lay["start"]), float(lay["end"]), int(lay["ntoa"]), lay.get("cadence_days"),
                             tuple(lay.get("obs", ["coe"])), tuple(float(f) for f in lay.get("freqs", [1400.0])),
                             float(lay.get("error_us", 1.0)))
        template = observing_pattern(par, plan, seed=cfg.seed)
    return par, template, build_model(par, template)


def _free(cfg: StudyConfig, model) -> tuple[str, ...]:
    free = cfg.params or tuple(model.free)
    unknown = [n for n in free if n not in model.names]
    if unknown:
        raise JugbayesError(f"validate: {', '.join(unknown)} not parameters of the model in {cfg.par}")
    return tuple(free)


def reference_sigmas(cfg: StudyConfig) -> dict:
    """WLS sigmas (model units) of the study's parameters on a noise-free data set from the .par."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model
    from jugbayes.simulate import simulate

    par, template, model0 = _layout(json.dumps(cfg.to_dict()))
    free = _free(cfg, model0)
    toas = simulate(par, template, noise=False)
    model = build_model(par, toas)
    fit = fit_wls(model, free, noise=noise_for_model(model))
    return {"names": list(free), "sigma": [float(fit.sigma[fit.names.index(n)]) for n in free],
            "units": [model.units.get(n, "") for n in free]}


def _truth_par(par, model, names, offsets, sigma):
    from types import SimpleNamespace

    from jugbayes.report.fitted_par import fitted_values, updated_par

    values = fitted_values(model, SimpleNamespace(names=tuple(names), offsets=np.asarray(offsets),
                                                  sigma=np.asarray(sigma)))
    return updated_par(par, values)


def _sbc_truth(model, names, prior_sd, rng, max_tries: int = 10_000) -> np.ndarray:
    """Offsets from the SBC prior: N(0, prior_sd^2) per parameter, truncated to the physical bounds the sampler's
    priors use (SINI <= 1, ECC >= 0, M2 > 0, ...; :data:`jugbayes.sample.priors.PHYSICAL_BOUNDS`), by redrawing.

    NUTS samples within those bounds, with this truncated prior (:func:`sbc_priors`); a truth
    outside them could never be ranked fairly.  (The WLS block's analytic Gaussian ignores the truncation.)"""
    from jugbayes.report.fitted_par import par_factor
    from jugbayes.sample.priors import physical_bounds

    truth = prior_sd * rng.standard_normal(len(names))
    for i, name in enumerate(names):
        par_name, factor = par_factor(model, name)
        lo, hi = physical_bounds(model, par_name, None)
        p = model.par.get(par_name)
        if p is None or (np.isinf(lo) and np.isinf(hi)):
            continue
        value = float(p.as_decimal())
        for _ in range(max_tries):
            if lo <= value + truth[i] / factor <= hi:
                break
            truth[i] = prior_sd[i] * rng.standard_normal()
        else:
            raise JugbayesError(f"validate: no SBC prior draw of {par_name} (sd {prior_sd[i] / factor:.3g} around "
                                f"{value}) fell within its bounds [{lo}, {hi}] in {max_tries} tries")
    return truth


def _gaussian_block(mean, cov, truth, rng, cfg: StudyConfig) -> dict:
    """Posterior summary for a Gaussian posterior; SBC ranks from ``cfg.sbc_draws`` draws of it."""
    sd = np.sqrt(np.diag(cov))
    out = {"mean": mean.tolist(), "sd": sd.tolist(), "pull": ((mean - truth) / sd).tolist()}
    from jugbayes.validate.stats import LEVELS, z_of_level

    for level in LEVELS:
        out[f"covered{round(level * 100)}"] = (np.abs(mean - truth) / sd < z_of_level(level)).tolist()
    if cfg.sbc:
        corr = cov / np.outer(sd, sd)
        chol = np.linalg.cholesky(corr + 1e-12 * np.eye(len(sd)))
        draws = mean + (rng.standard_normal((cfg.sbc_draws, len(sd))) @ chol.T) * sd
        out["rank"] = np.sum(draws < truth, axis=0).tolist()
    return out


def sbc_priors(model, names, prior_sd):
    """The SBC prior as the sampler's priors: N(.par value, ``prior_sd``) per parameter (``prior_sd`` in model
    units), centred exactly on the .par's decimal value and truncated at the physical bounds, as the truths are
    (:func:`_sbc_truth`)."""
    from decimal import Decimal

    from jugbayes.report.fitted_par import par_factor
    from jugbayes.sample.priors import PriorConfig

    priors = {}
    for name, sd in zip(names, prior_sd):
        par_name, factor = par_factor(model, name)
        p = model.par.get(par_name)
        priors[par_name] = {"kind": "normal", "mu": p.as_decimal() if p is not None else Decimal(0),
                            "sigma": float(sd) / factor}
    return PriorConfig(priors=priors)


def _nuts_block(samples, truth, cfg: StudyConfig) -> dict:
    """Posterior summary from NUTS draws (c, d, k): quantile intervals, and SBC ranks among thinned draws."""
    from jugbayes.validate.stats import LEVELS

    flat = np.concatenate(list(samples), axis=0)  # chain after chain, so evenly spaced picks are far apart
    mean, sd = flat.mean(axis=0), flat.std(axis=0, ddof=1)
    out = {"mean": mean.tolist(), "sd": sd.tolist(), "pull": ((mean - truth) / sd).tolist()}
    if cfg.sbc:
        pick = flat[np.linspace(0, len(flat) - 1, cfg.sbc_draws).round().astype(int)]
        out["rank"] = np.sum(pick < truth, axis=0).tolist()
    for level in LEVELS:
        lo, hi = np.quantile(flat, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        out[f"covered{round(level * 100)}"] = ((lo <= truth) & (truth <= hi)).tolist()
    return out


def run_dataset(cfg_json: str, reference: dict, index: int) -> dict:
    """Simulate, fit (and sample) data set ``index``; returns its result record."""
    from jugbayes.fit.wls import fit_wls
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model
    from jugbayes.simulate import simulate
    from jugbayes.validate.stats import gaussian_posterior

    start = time.perf_counter()
    cfg = StudyConfig(**json.loads(cfg_json))
    par, template, model0 = _layout(cfg_json)
    names, sigma_ref = tuple(reference["names"]), np.asarray(reference["sigma"])
    prior_sd = cfg.prior_width * sigma_ref
    rng = np.random.default_rng([cfg.seed, index])
    truth = _sbc_truth(model0, names, prior_sd, rng) if cfg.sbc else np.zeros(len(names))
    truth_par = _truth_par(par, model0, names, truth, sigma_ref) if cfg.sbc else par
    toas = simulate(truth_par, template, seed=int(rng.integers(2**31)))
    model = build_model(par, toas)
    noise = noise_for_model(model)
    fit = fit_wls(model, names, noise=noise)
    idx = [fit.names.index(n) for n in names]
    est, cov = np.asarray(fit.offsets)[idx], np.asarray(fit.covariance)[np.ix_(idx, idx)]
    record = {"index": index, "names": list(names), "truth": truth.tolist(), "chi2": fit.chi2, "dof": fit.dof,
              "converged": bool(fit.converged), "wls_sigma": np.sqrt(np.diag(cov)).tolist()}
    mean, post = gaussian_posterior(est, cov, prior_sd) if cfg.sbc else (est, cov)
    record["wls"] = _gaussian_block(mean, post, truth, rng, cfg)
    if "nuts" in cfg.methods:
        from jugbayes.sample.nuts import sample_nuts

        res = sample_nuts(model, fit, noise, chains=cfg.nuts_chains, warmup=cfg.nuts_warmup,
                          samples=cfg.nuts_samples, seed=int(rng.integers(2**31)), share_compiled=True,
                          config=sbc_priors(model, names, prior_sd) if cfg.sbc else None)
        samples = np.asarray(res.samples)[..., [res.names.index(n) for n in names]]
        record["nuts"] = _nuts_block(samples, truth, cfg)
        record["nuts"]["divergences"] = int(np.sum(np.asarray(res.sample_stats["diverging"])))
    record["seconds"] = time.perf_counter() - start
    return record


def dataset_task(cfg_json: str, reference: dict, index: int, cache: bool = False) -> dict:
    """:func:`run_dataset` as a cluster task: one XLA thread, warnings silenced (the parallelism is across data
    sets); ``cache``: keep compiled programs on disk (the data sets share one structure, so after the first
    each worker loads the fitter's and the sampler's programs instead of compiling them again).  With NUTS,
    then drop JAX's compiled programs: each data set's sampler functions are new Python closures, and the
    executables loaded for them would otherwise stay mapped (~1300 memory mappings per NUTS data set: a worker
    met the kernel's 65530-mapping limit after ~50 data sets).  The fitter's programs are shared by the data
    sets (:mod:`jugbayes.fit.wls`), so a WLS-only study keeps them compiled."""
    import warnings

    from jugbayes.cluster import prepare_worker_process

    prepare_worker_process(cache)
    import jax

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return run_dataset(cfg_json, reference, index)
        finally:
            if "nuts" in json.loads(cfg_json)["methods"]:
                jax.clear_caches()


def _write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1))  # an interrupted write leaves no half file behind


def _prepare_outdir(cfg: StudyConfig, outdir: Path) -> dict:
    """Create or reopen ``outdir``; refuse one holding a different study; return the reference sigmas."""
    (outdir / "datasets").mkdir(parents=True, exist_ok=True)
    study = outdir / "study.json"
    if study.exists():
        old = json.loads(study.read_text())
        if old.get("fingerprint") != cfg.fingerprint():
            raise JugbayesError(f"{outdir} holds results of a different study (another config, seed or jugbayes "
                                "version); use a new --outdir")
    _write_json(study, {"fingerprint": cfg.fingerprint(), "config": cfg.to_dict()})
    ref_path = outdir / "reference.json"
    if not ref_path.exists():
        _write_json(ref_path, reference_sigmas(cfg))
    return json.loads(ref_path.read_text())


def dataset_path(outdir: Path, index: int) -> Path:
    return Path(outdir) / "datasets" / f"{index:05d}.json"


def run_study(cfg: StudyConfig, outdir: str | Path, *, workers: int | None = None, progress: bool = True,
              cache: bool = False, scheduler: str | None = None, client=None) -> dict:
    """Run the data sets not yet in ``outdir``, then report: as tasks on the Dask cluster at ``scheduler`` (or
    ``$JUGBAYES_SCHEDULER``, or ``client``'s), else on an embedded one of ``workers`` processes; with
    ``workers=1`` and no cluster named, one after another in this process.

    ``cache``: tasks keep compiled programs on disk (the CLI turns it on; in this process its own setting
    applies).  Each record is written as its task returns, so an interrupted study keeps what it finished."""
    import os

    from tqdm.auto import tqdm

    from jugbayes.cluster import SCHEDULER_ENV, dask_client, run_windowed
    from jugbayes.processes import usable_cores
    from jugbayes.validate.report import write_report

    outdir = Path(outdir)
    reference = _prepare_outdir(cfg, outdir)
    todo = [i for i in range(cfg.n_datasets) if not dataset_path(outdir, i).exists()]
    cfg_json = json.dumps(cfg.to_dict())
    remote = client is not None or bool(scheduler or os.environ.get(SCHEDULER_ENV))
    workers = max(1, min(workers or usable_cores(), len(todo) or 1))
    bar = tqdm(total=cfg.n_datasets, initial=cfg.n_datasets - len(todo), desc="data sets", unit="set",
               disable=not progress)

    def run_on(dask):
        items = [(cfg_json, reference, i, cache) for i in todo]
        for item, fut in run_windowed(dask, dataset_task, items, label=lambda it: f"dataset-{it[2]:05d}"):
            if fut.status != "finished":  # a task that raised (or whose workers kept dying) stops the study
                exc = fut.exception()
                if isinstance(exc, JugbayesError):
                    raise exc
                raise JugbayesError(f"validate: data set {item[2]} failed: {type(exc).__name__}: {exc}") from exc
            _write_json(dataset_path(outdir, item[2]), fut.result())
            bar.update()

    try:
        if todo and client is not None:
            run_on(client)
        elif todo and (remote or workers > 1):
            with dask_client(scheduler, workers) as own:
                run_on(own)
        else:
            for i in todo:
                _write_json(dataset_path(outdir, i), run_dataset(cfg_json, reference, i))
                bar.update()
    finally:
        bar.close()
    return write_report(cfg, outdir, reference)
