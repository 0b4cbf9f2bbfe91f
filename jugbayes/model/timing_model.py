"""The timing model: one pure, jittable ``residuals(params, data)`` built from a .par and prepared TOAs.

``params`` is a dict of float64 *offsets* from the .par's values (``params[name] = value - par value``),
in the units listed in :attr:`TimingModel.units`; all zeros reproduces the .par.  Offsets keep F0 and
the epochs exact (see :mod:`jugbayes.model.spin`) and give a fitter well-scaled unknowns.
``data`` is a dict of arrays prepared once: one row per TOA plus, last, the phase-reference (TZR) TOA.

Delays are applied in PINT's order: astrometric (Roemer + parallax), troposphere (CORRECT_TROPOSPHERE Y),
Solar-system Shapiro, solar wind, dispersion (DM series, DMX), binary (at the time left after those), FD.
The phase is the spin phase at TDB - delays plus JUMPs; residuals are taken to the nearest pulse relative
to the TZR TOA, or to the .tim's ``-pn`` pulse numbers when every TOA has one (see :mod:`.spin`).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from math import factorial

import jax
import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import JULIAN_YEAR_D, SUN_PLANET_MASS_RATIO, T_SUN_S
from jugbayes.errors import InputError
from jugbayes.geometry.sites import resolve_site
from jugbayes.io import numbers
from jugbayes.io.par import ParFile
from jugbayes.io.tim import TOAs
from jugbayes.model import astrometry, catalog, chromatic, dispersion, spin, troposphere
from jugbayes.model.physical import check_physical, check_spin_phase
from jugbayes.model.selectors import toa_mask
from jugbayes.prepare import PreparedTOAs, prepare_toas
from jugbayes.timescales.mjd import SECONDS_PER_DAY

enable_x64()

# Parameters whose components are not implemented yet make the build fail with their names.
_UNSUPPORTED_COMPONENTS: dict[str, str] = {}
_SETTINGS_CHECKS: dict[str, str] = {}  # settings whose "Y" asks for something not implemented
# Terms that change the residuals but that the .par reader leaves unused: silently dropping them would give
# wrong residuals (TEMPO2 WAVE harmonic whitening, IFUNC interpolated offsets, PINT piecewise spin-down,
# chromatic CM/CMX, wave-X DM/spin terms, frequency-dependent jumps).
_UNSUPPORTED_TERMS = re.compile(r"^(DMWAVE|NE_SW\d|SWP)")


@dataclass(frozen=True)
class Structure:
    """Static (hashable) shape of the model: what the residual function computes."""

    n_f: int
    n_dm: int
    n_dmx: int
    n_fd: int
    n_jumps: int
    frame: str
    planets: tuple[str, ...]
    solar_wind: bool
    binary: str | None = None
    glitches: tuple[str, ...] = ()
    pieces: tuple[str, ...] = ()  # piecewise spin-down solutions PWEP_i
    n_wave: int = 0  # TEMPO2 WAVE harmonics (amplitudes held fixed, as data)
    ifunc: bool = False  # TEMPO2 IFUNC offsets, linearly interpolated (held fixed, as data)
    n_cm: int = 0  # chromatic measure Taylor terms CM, CM1, ... (model/chromatic.py)
    n_cmx: int = 0
    n_waves: tuple[int, int, int] = (0, 0, 0)  # WaveX, DMWaveX, CMWaveX frequencies
    n_swx: int = 0  # PINT's SWX solar-wind segments (SWXP held fixed)
    fdjumps: tuple[str, ...] = ()  # PINT's FDpJUMPq: per-system frequency polynomials (model/dispersion.py)
    fdjump_log: bool = False  # FDJUMPLOG Y: polynomials in log-frequency
    troposphere: bool = False  # CORRECT_TROPOSPHERE Y
    pulse_numbers: bool = False  # residuals against the .tim's -pn pulse numbers, not the nearest pulse
    wideband: bool = False  # TOAs carry wideband DM measurements (-pp_dm, -pp_dme)


@dataclass
class TimingModel:
    """A .par's timing model over a set of prepared TOAs."""

    par: ParFile
    prep: PreparedTOAs
    structure: Structure
    names: tuple[str, ...]
    units: dict[str, str]
    reference: dict[str, float]
    free: tuple[str, ...]
    data: dict = field(repr=False)
    binary_values: dict = field(default_factory=dict, repr=False)
    toas: TOAs | None = field(default=None, repr=False)  # the TOAs as given (``prep`` adds the TZR row)

    def __getstate__(self) -> dict:
        """Pickled (to NUTS chain workers) without the per-process caches other modules attach (``_`` names:
        compiled fitter programs, noise factors)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def zero_params(self) -> dict:
        return {name: jnp.float64(0.0) for name in self.names}

    @property
    def residual_fn(self):
        """``f(params, data) -> dict`` (pure; jit it or differentiate it)."""
        return partial(_residuals, self.structure)

    def residuals(self, params: dict | None = None) -> dict:
        """Residuals at ``params`` (default: the .par's values), jitted."""
        params = self.zero_params() if params is None else params
        return _jitted(self.structure)(params, self.data)


@jax.tree_util.register_static
@dataclass(frozen=True)
class _Hashable:
    value: tuple


_JIT_CACHE: dict = {}


def _jitted(structure: Structure):
    if structure not in _JIT_CACHE:
        _JIT_CACHE[structure] = jax.jit(partial(_residuals, structure))
    return _JIT_CACHE[structure]


# ---------------------------------------------------------------- the residual function


def delays_s(s: Structure, params: dict, d: dict, extra_delay_s=None) -> tuple[dict, jnp.ndarray]:
    """Each delay component (s) on every row (TOAs, then TZR), and the barycentric frequency (MHz).

    ``extra_delay_s`` (one value per row, or None) is added to the dispersion delay, before the binary: the
    fitter differentiates through it to get the columns of parameters that act only through those delays.
    """
    p = lambda name: d["ref"][name] + params[name]  # noqa: E731
    delays = {}
    n_hat = _direction(s, params, d)
    delays["roemer"] = astrometry.roemer_delay_s(d["ssb_obs_pos_ls"], n_hat, p("PX") * d["mas_to_rad"])
    if s.troposphere:
        delays["troposphere"] = troposphere.troposphere_delay_s(n_hat, d)
    shapiro = astrometry.shapiro_delay_s(d["obs_sun_pos_ls"], n_hat, T_SUN_S)
    for body in s.planets:
        shapiro = shapiro + astrometry.shapiro_delay_s(d[f"obs_{body}_pos_ls"], n_hat,
                                                       T_SUN_S / SUN_PLANET_MASS_RATIO[body])
    delays["shapiro"] = shapiro * d["shapiro_rows"]
    f_bary = dispersion.barycentric_freq_mhz(d["freq_mhz"], d["ssb_obs_vel_c"], n_hat)
    inv_f2 = dispersion.inverse_freq_sq(f_bary)
    dm_parts = model_dm_pc_cm3(s, params, d, n_hat)
    for name in ("solar_wind", "solar_wind_x"):  # SWX: each range's DM scaled by 0 at opposition to 1 at conjunction
        if name in dm_parts:
            delays[name] = dispersion.dispersion_delay_s(dm_parts[name], inv_f2)
    dm = dm_parts["dispersion"]
    delays["dispersion"] = dispersion.dispersion_delay_s(dm, inv_f2)
    if extra_delay_s is not None:
        delays["dispersion"] = delays["dispersion"] + extra_delay_s
    if s.binary is not None:
        from jugbayes.model.binary import DELAY_FUNCTIONS, NEEDS_GEOMETRY, ddk_geometry

        acc = sum(delays.values())
        values = {k: d["binary_ref"][k] + params[k] for k in d["binary_ref"]}
        epoch_shift_s = params[d["binary_epoch"].value[0]] * SECONDS_PER_DAY
        dt = d["binary_dt0_s"] - acc - epoch_shift_s
        if "orbwave_tw0_s" in d:  # ORBWAVE_EPOCH - epoch: the waves' time does not move with the epoch (PINT)
            values["ORBWAVE_TW0_S"] = d["orbwave_tw0_s"] + epoch_shift_s
        if s.binary in NEEDS_GEOMETRY:  # DDK: observatory position, direction, PX and PM (current values)
            pm_lon, pm_lat = d["pm_names"].value
            geometry = ddk_geometry(d["ssb_obs_pos_ls"], n_hat, p("PX"), p(pm_lon), p(pm_lat),
                                    d["obliquity_rad"] if s.frame == "ecliptic" else None)
            delays["binary"] = DELAY_FUNCTIONS[s.binary](dt, values, geometry)
        else:
            delays["binary"] = DELAY_FUNCTIONS[s.binary](dt, values)
    if s.n_fd:
        delays["fd"] = dispersion.fd_delay_s(f_bary, [p(f"FD{i}") for i in range(1, s.n_fd + 1)])
    _chromatic_delays(s, p, d, delays, f_bary, inv_f2, dm_parts.get("dmwavex"))
    return delays, f_bary


def _wave_x(kind: str, n: int, p, d, t_d):
    """A wave-X family's sum at ``t_d`` days (see :mod:`jugbayes.model.chromatic`)."""
    idx = d[f"{kind.lower()}_index"].value
    return chromatic.wave_sum(t_d, d[f"{kind.lower()}_freq_per_d"], jnp.stack([p(f"{kind}SIN_{i}") for i in idx]),
                              jnp.stack([p(f"{kind}COS_{i}") for i in idx]))


def _chromatic_delays(s: Structure, p, d: dict, delays: dict, f_bary, inv_f2, dmwavex_dm) -> None:
    """WaveX, DMWaveX, FDJUMP and chromatic (CM, CMX, CMWaveX) delays, after the binary as in PINT's component
    order (WaveX first: the others are appended after it)."""
    n_wx, n_dmwx, n_cmwx = s.n_waves
    if n_wx:  # at the emission time less every delay before it (binary included)
        t_d = d["wx_dt0_d"] - sum(delays.values()) / SECONDS_PER_DAY
        delays["wavex"] = _wave_x("WX", n_wx, p, d, t_d)
    if n_dmwx:
        delays["dmwavex"] = dispersion.dispersion_delay_s(dmwavex_dm, inv_f2)
    if s.fdjumps:
        coeffs = jnp.stack([p(name) for name in s.fdjumps])
        delays["fdjump"] = dispersion.fdjump_delay_s(f_bary, d["fdjump_mask"], d["fdjump_power"], coeffs,
                                                     s.fdjump_log)
    if s.n_cm or s.n_cmx or n_cmwx:
        cm = dispersion.dm_series(d["dt_cmepoch_yr"], [p(f"CM{k}" if k else "CM") for k in range(s.n_cm)])
        if s.n_cmx:
            cm = cm + d["cmx_mask"] @ jnp.stack([p(f"CMX_{i}") for i in d["cmx_names"].value])
        if n_cmwx:
            cm = cm + _wave_x("CMWX", n_cmwx, p, d, d["cmwx_dt0_d"])
        delays["chromatic"] = chromatic.chromatic_delay_s(cm, f_bary, d["chromatic_index"])


def model_dm_pc_cm3(s: Structure, params: dict, d: dict, n_hat) -> dict:
    """The DM (pc cm^-3) per row of each part the dispersion delays use, by delay name: "dispersion" (DM series
    + DMX), and where the model has them "solar_wind" (NE_SW), "solar_wind_x" (SWX) and "dmwavex".  Their sum is
    the model DM that wideband DM measurements are compared with (PINT's total_dm)."""
    p = lambda name: d["ref"][name] + params[name]  # noqa: E731
    dm = dispersion.dm_series(d["dt_dmepoch_yr"], [p(f"DM{k}" if k else "DM") for k in range(s.n_dm)])
    if s.n_dmx:
        dmx = jnp.stack([p(f"DMX_{i}") for i in d["dmx_names"].value])
        if "dmx_index" in d:
            dm = dm + jnp.concatenate([dmx, jnp.zeros(1)])[d["dmx_index"]]
        else:
            dm = dm + d["dmx_mask"] @ dmx
    parts = {"dispersion": dm}
    if s.solar_wind and "swp" in d:  # SWM 1: a power law of index SWP (held fixed)
        parts["solar_wind"] = p("NE_SW") * dispersion.solar_wind_power_law_geometry_pc(d["obs_sun_pos_ls"], n_hat,
                                                                                       d["swp"])
    elif s.solar_wind:
        parts["solar_wind"] = p("NE_SW") * dispersion.solar_wind_geometry_pc(d["obs_sun_pos_ls"], n_hat)
    if s.n_swx:
        shape = dispersion.swx_geometry_pc(d["obs_sun_pos_ls"], n_hat, d["swx_p_row"], d["swx_theta0_rad"])
        parts["solar_wind_x"] = (d["swx_mask"] @ jnp.stack([p(f"SWXDM_{i}") for i in d["swx_names"].value])) * shape
    if s.n_waves[1]:
        parts["dmwavex"] = _wave_x("DMWX", s.n_waves[1], p, d, d["dmwx_dt0_d"])
    return parts


def dm_residuals_pc_cm3(s: Structure, params: dict, d: dict) -> jnp.ndarray:
    """Wideband DM residuals (pc cm^-3), one per TOA with ``-pp_dm`` (``d["wb_index"]``): the measured DM less
    the model DM (the sum of :func:`model_dm_pc_cm3`, plus the DMJUMP offsets), as PINT's WidebandDMResiduals."""
    dm = sum(model_dm_pc_cm3(s, params, d, _direction(s, params, d)).values())
    return d["wb_dm_pc_cm3"] - (dm[d["wb_index"]] + d["wb_dmjump_pc_cm3"])


def _residuals(s: Structure, params: dict, d: dict, extra_delay_s=None) -> dict:
    """Phase and time residuals (TOA rows only) and each delay component, in seconds."""
    p = lambda name: d["ref"][name] + params[name]  # noqa: E731
    delays, _ = delays_s(s, params, d, extra_delay_s)
    total = sum(delays.values())

    f_ref = d["f_ref"]
    df = [params[f"F{k}"] for k in range(s.n_f)]
    phase = d["phase_ref_frac"] + spin.phase_offset(d["dt_pepoch_s"], -total, f_ref, df)
    f0 = f_ref[0] + df[0]
    for i in s.glitches:
        dt = d[f"glep_dt0_s_{i}"] - total - params[f"GLEP_{i}"] * SECONDS_PER_DAY
        phase = phase + glitch_phase(dt, p(f"GLPH_{i}"), p(f"GLF0_{i}"), p(f"GLF1_{i}"), p(f"GLF2_{i}"),
                                     p(f"GLF0D_{i}"), p(f"GLTD_{i}") * SECONDS_PER_DAY)
    for i in s.pieces:  # PINT's piecewise spin-down: a Taylor series in the emission time within [start, stop)
        dt = d[f"pw_dt0_s_{i}"] - total - params[f"PWEP_{i}"] * SECONDS_PER_DAY
        phase = phase + d[f"pw_rows_{i}"] * (p(f"PWPH_{i}") + dt * (p(f"PWF0_{i}") + dt * (
            p(f"PWF1_{i}") / 2.0 + dt * p(f"PWF2_{i}") / 6.0)))
    if s.n_wave:  # TEMPO2's harmonic whitening, as PINT's Wave: sum_k a_k sin(k w t) + b_k cos(k w t), times F0
        arg = d["wave_om_rad_d"] * (d["wave_dt0_d"] - total / SECONDS_PER_DAY)
        k = jnp.arange(1, s.n_wave + 1, dtype=jnp.float64)
        amp = d["wave_amp_s"]
        phase = phase + f0 * (jnp.sin(arg[:, None] * k) @ amp[:, 0] + jnp.cos(arg[:, None] * k) @ amp[:, 1])
    if s.ifunc:  # TEMPO2's IFUNC (SIFUNC 2): offsets (s) linearly interpolated in the emission time, times F0
        t_d = d["ifunc_dt0_d"] - total / SECONDS_PER_DAY
        phase = phase + f0 * jnp.interp(t_d, d["ifunc_knot_d"], d["ifunc_offset_s"])
    if s.n_jumps:
        jumps = jnp.stack([p(f"JUMP{i}") for i in range(1, s.n_jumps + 1)])
        phase = phase + (d["jump_mask"] @ jumps) * f0
    # The TZR row's phase through a dot with a one-hot row (exact): a slice phase[-1] would let XLA fuse the
    # whole phase computation into the residuals' kernel and evaluate it twice per TOA (for row i and the TZR).
    rel = phase[:-1] - phase @ d["tzr_onehot"] - p("PHOFF")
    if s.pulse_numbers:  # the -pn numbers, counted from the first TOA's nearest pulse (spin.pulse_number_offsets)
        rel = rel - d["pulse_number_offset"]
        phase_resid = rel - jnp.round(rel @ d["first_onehot"])  # rel[0], without re-evaluating it per TOA
    else:
        phase_resid = rel - jnp.round(rel)
    # Turns -> seconds with the spin frequency at each TOA (TDB - PEPOCH, no delays), as PINT does.
    dt0 = d["dt_pepoch_s"][:-1]
    f_spin = sum((f_ref[k] + df[k]) * dt0**k / factorial(k) for k in range(s.n_f))
    out = {"phase": phase_resid, "time_s": phase_resid / f_spin, "spin_freq_hz": f_spin, "total_delay_s": total[:-1]}
    out.update({f"delay_{k}_s": v[:-1] for k, v in delays.items()})
    if s.wideband:
        out["dm_resid_pc_cm3"] = dm_residuals_pc_cm3(s, params, d)
    return out


def glitch_phase(dt_s, glph, glf0, glf1, glf2, glf0d, gltd_s):
    """Extra phase (turns) after a glitch at dt_s = 0: a phase step, frequency steps, and a decaying step."""
    after = dt_s > 0.0
    dt = jnp.where(after, dt_s, 0.0)
    safe_tau = jnp.where(gltd_s > 0.0, gltd_s, 1.0)
    decay = jnp.where(gltd_s > 0.0, glf0d * safe_tau * (1.0 - jnp.exp(-dt / safe_tau)), 0.0)
    return jnp.where(after, glph + dt * (glf0 + dt * glf1 / 2.0 + dt * dt * glf2 / 6.0) + decay, 0.0)


def _direction(s: Structure, params: dict, d: dict):
    ref = d["ref"]
    lon = d["lon_ref_rad"] + params[d["lon_name"].value[0]]
    lat = d["lat_ref_rad"] + params[d["lat_name"].value[0]]
    pm_lon = (ref[d["pm_names"].value[0]] + params[d["pm_names"].value[0]]) * d["mas_to_rad"]
    pm_lat = (ref[d["pm_names"].value[1]] + params[d["pm_names"].value[1]]) * d["mas_to_rad"]
    n = astrometry.pulsar_direction(lon, lat, pm_lon, pm_lat, d["dt_posepoch_yr"])
    return astrometry.ecliptic_to_icrs(n, d["obliquity_rad"]) if s.frame == "ecliptic" else n


# ---------------------------------------------------------------- building


def _tzr_toa(par: ParFile, toas: TOAs) -> TOAs:
    """``toas`` with the phase-reference TOA (TZRMJD/TZRSITE/TZRFRQ; default the first TOA) appended."""
    tzr = par.get("TZRMJD")
    if tzr is None:
        i = 0
        row = dict(mjd_text=toas.mjd_text[i], day=int(toas.mjd_int[i]), frac=float(toas.mjd_frac[i]),
                   freq=float(toas.freq_mhz[i]), obs=toas.obs[i])
    else:
        day, digits = numbers.mjd_parts(tzr.value)
        site_p = par.get("TZRSITE")
        try:
            obs = resolve_site(site_p.value) if site_p is not None else "barycenter"
        except KeyError:
            raise InputError(par.path, site_p.line, f"TZRSITE {site_p.value!r} is not a known observatory") from None
        freq_p = par.get("TZRFRQ")
        freq = freq_p.as_float() if freq_p is not None else float("inf")
        row = dict(mjd_text=tzr.value, day=day, frac=float("0." + (digits or "0")),
                   freq=float("inf") if freq == 0 else freq, obs=obs)
    return dataclasses.replace(
        toas,
        names=[*toas.names, "TZR"], mjd_text=[*toas.mjd_text, row["mjd_text"]],
        mjd_int=np.append(toas.mjd_int, row["day"]), mjd_frac=np.append(toas.mjd_frac, row["frac"]),
        freq_mhz=np.append(toas.freq_mhz, row["freq"]), error_us=np.append(toas.error_us, 1.0),
        obs=[*toas.obs, row["obs"]], flags=[*toas.flags, {}], file_index=np.append(toas.file_index, 0),
        line=np.append(toas.line, 0),
    )


def _value(par: ParFile, name: str, default: float = 0.0) -> float:
    p = par.get(name)
    return default if p is None else p.as_float()


def _decimal(par: ParFile, name: str) -> Decimal | None:
    p = par.get(name)
    return None if p is None else p.as_decimal()


def _check_supported(par: ParFile) -> None:
    problems = []
    for comp, what in _UNSUPPORTED_COMPONENTS.items():
        names = [n for n, p in par.params.items() if p.spec.component == comp]
        if names:
            problems.append(f"{what}: {', '.join(names)}")
    for name, what in _SETTINGS_CHECKS.items():
        p = par.get(name)
        if p is not None and p.as_bool():
            problems.append(what)
    units = par.get("UNITS")
    if units is not None and units.value.strip().upper() != "TDB":
        problems.append(f"UNITS {units.value} (parameters in TDB units only: convert the .par first, e.g. with "
                        "PINT's tcb2tdb or TEMPO2's transform plug-in)")
    swm = par.get("SWM")
    if swm is not None and swm.as_float() not in (0.0, 1.0):
        problems.append(f"solar-wind model SWM {swm.value} (SWM 0 and 1 only)")
    swp = par.get("SWP")
    if swp is not None and swp.fit:
        problems.append("a free SWP (the SWM 1 power-law index is held fixed)")
    ignored = [p.written_name for p in par.unused if _UNSUPPORTED_TERMS.match(p.written_name.upper())]
    if ignored:
        shown = ", ".join(ignored[:8]) + (f", ... ({len(ignored)} in all)" if len(ignored) > 8 else "")
        problems.append(f"timing-model terms the reader does not know: {shown}")
    binary = par.get("BINARY")
    if binary is not None:
        from jugbayes.model.binary import SUPPORTED

        if binary.value.upper() not in SUPPORTED:
            problems.append(f"binary model {binary.value}")
    if problems:
        raise InputError(par.path, None, "this .par uses parts of the timing model jugbayes does not implement yet: "
                                         + "; ".join(problems))


def _piecewise_solutions(par: ParFile, prep: PreparedTOAs, d: dict, ref: dict, units: dict, add) -> tuple[str, ...]:
    """PINT's piecewise spin-down: for each PWEP_i, the rows whose TDB lies in [PWSTART_i, PWSTOP_i) and their
    seconds since PWEP_i; PWPH_i/PWF0_i/PWF1_i/PWF2_i (default 0) become parameters, PWEP_i an offset in days."""
    pieces = sorted({n.split("_", 1)[1] for n in par.params if n.startswith("PW") and "_" in n}, key=int)
    tdb_mjd = prep.tdb.as_float()
    for i in pieces:
        need = [par.get(f"{stem}_{i}") for stem in ("PWEP", "PWSTART", "PWSTOP")]
        if any(p is None for p in need):
            line = next(p.line for n, p in par.params.items() if n.startswith("PW") and n.endswith(f"_{i}"))
            raise InputError(par.path, line, f"piecewise solution {i} needs PWEP_{i}, PWSTART_{i} and PWSTOP_{i}")
        epoch, start, stop = need
        d[f"pw_dt0_s_{i}"] = spin.seconds_since_epoch(prep.tdb, epoch.as_decimal())
        d[f"pw_rows_{i}"] = ((tdb_mjd >= start.as_float()) & (tdb_mjd < stop.as_float())).astype(np.float64)
        ref[f"PWEP_{i}"], units[f"PWEP_{i}"] = 0.0, "d"
        for stem, unit in (("PWPH", "turns"), ("PWF0", "Hz"), ("PWF1", "Hz/s"), ("PWF2", "Hz/s^2")):
            add(f"{stem}_{i}", _value(par, f"{stem}_{i}"), unit)
    return tuple(pieces)


def _wave_terms(par: ParFile, prep: PreparedTOAs, d: dict, pepoch: Decimal) -> int:
    """TEMPO2's WAVE1..WAVEn (sine, cosine amplitudes in s) at WAVE_OM (rad/day) from WAVEEPOCH (default
    PEPOCH): days since the epoch per row and the (n, 2) amplitudes; the number of harmonics."""
    waves = sorted((p for n, p in par.params.items() if p.spec.component == catalog.WAVE and p.spec.index),
                   key=lambda p: p.spec.index)
    if not waves:
        return 0
    if [p.spec.index for p in waves] != list(range(1, len(waves) + 1)):
        missing = min(set(range(1, len(waves) + 1)) - {p.spec.index for p in waves})
        raise InputError(par.path, waves[-1].line, f"WAVE{missing} is missing: WAVE terms must run 1, 2, ... n")
    if par.get("WAVE_OM") is None:
        raise InputError(par.path, waves[0].line, "WAVE terms need WAVE_OM, their fundamental frequency (rad/day)")
    epoch = _decimal(par, "WAVEEPOCH") or pepoch
    d["wave_dt0_d"] = spin.seconds_since_epoch(prep.tdb, epoch) / SECONDS_PER_DAY
    d["wave_om_rad_d"] = jax.device_put(np.float64(par["WAVE_OM"].as_float()))
    d["wave_amp_s"] = np.array([p.as_pair() for p in waves], dtype=np.float64)
    return len(waves)


def _ifunc_terms(par: ParFile, prep: PreparedTOAs, d: dict) -> bool:
    """TEMPO2's IFUNCk (MJD, offset in s) with SIFUNC 2 (linear interpolation, constant beyond the ends, as
    PINT): the knots and each row's time in days since the first knot.  Whether there are any."""
    knots = sorted((p for p in par.params.values() if p.spec.component == catalog.IFUNC and p.spec.index),
                   key=lambda p: p.spec.index)
    if not knots:
        return False
    kind = par.get("SIFUNC")
    if kind is None or kind.value != "2":
        raise InputError(par.path, kind.line if kind is not None else knots[0].line,
                         "IFUNC terms: only SIFUNC 2 (linear interpolation) is implemented"
                         + ("" if kind is not None else "; this .par gives no SIFUNC"))
    first = Decimal(knots[0].value.split()[0])
    x = np.array([float(Decimal(p.value.split()[0]) - first) for p in knots])
    if np.any(np.diff(x) <= 0):
        raise InputError(par.path, knots[0].line, "IFUNC knots must be in increasing MJD order")
    d["ifunc_knot_d"], d["ifunc_offset_s"] = x, np.array([p.as_pair()[1] for p in knots])
    d["ifunc_dt0_d"] = spin.seconds_since_epoch(prep.tdb, first) / SECONDS_PER_DAY
    return True


def _ranged_values(par: ParFile, stem: str, add, unit: str, value: str | None = None):
    """DMX-style values (``DMX_i`` with ``DMXR1_i``/``DMXR2_i``; CMX likewise; SWX's values are ``SWXDM_i``) as
    parameters: their indices and MJD ranges."""
    value = value or stem
    indices = sorted(n[len(value) + 1:] for n in par.params if n.startswith(f"{value}_"))
    ranges = []
    for i in indices:
        r1, r2 = par.get(f"{stem}R1_{i}"), par.get(f"{stem}R2_{i}")
        if r1 is None or r2 is None:
            raise InputError(par.path, par[f"{value}_{i}"].line, f"{value}_{i} has no {stem}R1_{i}/{stem}R2_{i} range")
        ranges.append((r1.as_float(), r2.as_float()))
        add(f"{value}_{i}", _value(par, f"{value}_{i}"), unit)
    return indices, ranges


def _fdjumps(par: ParFile, all_toas, d: dict, add) -> tuple[tuple[str, ...], bool]:
    """PINT's FDpJUMPq lines: each a delay FDpJUMPq y^p on the TOAs its selector picks, y the barycentric
    frequency in GHz, or its log with FDJUMPLOG Y.  A .par without FDJUMPLOG gets TEMPO2's frequency (said).
    Returns (their names, whether y is the log)."""
    lines = [p for p in par.params.values() if p.spec.mask and p.spec.component == catalog.FD]
    if not lines:
        return (), False
    log = par.get("FDJUMPLOG")
    if log is None:
        warnings.warn(f"{par.path}: no FDJUMPLOG: FDJUMPs are polynomials in frequency (GHz), as TEMPO2; PINT's "
                      "default is log-frequency (FDJUMPLOG Y)", dispersion.FDJumpWarning, stacklevel=3)
    d["fdjump_mask"] = np.stack([toa_mask(p.selector, all_toas) for p in lines], axis=1).astype(np.float64)
    d["fdjump_power"] = np.array([p.spec.index for p in lines], dtype=np.float64)
    for p in lines:
        add(p.name, p.as_float(), "s")
    return tuple(p.name for p in lines), log is not None and log.as_bool()


def _swx_segments(par: ParFile, astro, all_toas, d: dict, add) -> int:
    """PINT's SWX segments (SWXDM_i over [SWXR1_i, SWXR2_i], power-law index SWXP_i, default 2, held fixed),
    scaled by the elongation at the first conjunction after POSEPOCH (PEPOCH, DMEPOCH; as PINT)."""
    swx, ranges = _ranged_values(par, "SWX", add, "pc/cm3", value="SWXDM")
    if not swx:
        return 0
    mask = dispersion.dmx_masks(all_toas.mjd, ranges)
    if np.any(mask.sum(axis=1) > 1):
        raise InputError(par.path, par[f"SWXDM_{swx[0]}"].line, "SWX ranges overlap")
    powers = np.array([_value(par, f"SWXP_{i}", 2.0) for i in swx])
    if np.any(powers <= 1.0):
        raise InputError(par.path, par[f"SWXDM_{swx[0]}"].line, "SWXP_ indices must be > 1")
    d["swx_names"], d["swx_mask"] = _Hashable(tuple(swx)), mask
    d["swx_p_row"] = np.where(mask.any(axis=1), mask @ powers, 2.0)  # rows outside every range: shape unused
    t0 = next((par[n].as_float() for n in ("POSEPOCH", "PEPOCH", "DMEPOCH") if par.get(n) is not None), 50000.0)
    theta0 = dispersion.conjunction_elongation_rad(np.asarray(astro.direction(astro.posepoch_mjd)), t0)
    d["swx_theta0_rad"] = jax.device_put(np.float64(theta0))
    return len(swx)


def _chromatic_terms(par: ParFile, prep: PreparedTOAs, all_toas, d: dict, add, pepoch: Decimal):
    """The CM series, CMX ranges and wave-X families of :mod:`jugbayes.model.chromatic` as parameters and data;
    returns (CM terms, CMX ranges, (WaveX, DMWaveX, CMWaveX) frequencies)."""
    n_waves = []
    for kind in chromatic.WAVE_FAMILIES:
        idx = chromatic.wave_family(par, kind)
        n_waves.append(len(idx))
        if not idx:
            continue
        epoch = _decimal(par, f"{kind}EPOCH") or pepoch
        key = kind.lower()
        d[f"{key}_dt0_d"] = spin.seconds_since_epoch(prep.tdb, epoch) / SECONDS_PER_DAY
        d[f"{key}_freq_per_d"] = np.array([par[f"{kind}FREQ_{i}"].as_float() for i in idx])
        d[f"{key}_index"] = _Hashable(tuple(idx))
        unit = par[f"{kind}SIN_{idx[0]}"].spec.unit
        for i in idx:
            add(f"{kind}SIN_{i}", _value(par, f"{kind}SIN_{i}"), unit)
            add(f"{kind}COS_{i}", _value(par, f"{kind}COS_{i}"), unit)
    cm_orders = [int(n[2:]) for n in par.params if n.startswith("CM") and n[2:].isdigit()]
    n_cm = 1 + max(cm_orders, default=0) if par.get("CM") is not None or cm_orders else 0
    for k in range(n_cm):
        add(f"CM{k}" if k else "CM", _value(par, f"CM{k}" if k else "CM"), f"pc/cm3 MHz^(alpha-2)/yr^{k}")
    cmx, ranges = _ranged_values(par, "CMX", add, "pc/cm3 MHz^(alpha-2)")
    if n_cm or cmx or n_waves[2]:
        cmepoch = _decimal(par, "CMEPOCH") or pepoch
        d["dt_cmepoch_yr"] = spin.seconds_since_epoch(prep.tdb, cmepoch) / (JULIAN_YEAR_D * SECONDS_PER_DAY)
        d["cmx_names"] = _Hashable(tuple(cmx))
        d["cmx_mask"] = dispersion.dmx_masks(all_toas.mjd, ranges)
        d["chromatic_index"] = jax.device_put(np.float64(_value(par, "TNCHROMIDX", chromatic.DEFAULT_CHROMATIC_INDEX)))
    return n_cm, len(cmx), tuple(n_waves)


def _one_hot(n: int, index: int) -> np.ndarray:
    out = np.zeros(n)
    out[index] = 1.0
    return out


def build_model(par: ParFile, toas: TOAs, *, prep: PreparedTOAs | None = None, **prepare_kw) -> TimingModel:
    """The timing model of ``par`` over ``toas`` (prepared here unless ``prep`` covers toas + TZR)."""
    _check_supported(par)
    check_physical(par)
    all_toas = _tzr_toa(par, toas)
    if prep is None:
        prep = prepare_toas(par, all_toas, **prepare_kw)
    d: dict = {}
    ref: dict[str, float] = {}
    units: dict[str, str] = {}

    def add(name: str, value: float, unit: str) -> None:
        ref[name] = value
        units[name] = unit

    # spin
    n_f = 1 + max((p.spec.index for n, p in par.params.items() if n.startswith("F") and p.spec.index is not None
                   and n[1:].isdigit()), default=0)
    f_ref = [_decimal(par, f"F{k}") or Decimal(0) for k in range(n_f)]
    if par.get("F0") is None:
        raise InputError(par.path, None, "no F0: the spin frequency is required")
    pepoch = _decimal(par, "PEPOCH")
    if pepoch is None:
        raise InputError(par.path, None, "no PEPOCH: the spin frequency's epoch is required")
    for k in range(n_f):
        add(f"F{k}", 0.0, f"Hz/s^{k}")  # F offsets are applied in spin.phase_offset, not as ref + delta
    d["f_ref"] = np.array([float(f) for f in f_ref])
    d["dt_pepoch_s"] = spin.seconds_since_epoch(prep.tdb, pepoch)
    check_spin_phase(par, f_ref, d["dt_pepoch_s"])
    d["tzr_onehot"] = _one_hot(len(all_toas), -1)  # selects the TZR row (the last)
    whole_turns, d["phase_ref_frac"] = spin.reference_phase(prep.tdb, pepoch, f_ref)
    d["phase_ref_frac"] = d["phase_ref_frac"] + spin.phase_adjustments(all_toas)  # PHASE commands, -padd
    pulse_numbers = spin.pulse_numbers(par, toas)
    if pulse_numbers is not None:
        d["pulse_number_offset"] = spin.pulse_number_offsets(pulse_numbers, whole_turns)
        d["first_onehot"] = _one_hot(len(toas), 0)
    add("PHOFF", _value(par, "PHOFF"), "turns")

    # astrometry
    astro = astrometry.astrometry_from_par(par)
    lon_name, lat_name, pm_names = (("RAJ", "DECJ", ("PMRA", "PMDEC")) if astro.frame == "icrs"
                                    else ("ELONG", "ELAT", ("PMELONG", "PMELAT")))
    add(lon_name, 0.0, "rad")
    add(lat_name, 0.0, "rad")
    d["lon_ref_rad"], d["lat_ref_rad"] = astro.lon_rad, astro.lat_rad
    d["lon_name"], d["lat_name"], d["pm_names"] = _Hashable((lon_name,)), _Hashable((lat_name,)), _Hashable(pm_names)
    add(pm_names[0], _value(par, pm_names[0]), "mas/yr")
    add(pm_names[1], _value(par, pm_names[1]), "mas/yr")
    add("PX", _value(par, "PX"), "mas")
    d["mas_to_rad"] = astrometry.MAS_TO_RAD
    d["obliquity_rad"] = astro.obliquity_rad
    d["dt_posepoch_yr"] = (prep.tdb.as_float() - astro.posepoch_mjd) / JULIAN_YEAR_D
    d["ssb_obs_pos_ls"], d["ssb_obs_vel_c"] = prep.ssb_obs_pos_ls, prep.ssb_obs_vel_c
    d["obs_sun_pos_ls"] = prep.obs_sun_pos_ls
    d["shapiro_rows"] = (np.asarray(all_toas.obs) != "barycenter").astype(np.float64)  # none at the SSB, as PINT
    for body, pos in prep.obs_planet_pos_ls.items():
        d[f"obs_{body}_pos_ls"] = pos

    # dispersion
    d["freq_mhz"] = all_toas.freq_mhz
    n_dm = 1 + max((int(n[2:]) for n in par.params if n.startswith("DM") and n[2:].isdigit()), default=0)
    add("DM", _value(par, "DM"), "pc/cm3")
    for k in range(1, n_dm):
        add(f"DM{k}", _value(par, f"DM{k}"), f"pc/cm3/yr^{k}")
    dmepoch = _decimal(par, "DMEPOCH") or pepoch
    d["dt_dmepoch_yr"] = spin.seconds_since_epoch(prep.tdb, dmepoch) / (JULIAN_YEAR_D * SECONDS_PER_DAY)
    dmx, ranges = _ranged_values(par, "DMX", add, "pc/cm3")
    d["dmx_names"] = _Hashable(tuple(dmx))
    mask = dispersion.dmx_masks(all_toas.mjd, ranges)
    if ranges and np.all(mask.sum(axis=1) <= 1):  # the usual case: each TOA in at most one range, a gather (k = none)
        d["dmx_index"] = np.where(mask.any(axis=1), mask.argmax(axis=1), len(ranges)).astype(np.int32)
    elif ranges:  # overlapping ranges (PINT warns): every range containing a TOA adds
        d["dmx_mask"] = mask
    solar_wind = _value(par, "NE_SW") != 0.0 or (par.get("NE_SW") is not None and par["NE_SW"].fit)
    add("NE_SW", _value(par, "NE_SW"), "cm^-3")
    if _value(par, "SWM") == 1.0:
        swp = _value(par, "SWP", 2.0)  # PINT's default index
        if not swp > 1.0:
            raise InputError(par.path, par["SWP"].line, f"SWP {swp} must be > 1 (SWM 1's path integral diverges)")
        d["swp"] = jax.device_put(np.float64(swp))
    n_swx = _swx_segments(par, astro, all_toas, d, add)
    fdjumps, fdjump_log = _fdjumps(par, all_toas, d, add)
    wideband = dispersion.wideband_data(toas, d)  # -pp_dm/-pp_dme: the wb_* arrays
    if wideband:
        d["wb_dmjump_pc_cm3"] = dispersion.dm_jump_offsets(par, toas)[d["wb_index"]]
    dispersion.check_dm_jumps(par)  # DMJUMP: wideband DM only, no TOA delay (as PINT)
    n_fd = max((int(n[2:]) for n in par.params if n.startswith("FD") and n[2:].isdigit()), default=0)
    for i in range(1, n_fd + 1):
        add(f"FD{i}", _value(par, f"FD{i}"), "s")

    # glitches (phase terms after each GLEP_i, at the emission time)
    glitches = sorted({n.split("_", 1)[1] for n in par.params if n.startswith("GL") and "_" in n},
                      key=lambda i: int(i) if i.isdigit() else i)
    for i in glitches:
        epoch = _decimal(par, f"GLEP_{i}")
        if epoch is None:
            line = next(p.line for n, p in par.params.items() if n.endswith(f"_{i}") and n.startswith("GL"))
            raise InputError(par.path, line, f"glitch {i} has parameters but no GLEP_{i} epoch")
        d[f"glep_dt0_s_{i}"] = spin.seconds_since_epoch(prep.tdb, epoch)
        ref[f"GLEP_{i}"], units[f"GLEP_{i}"] = 0.0, "d"
        for stem, unit in (("GLPH", "turns"), ("GLF0", "Hz"), ("GLF1", "Hz/s"), ("GLF2", "Hz/s^2"), ("GLF0D", "Hz"),
                           ("GLTD", "d")):
            add(f"{stem}_{i}", _value(par, f"{stem}_{i}"), unit)

    pieces = _piecewise_solutions(par, prep, d, ref, units, add)
    n_wave = _wave_terms(par, prep, d, pepoch)
    ifunc = _ifunc_terms(par, prep, d)
    n_cm, n_cmx, n_waves = _chromatic_terms(par, prep, all_toas, d, add, pepoch)

    # jumps (phase offsets of JUMP * F0 on the TOAs they select; never on the TZR TOA's flags)
    jumps = par.masked("JUMP")
    masks = np.zeros((len(all_toas), len(jumps)))
    for j, jp in enumerate(jumps):
        masks[:, j] = toa_mask(jp.selector, all_toas)
        add(f"JUMP{j + 1}", jp.as_float(), "s")
    d["jump_mask"] = masks

    # binary
    binary_kind = None
    binary_values: dict = {}
    if par.get("BINARY") is not None:
        from jugbayes.model.binary import binary_for_par

        bm = binary_for_par(par)
        binary_kind, binary_values, epoch_name = bm.name, bm.values, bm.epoch
        for k, v in binary_values.items():
            name, factor = bm.par_factors.get(k, (k, 1.0))
            add(k, float(v), f"{factor:g} x .par {name}" if factor != 1.0 else f".par {name}")
        ref[epoch_name] = 0.0  # epoch offsets (days) enter through binary_dt0_s
        units[epoch_name] = "d"
        d["binary_ref"] = {k: float(v) for k, v in binary_values.items()}
        d["binary_epoch"] = _Hashable((epoch_name,))
        d["binary_dt0_s"] = spin.seconds_since_epoch(prep.tdb, par[epoch_name].as_decimal())
        if "ORBWAVE_OM" in binary_values:
            tw0_d = par[epoch_name].as_decimal() - par["ORBWAVE_EPOCH"].as_decimal()
            d["orbwave_tw0_s"] = jax.device_put(np.float64(float(tw0_d) * SECONDS_PER_DAY))

    use_troposphere = par.get("CORRECT_TROPOSPHERE") is not None and par["CORRECT_TROPOSPHERE"].as_bool()
    if use_troposphere:
        d.update(troposphere.troposphere_data(all_toas.obs, prep.tt, prep.tdb))

    # device_put, not jnp.asarray: no small conversion program per array shape to compile or load.
    d["ref"] = {k: jax.device_put(np.float64(v)) for k, v in ref.items()}
    d = {k: (jax.device_put(v) if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    structure = Structure(n_f=n_f, n_dm=n_dm, n_dmx=len(dmx), n_fd=n_fd, n_jumps=len(jumps), frame=astro.frame,
                          planets=tuple(sorted(prep.obs_planet_pos_ls)), solar_wind=bool(solar_wind),
                          binary=binary_kind, glitches=tuple(glitches), pieces=pieces, n_wave=n_wave, ifunc=ifunc,
                          n_cm=n_cm, n_cmx=n_cmx, n_waves=n_waves, n_swx=n_swx, fdjumps=fdjumps,
                          fdjump_log=fdjump_log,
                          troposphere=use_troposphere,
                          pulse_numbers=pulse_numbers is not None, wideband=wideband)
    names = tuple(ref)
    free = tuple(n for n in names if (par.get(n) is not None and par.get(n).fit))
    return TimingModel(par, prep, structure, names, units, ref, free, d, binary_values, toas)
