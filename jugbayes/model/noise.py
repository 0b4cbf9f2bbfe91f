"""Noise model: white-noise scaling (EFAC/EQUAD), ECORR jitter and power-law red noise.

Conventions as TEMPO2 and PINT write them:

- EQUAD (T2EQUAD, us; or TNEQ = log10 of it in seconds) is added in quadrature to the TOA error,
  then EFAC (T2EFAC, TNEF) multiplies: sigma = EFAC * sqrt(sigma_toa^2 + EQUAD^2), per selector.
- ECORR (TNECORR, us) is fully correlated within one observing epoch: TOAs of its selector whose
  TDBs lie within 1 s of the first TOA of the epoch, epochs of a single TOA left out (PINT's
  grouping).  Basis: a 0/1 column per epoch, weight ECORR^2.
- Red noise: a Fourier basis sin/cos(2 pi k t / T), k = 1..TNRedC (default 30), T the TDB span of
  the TOAs, with weights P(f_k)/T, P(f) = A^2/(12 pi^2) f_yr^(gamma-3) f^(-gamma), A = 10^TNRedAmp,
  gamma = TNRedGam; or TEMPO's RNAMP/RNIDX, A = RNAMP (2 pi sqrt 3)/(86400 * 365.24 * 1e6),
  gamma = -RNIDX.  (TNRed* win when both are given, as in PINT.)

The bases are fixed by the TOAs; the values that set sigma and the weights are plain arrays so the
sampler can vary them with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import JULIAN_YEAR_D, SECONDS_PER_DAY
from jugbayes.errors import InputError
from jugbayes.model.selectors import toa_mask

enable_x64()

ECORR_EPOCH_S = 1.0
F_YR_HZ = 1.0 / (JULIAN_YEAR_D * SECONDS_PER_DAY)
_RNAMP_FACTOR = (86400.0 * 365.24 * 1e6) / (2.0 * np.pi * np.sqrt(3.0))


@dataclass
class NoiseModel:
    """Noise bases and values for n TOAs (no TZR row)."""

    efac_mask: np.ndarray  # (n, k_efac)
    efac: np.ndarray
    equad_mask: np.ndarray  # (n, k_equad)
    equad_s: np.ndarray
    ecorr_basis: np.ndarray  # (n, m) 0/1 epoch columns
    ecorr_weight_s2: np.ndarray  # (m,)
    red_basis: np.ndarray  # (n, 2 nf)
    red_weight_s2: np.ndarray  # (2 nf,)
    names: dict = field(default_factory=dict)

    @property
    def correlated(self) -> bool:
        return self.ecorr_basis.shape[1] + self.red_basis.shape[1] > 0

    def basis(self) -> np.ndarray:
        return np.hstack([self.ecorr_basis, self.red_basis])

    def weights_s2(self) -> np.ndarray:
        return np.concatenate([self.ecorr_weight_s2, self.red_weight_s2])


def scaled_sigma_s(sigma_s, equad_mask, equad_s, efac_mask, efac):
    """TOA errors with EQUADs added in quadrature, then EFACs applied (TOAs without one: unchanged)."""
    var = sigma_s**2 + equad_mask @ (equad_s**2)
    scale = jnp.prod(jnp.where(efac_mask > 0, efac[None, :], 1.0), axis=1)
    return scale * jnp.sqrt(var)


def powerlaw_weights_s2(freqs_hz, log10_amp, gamma, df_hz):
    """Power-law PSD times frequency bin, repeated for the sin and cos columns (s^2)."""
    amp = 10.0**log10_amp
    psd = amp**2 / (12.0 * jnp.pi**2) * F_YR_HZ ** (gamma - 3.0) * freqs_hz ** (-gamma)
    return jnp.repeat(psd * df_hz, 2)


def ecorr_epochs(t_s: np.ndarray) -> list[np.ndarray]:
    """Index groups of TOAs within ECORR_EPOCH_S of each epoch's first TOA; single-TOA epochs dropped."""
    order = np.argsort(t_s, kind="stable")
    groups, current, start = [], [], None
    for i in order:
        if start is not None and t_s[i] - start < ECORR_EPOCH_S:
            current.append(i)
        else:
            if len(current) >= 2:
                groups.append(np.array(current))
            current, start = [i], t_s[i]
    if len(current) >= 2:
        groups.append(np.array(current))
    return groups


