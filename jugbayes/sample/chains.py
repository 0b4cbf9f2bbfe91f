"""NUTS chains in parallel worker processes, each pinned to its own cores (:mod:`jugbayes.processes`).

Why processes: XLA devices sharing the cores of one process (or unpinned processes) contend; on 2 cores the
sampled-noise NUTS step of B1855+09 took ~60-70 ms that way against 19-21 ms pinned.  The model, fit and noise
model travel to each worker pickled once; worker j runs chains j, j + W, j + 2W, ... one after another, with
the keys :func:`jugbayes.sample.nuts.sample_chains` derives from the seed and the chain's index, so the draws do
not depend on the number of workers.  Progress goes back through a queue to one bar; warnings raised in the
workers are repeated once here.  Importing this module does not import JAX (workers pin first).
"""

from __future__ import annotations

_WORKER: dict = {}


def sample_in_workers(model, fit, noise, *, chains: int, workers: int, report=None, **kw):
    """:func:`jugbayes.sample.nuts.sample_nuts` with its chains spread over ``workers`` pinned processes;
    ``report(n)`` (here, on a thread of this process) as the chains finish n more iterations."""
    import pickle
    import threading
    import warnings
    from multiprocessing import get_context

    import jax

    from jugbayes.processes import spawn_pool

    payload = pickle.dumps((model, fit, noise, kw), protocol=pickle.HIGHEST_PROTOCOL)
    cache = jax.config.jax_compilation_cache_dir is not None
    queue = drain = None
    if report is not None:
        queue = get_context("spawn").Queue()
        drain = threading.Thread(target=_drain, args=(queue, report), daemon=True)
        drain.start()
    groups = [tuple(range(j, chains, workers)) for j in range(workers)]
    try:
        with spawn_pool(workers, _init_worker, (payload, queue, cache)) as pool:
            outcomes = list(pool.map(_run_chains, groups))
    finally:
        if queue is not None:
            queue.put(None)
            drain.join()
    seen = set()
    for _, caught in outcomes:
        for category, message in caught:
            if (category, message) not in seen:
                seen.add((category, message))
                warnings.warn(message, category, stacklevel=3)
    return merge_chains([res for res, _ in outcomes], groups)


def merge_chains(parts, groups):
    """One result from several workers' results, chains in index order (``groups[j]``: worker j's chains)."""
    import dataclasses

    import numpy as np

    order = np.argsort(np.concatenate([np.asarray(g) for g in groups]))
    first = parts[0]

    def cat(arrays):
        return np.concatenate(arrays, axis=0)[order]

    stats = {key: cat([p.sample_stats[key] for p in parts]) for key in first.sample_stats}
    linear_mean = None if first.linear_mean is None else cat([p.linear_mean for p in parts])
    linear_cov = first.linear_cov
    if linear_cov is not None and any(not np.array_equal(p.linear_cov, linear_cov) for p in parts):
        # sampled noise: each part's is the mean over its draws of their conditional covariances
        counts = [len(g) for g in groups]
        linear_cov = sum(c * p.linear_cov for c, p in zip(counts, parts)) / sum(counts)
    return dataclasses.replace(first, samples=cat([p.samples for p in parts]), sample_stats=stats,
                               linear_mean=linear_mean, linear_cov=linear_cov)


def _drain(queue, report) -> None:
    while (done := queue.get()) is not None:
        report(done)


def _init_worker(payload: bytes, queue, cache: bool) -> None:
    """Keep the pickled problem and the progress queue for :func:`_run_chains` (unpickled there, after pinning)."""
    _WORKER.update(payload=payload, queue=queue, cache=cache)


def _run_chains(chain_ids: tuple[int, ...]):
    """(result, warnings as (category, message)) of this worker's chains."""
    import pickle
    import warnings

    if _WORKER.pop("cache", False):
        from jugbayes.config import enable_compilation_cache

        enable_compilation_cache()
    from jugbayes.sample.nuts import sample_chains

    model, fit, noise, kw = pickle.loads(_WORKER["payload"])
    queue = _WORKER["queue"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sample_chains(model, fit, noise, chain_ids, report=None if queue is None else queue.put, **kw)
    return result, [(w.category, str(w.message)) for w in caught]
