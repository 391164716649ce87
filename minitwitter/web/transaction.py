"""The request's transaction at the HTTP edge: request.tx, the tween that ends it, the retries.

request.tx is the request's Tx (store/tx.py), begun from the app's Store (registry.store)
the first time something asks for it: a view passing it to the domain, request.db and
request.cache (shortcuts to its connection and cache, for the views' own reads), the
security policy's account check. The tween below ends it once the view has answered: a
commit for a success, a rollback otherwise, and then its after-commit (or after-rollback)
work. A commit that fails answers 503, unless pyramid_retry runs the request again: a
write whose transaction PostgreSQL aborted on a deadlock or a serialization failure
(SQLSTATE 40P01, 40001), or a read whose replica failed under it, is run again as a whole,
with a fresh request object and so a fresh Tx (store/db.py's docstring says what survives
an attempt). A Tx begun above the tween (the rate limiter's account check) and never
reaching it (a 429) is rolled back when the request finishes.
"""

import logging

import jwt
import psycopg2
import psycopg2.errors
import pyramid_retry
from prometheus_client import Counter
from pyramid.tweens import EXCVIEW

from minitwitter.store import db
from minitwitter.store.tx import Store
from minitwitter.web.errors import http_error
from minitwitter.worker.tasks import publish

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Routes that must see the primary whatever the method: the health check reports it.
PRIMARY_ROUTES = {"health"}
RETRYABLE = (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure, db.ReplicaUnavailable)
for _error in RETRYABLE:
    pyramid_retry.mark_error_retryable(_error)
RETRIES = Counter("minitwitter_db_retries_total", "Requests run again after a deadlock or serialization failure")


def request_tx(request):
    """request.tx: this request's transaction. A GET or HEAD fills the cache; a read may
    use a replica (not the health check's, not a read run again after its replica failed);
    a write's commit is recorded for the reader's next reads (store/db.py)."""
    store = request.registry.store
    safe = request.method in SAFE_METHODS
    user_id, issued_at = _token_user(request) if store.replicas else (None, None)
    replica = None
    if safe and not request.environ.get("retry.attempt"):  # a read run again goes to the primary

        def replica():  # asked at the first statement, once the route is known
            return _route_name(request) not in PRIMARY_ROUTES

    tx = store.begin(
        fills=request.method in ("GET", "HEAD"), replica=replica, write=not safe, user_id=user_id, issued_at=issued_at
    )
    request.add_finished_callback(lambda request: tx.close())  # ended already, unless the tween never saw it
    return tx


def _route_name(request):
    route = request.matched_route
    return route.name if route is not None else None


def _token_user(request):
    """(user id, issued at) from the bearer token, unverified: it only picks where to read."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, None
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
        return int(claims["sub"]), float(claims["iat"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None, None


def tween_factory(handler, registry):
    def transaction(request):
        try:
            response = handler(request)
        except BaseException:
            _end(request, request.tx.rollback)
            raise
        try:
            _end(request, request.tx.commit if response.status_int < 400 else request.tx.rollback)
        except psycopg2.Error as exc:  # the commit itself failed: nothing was written
            if pyramid_retry.is_error_retryable(request, exc):
                raise  # pyramid_retry runs the request again
            log.exception("commit failed on %s %s", request.method, request.path)
            return http_error(503, "The change could not be saved, retry shortly", headers={"Retry-After": "1"})
        return response

    return transaction


def _end(request, end):
    try:
        end()
    finally:
        # The statement count, for the access log (observability.py) and for whoever called
        # the WSGI app (tests, minitwitter-bench): the environ is what they share with it.
        request.environ["minitwitter.queries"] = request.tx.statements


def retry_attempts(request):
    """pyramid_retry's retry.activate_hook: reads never deadlock, so they are run once
    (and their bodies are not copied to be read again); so is a body over the size limit,
    which the ingress tween refuses before anything reads it."""
    if request.method in SAFE_METHODS:
        # a read is run again only when its replica failed under it (ReplicaUnavailable)
        return 2 if request.registry.store.replicas else 1
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
    # (The next attempt's ingress parses the form again, with fresh upload files.)


def includeme(config):
    """registry.store (with registry.queries and registry.cache, its named queries and
    cache), request.tx and its shortcuts, the tween, the retries."""
    settings = config.registry.settings
    store = config.registry.store = Store(settings, publish=publish)
    config.registry.queries, config.registry.cache = store.queries, store.cache
    config.add_request_method(request_tx, "tx", reify=True)
    config.add_request_method(lambda request: request.tx.db, "db", property=True)
    config.add_request_method(lambda request: request.registry.queries, "queries", reify=True)
    config.add_request_method(lambda request: request.tx.cache, "cache", reify=True)
    config.add_tween("minitwitter.web.transaction.tween_factory", over=EXCVIEW)
    settings.setdefault("retry.activate_hook", retry_attempts)
    config.include("pyramid_retry")
    config.add_subscriber(before_retry, pyramid_retry.IBeforeRetry)
