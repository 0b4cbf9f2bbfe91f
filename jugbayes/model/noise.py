"""Noise model: white-noise scaling (EFAC/EQUAD), ECORR jitter, power-law red noise and DM noise.

Conventions as TEMPO2, TempoNest, PINT and enterprise write them:

- EQUAD (T2EQUAD, us; or TNEQ = log10 of it in seconds) is added in quadrature to the TOA error,
  then EFAC (T2EFAC, TNEF) multiplies: sigma = EFAC * sqrt(sigma_toa^2 + EQUAD^2), per selector.
- ECORR (TNECORR, us) is fully correlated within one observing epoch: TOAs of its selector whose
  TDBs lie within 1 s of the first TOA of the epoch, epochs of a single TOA left out (PINT's
  grouping).  Basis: a 0/1 column per epoch, weight ECORR^2.
- Red noise: a Fourier basis sin/cos(2 pi k t / T), k = 1..TNRedC (default 30), t the TOAs' TDB
  (s since MJD 0), T their span max(t) - min(t), with weights P(f_k)/T,
  P(f) = A^2/(12 pi^2) f_yr^(gamma-3) f^(-gamma), f_yr = 1/Julian year, A = 10^TNRedAmp,
  gamma = TNRedGam; or TEMPO's RNAMP/RNIDX, A = RNAMP (2 pi sqrt 3)/(86400 * 365.24 * 1e6),
  gamma = -RNIDX.  (TNRed* win when both are given, as in PINT.)
- Wideband DM errors (``-pp_dme``, pc cm^-3): DMEQUAD (pc cm^-3) in quadrature, then DMEFAC, per
  selector, sigma_dm = DMEFAC * sqrt(sigma^2 + DMEQUAD^2) (PINT's ScaleDmError); the DM measurements'
  noise is white and independent of the TOAs' (:func:`wideband_sigma_pc_cm3`).
- DM noise (TNDMAmp/TNDMGam/TNDMC, default 30 frequencies): the same power law and frequencies,
  with each TOA's row of the basis scaled by (1400 MHz / f)^2, f its radio frequency in the SSB
  frame, so the amplitude is that of the delay at 1400 MHz (PINT's PLDMNoise, enterprise).

The bases are fixed by the TOAs; the values that set sigma and the weights are plain arrays, so the
sampler varies them with :func:`noise_loglike`, ordered as :func:`noise_parameters` lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import JULIAN_YEAR_D, SECONDS_PER_DAY
from jugbayes.errors import InputError
from jugbayes.model.selectors import toa_mask

enable_x64()

ECORR_EPOCH_S = 1.0
F_YR_HZ = 1.0 / (JULIAN_YEAR_D * SECONDS_PER_DAY)
DM_NOISE_REF_MHZ = 1400.0
DEFAULT_N_FREQ = 30
_RNAMP_FACTOR = (86400.0 * 365.24 * 1e6) / (2.0 * np.pi * np.sqrt(3.0))
# Parts of PINT's/TEMPO2's noise models not implemented: refused rather than silently ignored.
UNSUPPORTED = ("TNREDFLOG", "TNREDFLOG_FACTOR", "TNREDTSPAN", "TNDMFLOG",
               "TNDMFLOG_FACTOR", "TNDMTSPAN", "TNCHROMAMP", "TNCHROMGAM", "TNCHROMC", "TNSWAMP", "TNSWGAM",
               "TNSWC")
# Default prior ranges for sampled noise parameters (enterprise's conventions).
PRIOR_RANGES = {"efac": (0.01, 10.0), "equad": (-8.5, -5.0), "ecorr": (-8.5, -5.0),
                "red_log10_amp": (-20.0, -11.0), "red_gamma": (0.0, 7.0),
                "dm_log10_amp": (-20.0, -11.0), "dm_gamma": (0.0, 7.0)}


@dataclass(frozen=True)
class PowerLaw:
    """A power-law process on a Fourier basis: its .par values and frequencies (Hz)."""

    log10_amp: float
    gamma: float
    freqs_hz: np.ndarray
    df_hz: float


@dataclass
class NoiseModel:
    """Noise bases and values for n TOAs (no TZR row)."""

    efac_mask: np.ndarray  # (n, k_efac)
    efac: np.ndarray
    equad_mask: np.ndarray  # (n, k_equad)
    equad_s: np.ndarray
    ecorr_groups: list  # m arrays of TOA indices, one per ECORR epoch (the 0/1 columns of its basis)
    ecorr_weight_s2: np.ndarray  # (m,)
    red_basis: np.ndarray  # (n, 2 nf)
    red_weight_s2: np.ndarray  # (2 nf,)
    names: dict = field(default_factory=dict)
    dm_basis: np.ndarray | None = None  # (n, 2 nf_dm), rows scaled by (1400 MHz / f_bary)^2
    dm_weight_s2: np.ndarray | None = None
    toa_error_s: np.ndarray | None = None  # the .tim's TOA errors (s), before EFAC/EQUAD
    ecorr_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # one value per ECORR line
    ecorr_param: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # (m,) its ECORR line
    labels: dict = field(default_factory=dict)  # "efac"/"equad"/"ecorr" -> readable names
    red: PowerLaw | None = None
    dm: PowerLaw | None = None
    wb_sigma_pc_cm3: np.ndarray | None = None  # wideband DM errors after DMEFAC/DMEQUAD (None: no wideband DMs)

    def __post_init__(self):
        n = self.efac_mask.shape[0]
        if self.dm_basis is None:
            self.dm_basis, self.dm_weight_s2 = np.zeros((n, 0)), np.zeros(0)

    @property
    def correlated(self) -> bool:
        return len(self.ecorr_groups) + self.red_basis.shape[1] + self.dm_basis.shape[1] > 0

    @property
    def ecorr_basis(self) -> np.ndarray:
        """(n, m) 0/1 epoch columns, built on demand (dense: 1.2 GB at 100k TOAs and 1500 epochs)."""
        out = np.zeros((self.efac_mask.shape[0], len(self.ecorr_groups)))
        for j, rows in enumerate(self.ecorr_groups):
            out[rows, j] = 1.0
        return out

    @property
    def ecorr_disjoint(self) -> bool:
        """No TOA in two ECORR epochs (overlapping ECORR selectors would put it in two)."""
        rows = np.concatenate(self.ecorr_groups) if self.ecorr_groups else np.zeros(0, int)
        return len(np.unique(rows)) == len(rows)

    def ecorr_epoch(self) -> np.ndarray:
        """(n,) each TOA's ECORR epoch, m for none (for disjoint epochs only)."""
        epoch = np.full(self.efac_mask.shape[0], len(self.ecorr_groups), dtype=np.int64)
        for j, rows in enumerate(self.ecorr_groups):
            epoch[rows] = j
        return epoch

    def fourier_basis(self) -> np.ndarray:
        return np.hstack([self.red_basis, self.dm_basis])

    def gram(self) -> FourierGram | None:
        """:func:`fourier_gram` of the red/DM bases (built once), or None."""
        if "_gram" not in self.__dict__:
            self.__dict__["_gram"] = fourier_gram(self.red_basis, self.dm_basis)
        return self.__dict__["_gram"]

    def fourier_weights_s2(self) -> np.ndarray:
        return np.concatenate([self.red_weight_s2, self.dm_weight_s2])

    def basis(self) -> np.ndarray:
        return np.hstack([self.ecorr_basis, self.red_basis, self.dm_basis])

    def weights_s2(self) -> np.ndarray:
        return np.concatenate([self.ecorr_weight_s2, self.red_weight_s2, self.dm_weight_s2])


