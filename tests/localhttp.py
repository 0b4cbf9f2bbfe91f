"""A quiet HTTP server on 127.0.0.1 for download tests (clock files, ephemerides)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path


class QuietDirectoryHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory without logging each request."""

    def log_message(self, *args):  # noqa: ARG002
        pass


@contextlib.contextmanager
def serving(handler):
    """Run a server with ``handler`` on a free local port; yields its base URL, shuts it down after."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def directory_handler(directory: Path):
    return functools.partial(QuietDirectoryHandler, directory=str(directory))
