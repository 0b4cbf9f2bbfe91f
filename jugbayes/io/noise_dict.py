"""enterprise / enterprise_extensions noise dictionaries: read into a .par, write from a .par or a posterior.

A noise dictionary is one JSON object of ``"<PSR>_<backend>_<name>": value`` and ``"<PSR>_<name>": value``
entries, the backend being the value of the flag that selects the TOAs (``-f L-wide_ASP`` -> ``L-wide_ASP``).
The mapping, enterprise key <-> .par line (units):

==============================  =========================================================================
``<PSR>_<be>_efac``             ``EFAC -flag <be>`` (T2EFAC, TNEF), plain number
``<PSR>_<be>_log10_t2equad``    ``EQUAD -flag <be>`` (T2EQUAD) in us = 10**v * 1e6; a ``TNEQ`` line takes v as
                                it is (log10 s): TEMPO2's convention, sigma^2 = EFAC^2 (err^2 + EQUAD^2), which
                                is also how jugbayes and PINT read TNEQ
``<PSR>_<be>_log10_tnequad``    TempoNest's convention, sigma^2 = EFAC^2 err^2 + EQUAD^2 (enterprise's
                                TNEquadNoise; ``log10_equad`` before enterprise 3.3.0): written as the exactly
                                equivalent EQUAD = 10**v / EFAC, the EFAC of the same backend
``<PSR>_<be>_log10_ecorr``      ``ECORR -flag <be>`` (TNECORR) in us = 10**v * 1e6 (also ``basis_ecorr_<be>_...``)
``<PSR>_red_noise_log10_A``     ``TNREDAMP`` (log10 A), ``<PSR>_red_noise_gamma``: ``TNREDGAM``
``<PSR>_dm_gp_log10_A``         ``TNDMAMP``, ``<PSR>_dm_gp_gamma``: ``TNDMGAM`` (DM noise at 1400 MHz)
==============================  =========================================================================

The red/DM power law is the same as enterprise's (P = A^2/(12 pi^2) f_yr^(gamma-3) f^-gamma); the Fourier
frequencies are the .par's (TNREDC/TNDMC, default 30, over the pulsar's own span), while an array analysis
may have used the array's span.  We write ``log10_t2equad`` (never tnequad) and skip lines whose selector is
not a flag (MJD, FREQ, TEL, NAME ranges have no enterprise name).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings

from jugbayes.errors import InputError
from jugbayes.io.par import ParFile, Parameter
from jugbayes.io.textfile import read_text_lines, refuse_overwrite
from jugbayes.model import catalog

_GLOBAL = {"red_noise_log10_A": "TNREDAMP", "red_noise_gamma": "TNREDGAM",
           "dm_gp_log10_A": "TNDMAMP", "dm_gp_gamma": "TNDMGAM"}
_WHITE = ("efac", "log10_t2equad", "log10_tnequad", "log10_equad", "log10_ecorr")  # key suffixes, per backend
_PREFERRED_FLAGS = ("f", "group", "sys", "be")  # which TOA flag a new line selects on, when several carry the name


def read_noise_dict(path: str | os.PathLike) -> dict[str, float]:
    """The JSON object in ``path`` as {key: float}; one ``FILE:LINE: problem`` error for anything else."""
    text = "\n".join(read_text_lines(path, "noise dictionary (JSON)"))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError(path, 1, "a noise dictionary is one JSON object of \"<PSR>_<backend>_efac\": value, ...")
    out = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(path, _key_line(text, key), f"{key}: expected a finite number, got {value!r}")
        out[key] = float(value)
    return out


def _key_line(text: str, key: str) -> int | None:
    at = text.find(json.dumps(key))
    return None if at < 0 else text.count("\n", 0, at) + 1


def pulsar_names(par: ParFile) -> tuple[str, ...]:
    """The names enterprise may have keyed this pulsar by: the PSR/PSRJ/PSRB value, with and without J/B."""
    name = par.pulsar or ""
    return tuple(dict.fromkeys(n for n in (name, name.lstrip("JB")) if n))


def split_key(key: str, psr: str) -> tuple[str, str] | None:
    """(backend, name) of one of this pulsar's keys (backend "" for red/DM noise), or None when not its."""
    if not key.startswith(psr + "_"):
        return None
    rest = key[len(psr) + 1:]
    if rest in _GLOBAL:
        return "", rest
    for suffix in _WHITE:
        if rest.endswith("_" + suffix) and len(rest) > len(suffix) + 1:
            backend = rest[: -len(suffix) - 1]
            return backend.removeprefix("basis_ecorr_") if suffix == "log10_ecorr" else backend, suffix
    return "?", rest


