"""jugbayes: pulsar timing on JAX, with WLS/GLS fits and NUTS posteriors over one timing model."""

__version__ = "0.1.0.dev0"
