"""Run PINT (a peer, never a dependency) in another Python, offline against ``../shared``.

``pint_residuals(par, tim, pint_python, shared)`` returns PINT's pre-fit residuals (s; absolute phase
from TZR, nearest pulse, no mean removed) and each delay component (s), one value per TOA in .tim order.
The other Python needs ``pip install pint-pulsar``; ``shared/tools/pint_offline.py`` keeps it offline.  One PINT
process per call: in one process for several data sets, PINT's later results moved by microseconds.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

_CHILD = r"""
import sys; sys.path.insert(0, sys.argv[1]); import pint_offline
import numpy as np
from pint.models import get_model; from pint.toa import get_TOAs; from pint.residuals import Residuals
m = get_model(sys.argv[2]); t = get_TOAs(sys.argv[3], model=m)
r = Residuals(t, m, subtract_mean=False, track_mode="nearest")
out = {"resid_s": r.time_resids.to_value("s").astype(float)}
for f in m.delay_funcs:
    try:
        out["delay_" + f.__name__] = np.asarray(f(t).to_value("s"), dtype=float)
    except TypeError:  # a component that needs the delays before it (WaveX): not tabulated
        pass
np.savez(sys.argv[4], **out)
"""


def pint_residuals(par: str | Path, tim: str | Path, pint_python: str, shared: str | Path) -> dict[str, np.ndarray]:
    """PINT's residuals and delay components for ``par``/``tim`` (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pint.npz"
        done = subprocess.run([pint_python, "-c", _CHILD, str(Path(shared) / "tools"), str(par), str(tim), str(out)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"PINT failed on {par}:\n{done.stderr[-3000:]}")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


_WIDEBAND_CHILD = r"""
import sys, json; sys.path.insert(0, sys.argv[1]); import pint_offline
import numpy as np
from pint.models import get_model; from pint.toa import get_TOAs
from pint.residuals import WidebandTOAResiduals; from pint.fitter import WidebandDownhillFitter
m = get_model(sys.argv[2]); t = get_TOAs(sys.argv[3], model=m)
r = WidebandTOAResiduals(t, m)
out = {"index": np.asarray(r.dm.relevant_toas, dtype=int), "dm_resid": r.dm.resids_value.astype(float),
       "dm_error_scaled": r.dm.get_data_error().value.astype(float),
       "dm_error": r.dm.get_data_error(scaled=False).value.astype(float),
       "model_dm": np.asarray(m.total_dm(t).value, dtype=float)[r.dm.relevant_toas]}
free = list(m.free_params)
before = {p: getattr(m, p).value for p in free}
f = WidebandDownhillFitter(t, m); f.fit_toas(maxiter=30)
fit = {"chi2": float(f.resids.chi2), "dof": int(f.resids.dof), "chi2_prefit": float(r.chi2), "params": {}}
for p in free:
    q = getattr(f.model, p)
    fit["params"][p] = {"delta": str(np.longdouble(q.value) - np.longdouble(before[p])), "sigma": float(q.uncertainty_value),
                        "value": str(q.value), "units": str(q.units)}
out["dm_resid_postfit"] = f.resids.dm.resids_value.astype(float)
np.savez(sys.argv[4], **out)
open(sys.argv[4] + ".json", "w").write(json.dumps(fit))
"""


def pint_wideband(par: str | Path, tim: str | Path, pint_python: str, shared: str | Path) -> tuple[dict, dict]:
    """PINT's wideband DM residuals (pc cm^-3; ``index`` the TOAs with ``-pp_dm``, pre- and post-fit), its scaled
    and raw DM errors, and its WidebandDownhillFitter fit (free parameters' changes as decimal strings and
    sigmas in PINT's units, chi2, dof)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pint.npz"
        done = subprocess.run([pint_python, "-c", _WIDEBAND_CHILD, str(Path(shared) / "tools"), str(par), str(tim),
                               str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"PINT failed on {par}:\n{done.stderr[-3000:]}")
        with np.load(out) as data:
            arrays = {k: data[k] for k in data.files}
        return arrays, json.loads(Path(str(out) + ".json").read_text())
