"""Exact parsing of numbers as pulsar-timing files write them.

Values are kept as their decimal text and converted on demand, either to one
float64 or to an exact two-float64 split ``hi + lo`` (``hi`` the nearest
float64, ``lo`` the nearest float64 to the remainder), which carries about 32
significant digits: enough for F0 or an MJD written with 20 or more digits.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation, localcontext

# Fortran-style exponents (1.0D-12, 2d3) are accepted as TEMPO and TEMPO2 do.
_FLOAT_RE = re.compile(
    r"""^[+-]?(
        (\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?   # ordinary decimal
        |inf(inity)?|nan                      # IEEE specials
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_INT_RE = re.compile(r"^[+-]?\d+$")
_MJD_RE = re.compile(r"^(?=\.?\d)(\d*)(?:\.(\d*))?$")  # at least one digit
_MJD_MAX_DIGITS = 6  # MJD < 1,000,000 (year ~4600)
_SEXAGESIMAL_RE = re.compile(r"^([+-]?)(\d+):(\d+)(?::(\d+(?:\.\d*)?|\.\d+))?$")


def is_float(text: str) -> bool:
    """True if ``text`` is a number TEMPO/TEMPO2 would read (``D`` exponents included)."""
    return bool(_FLOAT_RE.match(text))


def is_int(text: str) -> bool:
    """True if ``text`` is a plain (optionally signed) integer."""
    return bool(_INT_RE.match(text))


def is_sexagesimal(text: str) -> bool:
    """True if ``text`` looks like ``[+-]DD:MM[:SS.sss]``."""
    return bool(_SEXAGESIMAL_RE.match(text))


def to_decimal(text: str) -> Decimal:
    """The exact decimal value of ``text``; raises ``ValueError`` if it is no number."""
    if not is_float(text):
        raise ValueError(f"not a number: {text!r}")
    try:
        return Decimal(text.replace("D", "E").replace("d", "e"))
    except InvalidOperation as exc:  # pragma: no cover - the regex already screens
        raise ValueError(f"not a number: {text!r}") from exc


def is_finite_float(text: str) -> bool:
    """True if ``text`` is a number whose float64 value is finite (no NaN, inf or overflow like 1e400)."""
    if not is_float(text):
        return False
    return math.isfinite(float(text.replace("D", "E").replace("d", "e")))  # float(): exponents beyond Decimal's range


def to_float(text: str) -> float:
    """The float64 nearest to ``text``."""
    return float(to_decimal(text))


def split_decimal(value: Decimal) -> tuple[float, float]:
    """Split a decimal into float64 ``(hi, lo)`` with ``hi + lo`` equal to it to ~1e-32."""
    hi = float(value)
    if not value.is_finite():
        return hi, 0.0
    with localcontext() as ctx:
        ctx.prec = 80
        lo = float(value - Decimal(hi))
    return hi, lo


def split_float(text: str) -> tuple[float, float]:
    """The exact two-float64 split of the number written as ``text``."""
    return split_decimal(to_decimal(text))


def sexagesimal_to_decimal(text: str) -> Decimal:
    """``[+-]DD:MM[:SS.sss]`` to decimal units of the first field (hours or degrees).

    The sign applies to the whole value, so ``-00:30:00`` is -0.5.
    """
    m = _SEXAGESIMAL_RE.match(text)
    if not m:
        raise ValueError(f"not a sexagesimal angle: {text!r}")
    sign, whole, minutes, seconds = m.groups()
    if int(minutes) >= 60 or (seconds is not None and Decimal(seconds) >= 60):
        raise ValueError(f"minutes or seconds out of range in {text!r}")
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(whole) + Decimal(minutes) / 60 + Decimal(seconds or 0) / 3600
    return -value if sign == "-" else value


def mjd_parts(text: str) -> tuple[int, str]:
    """A TOA's MJD as written -> ``(integer day, digits after the point)``, exactly.

    ``'55336.98970199'`` -> ``(55336, '98970199')``; the fraction of day is
    ``float('0.' + digits)``, within ~1e-17 day (~1 ps) of the written value.
    Only plain non-negative decimals below MJD 1,000,000 are MJDs; anything
    else raises ``ValueError``.
    """
    m = _MJD_RE.match(text)
    if not m or len(m.group(1)) > _MJD_MAX_DIGITS:
        raise ValueError(f"bad MJD {text!r}")
    return int(m.group(1) or "0"), m.group(2) or ""
