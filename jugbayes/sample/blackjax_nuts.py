"""The BlackJAX runner of a :class:`jugbayes.sample.posterior.Posterior`: NUTS with ``blackjax.window_adaptation``.

Each chain is one compiled program (warm-up, then a scan over the draws) run from its own key, chains one after
another as the NumPyro runner does (workers spread them over processes: :mod:`jugbayes.sample.chains`).  The same
sample stats are kept as NumPyro's (divergences, leapfrog steps, energy, acceptance, step size, log density);
the warm-up reaches the progress bar in one piece when it ends, the draws as they go.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.sample.numpyro_nuts import report_every


def run_blackjax(post, keys, *, warmup: int, samples: int, dense_mass: bool, share_compiled: bool = False,
                 report=None):
    """(u draws (chains, samples, len(u)), sample stats) of one chain per key (``keys``: (chains, 2)).

    ``share_compiled``: the posterior's args reach the compiled chain as arguments, else as constants.
    ``report(n)``: called on the host as each chain finishes n more iterations."""
    try:
        import blackjax
        from blackjax.adaptation.base import get_filter_adapt_info_fn
    except ImportError as exc:
        raise JugbayesError(f"--backend blackjax needs the blackjax package (pip install blackjax): {exc}") from None

    def chain(key, a):
        def logdensity(z):
            return post.log_density(z, a)

        key_warm, key_draws = jax.random.split(key)
        z0 = jnp.asarray(post.z0)
        if warmup > 0:
            adapt = blackjax.window_adaptation(blackjax.nuts, logdensity, is_mass_matrix_diagonal=not dense_mass,
                                               adaptation_info_fn=get_filter_adapt_info_fn())
            (state, params), _ = adapt.run(key_warm, z0, num_steps=warmup)
        else:  # no adaptation: NumPyro's starting step size and unit metric
            state = blackjax.nuts.init(z0, logdensity)
            params = {"step_size": jnp.float64(1.0),
                      "inverse_mass_matrix": jnp.ones(post.dim) if not dense_mass else jnp.eye(post.dim)}
        if report is not None and warmup > 0:
            jax.debug.callback(lambda _: report(warmup), state.logdensity)
        step = blackjax.nuts(logdensity, **params).step

        def one(state, xs):
            i, k = xs
            state, info = step(k, state)
            if report is not None:
                report_every(report, i + 1, samples)
            return state, {"z": state.position, "diverging": info.is_divergent,
                           "num_steps": info.num_integration_steps, "energy": info.energy,
                           "accept_prob": info.acceptance_rate, "lp": state.logdensity}

        _, draws = jax.lax.scan(one, state, (jnp.arange(samples), jax.random.split(key_draws, samples)))
        draws["step_size"] = jnp.full(samples, params["step_size"])
        draws["u"] = jax.lax.map(lambda z: post.u_of(z, a)[0], draws.pop("z"), batch_size=64)
        return draws

    run = jax.jit(chain) if share_compiled else jax.jit(lambda key: chain(key, post.args))
    per_chain = [run(key, post.args) if share_compiled else run(key) for key in keys]
    out = {name: np.stack([np.asarray(d[name]) for d in per_chain]) for name in per_chain[0]}
    return out.pop("u"), out