def _xp(*arrays):
    """numpy for host arrays (no JAX program to compile and load), jax.numpy inside traces or for JAX arrays."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def scaled_sigma_s(sigma_s, equad_mask, equad_s, efac_mask, efac):
    """TOA errors with EQUADs added in quadrature, then EFACs applied (TOAs without one: unchanged)."""
    xp = _xp(sigma_s, equad_mask, equad_s, efac_mask, efac)
    var = sigma_s**2 + equad_mask @ (equad_s**2)
    scale = xp.prod(xp.where(efac_mask > 0, efac[None, :], 1.0), axis=1)
    return scale * xp.sqrt(var)


def powerlaw_weights_s2(freqs_hz, log10_amp, gamma, df_hz):
    """Power-law PSD times frequency bin, repeated for the sin and cos columns (s^2)."""
    xp = _xp(freqs_hz, log10_amp, gamma, df_hz)
    amp = 10.0**log10_amp
    psd = amp**2 / (12.0 * np.pi**2) * F_YR_HZ ** (gamma - 3.0) * freqs_hz ** (-gamma)
    return xp.repeat(psd * df_hz, 2)


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


@dataclass(frozen=True)
class FourierGram:
    """G^T diag(w) G for G = [Fourier basis, 1] from weighted trigonometric moments: O(n J) per weighting,
    not O(n k^2).

    The basis columns are sin/cos(h theta_i) with theta_i = 2 pi df t_i and integer harmonics h (DM columns
    also times the row scale s_i), so every product of two columns is a sum of two terms sin/cos(j theta_i)
    (j = h +- l) times s_i^p: e.g. sin h sin l = (cos(h - l) - cos(h + l)) / 2.  The Gram matrix is then a
    fixed combination of the moments sum_i w_i s_i^p cos/sin(j theta_i), j <= 2 h_max, p <= 2.  For B1855+09
    (4005 TOAs, 45 red-noise frequencies) that is 0.7 M multiply-adds instead of 33 M, the dominant cost of
    the sampled-noise likelihood and its gradient."""

    trig: np.ndarray  # (n, 2 (J + 1)): cos(j theta), then sin(j theta), j = 0..J
    scale: np.ndarray | None  # (n,) DM row scale; None without DM columns
    index: np.ndarray  # (2, k + 1, k + 1) into the flattened (P, 2 (J + 1)) moments
    coef: np.ndarray  # (2, k + 1, k + 1)

    def __call__(self, w):
        """G^T diag(w) G, (k + 1, k + 1), for weights ``w`` (n,) (JAX, differentiable)."""
        weights = [w] if self.scale is None else [w, w * self.scale, w * self.scale**2]
        moments = jnp.asarray(self.trig).T @ jnp.stack(weights, axis=1)  # (2 (J + 1), P)
        flat = moments.T.reshape(-1)
        return self.coef[0] * flat[self.index[0]] + self.coef[1] * flat[self.index[1]]


def fourier_gram(red_basis: np.ndarray, dm_basis: np.ndarray, tol: float = 1e-9) -> FourierGram | None:
    """The :class:`FourierGram` of [red_basis, dm_basis, 1], or None when the bases are not harmonics of one
    fundamental (then the caller forms G^T W G directly).  The harmonics are rebuilt from the first column
    pair and checked against every stored column to ``tol``."""
    k_red, k_dm = red_basis.shape[1] // 2, dm_basis.shape[1] // 2
    if k_red + k_dm == 0:
        return None
    scale = np.hypot(dm_basis[:, 0], dm_basis[:, 1]) if k_dm else None
    first = red_basis[:, :2] if k_red else dm_basis[:, :2] / scale[:, None]
    theta = np.arctan2(first[:, 0], first[:, 1])
    cols = []
    for h in range(1, k_red + 1):
        cols += [("sin", h, 0), ("cos", h, 0)]
    for h in range(1, k_dm + 1):
        cols += [("sin", h, 1), ("cos", h, 1)]
    rebuilt = np.column_stack([(np.sin if kind == "sin" else np.cos)(h * theta) * (scale if p else 1.0)
                               for kind, h, p in cols])
    if not np.allclose(rebuilt, np.hstack([red_basis, dm_basis]), rtol=0.0, atol=tol):
        return None
    cols.append(("one", 0, 0))
    j_max = 2 * max(k_red, k_dm)
    width = 2 * (j_max + 1)
    trig = np.hstack([np.cos(np.outer(theta, np.arange(j_max + 1))), np.sin(np.outer(theta, np.arange(j_max + 1)))])
    k = len(cols)
    index, coef = np.zeros((2, k, k), dtype=np.int32), np.zeros((2, k, k))
    for a, (ka, ha, pa) in enumerate(cols):
        for b, (kb, hb, pb) in enumerate(cols):
            base = (pa + pb) * width
            cos_at = lambda j: base + abs(j)  # noqa: E731
            sin_at = lambda j: base + j_max + 1 + abs(j)  # noqa: E731
            pair = {ka, kb}
            if pair == {"one"}:
                terms = [(cos_at(0), 1.0)]
            elif "one" in pair:
                kind, h = (kb, hb) if ka == "one" else (ka, ha)
                terms = [((sin_at if kind == "sin" else cos_at)(h), 1.0)]
            elif ka == kb == "sin":
                terms = [(cos_at(ha - hb), 0.5), (cos_at(ha + hb), -0.5)]
            elif ka == kb == "cos":
                terms = [(cos_at(ha - hb), 0.5), (cos_at(ha + hb), 0.5)]
            else:  # sin(hs) cos(hc) = (sin(hs + hc) + sin(hs - hc)) / 2
                hs, hc = (ha, hb) if ka == "sin" else (hb, ha)
                terms = [(sin_at(hs + hc), 0.5), (sin_at(hs - hc), 0.5 * np.sign(hs - hc))]
            for t, (i, c) in enumerate(terms):
                index[t, a, b], coef[t, a, b] = i, c
    return FourierGram(trig, scale, index, coef)


# ---------------------------------------------------------------- building from a .par


def _refuse_unsupported(par) -> None:
    lines = [p for name in UNSUPPORTED for p in ([par.get(name)] if par.get(name) else par.masked(name))]
    lines += [p for p in par.unused if p.written_name.upper() in UNSUPPORTED]  # not in the catalog
    if lines:
        found = dict.fromkeys(p.written_name for p in lines)
        raise InputError(par.path, lines[0].line, "this .par uses parts of the noise model jugbayes does not "
                                                  f"implement yet: {', '.join(found)}")


def _pair(par, amp_name: str, gam_name: str) -> tuple[float, float] | None:
    """The (amplitude, index) pair's values; an error naming the missing one when only one is given."""
    amp, gam = par.get(amp_name), par.get(gam_name)
    if amp is None and gam is None:
        return None
    if amp is None or gam is None:
        given, missing = (amp_name, gam_name) if gam is None else (gam_name, amp_name)
        raise InputError(par.path, (amp or gam).line, f"{given} is given without {missing}")
    return amp.as_float(), gam.as_float()


