from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jugbayes.io import numbers


@pytest.mark.parametrize("text", ["1.0D-12", "1.0d-12", "-3.5E+2", ".5", "5.", "+7", "inf", "NaN"])
def test_is_float_accepts_tempo_numbers(text):
    assert numbers.is_float(text)


@pytest.mark.parametrize("text", ["", "1.0.0", "abc", "1e", "D-12", "1,0", "--1", "12:30:00"])
def test_is_float_rejects_non_numbers(text):
    assert not numbers.is_float(text)


def test_fortran_exponent_value():
    assert numbers.to_float("-5.380714651979D-16") == -5.380714651979e-16


def test_f0_with_20_digits_round_trips_exactly():
    text = "245.4261235230874547123"
    hi, lo = numbers.split_float(text)
    with localcontext() as ctx:
        ctx.prec = 60
        # the pair carries the written decimal to well below its last digit
        assert abs(Decimal(hi) + Decimal(lo) - Decimal(text)) < Decimal("1e-28")
    assert hi == float(text)


@given(st.decimals(min_value=-1e6, max_value=1e6, places=25, allow_nan=False, allow_infinity=False))
def test_split_decimal_is_exact_to_double_double(value):
    hi, lo = numbers.split_decimal(value)
    assert abs(lo) <= abs(hi) * 2.0**-52 or hi == 0.0
    with localcontext() as ctx:
        ctx.prec = 80
        err = abs(Decimal(hi) + Decimal(lo) - value)
        assert err <= abs(value) * Decimal(2) ** -104 + Decimal("1e-300")


@pytest.mark.parametrize(
    ("text", "sign", "dms"),
    [("17:48:52.75", 1, ("17", "48", "52.75")), ("-20:21:29.0", -1, ("20", "21", "29.0")),
     ("-00:30:00", -1, ("0", "30", "0")), ("+73:03", 1, ("73", "3", "0"))],
)
def test_sexagesimal(text, sign, dms):
    with localcontext() as ctx:
        ctx.prec = 50
        d, m, s = (Decimal(x) for x in dms)
        expected = sign * (d + m / 60 + s / 3600)
        assert abs(numbers.sexagesimal_to_decimal(text) - expected) < Decimal("1e-40")


@pytest.mark.parametrize("text", ["12:61:00", "12:00:60.5", "12-00-00"])
def test_sexagesimal_rejects(text):
    with pytest.raises(ValueError):
        numbers.sexagesimal_to_decimal(text)


@given(st.integers(min_value=0, max_value=999_999), st.text("0123456789", min_size=0, max_size=25))
def test_mjd_parts_is_exact(day, frac_digits):
    text = f"{day}.{frac_digits}" if frac_digits else str(day)
    i, digits = numbers.mjd_parts(text)
    f = float("0." + digits) if digits else 0.0
    assert i == day and 0.0 <= f <= 1.0
    with localcontext() as ctx:
        ctx.prec = 60
        assert abs(Decimal(i) + Decimal(f) - Decimal(text)) < Decimal("2e-16")


@pytest.mark.parametrize("text", ["-5.25", "+55000.5", "5.5e4", "inf", "", ".", "55000..5", "1234567.5",
                                  "53216126681267383513"])
def test_mjd_parts_rejects_non_mjds(text):
    with pytest.raises(ValueError, match="bad MJD"):
        numbers.mjd_parts(text)


@pytest.mark.parametrize(("text", "finite"), [("1.5", True), ("1e400", False), ("1D3", True), ("nan", False),
                                              ("1e900000000000000000000", False), ("1e-900000000000000000000", True)])
def test_is_finite_float_even_beyond_decimals_exponent_range(text, finite):
    from jugbayes.io.numbers import is_finite_float

    assert is_finite_float(text) is finite
