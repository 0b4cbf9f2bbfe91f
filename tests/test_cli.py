"""The ``jugbayes`` command line: help, inspect, convert, and clean errors (exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATASETS, PARFILES, ROOT
from jugbayes.cli import build_parser, main

NGC_PAR = DATASETS / "NGC6440E" / "NGC6440E.par"
NGC_TIM = DATASETS / "NGC6440E" / "NGC6440E.tim"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jugbayes", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_help_lists_subcommands():
    res = run_cli("--help")
    assert res.returncode == 0
    for name in _subcommands():
        assert name in res.stdout
    assert {"inspect", "convert"} <= set(_subcommands())


@pytest.mark.parametrize("name", _subcommands())
def test_each_subcommand_has_help(name):
    res = run_cli(name, "--help")
    assert res.returncode == 0 and "usage: jugbayes " + name in res.stdout
    assert "%%" not in res.stdout  # a description is printed as written: "68%%" would show doubled


def test_inspect_json_on_real_data():
    res = run_cli("inspect", NGC_PAR, NGC_TIM, "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert {"pulsar", "params", "unused_params", "ntoas", "mjd_range", "observatories"} <= set(d)
    assert d["pulsar"] == "1748-2021E" and d["ntoas"] == 62 and d["observatories"] == {"gbt": 62}
    assert d["params"]["F0"] == {"value": "61.485476554", "fit": True, "uncertainty": None, "component": "spin"}
    assert d["params"]["F1"]["value"] == "-1.181D-15"  # as written
    assert d["mjd_range"][0] == pytest.approx(53478.2858714192189, abs=1e-9)
    assert d["unused_params"] == []


def test_inspect_json_lists_unused_and_selectors():
    res = run_cli("inspect", DATASETS / "testtimes" / "testtimes.par", "--json")  # its DIALATEFREQ is a typo
    assert res.returncode == 0
    d = json.loads(res.stdout)
    assert "DIALATEFREQ" in d["unused_params"] and d["ntoas"] is None
    assert "warning:" in res.stderr and "DIALATEFREQ" in res.stderr
    res = run_cli("inspect", DATASETS / "B1855+09_9yv1" / "B1855+09_NANOGrav_9yv1.gls.par", "--json")
    d = json.loads(res.stdout)
    assert d["params"]["JUMP1"]["selector"][0] == "-fe"


def test_inspect_text():
    res = run_cli("inspect", NGC_PAR, NGC_TIM)
    assert res.returncode == 0
    assert "1748-2021E" in res.stdout and "TOAs: 62" in res.stdout and "gbt (62)" in res.stdout


@pytest.mark.parametrize(
    ("par_text", "tim_text", "where"),
    [
        ("PSR J1\nF0 1.2.3 1\n", None, "bad.par:2: bad number"),
        ("PSR J1\nF0 1\nF0 2\n", None, "bad.par:3: duplicated parameter F0"),
        ("PSR J1\nF0 1\n", "C a comment\nhello there\n", "bad.tim:2: unrecognised line"),
        ("PSR J1\nF0 1\n", "FORMAT 1\ntoa1 1400 55000.5 1.0 gbt\nhello\n", "bad.tim:3: TEMPO2 TOA line needs"),
        ("PSR J1\nF0 1\n", "FORMAT 1\nINCLUDE nope.tim\n", "bad.tim:2: INCLUDE target not found"),
        ("PSR J1\nF0 1\n", "FORMAT 1\nJUMP\ntoa1 1400 55000.5 1.0 gbt\n", "bad.tim:2: JUMP block"),
        ("", None, "bad.par:1: empty file"),
        ("# only comments\n# here\n", None, "bad.par:2: no parameters found"),
        ("PSR J1\nF0 1\n", "C nothing\nFORMAT 1\n", "bad.tim:2: no TOAs found"),
    ],
)
def test_bad_input_is_one_clean_line_exit_2(tmp_path, par_text, tim_text, where):
    par = tmp_path / "bad.par"
    par.write_text(par_text)
    args = ["inspect", par]
    if tim_text is not None:
        tim = tmp_path / "bad.tim"
        tim.write_text(tim_text)
        args.append(tim)
    res = run_cli(*args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path)) and where in lines[0]


def test_binary_file_is_clean_error(tmp_path):
    blob = tmp_path / "x.par"
    blob.write_bytes(bytes(range(256)) * 8)
    res = run_cli("inspect", blob)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"{blob}:1: binary file")


def test_convert_par_and_tim(tmp_path):
    out_par, out_tim = tmp_path / "o.par", tmp_path / "o.tim"
    assert run_cli("convert", PARFILES / "J1513-5908_PKS_alldata_white.par", "--out", out_par).returncode == 0
    assert "WAVE1" in out_par.read_text()
    res = run_cli("convert", PARFILES / "test1.tim", "--out", out_tim)
    assert res.returncode == 0 and "9 TOAs" in res.stdout
    assert out_tim.read_text().startswith("FORMAT 1")


def test_convert_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "a.par"
    src.write_text("PSR J1\nF0 1.0 1\n")
    res = run_cli("convert", src, "--out", src)
    assert res.returncode == 2 and "refusing to overwrite" in res.stderr
    assert src.read_text() == "PSR J1\nF0 1.0 1\n"


def test_inspect_makes_no_network_connection(monkeypatch, capsys):
    """Nothing is downloaded unless a command asks for it."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert main(["inspect", str(NGC_PAR), str(NGC_TIM)]) == 0
    assert "TOAs: 62" in capsys.readouterr().out


