"""Operations: a request id on every request and log line, JSON logs, Prometheus metrics.

- `X-Request-ID` is taken from the request when it is sane (else made up) and sent back;
  every log line of the request carries it (a contextvar read by JsonFormatter).
- One access log line per request: method, route, status, duration, queries; written by
  WriterThreadHandler (production.ini), off the request threads.
- `GET /metrics`: requests and latency by route, database pool use, cache hit rate.
"""

import contextvars
import logging
import os
import queue
import re
import sys
import threading
import time
import uuid
from urllib.parse import quote

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable

from minitwitter.web.errors import http_error

access_log = logging.getLogger("minitwitter.access")
request_id_var = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

REQUESTS = Counter("minitwitter_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "minitwitter_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
POOL_IN_USE = Gauge("minitwitter_db_pool_in_use", "Database connections in use")
POOL_SIZE = Gauge("minitwitter_db_pool_size", "Database pool size")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record):
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class WriterThreadHandler(logging.Handler):
    """StreamHandler's output, written by a thread of its own: a request thread formats its
    line (the request id is its own) and queues it; the writer writes what is queued, many
    lines per write(2). Under load (wrk -c32, 4 waitress threads), StreamHandler made each
    request thread write and flush under the handler's lock, and the threads convoyed on
    it: a 401 ran at 490-541 req/s, 780-884 with this handler, in paired probes on this
    machine (bench/results/cost-2026-11-30.md). What is queued is written at close (logging's own
    atexit) and by flush(); a process killed -9 loses the lines of its last moments.
    Not logging.handlers.QueueHandler and QueueListener: the ini's fileConfig cannot start a
    listener, the listener writes and flushes one line at a time, and its thread is gone in
    a forked child (Celery's prefork pool); this one starts its writer again there."""

    BATCH = 1000

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self._start()
        os.register_at_fork(after_in_child=self._start)  # a thread does not survive a fork

    def _start(self):
        self._queue, self._closed = queue.SimpleQueue(), False
        self._writer = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._writer.start()

    def handle(self, record):
        # No handler lock: formatting is the caller's own work and the queue is thread-safe.
        if self.filter(record):
            self.emit(record)
        return True

    def emit(self, record):
        try:
            self._queue.put(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def _write(self):
        lines, closing = [], False
        while not closing:
            lines.append(self._queue.get())
            while len(lines) < self.BATCH:
                try:
                    lines.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = [line for line in lines if isinstance(line, threading.Event)]
            closing = any(line is None for line in lines)
            text = "".join(line for line in lines if isinstance(line, str))
            lines = []
            try:
                if text:
                    self.stream.write(text)
                    self.stream.flush()
            except Exception:  # noqa: S110 (a log line that cannot be written has nowhere to go)
                pass
            for event in done:
                event.set()

    def flush(self, timeout=2.0):
        """Wait until every line queued before this call is written."""
        if self._writer.is_alive():
            written = threading.Event()
            self._queue.put(written)
            written.wait(timeout)

    def close(self):
        if not self._closed and self._writer.is_alive():
            self._closed = True
            self.flush()
            self._queue.put(None)
            self._writer.join(2.0)
        super().close()


def tween_factory(handler, registry):
    def observe(request):
        request_id = request_id_of(request.environ)
        token = request_id_var.set(request_id)
        asked = asked_uri(request.environ)  # before the ingress drops a trailing slash
        started = time.perf_counter()
        try:
            response = handler(request)
        except Exception as exc:  # the exception views cover views; this, the tweens around them
            if is_error_retryable(request, exc):
                raise  # pyramid_retry runs the request again (db.py)
            logging.getLogger(__name__).exception("uncaught exception on %s %s", request.method, asked)
            response = http_error(500, "Internal server error")
        finally:
            request_id_var.reset(token)
        if is_error_retryable(request, request.exception):
            return response  # thrown away and run again: transaction.before_retry logs it, the last attempt counts
        route = request.matched_route.pattern if request.matched_route else "unmatched"
        response.headers["X-Request-ID"] = request_id
        queries = request.environ.get("minitwitter.queries", 0)
        record(request_id, request.method, route, asked, response.status_int, started, queries)
        return response

    return observe


def request_id_of(environ):
    """The request's id: set already when this is a retry (db.py), else the client's
    X-Request-ID when it is sane, else a new one."""
    request_id = environ.get("minitwitter.request_id")
    if request_id is None:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ["minitwitter.request_id"] = request_id  # kept by a retry's fresh request, and NearHits
    return request_id


# Each metric's child per label values, as labels() gives it: labels() checks and looks them
# up under a lock at every call, 8.4 and 11.1 µs per request against 0.9 and 2.6 for the
# child's own inc() and observe() (timeit, this machine), about 4% of a near-cache hit.
_children = {}
MEMO_MAX = 10_000


def _child(metric, *labels):
    child = _children.get((metric, labels))
    if child is None:
        child = metric.labels(*labels)
        if len(_children) < MEMO_MAX:  # label values a client chooses (a method) stay unmemoized past it
            _children[(metric, labels)] = child
    return child


def record(request_id, method, route, asked, status, started, queries):
    """The metrics and the access log line of a request answered (started: perf_counter())."""
    elapsed = time.perf_counter() - started
    _child(REQUESTS, method, route, str(status)).inc()
    _child(LATENCY, route).observe(elapsed)
    fields = {
        "request_id": request_id,
        "method": method,
        "route": route,
        "path": asked,
        "status": status,
        "ms": round(elapsed * 1000, 2),
        "queries": queries,
    }
    access_log.info("%s %s %s", method, asked, status, extra={"fields": fields})


def asked_uri(environ):
    """The request target as the client sent it: path with its trailing slash, and the query.
    waitress keeps it (REQUEST_URI); other servers give the decoded parts, quoted back here."""
    uri = environ.get("REQUEST_URI")
    if uri:
        return uri
    path = quote(
        environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~", encoding="latin-1"
    )
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def metrics_view(request):
    pool = request.registry.store.pool
    POOL_IN_USE.set(pool.in_use)
    POOL_SIZE.set(pool.maxconn)
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8")


def includeme(config):
    # Outermost, so the access line and the id cover everything below, errors included.
    config.add_tween("minitwitter.web.observability.tween_factory", under=INGRESS)
    config.add_route("metrics", "/metrics")
    config.add_view(metrics_view, route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
