"""A posterior in PTMCMCSampler's layout, for la_forge: ``chain_1.txt`` and ``pars.txt``.

``chain_1.txt``: one row per draw (the chains one after another), a column per parameter, then
``lnpost``, ``lnlike``, ``chain_accept`` and ``pt_chain_accept``, the four columns la_forge's ``Core``
expects after the parameters.  ``pars.txt``: the parameter names, one a line: noise parameters by
enterprise's names (``<PSR>_<backend>_efac``, ..._log10_t2equad, ..._log10_ecorr in log10 s,
``<PSR>_red_noise_log10_A``/``_gamma``), timing parameters by their .par names in summary-JSON units
(absolute float64 values: F0 resolves only ~6e-14 Hz this way; posterior.nc keeps the offsets).
lnpost is NUTS's log density (its whitened coordinates, up to a constant), lnlike the summed
``log_likelihood`` group (NaN without one), chain_accept NUTS's acceptance probability, pt_chain_accept 0
(one temperature).  Every draw is after warm-up: load with ``Core(chaindir=..., burn=0)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jugbayes.io.noise_dict import enterprise_name
from jugbayes.report.posterior import ABSOLUTE_GROUP

PTMCMC_COLUMNS = ("lnpost", "lnlike", "chain_accept", "pt_chain_accept")


def chain_columns(idata, pulsar: str) -> tuple[list[str], np.ndarray]:
    """(parameter names, (draws, k + 4) array) of :mod:`ptmcmc`'s layout."""
    post = idata[ABSOLUTE_GROUP] if ABSOLUTE_GROUP in idata.groups() else idata.posterior
    names = [str(n) for n in post.data_vars]
    cols = [np.asarray(post[n].values, dtype=float).reshape(-1) for n in names]
    stats = idata.sample_stats
    n = cols[0].size if cols else 0

    def stat(key):
        return np.asarray(stats[key].values, dtype=float).reshape(-1) if key in stats else np.full(n, np.nan)

    if "log_likelihood" in idata.groups():
        ll = idata.log_likelihood
        lnlike = sum(np.asarray(ll[v].values, float).reshape(n, -1).sum(axis=1) for v in ll.data_vars)
    else:
        lnlike = np.full(n, np.nan)
    cols += [stat("lp"), lnlike, stat("acceptance_rate"), np.zeros(n)]
    return [enterprise_name(m, pulsar) or m.replace(" ", "_") for m in names], np.column_stack(cols)


def write_ptmcmc_chain(idata, par, outdir: str | os.PathLike) -> list[Path]:
    """Write ``outdir/chain_1.txt`` and ``outdir/pars.txt``; returns the two paths."""
    from jugbayes.io.output import atomic_path, atomic_write_text

    names, table = chain_columns(idata, par.pulsar or "PSR")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    chain, pars = out / "chain_1.txt", out / "pars.txt"
    with atomic_path(chain) as tmp:
        np.savetxt(tmp, table, fmt="%.17g", delimiter="\t")
    atomic_write_text(pars, "".join(f"{n}\n" for n in names))
    return [chain, pars]
