"""Compile once, fit many (issue 28): data sets of one model kind and other TOA counts in one bucket
(:mod:`jugbayes.model.padding`) reuse the compiled programs, counted from JAX's compilation events, in a
validation study and in PTA tasks."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import jax
import pytest
from conftest import CLOCK_DIR, EPHEM_DIR, ROOT, small_study_toml

from jugbayes.fit import wls
from jugbayes.model import padding

ISOLATED = ROOT / "models" / "isolated_msp"
_EVENTS: list[str] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda name, secs, **kw: _EVENTS.append(kw.get("fun_name", "?")) if name.endswith("backend_compile_duration")
    else None)




@contextmanager
def compiles():
    """The names of the programs XLA compiled (or loaded from JAX's cache) inside the block."""
    start = len(_EVENTS)
    got: list[str] = []
    yield got
    got.extend(_EVENTS[start:])


def _cut(n: int, folder: Path) -> Path:
    """The bundled isolated pulsar's .tim cut to its first ``n`` TOAs."""
    lines = (ISOLATED / "isolated_msp.tim").read_text().splitlines(keepends=True)
    head = [ln for ln in lines if ln.split()[:1] in (["FORMAT"], ["MODE"])]
    toas = [ln for ln in lines if ln.strip() and ln not in head and not ln.startswith(("C ", "#"))]
    path = folder / f"J1234+5612.cut{n}.tim"
    path.write_text("".join(head + toas[:n]))
    return path


def test_pta_tasks_of_one_model_and_two_toa_counts_compile_once(tmp_path):
    """Two pulsars' tasks in one worker process, same .par, 1300 and 1350 TOAs (one bucket): the second task
    compiles nothing; a third of 900 TOAs (another bucket) compiles the fitter again."""
    from jugbayes.pta.source import PulsarJob
    from jugbayes.pta.task import run_pulsar

    assert padding.bucket_size(1300) == padding.bucket_size(1350) != padding.bucket_size(900)
    options = {"clock_dir": str(CLOCK_DIR), "ephem_file": str(EPHEM_DIR / "de421.bsp"), "fit": None,
               "freeze": None, "plot": False}
    wls._SHARED_STEPS.clear()
    rows, counts = [], []
    for i, n in enumerate((1300, 1350, 900)):
        job = PulsarJob(f"P{i}", str(ISOLATED / "isolated_msp.par"), str(_cut(n, tmp_path)), options)
        with compiles() as got:
            rows.append(run_pulsar(job, tmp_path / "out"))
        counts.append(got)
    assert [r["status"] for r in rows] == ["ok"] * 3 and [r["ntoas"] for r in rows] == [1300, 1350, 900]
    assert len(counts[0]) >= 3 and counts[1] == [] and len(counts[2]) >= 3, counts


def test_validation_studies_of_two_toa_counts_share_the_fitter(tmp_path):
    """Two studies of one .par whose layouts have 24 and 28 TOAs (one bucket), in one process: the second
    study's fits compile none of the fitter's programs (its simulated TOAs' own residual programs aside)."""
    from jugbayes.validate import load_config, run_study

    fitter = {"jit(step)", "jit(chi2_at)", "jit(chi2_many)", "jit(_fit_factor)", "jit(flat)", "jit(call)"}
    wls._SHARED_STEPS.clear()
    counts = []
    for ntoa in (24, 28):
        cfg = tmp_path / f"s{ntoa}.toml"
        cfg.write_text(small_study_toml(ntoa, n_datasets=2, sbc=False))
        with compiles() as got:
            run_study(load_config(cfg), tmp_path / f"run{ntoa}", workers=1, progress=False)
        counts.append([name for name in got if name in fitter])
    assert len(counts[0]) >= 3 and counts[1] == [], counts


if __name__ == "__main__":
    pytest.main([__file__])
