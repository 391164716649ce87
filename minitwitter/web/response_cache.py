"""Whole responses of the hottest reads, per viewer, served in one Redis round trip.

`@cached_response` on a GET view: the first time a viewer asks for a URL, the view runs
as usual while request.cache records the version of everything it read (cache.py);
the rendered body is then stored under (viewer, URL) with those versions. Next time, a
Lua script checks every version and returns the body: no PostgreSQL, no rendering.
Any write that changed one of those things has bumped its version after its commit, so
a stale response is never served; nor when a version was evicted or expired meanwhile: a
missing version matches no response, and is made afresh at a value none was made at.

A view may only read through request.cache (shared fields, pages of ids) or after
request.cache.depend(name) (the viewer's own likes and follows: freshness.viewer).
Anything else it reads must call request.cache.uncovered(), and the response is not
stored. "Not found" is never stored either. The tests check this rule on every request
they make (tests/cached_reads.py): a response stored after an uncovered read fails them.
"""

import functools
import time

import orjson
from cornice.service import get_services
from pyramid.interfaces import IRoutesMapper
from pyramid.response import Response

from minitwitter.domain import oauth
from minitwitter.web import cors, observability
from minitwitter.web.near_cache import NearCache, VersionedSessions, local_key
from minitwitter.web.proxy import FORWARDED
from minitwitter.web.security import STORED_TOKEN_PREFIXES, bearer_token

# Response headers a view sets that belong to the cached response.
KEPT_HEADERS = ("Link",)


def _key(user_id, request):
    # Through a trusted proxy or not: the Mastodon face's URLs differ (web/proxy.py).
    forwarded = "f" if request.environ.get(FORWARDED) else ""
    return f"response:{user_id}:{forwarded}{request.application_url}{request.path_qs}"


def cached_response(view):
    @functools.wraps(view)
    def wrapper(request):
        key = _key(request.authenticated_userid, request)
        response = request.response
        response.content_type = "application/json"
        response.charset = None
        missed = getattr(request, "response_missed", None) == key  # the tween asked already
        hit = None if missed else request.registry.cache.get_response(key)
        if hit is not None:
            head, response.body = hit
            response.headers.update(head["headers"])
            return response
        response.body = orjson.dumps(view(request))
        deps = request.cache.deps  # None for requests that do not fill the cache (cache.py)
        if deps is not None:
            headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            request.registry.cache.set_response(key, deps, headers, response.body)
        return response

    wrapper.cached_response = True
    return wrapper


def remembered_claims(tokens, environ):
    """The claims of the request's bearer token if this process verified it lately (a
    native JWT, or on the Mastodon face one of its stored OAuth tokens), else None."""
    token = bearer_token(environ)
    if token is None:
        return None
    if token.count(".") != 2 and environ.get("PATH_INFO", "").startswith(STORED_TOKEN_PREFIXES):
        return tokens.remembered(("stored", oauth.hash_secret(token)))
    return tokens.remembered(token)


def cached_routes(registry):
    """{route name: the scope its token needs, None for any} of the GET routes whose view
    stores whole responses: the native face's (Cornice) and the Mastodon face's
    (mastodon/statuses.py cached_read, which marks its views with `cached_scope`)."""
    routes = {s.name: None for s in get_services() for m, view, _ in s.definitions if m == "GET" and _is_cached(view)}
    for item in registry.introspector.get_category("views") or []:
        view = item["introspectable"]
        scope = getattr(view["callable"], "cached_scope", None)
        if scope is not None and view["route_name"] and view["request_methods"] in ("GET", ("GET",)):
            routes[view["route_name"]] = scope
    return routes


def allowed(claims, scope):
    """Whether a hit may answer these claims: an account's token, holding `scope` (a native
    JWT, without scopes, may do everything); else the full path answers (401, 403, 422)."""
    if claims["user_id"] is None:
        return False
    scopes = claims.get("scopes")
    return scope is None or scopes is None or oauth.satisfies(scopes, scope)


