"""Finding a PTA's .par/.tim pairs: directory layouts, TOML lists, and clean errors."""

from __future__ import annotations

import pytest

from jugbayes.errors import InputError
from jugbayes.pta.source import pulsar_key, read_source

OPTS = {"fit": None, "freeze": "PX", "clk": None}


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")


@pytest.mark.parametrize(("filename", "key"), [
    ("J1909-3744_NANOGrav_12yv4.gls.par", "J1909-3744"), ("B1855+09_NANOGrav_dfg+12.tim", "B1855+09"),
    ("J0437-4715.par", "J0437-4715"), ("NGC6440E.par", "NGC6440E"), ("J1713+0747_11yv0_short.tim", "J1713+0747"),
    ("J1234+5612A.par", "J1234+5612A"),
])
def test_pulsar_key_is_the_designation_the_name_starts_with(filename, key):
    assert pulsar_key(filename) == key


def test_par_and_tim_folders_pair_by_pulsar_name(tmp_path):
    _touch(tmp_path, "par/J1909-3744_NANOGrav_12yv4.gls.par", "tim/J1909-3744_NANOGrav_12yv4.tim",
           "par/B1855+09.par", "tim/B1855+09_all.tim", "out/J0000+0000.par", ".hidden/J2222+2222.par")
    jobs = read_source(tmp_path, OPTS, skip=tmp_path / "out")
    assert [(j.name, j.problem) for j in jobs] == [("B1855+09", None), ("J1909-3744", None)]
    assert jobs[1].par == str(tmp_path / "par/J1909-3744_NANOGrav_12yv4.gls.par")
    assert jobs[1].tim == str(tmp_path / "tim/J1909-3744_NANOGrav_12yv4.tim")
    assert jobs[0].options == OPTS and jobs[0].options is not OPTS


def test_side_by_side_and_per_pulsar_folders(tmp_path):
    _touch(tmp_path, "A/NGC6440E.par", "A/NGC6440E.tim", "J1744-1134.basic.par", "J1744-1134.Rcvr1_2.GASP.tim")
    jobs = read_source(tmp_path, {})
    assert [(j.name, j.tim.split("/")[-1]) for j in jobs] == [("J1744-1134", "J1744-1134.Rcvr1_2.GASP.tim"),
                                                             ("NGC6440E", "NGC6440E.tim")]


def test_unpaired_and_ambiguous_pulsars_become_failing_jobs(tmp_path):
    _touch(tmp_path, "J1744-1134.basic.par", "J1744-1134.ecliptic.par", "J1744-1134.tim", "J0030+0451.par",
           "J2317+1439.tim")
    jobs = {j.name: j for j in read_source(tmp_path, {})}
    assert set(jobs) == {"J1744-1134", "J0030+0451"}  # a .tim without a .par (an INCLUDEd file?) is no pulsar
    assert "2 files for J1744-1134 (J1744-1134.basic.par, J1744-1134.ecliptic.par)" in jobs["J1744-1134"].problem
    assert jobs["J0030+0451"].problem.endswith(f"no .tim file for J0030+0451 under {tmp_path}")


def test_toml_list_with_overrides(tmp_path):
    _touch(tmp_path, "a/x.par", "b/x.tim", "c.par", "c.tim")
    (tmp_path / "pta.toml").write_text('[[pulsar]]\npar = "a/x.par"\ntim = "b/x.tim"\nname = "J1+2"\n'
                                       'freeze = "F1"\nephem-file = "k.bsp"\nstrict-clock = true\n\n'
                                       '[[pulsar]]\npar = "c.par"\ntim = "c.tim"\n')
    one, two = read_source(tmp_path / "pta.toml", OPTS)
    assert (one.name, one.par, one.tim) == ("J1+2", str(tmp_path / "a/x.par"), str(tmp_path / "b/x.tim"))
    assert one.options == {"fit": None, "freeze": "F1", "clk": None, "ephem_file": str(tmp_path / "k.bsp"),
                           "strict_clock": True}
    assert (two.name, two.options) == ("c", OPTS)


