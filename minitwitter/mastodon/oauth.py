"""OAuth 2 as Mastodon serves it (docs.joinmastodon.org/methods/apps, /methods/oauth):

    POST /api/v1/apps                    register a client: client_id, client_secret
    GET  /api/v1/apps/verify_credentials the app of a token
    GET  /oauth/authorize                the log-in page, then the approve page (pages.py)
    POST /oauth/authorize                their forms
    POST /oauth/token                    authorization_code (PKCE S256) or client_credentials
    POST /oauth/revoke                   {}

The rules of apps, codes, tokens and scopes are domain/oauth.py; the pages' CSRF and ticket
are pages.py. The password grant is not offered (Mastodon 4.4 removed it). Wrong passwords
on the log-in page count against ratelimit.login, the native log-in's limit, per address and
per account name.
"""

import base64
import binascii
import re
from urllib.parse import unquote, urlencode

from pyramid.httpexceptions import HTTPTooManyRequests
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Forbidden, Invalid, Unauthorized, oauth
from minitwitter.domain.oauth import OOB, OAuthError
from minitwitter.domain.profiles import shared_profile
from minitwitter.mastodon import pages
from minitwitter.mastodon.common import WWW_AUTHENTICATE, param, param_list, require
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import EMPTY, HTML, ID, Operation, entity
from minitwitter.web import ratelimit
from minitwitter.web.fields import trimmed_pattern

PUBLIC = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}


_STRINGS = {"type": "array", "items": {"type": "string"}}
_APPLICATION = {
    "id": ID,
    "name": {"type": "string"},
    "website": {"type": ["string", "null"]},
    "scopes": _STRINGS,
    "redirect_uri": {"type": "string", "description": "The redirect URIs, one a line (deprecated by 4.3)"},
    "redirect_uris": _STRINGS,
    "vapid_key": {"type": "string", "description": "Empty: no Web Push"},
}
APPLICATION = entity("Application", "A registered app", **_APPLICATION)
CREDENTIAL_APPLICATION = entity(
    "CredentialApplication",
    "A new app, with its credentials (the secret is shown this once)",
    **_APPLICATION,
    client_id={"type": "string"},
    client_secret={"type": "string"},
    client_secret_expires_at={"type": "integer", "const": 0},
)
TOKEN = entity(
    "Token",
    "An access token: send it as `Authorization: Bearer <access_token>`; it does not expire",
    access_token={"type": "string"},
    token_type={"type": "string", "const": "Bearer"},
    scope={"type": "string", "description": "Its scopes, separated by spaces"},
    created_at={"type": "integer", "description": "Unix time"},
)
_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # no NUL (common.param: 422)
_ONE_SCOPE = "|".join(re.escape(scope) for scope in sorted(oauth.SCOPES, key=len, reverse=True))
_SCOPES = rf"^ *(({_ONE_SCOPE})( +({_ONE_SCOPE}))*)? *$"
_SCOPE = {
    "type": "string",
    "pattern": _SCOPES,
    "description": f"Scopes separated by spaces (none: read): {', '.join(oauth.SCOPES)}",
}
_SCOPE_LIST = {
    "anyOf": [_SCOPE, {"type": "array", "items": _SCOPE}],
    "description": "Scopes separated by spaces, or an array of them (none: read)",
}
# What domain/oauth.check_redirect_uri keeps, closely: a scheme, then no space nor fragment.
_WEB_URL = r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?"
_ONE_URI = (
    rf"({re.escape(OOB)}|{_WEB_URL}|(?!(https?|javascript|data|vbscript|file):)[a-z][a-z0-9+.-]*:/[A-Za-z0-9._~/%-]*)"
)
_URI = {"type": "string", "pattern": f"^{_ONE_URI}$", "maxLength": 200}
_URIS = {
    "anyOf": [
        {"type": "string", "pattern": rf"^[ \t\n\r]*{_ONE_URI}([ \t\n\r]+{_ONE_URI}){{0,9}}[ \t\n\r]*$"},
        {"type": "array", "items": _URI, "minItems": 1, "maxItems": oauth.MAX_REDIRECT_URIS},
    ],
    "description": f"Absolute URIs without a fragment (an app's own scheme too), or {OOB}; several separated "
    "by spaces or newlines, or an array",
}
_PAGE = {"type": "string", "description": "An HTML page"}
_REDIRECT = ("To redirect_uri with code and state, or error=access_denied", None, None)


def application(app, credentials=None):
    """The Application entity (CredentialApplication with its credentials, once)."""
    entity = {
        "id": str(app["id"]),
        "name": app["name"],
        "website": app["website"],
        "scopes": list(app["scopes"]),
        "redirect_uri": "\n".join(app["redirect_uris"]),  # deprecated by 4.3, still read
        "redirect_uris": list(app["redirect_uris"]),
        "vapid_key": "",  # no Web Push here
    }
    if credentials:
        entity.update(client_id=app["client_id"], client_secret=credentials, client_secret_expires_at=0)
    return entity


