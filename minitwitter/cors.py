"""CORS: browsers on the origins listed in `cors.origins` (space-separated) may call
the API. Never `*`: the allowed origin is echoed only when it is on the list, and
credentials are not needed (tokens travel in the Authorization header)."""

from pyramid.response import Response

from minitwitter.errors import http_error

ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "Link, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


def tween_factory(handler, registry):
    origins = set(registry.settings["cors.origins"].split())

    def cors(request):
        origin = request.headers.get("Origin")
        allowed = origin in origins
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if allowed:
                response = Response(status=204)
            else:
                detail = {"location": "header", "name": "Origin", "description": "Not an allowed origin (cors.origins)"}
                response = http_error(403, "Cross-origin requests from this origin are not allowed", [detail])
        else:
            response = handler(request)
        if allowed:
            response.headers.update(
                {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        response.headers.add("Vary", "Origin")
        return response

    return cors


def includeme(config):
    config.add_tween("minitwitter.cors.tween_factory", under="minitwitter.ingress.tween_factory")
