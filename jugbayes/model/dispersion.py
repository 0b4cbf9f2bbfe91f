"""Dispersion: DM Taylor series, DMX piecewise offsets, the solar wind (SWM 0), and FD terms.

All delays use the barycentric radio frequency f_bary = f_topo (1 - v_obs . n / c), as TEMPO2
and PINT do, and the conventional constant 1/2.41e-4 s MHz^2 cm^3/pc.  TOAs at infinite
frequency get no dispersive delay.

Wideband TOAs carry a DM measurement each (``-pp_dm``, error ``-pp_dme``, pc cm^-3; :func:`wideband_data`);
their DM residuals (``timing_model.dm_residuals_pc_cm3``) compare them with the same model DM the delays use.

DMJUMP (flag-selected DM offsets) follows PINT's ``DispersionJump``: it offsets only the *model DM*
that wideband DM measurements are compared with, DM - DMJUMP on the TOAs it selects
(:func:`dm_jump_offsets`), and never the TOAs' dispersion delay (PINT's d delay / d DMJUMP is
zero).  DMJUMPs are held at their .par values (one marked free: a warning, :func:`check_dm_jumps`).
For a DM offset that does delay narrowband TOAs PINT has FDJUMPDM (not implemented here).
"""

from __future__ import annotations

import warnings
from math import factorial

import jax.numpy as jnp
import numpy as np

from jugbayes.config import enable_x64
from jugbayes.constants import AU_M, C_M_S, DM_CONST_S_MHZ2, PC_M
from jugbayes.errors import InputError
from jugbayes.model.astrometry import dot3
from jugbayes.model.selectors import toa_mask

enable_x64()


def barycentric_freq_mhz(freq_mhz, ssb_obs_vel_c, n_hat):
    """Radio frequency in the SSB frame (Doppler shift by the observatory's velocity along the line of sight)."""
    return freq_mhz * (1.0 - dot3(ssb_obs_vel_c, n_hat))


def inverse_freq_sq(freq_mhz):
    """1/f^2 in MHz^-2, zero at infinite frequency."""
    return jnp.where(jnp.isfinite(freq_mhz), 1.0 / freq_mhz**2, 0.0)


def dm_series(dt_yr, dm_terms):
    """DM(t) = DM + DM1 dt + DM2 dt^2/2 + ... (pc cm^-3; derivatives per Julian year)."""
    out = jnp.zeros_like(dt_yr)
    for k, term in enumerate(dm_terms):
        out = out + term * dt_yr**k / factorial(k)
    return out


def dispersion_delay_s(dm_pc_cm3, inv_f2):
    return DM_CONST_S_MHZ2 * dm_pc_cm3 * inv_f2


def fdjump_delay_s(f_bary_mhz, mask, power, coeffs, log: bool):
    """PINT's FDJUMP delays (s): sum_j mask_j c_j y^p_j, y = f/GHz (or log(f/GHz)), 0 where y is not finite."""
    y = f_bary_mhz / 1000.0
    y = jnp.log(y) if log else y
    y = jnp.where(jnp.isfinite(y), y, 0.0)
    return (mask * y[:, None] ** power[None, :]) @ coeffs


def dmx_masks(mjd: np.ndarray, ranges: list[tuple[float, float]]) -> np.ndarray:
    """(n, k) float mask of TOAs inside each DMX range [DMXR1, DMXR2] (inclusive, on the TOA's MJD)."""
    out = np.zeros((len(mjd), len(ranges)))
    for j, (lo, hi) in enumerate(ranges):
        out[:, j] = (mjd >= lo) & (mjd <= hi)
    return out


