"""Process-wide settings that keep jugbayes offline unless a command asks to download.

astropy would fetch fresh IERS Earth-orientation tables from the internet when
its bundled ones look old; jugbayes uses the tables the ``astropy-iers-data``
package ships instead.  Every module that uses astropy's time or coordinates
calls :func:`configure_astropy` first (it is cheap after the first call).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def configure_astropy() -> None:
    """Turn off astropy's automatic IERS downloads (tables come from ``astropy-iers-data``)."""
    from astropy.utils import iers

    iers.conf.auto_download = False
    # Do not complain that the shipped predictive table is "stale": it is the
    # newest the installed package has; a user updates it with pip.
    iers.conf.auto_max_age = None


@lru_cache(maxsize=1)
def enable_x64() -> None:
    """Make JAX compute in float64 (jugbayes never uses float32: timing needs ns over decades)."""
    import jax

    jax.config.update("jax_enable_x64", True)