@view_config(
    route_name="mastodon_apps",
    request_method="POST",
    openapi=Operation(
        "Register an app: its client_id and client_secret",
        CREDENTIAL_APPLICATION,
        body={
            "client_name": {
                "type": "string",
                "pattern": trimmed_pattern(oauth.MAX_NAME, r"\x00"),
                "description": f"1 to {oauth.MAX_NAME} characters once trimmed",
            },
            "redirect_uris": _URIS,
            "scopes": _SCOPE_LIST,
            "website": {"type": ["string", "null"], "pattern": f"^({_WEB_URL})?$"},
        },
        required=("client_name", "redirect_uris"),
        body_required=True,
        errors={422},
    ),
    **PUBLIC,
)
def create_app(request):
    uris = [uri for value in param_list(request, "redirect_uris") for uri in value.split()]
    try:
        scopes = oauth.parse_scopes(param_list(request, "scopes"))
        app = oauth.create_app(request.tx, param(request, "client_name"), uris, scopes, param(request, "website"))
    except Invalid as e:
        raise MastodonError(422, f"Validation failed: {e.field}: {e.message}") from None
    return application(app, credentials=app["client_secret"])


@view_config(
    route_name="mastodon_app_credentials",
    request_method="GET",
    openapi=Operation("The app of an OAuth token (any scope; a native token: 401)", APPLICATION, ""),
    **PUBLIC,
)
def verify_app(request):
    identity = request.identity
    if identity is None:  # any scope will do (Mastodon 4.3): only a token is needed
        require(request, "read")
    if "app_id" not in identity:
        # A native JWT is valid elsewhere, but no token of an app: not one this method takes.
        raise MastodonError(401, "This method needs an OAuth token (a native token has no app)", WWW_AUTHENTICATE)
    return application(request.tx.queries.oauth.get_app_by_id(request.tx.db, app_id=identity["app_id"]))


# The authorize pages


def _carried(source):
    return {name: source.get(name) for name in pages.CARRIED}


def _check(request, params):
    return oauth.authorization_request(
        request,
        params["client_id"],
        params["redirect_uri"],
        params["response_type"],
        params["scope"],
        params["code_challenge"],
        params["code_challenge_method"],
    )


def _redirect(uri, **query):
    """uri with the query parameters given (those not None) added (RFC 6749 4.1.2)."""
    added = urlencode({k: v for k, v in query.items() if v is not None})
    response = Response(status=302, location=f"{uri}{'&' if '?' in uri else '?'}{added}")  # no body
    response.headers.update(pages.HEADERS)
    return response


def _refuse(request, error, params):
    """An authorize request that does not hold: back to the app when its redirect_uri is
    known (and not OOB), else a page saying why."""
    redirect = getattr(error, "redirect", None)
    if redirect is None or redirect == OOB:
        return pages.error_page(request, error.description, status=400)
    return _redirect(redirect, error=error.error, error_description=error.description, state=params["state"])


@view_config(
    route_name="mastodon_authorize",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation(
        "The log-in page of an authorization request (response_type=code, PKCE S256)",
        _PAGE,
        media_type=HTML,
        query={
            "response_type": {"type": "string", "enum": ["code"]},
            "client_id": _TEXT,
            "redirect_uri": _TEXT,
            "scope": _SCOPE,
            "state": _TEXT,
            "code_challenge": _TEXT,
            "code_challenge_method": {"type": "string", "enum": ["S256"]},
            "force_login": {"type": "string", "description": "Read and ignored: one always logs in"},
            "lang": {"type": "string", "description": "Read and ignored"},
        },
        also={
            302: ("A request that does not hold, back to its redirect_uri with error", None, None),
            400: ("A request that does not hold, where no redirect_uri is known: a page saying why", HTML, _PAGE),
        },
    ),
)
def authorize(request):
    params = _carried(request.GET)  # force_login and lang are read and ignored: one always logs in
    try:
        app, _scopes = _check(request, params)
    except OAuthError as e:
        return _refuse(request, e, params)
    return pages.login_page(request, app, params)


@view_config(
    route_name="mastodon_authorize",
    request_method="POST",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation(
        "The authorize pages' forms: log in, then approve or deny (CSRF-protected)",
        _PAGE,
        media_type=HTML,
        body={
            "step": {"type": "string", "enum": ["login", "approve"]},
            pages.CSRF_FIELD: _TEXT,
            "login": _TEXT,
            "password": _TEXT,
            "ticket": _TEXT,
            "decision": {"type": "string", "enum": ["approve", "deny"]},
            **{name: _TEXT for name in pages.CARRIED},
        },
        forms=("application/x-www-form-urlencoded",),
        body_required=True,
        also={
            302: _REDIRECT,
            400: ("The form does not hold (an expired ticket, a bad request): a page saying why", HTML, _PAGE),
            403: ("No CSRF cookie, or another value: a page saying why", HTML, _PAGE),
            422: ("A wrong username, email or password: the log-in page again", HTML, _PAGE),
            429: ("Too many log-in attempts: the log-in page again", HTML, _PAGE),
        },
    ),
)
def authorize_form(request):
    form = request.POST
    if not pages.csrf_holds(request, form.get(pages.CSRF_FIELD)):
        message = "This form expired or was not sent from this site: open the app's sign-in link again."
        return pages.error_page(request, message, status=403)
    if form.get("step") == "login":
        return _log_in(request, form)
    if form.get("step") == "approve":
        return _approve(request, form)
    return pages.error_page(request, "Unknown form step.", status=400)


