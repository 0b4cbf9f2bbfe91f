"""The enterprise side of the enterprise comparisons: run by *enterprise's* Python, never imported by jugbayes.

enterprise (``pip install enterprise-pulsar ptmcmcsampler pint-pulsar``, after ``apt-get install
libsuitesparse-dev``) is a peer to compare with, never a dependency.  The tools that call this file
(``tools/make_enterprise_references.py``, ``tools/run_enterprise_noise_posterior.py``) run with jugbayes's Python
and start this one as a subprocess::

    ENTERPRISE_PYTHON tools/enterprise_peer.py likelihood SPEC.json ARRAYS.npz OUT.json
    ENTERPRISE_PYTHON tools/enterprise_peer.py posterior SPEC.json OUTDIR

PINT loads the pulsar offline against ``../shared`` (``shared/tools/pint_offline.py``), as enterprise users load
it (``enterprise.pulsar.PintPulsar``; planets off, the noise model does not use them).

The noise model, built from the SPEC's backends (the value of the TOA flag ``flag`` that jugbayes's .par lines
select on): per-backend ``MeasurementNoise(efac, log10_t2equad)`` (variance EFAC^2 (error^2 + EQUAD^2), the
TEMPO2/PINT/jugbayes convention), per-backend ``EcorrKernelNoise(log10_ecorr)`` (Sherman-Morrison; epochs: TOAs
within 1 s of the epoch's first TOA, single-TOA epochs dropped, per backend), ``FourierBasisGP`` with
enterprise's ``powerlaw`` on ``components`` frequencies k / Tspan (Tspan from the SPEC), and
``TimingModel()`` (normed design-matrix columns with prior variance 1e40).

``likelihood``: the TOA times, residuals and errors replaced by jugbayes's (ARRAYS.npz, .tim order) and the
design matrix by one constant column (the phase offset, all that jugbayes's ``noise_loglike`` marginalises);
log-likelihood at each of the SPEC's parameter vectors.  The same with enterprise's own times (PINT's
barycentric TOAs, its default Tspan) for information, and PINT's residuals and times.

``posterior``: PINT's residuals and full design matrix (the timing model marginalised as enterprise users do),
priors from the SPEC, PTMCMCSampler with its default jumps from the SPEC's start vector for ``niter`` iterations,
or stopped at its first save (every 1000 iterations) after ``max_wall_s`` of sampling; the chain (PTMCMC's
thinned ``chain_1.txt``) and timings in OUTDIR (``run_info.json``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import warnings

import numpy as np


def _load_pulsar(spec):
    sys.path.insert(0, os.path.join(spec["shared"], "tools"))
    importlib.import_module("pint_offline")  # before PINT: offline clock files and kernels
    import pint.logging

    pint.logging.setup(level="ERROR")
    from enterprise.pulsar import PintPulsar
    from pint.models import get_model
    from pint.toa import get_TOAs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_model(spec["par"])
        toas = get_TOAs(spec["tim"], model=model)
        index = np.asarray(toas.table["index"], dtype=int)
        if not np.array_equal(index, np.arange(len(index))):
            raise RuntimeError("PINT's TOAs are not in .tim order")
        tdb_s = np.asarray(toas.table["tdbld"], dtype=np.float64) * 86400.0
        psr = PintPulsar(toas, model, planets=False)
    return psr, tdb_s


def _flag_selection(flag):
    """An enterprise selection by the value of one TOA flag (enterprise's by_backend does the same with its
    backend_flags, the first of group, g, sys, i, f, fe+be a TOA carries)."""
    from enterprise.signals.selections import Selection

    def by_flag(flags):
        values = flags[flag]
        return {v: values == v for v in sorted(set(values)) if v}

    return Selection(by_flag)


def _model(spec, psr, tspan_s):
    from enterprise.signals import gp_signals, parameter, signal_base, utils, white_signals

    pr = spec["priors"]
    sel = _flag_selection(spec["flag"])
    s = white_signals.MeasurementNoise(efac=parameter.Uniform(*pr["efac"]),
                                       log10_t2equad=parameter.Uniform(*pr["equad"]), selection=sel)
    s += white_signals.EcorrKernelNoise(log10_ecorr=parameter.Uniform(*pr["ecorr"]), selection=sel,
                                        method="sherman-morrison")
    pl = utils.powerlaw(log10_A=parameter.Uniform(*pr["red_log10_amp"]), gamma=parameter.Uniform(*pr["red_gamma"]))
    s += gp_signals.FourierBasisGP(spectrum=pl, components=spec["components"], Tspan=tspan_s, name="red_noise")
    s += gp_signals.TimingModel()
    return signal_base.PTA([s(psr)])


def _epochs(pta):
    """ECORR epochs per backend in the PTA's EcorrKernelNoise."""
    for sig in pta._signalcollections[0]._signals:
        if hasattr(sig, "_slices"):
            return {k: len(v) for k, v in sig._slices.items()}
    return {}


def _bounds(spec, pta):
    """Lower and upper prior bounds in the PTA's parameter order."""
    kinds = {"efac": "efac", "log10_t2equad": "equad", "log10_ecorr": "ecorr", "log10_A": "red_log10_amp",
             "gamma": "red_gamma"}
    ranges = [spec["priors"][next(v for k, v in kinds.items() if n.endswith(k))] for n in pta.param_names]
    return np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges])


