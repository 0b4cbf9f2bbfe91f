"""jugbayes: pulsar timing on JAX, with WLS/GLS fits and NUTS posteriors over one timing model.

The Python API (:mod:`jugbayes.api`; imported on first use, so ``import jugbayes`` stays light):

>>> import jugbayes
>>> psr = jugbayes.load("models/isolated_msp/isolated_msp.par", "models/isolated_msp/isolated_msp.tim")
>>> psr.fit(); print(psr.fit_table())
>>> idata = psr.sample(chains=2, warmup=300, samples=300); psr.summary()
"""

__version__ = "0.1.0.dev0"
__all__ = ["Pulsar", "load"]


def __getattr__(name: str):
    if name in __all__:
        from jugbayes import api

        return getattr(api, name)
    raise AttributeError(f"module 'jugbayes' has no attribute {name!r}")
