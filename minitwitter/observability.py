"""Operations: a request id on every request and log line, JSON logs, Prometheus metrics.

- `X-Request-ID` is taken from the request when it is sane (else made up) and sent back;
  every log line of the request carries it (a contextvar read by JsonFormatter).
- One access log line per request: method, route, status, duration, queries.
- `GET /metrics`: requests and latency by route, database pool use, cache hit rate.
"""

import contextvars
import logging
import re
import time
import uuid
from urllib.parse import quote

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable

from minitwitter.errors import http_error

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
CACHE_LOOKUPS = Counter("minitwitter_cache_lookups_total", "Cache lookups", ["result"])


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
            return response  # thrown away and run again: db.before_retry logs it, the last attempt counts
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
        environ["minitwitter.request_id"] = request_id
    return request_id


def record(request_id, method, route, asked, status, started, queries):
    """The metrics and the access log line of a request answered (started: perf_counter())."""
    elapsed = time.perf_counter() - started
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(route).observe(elapsed)
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
    pool = request.registry.db_pool
    POOL_IN_USE.set(pool.in_use)
    POOL_SIZE.set(pool.maxconn)
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8")


def includeme(config):
    # Outermost, so the access line and the id cover everything below, errors included.
    config.add_tween("minitwitter.observability.tween_factory", under=INGRESS)
    config.add_route("metrics", "/metrics")
    config.add_view(metrics_view, route_name="metrics", request_method="GET", permission=NO_PERMISSION_REQUIRED)
