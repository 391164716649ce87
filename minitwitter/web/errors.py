"""The one JSON error shape, and the views that turn every failure into it.

    {"code": 400, "error": "Bad Request", "message": "text is required",
     "details": [{"location": "body", "name": "text", "description": "Required"}]}

`http_error()` builds any error response; the exception views below make sure no
HTML page and no traceback ever leaves the service (after Kinto's errors.py).
"""

import logging
import re

import orjson
import psycopg2
import psycopg2.errors
import psycopg2.extensions
from pyramid import httpexceptions
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from minitwitter import domain
from minitwitter.web.security import verified_userid

log = logging.getLogger(__name__)
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="minitwitter"'}


def http_error(code, message=None, details=None, headers=None):
    """Return (not raise) an error Response of the one shape. Raise it to abort a view."""
    exc_class = httpexceptions.status_map[code]
    response = exc_class(headers=headers)
    body = {
        "code": code,
        "error": exc_class.title,
        "message": message or exc_class.explanation or exc_class.title,
        "details": details or [],
    }
    response.body = orjson.dumps(body)
    response.content_type = "application/json"
    response.charset = None
    return response


def field_error(name, description, location="body", code=400):
    """An error about one input field, e.g. field_error("text", "Required")."""
    detail = {"location": location, "name": name, "description": description}
    return http_error(code, f"{name}: {description}", [detail])


def cornice_errors(request):
    """Render Cornice's request.errors (validation failures) in the one shape."""
    details = [
        {
            "location": e.get("location", "body"),
            "name": e.get("name") or "",
            "description": str(e.get("description", "")),
        }
        for e in request.errors
    ]
    message = "; ".join(f"{d['name'] or d['location']}: {d['description']}" for d in details)
    return http_error(request.errors.status, message, details)


def _built_by_http_error(exc):
    return exc.content_type == "application/json" and bool(exc.body)


# A view's own 404 or 403 ("No such post", "Only the author may change this post") is raised
# as an HTTPNotFound / HTTPForbidden too, and comes through these views: it keeps its message.
@notfound_view_config()
def notfound(exc, request):
    if _built_by_http_error(exc):
        return exc
    return http_error(404, "The resource was not found")


@forbidden_view_config()
def forbidden(exc, request):
    if _built_by_http_error(exc):
        return exc
    if request.identity is None:
        message = getattr(request, "auth_error", "Authentication required")  # web/security.py
        return http_error(401, message, headers=BEARER_CHALLENGE)
    return http_error(403, getattr(request, "forbidden_message", "You may not do this"))  # web/security.py


@exception_view_config(httpexceptions.HTTPException)
def http_exception(exc, request):
    if _built_by_http_error(exc):
        return exc
    if exc.code < 400:
        return exc  # redirects and 204s pass through
    return http_error(exc.code, exc.detail or exc.explanation, headers=_keep_headers(exc))


def _keep_headers(exc):
    keep = ("Allow", "Retry-After", "WWW-Authenticate", "Location")
    return {k: v for k, v in exc.headers.items() if k in keep}


# What each refusal of a write (minitwitter/domain/) answers.
DOMAIN_STATUS = {
    domain.TooLarge: 413,
    domain.Invalid: 400,
    domain.Unauthorized: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
}


@exception_view_config(domain.DomainError)
def domain_error(exc, request):
    if isinstance(exc, domain.AccountGone):
        return account_gone(request)
    code = next(code for cls, code in DOMAIN_STATUS.items() if isinstance(exc, cls))
    if exc.field is None:
        return http_error(code, exc.message)
    return field_error(exc.field, exc.message, location=_location(request, exc.field), code=code)


def _location(request, field):
    """Where a field named in a refusal came from: the part of the validated input holding it."""
    validated = getattr(request, "validated", None) or {}
    for location in ("path", "querystring", "header"):
        if field in (validated.get(location) or {}):
            return location
    return "body"


@exception_view_config(psycopg2.IntegrityError)
def integrity_error(exc, request):
    # A race the view did not foresee (two writers, one row): a conflict, not a crash.
    log.warning("integrity error on %s %s: %s", request.method, request.path, exc.diag.message_primary)
    if _names_the_caller(exc, request):
        return account_gone(request)
    return http_error(409, "The request conflicts with the current state; retry")


def account_gone(request):
    """The 401 for a valid access token whose account was deleted after the token was
    remembered as verified (security.py checks the account once per token)."""
    request.registry.tokens.forget(request.headers.get("Authorization", "").partition(" ")[2].strip())
    return http_error(401, "The account of this access token no longer exists", headers=BEARER_CHALLENGE)


_MISSING_USER = re.compile(r'Key \((\w+)\)=\((\d+)\) is not present in table "users"')


def _names_the_caller(exc, request):
    """A foreign key to users that fails on the caller's own id (author_id, user_id, ...).
    The caller is the identity the request verified before it failed: an exception view
    runs in the request's transaction, which PostgreSQL has aborted, so it must not ask the
    database anything (verifying a token again would: InFailedSqlTransaction, a 500)."""
    caller = verified_userid(request)
    if not isinstance(exc, psycopg2.errors.ForeignKeyViolation) or caller is None:
        return False
    found = _MISSING_USER.search(exc.diag.message_detail or "")
    return found is not None and int(found.group(2)) == caller


@exception_view_config(psycopg2.extensions.TransactionRollbackError)
def transaction_rolled_back(exc, request):
    # A deadlock or serialization failure that outlived its retries (db.py): the request
    # was fine and will succeed when sent again, so 503 with Retry-After, not a 409.
    log.warning("transaction rolled back on %s %s: %s", request.method, request.path, str(exc).strip())
    return http_error(503, "Conflicting writes kept this change from being saved; retry", headers={"Retry-After": "1"})


@exception_view_config(psycopg2.OperationalError)
@exception_view_config(psycopg2.InterfaceError)  # a connection a pooler restart closed under us
def database_unavailable(exc, request):
    log.error("database unavailable: %s", str(exc).strip())
    return http_error(503, "The database is unavailable, retry shortly", headers={"Retry-After": "1"})


@exception_view_config(Exception)
def uncaught(exc, request):
    log.exception("uncaught exception on %s %s", request.method, request.path)
    return http_error(500, "Internal server error")


def includeme(config):
    config.scan(__name__)