def solar_wind_power_law_geometry_pc(obs_sun_pos_ls, n_hat, p):
    """The SWM 1 geometric factor (Hazboun et al. 2022, eq. 11, as PINT): density NE_SW (AU / r)^p along the line
    of sight, DM_sw = NE_SW times this (pc).

    With theta the pulsar's elongation from the Sun, b = r sin(theta) the impact parameter and u = tan(phi) along
    the line of sight, the path integral is (AU / b)^p b int_{-pi/2}^{pi/2 - theta} cos^(p-2)(phi) dphi, which is
    (AU / b)^p b B(1/2, (p-1)/2) / 2 [1 + sign I_{cos^2 theta}(1/2, (p-1)/2)] (regularised incomplete beta), p > 1.
    p = 2 gives SWM 0's factor.  Differentiable in everything but p (JAX's betainc has no p derivative).
    """
    r = jnp.sqrt(dot3(obs_sun_pos_ls, obs_sun_pos_ls))
    cos_theta = jnp.clip(dot3(obs_sun_pos_ls, n_hat) / r, -1.0, 1.0)
    return power_law_path_pc(r * C_M_S, cos_theta, p)


def power_law_path_pc(r_m, cos_theta, p):
    """The SWM 1 path integral (pc) at distance ``r_m`` from the Sun and elongation ``theta``; see below."""
    from jax.scipy.special import betainc, gammaln

    b_m = r_m * jnp.sqrt(1.0 - cos_theta**2)
    half_beta = 0.5 * jnp.exp(gammaln(0.5) + gammaln((p - 1.0) / 2.0) - gammaln(p / 2.0))
    path = half_beta * (1.0 + jnp.sign(cos_theta) * betainc(0.5, (p - 1.0) / 2.0, cos_theta**2))
    return (AU_M / b_m) ** p * b_m * path / PC_M


def swx_geometry_pc(obs_sun_pos_ls, n_hat, p, theta0_rad):
    """PINT's SWX shape: the power-law path less its value at opposition, over conjunction's less opposition's
    (both at 1 AU, conjunction at elongation ``theta0_rad``): 0 at opposition, 1 at conjunction."""
    r = jnp.sqrt(dot3(obs_sun_pos_ls, obs_sun_pos_ls))
    cos_theta = jnp.clip(dot3(obs_sun_pos_ls, n_hat) / r, -1.0, 1.0)
    conj = power_law_path_pc(AU_M, jnp.cos(theta0_rad), p)
    opp = power_law_path_pc(AU_M, -jnp.cos(theta0_rad), p)
    return (power_law_path_pc(r * C_M_S, cos_theta, p) - opp) / (conj - opp)


def conjunction_elongation_rad(n_icrs: np.ndarray, t0_mjd: float) -> float:
    """The pulsar's elongation from the Sun at its first solar conjunction after ``t0_mjd`` (SWX's theta0): its
    latitude from the ecliptic of that date (ERFA's IAU 2006 ``ecm06``), the conjunction found from the Sun's
    low-precision longitude (Astronomical Almanac: L = 280.460 + 0.9856474 n, g = 357.528 + 0.9856003 n deg,
    lambda = L + 1.915 sin g + 0.020 sin 2g, n days from J2000), as PINT's ``get_conjunction`` starts."""
    import erfa

    t = t0_mjd + np.arange(0.0, 366.0, 0.25)
    n = t + 2400000.5 - 2451545.0
    g = np.radians(357.528 + 0.9856003 * n)
    sun_lon = np.radians(280.460 + 0.9856474 * n + 1.915 * np.sin(g) + 0.020 * np.sin(2.0 * g))
    ecl = erfa.ecm06(2400000.5, t0_mjd) @ n_icrs
    ahead = np.mod(np.arctan2(ecl[1], ecl[0]) - sun_lon, 2.0 * np.pi)  # falls through 0 at conjunction
    t_conj = t[int(np.argmax(np.diff(ahead) > np.pi)) + 1]
    return abs(float(np.arcsin((erfa.ecm06(2400000.5, t_conj) @ n_icrs)[2])))


def solar_wind_geometry_pc(obs_sun_pos_ls, n_hat):
    """The SWM 0 (Edwards et al. 2006, eqs. 29-30) geometric factor: DM_sw = NE_SW [cm^-3] times this (pc).

    rho is the angle at the observatory between the pulsar and the anti-Sun direction; r the
    observatory-Sun distance; DM_sw = n0 AU^2 rho / (r sin rho).
    """
    r = jnp.sqrt(dot3(obs_sun_pos_ls, obs_sun_pos_ls))
    cos_angle = dot3(obs_sun_pos_ls, n_hat) / r
    rho = jnp.pi - jnp.arccos(jnp.clip(cos_angle, -1.0, 1.0))
    r_m = r * C_M_S
    return (AU_M / PC_M) * (AU_M / r_m) * rho / jnp.sin(rho)