def _powerlaw(par, log10_amp: float, gamma: float, count_name: str, tdb_s: np.ndarray) -> PowerLaw:
    """Frequencies k/T, k = 1..N (N from ``count_name``, default 30), T the TOAs' TDB span (as PINT)."""
    count = par.get(count_name)
    nf = int(count.as_float()) if count is not None else DEFAULT_N_FREQ
    if nf < 1:
        raise InputError(par.path, count.line, f"{count_name} must be at least 1, got {count.value}")
    span = float(tdb_s.max() - tdb_s.min()) if len(tdb_s) else 0.0
    if span <= 0:
        raise InputError(par.path, None, f"{count_name}: a Fourier noise basis needs TOAs spanning some time")
    return PowerLaw(float(log10_amp), float(gamma), np.arange(1, nf + 1) / span, 1.0 / span)


def _red_noise(par, tdb_s: np.ndarray) -> PowerLaw | None:
    pair = _pair(par, "TNREDAMP", "TNREDGAM")
    if pair is None:
        tempo = _pair(par, "RNAMP", "RNIDX")
        pair = None if tempo is None else (rnamp_to_log10_amp(tempo[0]), -tempo[1])
    return None if pair is None else _powerlaw(par, *pair, "TNREDC", tdb_s)


def _masks(lines, toas) -> np.ndarray:
    """(n, len(lines)) 0/1 columns: which TOAs each masked line selects."""
    if not lines:
        return np.zeros((len(toas), 0))
    return np.stack([toa_mask(p.selector, toas) for p in lines], axis=1).astype(float)


