"""minitwitter: a small Twitter-like REST API (Pyramid + Cornice over PostgreSQL)."""

import logging

import psycopg2.extras
from pyramid.config import Configurator

from minitwitter import settings as settings_module
from minitwitter.json_renderer import OrjsonRenderer
from minitwitter.response_cache import NearHits

psycopg2.extras.register_uuid()


def main(global_config, **settings):
    """The paste app factory: `pserve development.ini` calls this."""
    settings = settings_module.load(settings)
    logging.getLogger(__name__).debug("starting with sql.path=%s", settings["sql.path"])
    with Configurator(settings=settings) as config:
        config.include("cornice")
        config.commit()  # our error views and renderer below replace Cornice's defaults
        renderer = OrjsonRenderer()
        config.add_renderer("cornicejson", renderer)  # what Cornice services render with
        config.add_renderer("json", renderer)
        config.include("minitwitter.observability")  # request ids, access log, /metrics
        config.include("minitwitter.ingress")  # trailing slash, body size and type
        config.include("minitwitter.cors")  # browsers on cors.origins only
        config.include("minitwitter.response_cache")  # a cached response's hit, before routing
        config.include("minitwitter.errors")  # one JSON error shape for every failure
        config.include("minitwitter.security")  # JWT policy; views need a token by default
        config.include("minitwitter.db")  # request.db, one transaction per request
        config.include("minitwitter.queries")  # request.queries: the named SQL in sql/
        config.include("minitwitter.cache")  # request.cache: Redis that degrades to a miss
        config.include("minitwitter.ratelimit")  # 429s for logins, sign-ups and writes
        config.include("minitwitter.tasks")  # the Celery app, from the same settings
        config.include("minitwitter.outbox")  # request.enqueue_task: tasks written in the transaction
        config.scan("minitwitter.views")
        config.include("minitwitter.openapi")  # /api/openapi.json from the schemas, /api/docs/
    app = config.make_wsgi_app()
    return NearHits(app) if app.registry.near_cache else app
