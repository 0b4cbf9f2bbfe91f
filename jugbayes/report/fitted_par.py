"""Fitted values back into .par units and a new .par: the .par's own text plus exact offsets.

Model offsets are in the model's units (angles in radians, binary values as the binary modules
define them); each maps back to one .par parameter by a factor.  New values are the .par's exact
decimal value plus the offset, so nothing the fit did not move changes by even one digit.
Uncertainties follow TEMPO2/PINT: RAJ in seconds of time and DECJ/ELAT/ELONG... in arcseconds in
the .par; in JSON summaries RAJ in hours and the other angles in degrees, as PINT reports them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal, localcontext

from jugbayes.io.par import ParFile

_ANGLE_FACTOR = {"RAJ": math.pi / 12.0, "DECJ": math.pi / 180.0, "ELONG": math.pi / 180.0, "ELAT": math.pi / 180.0}
_SEXAGESIMAL = {"RAJ", "DECJ"}
_DIGITS = 22  # significant digits kept in written values (F0 needs ~20)


@dataclass(frozen=True)
class FittedValue:
    """One fitted parameter in .par units (angles: RAJ hours, others degrees)."""

    name: str  # the .par parameter
    prefit: Decimal
    value: Decimal
    uncertainty: float


def par_factor(model, name: str) -> tuple[str, float]:
    """(.par name, factor) with model value = factor * .par value."""
    if name in _ANGLE_FACTOR:
        return name, _ANGLE_FACTOR[name]
    if model.structure.binary is not None:
        factors = getattr(model, "_binary_par_factors", None)
        if factors is None:  # reading the binary from the .par costs ~10 ms: once per model, not per parameter
            from jugbayes.model.binary import binary_for_par

            factors = model._binary_par_factors = binary_for_par(model.par).par_factors
        if name in factors:
            return factors[name]
    return name, 1.0


def fitted_values(model, result) -> list[FittedValue]:
    """Each fitted model parameter as a .par value and uncertainty (the phase-offset column is left out)."""
    out = []
    with localcontext() as ctx:
        ctx.prec = 60
        for name, offset, sigma in zip(result.names, result.offsets, result.sigma):
            if name == "OFFSET":
                continue
            par_name, factor = par_factor(model, name)
            p = model.par.get(par_name)
            prefit = p.as_decimal() if p is not None else Decimal(0)
            value = prefit + Decimal(float(offset)) / Decimal(factor)
            out.append(FittedValue(par_name, prefit, value, float(sigma) / factor))
    return out


def _round(value: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        return +value


def sexagesimal(value: Decimal, hours: bool) -> str:
    """Decimal hours (RAJ) or degrees (DECJ) as ``[+-]DD:MM:SS.sssssssssss``."""
    sign = "-" if value < 0 else ("" if hours else "+")
    v = abs(value)
    whole = int(v)
    minutes_full = (v - whole) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    text = f"{seconds:.11f}"
    if float(text) >= 60.0:  # rounding carried into the minutes
        seconds, minutes = Decimal(0), minutes + 1
        if minutes == 60:
            minutes, whole = 0, whole + 1
        text = f"{seconds:.11f}"
    return f"{sign}{whole:02d}:{minutes:02d}:{text.zfill(14)}"


def _value_text(name: str, value: Decimal) -> str:
    if name in _SEXAGESIMAL:
        return sexagesimal(value, hours=(name == "RAJ"))
    return str(_round(value))


def _uncertainty_text(name: str, sigma: float) -> str:
    if name == "RAJ":
        sigma *= 3600.0  # hours -> seconds of time
    elif name in _ANGLE_FACTOR:
        sigma *= 3600.0  # degrees -> arcseconds
    return f"{sigma:.6g}"


def updated_par(par: ParFile, values: list[FittedValue]) -> ParFile:
    """A copy of ``par`` with the fitted values and uncertainties written in; all else unchanged."""
    by_name = {v.name: v for v in values}
    lines = []
    for line in par.lines:
        if not isinstance(line, str) and line.used and line.name in by_name:
            v = by_name[line.name]
            line = dataclasses.replace(line, value=_value_text(line.name, v.value),
                                       uncertainty=_uncertainty_text(line.name, v.uncertainty), fit=True)
        lines.append(line)
    return dataclasses.replace(par, lines=lines)
