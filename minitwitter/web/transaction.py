"""The request's transaction at the HTTP edge: the tween that ends it, and the retries.

store/db.py holds the connection (request.db) and its hooks; the tween below ends the
transaction through db.finish once the view has answered: a commit for a success, a
rollback otherwise. A commit that fails answers 503, unless pyramid_retry runs the request
again: a write whose transaction PostgreSQL aborted on a deadlock or a serialization
failure (SQLSTATE 40P01, 40001), or a read whose replica failed under it, is run again as a
whole, with a fresh request object (store/db.py's docstring says what survives an attempt).
"""

import logging

import psycopg2
import psycopg2.errors
import pyramid_retry
from prometheus_client import Counter
from pyramid.tweens import EXCVIEW

from minitwitter.store import db
from minitwitter.store.db import SAFE_METHODS
from minitwitter.web.errors import http_error

log = logging.getLogger(__name__)

RETRYABLE = (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure, db.ReplicaUnavailable)
for _error in RETRYABLE:
    pyramid_retry.mark_error_retryable(_error)
RETRIES = Counter("minitwitter_db_retries_total", "Requests run again after a deadlock or serialization failure")


def tween_factory(handler, registry):
    def db_tween(request):
        try:
            response = handler(request)
        except BaseException:
            db.finish(request, commit=False)
            raise
        try:
            db.finish(request, commit=response.status_int < 400)
        except psycopg2.Error as exc:  # the commit itself failed: nothing was written
            if pyramid_retry.is_error_retryable(request, exc):
                raise  # pyramid_retry runs the request again
            log.exception("commit failed on %s %s", request.method, request.path)
            return http_error(503, "The change could not be saved, retry shortly", headers={"Retry-After": "1"})
        return response

    return db_tween


def retry_attempts(request):
    """pyramid_retry's retry.activate_hook: reads never deadlock, so they are run once
    (and their bodies are not copied to be read again); so is a body over the size limit,
    which the ingress tween refuses before anything reads it."""
    if request.method in SAFE_METHODS:
        # a read is run again only when its replica failed under it (ReplicaUnavailable)
        return 2 if request.registry.db_replicas else 1
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
    settings = config.registry.settings
    config.add_tween("minitwitter.web.transaction.tween_factory", over=EXCVIEW)
    settings.setdefault("retry.activate_hook", retry_attempts)
    config.include("pyramid_retry")
    config.add_subscriber(before_retry, pyramid_retry.IBeforeRetry)
