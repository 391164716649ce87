"""CORS: browsers on the origins listed in `cors.origins` (space-separated) may call
the API. Never `*`: the allowed origin is echoed only when it is on the list, and
credentials are not needed (tokens travel in the Authorization header)."""

from pyramid.response import Response

from minitwitter.web.errors import http_error

ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "Link, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


def allowed_origins(settings):
    return frozenset(settings["cors.origins"].split())


def headers(origin, origins):
    """The CORS headers of any response to a request from `origin`."""
    if origin not in origins:
        return [("Vary", "Origin")]
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ALLOW_METHODS),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]


def tween_factory(handler, registry):
    origins = allowed_origins(registry.settings)

    def cors(request):
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if origin in origins:
                response = Response(status=204)
            else:
                detail = {"location": "header", "name": "Origin", "description": "Not an allowed origin (cors.origins)"}
                response = http_error(403, "Cross-origin requests from this origin are not allowed", [detail])
        else:
            response = handler(request)
        for name, value in headers(origin, origins):
            if name == "Vary":
                response.headers.add(name, value)
            else:
                response.headers[name] = value
        return response

    return cors


def includeme(config):
    config.add_tween("minitwitter.web.cors.tween_factory", under="minitwitter.web.ingress.tween_factory")
