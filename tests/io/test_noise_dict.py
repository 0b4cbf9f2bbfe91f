"""enterprise noise dictionaries: names, units and conventions, round trips, clean errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import ROOT
from jugbayes.errors import InputError
from jugbayes.io import read_par, read_tim
from jugbayes.io.par import format_par, parse_par_lines
from jugbayes.io.noise_dict import apply_noise_dict, noise_dict, read_noise_dict, split_key

DD = ROOT / "models" / "dd_binary"
PSR = "J1756+1822"  # dd_binary's PSRJ


@pytest.fixture(scope="module")
def dd():
    return read_par(DD / "dd_binary.par", warn=False), read_tim(DD / "dd_binary.tim")


def test_par_noise_in_enterprise_names_and_units(dd):
    nd = noise_dict(dd[0])
    # dd_binary.par: T2EFAC -f Rcvr1_2_ASP 1.1, T2EQUAD 0.1 (us), ECORR 0.15 (us)
    assert nd[f"{PSR}_Rcvr1_2_ASP_efac"] == 1.1
    assert nd[f"{PSR}_Rcvr1_2_ASP_log10_t2equad"] == pytest.approx(-7.0, abs=1e-14)  # log10(0.1e-6 s)
    assert nd[f"{PSR}_Rcvr1_2_ASP_log10_ecorr"] == pytest.approx(math.log10(0.15e-6), abs=1e-14)
    assert nd[f"{PSR}_Rcvr_800_GUPPI_log10_t2equad"] == pytest.approx(math.log10(0.05e-6), abs=1e-14)
    assert len(nd) == 12 and not any("red_noise" in k for k in nd)


def test_apply_sets_lines_in_place_and_round_trips(dd):
    par, toas = dd
    nd = {f"{PSR}_Rcvr1_2_ASP_efac": 1.3, f"{PSR}_Rcvr1_2_ASP_log10_t2equad": -6.5,
          f"{PSR}_Rcvr_800_ASP_log10_ecorr": -6.0, f"{PSR}_red_noise_log10_A": -13.5, f"{PSR}_red_noise_gamma": 3.2,
          "J0000+0000_A_efac": 9.0, "gw_log10_A": -14.0}  # another pulsar's and a common process: not ours
    new, changes = apply_noise_dict(par, nd, toas)
    assert new.masked("EFAC")[0].value == "1.3" and new.masked("EFAC")[0].selector == ("-f", "Rcvr1_2_ASP")
    assert float(new.masked("EQUAD")[0].value) == pytest.approx(10**-6.5 * 1e6, rel=1e-15)  # us: 0.316 us
    assert float(new.masked("ECORR")[1].value) == pytest.approx(1.0, rel=1e-15)  # 1e-6 s = 1 us
    assert new.get("TNREDAMP").value == "-13.5" and new.get("TNREDGAM").value == "3.2"
    assert len(changes) == 5 and par.masked("EFAC")[0].value == "1.1"  # the input par is not touched
    reread = parse_par_lines(format_par(new).splitlines(), "x.par", warn=False)
    back = noise_dict(reread)
    for key, value in nd.items():
        if key.startswith(PSR):
            assert back[key] == pytest.approx(value, abs=1e-13)
    assert back[f"{PSR}_Rcvr1_2_GUPPI_efac"] == 1.02  # what the dictionary did not name is kept


def test_tnequad_becomes_the_equivalent_t2equad(dd):
    """TempoNest's sigma^2 = EFAC^2 err^2 + EQUAD^2 (enterprise's log10_tnequad) is written as the TEMPO2 EQUAD
    that gives the same sigma: EFAC^2 (err^2 + EQUAD_t2^2)."""
    from jugbayes.model.noise import build_noise

    par, toas = dd
    efac, log10_tnequad = 1.4, -6.2
    nd = {f"{PSR}_Rcvr_800_GUPPI_efac": efac, f"{PSR}_Rcvr_800_GUPPI_log10_tnequad": log10_tnequad}
    new, _ = apply_noise_dict(par, nd, toas)
    noise = build_noise(new, toas, np.asarray(toas.mjd, float) * 86400.0)
    sel = np.array([f.get("f") == "Rcvr_800_GUPPI" for f in toas.flags])
    err_s = np.asarray(toas.error_us, float)[sel] * 1e-6
    from jugbayes.model.noise import toa_sigma_and_basis

    sigma = toa_sigma_and_basis(noise, toas.error_us, sigma_only=True)[0][sel]
    np.testing.assert_allclose(sigma, np.sqrt(efac**2 * err_s**2 + 10 ** (2 * log10_tnequad)), rtol=1e-14)


def test_new_backend_line_goes_on_the_flag_that_carries_it(dd):
    par, toas = dd
    stripped = parse_par_lines([ln for ln in format_par(par).splitlines() if "Rcvr_800_ASP" not in ln], "p.par",
                               warn=False)
    new, changes = apply_noise_dict(stripped, {f"{PSR}_Rcvr_800_ASP_efac": 1.2,
                                               f"{PSR}_basis_ecorr_Rcvr_800_ASP_log10_ecorr": -6.3}, toas)
    added = [p for p in new.masked("EFAC") + new.masked("ECORR") if p.selector == ("-f", "Rcvr_800_ASP")]
    assert [p.spec.name for p in added] == ["EFAC", "ECORR"] and all(c.startswith("added") for c in changes)
    assert float(added[1].value) == pytest.approx(10**-6.3 * 1e6, rel=1e-15)
    with pytest.warns(UserWarning, match="no TOA has a flag with value NOPE"):
        apply_noise_dict(par, {f"{PSR}_NOPE_efac": 1.0}, toas)
    with pytest.warns(UserWarning, match="does not model.*chrom_gp_log10_A"):
        apply_noise_dict(par, {f"{PSR}_chrom_gp_log10_A": -14.0}, toas)


def test_key_names():
    assert split_key("J1909-3744_L-wide_ASP_log10_t2equad", "J1909-3744") == ("L-wide_ASP", "log10_t2equad")
    assert split_key("J1909-3744_red_noise_gamma", "J1909-3744") == ("", "red_noise_gamma")
    assert split_key("J1910_x_efac", "J1909-3744") is None


@pytest.mark.parametrize("text,line,what", [
    ('{\n "a": 1,\n "b": \n}', 4, "not JSON"),
    ('[1, 2]', 1, "one JSON object"),
    ('{\n "J1756+1822_A_efac": 1,\n "J1756+1822_B_efac": "x"\n}', 3, "expected a finite number"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, line, what):
    path = tmp_path / "n.json"
    path.write_text(text)
    with pytest.raises(InputError, match=what) as exc:
        read_noise_dict(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")


def test_no_entry_for_this_pulsar_names_those_it_has(dd, tmp_path):
    with pytest.raises(InputError, match="no entry for pulsar J1756.*J0437"):
        apply_noise_dict(dd[0], {"J0437-4715_A_efac": 1.0}, dd[1], path="n.json")


def test_cli_reads_and_writes_noise_dicts(tmp_path, capsys):
    from jugbayes.cli import main

    nd_in, nd_out = tmp_path / "in.json", tmp_path / "out.json"
    nd_in.write_text(json.dumps({f"{PSR}_Rcvr1_2_ASP_efac": 2.0, f"{PSR}_Rcvr1_2_ASP_log10_t2equad": -6.0}))
    sources = ["--clock-dir", str(ROOT.parent / "shared" / "clock"),
               "--ephem-file", str(ROOT.parent / "shared" / "ephem" / "de421.bsp")]
    args = ["fit", str(DD / "dd_binary.par"), str(DD / "dd_binary.tim"), "--fit", "F0,F1", "--noise-dict",
            str(nd_in), "--write-noise-dict", str(nd_out), *sources]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "T2EFAC -f Rcvr1_2_ASP 1.1 -> 2.0 (efac)" in captured.err and f"wrote {nd_out}" in captured.out
    out = json.loads(nd_out.read_text())
    assert out[f"{PSR}_Rcvr1_2_ASP_efac"] == 2.0 and out[f"{PSR}_Rcvr1_2_ASP_log10_t2equad"] == pytest.approx(-6.0)
    assert out[f"{PSR}_Rcvr_800_ASP_efac"] == 1.15
