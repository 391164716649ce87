"""A live server for the tests that drive real clients over sockets (Node's masto, Chromium):
the app under webtest's threaded waitress on a free port, and https in front of it the way
`make run` serves it (haproxy with the self-signed certificate, minitwitter_tools/tls.py)."""

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from webtest.http import StopableWSGIServer

from minitwitter.web.server import WAITRESS_DEFAULTS
from minitwitter_tools import tls
from minitwitter_tools.devservices import free_port


@contextlib.contextmanager
def serving(make_app, **settings):
    """http://127.0.0.1:<port> serving an app whose public_url is that address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(public_url=base, **settings).app
    # As web/server.py runs waitress: the app decides which peers' X-Forwarded-* count.
    server = StopableWSGIServer.create(app, port=port, **WAITRESS_DEFAULTS)
    assert server.wait()
    try:
        yield base
    finally:
        server.shutdown()


def _wait_port(port, process, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited ({process.returncode}): {process.stdout.read().decode()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"haproxy is not listening on {port}")


@contextlib.contextmanager
def https_in_front(base, directory):
    """(https://127.0.0.1:<port>, the certificate's path): make run's haproxy before `base`."""
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (apt-get install haproxy; .ci/run installs it)")
    port = int(base.rsplit(":", 1)[1])
    tls_port = free_port()
    command = tls.haproxy_command(Path(directory), port, tls_port)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_port(tls_port, process)
        yield f"https://127.0.0.1:{tls_port}", Path(directory) / "dev.crt"
    finally:
        process.terminate()
        process.wait(10)
