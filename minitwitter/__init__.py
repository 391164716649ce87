"""minitwitter: a small Twitter-like REST API (Pyramid + Cornice over PostgreSQL)."""

import logging

import psycopg2.extras
from pyramid.config import Configurator

from minitwitter import settings as settings_module
from minitwitter.web.json_renderer import OrjsonRenderer
from minitwitter.web.proxy import ForwardedHeaders
from minitwitter.web.response_cache import NearHits

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
        config.include("minitwitter.web.observability")  # request ids, access log, /metrics
        config.include("minitwitter.web.ingress")  # trailing slash, body size and type
        config.include("minitwitter.web.cors")  # browsers: any origin on the Mastodon face, cors.origins on /api/
        config.include("minitwitter.web.errors")  # one JSON error shape for every failure
        config.include("minitwitter.web.security")  # JWT policy; views need a token by default
        config.include("minitwitter.web.transaction")  # request.tx (store/tx.py), ended after the view; retries
        config.include("minitwitter.web.response_cache")  # a cached response's hit, before routing
        config.include("minitwitter.web.ratelimit")  # 429s for logins, sign-ups and writes
        config.include("minitwitter.worker.tasks")  # the Celery app, from the same settings
        config.scan("minitwitter.api.views")
        config.include("minitwitter.mastodon")  # the Mastodon client API: OAuth, instance, accounts
        config.include("minitwitter.api.openapi")  # /api/openapi.json from the schemas, /api/docs/
    app = config.make_wsgi_app()
    # Outermost: a trusted proxy's X-Forwarded-Proto/Host, before anything reads the address.
    return ForwardedHeaders(NearHits(app) if app.registry.near_cache else app, settings["proxy.trusted"])
