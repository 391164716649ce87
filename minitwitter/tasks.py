"""Celery: one app built from the same ini as the web service.

The worker and beat run with `minitwitter-celery <ini> worker|beat` (scripts/celery.py),
which loads the ini and environment through settings.load() and calls configure().
"""

import logging

from celery import Celery
from kombu import Connection

log = logging.getLogger(__name__)

celery_app = Celery("minitwitter")
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    timezone="UTC",
)


def configure(settings):
    """Point the Celery app at the configured broker; keep settings for the tasks."""
    celery_app.conf.broker_url = settings["celery.broker_url"]
    celery_app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    celery_app.conf.beat_schedule_filename = f"{settings['var.path']}/celerybeat-schedule"
    celery_app.minitwitter_settings = settings
    return celery_app


def broker_ok(url, timeout=1.0):
    """True when the broker accepts a connection within `timeout` seconds."""
    try:
        with Connection(url, connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception as e:  # kombu raises transport-specific errors
        log.warning("broker unreachable: %s", e)
        return False


def includeme(config):
    configure(config.registry.settings)
