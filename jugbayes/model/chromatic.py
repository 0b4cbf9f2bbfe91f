"""PINT's chromatic and Fourier-series delays: CM (Taylor series), CMX ranges, CMWaveX, DMWaveX and WaveX.

A chromatic measure CM (pc cm^-3 MHz^(alpha - 2)) delays a TOA by ``DMconst CM f^-alpha`` at the
barycentric frequency f (MHz), alpha = ``TNCHROMIDX`` (default 4, scattering); CM is the Taylor series
``CM, CM1, ...`` in years from ``CMEPOCH`` plus the CMX value of the TOA's ranges plus the CMWaveX sum.
The wave-X families are sums over their own frequencies (1/day) of ``SIN sin(2 pi f t) + COS cos(2 pi f t)``,
t in days from their epoch: DMWaveX adds DM (pc cm^-3), CMWaveX adds CM, WaveX adds a delay (s) and
evaluates t at the emission time (less the delays before it), as PINT does.

In PINT these components come after the binary (their categories are outside its default order, so they
are appended): they do not enter the binary's time, and WaveX's time includes the binary delay.

Host part: :func:`wave_family` reads a family's frequencies and indices from a .par.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jugbayes.constants import DM_CONST_S_MHZ2
from jugbayes.errors import InputError

DEFAULT_CHROMATIC_INDEX = 4.0  # PINT's TNCHROMIDX default
WAVE_FAMILIES = ("WX", "DMWX", "CMWX")


def wave_sum(t_d, freqs_per_d, sins, coss):
    """sum_k SIN_k sin(2 pi f_k t) + COS_k cos(2 pi f_k t) per row (``t_d`` in days, (n,))."""
    arg = 2.0 * jnp.pi * t_d[:, None] * freqs_per_d[None, :]
    return jnp.sin(arg) @ sins + jnp.cos(arg) @ coss


def chromatic_delay_s(cm, f_bary_mhz, alpha):
    """The delay (s) of chromatic measure ``cm`` at barycentric frequency ``f_bary_mhz`` with index ``alpha``."""
    return DM_CONST_S_MHZ2 * cm * f_bary_mhz ** (-alpha)


def wave_family(par, kind: str) -> list[str]:
    """The 4-digit indices of a wave-X family (``kind`` WX, DMWX or CMWX), each with FREQ, SIN and COS."""
    indices = sorted(n[len(kind) + 5:] for n in par.params if n.startswith(f"{kind}FREQ_"))
    for i in indices:
        for part in ("SIN", "COS"):
            if par.get(f"{kind}{part}_{i}") is None:
                raise InputError(par.path, par[f"{kind}FREQ_{i}"].line,
                                 f"{kind}FREQ_{i} needs {kind}SIN_{i} and {kind}COS_{i}")
    stray = [p for n, p in par.params.items() if n.startswith((f"{kind}SIN_", f"{kind}COS_"))
             and n.split("_")[-1] not in indices]
    if stray:
        raise InputError(par.path, stray[0].line, f"{stray[0].name} has no {kind}FREQ_{stray[0].name.split('_')[-1]}")
    freqs = np.array([par[f"{kind}FREQ_{i}"].as_float() for i in indices])
    if np.any(freqs <= 0) or len(set(freqs)) != len(freqs):
        raise InputError(par.path, par[f"{kind}FREQ_{indices[0]}"].line,
                         f"{kind}FREQ_ frequencies must be positive and distinct")
    return indices
