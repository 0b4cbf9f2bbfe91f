"""Peer check: jugbayes's noise model (scaled TOA errors, ECORR, red- and DM-noise bases and weights)
against PINT's for any .par/.tim.

Run from the project root with jugbayes's Python; PINT runs in another Python (``pip install
pint-pulsar`` there), offline against ``../shared`` via ``shared/tools/pint_offline.py``::

    python tools/check_noise_with_pint.py PAR TIM --pint-python /path/to/python [--clk STD]

For each noise component both have (EcorrNoise, PLRedNoise, PLDMNoise) it prints the largest relative
difference of the weights and the largest difference of the basis columns relative to each column's
largest entry; and the same for the scaled TOA errors.  PINT is a peer, never a dependency of jugbayes.
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
from pint.models import get_model; from pint.toa import get_TOAs
m = get_model(sys.argv[2]); t = get_TOAs(sys.argv[3], model=m)
out = {"sigma_s": m.scaled_toa_uncertainty(t).to_value("s")}
for name in ("EcorrNoise", "PLRedNoise", "PLDMNoise"):
    if name in m.components:
        c = m.components[name]
        out[name + "_basis"], out[name + "_weights"] = c.get_noise_basis(t), c.get_noise_weights(t)
np.savez(sys.argv[4], **out)
"""


def _compare(label: str, ours_basis, ours_w, pint_basis, pint_w) -> None:
    if ours_basis.shape != pint_basis.shape:
        print(f"{label}: basis shapes differ: jugbayes {ours_basis.shape}, PINT {pint_basis.shape}")
        return
    scale = np.maximum(np.abs(pint_basis).max(axis=0), 1e-300)
    col = np.abs(ours_basis - pint_basis).max(axis=0) / scale
    w = np.abs(ours_w / pint_w - 1)
    print(f"{label}: {ours_basis.shape[1]} columns; basis max |diff|/column max {col.max():.2e}; "
          f"weights max relative diff {w.max():.2e}")


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
    from jugbayes.model.noise import noise_for_model, toa_sigma_and_basis
    from jugbayes.model.timing_model import build_model

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pint.npz"
        subprocess.run([args.pint_python, "-c", _PINT_CHILD, str(shared / "tools"), args.par, args.tim, str(out)],
                       check=True, capture_output=True)
        pint = dict(np.load(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        par = read_par(args.par)
        ephem = (par.get("EPHEM").value if par.get("EPHEM") else "DE421").lower()
        model = build_model(par, read_tim(args.tim), clock_dir=shared / "clock",
                            ephem_file=shared / "ephem" / f"{ephem}.bsp", clk=args.clk)
    noise = noise_for_model(model)
    sigma, _, _ = toa_sigma_and_basis(noise, model.toas.error_us)
    print(f"{len(sigma)} TOAs; scaled TOA errors max relative diff {np.abs(sigma / pint['sigma_s'] - 1).max():.2e}")
    pairs = {"EcorrNoise": (noise.ecorr_basis, noise.ecorr_weight_s2),
             "PLRedNoise": (noise.red_basis, noise.red_weight_s2),
             "PLDMNoise": (noise.dm_basis, noise.dm_weight_s2)}
    for name, (basis, weights) in pairs.items():
        if name + "_basis" in pint:
            _compare(name, basis, weights, pint[name + "_basis"], pint[name + "_weights"])
        elif basis.shape[1]:
            print(f"{name}: jugbayes has {basis.shape[1]} columns, PINT has no such component")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
