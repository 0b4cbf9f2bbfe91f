"""Read a ``fit --method nuts --write-chain DIR`` export with la_forge (a peer, never a dependency) and compare
its means and standard deviations (ddof 1, as ArviZ) with the posterior's summary.csv.

    python tools/check_chain_with_la_forge.py CHAIN_DIR OUTDIR/summary.csv --la-forge-python PY

``PY`` is a Python with ``la_forge`` installed (``pip install la_forge``); it runs la_forge's ``Core`` on the
folder (burn-in 0: our draws are post-warm-up) and prints one JSON object per parameter.  Exit status 1 when
any parameter's mean or sd differs from summary.csv's by more than 1e-4 of the sd
(absolute F0 values in float64 carry only a few digits of its sd).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys

_READ = """
import json, sys
import numpy as np
from la_forge.core import Core
c = Core(chaindir=sys.argv[1], burn=0)
out = {p: [float(np.mean(c.get_param(p, to_burn=False))), float(np.std(c.get_param(p, to_burn=False), ddof=1))]
       for p in c.params if p not in ("lnpost", "lnlike", "chain_accept", "pt_chain_accept")}
print(json.dumps(out))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("chain_dir")
    ap.add_argument("summary_csv")
    ap.add_argument("--la-forge-python", required=True)
    args = ap.parse_args(argv)
    got = json.loads(subprocess.run([args.la_forge_python, "-c", _READ, args.chain_dir], check=True,
                                    capture_output=True, text=True).stdout)
    with open(args.summary_csv, newline="") as f:
        ours = {row[""] or row.get("parameter"): row for row in csv.DictReader(f)}
    worst = 0.0
    for name, (mean, sd) in got.items():
        row = ours.get(name)
        if row is None:
            print(json.dumps({"param": name, "problem": "not in summary.csv"}))
            worst = float("inf")
            continue
        ref_sd = float(row["sd"])
        d_sd = abs(sd - ref_sd) / ref_sd
        d_mean = abs(mean - float(row["mean"])) / ref_sd
        worst = max(worst, d_sd, d_mean)
        print(json.dumps({"param": name, "la_forge_mean": mean, "mean": float(row["mean"]), "la_forge_sd": sd,
                          "sd": ref_sd, "d_mean_over_sd": d_mean, "d_sd_rel": d_sd}))
    print(f"{len(got)} parameters read by la_forge; worst difference {worst:.2e} (of the sd)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
