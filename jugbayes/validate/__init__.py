"""Uncertainty-validation studies: simulate many data sets from a known truth, fit each, and check
that the quoted uncertainties mean what they say (coverage, pulls, SBC ranks, WLS-vs-NUTS parity).

``jugbayes validate CONFIG.toml --outdir DIR``; see :mod:`jugbayes.validate.config` for the TOML.
"""

from jugbayes.validate.config import StudyConfig, load_config
from jugbayes.validate.runner import run_study

__all__ = ["StudyConfig", "load_config", "run_study"]