def _log_in(request, form):
    params = _carried(form)
    try:
        app, scopes = _check(request, params)
    except OAuthError as e:
        return _refuse(request, e, params)
    login, password = form.get("login", ""), form.get("password", "")
    if "\x00" in login:  # no account's name or email holds NUL (and no column can)
        return pages.login_page(request, app, params, "Wrong username, email or password.", "", status=422)
    try:  # as POST /api/token/ counts them: the same budget
        ratelimit.check(request, "login", f"ip:{request.remote_addr}")
        ratelimit.check(request, "login", oauth.guess_key(request.tx, login.strip()))
    except HTTPTooManyRequests as refused:
        keep = {k: v for k, v in refused.headers.items() if k.startswith(("Retry-After", "X-RateLimit-"))}
        message = f"Too many attempts: try again in {keep.get('Retry-After', 'a few')} seconds."
        return pages.login_page(request, app, params, message, login, status=429, headers=keep)
    try:
        user_id, generation = oauth.log_in(request.tx, request.registry.passwords, login, password)
    except Unauthorized:
        return pages.login_page(request, app, params, "Wrong username, email or password.", login, status=422)
    except Forbidden as e:  # suspended, or awaiting approval
        return pages.login_page(request, app, params, f"{e.message}.", login, status=403)
    username = shared_profile(request.tx, user_id)["username"]
    ticket = pages.make_ticket(request, user_id, generation, params)
    return pages.approve_page(request, app, params, username, scopes, ticket)


def _approve(request, form):
    ticket = pages.read_ticket(request, form.get("ticket"))
    if ticket is None:
        return pages.error_page(request, "This authorization expired: open the app's sign-in link again.", 400)
    user_id, generation, params = ticket
    try:
        app, scopes = _check(request, params)
    except OAuthError as e:
        return _refuse(request, e, params)
    redirect_uri = params["redirect_uri"]
    if form.get("decision") != "approve":
        if redirect_uri == OOB:
            return pages.error_page(request, "You denied the app access to your account.", status=200)
        return _redirect(redirect_uri, error="access_denied", state=params["state"])
    code = oauth.issue_code(request.tx, app, user_id, generation, redirect_uri, scopes, params["code_challenge"])
    if redirect_uri == OOB:
        return pages.code_page(request, app, code)
    return _redirect(redirect_uri, code=code, state=params["state"])


# Tokens


def _text(request, name):
    try:
        return param(request, name)
    except MastodonError:
        raise OAuthError("invalid_request", f"{name} must be a string") from None


def _client(request):
    """The client's credentials: HTTP Basic (RFC 6749 2.3.1) or client_id/client_secret fields."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, sep, secret = "", "", ""
        if not sep:
            raise OAuthError("invalid_client", "Malformed HTTP Basic client credentials.", 401)
        return oauth.authenticate_client(request.tx, unquote(client_id), unquote(secret))
    return oauth.authenticate_client(request.tx, _text(request, "client_id"), _text(request, "client_secret"))


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@view_config(
    route_name="mastodon_token",
    request_method="POST",
    openapi=Operation(
        "A token: authorization_code (with its PKCE code_verifier) or client_credentials (an app token); "
        "the client's credentials as fields or HTTP Basic",
        TOKEN,
        body={
            "grant_type": {"type": "string", "enum": list(oauth.GRANT_TYPES)},
            "code": _TEXT,
            "redirect_uri": _TEXT,
            "code_verifier": _TEXT,
            "client_id": _TEXT,
            "client_secret": _TEXT,
            "scope": _SCOPE,
        },
        required=("grant_type",),
        body_required=True,
        errors={401, 403},
    ),
    **PUBLIC,
)
def token(request):
    grant_type = _text(request, "grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required.")
    if grant_type not in oauth.GRANT_TYPES:
        raise OAuthError(
            "unsupported_grant_type",
            f"The grant type {grant_type!r} is not offered: use authorization_code (with PKCE) or client_credentials.",
        )
    app = _client(request)
    if grant_type == "authorization_code":
        code, redirect_uri = _text(request, "code"), _text(request, "redirect_uri")
        result = oauth.exchange_code(request.tx, app, code, redirect_uri, _text(request, "code_verifier"))
    else:
        result = oauth.app_token(request.tx, app, _text(request, "scope"))
    request.response.headers.update(NO_STORE)
    return result


@view_config(
    route_name="mastodon_revoke",
    request_method="POST",
    openapi=Operation(
        "Revoke a token of this app: {} (again: {})",
        EMPTY,
        body={"client_id": _TEXT, "client_secret": _TEXT, "token": _TEXT},
        required=("client_id", "client_secret", "token"),
        body_required=True,
        errors={401, 403},
    ),
    **PUBLIC,
)
def revoke(request):
    app = _client(request)
    oauth.revoke(request.tx, request.registry.tokens, app, _text(request, "token"))
    return {}
