"""The waitress server for pserve: PORT from the environment, and a graceful stop.

`[server:main] use = egg:minitwitter#waitress` takes every waitress option from the
ini; PORT, when set, replaces the port of each `listen` address.

SIGTERM (or SIGINT) stops the server gracefully; waitress alone would die at once and
reset every connection with a request in flight. Here the server:

1. accepts the connections already waiting in the listen backlog (their clients may
   have sent a request), then closes the listening sockets: new connections are refused;
2. keeps serving every connection with a request being received, queued, run or sent,
   each response now carrying `Connection: close`; an idle keep-alive connection with
   nothing to read is closed at once;
3. exits when none is left, or after `shutdown_timeout` seconds (an ini option, default
   3.5: the process is gone within 5 s). A second signal cuts the wait short.

`switch_interval` (seconds; Python's default 0.005 when absent) is the GIL's switch interval
for the process (sys.setswitchinterval). With every worker thread busy, waitress's main
thread, which reads requests and writes responses, waits up to one interval for the GIL
after each poll: at 0.005 one process served 32 keep-alive connections at about 1,000
req/s, at 16 connections 2,300-3,500. production.ini sets 0.0001 (docs/PERFORMANCE.md).

Hand-written because no release of waitress drains: 3.0.2, the latest, closes every
connection at once on a signal (a graceful shutdown is proposed in Pylons/waitress#499,
unreleased). This drives waitress internals (the socket map, channels, WSGITask), so
setup.py pins waitress to the release it was tested with; tests/test_shutdown.py and
`make faults` (SIGTERM under load) check it. Drop it for waitress's own once released.
"""

import logging
import os
import signal
import socket
import sys
import threading
import time

import orjson
from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask, WSGITask

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 3.5
# A connection accepted while stopping that has sent nothing yet: its request may still be
# on the way, so it is given this long before it counts as idle.
FRESH_SECONDS = 0.5


# X-Forwarded-* reach the app, which trusts them from `proxy.trusted` peers only and removes
# them from the others' requests (web/proxy.py); waitress would drop them all (it trusts one
# address at most), so no proxy's X-Forwarded-Proto could reach the app.
WAITRESS_DEFAULTS = {"clear_untrusted_proxy_headers": "false"}


def serve(app, global_conf, **settings):
    port = os.environ.get("PORT")
    if port:
        addresses = settings.get("listen", "127.0.0.1:6543").split()
        settings["listen"] = " ".join(f"{address.rsplit(':', 1)[0]}:{port}" for address in addresses)
    for name, value in WAITRESS_DEFAULTS.items():
        settings.setdefault(name, value)
    timeout = float(settings.pop("shutdown_timeout", SHUTDOWN_TIMEOUT))
    if "switch_interval" in settings:
        sys.setswitchinterval(float(settings.pop("switch_interval")))
    server = create_server(app, **settings)
    server.print_listen("Serving on http://{}:{}")
    GracefulServer(server, timeout).run()
    return 0


class ClosingTask(WSGITask):
    """A response written while the server stops tells the client to go elsewhere.

    And a response that has no body by definition (204, 304) keeps the connection open:
    waitress 3.0 closes every HTTP/1.1 response without Content-Length, which a 204 must not
    carry (RFC 9110 8.6), so keep-alive clients reconnected after each DELETE."""

    _bodiless = False

    def build_response_header(self):
        if getattr(self.channel.server, "stopping", False):
            self.set_close_on_finish()
        self._bodiless = not self.has_body and self.version == "1.1"
        try:
            return super().build_response_header()
        finally:
            self._bodiless = False

    def set_close_on_finish(self):
        asked = self.request.headers.get("CONNECTION", "").lower() == "close"
        if self._bodiless and not self.close_on_finish and not asked:
            return  # only "no Content-Length" would close it, and no body needs none
        super().set_close_on_finish()


class JsonErrorTask(ErrorTask):
    """What waitress answers itself (a request it cannot parse: a bad Content-Length, a header
    too large, a malformed request line; or the app failing before it answers) is in the API's
    one JSON error shape, not waitress's text/plain page."""

    def execute(self):
        error = self.request.error
        self.status = f"{error.code} {error.reason}"
        body = orjson.dumps({"code": error.code, "error": error.reason, "message": error.body, "details": []})
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class Channel(HTTPChannel):
    task_class = ClosingTask
    error_task_class = JsonErrorTask


class GracefulServer:
    """Run a waitress server (one or several listening sockets) until SIGTERM or SIGINT,
    then drain it as the module docstring says."""

    def __init__(self, server, timeout):
        self.server, self.timeout, self.deadline, self.signal = server, timeout, None, None
        self.map = server._map if isinstance(server, BaseWSGIServer) else server.map
        self.listeners = [d for d in self.map.values() if isinstance(d, BaseWSGIServer)]
        for listener in self.listeners:
            listener.channel_class = Channel

    def run(self):
        if threading.current_thread() is threading.main_thread():  # where pserve runs it
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        adj = self.server.adj
        while self.deadline is None and self.map:
            wasyncore.loop(adj.asyncore_loop_timeout, adj.asyncore_use_poll, self.map, count=1)
        started = time.monotonic()
        log.info("shutdown: %s received, finishing the requests in flight", self.signal)
        self._stop_accepting()
        while self._busy() and time.monotonic() < self.deadline:
            wasyncore.loop(0.05, adj.asyncore_use_poll, self.map, count=1)
        left = sum(isinstance(d, HTTPChannel) for d in self.map.values())
        if left:
            log.warning("shutdown: %d connection(s) still busy after %.1f s, closing them", left, self.timeout)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=0.5)
        wasyncore.close_all(self.map)
        log.info("shutdown: drained in %.2f s", time.monotonic() - started)

    def _on_signal(self, signum, frame):
        now = time.monotonic()
        self.deadline = now if self.deadline is not None else now + self.timeout
        self.signal = signal.Signals(signum).name
        self.listeners[0].pull_trigger()  # wake the poll (a write to a pipe: safe in a handler)

    def _stop_accepting(self):
        for listener in self.listeners:
            listener.stopping = True
            while True:  # the backlog: connected clients whose requests are on their way
                try:
                    pair = listener.accept()
                except OSError:
                    break
                if pair is None:
                    break
                conn, addr = pair
                try:
                    listener.set_socket_options(conn)
                except OSError:
                    conn.close()
                    continue
                listener.channel_class(listener, conn, listener.fix_addr(addr), listener.adj, map=self.map)
            # Close the listening socket only: the server's trigger still wakes the loop.
            wasyncore.dispatcher.close(listener)

    def _busy(self):
        """Close the idle connections; True while any other is left."""
        busy, now = False, time.time()
        for channel in list(self.map.values()):
            if isinstance(channel, HTTPChannel):
                if _idle(channel, now):
                    channel.handle_close()
                else:
                    busy = True
        return busy


def _idle(channel, now):
    """No request being received, queued, run or sent, and no byte waiting to be read."""
    if channel.requests or channel.request is not None or channel.total_outbufs_len:
        return False
    if channel.will_close or channel.close_when_flushed:
        return False  # it closes itself once its output is flushed
    if channel.last_activity == channel.creation_time and now - channel.creation_time < FRESH_SECONDS:
        return False
    try:
        return not channel.socket.recv(1, socket.MSG_PEEK)  # b"": the client has gone
    except OSError:  # BlockingIOError: nothing to read
        return True
