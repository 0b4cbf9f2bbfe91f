"""Write enterprise's sampled-noise log-likelihoods on B1855+09 9yv1 into ``tests/data/enterprise/``.

Run from the project root with jugbayes's Python; enterprise (a peer, never a dependency) in another::

    python tools/make_enterprise_references.py --enterprise-python /work/entenv/bin/python

That Python needs ``pip install enterprise-pulsar pint-pulsar`` (``apt-get install libsuitesparse-dev`` first,
for scikit-sparse); ``tools/enterprise_peer.py`` is what it runs, PINT loading the pulsar offline.

What is compared: jugbayes's ``noise_loglike(noise, resid_s, values)`` and enterprise's ``get_lnlikelihood`` on the
same residuals (jugbayes's, at the .par's values), the same TOA times (jugbayes's TDBs, s since MJD 0) and errors,
and the same noise model (``noise_for_model``'s): per-backend EFAC and T2EQUAD (``MeasurementNoise(efac,
log10_t2equad)``: variance EFAC^2 (error^2 + EQUAD^2), as jugbayes), per-backend ECORR (``EcorrKernelNoise``;
both codes group a backend's TOAs into epochs within 1 s of the epoch's first TOA and drop single-TOA epochs),
the red power law on TNREDC = 45 frequencies k / Tspan, Tspan = max - min of the TOA times, and for the timing
model one constant column (the phase offset: jugbayes marginalises only that; enterprise gives it prior variance
1e40).  The log-likelihoods then differ by a constant, -n/2 log(2 pi) - 1/2 log(1e40 / n) (enterprise keeps the
2 pi terms and the offset's large variance, jugbayes drops them), so the test compares differences between
parameter vectors.

Vectors: the .par's values, 9 perturbations of them (normal, twice the sampler's typical widths, clipped to the
priors) and 10 uniform draws from the default priors (``jugbayes.model.noise.PRIOR_RANGES``), seed 23.

For information only (not tested): the same likelihoods with enterprise's own times (PINT's barycentric TOAs,
which enterprise's PintPulsar uses, and their span), and PINT's residuals' difference from ours.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "tests" / "data" / "enterprise"
DATASET = ("B1855+09_9yv1", "B1855+09_NANOGrav_9yv1.gls.par", "B1855+09_NANOGrav_9yv1.tim")
SUFFIX = {"efac": "efac", "equad": "log10_t2equad", "ecorr": "log10_ecorr"}


def enterprise_names(params, psr: str) -> tuple[list[str], str]:
    """enterprise's names of jugbayes's noise parameters (``EFAC -f X`` -> ``<PSR>_X_efac``, ...), and the TOA flag
    the white-noise lines select on."""
    names, flags = [], set()
    for p in params:
        if p.kind in SUFFIX:
            family, flag, value = p.name.split()
            if not flag.startswith("-"):
                raise ValueError(f"{p.name}: enterprise selects by a TOA flag, this line does not")
            flags.add(flag[1:])
            names.append(f"{psr}_{value}_{SUFFIX[p.kind]}")
        elif p.kind == "red_log10_amp":
            names.append(f"{psr}_red_noise_log10_A")
        elif p.kind == "red_gamma":
            names.append(f"{psr}_red_noise_gamma")
        else:
            raise ValueError(f"{p.name}: not in this comparison")
    if len(flags) != 1:
        raise ValueError(f"the white-noise lines select on several flags: {sorted(flags)}")
    return names, flags.pop()


def load_b1855(shared: Path):
    """(model, noise) of B1855+09 9yv1 as jugbayes builds them (clock files and DE421 from ``shared``)."""
    import jugbayes

    folder = shared / "datasets" / DATASET[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psr = jugbayes.load(folder / DATASET[1], folder / DATASET[2], clock_dir=shared / "clock",
                            ephem_file=shared / "ephem" / "de421.bsp")
    return psr.model, psr.noise


def parameter_vectors(params, seed: int = 23) -> np.ndarray:
    from jugbayes.sample.priors import noise_scale

    rng = np.random.default_rng(seed)
    lo, hi = np.array([p.lower for p in params]), np.array([p.upper for p in params])
    par = np.clip([p.value for p in params], lo, hi)
    width = 2.0 * np.array([noise_scale(p) for p in params])
    near = [np.clip(par + width * rng.standard_normal(len(params)), lo, hi) for _ in range(9)]
    wide = [rng.uniform(lo, hi) for _ in range(10)]
    return np.array([par] + near + wide)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enterprise-python", required=True, help="a Python with enterprise-pulsar and pint-pulsar")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--out", default=str(OUT / "B1855+09_9yv1_noise_loglike.json"))
    args = ap.parse_args(argv)
    shared = Path(args.shared).resolve()

    import jax

    from jugbayes.model.noise import PRIOR_RANGES, noise_loglike, noise_parameters

    model, noise = load_b1855(shared)
    params = noise_parameters(noise)
    psr_name = model.par.pulsar
    names, flag = enterprise_names(params, psr_name)
    resid = np.asarray(model.residuals()["time_s"], dtype=np.float64)
    tdb_s = model.prep.tdb.as_float()[:-1] * 86400.0
    flags = np.array([f.get(flag, "") for f in model.toas.flags])
    vectors = parameter_vectors(params)
    ours = jax.jit(lambda v: noise_loglike(noise, resid, v))
    jug = np.array([float(ours(v)) for v in vectors])
    tspan = float(noise.names["red"]["tspan_s"])
    epochs = {}
    for j in noise.ecorr_param:
        label = params[[p.kind for p in params].index("ecorr") + j].name.split()[2]
        epochs[label] = epochs.get(label, 0) + 1

    spec = {"shared": str(shared), "par": str(shared / "datasets" / DATASET[0] / DATASET[1]),
            "tim": str(shared / "datasets" / DATASET[0] / DATASET[2]), "flag": flag,
            "components": int(noise.names["red"]["nf"]), "tspan_s": tspan,
            "priors": {k: list(v) for k, v in PRIOR_RANGES.items()},
            "vectors": [dict(zip(names, map(float, v))) for v in vectors]}
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, arrays_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "arrays.npz", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        np.savez(arrays_path, resid_s=resid, tdb_s=tdb_s, error_s=noise.toa_error_s, flag=flags)
        t0 = time.time()
        done = subprocess.run([args.enterprise_python, str(ROOT / "tools" / "enterprise_peer.py"), "likelihood",
                               str(spec_path), str(arrays_path), str(out_path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"enterprise failed:\n{done.stderr[-4000:]}")
        ent = json.loads(out_path.read_text())
        print(f"enterprise: {time.time() - t0:.1f} s")

    if sorted(ent["param_names"]) != sorted(names):
        raise SystemExit(f"names differ: {ent['param_names']} vs {names}")
    n = len(resid)
    constant = -0.5 * n * np.log(2.0 * np.pi) - 0.5 * np.log(1e40 / n)
    for key in ("ecorr_epochs",):
        ent[key] = {k.removesuffix("_log10_ecorr"): v for k, v in ent[key].items()}
        ent["own_times"][key] = {k.removesuffix("_log10_ecorr"): v for k, v in ent["own_times"][key].items()}
    ell = np.array(ent["loglike"])
    diff = ell - jug
    own = np.array(ent["own_times"]["loglike"])
    pint = np.array(ent["pint_resid_s"])
    ours_centered = resid - resid.mean()
    pint_delta = (pint - pint.mean()) - ours_centered
    ref = {
        "about": "enterprise's log-likelihood of jugbayes's B1855+09 9yv1 residuals (made by "
                 "tools/make_enterprise_references.py; its docstring says what was matched)",
        "dataset": list(DATASET), "enterprise_version": ent["enterprise_version"], "n_toas": n,
        "names": [p.name for p in params], "enterprise_names": names, "flag": flag,
        "vectors": vectors.tolist(), "enterprise_loglike": ell.tolist(),
        "jugbayes_loglike_when_made": jug.tolist(), "expected_constant": constant,
        "tspan_s": tspan, "red_components": spec["components"],
        "ecorr_epochs": {"jugbayes": epochs, "enterprise": ent["ecorr_epochs"]},
        "enterprise_seconds_per_loglike": ent["seconds_per_loglike"],
        "resid_s": [float(r) for r in resid],
        "info": {
            "pint_resid_minus_ours_s": {"max_abs_after_means": float(np.max(np.abs(pint_delta))),
                                        "rms_after_means": float(np.sqrt(np.mean(pint_delta**2)))},
            "pint_tdb_minus_ours_s_max_abs": float(np.max(np.abs(ent["pint_tdb_s_minus_ours_s"]))),
            "pint_error_minus_ours_s_max_abs": ent["pint_error_s_minus_ours_s"],
            "pint_flags_equal_ours": ent["pint_flag_equal"],
            "barycentric_minus_tdb_s_range": [float(np.min(ent["pint_bary_s_minus_tdb_s"])),
                                              float(np.max(ent["pint_bary_s_minus_tdb_s"]))],
            "enterprise_own_times": {"tspan_s": ent["own_times"]["tspan_s"],
                                     "ecorr_epochs": ent["own_times"]["ecorr_epochs"],
                                     "loglike": own.tolist(),
                                     "loglike_minus_ours_times": (own - ell).tolist()},
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(ref, indent=1) + "\n")

    print(f"constant (enterprise - jugbayes) expected {constant:.9f}")
    print(f"{'#':>3} {'jugbayes':>20} {'enterprise':>20} {'diff - expected':>16} {'own times - ours':>17}")
    for i in range(len(vectors)):
        print(f"{i:3d} {jug[i]:20.9f} {ell[i]:20.9f} {diff[i] - constant:16.3e} {own[i] - ell[i]:17.3e}")
    rel = (diff - diff[0])
    print(f"max |(ent - jug) - (ent - jug)[0]| = {np.max(np.abs(rel)):.3e}; "
          f"max |ent - jug - expected| = {np.max(np.abs(diff - constant)):.3e}")
    print(f"ECORR epochs jugbayes {epochs} enterprise {ent['ecorr_epochs']} (own times "
          f"{ent['own_times']['ecorr_epochs']}); Tspan ours {tspan:.3f} s, enterprise's own "
          f"{ent['own_times']['tspan_s']:.3f} s")
    print(f"PINT residuals - ours (means removed): max {ref['info']['pint_resid_minus_ours_s']['max_abs_after_means']:.3e} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
