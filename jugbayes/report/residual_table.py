"""The residual table (``jugbayes residuals``): one CSV row per TOA, plus summary statistics."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from jugbayes.io.output import atomic_write_text
from jugbayes.io.textfile import refuse_overwrite

MEAN_MODES = ("wmean", "mean", "none")


def remove_mean(phase: np.ndarray, spin_freq_hz: np.ndarray, sigma_us: np.ndarray, mode: str,
                rewrap: bool = True) -> np.ndarray:
    """Time residuals (s) with the mean removed as PINT's ``Residuals`` removes it: in turns, then / F(t).

    ``wmean`` weights by 1/sigma^2 (pass the EFAC/EQUAD-scaled errors, as PINT's ``get_data_error``);
    ``mean`` is the plain mean; ``none`` removes nothing.  With a mean removed and no pulse numbers
    (``rewrap``), each TOA is first re-referred to the first TOA's nearest pulse, as PINT's "nearest"
    tracking does: for residuals well under a turn that changes nothing, for larger ones it moves the wraps.
    """
    phase = np.asarray(phase, dtype=np.float64)
    if mode != "none" and rewrap:
        phase = phase - phase[0]
        phase = phase - np.round(phase)
    if mode == "wmean":
        w = 1.0 / np.asarray(sigma_us, dtype=np.float64) ** 2
        phase = phase - np.sum(w * phase) / np.sum(w)
    elif mode == "mean":
        phase = phase - phase.mean()
    return phase / np.asarray(spin_freq_hz, dtype=np.float64)


def mean_weights_sigma_us(model) -> tuple[np.ndarray, str]:
    """TOA errors (us) with the .par's EFAC/EQUAD applied (PINT weights its mean by these), and which they are."""
    from jugbayes.errors import InputError
    from jugbayes.model.noise import noise_for_model, toa_sigma_and_basis

    try:
        noise = noise_for_model(model)
    except InputError:  # noise terms the fitter refuses: the mean is still defined, by the raw errors
        return model.toas.error_us, "TOA errors (the .par's noise model is not implemented)"
    sigma_s = toa_sigma_and_basis(noise, model.toas.error_us, sigma_only=True)[0]
    scaled = noise.efac_mask.shape[1] + noise.equad_mask.shape[1] > 0
    return sigma_s * 1e6, ("EFAC/EQUAD-scaled errors" if scaled else "TOA errors")


def summary(resid_s: np.ndarray, error_us: np.ndarray) -> dict:
    """Weighted rms (us) and chi-square of residuals against the TOA errors."""
    sigma_s = np.asarray(error_us, dtype=float) * 1e-6
    w = 1.0 / sigma_s**2
    wmean = np.sum(w * resid_s) / np.sum(w)
    wrms_us = float(np.sqrt(np.sum(w * (resid_s - wmean) ** 2) / np.sum(w)) * 1e6)
    return {"ntoas": int(len(resid_s)), "wrms_us": wrms_us, "chi2": float(np.sum((resid_s / sigma_s) ** 2))}


DM_COLUMNS = ("dm_pc_cm3", "dm_error_pc_cm3", "model_dm_pc_cm3", "dm_residual_pc_cm3")


def wideband_columns(model, dm_resid_pc_cm3, dm_sigma_pc_cm3) -> dict[str, np.ndarray]:
    """The DM_COLUMNS per TOA (NaN where a TOA has no -pp_dm): measured DM, its DMEFAC/DMEQUAD-scaled error,
    the model DM (with DMJUMP) and the residual, as PINT's WidebandDMResiduals (no mean removed)."""
    n, index = len(model.toas), np.asarray(model.data["wb_index"])
    measured = np.asarray(model.data["wb_dm_pc_cm3"])
    values = (measured, dm_sigma_pc_cm3, measured - dm_resid_pc_cm3, dm_resid_pc_cm3)
    out = {}
    for name, v in zip(DM_COLUMNS, values):
        out[name] = np.full(n, np.nan)
        out[name][index] = v
    return out


def dm_summary(dm_resid_pc_cm3: np.ndarray, sigma_pc_cm3: np.ndarray) -> dict:
    """Weighted rms and chi-square of the wideband DM residuals."""
    w = 1.0 / np.asarray(sigma_pc_cm3, dtype=float) ** 2
    wmean = np.sum(w * dm_resid_pc_cm3) / np.sum(w)
    return {"n_dm": int(len(w)), "dm_wrms_pc_cm3": float(np.sqrt(np.sum(w * (dm_resid_pc_cm3 - wmean) ** 2) / np.sum(w))),
            "dm_chi2": float(np.sum(w * dm_resid_pc_cm3**2))}


def _cell(v: float) -> str:
    return "" if np.isnan(v) else repr(float(v))


def format_residual_table(toas, resid_s: np.ndarray, phase: np.ndarray, delays: dict[str, np.ndarray],
                          dm_columns: dict[str, np.ndarray] | None = None) -> str:
    """CSV: one row per TOA; ``dm_columns`` (:func:`wideband_columns`) add DM_COLUMNS, empty where no -pp_dm."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = sorted(delays)
    dm_columns = dm_columns or {}
    writer.writerow(["index", "mjd_utc", "freq_mhz", "error_us", "residual_s", "phase_residual", *names, *dm_columns])
    for i in range(len(resid_s)):
        writer.writerow([i, toas.mjd_text[i], repr(float(toas.freq_mhz[i])), repr(float(toas.error_us[i])),
                         repr(float(resid_s[i])), repr(float(phase[i])), *(repr(float(delays[k][i])) for k in names),
                         *(_cell(v[i]) for v in dm_columns.values())])
    return out.getvalue()


def write_residual_table(text: str, path: str | os.PathLike, inputs) -> None:
    atomic_write_text(refuse_overwrite(path, inputs), text)
