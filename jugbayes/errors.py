"""Errors that reach the user as one clean line instead of a traceback."""

from __future__ import annotations

import os


class JugbayesError(Exception):
    """Base class for errors the command line reports without a traceback."""


class InputError(JugbayesError):
    """A problem in a user's input file, reported as ``FILE:LINE: problem``.

    ``line`` is 1-based; ``None`` when the problem concerns the whole file
    (empty, binary, unreadable).
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.problem = problem
        super().__init__(str(self))

    def __reduce__(self):  # rebuilt from its fields when raised in a worker process and pickled back
        return type(self), (self.path, self.line, self.problem)

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.problem}"
