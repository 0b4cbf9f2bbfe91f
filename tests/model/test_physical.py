"""Physical ranges of .par values at the model boundary: refusals are ``FILE:LINE: problem``."""

from __future__ import annotations

import numpy as np
import pytest

from jugbayes.errors import InputError
from jugbayes.io.par import parse_par_lines
from jugbayes.model.physical import MAX_PHASE_TURNS, check_finite_residuals, check_physical, check_spin_phase


def _par(*lines):
    return parse_par_lines(["PSR J0000+0000", "F0 100", *lines], "p.par", warn=False)


@pytest.mark.parametrize(
    ("lines", "where", "message"),
    [
        (("F1 -1e-15",), None, None),
        (("EFAC -f X 1.2", "EQUAD -f X 0", "ECORR -f X 0", "PX -0.3", "TZRFRQ 0"), None, None),
        (("T2EFAC -f X 0",), "p.par:3", "T2EFAC 0: must be positive"),
        (("EFAC -f X -1.1",), "p.par:3", "EFAC -1.1: must be positive"),
        (("EQUAD -f X 0.1", "T2EQUAD -f Y -0.1"), "p.par:4", "T2EQUAD -0.1: must not be negative"),
        (("TNECORR -f X -1",), "p.par:3", "TNECORR -1: must not be negative"),
        (("TZRFRQ -1400",), "p.par:3", "TZRFRQ -1400: must not be negative"),
        (("TZRFRQ inf",), None, None),
        (("TZRFRQ 1e400",), "p.par:3", "TZRFRQ 1e400: overflows a float"),
    ],
)
def test_check_physical(lines, where, message):
    par = _par(*lines)
    if message is None:
        check_physical(par)
        return
    with pytest.raises(InputError) as exc:
        check_physical(par)
    assert str(exc.value).startswith(f"{where}: {message}")


@pytest.mark.parametrize("f0", ["0", "-61.48", "-0.0"])
def test_f0_must_be_positive(f0):
    par = parse_par_lines(["PSR J1", f"F0 {f0} 1"], "p.par", warn=False)
    with pytest.raises(InputError, match=rf"^p.par:2: F0 {f0}: must be positive"):
        check_physical(par)


def test_spin_phase_bound():
    par = _par("F1 -1e-15")
    dt_s = np.array([-3e8, 1e9])  # 30 years either side
    check_spin_phase(par, [100.0, -1e-15], dt_s)  # 1e11 turns: fine
    with pytest.raises(InputError, match=r"^p.par:3: F1 1e200: the spin phase over these TOAs reaches 5e\+217"):
        check_spin_phase(_par("F1 1e200"), [100.0, 1e200], dt_s)
    assert 100.0 * 1e9 < MAX_PHASE_TURNS < 1e16


def test_non_finite_residual_names_its_toa(tmp_path):
    from jugbayes.io import read_tim

    tim = tmp_path / "t.tim"
    tim.write_text("FORMAT 1\na 1400 55000.1 1.0 gbt\nb 1400 55000.2 1.0 gbt\n")
    toas = read_tim(tim)
    check_finite_residuals(toas, np.array([1e-6, -1e-6]))
    with pytest.raises(InputError, match=rf"^{tim}:3: the model's residual is not finite at this TOA \(1 TOAs"):
        check_finite_residuals(toas, np.array([1e-6, np.nan]))
