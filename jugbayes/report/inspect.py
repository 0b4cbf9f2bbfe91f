"""What ``jugbayes inspect`` shows: a timing model and a TOA set at a glance."""

from __future__ import annotations

from jugbayes.io.par import ParFile
from jugbayes.io.tim import TOAs

# Flags with more distinct values than this are summarised by count only.
_MAX_LISTED_FLAG_VALUES = 20


def _param_entry(p) -> dict:
    entry = {"value": p.value, "fit": p.fit, "uncertainty": p.uncertainty}
    if p.selector:
        entry["selector"] = list(p.selector)
    if p.written_name.upper() != p.spec.name:  # an alias, or an unpadded index (DMX_1)
        entry["written_as"] = p.written_name
    entry["component"] = p.spec.component
    return entry


def _flag_summary(toas: TOAs) -> dict:
    out = {}
    for flag, values in toas.flag_values().items():
        item = {"ntoas": sum(values.values()), "nvalues": len(values)}
        if len(values) <= _MAX_LISTED_FLAG_VALUES:
            item["values"] = dict(sorted(values.items()))
        out[flag] = item
    return out


def inspect_dict(par: ParFile, toas: TOAs | None = None) -> dict:
    """The ``inspect --json`` object."""
    out = {
        "par_file": par.path,
        "pulsar": par.pulsar,
        "params": {name: _param_entry(p) for name, p in par.params.items()},
        "unused_params": list(dict.fromkeys(p.written_name for p in par.unused)),
        "tim_file": None,
        "ntoas": None,
        "mjd_range": None,
        "observatories": None,
        "flags": None,
    }
    if toas is not None:
        mjd = toas.mjd
        imin, imax = int(mjd.argmin()), int(mjd.argmax())
        out.update(
            tim_file=toas.path,
            ntoas=len(toas),
            mjd_range=[float(mjd[imin]), float(mjd[imax])],
            observatories=dict(sorted(toas.observatory_counts().items())),
            flags=_flag_summary(toas),
        )
    return out


def inspect_text(par: ParFile, toas: TOAs | None = None) -> str:
    """The human-readable ``inspect`` report."""
    d = inspect_dict(par, toas)
    nfit = sum(1 for p in d["params"].values() if p["fit"])
    lines = [f"Pulsar {d['pulsar'] or '(no PSR line)'}   model: {par.path}",
             f"{len(d['params'])} parameters, {nfit} free", ""]
    wn = max([4, *(len(n) for n in d["params"])])
    wv = max([5, *(len(p["value"]) for p in d["params"].values())])
    wu = max([11, *(len(p["uncertainty"] or "") for p in d["params"].values())])
    lines.append(f"  {'name':<{wn}} {'value':>{wv}} fit  {'uncertainty':<{wu}} component")
    for name, p in d["params"].items():
        sel = (" [" + " ".join(p["selector"]) + "]") if "selector" in p else ""
        lines.append(f"  {name:<{wn}} {p['value']:>{wv}} {'Y' if p['fit'] else '':>3}  {p['uncertainty'] or '':<{wu}} "
                     f"{p['component']}{sel}")
    if d["unused_params"]:
        lines += ["", "Not used by the timing model (kept, written back unchanged): " + ", ".join(d["unused_params"])]
    if toas is not None:
        lo, hi = d["mjd_range"]
        lines += ["", f"TOAs: {d['ntoas']} from {d['tim_file']}", f"  MJD range: {lo:.6f} .. {hi:.6f}",
                  "  observatories: " + ", ".join(f"{k} ({v})" for k, v in d["observatories"].items())]
        if d["flags"]:
            lines.append("  flags:")
            for flag, item in d["flags"].items():
                if "values" in item:
                    vals = ", ".join(f"{v} ({n})" for v, n in item["values"].items())
                else:
                    vals = f"{item['nvalues']} distinct values"
                lines.append(f"    -{flag:<10} on {item['ntoas']} TOAs: {vals}")
    return "\n".join(lines)
