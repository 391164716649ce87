"""OAuth 2 for the Mastodon face: apps, authorization codes, access tokens, scopes.

- create_app: a client registers (POST /api/v1/apps); its client_secret is shown once and
  stored as its SHA-256 (migration 0017), as are codes and tokens.
- log_in: the authorize page's credentials, a username or an email and the password; one
  bcrypt check whether or not the account exists (unknown and wrong answer alike).
- issue_code: a person approved an app: a code for 10 minutes (CODE_SECONDS), bound to the
  app, the redirect_uri, the scopes, the PKCE challenge and the account's session generation.
- exchange_code: spends it (oauth.spend_code deletes it: single use) for an access token;
  a code expired, of another client or redirect_uri, or with the wrong PKCE verifier is an
  invalid_grant.
- app_token: client_credentials, a token of the app alone (no account).
- revoke: a token of the app stops working (the process forgets it after commit; the others
  within jwt.recheck_seconds).
- verify: a bearer token's claims (user_id, app_id, scopes), remembered by
  credentials.Tokens.verify_stored. A token does not expire; it ends when revoked, when its
  account's password changes or is reset (session_generation, accounts.py: the same
  forget_user, and the bump of freshness.session that every process hears), or with its
  account.

Scopes are Mastodon's: read, write, follow, push, profile and the granular ones
(read:statuses, ...). A granted `read` covers every `read:*`, `write` every `write:*`, and the
legacy `follow` the follows, blocks and mutes (satisfies).

No HTTP here: the pages and routes are minitwitter/mastodon/oauth.py.
"""

import base64
import hashlib
import hmac
import re
import secrets
from functools import partial
from urllib.parse import urlsplit

from minitwitter.domain import Forbidden, Invalid, Unauthorized, freshness
from minitwitter.domain.accounts import AWAITING, limit_key
from minitwitter.domain.credentials import SUSPENDED
from minitwitter.domain.freshness import stales_nothing

CODE_SECONDS = 600
OOB = "urn:ietf:wg:oauth:2.0:oob"
TOP_SCOPES = ("read", "write", "follow", "push", "profile")
GRANULAR = {
    "read": (
        "accounts",
        "blocks",
        "bookmarks",
        "favourites",
        "filters",
        "follows",
        "lists",
        "mutes",
        "notifications",
        "search",
        "statuses",
    ),
    "write": (
        "accounts",
        "blocks",
        "bookmarks",
        "conversations",
        "favourites",
        "filters",
        "follows",
        "lists",
        "media",
        "mutes",
        "notifications",
        "reports",
        "statuses",
    ),
}
SCOPES = (*TOP_SCOPES, *(f"{top}:{name}" for top, names in GRANULAR.items() for name in names))
# What the legacy `follow` scope grants (Mastodon's doorkeeper configuration).
FOLLOW = frozenset(f"{rw}:{name}" for rw in ("read", "write") for name in ("blocks", "follows", "mutes"))
DEFAULT_SCOPES = ("read",)
GRANT_TYPES = ("authorization_code", "client_credentials")