def _entries(nd: dict[str, float], par: ParFile, path) -> dict[tuple[str, str], float]:
    """{(backend, name): value} for this pulsar; warns about its keys jugbayes has no place for."""
    for psr in pulsar_names(par):
        mine = {key: split_key(key, psr) for key in nd}
        mine = {k: v for k, v in mine.items() if v is not None}
        if mine:
            unknown = [k for k, (be, _) in mine.items() if be == "?"]
            if unknown:
                warnings.warn(f"{path}: noise terms jugbayes does not model, ignored: {', '.join(unknown[:12])}",
                              stacklevel=3)
            return {v: nd[k] for k, v in mine.items() if v[0] != "?"}
    others = sorted({k.split("_")[0] for k in nd})
    raise InputError(path, None, f"no entry for pulsar {par.pulsar or '(the .par names none)'}; it has "
                                 f"{', '.join(others[:8])}{', ...' if len(others) > 8 else ''}")


def _flag_for(backend: str, toas) -> str | None:
    """The TOA flag whose value is ``backend`` (-f before -group, -sys, -be), or None if no TOA has one."""
    found = {flag for flags in toas.flags for flag, value in flags.items() if value == backend}
    return next((f for f in _PREFERRED_FLAGS if f in found), min(found) if found else None)


def _line_for(par: ParFile, families: tuple[str, ...], backend: str) -> Parameter | None:
    """The first EFAC/EQUAD/... line selecting TOAs by a flag whose value is ``backend``."""
    for family in families:
        for p in par.masked(family):
            if len(p.selector) == 2 and p.selector[0].startswith("-") and p.selector[1] == backend:
                return p
    return None


def _number(x: float) -> str:
    return repr(float(x))


def apply_noise_dict(par: ParFile, nd: dict[str, float], toas, path=None) -> tuple[ParFile, list[str]]:
    """``par`` with the noise values of ``nd`` (this pulsar's entries) and what changed, one line each.

    Lines are set in place (their fit flags and selectors kept); a backend without a line gets a new one on
    the TOA flag that carries its name (none: warned, skipped); red/DM noise lines are set or added.
    """
    entries = _entries(nd, par, path or "<noise dict>")
    changes: dict[int, Parameter] = {}
    added: list[Parameter] = []
    report: list[str] = []

    def put(families, family, selector, value_text, what):
        p = _line_for(par, families, selector[1]) if selector else par.get(family)
        if p is None:
            spec = catalog.lookup(family)
            count = len(par.masked(family)) + sum(q.spec.name == family for q in added)
            p = Parameter(f"{family}{count + 1}" if spec.mask else family, family, value_text,
                          selector=selector, spec=spec, line=None)
            added.append(p)
            report.append(f"added {' '.join((family, *selector))} {value_text} ({what})")
            return
        new = dataclasses.replace(p, value=value_text)
        changes[id(p)] = new
        report.append(f"{' '.join((p.written_name, *p.selector))} {p.value} -> {value_text} ({what})")

    backends = dict.fromkeys(be for be, _ in entries if be)
    for backend in backends:
        get = {name: v for (be, name), v in entries.items() if be == backend}
        line = _line_for(par, ("EFAC", "EQUAD", "TNEQ", "ECORR"), backend)
        flag = line.selector[0] if line is not None else _flag_for(backend, toas)
        if flag is None:
            warnings.warn(f"{path}: no TOA has a flag with value {backend}: its noise values are not used",
                          stacklevel=2)
            continue
        flag = flag if flag.startswith("-") else "-" + flag
        sel = (flag, backend)
        efac = get.get("efac")
        if efac is None:
            p = _line_for(par, ("EFAC",), backend)
            efac_used = p.as_float() if p is not None else 1.0
        else:
            efac_used = efac
            put(("EFAC",), "EFAC", sel, _number(efac), "efac")
        t2 = get.get("log10_t2equad")
        tn = get.get("log10_tnequad", get.get("log10_equad"))
        if t2 is None and tn is not None:  # sigma^2 = efac^2 err^2 + tneq^2 = efac^2 (err^2 + (tneq/efac)^2)
            t2 = tn - math.log10(efac_used)
        if t2 is not None:
            tneq = _line_for(par, ("TNEQ",), backend)
            if tneq is not None and _line_for(par, ("EQUAD",), backend) is None:
                put(("TNEQ",), "TNEQ", sel, _number(t2), "log10 s")
            else:
                put(("EQUAD",), "EQUAD", sel, _number(10.0**t2 * 1e6), "us")
        if "log10_ecorr" in get:
            put(("ECORR",), "ECORR", sel, _number(10.0 ** get["log10_ecorr"] * 1e6), "us")
    for (be, name), v in entries.items():
        if not be:
            put((), _GLOBAL[name], (), _number(v), name)
    lines = [changes.get(id(p), p) for p in par.lines] + added
    return dataclasses.replace(par, lines=lines), report


