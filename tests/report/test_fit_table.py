"""The fit's terminal table: notation, units, derived quantities against published values, held parameters."""

from __future__ import annotations

import pytest

from jugbayes.report.fit_table import (binary_quantities, display_unit, fit_table, held_parameters, held_text,
                                       minimum_companion_mass_msun, spin_quantities, with_parenthesis)
from jugbayes.report.fitted_par import fitted_values


@pytest.mark.parametrize(("text", "sigma", "expected"), [
    ("1.0144544440039174", 0.1694, "1.01(17)"),
    ("218.81184379608250", 6.208e-14, "218.811843796082500(62)"),
    ("-4.0835094170992366e-16", 1.57e-21, "-4.083509(16)e-16"),
    ("-6.1e-9", 5.23e-8, "-0.6(52)e-8"),
    ("12:34:56.78912599111", 2.091e-6, "12:34:56.7891260(21)"),  # RAJ, sigma in s of time
    ("+56:12:04.56790559191", 1.76e-5, "+56:12:04.567906(18)"),  # DECJ, sigma in arcsec
    ("-20:21:09.38334076589", 0.0328, "-20:21:09.383(33)"),
    ("3.25", 0.0, "3.25"),  # nothing to show for a zero sigma
])
def test_value_uncertainty_notation(text, sigma, expected):
    assert with_parenthesis(text, sigma) == expected


def test_units_as_the_par_writes_them():
    assert [display_unit(n) for n in ("F0", "F1", "F2", "DM", "DM2", "PB", "RAJ", "DECJ", "ECC")] == [
        "Hz", "Hz/s", "Hz/s^2", "pc/cm3", "pc/cm3/yr^2", "d", "hh:mm:ss", "dd:mm:ss", "-"]


def test_spin_quantities_of_the_crab_match_the_atnf_catalogue():
    """Crab (B0531+21): P 0.0333924123 s, Pdot 4.20972e-13; ATNF: age 1.26e3 yr, B 3.79e12 G, Edot 4.5e38 erg/s."""
    p, pdot = 0.0333924123, 4.20972e-13
    rows = {name: (value, sigma) for name, value, sigma, _ in spin_quantities((1 / p, 1e-10), (-pdot / p**2, 0.0))}
    assert rows["P"][0] == pytest.approx(p, rel=1e-12) and rows["Pdot"][0] == pytest.approx(pdot, rel=1e-12)
    assert rows["age_c"][0] == pytest.approx(1.26e3, rel=0.01)
    assert rows["B_surf"][0] == pytest.approx(3.79e12, rel=0.01)
    assert rows["Edot"][0] == pytest.approx(4.5e38, rel=0.02)  # ATNF gives two digits
    assert rows["P"][1] == pytest.approx(1e-10 * p**2, rel=1e-9)  # sigma_P = sigma_F0 / F0^2


def test_binary_quantities_of_the_double_pulsar():
    """J0737-3039A (Kramer et al. 2006): Pb 0.10225156248 d, x 1.415032 ls; mass function 0.29096571(87) Msun."""
    (_, f, s_f, _), (_, m2, _, _) = binary_quantities((1.415032, 1e-6), (0.10225156248 * 86400, 0.0))
    assert f == pytest.approx(0.29096571, rel=3e-6)
    assert s_f == pytest.approx(3 * f * 1e-6 / 1.415032, rel=1e-9)
    assert m2**3 / (1.4 + m2) ** 2 == pytest.approx(f, rel=1e-12)
    assert minimum_companion_mass_msun(2.744 / 7.84) == pytest.approx(1.4, rel=1e-12)  # m2 = mp = 1.4: f = 0.35


def test_table_rows_and_held_parameters(ngc_fit):
    model, fit = ngc_fit
    values = fitted_values(model, fit)
    table = fit_table(values, parenthesis=True).splitlines()
    assert table[0].split()[:5] == ["parameter", "pre-fit", "post-fit", "uncertainty", "unit"]
    raj = next(r for r in table if r.startswith("RAJ"))
    assert "17:48:52.8" in raj and "hh:mm:ss (error s)" in raj
    sigma_s = float(raj.split()[3])
    assert sigma_s == pytest.approx(next(v.uncertainty for v in values if v.name == "RAJ") * 3600, rel=1e-3)
    held = held_parameters(model, fit.names, None, "PMRA")
    assert "PMRA" in held.get("--freeze", []) and "F0" not in sum(held.values(), [])
    assert all(model.par.get(n) is not None for n in held.get("no fit flag in the .par", []))
    assert all(model.par.get(n) is None for n in held.get("not in the .par: at its default", []))
    text = held_text({"no fit flag in the .par": [f"DMX_{i:04d}" for i in range(20)]}, dropped=["+0.70*A + 0.70*B"])
    assert text.splitlines() == ["held (no fit flag in the .par): " + ", ".join(f"DMX_{i:04d}" for i in range(12))
                                 + ", ... (8 more)", "not constrained by the data (dropped from the solve): "
                                 "+0.70*A + 0.70*B"]