def noise_label(p) -> str:
    """How the noise model and the sampler name a noise line: family and selector (``EFAC -f L-wide_ASP``)."""
    return " ".join((p.spec.name, *p.selector))


def rnamp_to_log10_amp(rnamp: float) -> float:
    """TEMPO's RNAMP as the log10 amplitude A of the power law (enterprise's and TNREDAMP's)."""
    return float(np.log10(rnamp / _RNAMP_FACTOR))


class DMNoiseWarning(UserWarning):
    """DMEFAC/DMEQUAD given for TOAs without wideband DMs: they change nothing."""


def wideband_sigma_pc_cm3(par, toas, wideband) -> np.ndarray | None:
    """The wideband DM errors (``wideband``: (TOA indices, -pp_dme values), or None) with the .par's DMEQUADs
    added in quadrature, then its DMEFACs applied (the TOA errors' algebra, :func:`scaled_sigma_s`)."""
    efacs, equads = par.masked("DMEFAC"), par.masked("DMEQUAD")
    if wideband is None:
        if efacs or equads:
            warnings.warn(f"{par.path}: DMEFAC/DMEQUAD scale wideband DM errors, but no TOA has -pp_dm: ignored",
                          DMNoiseWarning, stacklevel=3)
        return None
    index, dme = (np.asarray(a) for a in wideband)
    return scaled_sigma_s(np.asarray(dme, dtype=np.float64), _masks(equads, toas)[index],
                          np.array([p.as_float() for p in equads]), _masks(efacs, toas)[index],
                          np.array([p.as_float() for p in efacs]))


def build_noise(par, toas, tdb_s: np.ndarray, freq_bary_mhz: np.ndarray | None = None, wideband=None) -> NoiseModel:
    """The .par's noise model over ``toas`` (TOA rows only); ``tdb_s`` their TDBs in seconds.

    ``freq_bary_mhz``: the TOAs' radio frequencies in the SSB frame, needed only for DM noise.
    ``wideband``: (indices of the TOAs with -pp_dm, their -pp_dme errors), or None.
    """
    n = len(toas)
    _refuse_unsupported(par)
    efacs = par.masked("EFAC")
    equads = [(p, p.as_float() * 1e-6, noise_label(p)) for p in par.masked("EQUAD")]
    equads += [(p, 10.0 ** p.as_float(), noise_label(p)) for p in par.masked("TNEQ")]
    efac_mask = _masks(efacs, toas)
    equad_mask = _masks([p for p, _, _ in equads], toas)
    names = {"efac": [p.name for p in efacs], "equad": [p.name for p, _, _ in equads]}
    labels = {"efac": [noise_label(p) for p in efacs], "equad": [lab for _, _, lab in equads]}

    groups, ecorr_param, ecorr_lines = [], [], par.masked("ECORR")
    for j, p in enumerate(ecorr_lines):
        rows = np.nonzero(toa_mask(p.selector, toas))[0]
        for group in ecorr_epochs(tdb_s[rows]):
            groups.append(np.sort(rows[group]))
            ecorr_param.append(j)
    names["ecorr"] = [ecorr_lines[j].name for j in ecorr_param]
    labels["ecorr"] = [noise_label(p) for p in ecorr_lines]
    ecorr_s = np.array([p.as_float() * 1e-6 for p in ecorr_lines])
    ecorr_param = np.array(ecorr_param, dtype=int)

    red_basis, red_weights, red = np.zeros((n, 0)), np.zeros(0), _red_noise(par, tdb_s)
    if red is not None:
        red_basis = fourier_basis(tdb_s, red.freqs_hz)
        red_weights = np.asarray(powerlaw_weights_s2(red.freqs_hz, red.log10_amp, red.gamma, red.df_hz))
        names["red"] = {"log10_amp": red.log10_amp, "gamma": red.gamma, "nf": len(red.freqs_hz),
                        "tspan_s": 1.0 / red.df_hz}

    dm_basis, dm_weights, dm = np.zeros((n, 0)), np.zeros(0), None
    pair = _pair(par, "TNDMAMP", "TNDMGAM")
    if pair is not None:
        if freq_bary_mhz is None:
            raise ValueError("DM noise needs the TOAs' barycentric radio frequencies (freq_bary_mhz)")
        dm = _powerlaw(par, *pair, "TNDMC", tdb_s)
        scale = (DM_NOISE_REF_MHZ / np.asarray(freq_bary_mhz, dtype=np.float64)) ** 2  # 0 at infinite frequency
        dm_basis = fourier_basis(tdb_s, dm.freqs_hz) * scale[:, None]
        dm_weights = np.asarray(powerlaw_weights_s2(dm.freqs_hz, dm.log10_amp, dm.gamma, dm.df_hz))
        names["dm"] = {"log10_amp": dm.log10_amp, "gamma": dm.gamma, "nf": len(dm.freqs_hz), "tspan_s": 1.0 / dm.df_hz}

    return NoiseModel(efac_mask=efac_mask, efac=np.array([p.as_float() for p in efacs]), equad_mask=equad_mask,
                      equad_s=np.array([v for _, v, _ in equads]), ecorr_groups=groups,
                      ecorr_weight_s2=ecorr_s[ecorr_param] ** 2, red_basis=red_basis, red_weight_s2=red_weights,
                      names=names, dm_basis=dm_basis, dm_weight_s2=dm_weights,
                      toa_error_s=np.asarray(toas.error_us, dtype=np.float64) * 1e-6, ecorr_s=ecorr_s,
                      ecorr_param=ecorr_param, labels=labels, red=red, dm=dm,
                      wb_sigma_pc_cm3=wideband_sigma_pc_cm3(par, toas, wideband))