_SUFFIX = {"EFAC": "efac", "EQUAD": "log10_t2equad", "TNEQ": "log10_t2equad", "ECORR": "log10_ecorr"}


def enterprise_name(label: str, psr: str) -> str | None:
    """enterprise's name of a noise label (``EFAC -f X`` -> ``<psr>_X_efac``, ``TNREDAMP`` ->
    ``<psr>_red_noise_log10_A``), or None (a timing parameter, or a selector that is not a flag)."""
    family, *selector = label.split()
    if family in _SUFFIX:
        flag_selector = len(selector) == 2 and selector[0].startswith("-")
        return f"{psr}_{selector[1]}_{_SUFFIX[family]}" if flag_selector else None
    key = {v: k for k, v in _GLOBAL.items()}.get(label)
    return None if key is None else f"{psr}_{key}"


def noise_dict(par: ParFile, values: dict[str, float] | None = None) -> dict[str, float]:
    """The .par's noise values as an enterprise dictionary; ``values`` ({noise label: value in sampling units,
    as :func:`jugbayes.model.noise.noise_parameters`}) replace them, e.g. posterior medians."""
    from jugbayes.model.noise import noise_label

    values = values or {}
    psr = par.pulsar or "PSR"
    own = {"EFAC": float, "EQUAD": _us_to_log10_s, "TNEQ": float, "ECORR": _us_to_log10_s}
    pairs = [(noise_label(p), own[family](p.as_float())) for family in own for p in par.masked(family)]
    red = _red_pair(par)
    pairs += [("TNREDAMP", red[0]), ("TNREDGAM", red[1]), ("TNDMAMP", _value(par, "TNDMAMP")),
              ("TNDMGAM", _value(par, "TNDMGAM"))]
    out, skipped = {}, []
    for label, value in pairs:
        value = values.get(label, value)
        name = enterprise_name(label, psr)
        if name is None and value is not None:
            skipped.append(label)
        elif value is not None:
            out[name] = float(value)
    if skipped:
        warnings.warn(f"noise lines without a flag selector have no enterprise name, left out: {', '.join(skipped)}",
                      stacklevel=2)
    return out


def _us_to_log10_s(value_us: float) -> float | None:
    return math.log10(value_us * 1e-6) if value_us > 0 else None  # zero: no entry (log10 0 is not a number)


def _value(par: ParFile, name: str) -> float | None:
    p = par.get(name)
    return None if p is None else p.as_float()


def _red_pair(par: ParFile) -> tuple[float | None, float | None]:
    """(log10 A, gamma) of TNREDAMP/TNREDGAM, else TEMPO's RNAMP/RNIDX converted, as the noise model reads them."""
    if par.get("TNREDAMP") is not None or par.get("RNAMP") is None:
        return _value(par, "TNREDAMP"), _value(par, "TNREDGAM")
    from jugbayes.model.noise import rnamp_to_log10_amp

    rnidx = _value(par, "RNIDX")
    return rnamp_to_log10_amp(_value(par, "RNAMP")), None if rnidx is None else -rnidx


def write_noise_dict(nd: dict[str, float], path: str | os.PathLike, *, protect: tuple = ()) -> None:
    """Write ``nd`` as indented JSON, refusing to overwrite any path in ``protect``."""
    from jugbayes.io.output import write_json

    write_json(refuse_overwrite(path, protect), nd, indent=2)
