"""Clock-file sources: search order, flat and repository layouts, and downloads from a local HTTP server."""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import socket
import time
from pathlib import Path

import pytest

from conftest import SHARED
from localhttp import directory_handler, serving
from jugbayes.errors import InputError, JugbayesError
from jugbayes.timescales import clocksource as cs

CLOCK = SHARED / "clock"
ENV_VARS = ("JUGBAYES_CLOCK_DIR", "TEMPO2", "JUGBAYES_CACHE_DIR", "XDG_CACHE_HOME")
SOME = ["gbt2gps.clk", "time_gbt.dat", "tai2tt_bipm2019.clk"]


def _listed_present() -> list[str]:
    """Index paths whose files the shared copy actually has."""
    entries = cs.parse_index((CLOCK / "index.txt").read_text())
    return [e.path for e in entries if (CLOCK / e.path).is_file()]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No clock configuration from the developer's shell; HOME is a fresh directory."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def serve_dir():
    """Start a quiet HTTP server on 127.0.0.1 serving a directory; returns its base URL."""
    with contextlib.ExitStack() as stack:
        yield lambda directory: stack.enter_context(serving(directory_handler(directory)))


@pytest.fixture
def clock_url(serve_dir):
    return serve_dir(CLOCK)


# --------------------------------------------------------------------------- search


def test_cache_dir_precedence(monkeypatch, tmp_path, clean_env):
    assert cs.cache_dir() == clean_env / ".cache" / "jugbayes" / "clock"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cs.cache_dir() == tmp_path / "xdg" / "jugbayes" / "clock"
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path / "jb"))
    assert cs.cache_dir() == tmp_path / "jb" / "clock"


def _make_dirs(tmp_path: Path) -> dict[str, Path]:
    dirs = {k: tmp_path / k for k in ("arg", "env", "t2", "cache")}
    (dirs["t2"] / "clock").mkdir(parents=True)
    for key in ("arg", "env", "cache"):
        dirs[key].mkdir()
    return dirs


def test_search_order_and_skipping(monkeypatch, tmp_path):
    dirs = _make_dirs(tmp_path)
    monkeypatch.setenv("JUGBAYES_CLOCK_DIR", str(dirs["env"]))
    monkeypatch.setenv("TEMPO2", str(dirs["t2"]))
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path / "cacheroot"))
    (tmp_path / "cacheroot" / "clock").mkdir(parents=True)
    got = cs.search_dirs(dirs["arg"])
    assert got == [("--clock-dir", dirs["arg"]), ("$JUGBAYES_CLOCK_DIR", dirs["env"]),
                   ("$TEMPO2/clock", dirs["t2"] / "clock"), ("cache", tmp_path / "cacheroot" / "clock")]
    # configured but missing directories are skipped, unset ones never appear
    monkeypatch.setenv("JUGBAYES_CLOCK_DIR", str(tmp_path / "gone"))
    monkeypatch.delenv("TEMPO2")
    assert [label for label, _ in cs.search_dirs()] == ["cache"]


def test_first_directory_wins_flat_and_repository_layout(monkeypatch, tmp_path):
    dirs = _make_dirs(tmp_path)
    monkeypatch.setenv("JUGBAYES_CLOCK_DIR", str(dirs["env"]))
    monkeypatch.setenv("TEMPO2", str(dirs["t2"]))
    flat = dirs["t2"] / "clock" / "x2gps.clk"  # $TEMPO2/clock is flat
    flat.write_text("t2")
    assert cs.find_clock_file("x2gps.clk") == flat
    repo = dirs["env"] / "T2runtime" / "clock" / "x2gps.clk"  # repository layout, earlier in the order
    repo.parent.mkdir(parents=True)
    repo.write_text("env")
    assert cs.find_clock_file("x2gps.clk") == repo
    tempo = dirs["arg"] / "tempo" / "clock" / "time_x.dat"
    tempo.parent.mkdir(parents=True)
    tempo.write_text("arg")
    assert cs.find_clock_file("time_x.dat", clock_dir=dirs["arg"]) == tempo
    assert cs.find_clock_file("x2gps.clk", clock_dir=dirs["arg"]) == repo  # arg dir lacks it: falls through
    assert cs.find_clock_file("absent.clk", clock_dir=dirs["arg"]) is None