def barycentric_freq_mhz(model) -> np.ndarray:
    """The TOAs' radio frequencies (MHz) in the SSB frame at the .par's astrometry (TZR row left out)."""
    from jugbayes.model import dispersion
    from jugbayes.model.timing_model import _direction

    n_hat = _direction(model.structure, model.zero_params(), model.data)
    f = dispersion.barycentric_freq_mhz(model.data["freq_mhz"], model.data["ssb_obs_vel_c"], n_hat)
    return np.asarray(f)[:-1]


def noise_for_model(model) -> NoiseModel:
    """The noise model of a built timing model's .par over its TOAs (not the TZR reference row)."""
    freq = barycentric_freq_mhz(model) if model.par.get("TNDMAMP") is not None else None
    wideband = (model.data["wb_index"], model.data["wb_dme_pc_cm3"]) if model.structure.wideband else None
    return build_noise(model.par, model.toas, model.prep.tdb.as_float()[:-1] * SECONDS_PER_DAY, freq, wideband)


def fitter_noise(noise: NoiseModel | None, error_us):
    """What the fitter whitens with: (sigma_s (n,), each TOA's ECORR epoch (n,; m for none), the m epochs'
    variances (s^2), the remaining correlated basis (n, k) and its weights (k,)).

    Disjoint ECORR epochs are whitened exactly block by block (no basis columns); the Fourier (red/DM noise)
    columns stay a basis.  Overlapping ECORR selectors put their epochs in the basis instead.
    """
    sigma = toa_sigma_and_basis(noise, error_us, sigma_only=True)[0]
    n = len(sigma)
    if noise is None or not noise.correlated:
        return sigma, np.zeros(n, dtype=np.int64), np.zeros(0), np.zeros((n, 0)), np.zeros(0)
    if noise.ecorr_disjoint:
        return sigma, noise.ecorr_epoch(), noise.ecorr_weight_s2, noise.fourier_basis(), noise.fourier_weights_s2()
    return sigma, np.zeros(n, dtype=np.int64), np.zeros(0), noise.basis(), noise.weights_s2()


def with_wideband_rows(model, noise: NoiseModel | None, sigma_s, epoch, n_epochs: int, basis):
    """:func:`fitter_noise`'s sigma, epochs and basis with a row appended per wideband DM measurement (sigma
    the DMEFAC/DMEQUAD-scaled -pp_dme, in no ECORR epoch, a zero basis row: white and independent of the TOAs),
    and the rows the phase offset moves (1 for TOAs, 0 for DMs).  Unchanged (offset on all rows) without."""
    if not model.structure.wideband:
        return sigma_s, epoch, basis, np.ones(len(sigma_s))
    wb = noise.wb_sigma_pc_cm3 if noise is not None else np.asarray(model.data["wb_dme_pc_cm3"])
    k = len(wb)
    return (np.concatenate([sigma_s, wb]), np.concatenate([epoch, np.full(k, n_epochs, dtype=epoch.dtype)]),
            np.vstack([basis, np.zeros((k, basis.shape[1]))]), np.concatenate([np.ones(len(sigma_s)), np.zeros(k)]))


def toa_sigma_and_basis(noise: NoiseModel | None, error_us, sigma_only: bool = False):
    """Per-TOA sigma (s; EFAC/EQUAD applied when there is a noise model), and the correlated-noise basis and
    weights (empty, shape (n, 0) and (0,), when there is none): what the fitter and the sampler whiten with."""
    sigma = np.asarray(error_us, dtype=np.float64) * 1e-6
    if noise is None:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    sigma = np.asarray(scaled_sigma_s(sigma, noise.equad_mask, noise.equad_s, noise.efac_mask, noise.efac))
    if sigma_only or not noise.correlated:
        return sigma, np.zeros((len(sigma), 0)), np.zeros(0)
    return sigma, noise.basis(), noise.weights_s2()


def noise_realisations_s(noise: NoiseModel, error_us, resid_s) -> dict[str, np.ndarray]:
    """The conditional mean of each correlated process given residuals ``resid_s`` (n,): {"ecorr", "red", "dm"}
    (s per TOA; only those the model has), E[T_c a_c | r] with a ~ N(0, phi) and the phase offset an
    infinite-variance column, as the fitter's likelihood has them.  ``resid_s`` less their sum are the
    whitened residuals PINT and enterprise plot (``noise_resids``)."""
    sigma = toa_sigma_and_basis(noise, error_us, sigma_only=True)[0]
    parts = {"ecorr": (noise.ecorr_basis, noise.ecorr_weight_s2), "red": (noise.red_basis, noise.red_weight_s2),
             "dm": (noise.dm_basis, noise.dm_weight_s2)}
    parts = {k: v for k, v in parts.items() if v[0].shape[1]}
    if not parts:
        return {}
    t = np.hstack([b for b, _ in parts.values()] + [np.ones((len(sigma), 1))])
    inv_phi = np.concatenate([1.0 / w for _, w in parts.values()] + [np.array([1e-40])])
    u = t / sigma[:, None]
    coef = np.linalg.solve(np.diag(inv_phi) + u.T @ u, u.T @ (np.asarray(resid_s) / sigma))
    out, j = {}, 0
    for name, (basis, _) in parts.items():
        k = basis.shape[1]
        out[name] = basis @ coef[j:j + k]
        j += k
    return out