def _vector(pta, named):
    missing = [n for n in pta.param_names if n not in named]
    if missing or len(named) != len(pta.param_names):
        raise RuntimeError(f"parameter names differ: enterprise {pta.param_names}, given {sorted(named)}")
    return np.array([named[n] for n in pta.param_names])


def likelihood(spec_path, arrays_path, out_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    arrays = np.load(arrays_path)
    psr, pint_tdb_s = _load_pulsar(spec)
    out = {"pint_resid_s": psr._residuals.tolist(), "pint_bary_s_minus_tdb_s": (psr._toas - pint_tdb_s).tolist(),
           "pint_tdb_s_minus_ours_s": (pint_tdb_s - arrays["tdb_s"]).tolist(),
           "pint_error_s_minus_ours_s": float(np.max(np.abs(psr._toaerrs - arrays["error_s"]))),
           "pint_flag_equal": bool(np.array_equal(psr._flags[spec["flag"]], arrays["flag"]))}

    # enterprise's own times (barycentric), its default Tspan, our residuals: for information
    own_tspan = float(psr._toas.max() - psr._toas.min())
    psr._residuals = np.array(arrays["resid_s"], dtype=np.float64)
    psr._designmatrix = np.ones((len(psr._residuals), 1))
    psr.fitpars = ["Offset"]
    own = _model(spec, psr, None)
    out["own_times"] = {"tspan_s": own_tspan, "ecorr_epochs": _epochs(own),
                        "loglike": [float(own.get_lnlikelihood(_vector(own, v))) for v in spec["vectors"]]}

    # jugbayes's times, residuals and errors
    psr._toas = np.array(arrays["tdb_s"], dtype=np.float64)
    psr._toaerrs = np.array(arrays["error_s"], dtype=np.float64)
    psr.sort_data()
    pta = _model(spec, psr, spec["tspan_s"])
    x = [_vector(pta, v) for v in spec["vectors"]]
    out["param_names"] = list(pta.param_names)
    out["ecorr_epochs"] = _epochs(pta)
    out["loglike"] = [float(pta.get_lnlikelihood(v)) for v in x]
    t0 = time.perf_counter()
    for v in x:
        pta.get_lnlikelihood(v)
    out["seconds_per_loglike"] = (time.perf_counter() - t0) / len(x)
    import enterprise

    out["enterprise_version"] = enterprise.__version__
    with open(out_path, "w") as fh:
        json.dump(out, fh)


def posterior(spec_path, outdir):
    from PTMCMCSampler.PTMCMCSampler import PTSampler

    with open(spec_path) as fh:
        spec = json.load(fh)
    t_start = time.perf_counter()
    psr, _ = _load_pulsar(spec)
    pta = _model(spec, psr, spec["tspan_s"])
    x0 = _vector(pta, spec["start"])
    t_setup = time.perf_counter() - t_start
    ndim = len(x0)

    rng = np.random.default_rng(0)
    trial = [np.clip(x0 + 0.01 * rng.standard_normal(ndim), *_bounds(spec, pta)) for _ in range(100)]
    t0 = time.perf_counter()
    for x in trial:  # distinct vectors: enterprise caches the last parameters' products
        pta.get_lnlikelihood(x)
    t_like = (time.perf_counter() - t0) / len(trial)
    t0 = time.perf_counter()
    for x in trial:
        pta.get_lnprior(x)
    t_prior = (time.perf_counter() - t0) / len(trial)

    # Stop rule: niter iterations, or the first saved iteration (isave 1000) after max_wall_s of sampling.
    # PTMCMC calls the prior once per iteration (after one call for the start), so counting its calls counts
    # iterations; the run is stopped by an exception at the first call after a save past the deadline.
    niter, isave = int(spec["niter"]), 1000
    deadline = [None, float(spec.get("max_wall_s") or np.inf)]
    calls = [0]

    class Deadline(Exception):
        pass

    def logp(x):
        i = calls[0]
        calls[0] += 1
        if i > 1 and (i - 1) % isave == 0 and time.perf_counter() - deadline[0] > deadline[1]:
            raise Deadline(i - 1)
        return pta.get_lnprior(x)

    cov = np.diag(np.full(ndim, 0.01**2))
    sampler = PTSampler(ndim, pta.get_lnlikelihood, logp, cov, outDir=outdir, verbose=False,
                        resume=False, seed=int(spec.get("seed", 1)))
    t0 = deadline[0] = time.perf_counter()
    try:
        sampler.sample(x0, niter, isave=isave)  # default jumps: SCAM, AM, DE (weights 20 each), thin 10
        done = niter
    except Deadline as stop:
        done = int(stop.args[0])
    t_sample = time.perf_counter() - t0
    niter = done
    info = {"param_names": list(pta.param_names), "niter": niter, "thin": 10, "sample_wall_s": t_sample,
            "setup_wall_s": t_setup, "seconds_per_loglike": t_like, "seconds_per_logprior": t_prior,
            "ecorr_epochs": _epochs(pta), "n_timing_columns": int(psr.Mmat.shape[1]),
            "tspan_s": spec["tspan_s"], "pint_tspan_s": float(psr.toas.max() - psr.toas.min()),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    import enterprise
    import PTMCMCSampler

    info["enterprise_version"] = enterprise.__version__
    info["ptmcmcsampler_version"] = getattr(PTMCMCSampler, "__version__", None)
    with open(os.path.join(outdir, "run_info.json"), "w") as fh:
        json.dump(info, fh)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    {"likelihood": likelihood, "posterior": posterior}[command](*rest)
