"""The request side of the transactional outbox: request.enqueue_task(kind, payload).

The row is written in the request's own transaction, so it exists exactly when what
asked for it was committed; a failed request leaves none. Publishing waits until after
the commit (a worker must find the row) and never fails the request: when the broker
is down the row stays pending and the beat job relay_outbox publishes it (tasks.py).
"""

from functools import partial

from psycopg2.extras import Json

from minitwitter.worker.tasks import publish


def enqueue(request, kind, payload):
    """Ask for task `kind` (see tasks.HANDLERS) with a JSON payload; returns the outbox id."""
    outbox_id = request.queries.outbox.enqueue(request.db, kind=kind, payload=Json(payload))
    request.after_commit(partial(publish, outbox_id, kind))
    return outbox_id


def includeme(config):
    config.add_request_method(enqueue, "enqueue_task")
