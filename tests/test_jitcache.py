"""Exported programs on disk: traced once, reused by a new wrapper (as by a new process), keyed by what they use."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jugbayes import jitcache


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
