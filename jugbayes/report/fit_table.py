"""The fit's terminal table: values in .par units, RAJ/DECJ sexagesimal, units, derived quantities, held parameters.

Uncertainties as TEMPO2/PINT write them: RAJ in seconds of time, DECJ in arcseconds, the rest in the
parameter's unit.  ``value(uncertainty)`` notation gives the uncertainty in units of the value's last
two digits.  Derived quantities (spin period and its derivative, characteristic age, surface magnetic
field, spin-down luminosity; for binaries the mass function and the minimum companion mass) are
propagated to first order from the fitted values' uncertainties, correlations ignored.
"""

from __future__ import annotations

import math
from decimal import Decimal

from jugbayes.model import catalog
from jugbayes.report.fitted_par import sexagesimal

T_SUN_S = 4.925490947e-6  # G M_sun / c^3 (s), the nominal solar mass in time units
SECONDS_PER_YEAR = 365.25 * 86400.0
MOMENT_OF_INERTIA_G_CM2 = 1e45  # the conventional neutron-star moment of inertia
B_SURFACE_G = 3.2e19  # B = 3.2e19 sqrt(P Pdot) gauss (magnetic dipole, R = 10 km, I = 1e45 g cm^2)
PULSAR_MASS_MSUN = 1.4  # assumed for the minimum companion mass (inclination 90 deg)
_SEXAGESIMAL_UNITS = {"RAJ": ("hh:mm:ss", "s"), "DECJ": ("dd:mm:ss", "arcsec")}


def display_unit(name: str) -> str:
    """The unit of a .par parameter's value as written (``F1`` -> ``Hz/s``, ``DM2`` -> ``pc/cm3/yr^2``)."""
    if name in _SEXAGESIMAL_UNITS:
        return _SEXAGESIMAL_UNITS[name][0]
    spec = catalog.lookup(name)
    unit = spec.unit if spec is not None else ""
    if "^n" in unit:
        n = spec.index or 0
        power = "" if n == 1 else f"^{n}"
        unit = unit.replace("/s^n", "" if n == 0 else f"/s{power}").replace("/yr^n", "" if n == 0 else f"/yr{power}")
    return unit or "-"


def uncertainty_in_par_units(name: str, sigma: float) -> float:
    """RAJ's sigma (hours) in seconds of time, DECJ's (degrees) in arcseconds; others unchanged."""
    return sigma * 3600.0 if name in _SEXAGESIMAL_UNITS else sigma


def _decimals_for(sigma: float, digits: int = 2) -> int:
    """Decimal places that show ``digits`` significant digits of ``sigma``."""
    return max(0, digits - 1 - math.floor(math.log10(sigma)))


def with_parenthesis(value_text: str, sigma: float) -> str:
    """``value_text`` rounded to sigma's first 2 digits, those in parentheses: ``1.0145(17)``, ``-4.08351(16)e-16``.

    Sexagesimal text rounds its seconds; below 1e-3 or from 1e6 (value or sigma) a power of ten is taken out.
    """
    if not (sigma > 0 and math.isfinite(sigma)):
        return value_text
    head, sep, last = value_text.rpartition(":")
    number = Decimal(last)
    exponent = 0
    size = max(abs(float(number)), sigma)
    if not sep and not 1e-3 <= size < 1e6:
        exponent = math.floor(math.log10(size))
        number, sigma = number.scaleb(-exponent), sigma / 10.0**exponent
    places = _decimals_for(sigma)
    rounded = f"{number:.{places}f}"
    if sep and float(rounded) >= 60:  # rounding carried into the minutes: keep the full text
        return f"{value_text} +- {sigma:.2g}"
    if sep and len(rounded.split(".")[0]) < 2:
        rounded = "0" + rounded
    return f"{head}{sep}{rounded}({round(sigma * 10**places)})" + (f"e{exponent}" if exponent else "")


def value_text(name: str, value: Decimal) -> str:
    """RAJ/DECJ sexagesimal, the rest as a 17-significant-digit decimal."""
    if name in _SEXAGESIMAL_UNITS:
        return sexagesimal(value, hours=(name == "RAJ"))
    return f"{value:.17g}"


def fit_table(values, parenthesis: bool = False) -> str:
    """One row per fitted parameter: name, pre-fit, post-fit, uncertainty, unit, change in sigma."""
    rows = [f"{'parameter':<12} {'pre-fit':>26} {'post-fit':>30} {'uncertainty':>12} {'unit':<20} {'change/sigma':>12}"]
    for v in values:
        change = float(v.value - v.prefit) / v.uncertainty if v.uncertainty > 0 else float("nan")
        sigma = uncertainty_in_par_units(v.name, v.uncertainty)
        post = with_parenthesis(value_text(v.name, v.value), sigma) if parenthesis else value_text(v.name, v.value)
        sig_unit = _SEXAGESIMAL_UNITS.get(v.name, ("", ""))[1]
        unit = display_unit(v.name) + (f" (error {sig_unit})" if sig_unit else "")
        rows.append(f"{v.name:<12} {value_text(v.name, v.prefit):>26} {post:>30} {sigma:>12.4g} {unit:<20} "
                    f"{change:>12.3f}")
    return "\n".join(rows)


def _value(par, values: dict, name: str) -> tuple[float, float] | None:
    """(value, sigma) of a parameter: fitted if it was, else the .par's with sigma 0; None if absent."""
    if name in values:
        return float(values[name].value), values[name].uncertainty
    p = par.get(name)
    return (p.as_float(), 0.0) if p is not None else None


