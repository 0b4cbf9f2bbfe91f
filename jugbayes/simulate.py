"""Simulated TOAs: zero residual under a .par, then noise drawn from its noise model.

The TOAs come from a template .tim (each keeps its site, frequency, error and flags) or from an
:class:`ObservingPlan` (epochs, sites, receivers laid out here).  Each TOA's time is moved until the
model's residual is below ``tol_s`` (each pass subtracts the residual: the model's phase changes by
residual x spin frequency, so a few passes reach 1e-11 s, about the resolution of a float64 day
fraction; 1e-10 s is accepted where that floor stops them).
Then white noise (TOA errors scaled by EFAC/EQUAD), ECORR jitter and power-law red noise are drawn
with a seeded generator: same seed, same file.  Times are written with 16 decimals of a day (~10 ps).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jugbayes.errors import JugbayesError
from jugbayes.io.par import ParFile
from jugbayes.io.tim import TOAs
from jugbayes.timescales.mjd import SplitMJD


def _with_times(toas: TOAs, t: SplitMJD) -> TOAs:
    text = t.to_strings()
    return dataclasses.replace(toas, mjd_text=text, mjd_int=t.day.copy(), mjd_frac=t.frac.copy())


def zero_residual_toas(par: ParFile, toas: TOAs, *, tol_s: float = 1e-11, accept_s: float = 1e-10, max_iter: int = 8,
                       **prepare_kw) -> TOAs:
    """``toas`` moved in time so that ``par`` predicts each exactly.

    Passes stop once every |residual| < ``tol_s``; if ``max_iter`` passes do not get there (the
    float64 day fraction's ~1e-11 s resolution), the result is kept when it is below ``accept_s``.
    """
    from jugbayes.model.timing_model import build_model

    t = SplitMJD(np.asarray(toas.mjd_int), np.asarray(toas.mjd_frac))
    for _ in range(max_iter):
        current = _with_times(toas, t)
        resid = np.asarray(build_model(par, current, **prepare_kw).residuals()["time_s"])
        if np.abs(resid).max() < tol_s:
            return current
        t = t.add_seconds(-resid)
    if np.abs(resid).max() < accept_s:
        return current
    raise JugbayesError(f"simulation did not converge: residuals still up to {np.abs(resid).max():.3g} s")


def noise_realisation_s(par: ParFile, toas: TOAs, seed: int, **prepare_kw) -> np.ndarray:
    """One draw (s) of white noise, ECORR and red noise from ``par``'s noise model at ``toas``."""
    from jugbayes.model.noise import noise_for_model, scaled_sigma_s
    from jugbayes.model.timing_model import build_model

    model = build_model(par, toas, **prepare_kw)
    noise = noise_for_model(model)
    rng = np.random.default_rng(seed)
    sigma = np.asarray(scaled_sigma_s(np.asarray(toas.error_us) * 1e-6, noise.equad_mask, noise.equad_s,
                                      noise.efac_mask, noise.efac))
    out = rng.standard_normal(len(toas)) * sigma
    if noise.correlated:
        out += noise.basis() @ (rng.standard_normal(noise.basis().shape[1]) * np.sqrt(noise.weights_s2()))
    return out


def wideband_dms(par: ParFile, toas: TOAs, seed: int | None, **prepare_kw) -> TOAs:
    """``toas`` with each wideband DM measurement (``-pp_dm``) set to ``par``'s model DM there (with its DMJUMP),
    plus, unless ``seed`` is None, white noise of the DMEFAC/DMEQUAD-scaled ``-pp_dme`` errors: the DM rows of
    the wideband likelihood (white and independent of the TOAs, as in PINT's wideband fitter)."""
    from jugbayes.model.noise import noise_for_model
    from jugbayes.model.timing_model import build_model

    model = build_model(par, toas, **prepare_kw)
    index = np.asarray(model.data["wb_index"])
    dm = np.asarray(model.data["wb_dm_pc_cm3"]) - np.asarray(model.residuals()["dm_resid_pc_cm3"])
    if seed is not None:
        dm = dm + np.random.default_rng([seed, 2]).standard_normal(len(dm)) * noise_for_model(model).wb_sigma_pc_cm3
    flags = [dict(f) for f in toas.flags]
    for i, value in zip(index, dm):
        flags[i]["pp_dm"] = repr(float(value))
    return dataclasses.replace(toas, flags=flags)


def simulate(par: ParFile, template: TOAs, *, seed: int = 0, noise: bool = True, **prepare_kw) -> TOAs:
    """TOAs at the template's sites, frequencies and errors that ``par`` fits exactly, plus noise; wideband TOAs'
    DM measurements likewise (:func:`wideband_dms`)."""
    exact = zero_residual_toas(par, template, **prepare_kw)
    if any("pp_dm" in f for f in template.flags):
        exact = wideband_dms(par, exact, seed if noise else None, **prepare_kw)
    if not noise:
        return exact
    delta = noise_realisation_s(par, exact, seed, **prepare_kw)
    t = SplitMJD(exact.mjd_int, exact.mjd_frac).add_seconds(delta)
    return _with_times(exact, t)


# ---------------------------------------------------------------- observing plans (no template .tim)

MIN_ELEVATION_DEG = 20.0  # a site observes the source only above this elevation
MAX_HOUR_ANGLE_H = 4.0  # ... and within this many hours of transit
SCAN_DAYS = 30.0 / 1440.0  # each receiver's scan; receivers follow one another at one site
BACKENDS = {"gbt": "GUPPI", "arecibo": "PUPPI", "parkes": "PDFB", "effelsberg": "PSRIX", "jodrell": "ROACH",
            "meerkat": "PTUSE", "chime": "CHIME", "vla": "YUPPI", "nancay": "NUPPI", "wsrt": "PUMA"}


@dataclasses.dataclass(frozen=True)
class ObservingPlan:
    """A TOA layout: ``ntoa`` TOAs between two MJDs at the given sites and centre frequencies.

    Epochs are ``cadence_days`` apart (default: chosen so that each receiver scan gives ~4 sub-band
    TOAs), each shifted by up to a quarter cadence; at every epoch each site observes every centre
    frequency in consecutive 30-minute scans, each scan giving several TOAs across +-12.5% of its
    centre frequency at one time (so ECORR groups them).  Real sites observe within
    ``MAX_HOUR_ANGLE_H`` of transit and above ``MIN_ELEVATION_DEG``; the geocentre (``coe``) at any
    time of day.  Each scan's error is ``error_us`` times a log-normal factor (sd 0.3 in ln), each
    sub-band's a further factor in [0.8, 1.25].
    """

    start_mjd: float
    end_mjd: float
    ntoa: int
    cadence_days: float | None = None
    obs: tuple[str, ...] = ("coe",)
    freqs_mhz: tuple[float, ...] = (1400.0,)
    error_us: float = 1.0

    def check(self) -> None:
        """Raise JugbayesError naming the first impossible option."""
        if not (np.isfinite(self.start_mjd) and np.isfinite(self.end_mjd) and self.end_mjd > self.start_mjd):
            raise JugbayesError(f"--start {self.start_mjd} / --end {self.end_mjd}: the end must come after the start")
        if self.ntoa < 1:
            raise JugbayesError(f"--ntoa {self.ntoa}: need at least one TOA")
        if self.cadence_days is not None and not (0 < self.cadence_days <= self.end_mjd - self.start_mjd):
            raise JugbayesError(f"--cadence-days {self.cadence_days}: must be positive and no longer than the span "
                                f"({self.end_mjd - self.start_mjd:g} d)")
        if not self.obs:
            raise JugbayesError("--obs: give at least one observatory code")
        if not self.freqs_mhz or not all(np.isfinite(f) and f > 0 for f in self.freqs_mhz):
            raise JugbayesError(f"--freqs {','.join(map(str, self.freqs_mhz))}: frequencies must be positive MHz")
        if not (np.isfinite(self.error_us) and self.error_us > 0):
            raise JugbayesError(f"--error-us {self.error_us}: must be positive")


def _site(code: str):
    from jugbayes.geometry.sites import resolve_site, sites

    try:
        site = sites()[resolve_site(code)]
    except KeyError:
        raise JugbayesError(f"--obs: unknown observatory code {code!r}") from None
    if site.name == "barycenter":
        raise JugbayesError("--obs: the barycentre is not an observatory; use 'coe' (geocentre) or a site code")
    return site


def _source_radec_rad(par: ParFile) -> tuple[float, float]:
    """Approximate (RA, Dec) from RAJ/DECJ or ELONG/ELAT (IERS 2010 obliquity), for visibility only."""
    if par.get("RAJ") is not None and par.get("DECJ") is not None:
        return par["RAJ"].as_float() * np.pi / 12.0, np.radians(par["DECJ"].as_float())
    if par.get("ELONG") is not None and par.get("ELAT") is not None:
        lon, lat, eps = np.radians(par["ELONG"].as_float()), np.radians(par["ELAT"].as_float()), np.radians(23.4392794)
        x, y, z = np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)
        y, z = y * np.cos(eps) - z * np.sin(eps), y * np.sin(eps) + z * np.cos(eps)
        return float(np.arctan2(y, x) % (2 * np.pi)), float(np.arcsin(z))
    raise JugbayesError(f"{par.path}: no pulsar position (RAJ/DECJ or ELONG/ELAT) to place observations")


