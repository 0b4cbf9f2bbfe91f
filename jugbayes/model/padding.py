"""TOA counts rounded up to a few bucket sizes, so that one compiled program serves data sets of many sizes.

A padded data dict has ``n_bucket`` TOA rows (then the TZR row, still last): the real TOAs, then copies of
the first TOA (finite values everywhere, so no NaN can leak through a product with zero), and ``row_mask``
(1 on real rows, 0 on the copies).  Consumers multiply their residuals and Jacobian rows by ``row_mask`` and
give the copies white rows of unit sigma in no ECORR epoch with zero basis rows (:func:`kernel.white_rows`),
so the copies contribute exactly zero to chi2, log det and every gradient.

Which entries of the model data are per row is declared here: arrays whose leading axis runs over the TOAs
and the TZR row (all but those named in ``_NOT_ROWS``), and the few that run over the TOAs only.
"""

from __future__ import annotations

import re

import jax
import numpy as np

MIN_BUCKET = 64  # small data sets cost nothing to pad: one program for all of them
MANTISSA_BITS = 3  # sizes m * 2^e with 8 <= m < 16: at most 12.5% of the rows padding

# Arrays over something other than the rows: parameters (spin reference, WAVE amplitudes, IFUNC knots, FDJUMP
# powers, wave-X frequencies) and the wideband DM measurements (their own rows, after the TOAs').
_NOT_ROWS = re.compile(r"^(f_ref|wave_amp_s|ifunc_knot_d|ifunc_offset_s|fdjump_power|\w+_freq_per_d|wb_\w+)$")
_TOA_ONLY = {"pulse_number_offset": "copy", "first_onehot": "zero"}  # over the TOAs, no TZR row


def bucket_size(n: int) -> int:
    """The smallest bucket size >= n: MIN_BUCKET, or m * 2^e with m of MANTISSA_BITS + 1 bits."""
    if n <= MIN_BUCKET:
        return MIN_BUCKET
    e = max(int(n - 1).bit_length() - (MANTISSA_BITS + 1), 0)
    return -(-n // (1 << e)) * (1 << e)


def _insert_copies(a, n_pad: int, at: int, fill: str):
    a = np.asarray(a)
    extra = np.zeros((n_pad,) + a.shape[1:], a.dtype) if fill == "zero" else np.repeat(a[:1], n_pad, axis=0)
    return np.concatenate([a[:at], extra, a[at:]])


def pad_rows(data: dict, n_toa: int, n_bucket: int) -> dict:
    """``data`` (a model's, ``n_toa`` TOAs + the TZR row) with ``n_bucket - n_toa`` copies of the first TOA
    inserted before the TZR row, and ``row_mask`` added (see the module docstring)."""
    if n_bucket < n_toa:
        raise ValueError(f"bucket of {n_bucket} rows for {n_toa} TOAs")
    n_pad = n_bucket - n_toa
    out = {}
    for key, value in data.items():
        shape = getattr(value, "shape", ())
        if key in _TOA_ONLY:
            value = jax.device_put(_insert_copies(value, n_pad, n_toa, _TOA_ONLY[key]))
        elif len(shape) and shape[0] == n_toa + 1 and not _NOT_ROWS.match(key):
            value = jax.device_put(_insert_copies(value, n_pad, n_toa, "copy"))
        out[key] = value
    out["row_mask"] = jax.device_put(np.concatenate([np.ones(n_toa), np.zeros(n_pad)]))
    return out


def real_rows(n_toa: int, n_bucket: int, n_after: int = 0) -> np.ndarray:
    """Indices of the real rows of a padded vector: the TOAs, then ``n_after`` rows (wideband DMs) after the
    padding."""
    return np.concatenate([np.arange(n_toa), n_bucket + np.arange(n_after)])
