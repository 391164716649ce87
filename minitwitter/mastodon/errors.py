"""Errors in Mastodon's shape on the Mastodon face's routes, and only there.

    {"error": "Record not found"}                                     the API (/api/v1, /api/v2)
    {"error": "invalid_grant", "error_description": "The provided..."} OAuth (/oauth/token, /oauth/revoke)

Every refusal the shared edge makes (the ingress's 400/413/415, a rate limit's 429, a 404 for
an unknown route, a 500) is built in the native shape by web/errors.py; the tween below, over
the transaction's, rewrites such a body into Mastodon's on these paths, keeping the status and the
headers (Retry-After, X-RateLimit-*, WWW-Authenticate). The native routes are untouched.
"""

import orjson
from pyramid.response import Response
from pyramid.view import view_config

from minitwitter.domain.oauth import OAuthError

API_PREFIXES = ("/api/v1/", "/api/v2/", "/.well-known/", "/nodeinfo/")
OAUTH_PREFIX = "/oauth/"
NATIVE_SHAPE = {"code", "error", "message", "details"}
NOT_FOUND = "Record not found"
# The OAuth error code of a refusal the edge made on /oauth/ (RFC 6749 5.2).
OAUTH_CODES = {401: "invalid_client", 403: "access_denied", 429: "slow_down"}


def error_response(status, message, headers=None):
    """A Mastodon API error: {"error": message}."""
    return _json(status, {"error": message}, headers)


def oauth_response(status, error, description, headers=None):
    return _json(status, {"error": error, "error_description": description}, headers)


def _json(status, body, headers=None):
    response = Response(status=status, body=orjson.dumps(body), content_type="application/json", charset=None)
    response.headers.update(headers or {})
    response.cache_control = "no-store"
    return response


class MastodonError(Exception):
    """Raise from a Mastodon view: answered as error_response(status, message)."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@view_config(context=MastodonError)
def mastodon_error(exc, request):
    return error_response(exc.status, exc.message, exc.headers)


@view_config(context=OAuthError)
def oauth_error(exc, request):
    headers = {"WWW-Authenticate": 'Basic realm="minitwitter"'} if exc.status == 401 else None
    return oauth_response(exc.status, exc.error, exc.description, headers)


def method_not_allowed(request):
    """A route's view for the methods it has no view for (mastodon/__init__.py adds it to every
    route; the views with a request_method come first): 405 with Allow, as the native routes."""
    allowed = request.registry.mastodon_methods.get(request.matched_route.name, ())
    return error_response(405, "Method not allowed", {"Allow": ", ".join(allowed)})


def _rewrite(path, response):
    if response.status_int < 400 or response.content_type != "application/json":
        return response
    oauth = path.startswith(OAUTH_PREFIX)
    if not (oauth or path.startswith(API_PREFIXES)):
        return response
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return response
    if not isinstance(body, dict) or set(body) != NATIVE_SHAPE:
        return response
    if oauth:
        code = OAUTH_CODES.get(response.status_int, "invalid_request" if response.status_int < 500 else "server_error")
        response.body = orjson.dumps({"error": code, "error_description": body["message"]})
    else:  # a 404 says what Mastodon's do (a domain NotFound's "No such post" too)
        message = NOT_FOUND if response.status_int == 404 else body["message"]
        response.body = orjson.dumps({"error": message})
    return response


def tween_factory(handler, registry):
    def mastodon_errors(request):
        # The raw WSGI path (latin-1 characters): above the ingress, it may not be UTF-8 yet.
        path = request.environ.get("PATH_INFO", "")
        return _rewrite(path, handler(request))

    return mastodon_errors