def _hour_angle_limit_h(site, dec_rad: float) -> float:
    """Half-width (h) of the hour-angle window a site observes in, or an error if the source never rises."""
    x, y, z = site.itrf_xyz_m
    lat = np.arctan2(z, np.hypot(x, y))
    cos_h0 = (np.sin(np.radians(MIN_ELEVATION_DEG)) - np.sin(lat) * np.sin(dec_rad)) / (np.cos(lat) * np.cos(dec_rad))
    if cos_h0 >= 1:
        raise JugbayesError(f"--obs {site.name}: the pulsar (Dec {np.degrees(dec_rad):.1f} deg) never rises above "
                            f"{MIN_ELEVATION_DEG:g} deg elevation there")
    return min(MAX_HOUR_ANGLE_H, float(np.degrees(np.arccos(max(cos_h0, -1.0))) / 15.0))


def _ut_fraction(day: int, lst_h: float, lon_h: float) -> float:
    """UT fraction of ``day`` at which the local sidereal time is ``lst_h`` (GMST linear in UT1 ~ UTC)."""
    gmst0 = 18.697374558 + 24.06570982441908 * (day - 51544.5)
    return float(((lst_h - lon_h - gmst0) % 24.0) / 24.06570982441908)


def _scan_counts(n_scans: int, ntoa: int, rng) -> np.ndarray:
    """``ntoa`` TOAs shared as evenly as possible among scans, the remainder given to random scans."""
    counts = np.full(n_scans, ntoa // n_scans)
    counts[rng.permutation(n_scans)[: ntoa % n_scans]] += 1
    return counts


def observing_pattern(par: ParFile, plan: ObservingPlan, seed: int = 0) -> TOAs:
    """TOAs laid out by ``plan`` (times not yet fitted to ``par``), with -fe/-be/-f/-bw/-tobs flags.

    Flags: ``-fe Rcvr_<MHz>``, ``-be <backend>`` (GUPPI at gbt, PUPPI at arecibo, ..., SIM at the
    geocentre), ``-f Rcvr_<MHz>_<backend>`` for EFAC/EQUAD/ECORR selectors.
    """
    plan.check()
    sites_ = [_site(code) for code in plan.obs]
    ra, dec = _source_radec_rad(par)
    windows = [None if s.pseudo else _hour_angle_limit_h(s, dec) for s in sites_]
    rng = np.random.default_rng([seed, 7])  # independent of the noise stream (seed alone)
    span = plan.end_mjd - plan.start_mjd
    per_epoch = len(sites_) * len(plan.freqs_mhz)
    n_epochs = (max(1, int(span // plan.cadence_days)) if plan.cadence_days
                else max(1, int(round(plan.ntoa / (4 * per_epoch)))))
    step = span / n_epochs
    counts = _scan_counts(n_epochs * per_epoch, plan.ntoa, rng).reshape(n_epochs, len(sites_), len(plan.freqs_mhz))
    rows = []  # (mjd, freq, error, site, flags)
    for k in range(n_epochs):
        for j, site in enumerate(sites_):
            day = plan.start_mjd + (k + 0.5) * step + rng.uniform(-0.25, 0.25) * min(step, plan.cadence_days or step)
            day = int(np.clip(np.floor(day), np.floor(plan.start_mjd), np.ceil(plan.end_mjd) - 1))
            if windows[j] is None:
                t0 = day + rng.uniform(0.0, 1.0)
            else:
                x, y, _ = site.itrf_xyz_m
                ha = rng.uniform(-windows[j], max(-windows[j], windows[j] - per_epoch * SCAN_DAYS * 24))
                t0 = day + _ut_fraction(day, (ra * 12 / np.pi + ha) % 24, np.degrees(np.arctan2(y, x)) / 15.0)
            backend = "SIM" if site.pseudo else BACKENDS.get(site.name, site.name.upper())
            for i, centre in enumerate(plan.freqs_mhz):
                n = int(counts[k, j, i])
                t = t0 + i * SCAN_DAYS
                scan_error = plan.error_us * np.exp(0.3 * rng.standard_normal())
                fe = f"Rcvr_{centre:g}"
                for m in range(n):
                    freq = centre * (1.0 + 0.25 * ((m + 0.5) / n - 0.5)) if n > 1 else centre
                    flags = {"fe": fe, "be": backend, "f": f"{fe}_{backend}", "bw": f"{0.25 * centre / n:.4g}",
                             "tobs": f"{SCAN_DAYS * 86400:.0f}"}
                    rows.append((t, freq, scan_error * rng.uniform(0.8, 1.25), site.name, flags))
    rows.sort(key=lambda r: (r[0], r[1]))
    mjd = np.array([r[0] for r in rows])
    t = SplitMJD.from_parts(np.floor(mjd).astype(np.int64), mjd - np.floor(mjd))
    n = len(rows)
    return TOAs(names=[f"sim_{i:06d}" for i in range(n)], mjd_text=t.to_strings(), mjd_int=t.day.copy(),
                mjd_frac=t.frac.copy(), freq_mhz=np.array([r[1] for r in rows]),
                error_us=np.round(np.array([r[2] for r in rows]), 4), obs=[r[3] for r in rows],
                flags=[r[4] for r in rows], files=["<simulated>"], file_index=np.zeros(n, dtype=np.int64),
                line=np.arange(1, n + 1))


def simulate_plan(par: ParFile, plan: ObservingPlan, *, seed: int = 0, noise: bool = True, **prepare_kw) -> TOAs:
    """Simulated TOAs laid out by ``plan``: zero residual under ``par``, plus its noise (seeded)."""
    return simulate(par, observing_pattern(par, plan, seed), seed=seed, noise=noise, **prepare_kw)
