"""The NumPyro runner of a :class:`jugbayes.sample.posterior.Posterior`: NUTS over z, u kept with each draw.

Chains run one after another (NumPyro's "sequential": one compiled loop, each chain its own run); chains run in
parallel in separate processes (:mod:`jugbayes.sample.chains`), not as a vectorized loop that waits for the
slowest chain at every step, nor as XLA devices sharing the cores (which contend: ~3x slower per step).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

EXTRA_FIELDS = ("diverging", "num_steps", "energy", "accept_prob", "adapt_state.step_size", "potential_energy")


def run_numpyro(post, keys, *, warmup: int, samples: int, dense_mass: bool, share_compiled: bool = False,
                report=None):
    """(u draws (chains, samples, len(u)), sample stats) of one chain per key (``keys``: (chains, 2)).

    ``share_compiled``: the posterior's args reach the compiled sampler as arguments (``jit_model_args``), else
    as constants.  ``report(n)``: called on the host as each chain finishes n more iterations."""
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC

    def numpyro_model(a):
        z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), event_shape=(post.dim,)))
        log_density, u = post.log_density_and_u(z, a)
        numpyro.deterministic("u", u)
        numpyro.factor("log_density", log_density)

    kernel = _reporting_nuts()(numpyro_model, dense_mass=dense_mass,
                                init_strategy=numpyro.infer.init_to_value(values={"z": jnp.asarray(post.z0)}),
                                report=report, iterations=warmup + samples)
    chains = len(keys)
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=samples, num_chains=chains, chain_method="sequential",
                progress_bar=False, jit_model_args=share_compiled)
    mcmc.run(keys[0] if chains == 1 else keys, post.args, extra_fields=EXTRA_FIELDS)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {"diverging": np.asarray(extra["diverging"]), "num_steps": np.asarray(extra["num_steps"]),
             "energy": np.asarray(extra["energy"]), "accept_prob": np.asarray(extra["accept_prob"]),
             "step_size": np.asarray(extra["adapt_state.step_size"]),
             "lp": -np.asarray(extra["potential_energy"])}  # log density in the sampled coordinates (as az.from_numpyro)
    return np.asarray(mcmc.get_samples(group_by_chain=True)["u"]), stats


def _reporting_nuts():
    """NUTS that calls ``report(n)`` on the host as each chain finishes n more iterations (every ~0.5% of them).

    NumPyro's own progress bar reports from the compiled loop too, but only within one process; this one feeds a
    bar shared by chains running in several processes (:mod:`jugbayes.sample.chains`)."""
    from numpyro.infer import NUTS

    class ReportingNUTS(NUTS):
        def __init__(self, *args, report=None, iterations: int = 0, **kwargs):
            super().__init__(*args, **kwargs)
            self._report, self._iterations = report, int(iterations)

        def sample(self, state, model_args, model_kwargs):
            new = super().sample(state, model_args, model_kwargs)
            if self._report is None:
                return new
            report_every(self._report, new.i, self._iterations)
            return new

    return ReportingNUTS


def report_every(report, i, iterations: int) -> None:
    """Inside a compiled loop at iteration ``i`` (1-based) of ``iterations``: ``report(n)`` on the host every ~0.5%
    of them, n the iterations since the last call (so the calls add up to ``iterations``)."""
    stride = max(1, iterations // 200)
    done = jnp.where(i % stride == 0, stride, jnp.where(i == iterations, i % stride, 0))
    jax.lax.cond(done > 0, lambda n: jax.debug.callback(lambda m: report(int(m)), n), lambda n: None, done)
