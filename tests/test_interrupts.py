"""jugbayes.interrupts in-process: SIGTERM as an exception, lost interrupts delivered again, handlers restored."""

from __future__ import annotations

import signal
import time

import pytest

from jugbayes.interrupts import Terminated, exit_status, interruptible, message


def test_sigterm_raises_terminated_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated) as exc:
        with interruptible():
            signal.raise_signal(signal.SIGTERM)
            time.sleep(5)
    assert exit_status(exc.value) == 143 and message(exc.value).startswith("terminated (SIGTERM); nothing half")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert exit_status(KeyboardInterrupt()) == 130 and message(KeyboardInterrupt()).startswith("interrupted;")


class _InterruptedWhileCollected:
    def __del__(self):  # Python drops exceptions raised here, as in JAX's gc callback
        signal.raise_signal(signal.SIGINT)


def test_an_interrupt_python_would_drop_is_delivered_again_quietly(capsys):
    with pytest.raises(KeyboardInterrupt):  # not redelivered: the sleep ends and nothing is raised
        with interruptible():
            obj = _InterruptedWhileCollected()
            del obj  # the handler raises inside __del__: lost, then redelivered to the main thread
            time.sleep(3)  # woken by the signal sent again
    assert "Exception ignored" not in capsys.readouterr().err
