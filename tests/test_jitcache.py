"""Exported programs on disk: traced once, reused by a new wrapper (as by a new process), keyed by what they use."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jugbayes import jitcache
from jugbayes.config import enable_x64

enable_x64()  # as jugbayes's modules do on import; this file alone imports none of them first


@pytest.fixture
def export_dir(tmp_path):
    jitcache.enable(tmp_path)
    yield tmp_path
    jitcache.disable()


def _f(traces):
    def f(x, data):
        traces.append(1)  # runs only while JAX traces
        return jnp.sin(x) * data["a"] + data["b"]
    return f


def test_second_wrapper_loads_instead_of_tracing(export_dir):
    traces = []
    data = {"a": jnp.arange(3.0), "b": 2.0}
    x = jnp.array([0.1, 0.2, 0.3])
    first = np.asarray(jitcache.cached_jit(_f(traces), "k")(x, data))
    second = np.asarray(jitcache.cached_jit(_f(traces), "k")(x, data))
    assert len(traces) == 1 and len(list(export_dir.glob("*.jaxexport"))) == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, np.sin([0.1, 0.2, 0.3]) * np.arange(3.0) + 2.0, rtol=1e-15)


def test_key_and_shapes_make_new_entries_and_a_broken_entry_is_rebuilt(export_dir):
    traces = []
    data = {"a": jnp.arange(3.0), "b": 2.0}
    jitcache.cached_jit(_f(traces), "k")(jnp.zeros(3), data)
    jitcache.cached_jit(_f(traces), "other")(jnp.zeros(3), data)
    jitcache.cached_jit(_f(traces), "k")(jnp.zeros(4), {"a": jnp.arange(4.0), "b": 2.0})
    assert len(traces) == 3 and len(list(export_dir.glob("*.jaxexport"))) == 3
    for path in export_dir.glob("*.jaxexport"):
        path.write_bytes(b"not a program")
    out = jitcache.cached_jit(_f(traces), "k")(jnp.zeros(3), data)
    assert len(traces) == 4 and np.asarray(out).tolist() == [2.0, 2.0, 2.0]


def test_off_without_a_directory():
    jitcache.disable()  # a CLI test earlier in the session may have turned it on
    traces = []
    f = jitcache.cached_jit(_f(traces), "k")
    f(jnp.zeros(2), {"a": 1.0, "b": 0.0})
    f(jnp.zeros(2), {"a": 1.0, "b": 0.0})
    assert len(traces) == 1  # plain jax.jit: traced once per process, nothing written


def test_cache_info_and_clear_on_a_real_cache(tmp_path, monkeypatch, capsys):
    """`jugbayes cache info` counts what a real export left; `clear` removes compiled programs only."""
    from jugbayes.cli import main

    monkeypatch.setenv("JUGBAYES_CACHE_DIR", str(tmp_path))
    jitcache.enable(tmp_path / "export")
    try:
        jitcache.cached_jit(_f([]), "k")(jnp.zeros(3), {"a": jnp.arange(3.0), "b": 2.0})
    finally:
        jitcache.disable()
    (tmp_path / "ephem").mkdir()
    (tmp_path / "ephem" / "de440.bsp").write_bytes(b"kernel")
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out
    export_line = next(line for line in out.splitlines() if line.strip().startswith("export/"))
    assert export_line.split()[1] == "1"
    assert main(["cache", "clear"]) == 0
    assert "removed 1 compiled-program files" in capsys.readouterr().out
    assert not (tmp_path / "export").exists() and (tmp_path / "ephem" / "de440.bsp").read_bytes() == b"kernel"
    assert main(["cache", "info"]) == 0
    assert next(line for line in capsys.readouterr().out.splitlines()
                if line.strip().startswith("export/")).split()[1] == "0"


def test_prune_drops_least_recently_used_first(tmp_path):
    import os

    for i, name in enumerate(["old", "mid", "new"]):
        (tmp_path / name).write_bytes(b"x" * 100)
        os.utime(tmp_path / name, (1000 + i, 1000 + i))
    assert jitcache.prune(tmp_path, 250) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mid", "new"]
    assert jitcache.prune(tmp_path, 200) == 0
    jitcache.enable(tmp_path, max_bytes=100)
    jitcache.disable()
    assert [p.name for p in tmp_path.iterdir()] == ["new"]


def test_gls_fit_programs_are_kept_and_reused_across_processes(tmp_path):
    """The README's fit (GLS: noise-kernel NamedTuples cross the programs) exports every program, and a second
    process loads them: no "could not keep" warning, no new files."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "models" / "isolated_msp"
    env = {**os.environ, "JUGBAYES_CACHE_DIR": str(tmp_path / "cache")}
    exports = []
    for run in range(2):
        res = subprocess.run([sys.executable, "-m", "jugbayes", "fit", example / "isolated_msp.par",
                              example / "isolated_msp.tim", "--method", "wls", "--out-par", tmp_path / f"{run}.par"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        assert "could not keep a compiled program" not in res.stderr
        exports.append(sorted((p.name, p.stat().st_size) for p in (tmp_path / "cache" / "export").iterdir()))
    assert len(exports[0]) >= 4 and exports[1] == exports[0]
