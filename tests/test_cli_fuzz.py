"""Fuzzing the whole command line with mutated real .par/.tim files (issue 27).

Every outcome is rc 0 with no NaN in what was printed or written, or rc 2 with exactly one
``FILE[:LINE]: problem`` line; a traceback fails the test.  Mutations: numbers to NaN/inf/0/negative/huge/1 MB,
lines deleted, duplicated, swapped or truncated, Latin-1 bytes, a BOM, CRLF, UTF-16, INCLUDE cycles.

CI runs a few examples per command (``main`` in-process); a longer run::

    JUGBAYES_FUZZ_EXAMPLES=500 PYTHONPATH=. python -m pytest tests/test_cli_fuzz.py -q -p no:randomly
"""

from __future__ import annotations

import json
import os
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import DATASETS, ROOT
from jugbayes.cli import main
from jugbayes.io.numbers import is_float

SOURCES = ("--clock-dir", str(DATASETS.parent / "clock"), "--ephem-file", str(DATASETS.parent / "ephem" / "de421.bsp"))
SCALE = int(os.environ.get("JUGBAYES_FUZZ_EXAMPLES", "0"))  # 0: the CI defaults below
_SETTINGS = dict(deadline=None, derandomize=SCALE == 0, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_MSP = ROOT / "models" / "isolated_msp"
DATA = {  # (par lines, tim lines): a Princeton-format set at a real site, a TEMPO2-format one at the geocentre
    "ngc": ((DATASETS / "NGC6440E" / "NGC6440E.par").read_text().splitlines(),
            (DATASETS / "NGC6440E" / "NGC6440E.tim").read_text().splitlines()),
    "msp": ((_MSP / "isolated_msp.par").read_text().splitlines(),
            (_MSP / "isolated_msp.tim").read_text().splitlines()[:42]),
}
SPECIALS = ["NaN", "nan", "inf", "-inf", "0", "-0", "1e400", "-1e400", "1e30", "-7.5", "1D-300", "", "x",
            "7" * 1_000_000]
ENCODINGS = ["utf-8"] * 6 + ["crlf", "latin-1", "bom", "utf-16"]


@st.composite
def mutated_lines(draw, lines):
    """``lines`` with one to three edits."""
    lines = list(lines)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["number", "number", "number", "delete", "duplicate", "swap", "truncate"]))
        if op == "number":
            tokens = lines[i].split(" ")
            numeric = [k for k, t in enumerate(tokens) if is_float(t)]
            if numeric:
                k = draw(st.sampled_from(numeric))
                tokens[k] = draw(st.sampled_from(SPECIALS + ["-" + tokens[k].lstrip("+-")]))
                lines[i] = " ".join(tokens)
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, max(len(lines[i]) - 1, 0)))]
    return lines


def _encode(lines, encoding) -> bytes:
    text = ("\r\n" if encoding == "crlf" else "\n").join(lines) + "\n"
    if encoding == "latin-1":
        return text.replace("C ", "C \xe9t\xe9 ", 1).encode("latin-1", "replace")
    if encoding == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    return text.encode("utf-16" if encoding == "utf-16" else "utf-8")


@st.composite
def inputs(draw):
    """(name, par lines, tim lines, par encoding, tim encoding, INCLUDE cycle?), one file or both mutated."""
    name = draw(st.sampled_from(sorted(DATA)))
    par, tim = DATA[name]
    which = draw(st.sampled_from(["par", "tim", "both"]))
    if which in ("par", "both"):
        par = draw(mutated_lines(par))
    if which in ("tim", "both"):
        tim = draw(mutated_lines(tim))
    cycle = draw(st.integers(0, 9)) == 0  # an INCLUDE cycle one time in ten
    return name, par, tim, draw(st.sampled_from(ENCODINGS)), draw(st.sampled_from(ENCODINGS)), cycle


def _write_inputs(folder, case):
    name, par, tim, par_enc, tim_enc, cycle = case
    folder.mkdir()
    par_path, tim_path = folder / f"{name}.par", folder / f"{name}.tim"
    par_path.write_bytes(_encode(par, par_enc))
    if cycle:  # top.tim INCLUDEs the TOAs, which INCLUDE top.tim again
        tim = [*tim, "INCLUDE top.tim"]
        (folder / "top.tim").write_text(f"INCLUDE {tim_path.name}\n")
    tim_path.write_bytes(_encode(tim, tim_enc))
    return par_path, (folder / "top.tim") if cycle else tim_path


_ONE_LINE = re.compile(r"^\S+?(:\d+)?: \S")
_NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def check_outcome(rc, out, err, written):
    """rc 0 and no NaN anywhere, or rc 2 and one FILE[:LINE]: problem line."""
    assert "Traceback" not in err
    problems = [ln for ln in err.splitlines() if not ln.startswith("warning: ")]
    if rc == 2:
        assert len(problems) == 1 and _ONE_LINE.match(problems[0]), err
        return
    assert rc == 0, err
    for text in (out, *(p.read_text(errors="replace") for p in written if p.exists())):
        assert not _NAN.search(text), text[:2000]
    for p in written:
        if p.suffix == ".json" and p.exists():
            json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"invalid JSON token {c}"))


def _run(capsys, folder, argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    event(f"{argv[0]} rc {rc}")  # the outcome mix, shown by --hypothesis-show-statistics
    written = [p for p in folder.iterdir() if p.name.startswith("out")]
    check_outcome(rc, out, err, written)


def _commands(par, tim, folder):
    return {
        "inspect": ["inspect", par, tim],
        "inspect-json": ["inspect", par, tim, "--json"],
        "convert-par": ["convert", par, "--out", folder / "out.par"],
        "convert-tim": ["convert", tim, "--out", folder / "out.tim"],
        "toas": ["toas", par, tim, "--out", folder / "out.csv", *SOURCES],
        "residuals": ["residuals", par, tim, "--out", folder / "out.csv", *SOURCES],
        "fit": ["fit", par, tim, "--summary", folder / "out.json", "--out-par", folder / "out.par", *SOURCES],
        "simulate": ["simulate", par, tim, "--out", folder / "out.tim", "--seed", "1", *SOURCES],
    }


_COUNTER = iter(range(10**9))


@settings(max_examples=SCALE or 60, **_SETTINGS)
@given(case=inputs(), command=st.sampled_from(["inspect", "inspect-json", "convert-par", "convert-tim", "toas",
                                               "residuals"]))
def test_reading_commands_never_crash(tmp_path, capsys, case, command):
    folder = tmp_path / f"case{next(_COUNTER)}"
    par, tim = _write_inputs(folder, case)
    _run(capsys, folder, _commands(par, tim, folder)[command])


@settings(max_examples=SCALE or 12, **_SETTINGS)
@given(case=inputs(), command=st.sampled_from(["fit", "simulate"]))
def test_fit_and_simulate_never_crash(tmp_path, capsys, case, command):
    folder = tmp_path / f"case{next(_COUNTER)}"
    par, tim = _write_inputs(folder, case)
    _run(capsys, folder, _commands(par, tim, folder)[command])