def test_exact_name_before_case_insensitive(tmp_path):
    (tmp_path / "tempo" / "clock").mkdir(parents=True)
    (tmp_path / "T2runtime" / "clock").mkdir(parents=True)
    (tmp_path / "T2runtime" / "clock" / "TIME_Q.DAT").write_text("upper")
    assert cs.find_clock_file("time_q.dat", tmp_path) == tmp_path / "T2runtime" / "clock" / "TIME_Q.DAT"
    (tmp_path / "T2runtime" / "clock" / "time_q.dat").write_text("exact")
    assert cs.find_clock_file("time_q.dat", tmp_path) == tmp_path / "T2runtime" / "clock" / "time_q.dat"


def test_clk_prefers_tempo2_tree_and_dat_prefers_tempo_tree(tmp_path):
    for sub in ("T2runtime/clock", "tempo/clock"):
        (tmp_path / sub).mkdir(parents=True)
        for name in ("y.clk", "time_y.dat"):
            (tmp_path / sub / name).write_text(sub)
    assert cs.find_clock_file("y.clk", tmp_path) == tmp_path / "T2runtime" / "clock" / "y.clk"
    assert cs.find_clock_file("time_y.dat", tmp_path) == tmp_path / "tempo" / "clock" / "time_y.dat"
    (tmp_path / "time_y.dat").write_text("flat")
    assert cs.find_clock_file("time_y.dat", tmp_path) == tmp_path / "time_y.dat"  # flat beats both


def test_finds_shared_files_in_repository_layout():
    # time_gbt.dat is in both T2runtime/clock (a stale copy) and tempo/clock (the one index.txt lists)
    assert (CLOCK / "T2runtime" / "clock" / "time_gbt.dat").is_file()
    assert cs.find_clock_file("gbt2gps.clk", CLOCK) == CLOCK / "T2runtime" / "clock" / "gbt2gps.clk"
    assert cs.find_clock_file("time_gbt.dat", CLOCK) == CLOCK / "tempo" / "clock" / "time_gbt.dat"
    assert cs.find_clock_file("GBT2GPS.CLK", CLOCK) == CLOCK / "T2runtime" / "clock" / "gbt2gps.clk"
    assert cs.find_clock_file("jb2gps.clk", CLOCK) is None  # listed upstream, absent here


def test_missing_clock_dir_is_a_clean_error(tmp_path):
    with pytest.raises(JugbayesError, match=r"^--clock-dir .*nowhere does not exist$"):
        cs.find_clock_file("gbt2gps.clk", tmp_path / "nowhere")
    (tmp_path / "afile").write_text("")
    with pytest.raises(JugbayesError, match="is not a directory"):
        cs.search_dirs(tmp_path / "afile")


def test_describe_search_names_every_place(monkeypatch, tmp_path, clean_env):
    monkeypatch.setenv("JUGBAYES_CLOCK_DIR", str(tmp_path / "gone"))
    line = cs.describe_search(CLOCK)
    assert "\n" not in line
    assert line == (f"looked in --clock-dir {CLOCK}, $JUGBAYES_CLOCK_DIR {tmp_path / 'gone'} (missing), "
                    "cache ~/.cache/jugbayes/clock (missing); run `jugbayes clock update` to download")


# --------------------------------------------------------------------------- index


def test_parse_shared_index():
    entries = cs.parse_index((CLOCK / "index.txt").read_text())
    by_path = {e.path: e for e in entries}
    assert len(entries) == 62 and "T2runtime/clock/gbt2gps.clk" in by_path
    assert by_path["T2runtime/clock/gbt2gps.clk"].update_days == 1.0
    ao = by_path["tempo/clock/time_ao.dat"]
    assert ao.update_days == float("inf") and str(ao.invalid_before) == "2022-05-20"
    assert by_path["T2runtime/clock/tai2tt_bipm92.clk"].invalid_before is None


@pytest.mark.parametrize(("line", "problem"), [
    ("../evil.clk 1.0 ---", "unsafe path"),
    ("/etc/passwd 1.0 ---", "unsafe path"),
    ("T2runtime/clock/a.clk soon ---", "not a number of days"),
    ("T2runtime/clock/a.clk 1.0 yesterday", "not YYYY-MM-DD"),
])
def test_bad_index_lines(line, problem):
    with pytest.raises(InputError) as exc:
        cs.parse_index(f"# header\n{line}\n", source="http://x/index.txt")
    assert str(exc.value).startswith("http://x/index.txt:2: ") and problem in str(exc.value)


# --------------------------------------------------------------------------- download