def offset_marginal_factor(sigma_s, basis, weights_s2):
    """Whitened basis U = [T, 1]/sigma, the constant column (phase offset) with infinite variance, and the
    Cholesky factor of diag(1/phi) + U^T U: everything :func:`gls_chi2` needs (JAX, jittable)."""
    u = jnp.hstack([basis, jnp.ones((basis.shape[0], 1))]) / sigma_s[:, None]
    inv_phi = jnp.concatenate([1.0 / weights_s2, jnp.array([1e-40])])
    return u, jnp.linalg.cholesky(jnp.diag(inv_phi) + u.T @ u)


def gls_chi2(b, u, chol):
    """r^T C^-1 r for whitened residuals b = r/sigma, C = N + T phi T^T + offset, by the Woodbury identity."""
    y = jax.scipy.linalg.solve_triangular(chol, u.T @ b, lower=True)
    return jnp.sum(b * b) - jnp.sum(y * y)


# ---------------------------------------------------------------- sampled noise parameters


@dataclass(frozen=True)
class NoiseParam:
    """One sampled noise parameter: its .par value in sampling units and its default prior range.

    Units: EFAC plain; EQUAD and ECORR log10(seconds); power-law amplitudes log10; gammas plain.
    """

    name: str
    kind: str  # efac, equad, ecorr, red_log10_amp, red_gamma, dm_log10_amp, dm_gamma
    value: float
    lower: float
    upper: float
    prior: str = "uniform"


def _log10_s(value_s: float, kind: str) -> float:
    """log10 of a positive time; a zero EQUAD/ECORR is placed at the prior's lower bound (3 ns)."""
    return float(np.log10(value_s)) if value_s > 0 else PRIOR_RANGES[kind][0]


def noise_parameters(noise: NoiseModel) -> list[NoiseParam]:
    """The noise model's parameters in the order :func:`noise_loglike` takes them.

    EFACs, EQUADs (EQUAD and TNEQ lines), ECORRs in .par order, then TNREDAMP, TNREDGAM (also for a
    .par that gives RNAMP/RNIDX, converted), TNDMAMP, TNDMGAM.  A .par value may lie outside the range.
    """
    def make(name, kind, value):
        return NoiseParam(name, kind, float(value), *PRIOR_RANGES[kind])

    out = [make(lab, "efac", v) for lab, v in zip(noise.labels.get("efac", []), noise.efac)]
    out += [make(lab, "equad", _log10_s(v, "equad")) for lab, v in zip(noise.labels.get("equad", []), noise.equad_s)]
    out += [make(lab, "ecorr", _log10_s(v, "ecorr")) for lab, v in zip(noise.labels.get("ecorr", []), noise.ecorr_s)]
    for prefix, law in (("red", noise.red), ("dm", noise.dm)):
        if law is not None:
            par_prefix = "TNRED" if prefix == "red" else "TNDM"
            out += [make(f"{par_prefix}AMP", f"{prefix}_log10_amp", law.log10_amp),
                    make(f"{par_prefix}GAM", f"{prefix}_gamma", law.gamma)]
    if len({p.name for p in out}) != len(out):
        raise ValueError(f"noise parameter names are not unique: {[p.name for p in out]}")
    return out


def _unpack(noise: NoiseModel, values):
    """values (ordered as noise_parameters) -> (sigma_s (n,), ECORR variance per epoch (m,), Fourier phi)."""
    k_efac, k_equad, k_ecorr = len(noise.efac), len(noise.equad_s), len(noise.ecorr_s)
    efac = values[:k_efac]
    equad_s = 10.0 ** values[k_efac:k_efac + k_equad]
    ecorr_s = 10.0 ** values[k_efac + k_equad:k_efac + k_equad + k_ecorr]
    i = k_efac + k_equad + k_ecorr
    sigma = scaled_sigma_s(jnp.asarray(noise.toa_error_s), jnp.asarray(noise.equad_mask), equad_s,
                           jnp.asarray(noise.efac_mask), efac)
    phi = []
    for law in (noise.red, noise.dm):
        if law is not None:
            phi.append(powerlaw_weights_s2(jnp.asarray(law.freqs_hz), values[i], values[i + 1], law.df_hz))
            i += 2
    phi = jnp.concatenate(phi) if phi else jnp.zeros(0)
    return sigma, ecorr_s[jnp.asarray(noise.ecorr_param)] ** 2, phi


def noise_chi2_logdet(noise: NoiseModel, resid_s, values):
    """(r^T C^-1 r, log det C) with the phase offset marginalised; see :func:`noise_loglike`."""
    fac = noise_factor(noise, values)
    return noise_forms(fac, resid_s), fac.logdet