def fourier_basis(t_s: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Columns sin(2 pi f t), cos(2 pi f t) alternating, for each frequency."""
    arg = 2.0 * np.pi * t_s[:, None] * freqs_hz[None, :]
    out = np.empty((len(t_s), 2 * len(freqs_hz)))
    out[:, 0::2], out[:, 1::2] = np.sin(arg), np.cos(arg)
    return out


def _value(p, scale: float = 1.0) -> float:
    return p.as_float() * scale


def build_noise(par, toas, tdb_s: np.ndarray) -> NoiseModel:
    """The .par's noise model over ``toas`` (TOA rows only); ``tdb_s`` their TDBs in seconds."""
    n = len(toas)
    unsupported = [name for name in ("TNDMAMP", "TNDMGAM", "DMEFAC", "DMEQUAD", "TNREDFLOG", "TNREDTSPAN")
                   if par.get(name)]
    if unsupported:
        first = par.get(unsupported[0])
        raise InputError(par.path, first.line, "this .par uses parts of the noise model jugbayes does not "
                                               f"implement yet: {', '.join(unsupported)}")
    efacs = par.masked("EFAC")
    equads = [(p, p.as_float() * 1e-6) for p in par.masked("EQUAD")]
    equads += [(p, 10.0 ** p.as_float()) for p in par.masked("TNEQ")]
    efac_mask = np.stack([toa_mask(p.selector, toas) for p in efacs], axis=1).astype(float) if efacs else np.zeros((n, 0))
    equad_mask = (np.stack([toa_mask(p.selector, toas) for p, _ in equads], axis=1).astype(float) if equads
                  else np.zeros((n, 0)))
    names = {"efac": [p.name for p in efacs], "equad": [p.name for p, _ in equads]}

    columns, weights, ecorr_names = [], [], []
    for p in par.masked("ECORR"):
        rows = np.nonzero(toa_mask(p.selector, toas))[0]
        for group in ecorr_epochs(tdb_s[rows]):
            col = np.zeros(n)
            col[rows[group]] = 1.0
            columns.append(col)
            weights.append((p.as_float() * 1e-6) ** 2)
            ecorr_names.append(p.name)
    names["ecorr"] = ecorr_names
    ecorr_basis = np.stack(columns, axis=1) if columns else np.zeros((n, 0))

    red_basis, red_weights = np.zeros((n, 0)), np.zeros(0)
    amp, gam = par.get("TNREDAMP"), par.get("TNREDGAM")
    if amp is not None and gam is not None:
        log10_amp, gamma = amp.as_float(), gam.as_float()
    elif par.get("RNAMP") is not None and par.get("RNIDX") is not None:
        log10_amp, gamma = np.log10(par["RNAMP"].as_float() / _RNAMP_FACTOR), -par["RNIDX"].as_float()
    else:
        log10_amp = gamma = None
    if log10_amp is not None:
        nf = int(par["TNREDC"].as_float()) if par.get("TNREDC") is not None else 30
        span = float(tdb_s.max() - tdb_s.min())
        freqs = np.arange(1, nf + 1) / span
        red_basis = fourier_basis(tdb_s, freqs)
        red_weights = np.asarray(powerlaw_weights_s2(freqs, log10_amp, gamma, 1.0 / span))
        names["red"] = {"log10_amp": float(log10_amp), "gamma": float(gamma), "nf": nf, "tspan_s": span}
    return NoiseModel(efac_mask, np.array([p.as_float() for p in efacs]), equad_mask,
                      np.array([v for _, v in equads]), ecorr_basis, np.asarray(weights), red_basis, red_weights, names)


def noise_for_model(model) -> NoiseModel:
    """The noise model of a built timing model's .par over its TOAs (not the TZR reference row)."""
    return build_noise(model.par, model.toas, model.prep.tdb.as_float()[:-1] * SECONDS_PER_DAY)


def toa_sigma_and_basis(noise: NoiseModel | None, error_us) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-TOA sigma (s; EFAC/EQUAD applied when there is a noise model), and the correlated-noise basis and
    weights (empty, shape (n, 0) and (0,), when there is none): what the fitter and the sampler whiten with."""
    sigma = np.asarray(error_us, dtype=np.float64) * 1e-6
    if noise is None:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    sigma = np.asarray(scaled_sigma_s(sigma, noise.equad_mask, noise.equad_s, noise.efac_mask, noise.efac))
    if not noise.correlated:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    return sigma, noise.basis(), noise.weights_s2()


def offset_marginal_factor(sigma_s, basis, weights_s2):
    """Whitened basis U = [T, 1]/sigma, the constant column (phase offset) with infinite variance, and the
    Cholesky factor of diag(1/phi) + U^T U: everything :func:`gls_chi2` needs (JAX, jittable)."""
    u = jnp.hstack([basis, jnp.ones((basis.shape[0], 1))]) / sigma_s[:, None]
    inv_phi = jnp.concatenate([1.0 / weights_s2, jnp.array([1e-40])])
    return u, jnp.linalg.cholesky(jnp.diag(inv_phi) + u.T @ u)


def gls_chi2(b, u, chol):
    """r^T C^-1 r for whitened residuals b = r/sigma, C = N + T phi T^T + offset, by the Woodbury identity."""
    import jax.scipy.linalg

    y = jax.scipy.linalg.solve_triangular(chol, u.T @ b, lower=True)
    return jnp.sum(b * b) - jnp.sum(y * y)