def fd_delay_s(freq_mhz, fd_terms):
    """FD1..FDn: sum_i FD_i ln(f / 1 GHz)^i seconds (zero at infinite frequency)."""
    log_f = jnp.where(jnp.isfinite(freq_mhz), jnp.log(jnp.where(jnp.isfinite(freq_mhz), freq_mhz, 1.0) / 1000.0), 0.0)
    out = jnp.zeros_like(freq_mhz)
    for i, term in enumerate(fd_terms, start=1):
        out = out + term * log_f**i
    return out


class DMJumpWarning(UserWarning):
    """A DMJUMP is marked free, but it cannot be fitted from TOAs."""


class FDJumpWarning(UserWarning):
    """A .par with FDJUMPs does not say which frequency variable they use (TEMPO2 and PINT differ)."""


def dm_jump_offsets(par, toas) -> np.ndarray:
    """Per TOA, the DMJUMPs' change of the model DM (pc cm^-3) wideband DMs are compared with: -DMJUMP
    on the TOAs each selects (PINT's sign).  Not a delay: TOA residuals do not depend on it."""
    out = np.zeros(len(toas))
    for p in par.masked("DMJUMP"):
        out -= p.as_float() * toa_mask(p.selector, toas)
    return out


def _flag_float(toas, i: int, flag: str) -> float:
    """TOA i's ``-flag`` value as a float; a clean FILE:LINE error when it is missing or not a number."""
    text = toas.flags[i].get(flag)
    path, line = toas.files[toas.file_index[i]], int(toas.line[i])
    if text is None:
        raise InputError(path, line, "wideband TOA: -pp_dm without -pp_dme (every -pp_dm needs its error)"
                         if flag == "pp_dme" else f"-{flag} missing")
    try:
        return float(text.replace("D", "e").replace("d", "e"))
    except ValueError:
        raise InputError(path, line, f"-{flag} {text!r} is not a number") from None


def wideband_data(toas, d: dict) -> bool:
    """Put the TOAs' wideband DMs into ``d`` (``wb_index``: the TOAs with ``-pp_dm``; ``wb_dm_pc_cm3``,
    ``wb_dme_pc_cm3``); whether there are any.  A ``-pp_dme`` without ``-pp_dm``, or an error <= 0: an error."""
    index = []
    for i, flags in enumerate(toas.flags):
        if "pp_dm" in flags:
            index.append(i)
        elif "pp_dme" in flags:
            raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]), "-pp_dme without -pp_dm")
    if not index:
        return False
    dm = np.array([_flag_float(toas, i, "pp_dm") for i in index])
    dme = np.array([_flag_float(toas, i, "pp_dme") for i in index])
    bad = np.nonzero(~(dme > 0))[0]
    if len(bad):
        i = index[bad[0]]
        raise InputError(toas.files[toas.file_index[i]], int(toas.line[i]),
                         f"-pp_dme {toas.flags[i]['pp_dme']} must be > 0")
    d["wb_index"], d["wb_dm_pc_cm3"], d["wb_dme_pc_cm3"] = np.array(index, dtype=np.int32), dm, dme
    return True


def check_dm_jumps(par) -> None:
    """Warn once for DMJUMPs with a fit flag: they only move wideband DMs, so they stay at their values."""
    free = [f"{p.name} ({' '.join(p.selector)})" for p in par.masked("DMJUMP") if p.fit]
    if free:
        warnings.warn(f"{par.path}: {', '.join(free)} marked free; DMJUMPs are not fitted yet (they change only "
                      "wideband DM residuals, not TOA residuals, as in PINT): held at the .par value", DMJumpWarning,
                      stacklevel=3)
