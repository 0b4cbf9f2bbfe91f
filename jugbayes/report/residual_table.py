"""The residual table (``jugbayes residuals``): one CSV row per TOA, plus summary statistics."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from jugbayes.io.output import atomic_write_text
from jugbayes.io.textfile import refuse_overwrite

MEAN_MODES = ("wmean", "mean", "none")


def remove_mean(resid_s: np.ndarray, error_us: np.ndarray, mode: str) -> np.ndarray:
    """Residuals less their weighted mean (weights 1/error^2, PINT's default), plain mean, or unchanged."""
    if mode == "wmean":
        w = 1.0 / np.asarray(error_us, dtype=float) ** 2
        return resid_s - np.sum(w * resid_s) / np.sum(w)
    if mode == "mean":
        return resid_s - resid_s.mean()
    return resid_s


def summary(resid_s: np.ndarray, error_us: np.ndarray) -> dict:
    """Weighted rms (us) and chi-square of residuals against the TOA errors."""
    sigma_s = np.asarray(error_us, dtype=float) * 1e-6
    w = 1.0 / sigma_s**2
    wmean = np.sum(w * resid_s) / np.sum(w)
    wrms_us = float(np.sqrt(np.sum(w * (resid_s - wmean) ** 2) / np.sum(w)) * 1e6)
    return {"ntoas": int(len(resid_s)), "wrms_us": wrms_us, "chi2": float(np.sum((resid_s / sigma_s) ** 2))}


def format_residual_table(toas, resid_s: np.ndarray, phase: np.ndarray, delays: dict[str, np.ndarray]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = sorted(delays)
    writer.writerow(["index", "mjd_utc", "freq_mhz", "error_us", "residual_s", "phase_residual", *names])
    for i in range(len(resid_s)):
        writer.writerow([i, toas.mjd_text[i], repr(float(toas.freq_mhz[i])), repr(float(toas.error_us[i])),
                         repr(float(resid_s[i])), repr(float(phase[i])), *(repr(float(delays[k][i])) for k in names)])
    return out.getvalue()


def write_residual_table(text: str, path: str | os.PathLike, inputs) -> None:
    atomic_write_text(refuse_overwrite(path, inputs), text)
