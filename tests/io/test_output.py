"""Output safety: paths checked against inputs, atomic writes, strict JSON."""

from __future__ import annotations

import json
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jugbayes.errors import InputError
from jugbayes.io.output import atomic_path, atomic_write_text, check_outputs, check_plot_path, write_json


def test_outputs_onto_inputs_are_refused_however_named(tmp_path):
    src = tmp_path / "a.par"
    src.write_text("F0 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.par").symlink_to(src)
    for alias in (src, tmp_path / "sub" / ".." / "a.par", tmp_path / "link.par"):
        with pytest.raises(InputError, match=r"--out: refusing to overwrite an input file"):
            check_outputs({"--out": alias}, [src], overwrite=True)
    os.link(src, tmp_path / "hard.par")
    with pytest.raises(InputError, match="refusing to overwrite an input file"):
        check_outputs({"--out": tmp_path / "hard.par"}, [src], overwrite=True)


def test_existing_repeated_and_misplaced_outputs(tmp_path):
    old = tmp_path / "old.json"
    old.write_text("{}")
    with pytest.raises(InputError, match=rf"^{old}: --summary: exists; give --overwrite"):
        check_outputs({"--summary": old}, [])
    check_outputs({"--summary": old}, [], overwrite=True)
    with pytest.raises(InputError, match="--plot and --summary name the same file"):
        check_outputs({"--summary": tmp_path / "x", "--plot": tmp_path / "x"}, [])
    with pytest.raises(InputError, match="is a directory"):
        check_outputs({"--out": tmp_path}, [], overwrite=True)
    with pytest.raises(InputError, match="does not exist"):
        check_outputs({"--out": tmp_path / "no" / "x.csv"}, [])
    check_outputs({"--out": None, "--plot": tmp_path / "new.png"}, [old])


def test_plot_suffix_checked():
    check_plot_path("--plot", "r.PNG")
    check_plot_path("--plot", None)
    with pytest.raises(InputError, match=r"^r.par: --plot: cannot draw a figure as .par \(use one of .*\.png"):
        check_plot_path("--plot", "r.par")


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".csv"
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and len(list(tmp_path.iterdir())) == 1


def test_replacing_a_symlinked_output_keeps_the_file_it_pointed_to(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("keep\n")
    (tmp_path / "out.txt").symlink_to(other)
    atomic_write_text(tmp_path / "out.txt", "new\n")
    assert other.read_text() == "keep\n" and (tmp_path / "out.txt").read_text() == "new\n"


_VALUES = st.recursive(st.one_of(st.floats(), st.integers(), st.text(max_size=5), st.none()),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                       max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(_VALUES)
def test_json_is_strict(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("j") / "s.json"
    write_json(path, {"v": value, "nan": math.nan, "inf": [math.inf, -math.inf]})
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON token {c}"))
    assert data["nan"] is None and data["inf"] == [None, None]
