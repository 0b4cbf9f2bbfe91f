import os
import signal
import sys


def _interrupted_while_starting(signum, frame):  # nothing to clean up yet: one line, then exit
    print("interrupted" if signum == signal.SIGINT else "terminated (SIGTERM)", file=sys.stderr, flush=True)
    os._exit(128 + signum)


signal.signal(signal.SIGINT, _interrupted_while_starting)  # until main() installs jugbayes.interrupts' handlers
signal.signal(signal.SIGTERM, _interrupted_while_starting)

from jugbayes.cli import run  # noqa: E402

run()
