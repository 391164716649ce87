"""What every Mastodon view uses: absolute URLs, input as Mastodon clients send it, and the
token checks (a scope, an account)."""

import re
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

from minitwitter.domain import oauth
from minitwitter.mastodon.errors import MastodonError
from minitwitter.web.fields import has_surrogates
from minitwitter.web.proxy import public_base

try:
    MINITWITTER_VERSION = version("minitwitter")
except PackageNotFoundError:  # run from a checkout that was never installed
    MINITWITTER_VERSION = "0.1.0"
# The Mastodon API this face follows (a client reads the number before the parenthesis, and
# api_versions.mastodon: 2 is 4.3's), then what it is.
MASTODON_VERSION = "4.3.0"
VERSION = f"{MASTODON_VERSION} (compatible; minitwitter {MINITWITTER_VERSION})"
API_VERSIONS = {"mastodon": 2}


def base_url(request):
    """The service's public address, for absolute URLs: entities' url and uri, discovery
    documents, links. The `public_url` setting, or what a trusted proxy in front said
    (X-Forwarded-Proto/Host: web/proxy.py)."""
    return public_base(request)


def domain(request):
    return urlsplit(base_url(request)).netloc


def _body(request):
    if request.content_type == "application/json":
        return request.json_body
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.POST
    return {}


def raw_param(request, name):
    """A parameter's one value, from the body (JSON or form) or else the query string, as
    Mastodon reads them; None when absent. Given twice (`a=1&a=2`): a 422 naming it."""
    body = _body(request)
    if name in body:
        values = body.getall(name) if hasattr(body, "getall") else [body[name]]
    else:
        values = request.GET.getall(name)
    if len(values) > 1:
        raise MastodonError(422, f"Validation failed: {name} must be given once")
    return values[0] if values else None


def param(request, name):
    """A text parameter (raw_param); None when absent. A JSON value that is not text, or text
    with NUL or a lone surrogate (no column can keep them), is a 422 naming it."""
    value = raw_param(request, name)
    if value is None:
        return value
    if not isinstance(value, str):
        raise MastodonError(422, f"Validation failed: {name} must be a string")
    if "\x00" in value or has_surrogates(value):
        raise MastodonError(422, f"Validation failed: {name} must be text (no NUL, valid Unicode)")
    return value


def id_param(request, name):
    """An id parameter: Mastodon's ids are strings, and clients send them as strings or as JSON
    numbers (`"in_reply_to_id": 42`): either, as text; None when absent. Another JSON type
    (true, a list) is a 422 naming it."""
    value = raw_param(request, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():  # JSON Schema's integer: 42.0 is 42
        return str(int(value))
    if value is None or isinstance(value, str):
        return value
    raise MastodonError(422, f"Validation failed: {name} must be an id (a string or a number)")


def id_list(request, name):
    """A list of ids, as param_list reads a list, each a string or a JSON number."""
    body = _body(request)
    if isinstance(body, dict):
        value = body.get(name, body.get(f"{name}[]"))
        if isinstance(value, list):
            value = [_id_text(v) for v in value]
            if all(isinstance(v, str) for v in value):
                return value
            raise MastodonError(422, f"Validation failed: {name} must be an array of ids (strings or numbers)")
        if value is not None and not isinstance(value, str):
            value = _id_text(value)
            if not isinstance(value, str):
                raise MastodonError(422, f"Validation failed: {name} must be an id or an array of ids")
            return [value]
    return param_list(request, name)


def _id_text(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def flag(request, name):
    """A boolean as clients send them: JSON true/false, or "true", "false", "1", "0"."""
    value = raw_param(request, name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise MastodonError(422, f"Validation failed: {name} must be true or false")


# An ISO 639 language code, as Mastodon takes one (`en`, `pt-BR`).
LANGUAGE = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?")


def param_list(request, name):
    """A list parameter: a JSON array, `name[]` repeated (form or query), or one text value."""
    body = _body(request)
    if isinstance(body, dict):  # JSON
        value = body.get(name, body.get(f"{name}[]"))
        if value is None:
            return request.GET.getall(f"{name}[]") or request.GET.getall(name)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise MastodonError(422, f"Validation failed: {name} must be a string or an array of strings")
    return body.getall(f"{name}[]") or body.getall(name) or request.GET.getall(f"{name}[]") or request.GET.getall(name)


def require(request, scope, account=True):
    """The caller's identity, if its token may use `scope` (and, unless account=False, speaks
    for an account): 401 without a valid token, 403 outside its scopes, 422 for an app token
    where an account is needed (as Mastodon answers each)."""
    identity = request.identity
    if identity is None:
        raise MastodonError(401, getattr(request, "auth_error", "The access token is invalid"), WWW_AUTHENTICATE)
    scopes = identity.get("scopes")  # a native JWT has none: it may do everything
    if scopes is not None and not oauth.satisfies(scopes, scope):
        raise MastodonError(403, "This action is outside the authorized scopes")
    if account and identity["user_id"] is None:
        raise MastodonError(422, "This method requires an authenticated user")
    return identity


WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="minitwitter", error="invalid_token"'}
