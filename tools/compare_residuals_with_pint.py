"""Peer check: jugbayes's pre-fit residuals against PINT's for any .par/.tim, TOA by TOA.

For models the shared reference outputs do not cover (glitches, other binaries, new data).
Run from the project root with jugbayes's Python; PINT runs in another Python (``pip install
pint-pulsar`` there), offline against ``../shared`` via ``shared/tools/pint_offline.py``::

    python tools/compare_residuals_with_pint.py PAR TIM --pint-python /path/to/python [--clk STD]

Prints the largest and rms difference (ns) without removing any mean (both use absolute phase
from TZR, nearest pulse, time = phase / spin frequency at each TOA).  PINT is a peer to compare
with, never a dependency of jugbayes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_PINT_CHILD = r"""
import sys; sys.path.insert(0, sys.argv[1]); import pint_offline
import numpy as np
from pint.models import get_model; from pint.toa import get_TOAs; from pint.residuals import Residuals
out = {}
for i in range(2, len(sys.argv) - 1, 2):
    m = get_model(sys.argv[i]); t = get_TOAs(sys.argv[i + 1], model=m)
    r = Residuals(t, m, subtract_mean=False, track_mode="nearest")
    out[f"r{i // 2 - 1}"] = r.time_resids.to_value("s").astype(float)
np.savez(sys.argv[-1], **out)
"""


def pint_residuals_s(pairs, pint_python: str, shared: Path) -> list[np.ndarray]:
    """PINT's residuals (s, no mean removed, nearest pulse) for each (par, tim), from one PINT process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pint.npz"
        argv = [str(x) for pair in pairs for x in pair]
        done = subprocess.run([pint_python, "-c", _PINT_CHILD, str(shared / "tools"), *argv, str(out)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"PINT failed:\n{done.stderr[-3000:]}")
        with np.load(out) as data:
            return [data[f"r{i}"] for i in range(len(pairs))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("par")
    ap.add_argument("tim")
    ap.add_argument("--pint-python", required=True, help="a Python with pint-pulsar installed")
    ap.add_argument("--shared", default=os.environ.get("JUGBAYES_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--clk", help="time standard override for jugbayes (PINT reads UTC(NIST) as TT(BIPM2023))")
    args = ap.parse_args()
    shared = Path(args.shared)

    from jugbayes.io import read_par, read_tim
    from jugbayes.model.timing_model import build_model

    (pint,) = pint_residuals_s([(args.par, args.tim)], args.pint_python, shared)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        par = read_par(args.par)
        ephem = (par.get("EPHEM").value if par.get("EPHEM") else "DE421").lower()
        model = build_model(par, read_tim(args.tim), clock_dir=shared / "clock",
                            ephem_file=shared / "ephem" / f"{ephem}.bsp", clk=args.clk)
    ours = np.asarray(model.residuals()["time_s"])
    diff_ns = (ours - pint) * 1e9
    print(f"{len(ours)} TOAs: max |jugbayes - PINT| {np.abs(diff_ns).max():.3f} ns, rms {diff_ns.std():.3f} ns "
          f"(mean {diff_ns.mean():.3f} ns, not removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
