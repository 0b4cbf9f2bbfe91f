"""The BlackJAX runner: chains keyed by the seed and their index only (same draws in worker processes), every
iteration reaches the progress bar, and an unknown backend is a clean error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

from jugbayes.errors import JugbayesError
from jugbayes.fit.wls import fit_wls
from jugbayes.io import read_par, read_tim
from jugbayes.model.noise import noise_for_model
from jugbayes.model.timing_model import build_model
from jugbayes.sample.nuts import sample_nuts


@pytest.fixture(scope="module")
def isolated():
    example = ROOT / "models" / "isolated_msp"
    model = build_model(read_par(example / "isolated_msp.par"), read_tim(example / "isolated_msp.tim"))
    noise = noise_for_model(model)
    return model, fit_wls(model, noise=noise), noise


def test_chains_in_workers_are_the_chains_in_this_process(isolated):
    """Chain c draws from fold_in(key, c) with BlackJAX too: two chains in two pinned worker processes give the
    draws and stats of the same chains run here one after another (with --marginalize linear: the JUMP's
    conditional draws as well); the reported iterations add up."""
    model, fit, noise = isolated
    kw = dict(chains=2, warmup=60, samples=40, seed=5, marginalize="linear", backend="blackjax")
    seen = []
    import jugbayes.sample.nuts as nuts

    here = nuts.sample_chains(model, fit, noise, (0, 1), report=seen.append, prior_sigmas=None, config=None,
                              dense_mass=False, sample_noise=False, **{k: kw[k] for k in kw if k != "chains"})
    assert sum(seen) == 2 * (60 + 40)
    there = sample_nuts(model, fit, noise, workers=2, **kw)
    np.testing.assert_array_equal(there.samples, here.samples)
    np.testing.assert_array_equal(there.linear_mean, here.linear_mean)
    for key, value in here.sample_stats.items():
        np.testing.assert_array_equal(there.sample_stats[key], value)
    assert here.marginalized == ("JUMP1",) and np.isfinite(here.samples).all()


def test_unknown_backend_is_a_clean_error(isolated):
    model, fit, noise = isolated
    with pytest.raises(JugbayesError, match="--backend stan: not a NUTS backend"):
        sample_nuts(model, fit, noise, backend="stan")
