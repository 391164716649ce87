"""GET /api/health/: the state of the database, the cache and the broker."""

import logging

from cornice import Service
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api import shapes
from minitwitter.api.openapi import Answers
from minitwitter.worker.tasks import broker_ok

log = logging.getLogger(__name__)

health = Service(name="health", path="/api/health", description="Service health")


@health.get(
    permission=NO_PERMISSION_REQUIRED,
    # The database is down: the same report, as a 503.
    openapi=Answers(200, shapes.HEALTH, also={503: ("The database is down", shapes.HEALTH)}),
)
def get_health(request):
    settings = request.registry.settings
    try:
        database = request.queries.health.ping(request.db) == 1
    except Exception as e:  # any failure to reach PostgreSQL is "down", never a 500
        log.error("health: database down: %s", e)
        database = False
    checks = {
        "database": "ok" if database else "down",
        "cache": "ok" if request.registry.cache.ping() else "down",
        "broker": "ok" if broker_ok(settings["celery.broker_url"]) else "down",
    }
    # Only the database is essential: without Redis or the broker requests are still served.
    request.response.status = 200 if database else 503
    return {"status": "ok" if all(v == "ok" for v in checks.values()) else "degraded", **checks}
