"""Worker processes: pinned to disjoint cores, one XLA thread each."""

from __future__ import annotations

import os

import pytest

from jugbayes import processes
from jugbayes.config import FAST_COMPILE_XLA_FLAG, SINGLE_THREAD_XLA_FLAGS, fast_compile_flag

needs_affinity = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")


@needs_affinity
def test_core_groups_are_disjoint_and_cover_the_allowed_cores():
    cores = sorted(os.sched_getaffinity(0))
    assert processes.core_groups(len(cores) + 1) is None
    for n in range(1, len(cores) + 1):
        groups = processes.core_groups(n)
        assert len(groups) == n
        assert sorted(c for g in groups for c in g) == cores


@needs_affinity
def test_a_worker_is_pinned_to_its_group_with_one_xla_thread():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    cores = sorted(os.sched_getaffinity(0))
    groups = processes.core_groups(min(2, len(cores)))
    ctx = get_context("spawn")
    q = ctx.Queue()
    q.put(groups[-1])
    # The submitted functions are the standard library's: a spawned worker cannot import a test module's.
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=processes._init, initargs=(q, None, ())) as pool:
        assert sorted(pool.submit(os.sched_getaffinity, 0).result()) == sorted(groups[-1])
        assert pool.submit(os.getenv, "XLA_FLAGS").result() == processes.THREAD_ENV["XLA_FLAGS"]
    assert processes.THREAD_ENV["XLA_FLAGS"].endswith(SINGLE_THREAD_XLA_FLAGS)


@needs_affinity
@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2, reason="needs two cores")
def test_spawn_pool_workers_each_get_one_group():
    groups = [set(g) for g in processes.core_groups(2)]
    with processes.spawn_pool(2, None) as pool:
        seen = [set(pool.submit(os.sched_getaffinity, 0).result()) for _ in range(4)]
    assert all(s in groups for s in seen)


# x^T x of a 4000 x 90 matrix in float64 (jitted), as a SHA-256 of its bytes: XLA partitions the product by the cores a
# process sees when JAX's backend starts, so a process pinned to one core before that computes other last bits
# than one that sees two.  An expression, since spawned workers cannot import a test module's functions.
GRAM_SHA = ("(__import__('jax').config.update('jax_enable_x64', True), __import__('hashlib').sha256(__import__('numpy')"
            ".asarray(__import__('jax').jit(lambda a: a.T @ a)(__import__('numpy').random.default_rng(0)"
            ".standard_normal((4000, 90)))).tobytes()).hexdigest())[1]")


@needs_affinity
@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2, reason="needs two cores")
def test_pinned_workers_compute_the_bits_of_a_process_on_every_core():
    """NUTS-chain workers and local Dask workers, each pinned to one core, compute what ``jugbayes fit`` (one XLA
    thread, every core) computes, bit for bit."""
    import subprocess
    import sys

    from jugbayes.cluster import dask_client

    env = dict(os.environ, **processes.THREAD_ENV)
    alone = subprocess.run([sys.executable, "-c", f"print({GRAM_SHA})"], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    with processes.spawn_pool(2, None) as pool:
        chain_workers = {pool.submit(eval, GRAM_SHA).result() for _ in range(4)}
    with dask_client(None, 2) as client:
        affinities = client.run(lambda: sorted(os.sched_getaffinity(0)))
        dask_workers = set(client.gather([client.submit(eval, GRAM_SHA, pure=False, workers=[w]) for w in affinities]))
    assert sorted(map(tuple, affinities.values())) == sorted(processes.core_groups(2))
    assert chain_workers == dask_workers == {alone}


def test_input_errors_survive_the_trip_back_from_a_worker():
    """A worker's exception reaches the parent pickled; an InputError must keep its file, line and message."""
    import pickle

    from jugbayes.errors import InputError

    back = pickle.loads(pickle.dumps(InputError("a.par", 7, "bad value")))
    assert isinstance(back, InputError) and (back.path, back.line, str(back)) == ("a.par", 7, "a.par:7: bad value")


def test_workers_ignore_ctrl_c_and_an_interrupted_pool_ends_them_at_once():
    import signal
    import time

    with pytest.raises(KeyboardInterrupt):
        with processes.spawn_pool(1, None) as pool:
            assert pool.submit(abs, -1).result() == 1  # the worker is up, its SIGINT handler set
            (worker,) = pool._processes.values()
            os.kill(worker.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group: the worker carries on
            assert pool.submit(abs, -2).result() == 2
            slow = pool.submit(time.sleep, 120)
            raise KeyboardInterrupt
    assert not worker.is_alive()  # ended, not waited for: a plain shutdown would let the 120 s sleep finish
    assert not slow.done() or slow.cancelled() or slow.exception() is not None


def _env_after(code: str, xla_flags: str | None) -> str:
    """``$XLA_FLAGS`` in a fresh process after ``code`` (XLA_FLAGS unset when None)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", f"{code}; import os; print(repr(os.environ.get('XLA_FLAGS')))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return eval(out.strip().splitlines()[-1])


@pytest.mark.skipif(not fast_compile_flag(), reason="fast-compile flag not measured on this jaxlib")
def test_fast_compile_flag_joins_xla_flags_and_the_one_thread_default_still_applies_in_children():
    """jugbayes's JAX modules add XLA's faster-compiling emitters before the backend starts, unless the user chose
    emitters; a child process that inherited only that flag still gets the one-thread default (and the flag)."""
    assert _env_after("import jugbayes.fit.wls", None) == FAST_COMPILE_XLA_FLAG
    # First: XLA reads no flag after a word without "--", as SINGLE_THREAD_XLA_FLAGS's last.
    assert _env_after("import jugbayes.fit.wls", SINGLE_THREAD_XLA_FLAGS) == (
        f"{FAST_COMPILE_XLA_FLAG} {SINGLE_THREAD_XLA_FLAGS}")
    mine = "--xla_cpu_use_fusion_emitters=true"
    assert _env_after("import jugbayes.fit.wls", mine) == mine
    child = _env_after("from jugbayes.processes import default_to_one_thread; default_to_one_thread()",
                       FAST_COMPILE_XLA_FLAG)
    assert child == processes.THREAD_ENV["XLA_FLAGS"] == f"{FAST_COMPILE_XLA_FLAG} {SINGLE_THREAD_XLA_FLAGS}"


@pytest.mark.skipif(not fast_compile_flag(), reason="fast-compile flag not measured on this jaxlib")
@pytest.mark.parametrize("args, fast", [(["fit", "a.par", "a.tim"], True),
                                        (["fit", "a.par", "a.tim", "--method", "nuts"], False),
                                        (["pta", "src", "--method=nuts"], False), (["pta", "src", "--method", "wls"], True)])
def test_the_console_script_keeps_xla_default_emitters_when_it_samples(args, fast):
    """``--method nuts`` (the sampler's densities ran slower with the fast-compiling emitters): one thread only;
    any other command: the flag too, before the one-thread flags."""
    code = f"import sys; sys.argv = ['jugbayes'] + {args!r}; from jugbayes.cli import one_xla_thread; one_xla_thread()"
    want = f"{FAST_COMPILE_XLA_FLAG} {SINGLE_THREAD_XLA_FLAGS}" if fast else SINGLE_THREAD_XLA_FLAGS
    assert _env_after(code, None) == want
