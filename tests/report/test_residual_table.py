"""`jugbayes residuals`' mean removal against PINT's weighted-mean residuals (turns, scaled errors, / F(t))."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, PINT_DATASETS, pint_residual_rows

from jugbayes.cli import main
from jugbayes.report.residual_table import remove_mean


@pytest.mark.parametrize("name", ["B1855+09_9yv1", "J1713+0747", "NGC6440E"])
def test_weighted_mean_residuals_equal_pints(name, tmp_path, capsys):
    """B1855 9yv1 and J1713 have EFAC/EQUAD: PINT weights by the scaled errors (987 ns apart by raw errors)."""
    par_rel, tim_rel = PINT_DATASETS[name]
    out = tmp_path / "r.csv"
    clk = ["--clk", "TT(BIPM2023)"] if name == "NGC6440E" else []  # PINT's reading of UTC(NIST)
    args = ["residuals", str(DATASETS / par_rel), str(DATASETS / tim_rel), "--out", str(out), *clk,
            "--clock-dir", str(CLOCK_DIR), "--ephem-file", str(EPHEM_DIR / ("de421.bsp"))]
    assert main(args) == 0
    ours = np.array([float(line.split(",")[4]) for line in out.read_text().splitlines()[1:]])
    rows = sorted(pint_residual_rows(DATASETS / tim_rel), key=lambda r: int(r["index"]))
    pint = np.array([float(r["resid_wmean_s"]) for r in rows])
    assert np.abs(ours - pint).max() < 0.5e-9
    expected_weights = "EFAC/EQUAD-scaled errors" if name != "NGC6440E" else "mean weights: TOA errors)"
    assert expected_weights in capsys.readouterr().out


def test_mean_is_removed_in_turns_after_rewrapping_to_the_first_toa():
    phase = np.array([0.45, -0.45, 0.40])  # turns: 0.45 and -0.45 are one pulse apart by less than 0.1 turn
    f_hz = np.array([100.0, 100.0, 200.0])
    got = remove_mean(phase, f_hz, np.ones(3), "mean")
    wrapped = np.array([0.0, 0.1, -0.05])  # each less the first, to its nearest pulse
    assert got == pytest.approx((wrapped - wrapped.mean()) / f_hz, abs=1e-15)
    assert remove_mean(phase, f_hz, np.ones(3), "none") == pytest.approx(phase / f_hz, abs=1e-15)
    w = 1.0 / np.array([1.0, 2.0, 4.0]) ** 2
    weighted = remove_mean(phase, f_hz, np.array([1.0, 2.0, 4.0]), "wmean", rewrap=False)
    assert weighted == pytest.approx((phase - np.sum(w * phase) / np.sum(w)) / f_hz, abs=1e-15)