class WoodburyFactor(NamedTuple):
    """C = N_E + G diag(phi, inf) G^T at one set of noise values, factored once for any number of residual
    vectors (:func:`noise_forms`).  G = [Fourier basis, 1] (the 1: the phase offset, infinite variance)."""

    w: jax.Array  # (n,) 1 / scaled TOA variance (s^-2)
    epoch: jax.Array  # (n,) ECORR epoch of each TOA; m = no epoch
    c: jax.Array  # (m,) Sherman-Morrison coefficient per epoch: N_E^-1 = W - W 1_e c_e 1_e^T W
    g: jax.Array  # (n, k + 1) G
    a_g: jax.Array  # (m, k + 1) epoch sums of W G
    q: jax.Array  # (k + 1,) scaling of the Woodbury matrix to a unit diagonal
    chol: jax.Array  # (k + 1, k + 1) Cholesky factor of the scaled Woodbury matrix
    logdet: jax.Array  # restricted log det C (the offset's infinite log v dropped)


def noise_factor(noise: NoiseModel, values) -> WoodburyFactor:
    """Factor C at noise ``values`` (ordered as :func:`noise_parameters`; jittable, differentiable)."""
    if noise.toa_error_s is None:
        raise ValueError("this NoiseModel has no TOA errors; build it with build_noise")
    values = jnp.asarray(values, dtype=jnp.float64)
    sigma, ecorr_var, phi = _unpack(noise, values)
    dense, dense_phi, ecorr_var, epoch = _dense_columns(noise, ecorr_var, phi)
    gram = noise.gram() if noise.ecorr_disjoint else None  # the moments cover Fourier columns only
    return _factor(sigma, jnp.asarray(epoch), ecorr_var, jnp.asarray(dense), dense_phi, gram)


def _epoch_sums(x, epoch, m):
    """Sums of the rows of ``x`` over each ECORR epoch (the TOAs in no epoch, slot m, dropped)."""
    return jax.ops.segment_sum(x, epoch, num_segments=m + 1)[:m]


def _factor(sigma, epoch, ecorr_var, dense, phi, gram=None) -> WoodburyFactor:
    """Factor C = N_E + F phi F^T + 1 v 1^T, v -> infinity (the restricted likelihood's offset).

    N_E = diag(sigma^2) + sum_e J_e 1_e 1_e^T (disjoint epochs ``epoch``, variances ``ecorr_var``) is inverted
    by Sherman-Morrison per epoch.  G = [F, 1]; M = diag(1/phi, 0) + G^T N_E^-1 G is scaled to a unit
    diagonal before its Cholesky factorisation, so that tiny or huge phi cost no precision.  The log det
    drops the offset's log v (a constant): log det N_E + log det M + sum log phi, written without 1/phi.
    ``gram``: a :class:`FourierGram` of G, which forms G^T W G from trigonometric moments (None: directly).
    """
    m = ecorr_var.shape[0]
    w = 1.0 / sigma**2
    g = jnp.hstack([dense, jnp.ones((sigma.shape[0], 1))])
    s_e = _epoch_sums(w, epoch, m)
    c = _sherman_morrison(ecorr_var, s_e)
    a_g = _epoch_sums(w[:, None] * g, epoch, m)
    g_wg = gram(w) if gram is not None else g.T @ (w[:, None] * g)
    g_ng = g_wg - a_g.T @ (c[:, None] * a_g)
    q, chol = _scaled_cholesky(g_ng, phi)
    k = phi.shape[0]
    logdet = (jnp.sum(jnp.log(sigma**2)) + jnp.sum(jnp.log1p(ecorr_var * s_e))
              + 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol))) + jnp.sum(jnp.log1p(phi * jnp.diagonal(g_ng)[:k]))
              + jnp.log(g_ng[k, k]))
    return WoodburyFactor(w, epoch, c, g, a_g, q, chol, logdet)


def _sherman_morrison(ecorr_var, s_e):
    """c_e with (W^-1 + J_e 1 1^T)^-1 = W - c_e (W 1)(W 1)^T in each ECORR epoch e (s_e = 1^T W 1 there)."""
    return ecorr_var / (1.0 + ecorr_var * s_e)


def _scaled_cholesky(g_ng, phi):
    """(q, L): L L^T = q (diag(1/phi, 0) + G^T N^-1 G) q, scaled to a unit diagonal (q: its inverse square root),
    for G = [basis with prior variances phi, the offset's column with infinite variance (last)]."""
    k = phi.shape[0]
    diag = jnp.diagonal(g_ng)
    q = jnp.concatenate([jnp.sqrt(phi / (1.0 + phi * diag[:k])), 1.0 / jnp.sqrt(diag[k:])])
    prior = jnp.concatenate([1.0 / (1.0 + phi * diag[:k]), jnp.zeros(1)])  # q^2 / phi
    return q, jnp.linalg.cholesky(q[:, None] * g_ng * q[None, :] + jnp.diag(prior))


def noise_forms(fac: WoodburyFactor, y):
    """y^T C^-1 y for y (n,) (a scalar) or (n, p) (a p x p matrix), by the Woodbury identity with ``fac``."""
    y2 = y[:, None] if y.ndim == 1 else y
    m = fac.c.shape[0]
    wy = fac.w[:, None] * y2
    a_y = _epoch_sums(wy, fac.epoch, m)
    y_ny = y2.T @ wy - a_y.T @ (fac.c[:, None] * a_y)
    g_ny = fac.g.T @ wy - fac.a_g.T @ (fac.c[:, None] * a_y)
    z = jax.scipy.linalg.solve_triangular(fac.chol, fac.q[:, None] * g_ny, lower=True)
    out = y_ny - z.T @ z
    return out[0, 0] if y.ndim == 1 else (out + out.T) / 2


