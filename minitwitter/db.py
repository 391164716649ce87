"""PostgreSQL access: a bounded connection pool, request.db, one transaction per request.

A request takes a connection the first time it touches `request.db`. The tween below
commits when the response is a success and rolls back otherwise; only after a commit
do the hooks registered with `request.after_commit(fn)` run (Celery publishes, cache
deletes), as Warehouse queues its tasks; `request.after_rollback(fn)` hooks run when
nothing was committed (an uploaded file whose row was not written is removed).

A write whose transaction PostgreSQL aborted on a deadlock or a serialization failure
(SQLSTATE 40P01, 40001) is run again as a whole, with a fresh request object, up to
`retry.attempts` times (pyramid_retry, as Warehouse does). Nothing of a failed attempt
survives it: its rows (outbox tasks, idempotency keys) were rolled back, its after-commit
hooks (publishes, cache bumps) dropped, its files removed by its after-rollback hooks,
and the rate limiter counts the request once. The last attempt's failure answers 503
with Retry-After: the request was fine and will succeed when sent again, so it is the
server being busy (503), not a conflict the client must resolve first (409).
"""

import logging
import select
import threading

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import pyramid_retry
from prometheus_client import Counter
from pyramid.tweens import EXCVIEW

from minitwitter.errors import http_error

log = logging.getLogger(__name__)

RETRYABLE = (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure)
for _error in RETRYABLE:
    pyramid_retry.mark_error_retryable(_error)
RETRIES = Counter("minitwitter_db_retries_total", "Requests run again after a deadlock or serialization failure")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class CountingCursor(psycopg2.extras.RealDictCursor):
    """Rows as dicts; counts statements per connection (tests pin queries per request)."""

    def execute(self, query, vars=None):
        self.connection.statements += 1
        return super().execute(query, vars)


class CountingConnection(psycopg2.extensions.connection):
    statements = 0


class Pool:
    """A thread-safe pool that keeps every connection it opens and waits when all are busy.

    Not psycopg2.pool: its pools close any returned connection beyond `minconn`, so
    under concurrency most requests paid for a new PostgreSQL session (a fork and an
    authentication, several ms): that is why waitress with 8 threads measured 5 times
    slower than with 1 (docs/BENCH.md). Here connections open lazily, up to `maxconn`, and
    stay open; a request finding none free waits for one rather than failing.
    """

    def __init__(self, dsn, maxconn, statement_timeout_ms, wait_timeout=10.0):
        self.maxconn = maxconn
        self._dsn = dsn
        self._options = f"-c statement_timeout={int(statement_timeout_ms)}"
        self._wait_timeout = wait_timeout
        self._slots = threading.BoundedSemaphore(maxconn)
        self._idle = []  # LIFO: the most recently used connection is the warmest
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self):
        return self._in_use

    def _connect(self):
        return psycopg2.connect(
            self._dsn,
            connection_factory=CountingConnection,
            cursor_factory=CountingCursor,
            options=self._options,
            application_name="minitwitter",
        )

    def getconn(self):
        if not self._slots.acquire(timeout=self._wait_timeout):
            raise psycopg2.OperationalError("timed out waiting for a database connection")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is not None and (conn.closed or _closed_by_server(conn)):
                conn.close()
                conn = None
            if conn is None:
                conn = self._connect()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._in_use += 1
        return conn

    def putconn(self, conn, broken=False):
        try:
            if broken or conn.closed or conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
        finally:
            with self._lock:
                self._in_use -= 1
            self._slots.release()


def _closed_by_server(conn):
    """True when PostgreSQL has ended this idle connection (a restart, a terminated backend):
    an idle session has nothing to read unless the server said goodbye and hung up. Without
    this check each such connection would fail one request after the database came back."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _rollback_quietly(conn):
    try:
        conn.rollback()
        return False
    except psycopg2.Error:
        return True


def get_db(request):
    """request.db: this request's connection, taken from the pool on first use."""
    pool = request.registry.db_pool
    conn = pool.getconn()
    request.environ["minitwitter.db"] = conn
    request.environ["minitwitter.statements_before"] = conn.statements
    return conn


def after_commit(request, hook):
    """Run `hook()` once this request's transaction has committed (never on rollback)."""
    request.environ.setdefault("minitwitter.after_commit", []).append(hook)


def after_rollback(request, hook):
    """Run `hook()` once this request's transaction has rolled back (or failed to commit)."""
    request.environ.setdefault("minitwitter.after_rollback", []).append(hook)


def run_hooks(hooks):
    for hook in hooks:
        try:
            hook()
        except Exception:  # a hook must never turn a committed success into an error
            log.exception("hook %r failed", hook)


def tween_factory(handler, registry):
    def db_tween(request):
        try:
            response = handler(request)
        except BaseException:
            _finish(request, commit=False)
            raise
        try:
            _finish(request, commit=response.status_int < 400)
        except psycopg2.Error as exc:  # the commit itself failed: nothing was written
            if pyramid_retry.is_error_retryable(request, exc):
                raise  # pyramid_retry runs the request again
            log.exception("commit failed on %s %s", request.method, request.path)
            return http_error(503, "The change could not be saved, retry shortly", headers={"Retry-After": "1"})
        return response

    return db_tween


def _finish(request, commit):
    conn = request.environ.pop("minitwitter.db", None)
    hooks = request.environ.pop("minitwitter.after_commit", [])
    undo = request.environ.pop("minitwitter.after_rollback", [])
    if conn is None:
        run_hooks(hooks if commit else undo)
        return
    request.environ["minitwitter.queries"] = conn.statements - request.environ["minitwitter.statements_before"]
    broken = False
    try:
        if commit:
            conn.commit()
        else:
            broken = _rollback_quietly(conn)
    except psycopg2.Error:
        broken = True
        run_hooks(undo)
        raise
    finally:
        request.registry.db_pool.putconn(conn, broken=broken or bool(conn.closed))
    run_hooks(hooks if commit else undo)


def retry_attempts(request):
    """pyramid_retry's retry.activate_hook: reads never deadlock, so they are run once
    (and their bodies are not copied to be read again); so is a body over the size limit,
    which the ingress tween refuses before anything reads it."""
    if request.method in SAFE_METHODS:
        return 1
    if (request.content_length or 0) > request.registry.settings["limits.max_body_bytes"]:
        return 1
    return None  # retry.attempts


def before_retry(event):
    RETRIES.inc()
    request = event.request
    log.warning(
        "retrying %s %s (attempt %d of %d): %s",
        request.method,
        request.path,
        request.environ["retry.attempt"] + 2,
        request.environ["retry.attempts"],
        str(event.exception).strip().splitlines()[0],
        extra={"fields": {"retry": True, "sqlstate": getattr(event.exception, "pgcode", None)}},
    )
    request.environ.pop("minitwitter.idempotency", None)  # the next attempt decides again
    # WebOb keeps the parsed form in the environ: parse it again from the rewound body, or
    # the next attempt would get the upload files the first one read to their end.
    request.environ.pop("webob._parsed_post_vars", None)


def includeme(config):
    settings = config.registry.settings
    config.registry.db_pool = Pool(
        settings["database.url"], settings["database.pool_max"], settings["database.statement_timeout"]
    )
    config.add_request_method(get_db, "db", reify=True)
    config.add_request_method(after_commit, "after_commit")
    config.add_request_method(after_rollback, "after_rollback")
    config.add_tween("minitwitter.db.tween_factory", over=EXCVIEW)
    settings.setdefault("retry.activate_hook", retry_attempts)
    config.include("pyramid_retry")
    config.add_subscriber(before_retry, pyramid_retry.IBeforeRetry)
