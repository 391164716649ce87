"""Authentication at the HTTP edge: the security policy both faces share.

request.identity is the claims of the request's `Authorization: Bearer` access token, as
domain/credentials.py verifies them (its account checked, remembered until it expires), or
None; request.authenticated_userid its account. Every view needs one unless it says
otherwise. What is wrong with a refused token is kept on the request (request.auth_error)
for the 401's message.

On the Mastodon face's API (/api/v1/, /api/v2/) a bearer token may also be one of its OAuth
access tokens (opaque, stored hashed: domain/oauth.py); their claims carry `scopes`, which
the Mastodon views check (a native JWT, without `scopes`, may do everything). An app token
(client_credentials) has no account: user_id None, and it passes no permission check.

The routes under /api/admin/ need the permission `moderator` or `admin`: the caller's role
(domain/moderation.py), read from PostgreSQL on each such request; a `user` gets 403.
"""

import jwt
from pyramid.security import Allowed, Denied

from minitwitter.domain import moderation, oauth
from minitwitter.domain.credentials import SUSPENDED, Passwords, Tokens, token_error

# Where the Mastodon face's OAuth tokens are accepted (beside the JWTs).
STORED_TOKEN_PREFIXES = ("/api/v1/", "/api/v2/")
INVALID_STORED = "The access token is invalid"
# The 403 of an admin route to an account without the role it needs (web/errors.py).
ROLE_NEEDED = {
    "moderator": "Only a moderator or an admin may do this",
    "admin": "Only an admin may do this",
}


def bearer_token(environ):
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    return token if token and scheme.lower() == "bearer" else None


def _session_generation(request, user_id):
    """The account's session generation; None for no account, SUSPENDED for a suspended one."""
    row = request.tx.queries.users.session_state(request.tx.db, user_id=user_id)
    if row is None:
        return None
    return SUSPENDED if row["suspended"] else row["session_generation"]


_UNVERIFIED = object()


def verified_userid(request):
    """The caller's id if this request has verified its token already, else None, without
    asking anything: for exception views, which run in a transaction PostgreSQL may have
    aborted (a statement there raises InFailedSqlTransaction)."""
    claims = getattr(request, "verified_claims", None)
    return claims["user_id"] if claims else None


class JWTSecurityPolicy:
    """request.identity is the access token's claims, or None: verified once per request
    and kept on it (Pyramid asks the policy again on every use of request.identity or
    authenticated_userid; a second check could ask the database after the request's
    transaction failed). A retry is a new request: it verifies again."""

    def identity(self, request):
        claims = getattr(request, "verified_claims", _UNVERIFIED)
        if claims is _UNVERIFIED:
            claims = request.verified_claims = self._verify(request)
        return claims

    def _verify(self, request):
        token = bearer_token(request.environ)
        if token is None:
            return None
        if token.count(".") != 2 and request.path_info.startswith(STORED_TOKEN_PREFIXES):
            try:  # not a JWT: one of the Mastodon face's tokens
                return oauth.verify(request.tx, request.registry.tokens, token)
            except jwt.InvalidTokenError:
                request.auth_error = INVALID_STORED
                return None
        try:
            return request.registry.tokens.verify_access(token, lambda user_id: _session_generation(request, user_id))
        except jwt.InvalidTokenError as e:
            request.auth_error = token_error("access", e)
            return None

    def authenticated_userid(self, request):
        identity = request.identity
        return identity["user_id"] if identity else None

    def permits(self, request, context, permission):
        if request.identity is None or request.identity["user_id"] is None:
            return Denied("authentication required")
        if permission in moderation.RANK:  # the admin routes: `moderator` or `admin`
            if not moderation.may(request.tx, request.identity["user_id"], permission):
                request.forbidden_message = ROLE_NEEDED[permission]
                return Denied(f"{permission} role required")
        return Allowed("authenticated")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


def includeme(config):
    settings = config.registry.settings
    config.registry.tokens = Tokens(settings)
    config.registry.passwords = Passwords(settings["bcrypt.rounds"])
    config.set_security_policy(JWTSecurityPolicy())
    # Secure by default: every view needs a valid access token unless it says otherwise.
    config.set_default_permission("authenticated")
