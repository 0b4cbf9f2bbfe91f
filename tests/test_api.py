"""The top-level Python API (jugbayes.load and Pulsar): thin shells over the fit, tables and noise dictionaries."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import CLOCK_DIR, DATASETS, EPHEM_DIR, ROOT

NGC = DATASETS / "NGC6440E"


def test_import_jugbayes_stays_light():
    code = "import sys, jugbayes; assert 'jax' not in sys.modules; print(jugbayes.load.__module__)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "jugbayes.api", res.stderr


def test_load_fit_values_and_table_agree_with_pint(tmp_path):
    import jugbayes

    psr = jugbayes.load(NGC / "NGC6440E.par", NGC / "NGC6440E.tim", clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de421.bsp", clk="TT(BIPM2023)")
    pint = json.loads((NGC / "NGC6440E.pint_fit.json").read_text())["DownhillWLSFitter"]["params"]
    assert psr.fit().dof == 62 - 6
    values = {v.name: v for v in psr.values()}
    for name in ("F0", "F1", "DM"):
        assert abs(float(values[name].value - Decimal(pint[name]["value_str"]))) <= 0.02 * pint[name]["uncertainty"]
    assert "F0" in psr.fit_table() and "61.48547655437" in psr.fit_table()
    psr.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="call .sample"):
        psr.summary()


def test_load_applies_a_noise_dict(tmp_path):
    import jugbayes

    nd = tmp_path / "n.json"
    nd.write_text(json.dumps({"J1756+1822_Rcvr_800_GUPPI_efac": 1.5}))
    dd = ROOT / "models" / "dd_binary"
    psr = jugbayes.load(dd / "dd_binary.par", dd / "dd_binary.tim", noise_dict=nd, clock_dir=CLOCK_DIR,
                        ephem_file=EPHEM_DIR / "de421.bsp")
    assert psr.changes == ["T2EFAC -f Rcvr_800_GUPPI 1.05 -> 1.5 (efac)"]
    assert 1.5 in list(psr.noise.efac) and psr.noise_dict()["J1756+1822_Rcvr_800_GUPPI_efac"] == 1.5