def test_update_only_some_files(clock_url, tmp_path):
    dest = tmp_path / "cache"
    seen = []
    report = cs.update_cache(url=clock_url, dest=dest, only=SOME, progress=lambda *a: seen.append(a))
    assert sorted(report.downloaded) == ["T2runtime/clock/gbt2gps.clk", "T2runtime/clock/tai2tt_bipm2019.clk",
                                         "tempo/clock/time_gbt.dat"]
    assert report.failed == [] and report.dest == dest
    for rel in report.downloaded:
        assert (dest / rel).read_bytes() == (CLOCK / rel).read_bytes()
    assert (dest / "index.txt").read_bytes() == (CLOCK / "index.txt").read_bytes()
    assert [s[:2] for s in seen] == [(1, 3), (2, 3), (3, 3)] and {s[3] for s in seen} == {"downloaded"}
    assert not list(dest.rglob("*.part"))


def test_absent_upstream_file_fails_alone(clock_url, tmp_path):
    report = cs.update_cache(url=clock_url.rstrip("/"), dest=tmp_path, only=["jb2gps.clk", "gbt2gps.clk",
                                                                              "nonesuch.clk"])
    assert report.downloaded == ["T2runtime/clock/gbt2gps.clk"]
    failed = dict(report.failed)
    assert failed["T2runtime/clock/jb2gps.clk"].startswith("HTTP 404")
    assert failed["nonesuch.clk"] == "not listed in index.txt"
    assert not (tmp_path / "T2runtime" / "clock" / "jb2gps.clk").exists()


def test_file_url_works_too(tmp_path):
    report = cs.update_cache(url=CLOCK.as_uri(), dest=tmp_path, only=["time_gbt.dat"])
    assert report.downloaded == ["tempo/clock/time_gbt.dat"]
    assert (tmp_path / "tempo/clock/time_gbt.dat").read_bytes() == (CLOCK / "tempo/clock/time_gbt.dat").read_bytes()


