"""Time one log-density + gradient evaluation of the NUTS posterior (issue 6), noise fixed and noise sampled.

The log-density is the one ``jugbayes.sample.nuts`` integrates: the GLS marginal likelihood through the
shared residual function, in the coordinates whitened by the fit covariance (noise fixed: Woodbury over the
ECORR/red-noise basis, factorised once; noise sampled: ``model.noise.noise_loglike``).  A third line times
the sampler's own log density with sampled noise (the ``Posterior`` ``sample_nuts`` builds, any backend:
``noise_loglike`` plus the noise-conditional timing metric), a fourth the same with the linear
parameters marginalised (``--marginalize linear``).  Best of ``--repeat`` after compilation.  The full sampling run is the CLI, timed as it is:

    /usr/bin/time -v jugbayes fit PAR TIM --method nuts --chains 4 --warmup 1000 --samples 1000 --outdir DIR

Usage: ``python benchmarks/bench_nuts.py [--dataset B1855+09_9yv1] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _best(fn, repeat: int) -> float:
    import jax

    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="B1855+09_9yv1")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    import jax
    import jax.numpy as jnp
    import numpy as np
    from conftest import shared_model

    from jugbayes.fit.wls import OFFSET, fit_wls
    from jugbayes.model.noise import noise_for_model, noise_loglike, noise_parameters
    from jugbayes.sample.posterior import _Likelihood, _whitening

    print("Command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"python {platform.python_version()}, jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs")
    _, model = shared_model(args.dataset)
    noise = noise_for_model(model)
    fit = fit_wls(model, model.free, noise=noise)
    names = tuple(n for n in fit.names if n != OFFSET)
    idx = [fit.names.index(n) for n in names]
    theta = np.asarray(fit.offsets)[idx]
    cov = np.asarray(fit.covariance)[np.ix_(idx, idx)]
    w = jnp.asarray(_whitening(cov))
    like = _Likelihood(model, noise, names, theta, np.sqrt(np.diag(cov)), ())
    center = jnp.asarray(theta)

    fixed = jax.jit(jax.value_and_grad(lambda z: like.loglike(like.params(center + w @ z, names))))
    z0 = jnp.zeros(w.shape[1])
    t_fixed = _best(lambda: fixed(z0), args.repeat)

    nparams = noise_parameters(noise)
    v0 = jnp.asarray([q.value for q in nparams])

    def sampled(zv):
        z, v = zv[: w.shape[1]], zv[w.shape[1]:]
        resid = model.residual_fn(like.params(center + w @ z, names), model.data)["time_s"]
        return noise_loglike(noise, resid, v0 + v)

    sampled_vg = jax.jit(jax.value_and_grad(sampled))
    zv0 = jnp.zeros(w.shape[1] + len(nparams))
    t_sampled = _best(lambda: sampled_vg(zv0), args.repeat)
    print(f"{args.dataset}: {len(model.toas)} TOAs, {len(names)} timing parameters ({w.shape[1]} whitened "
          f"directions), {noise.basis().shape[1]} noise-basis columns")
    print(f"  log-density + gradient, noise fixed:   {t_fixed * 1e3:.2f} ms")
    print(f"  log-density + gradient, noise sampled: {t_sampled * 1e3:.2f} ms ({len(nparams)} noise parameters)")
    potential, point = _sampler_potential(model, fit, noise)
    t_potential = _best(lambda: potential(point), args.repeat)
    print(f"  the sampler's log density + gradient, noise sampled (conditional timing metric): {t_potential * 1e3:.2f} ms")
    potential, point = _sampler_potential(model, fit, noise, marginalize="linear")
    t_potential = _best(lambda: potential(point), args.repeat)
    print(f"  ... and --marginalize linear ({point.shape[0]} sampled directions): {t_potential * 1e3:.2f} ms")


def _sampler_potential(model, fit, noise, marginalize=()):
    """(jitted value-and-gradient of the log density both backends integrate, the start z) with ``sample_noise``:
    the :class:`jugbayes.sample.posterior.Posterior` ``sample_nuts`` builds, its data as constants of the program
    (as ``sample_nuts`` compiles them by default, ``share_compiled=False``)."""
    import jax
    import jax.numpy as jnp

    from jugbayes.sample.posterior import build_posterior

    post = build_posterior(model, fit, noise, prior_sigmas=None, config=None, marginalize=marginalize,
                           sample_noise=True)
    return jax.jit(jax.value_and_grad(lambda z: post.log_density(z, post.args))), jnp.asarray(post.z0)


if __name__ == "__main__":
    main()