def test_astropy_iers_downloads_are_off():
    code = ("from jugbayes.config import configure_astropy; configure_astropy();"
            "from astropy.utils import iers; assert iers.conf.auto_download is False;"
            "from astropy.time import Time; print(Time('2024-06-01', scale='utc').ut1.iso)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("2024-05-31 23:59:59.9")


def test_readme_quickstart_uses_bundled_example():
    text = (ROOT / "README.md").read_text()
    for rel in ("models/isolated_msp/isolated_msp.par", "models/isolated_msp/isolated_msp.tim"):
        assert rel in text and (ROOT / rel).is_file()
    res = run_cli("inspect", ROOT / "models/isolated_msp/isolated_msp.par", ROOT / "models/isolated_msp/isolated_msp.tim")
    assert res.returncode == 0, res.stderr
    assert "J1234+5612" in res.stdout and "TOAs: 1392" in res.stdout


# ---------------------------------------------------------------- toas

TT_PAR = DATASETS / "testtimes" / "testtimes.par"
TT_TIM = DATASETS / "testtimes" / "testtimes.tim"
_SOURCES = ("--clock-dir", str(DATASETS.parent / "clock"), "--ephem-file", str(DATASETS.parent / "ephem" / "de421.bsp"))


def test_toas_writes_one_row_per_toa(tmp_path, capsys):
    from jugbayes.report.toas_table import COLUMNS

    out = tmp_path / "toas.csv"
    assert main(["toas", str(TT_PAR), str(TT_TIM), "--out", str(out), *_SOURCES]) == 0
    lines = out.read_text().splitlines()
    assert tuple(lines[0].split(",")) == COLUMNS and len(lines) == 1 + 8
    first = dict(zip(COLUMNS, lines[1].split(",")))
    assert first["mjd_utc"] == "52616.1983754206933" and first["obs"] == "gbt"
    assert len(first["tdb_mjd"].split(".")[1]) == 16
    assert float(first["clock_corr_s"]) == pytest.approx(64.184, abs=1e-6)
    assert "wrote" in capsys.readouterr().out


def test_toas_to_stdout_and_refuses_to_overwrite_inputs(tmp_path, capsys):
    assert main(["toas", str(TT_PAR), str(TT_TIM), *_SOURCES]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 9
    copy = tmp_path / "t.tim"
    copy.write_text(TT_TIM.read_text())
    assert main(["toas", str(TT_PAR), str(copy), "--out", str(copy), *_SOURCES]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert copy.read_text() == TT_TIM.read_text()


def test_toas_bad_clk_and_strict_clock_are_clean_errors(tmp_path):
    par = tmp_path / "p.par"
    par.write_text(TT_PAR.read_text().replace("CLK            TT(TAI)", "CLK  TT(XYZ)"))
    res = run_cli("toas", par, TT_TIM, *_SOURCES)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{par}:8: CLK 'TT(XYZ)'" in res.stderr
    empty = tmp_path / "noclocks"
    empty.mkdir()
    res = run_cli("toas", TT_PAR, TT_TIM, "--clock-dir", empty, "--strict-clock", "--ephem-file",
                  DATASETS.parent / "ephem" / "de421.bsp")
    assert res.returncode == 2 and "Traceback" not in res.stderr and "time_ao.dat not found" in res.stderr


def test_toas_missing_ephemeris_is_a_clean_error(tmp_path):
    par = tmp_path / "p.par"
    par.write_text(TT_PAR.read_text().replace("EPHEM          DE421", "EPHEM DE999"))
    res = run_cli("toas", par, TT_TIM, "--clock-dir", DATASETS.parent / "clock")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "ephemeris DE999 not found" in res.stderr and "jugbayes ephem download DE999" in res.stderr


# ---------------------------------------------------------------- residuals

J1744_PAR = DATASETS / "J1744-1134" / "J1744-1134.basic.par"
J1744_TIM = DATASETS / "J1744-1134" / "J1744-1134.Rcvr1_2.GASP.8y.x.tim"


def test_residuals_table_plot_and_mean_modes(tmp_path, capsys):
    import numpy as np

    out, png = tmp_path / "r.csv", tmp_path / "r.png"
    assert main(["residuals", str(J1744_PAR), str(J1744_TIM), "--out", str(out), "--plot", str(png), *_SOURCES]) == 0
    summary_line = capsys.readouterr().out
    assert "1462 TOAs: weighted rms" in summary_line and "chi2" in summary_line
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:6] == ["index", "mjd_utc", "freq_mhz", "error_us", "residual_s", "phase_residual"]
    assert {"delay_roemer_s", "delay_shapiro_s", "delay_dispersion_s"} <= set(header) and len(lines) == 1463
    table = np.array([[float(x) for x in line.split(",")[2:]] for line in lines[1:]])
    resid, err = table[:, 2], table[:, 1]
    w = 1 / err**2
    assert abs(np.sum(w * resid) / np.sum(w)) < 1e-15  # weighted mean removed (the default)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["residuals", str(J1744_PAR), str(J1744_TIM), "--no-mean", *_SOURCES]) == 0
    raw = np.array([float(line.split(",")[4]) for line in capsys.readouterr().out.splitlines()[1:]])
    assert abs(raw.mean()) > 1e-9 and np.allclose(raw - np.sum(w * raw) / np.sum(w), resid, atol=1e-15)


# ---------------------------------------------------------------- fit

def test_fit_wls_writes_par_summary_and_plot(tmp_path, capsys):
    out_par, summary, png = tmp_path / "f.par", tmp_path / "f.json", tmp_path / "f.png"
    args = ["fit", str(NGC_PAR), str(NGC_TIM), "--method", "wls", "--out-par", str(out_par), "--summary", str(summary),
            "--plot", str(png), "--clk", "TT(BIPM2023)", *_SOURCES]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "converged" in text and "F0" in text and "chi2" in text
    data = json.loads(summary.read_text())
    assert set(data["params"]) == {"RAJ", "DECJ", "F0", "F1", "DM"}
    assert data["converged"] and data["dof"] == 62 - 6
    assert data["covariance"]["params"][-1] == "OFFSET" and len(data["covariance"]["matrix"]) == 6
    assert float(data["params"]["RAJ"]["value"]) == pytest.approx(17.8146667630, abs=1e-9)  # decimal hours
    assert "RAJ" in out_par.read_text() and png.read_bytes()[:4] == b"\x89PNG"
    assert NGC_PAR.read_text() != out_par.read_text()


def test_fit_refuses_bad_requests(tmp_path):
    res = run_cli("fit", NGC_PAR, NGC_TIM, "--out-par", NGC_PAR, *_SOURCES)
    assert res.returncode == 2 and "refusing to overwrite" in res.stderr
    res = run_cli("fit", NGC_PAR, NGC_TIM, "--fit", "F0,BOGUS", *_SOURCES)
    assert res.returncode == 2 and "cannot fit BOGUS" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("fit", NGC_PAR, NGC_TIM, "--method", "nuts", *_SOURCES)
    assert res.returncode == 2 and "needs --outdir" in res.stderr


def test_fit_nuts_writes_posterior(tmp_path, capsys):
    import arviz as az

    out, corner = tmp_path / "post", tmp_path / "corner.png"
    assert main(["fit", str(NGC_PAR), str(NGC_TIM), "--method", "nuts", "--outdir", str(out), "--chains", "2",
                 "--warmup", "200", "--samples", "300", "--plot", str(corner), "--clk", "TT(BIPM2023)", *_SOURCES,
                 "--write-chain", str(out / "ptmcmc")]) == 0
    text = capsys.readouterr().out
    assert "NUTS: 2 chains x 300 draws" in text and "r_hat" in text and "mean tree depth" in text
    idata = az.from_netcdf(out / "posterior.nc")
    assert idata.posterior["F0"].shape == (2, 300) and idata.posterior_offset["F0"].shape == (2, 300)
    assert {"tree_depth", "diverging", "energy", "lp"} <= set(idata.sample_stats.data_vars)
    lp = idata.sample_stats["lp"].values
    assert lp.shape == (2, 300) and np.isfinite(lp).all() and lp.std() > 0
    # a Gaussian posterior in k whitened dimensions: lp = const - chi2_k / 2, so its sd is sqrt(k / 2)
    assert lp.std() == pytest.approx(np.sqrt(len(idata.posterior.data_vars) / 2), rel=0.3)
    header = (out / "summary.csv").read_text().splitlines()[0]
    assert "ess_bulk" in header and "(mean-wls)/sigma" in header and "sd/sigma" in header
    assert corner.read_bytes()[:4] == b"\x89PNG" and (out / "residuals.png").read_bytes()[:4] == b"\x89PNG"
    post = (out / "posterior.par").read_text()
    assert "F0" in post and "61.4854765543" in post
    assert az.loo(idata).p_loo > 0 and idata.log_likelihood["residual_s"].shape == (2, 300, 62)
    chain = np.loadtxt(out / "ptmcmc" / "chain_1.txt")
    assert (out / "ptmcmc" / "pars.txt").read_text().split() == list(idata.posterior.data_vars)
    assert chain.shape == (600, len(idata.posterior.data_vars) + 4)


def test_fit_nuts_shows_progress_in_a_log_unless_told_not_to(tmp_path):
    """stderr a pipe (a log file), not a terminal: the sampling progress bar still shows; --no-progress hides it."""
    common = ("fit", NGC_PAR, NGC_TIM, "--method", "nuts", "--chains", "2", "--warmup", "30", "--samples", "30",
              "--clk", "TT(BIPM2023)", *_SOURCES)
    # The bar is ours (the chains run in worker processes and report through a queue), not NumPyro's, which turns
    # itself off under CI or pytest-xdist; those variables are dropped all the same.
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["JUGBAYES_NO_JAX_CACHE"] = "1"
    shown = subprocess.run([sys.executable, "-m", "jugbayes", *map(str, common), "--outdir", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=300, env=env)
    hidden = subprocess.run([sys.executable, "-m", "jugbayes", *map(str, common), "--outdir", str(tmp_path / "b"),
                             "--no-progress", "--workers", "1"], capture_output=True, text=True, timeout=300, env=env)
    assert shown.returncode == 0 and hidden.returncode == 0, shown.stderr + hidden.stderr
    assert "it/s" in shown.stderr or "s/it" in shown.stderr
    assert "it/s" not in hidden.stderr and "s/it" not in hidden.stderr