def tween_factory(handler, registry):
    """A hit answered before routing's view lookup, Cornice's validation, the security
    policy's permission check and the database tween: work that cannot change a hit's
    answer, since the response was stored for this viewer and this exact URL only after
    all of it had passed (a validation error, a 401 or a 404 is never stored). What runs
    for a hit: the request id, access log and metrics, the ingress checks and CORS (the
    tweens above this one), one route match, and the Lua call. Only for a token this process
    has verified lately (security.Tokens.remembered); anything else takes the full path."""
    routes = cached_routes(registry)
    mapper = registry.getUtility(IRoutesMapper)
    cache, tokens, near = registry.cache, registry.tokens, registry.near_cache

    def response_cache(request):
        if request.method != "GET":
            return handler(request)
        claims = remembered_claims(tokens, request.environ)
        if claims is None:
            return handler(request)
        route = mapper(request)["route"]
        if route is None or route.name not in routes or not allowed(claims, routes[route.name]):
            return handler(request)
        key = _key(claims["user_id"], request)
        epoch = near.epoch() if near else None
        hit = cache.get_response(key)
        if hit is None:
            request.response_missed = key  # the view does not ask again
            return handler(request)
        request.matched_route = route  # for the access log and the metrics
        head, body = hit
        if near:
            deps = head["deps"][::2]
            near.keep(local_key(claims["user_id"], request.environ), epoch, deps, route.pattern, head["headers"], body)
        response = Response(body=body, content_type="application/json", charset=None)
        response.headers.update(head["headers"])
        return response

    return response_cache


class NearHits:
    """The WSGI app main() returns when the near cache is on (near_cache.py): a GET whose
    response is current in this process is answered here, with the request id, access log
    line, metrics and CORS headers the tweens would give it; anything else goes to Pyramid.
    Only for a token this process has verified lately, and a GET without a body (the
    ingress would look at a body)."""

    def __init__(self, app):
        self.app, self.registry = app, app.registry
        self.near, self.tokens = app.registry.near_cache, app.registry.tokens
        self.origins = cors.allowed_origins(app.registry.settings)
        # the scope each kept response's route needs, by route pattern (what an entry names)
        mapper = app.registry.getUtility(IRoutesMapper)
        self.scopes = {
            route.pattern: scope
            for name, scope in cached_routes(app.registry).items()
            if (route := mapper.get_route(name)) is not None
        }

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "GET" and environ.get("CONTENT_LENGTH", "") in ("", "0"):
            claims = remembered_claims(self.tokens, environ)
            if claims is not None and "HTTP_TRANSFER_ENCODING" not in environ:
                # remembered_claims() asked the near cache whether the account's sessions
                # ended (Tokens.remembered -> NearCache.ended), which read its pushes now.
                drained = self.tokens.sessions is self.near
                hit = self.near.get(local_key(claims["user_id"], environ), drained=drained)
                if hit is not None and allowed(claims, self.scopes.get(hit[0])):
                    return self._answer(environ, start_response, *hit)
        return self.app(environ, start_response)

    def _answer(self, environ, start_response, route, headers, body):
        started = time.perf_counter()
        request_id = observability.request_id_of(environ)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *headers.items(),
                *cors.headers(environ.get("HTTP_ORIGIN"), self.origins, environ.get("PATH_INFO", "")),
                ("X-Request-ID", request_id),
            ],
        )
        observability.record(request_id, "GET", route, observability.asked_uri(environ), 200, started, 0)
        return [body]


def _is_cached(view):
    return getattr(view, "cached_response", False)


def includeme(config):
    config.registry.near_cache = near = NearCache.from_settings(config.registry.settings)
    config.registry.cache.near = near
    # A suspension, a revocation, a password change or reset and a deletion stop the
    # account's tokens in every process at once (freshness.session): heard through the near
    # cache, else (a Redis Cluster: no near cache) asked of Redis.
    config.registry.tokens.sessions = near if near is not None else VersionedSessions(config.registry.cache)
    config.add_tween("minitwitter.web.response_cache.tween_factory", under="minitwitter.web.cors.tween_factory")