MAX_NAME = 60
MAX_URI = 2000
MAX_REDIRECT_URIS = 10
# RFC 7636 4.1: a verifier (and an S256 challenge, its hash in base64url) is 43 to 128 of these.
PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OAuthError(Exception):
    """An OAuth 2 refusal (RFC 6749 5.2): its `error` code, a description, an HTTP status."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).digest()


# Scopes


def parse_scopes(value, field="scopes"):
    """A space-separated scope list (or a list of them) -> its scopes in order, each once;
    none: the default `read`. An unknown scope is Invalid, naming `field`."""
    words = value.split() if isinstance(value, str) else [w for v in value or () for w in str(v).split()]
    unknown = [w for w in words if w not in SCOPES]
    if unknown:
        raise Invalid(f"Unknown scope: {', '.join(unknown)} (known: {' '.join(SCOPES)})", field=field)
    return list(dict.fromkeys(words)) or list(DEFAULT_SCOPES)


def satisfies(granted, needed):
    """Whether scopes `granted` allow `needed` (one scope, e.g. "read:statuses")."""
    if needed in granted:
        return True
    top, _, _ = needed.partition(":")
    return top in granted or ("follow" in granted and needed in FOLLOW)


def _within(app, scopes):
    return all(satisfies(app["scopes"], scope) for scope in scopes)


# Apps


def check_redirect_uri(uri, field="redirect_uris"):
    """An absolute URI without a fragment (an app's own scheme too: `tusky://oauth`), or OOB."""
    if uri == OOB:
        return uri
    parts = urlsplit(uri)
    if len(uri) > MAX_URI or not parts.scheme or parts.fragment or any(c.isspace() for c in uri):
        raise Invalid(f"Must be absolute URIs without a fragment, or {OOB}", field=field)
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise Invalid("An http(s) redirect URI needs a host", field=field)
    if parts.scheme.lower() in ("javascript", "data", "vbscript", "file"):
        raise Invalid(f"The scheme {parts.scheme}: is not allowed", field=field)
    return uri


@stales_nothing("an app is in no cached entry")
def create_app(tx, name, redirect_uris, scopes, website=None):
    """A new client: its row and, this once, its client_secret."""
    name = (name or "").strip()
    if not name:
        raise Invalid("Can't be blank", field="client_name")
    if len(name) > MAX_NAME:
        raise Invalid(f"Must be at most {MAX_NAME} characters", field="client_name")
    if not redirect_uris:
        raise Invalid("Can't be blank", field="redirect_uris")
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise Invalid(f"At most {MAX_REDIRECT_URIS} redirect URIs", field="redirect_uris")
    uris = list(dict.fromkeys(check_redirect_uri(uri) for uri in redirect_uris))
    if website:
        parts = urlsplit(website)
        if len(website) > MAX_URI or parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid("Must be an http(s) URL", field="website")
    secret = secrets.token_urlsafe(32)
    app = tx.queries.oauth.create_app(
        tx.db,
        name=name,
        website=website or None,
        redirect_uris=uris,
        scopes=scopes,
        client_id=secrets.token_urlsafe(32),
        client_secret_hash=hash_secret(secret),
    )
    return dict(app, client_secret=secret)


def get_client(tx, client_id):
    """The app of a client_id, or None."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 200 or "\x00" in client_id:
        return None  # (NUL: no text column holds it, and no client_id has it)
    return tx.queries.oauth.get_app(tx.db, client_id=client_id)


def authenticate_client(tx, client_id, client_secret):
    """The app whose credentials these are, or an invalid_client (401)."""
    app = get_client(tx, client_id)
    valid = isinstance(client_secret, str) and client_secret
    expected = app["client_secret_hash"] if app else hash_secret("no such client")
    if not (hmac.compare_digest(bytes(expected), hash_secret(client_secret if valid else "")) and app and valid):
        raise OAuthError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, "
            "or unsupported authentication method.",
            401,
        )
    return app


def authorization_request(tx, client_id, redirect_uri, response_type, scope, code_challenge, method):
    """What an authorize request asks, checked: (app, scopes). A client or redirect_uri that
    does not hold is an OAuthError with no redirect (status 400): the page says it to the
    person; the others name the redirect they may be sent to (error.redirect)."""
    app = get_client(tx, client_id)
    if app is None:
        raise OAuthError("invalid_client", "No app has this client_id: the app must register first.")
    if redirect_uri not in app["redirect_uris"]:
        raise OAuthError("invalid_redirect_uri", "The redirect_uri is not one the app registered.")
    try:
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
        try:
            scopes = parse_scopes(scope or "", field="scope")
        except Invalid as e:
            raise OAuthError("invalid_scope", e.message) from None
        if not _within(app, scopes):
            raise OAuthError("invalid_scope", "The requested scope is not within the app's registered scopes.")
        if code_challenge is not None or method is not None:
            if (method or "plain") != "S256":
                raise OAuthError("invalid_request", "code_challenge_method must be S256.")
            if not PKCE.match(code_challenge or ""):
                raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].")
    except OAuthError as e:
        e.redirect = redirect_uri
        raise
    return app, scopes


# The person


def log_in(tx, passwords, login, password):
    """(user id, session generation) for a username or an email and its password."""
    login = (login or "").strip()
    q = tx.queries
    row = None
    if login and len(login) <= 320:
        row = (q.oauth.get_login_by_email if "@" in login else q.users.get_login)(tx.db, **_login_key(login))
    ok = passwords.check(password or "", row["password_hash"] if row else None)
    if not (row and ok):
        raise Unauthorized("Invalid username, email or password")
    if row["suspended"]:  # as POST /api/token/: told only to who knows the password
        raise Forbidden(SUSPENDED)
    if not row["approved"]:
        raise Forbidden(AWAITING)
    return row["id"], row["session_generation"]


def _login_key(login):
    return {"email": login} if "@" in login else {"username": login}


def guess_key(tx, login):
    """The key a log-in attempt counts under (ratelimit.login): the account's, as POST
    /api/token/ counts it (accounts.limit_key), whether it names the account by username or
    by email; an email that finds no account counts under itself."""
    if "@" in login:
        row = tx.queries.oauth.get_login_by_email(tx.db, email=login)
        return limit_key(tx, user_id=row["id"]) if row else limit_key(tx, email=login)
    return limit_key(tx, username=login)


# Codes and tokens


@stales_nothing("codes are in no cached entry")
def issue_code(tx, app, user_id, generation, redirect_uri, scopes, code_challenge):
    """A person approved `app`: a single-use code for CODE_SECONDS."""
    code = secrets.token_urlsafe(32)
    tx.queries.oauth.purge_expired_codes(tx.db)
    tx.queries.oauth.create_code(
        tx.db,
        code_hash=hash_secret(code),
        app_id=app["id"],
        user_id=user_id,
        redirect_uri=redirect_uri,
        scopes=list(scopes),
        code_challenge=code_challenge,
        session_generation=generation,
        seconds=CODE_SECONDS,
    )
    return code


INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client."
)


@stales_nothing("tokens are in no cached entry")
def exchange_code(tx, app, code, redirect_uri, code_verifier=None):
    """Spend a code of `app` for an access token (the Token entity)."""
    if not isinstance(code, str) or not code or len(code) > 200:
        raise OAuthError("invalid_request", "code is required.")
    row = tx.queries.oauth.spend_code(tx.db, code_hash=hash_secret(code))
    if row is None or not row["live"] or row["app_id"] != app["id"] or row["redirect_uri"] != redirect_uri:
        raise OAuthError("invalid_grant", INVALID_GRANT)
    if row["code_challenge"] is not None or code_verifier is not None:
        if not _pkce_holds(row["code_challenge"], code_verifier):
            raise OAuthError("invalid_grant", "The PKCE code_verifier does not match the code_challenge.")
    return _token(tx, app, row["user_id"], row["scopes"], row["session_generation"])


def _pkce_holds(challenge, verifier):
    if challenge is None or not isinstance(verifier, str) or not PKCE.match(verifier):
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(digest, challenge)


@stales_nothing("tokens are in no cached entry")
def app_token(tx, app, scope):
    """client_credentials: a token of the app alone, for scopes within its own."""
    try:
        scopes = parse_scopes(scope or "", field="scope")
    except Invalid as e:
        raise OAuthError("invalid_scope", e.message) from None
    if not _within(app, scopes):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return _token(tx, app, None, scopes, None)


def _token(tx, app, user_id, scopes, generation):
    token = secrets.token_urlsafe(32)
    row = tx.queries.oauth.create_token(
        tx.db,
        token_hash=hash_secret(token),
        app_id=app["id"],
        user_id=user_id,
        scopes=list(scopes),
        session_generation=generation,
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "scope": " ".join(row["scopes"]),
        "created_at": int(row["created_at"].timestamp()),
    }


def revoke(tx, tokens, app, token):
    """Revoke a token of `app` (idempotent; an unknown token is no error, RFC 7009 2.2);
    another app's token is refused (unauthorized_client, 403) and left working.

    A revoked token stops at once in every process, not within jwt.recheck_seconds: behind a
    load balancer the client's next request may reach a process that remembers the token as
    verified (domain/credentials.py). Its account's freshness.session is bumped, which every
    process's near cache hears: each then looks that account's tokens up again, once."""
    if not isinstance(token, str) or not token:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    token_hash = hash_secret(token)
    found = tx.queries.oauth.revoke_token(tx.db, token_hash=token_hash, app_id=app["id"])
    if found is not None and found["app_id"] != app["id"]:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    if found is not None and found["user_id"] is not None:
        tx.stale(freshness.session(found["user_id"]))
    tx.after_commit(partial(tokens.forget_stored, token_hash))


def verify(tx, tokens, token):
    """A bearer token's claims {user_id (None: an app token), app_id, token_id, scopes}, or
    jwt.InvalidTokenError (credentials.Tokens.verify_stored)."""
    token_hash = hash_secret(token)

    def lookup():
        row = tx.queries.oauth.get_token(tx.db, token_hash=token_hash)
        if row is None:
            return None
        return {
            "user_id": row["user_id"],
            "app_id": row["app_id"],
            "token_id": row["id"],
            "scopes": frozenset(row["scopes"]),
        }

    return tokens.verify_stored(token_hash, lookup)