def _dense_columns(noise: NoiseModel, ecorr_var, phi):
    """(dense basis, its prior variances, ECORR variance per epoch, epoch per TOA): the ECORR epochs stay
    Sherman-Morrison blocks (inverted exactly, one rank-1 update each) when disjoint, else their columns join
    the Fourier basis.  Without ECORR every TOA sits in the empty 'no epoch' slot 0 = m."""
    fourier = noise.fourier_basis()
    if noise.ecorr_disjoint:
        return fourier, phi, ecorr_var, noise.ecorr_epoch()
    n = fourier.shape[0]
    return np.hstack([noise.ecorr_basis, fourier]), jnp.concatenate([ecorr_var, phi]), jnp.zeros(0), np.zeros(n, int)


def grouped_gram(noise: NoiseModel, y: np.ndarray, values) -> dict:
    """What :func:`grouped_forms` needs for y (n, p), prepared once at the noise ``values`` (host arrays).

    TOAs are grouped by the EFAC/EQUAD selectors that apply to them; per group, [y, dense, 1]^T W0 [y, dense, 1]
    (W0: the weights at ``values``), and per (ECORR epoch, group) pair the sums of W0 [y, dense, 1]."""
    sigma, _, _ = _unpack(noise, jnp.asarray(values, dtype=jnp.float64))
    w0 = 1.0 / np.asarray(sigma) ** 2
    masks = np.hstack([noise.efac_mask, noise.equad_mask]) > 0
    _, group = np.unique(masks, axis=0, return_inverse=True)
    group = group.ravel()
    dense, _, _, epoch = _dense_columns(noise, jnp.zeros(len(noise.ecorr_groups)), jnp.zeros(0))
    x = np.hstack([y, dense, np.ones((len(w0), 1))])
    n_group = group.max() + 1
    gram = np.stack([x[group == g].T @ (w0[group == g, None] * x[group == g]) for g in range(n_group)])
    m = len(noise.ecorr_groups) if noise.ecorr_disjoint else 0
    in_epoch = epoch < m
    pairs, pair = np.unique(np.column_stack([epoch, group])[in_epoch], axis=0, return_inverse=True)
    pair = pair.ravel()
    pair_sum = np.zeros((len(pairs), x.shape[1]))
    np.add.at(pair_sum, pair, w0[in_epoch, None] * x[in_epoch])
    return {"group": group, "w0_sum": np.bincount(group, w0, n_group), "gram": gram,
            "pair_epoch": pairs[:, 0], "pair_group": pairs[:, 1], "pair_sum": pair_sum,
            "pair_w": np.bincount(pair, w0[in_epoch], len(pairs))}


def grouped_forms(noise: NoiseModel, values, g: dict, p: int):
    """y^T C~^-1 y (p, p) for the y (n, p) of :func:`grouped_gram`, at noise ``values`` (jittable, differentiable).

    C~ is C with each selector group's white-noise weights scaled by one factor, the ratio of the group's
    summed weights at ``values`` to those at the reference; ECORR and red/DM noise are exact.  A valid
    covariance, so the result is positive definite, and it costs O(n + groups p^2 + epochs p^2), not
    O(n p^2): the NUTS sampler's noise-conditional metric (where the weight spread within a group only
    makes the metric approximate, never the posterior wrong)."""
    sigma, ecorr_var, phi = _unpack(noise, jnp.asarray(values, dtype=jnp.float64))
    n_group = g["gram"].shape[0]
    scale = jax.ops.segment_sum(1.0 / sigma**2, g["group"], num_segments=n_group) / g["w0_sum"]
    xnx = jnp.tensordot(scale, g["gram"], axes=1)
    _, dense_phi, ecorr_var, _ = _dense_columns(noise, ecorr_var, phi)
    m = ecorr_var.shape[0]
    if m:
        pair_scale = scale[g["pair_group"]]
        a = jax.ops.segment_sum(pair_scale[:, None] * g["pair_sum"], g["pair_epoch"], num_segments=m)
        s_e = jax.ops.segment_sum(pair_scale * g["pair_w"], g["pair_epoch"], num_segments=m)
        xnx = xnx - a.T @ (_sherman_morrison(ecorr_var, s_e)[:, None] * a)
    q, chol = _scaled_cholesky(xnx[p:, p:], dense_phi)
    z = jax.scipy.linalg.solve_triangular(chol, q[:, None] * xnx[p:, :p], lower=True)
    out = xnx[:p, :p] - z.T @ z
    return (out + out.T) / 2


def noise_loglike(noise: NoiseModel, resid_s, values):
    """Marginal Gaussian log-likelihood of residuals ``resid_s`` (n,) at noise ``values`` (jittable).

    -1/2 [r^T C^-1 r + log det C], C = N(values) + T phi(values) T^T, ``values`` ordered as
    :func:`noise_parameters`.  The phase offset is marginalised with an infinite-variance column, as
    :func:`gls_chi2` does; its log det is the restricted-likelihood one,
    log det C + log(1^T C^-1 1) with C without the offset, so it varies with the noise values
    correctly.  Constants (2 pi) are dropped.  Woodbury and Cholesky only: no n x n matrix.
    """
    chi2, logdet = noise_chi2_logdet(noise, jnp.asarray(resid_s, dtype=jnp.float64), values)
    return -0.5 * (chi2 + logdet)
