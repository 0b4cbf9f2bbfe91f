"""The .par's noise lines as a noise model: white-noise scaling (EFAC/EQUAD), ECORR jitter, power-law red noise and DM noise.

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

The bases are fixed by the TOAs (:mod:`.bases`); the values that set sigma and the weights are plain arrays,
so the sampler varies them (:mod:`.likelihood`), ordered as :func:`noise_parameters` lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jugbayes.constants import SECONDS_PER_DAY
from jugbayes.errors import InputError
from jugbayes.model.noise.bases import FourierGram, ecorr_epochs, fourier_basis, fourier_gram, powerlaw_weights_s2, scaled_sigma_s
from jugbayes.model.selectors import toa_mask

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