def test_toml_list_with_nuts_overrides(tmp_path):
    _touch(tmp_path, "x.par", "x.tim", "priors.toml")
    (tmp_path / "pta.toml").write_text('[[pulsar]]\npar = "x.par"\ntim = "x.tim"\nconfig = "priors.toml"\n'
                                       'marginalize = "linear"\nsample-noise = true\nseed = 7\n')
    opts = OPTS | {"method": "nuts", "config": None, "marginalize": None, "sample_noise": False, "seed": None}
    (job,) = read_source(tmp_path / "pta.toml", opts)
    assert job.options == opts | {"config": str(tmp_path / "priors.toml"), "marginalize": "linear",
                                  "sample_noise": True, "seed": 7}


@pytest.mark.parametrize(("text", "method", "where"), [
    ('seed = 7\n', "wls", "pta.toml:1: seed is a --method nuts option; this run fits with --method wls"),
    ('seed = "7"\n', "nuts", "pta.toml:1: seed = '7': expected an integer"),
    ('seed = true\n', "nuts", "pta.toml:1: seed = True: expected an integer"),
    ('sample-noise = 1\n', "nuts", "pta.toml:1: sample-noise = 1: expected true or false"),
    ('freeze = ["F1"]\n', "wls", "pta.toml:1: freeze = ['F1']: expected a string"),
])
def test_toml_override_types_and_methods(tmp_path, text, method, where):
    (tmp_path / "pta.toml").write_text('[[pulsar]]\npar = "a.par"\ntim = "a.tim"\n' + text)
    with pytest.raises(InputError) as err:
        read_source(tmp_path / "pta.toml", {"method": method})
    assert str(err.value) == str(tmp_path / where.split(":")[0]) + ":" + where.split(":", 1)[1]


@pytest.mark.parametrize(("text", "where"), [
    ('[[pulsar]]\npar = "a.par"\n', "pta.toml:1: [[pulsar]] entry needs tim"),
    ('[[pulsar]]\npar = "a.par"\ntim = "a.tim"\n\n[[pulsar]]\npar = "a.par"\ntim = "a.tim"\nfrezze = "F0"\n',
     "pta.toml:5: unknown key 'frezze'"),
    ('[[pulsar]]\npar = "a.par"\ntim = "a.tim"\n[[pulsar]]\npar = "b/a.par"\ntim = "a.tim"\n',
     "pta.toml:4: pulsar name a is used twice (also at line 1)"),
    ('[[pulsar]]\npar = "a.par"\ntim = \n', "pta.toml:3: not valid TOML"),
    ('[options]\nfit = "F0"\n', "pta.toml:1: unknown table or key 'options'"),
])
def test_toml_errors_name_file_and_line(tmp_path, text, where):
    (tmp_path / "pta.toml").write_text(text)
    with pytest.raises(InputError) as err:
        read_source(tmp_path / "pta.toml", {})
    assert str(err.value).startswith(str(tmp_path / where.split(":")[0]) + ":" + where.split(":", 1)[1])


def test_a_source_that_is_neither(tmp_path):
    (tmp_path / "list.txt").write_text("")
    with pytest.raises(InputError, match="not a directory of .par/.tim files nor a .toml list"):
        read_source(tmp_path / "list.txt", {})
    with pytest.raises(InputError, match="no .par files here"):
        read_source(tmp_path, {})


@pytest.mark.parametrize(("extra", "message"), [
    (["--chains", "2", "--sample-noise"],
     "--chains, --sample-noise: options of --method nuts (this run is --method wls)"),
    (["--backend", "blackjax"], "--backend: options of --method nuts"),
    (["--method", "nuts", "--chains", "0"], "--chains needs a positive number"),
    (["--method", "nuts", "--config", "nowhere.toml"], "nowhere.toml: cannot read the config"),
])
def test_cli_refuses_options_that_do_not_apply_in_one_line(tmp_path, capsys, extra, message):
    from jugbayes.cli import main

    _touch(tmp_path, "J1+2.par", "J1+2.tim")
    assert main(["pta", str(tmp_path), "--outdir", str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
