"""CORS: which browser pages of other origins may call which paths.

- The Mastodon face (`/api/v1/`, `/api/v2/`), discovery (`/.well-known/`, `/nodeinfo/`) and
  OAuth's `/oauth/token` and `/oauth/revoke` answer every origin (`*`), as Mastodon does: its
  web clients (Elk, Phanpy, ...) are served from any origin, and no server can list them.
  That is safe because these paths read no cookie: a token travels in the Authorization
  header, which a page only sends when it holds the token, so credentials are never allowed.
- The rest of `/api/` (the native face) answers the origins listed in `cors.origins`
  (space-separated; none by default), never `*`: the allowed origin is echoed only when it is
  on the list.
- Anything else (the authorize pages, which do use a cookie; media; /metrics) has no CORS: a
  preflight there goes on to the route, and no page of another origin may read an answer.

A preflight (OPTIONS with Access-Control-Request-Method) on a CORS path is answered here:
204, or 403 naming the Origin header for an origin not allowed. The headers a preflight asks
for are allowed when they are header names (Authorization must be named: `*` does not cover
it); Link, Retry-After, X-Request-ID and the X-RateLimit-* headers are exposed.
"""

import re

from pyramid.response import Response

from minitwitter.web.errors import http_error

ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "Link, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
OPEN_PREFIXES = ("/api/v1/", "/api/v2/", "/.well-known/", "/nodeinfo/")
OPEN_PATHS = ("/oauth/token", "/oauth/revoke")
LISTED_PREFIX = "/api/"
_HEADER_NAMES = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")

OPEN, LISTED = "open", "listed"


def allowed_origins(settings):
    return frozenset(settings["cors.origins"].split())


def policy(path):
    """OPEN (every origin), LISTED (cors.origins) or None (no CORS) for a request path."""
    if path.startswith(OPEN_PREFIXES) or path.rstrip("/") in OPEN_PATHS:
        return OPEN
    if path.startswith(LISTED_PREFIX):
        return LISTED
    return None


def headers(origin, origins, path, requested_headers=None):
    """The CORS headers of any response to a request from `origin` for `path`."""
    kind = policy(path)
    if kind is None or origin is None:
        return [("Vary", "Origin")] if kind == LISTED else []
    if kind == LISTED and origin not in origins:
        return [("Vary", "Origin")]
    requested = (requested_headers or "").strip()
    allow_headers = requested if requested and len(requested) <= 1000 and _HEADER_NAMES.fullmatch(requested) else None
    return [
        ("Access-Control-Allow-Origin", "*" if kind == OPEN else origin),
        ("Access-Control-Allow-Methods", ALLOW_METHODS),
        ("Access-Control-Allow-Headers", allow_headers or ALLOW_HEADERS),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]


def tween_factory(handler, registry):
    origins = allowed_origins(registry.settings)

    def cors(request):
        origin = request.headers.get("Origin")
        kind = policy(request.path_info)
        preflight = kind and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        requested = request.headers.get("Access-Control-Request-Headers") if preflight else None
        found = headers(origin, origins, request.path_info, requested)
        if found:
            # On the response that goes out, whatever makes it: a view, an exception view for
            # an error raised below (above this tween), the Mastodon face's error shapes.
            request.add_response_callback(lambda request, response: _add(response, found))
        if not preflight:
            return handler(request)
        if kind == OPEN or origin in origins:
            return Response(status=204)
        detail = {"location": "header", "name": "Origin", "description": "Not an allowed origin (cors.origins)"}
        return http_error(403, "Cross-origin requests from this origin are not allowed", [detail])

    return cors


def _add(response, found):
    for name, value in found:
        if name == "Vary":
            response.headers.add(name, value)
        else:
            response.headers[name] = value


def includeme(config):
    config.add_tween("minitwitter.web.cors.tween_factory", under="minitwitter.web.ingress.tween_factory")
