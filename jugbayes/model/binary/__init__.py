"""Binary-pulsar delays as pure JAX functions: ELL1/ELL1H/ELL1k (:mod:`.ell1`), DD/DDH/DDS (:mod:`.dd`),
DDK (:mod:`.ddk`), DDGR (:mod:`.ddgr`) and BT (:mod:`.bt`).

Each model has ``<model>_delay_s(dt_s, v)``, with ``dt_s`` the seconds from the model's epoch
(``EPOCH``: TASC or T0) to the time at which the binary is evaluated, and ``v`` the dict of
float64 scalars its module's ``values_from_par(par)`` returns.  DDK also needs the observatory's
and the pulsar's geometry: ``ddk_delay_s(dt_s, v, geometry)``, ``geometry`` from
:func:`.ddk.ddk_geometry` (models listed in :data:`NEEDS_GEOMETRY`).  :func:`binary_for_par`
picks the model a ``.par`` names.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from jugbayes.model.binary import bt, dd, ddgr, ddk, ell1
from jugbayes.model.binary.bt import bt_delay_s
from jugbayes.model.binary.dd import dd_delay_s
from jugbayes.model.binary.ddgr import ddgr_delay_s
from jugbayes.model.binary.ddk import ddk_delay_s, ddk_geometry
from jugbayes.model.binary.ell1 import ell1_delay_s
from jugbayes.model.binary.orbit import fail

__all__ = ["BinaryModel", "binary_for_par", "bt", "bt_delay_s", "dd", "dd_delay_s", "ddgr", "ddgr_delay_s", "ddk",
           "ddk_delay_s", "ddk_geometry", "ell1", "ell1_delay_s", "SUPPORTED", "DELAY_FUNCTIONS", "NEEDS_GEOMETRY"]

_MODULES = {"ELL1": ell1, "ELL1H": ell1, "ELL1K": ell1, "DD": dd, "DDH": dd, "DDS": dd, "DDK": ddk, "DDGR": ddgr, "BT": bt}
SUPPORTED = tuple(_MODULES)
_DELAYS = {ell1: ell1_delay_s, dd: dd_delay_s, ddk: ddk_delay_s, ddgr: ddgr_delay_s, bt: bt_delay_s}
DELAY_FUNCTIONS = {name: _DELAYS[module] for name, module in _MODULES.items()}
# Models whose delay takes a third argument, ``geometry`` (see :mod:`.ddk`).
NEEDS_GEOMETRY = frozenset({"DDK"})


class BinaryModel(NamedTuple):
    """What a residual function needs of a .par's binary."""

    name: str  # BINARY as written (upper case)
    epoch: str  # the .par parameter dt_s is counted from: "TASC" or "T0"
    delay_s: Callable  # delay_s(dt_s, values) -> seconds; (dt_s, values, geometry) for NEEDS_GEOMETRY
    values: dict  # float64 JAX scalars, units as documented in the model's module
    par_factors: dict  # key -> (.par name, factor): values[key] = factor * .par value


def binary_for_par(par) -> BinaryModel | None:
    """The binary model of a .par (``None`` without ``BINARY``); InputError for an unsupported one."""
    p = par.get("BINARY")
    if p is None:
        return None
    name = p.value.upper()
    module = _MODULES.get(name)
    if module is None:
        raise fail(par, "BINARY", f"BINARY {p.value} is not supported (supported: {', '.join(SUPPORTED)})")
    return BinaryModel(name, module.EPOCH, DELAY_FUNCTIONS[name], module.values_from_par(par), module.par_factors(par))
