"""What a PTA rerun may skip, and the summary rows of pulsars a run did not get to (no fitting here)."""

from __future__ import annotations

import csv
import json

import pytest

from jugbayes.errors import JugbayesError
from jugbayes.pta import store
from jugbayes.pta.source import PulsarJob
from jugbayes.pta.summary import write_summary


def _job(tmp_path, name="J1", **options):
    par, tim = tmp_path / f"{name}.par", tmp_path / f"{name}.tim"
    par.write_text(f"PSRJ {name}\n")
    tim.write_text("FORMAT 1\nINCLUDE more.toas\n")
    (tmp_path / "more.toas").write_text("toa lines\n")
    return PulsarJob(name, str(par), str(tim), dict(options))


def _publish(job, outdir, status="ok", run="r1", extra_files=()):
    stage = store.staging(outdir, job.name)
    for f in store.OUTPUTS:
        (stage / f).write_text("x\n")
    row = {"pulsar": job.name, "status": status, "chi2": 12.5, "run": run}
    files = [job.par, job.tim, *extra_files]
    store.write_json(stage / store.RESULT, {"row": row, "inputs": store.fingerprint(job.options, files)})
    store.publish(stage, outdir, job.name)


def test_a_result_is_current_until_an_input_an_include_or_an_option_changes(tmp_path):
    out = tmp_path / "out"
    store.open_outdir(out)
    job = _job(tmp_path, fit="F0")
    assert not store.is_current(job, out / job.name)
    _publish(job, out, extra_files=[tmp_path / "more.toas"])
    assert store.is_current(job, out / job.name)
    assert not store.is_current(PulsarJob(job.name, job.par, job.tim, {"fit": "F0,F1"}), out / job.name)
    (tmp_path / "more.toas").write_text("other toa lines\n")
    assert not store.is_current(job, out / job.name)
    (tmp_path / "more.toas").write_text("toa lines\n")
    assert store.is_current(job, out / job.name)
    (out / job.name / "fitted.par").unlink()
    assert not store.is_current(job, out / job.name)
    _publish(job, out, status="failed")  # failures are tried again
    assert not store.is_current(job, out / job.name) and not list((out / store.PARTIAL).iterdir())


def test_outdir_is_refused_unless_new_empty_or_made_by_pta(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(JugbayesError, match="is not empty and holds no pta.json"):
        store.open_outdir(tmp_path)
    store.open_outdir(tmp_path / "new")
    (tmp_path / "new" / store.PARTIAL / "J1.abc").mkdir()  # left by an interrupted run
    store.open_outdir(tmp_path / "new")
    assert not list((tmp_path / "new" / store.PARTIAL).iterdir())


def test_summary_marks_pulsars_an_interrupted_run_did_not_redo(tmp_path):
    out = tmp_path / "out"
    store.open_outdir(out)
    done, old, never = (_job(tmp_path, n) for n in ("J1", "J2", "J3"))
    _publish(done, out, run="now")
    _publish(old, out, run="before")
    counts = write_summary([done, old, never], out, redo={"J1", "J2", "J3"}, run="now")
    assert counts == {"ok": 1, "stale": 1, "missing": 1}
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["pulsar"], r["status"], r["chi2"]) for r in rows] == [("J1", "ok", "12.5"), ("J2", "stale", "12.5"),
                                                                    ("J3", "missing", "")]
    assert "interrupted before this pulsar was fitted again" in rows[1]["error"]
    assert [r["status"] for r in json.loads((out / "summary.json").read_text())] == ["ok", "stale", "missing"]
    assert write_summary([done, old], out) == {"ok": 2}  # not asked to redo: as they are
