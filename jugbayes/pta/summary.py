"""``DIR/summary.csv`` and ``DIR/summary.json``: one row per pulsar, read back from each pulsar's folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from jugbayes.pta import store
from jugbayes.pta.task import ROW_FIELDS, failed_row


def read_row(job, outdir: Path, run: str | None = None) -> dict:
    """``job``'s row from ``outdir/<name>/result.json``: a 'missing' row when it has none, a 'stale' one when
    ``run`` is given and the result is from another run (for inputs or options since changed)."""
    try:
        row = json.loads((outdir / job.name / store.RESULT).read_text())["row"]
        if run is not None and row.get("run") != run:
            return row | {"status": "stale", "error": "the run was interrupted before this pulsar was fitted again; "
                          "its folder holds the result for earlier inputs or options"}
        return row
    except (OSError, ValueError, KeyError):
        return failed_row(job, "no result (the run was interrupted before this pulsar finished)") | {
            "status": "missing"}


def write_summary(jobs, outdir: Path, redo=frozenset(), run: str | None = None) -> dict:
    """Write both tables, one pulsar at a time (nothing kept but the counts); return the status counts.
    ``redo``: the names run ``run`` had to fit again, whose results must come from it."""
    counts: dict[str, int] = {}
    csv_tmp, json_tmp = outdir / "summary.csv.tmp", outdir / "summary.json.tmp"
    with open(csv_tmp, "w", newline="") as fcsv, open(json_tmp, "w") as fjson:
        table = csv.DictWriter(fcsv, fieldnames=ROW_FIELDS, extrasaction="ignore")
        table.writeheader()
        fjson.write("[")
        for i, job in enumerate(jobs):
            row = read_row(job, outdir, run if job.name in redo else None)
            table.writerow(row)
            fjson.write(("," if i else "") + "\n " + json.dumps(row))
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        fjson.write("\n]\n")
    csv_tmp.replace(outdir / "summary.csv")
    json_tmp.replace(outdir / "summary.json")
    return counts