def spin_quantities(f0: tuple[float, float], f1: tuple[float, float]) -> list[tuple[str, float, float, str]]:
    """(name, value, sigma, unit) of P, Pdot, characteristic age, surface B and spin-down luminosity."""
    (nu, s_nu), (nudot, s_nudot) = f0, f1
    p, s_p = 1.0 / nu, s_nu / nu**2
    pdot = -nudot / nu**2
    s_pdot = math.hypot(s_nudot / nu**2, 2 * nudot * s_nu / nu**3)
    out = [("P", p, s_p, "s"), ("Pdot", pdot, s_pdot, "s/s")]
    if pdot > 0:
        age = p / (2 * pdot) / SECONDS_PER_YEAR
        b = B_SURFACE_G * math.sqrt(p * pdot)
        edot = 4 * math.pi**2 * MOMENT_OF_INERTIA_G_CM2 * pdot / p**3
        rel_pdot, rel_p = s_pdot / pdot, s_p / p
        out += [("age_c", age, age * math.hypot(rel_pdot, rel_p), "yr"),
                ("B_surf", b, b * 0.5 * math.hypot(rel_pdot, rel_p), "G"),
                ("Edot", edot, edot * math.hypot(rel_pdot, 3 * rel_p), "erg/s")]
    return out


def mass_function_msun(a1_ls: float, pb_s: float) -> float:
    """f = 4 pi^2 (a1 sin i)^3 / (T_sun Pb^2), in solar masses (a1 in light-seconds)."""
    return 4 * math.pi**2 * a1_ls**3 / (T_SUN_S * pb_s**2)


def minimum_companion_mass_msun(f_msun: float, mp_msun: float = PULSAR_MASS_MSUN) -> float:
    """The m2 with f = m2^3 / (mp + m2)^2 (edge-on orbit), by Newton's method from m2 = f^(1/3) (mp + f)^(2/3)."""
    m2 = max(f_msun, 1e-12) ** (1 / 3) * (mp_msun + f_msun) ** (2 / 3)
    for _ in range(50):
        g = m2**3 - f_msun * (mp_msun + m2) ** 2
        step = g / (3 * m2**2 - 2 * f_msun * (mp_msun + m2))
        m2 -= step
        if abs(step) < 1e-15 * m2:
            break
    return m2


def binary_quantities(a1: tuple[float, float], pb_s: tuple[float, float]) -> list[tuple[str, float, float, str]]:
    """(name, value, sigma, unit) of the mass function and the minimum companion mass (mp 1.4 Msun)."""
    (x, s_x), (pb, s_pb) = a1, pb_s
    f = mass_function_msun(x, pb)
    s_f = f * math.hypot(3 * s_x / x, 2 * s_pb / pb)
    m2 = minimum_companion_mass_msun(f)
    dm2_df = m2 / (3 * f) if s_f == 0 else (minimum_companion_mass_msun(f + s_f) - m2) / s_f
    return [("f_mass", f, s_f, "Msun"), ("m2_min", m2, abs(dm2_df) * s_f, "Msun")]


def derived_quantities(par, values) -> list[tuple[str, float, float, str]]:
    """Derived quantities from the fitted (or, when held, the .par's) F0, F1, A1 and PB (or FB0)."""
    by_name = {v.name: v for v in values}
    out = []
    f0, f1 = _value(par, by_name, "F0"), _value(par, by_name, "F1")
    if f0 is not None and f1 is not None:
        out += spin_quantities(f0, f1)
    a1, pb = _value(par, by_name, "A1"), _value(par, by_name, "PB")
    fb0 = _value(par, by_name, "FB0")
    if pb is not None:
        pb = (pb[0] * 86400.0, pb[1] * 86400.0)
    elif fb0 is not None:
        pb = (1.0 / fb0[0], fb0[1] / fb0[0] ** 2)
    if a1 is not None and pb is not None and a1[0] > 0:
        out += binary_quantities(a1, pb)
    return out


def derived_table(rows) -> str:
    return "\n".join(f"{name:<12} {value:>26.10g} {sigma:>12.3g} {unit}" for name, value, sigma, unit in rows)


def held_parameters(model, free, fit_option: str | None, freeze_option: str | None) -> dict[str, list[str]]:
    """Why each continuous parameter the fit did not move was held, reason -> .par names."""
    from jugbayes.report.fitted_par import par_factor

    frozen = {n.strip().upper() for n in (freeze_option or "").split(",") if n.strip()}
    reasons: dict[str, list[str]] = {}
    for name in model.names:
        if name in free or (name == "PHOFF" and "PHOFF" not in model.par):  # the fit's OFFSET stands in for it
            continue
        par_name = par_factor(model, name)[0]
        if name in frozen:
            why = "--freeze"
        elif fit_option:
            why = "not in --fit"
        elif model.par.get(par_name) is None:
            why = "not in the .par: at its default"
        else:
            why = "no fit flag in the .par"
        reasons.setdefault(why, []).append(par_name)
    return reasons


def held_text(reasons: dict[str, list[str]], dropped=(), most: int = 12) -> str:
    """``held (why): A, B, ...`` lines, long lists cut after ``most`` names; then degenerate directions."""
    lines = []
    for why, names in reasons.items():
        shown = ", ".join(names[:most]) + (f", ... ({len(names) - most} more)" if len(names) > most else "")
        lines.append(f"held ({why}): {shown}")
    if dropped:
        lines.append(f"not constrained by the data (dropped from the solve): {', '.join(map(str, dropped))}")
    return "\n".join(lines)
