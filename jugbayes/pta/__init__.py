"""``jugbayes pta``: fit many pulsars, each an independent task on a Dask cluster, results to disk (resumable).

:mod:`~jugbayes.pta.source` finds the .par/.tim pairs, :mod:`~jugbayes.pta.task` fits one pulsar into
``DIR/<PSR>/`` with the code ``jugbayes fit`` runs, :mod:`~jugbayes.pta.store` decides what a rerun may skip,
:mod:`~jugbayes.pta.runner` sends the tasks to a cluster and :mod:`~jugbayes.pta.summary` writes the table.
"""