def test_index_404_is_a_clean_error(serve_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    url = serve_dir(empty)
    with pytest.raises(JugbayesError, match=rf"^could not download clock index {url}index.txt: HTTP 404"):
        cs.update_cache(url=url, dest=tmp_path / "dest")


def test_closed_port_is_a_clean_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(JugbayesError, match=rf"could not download clock index http://127.0.0.1:{port}/index.txt"):
        cs.update_cache(url=f"http://127.0.0.1:{port}/", dest=tmp_path, timeout_s=5)


def test_silent_server_times_out(tmp_path):
    with socket.socket() as sock:  # accepts connections (kernel backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(JugbayesError, match=r"timed out after 0.3 s$"):
            cs.update_cache(url=f"http://127.0.0.1:{port}/", dest=tmp_path, timeout_s=0.3)


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Serves a two-file index; ``a.clk`` promises 1000 bytes and hangs up after 10."""

    def do_GET(self):  # noqa: N802
        bodies = {"/index.txt": b"T2runtime/clock/a.clk 1.0 ---\nT2runtime/clock/b.clk 1.0 ---\n",
                  "/T2runtime/clock/b.clk": b"# A B\n50000 1.0\n"}
        body = bodies.get(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)) if body else "1000")
        self.end_headers()
        self.wfile.write(body or b"# A B\n5000")
        self.close_connection = True

    def log_message(self, *args):  # noqa: ARG002
        pass


def test_interrupted_download_leaves_old_file_whole(tmp_path):
    old = tmp_path / "T2runtime" / "clock" / "a.clk"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old and whole")
    with serving(_TruncatingHandler) as url:
        report = cs.update_cache(url=url.rstrip("/"), dest=tmp_path, force=True)
    assert report.downloaded == ["T2runtime/clock/b.clk"]
    assert [path for path, _ in report.failed] == ["T2runtime/clock/a.clk"]
    assert "990 bytes still to come" in report.failed[0][1]
    assert old.read_bytes() == b"old and whole"
    assert not list(tmp_path.rglob("*.part"))


def test_fresh_files_are_skipped_unless_forced(clock_url, tmp_path):
    cs.update_cache(url=clock_url, dest=tmp_path, only=["gbt2gps.clk", "leap.sec"])  # 1 day and 0 days
    report = cs.update_cache(url=clock_url, dest=tmp_path, only=["gbt2gps.clk", "leap.sec"])
    assert report.skipped == ["T2runtime/clock/gbt2gps.clk"] and report.downloaded == ["tempo/clock/leap.sec"]
    stale = tmp_path / "T2runtime" / "clock" / "gbt2gps.clk"
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    report = cs.update_cache(url=clock_url, dest=tmp_path, only=["gbt2gps.clk"])
    assert report.downloaded == ["T2runtime/clock/gbt2gps.clk"]
    report = cs.update_cache(url=clock_url, dest=tmp_path, only=["gbt2gps.clk"], force=True)
    assert report.downloaded == ["T2runtime/clock/gbt2gps.clk"] and report.skipped == []


def test_copy_older_than_invalid_date_is_refetched(clock_url, tmp_path):
    local = tmp_path / "tempo" / "clock" / "time_ao.dat"  # update "inf", invalid if older than 2022-05-20
    local.parent.mkdir(parents=True)
    local.write_text("stale")
    old = time.mktime((2022, 1, 1, 0, 0, 0, 0, 0, -1))
    os.utime(local, (old, old))
    report = cs.update_cache(url=clock_url, dest=tmp_path, only=["time_ao.dat"])
    assert report.downloaded == ["tempo/clock/time_ao.dat"]
    assert local.read_bytes() == (CLOCK / "tempo/clock/time_ao.dat").read_bytes()
    assert cs.update_cache(url=clock_url, dest=tmp_path, only=["time_ao.dat"]).skipped == ["tempo/clock/time_ao.dat"]


def test_full_update_then_found_through_cache(clock_url, tmp_path, monkeypatch):
    root = tmp_path / "cacheroot"
    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(root))
    report = cs.update_cache(url=clock_url)
    assert report.dest == root / "clock"
    present = _listed_present()
    assert len(present) > 50 and sorted(report.downloaded) == sorted(present)
    assert sorted(path for path, _ in report.failed) == sorted(
        ["tempo/clock/time_jb.dat", "T2runtime/clock/jb2gps.clk", "T2runtime/clock/mk2utc_observatory.clk",
         "T2runtime/clock/mk2utc.clk"])
    for rel in present:
        assert (report.dest / rel).read_bytes() == (CLOCK / rel).read_bytes(), rel
    assert cs.find_clock_file("gbt2gps.clk") == root / "clock" / "T2runtime" / "clock" / "gbt2gps.clk"
    assert cs.find_clock_file("time_gbt.dat") == root / "clock" / "tempo" / "clock" / "time_gbt.dat"


# --------------------------------------------------------------------------- command line


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="jugbayes")
    sub = parser.add_subparsers(dest="command", required=True)
    cs.add_clock_parser(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_update_prints_failures_and_summary(clock_url, tmp_path, capsys):
    dest = tmp_path / "d"
    assert _run("clock", "update", "--url", clock_url, "--cache-dir", str(dest),
                "--only", "gbt2gps.clk", "--only", "jb2gps.clk") == 0
    out, err = capsys.readouterr()
    assert err.strip() == "failed: T2runtime/clock/jb2gps.clk: HTTP 404 File not found"
    assert out.strip() == f"downloaded 1 files to {dest} (1 failed: jb2gps.clk)"
    assert (dest / "T2runtime/clock/gbt2gps.clk").is_file()
    assert _run("clock", "update", "--url", clock_url, "--cache-dir", str(dest), "--only", "gbt2gps.clk") == 0
    assert capsys.readouterr().out.strip() == f"downloaded 0 files to {dest}, 1 up to date"


def test_cli_update_default_cache_and_bad_url(clock_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _run("clock", "update", "--url", clock_url, "--only", "time_gbt.dat") == 0
    assert capsys.readouterr().out.strip() == f"downloaded 1 files to {tmp_path / 'xdg' / 'jugbayes' / 'clock'}"
    with pytest.raises(JugbayesError, match="could not download clock index"):
        _run("clock", "update", "--url", clock_url + "nothing-here/")


def test_cli_where(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JUGBAYES_CLOCK_DIR", str(tmp_path / "gone"))
    assert _run("clock", "where", "--clock-dir", str(CLOCK), "gbt2gps.clk") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["clock files are looked for in, in order:",
                     f"  1. --clock-dir {CLOCK}",
                     f"  2. $JUGBAYES_CLOCK_DIR {tmp_path / 'gone'} (missing)",
                     "  3. cache ~/.cache/jugbayes/clock (missing)",
                     f"gbt2gps.clk: {CLOCK / 'T2runtime' / 'clock' / 'gbt2gps.clk'}"]
    assert _run("clock", "where", "--clock-dir", str(CLOCK), "jb2gps.clk") == 1
    assert capsys.readouterr().out.splitlines()[-1] == "jb2gps.clk: not found"
    with pytest.raises(JugbayesError, match="--clock-dir .* does not exist"):
        _run("clock", "where", "--clock-dir", str(tmp_path / "nowhere"))
