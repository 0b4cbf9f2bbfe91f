"""Ctrl-C and SIGTERM while a command runs: one exception in the main thread, which unwinds as any error does
(worker pools end their workers, :mod:`jugbayes.io.output` removes its temporary files), and a bounded exit.

Python drops an exception raised where it cannot propagate (a gc callback such as JAX's, a ``__del__``), so an
interrupt landing there would be lost and the run would go on.  Such a lost interrupt is kept quiet (no
"Exception ignored" traceback) and delivered again at once; if the process is still running ``HARD_EXIT_S``
after the first signal it kills its child processes and exits with the signal's status.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

HARD_EXIT_S = 4.0
REDELIVER_S = 0.05  # from another thread: in the main thread the handler would run inside the hook
MESSAGE = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}
SUFFIX = "; nothing half-written is left, rerun to resume"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds as Ctrl-C does."""


def exit_status(exc: KeyboardInterrupt) -> int:
    """The shell's status for a run ended by ``exc``: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def message(exc: KeyboardInterrupt) -> str:
    """The one line printed for a run ended by ``exc``."""
    return MESSAGE[signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT] + SUFFIX


def exit_now(status: int) -> None:
    """Flush the streams, release multiprocessing's resources (its children already ended) and exit at once,
    skipping interpreter teardown (which can crash in the middle of an XLA compilation)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if "multiprocessing.util" in sys.modules:
        import gc

        gc.collect()  # multiprocessing objects left for collection release their semaphores here, not mid-exit
        sys.modules["multiprocessing.util"]._exit_function()
    os._exit(status)


def _hard_exit(signum: int) -> None:
    import multiprocessing

    print(MESSAGE[signum] + f" (forced after {HARD_EXIT_S:g} s)", file=sys.stderr, flush=True)
    for child in multiprocessing.active_children():
        child.kill()
        child.join(1.0)
    exit_now(128 + signum)


@contextmanager
def interruptible():
    """While inside (main thread only; elsewhere a no-op): SIGINT raises KeyboardInterrupt, SIGTERM Terminated."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    timers: list[threading.Timer] = []
    received: list[int] = []

    def handler(signum, frame):  # noqa: ARG001
        if not timers:
            timers.append(threading.Timer(HARD_EXIT_S, _hard_exit, args=(signum,)))
            timers[0].daemon = True
            timers[0].start()
        received.append(signum)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    def unraisable(info):
        if isinstance(info.exc_value, KeyboardInterrupt) and received:  # lost: deliver it again, quietly
            again = threading.Timer(REDELIVER_S, signal.pthread_kill, args=(threading.main_thread().ident, received[-1]))
            again.daemon = True
            again.start()
        else:
            previous_hook(info)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        for t in timers:
            t.cancel()
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = previous_hook
