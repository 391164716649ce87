"""Sign-up and JWT: log in, refresh (rotating), revoke (log out)."""

import jwt
import psycopg2.errors
from cornice import Service
from cornice.validators import colander_body_validator
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter import ratelimit, schemas
from minitwitter.errors import field_error, http_error
from minitwitter.security import REFRESH, token_error

signup = Service(name="signup", path="/api/users", description="Sign up")
signup_compat = Service(name="signup_compat", path="/api/create_user", description="Sign up (older clients)")
token = Service(name="token", path="/api/token", description="Log in")
token_refresh = Service(name="token_refresh", path="/api/token/refresh", description="Rotate a refresh token")
token_revoke = Service(name="token_revoke", path="/api/token/revoke", description="Log out")

# These routes are how a client gets a token, so they need none.
PUBLIC = {"validators": (colander_body_validator,), "permission": NO_PERMISSION_REQUIRED}

# Which field a unique index guards, for the 409's details.
UNIQUE_FIELDS = {"idx_users_username_lower": "username", "idx_users_email_lower": "email"}


@signup.post(schema=schemas.SignupBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED)
@signup_compat.post(
    schema=schemas.SignupBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def create_user(request):
    ratelimit.check(request, "signup", request.remote_addr)
    body = request.validated
    password_hash = request.registry.passwords.hash(body["password"])
    try:
        user = request.queries.users.create_user(
            request.db, username=body["username"], email=body["email"], password_hash=password_hash
        )
    except psycopg2.errors.UniqueViolation as e:
        request.db.rollback()
        field = UNIQUE_FIELDS.get(e.diag.constraint_name, "username")
        raise field_error(field, "Already taken", code=409) from None
    request.enqueue_task("welcome_email", {"user_id": user["id"]})
    request.response.status = 201
    return user


@token.post(schema=schemas.LoginBody(), **PUBLIC)
def login(request):
    body = request.validated
    ratelimit.check(request, "login", f"ip:{request.remote_addr}")
    ratelimit.check(request, "login", f"user:{body['username'].lower()}")
    row = request.queries.users.get_login(request.db, username=body["username"])
    # Unknown user and wrong password cost one bcrypt each and answer alike.
    ok = request.registry.passwords.check(body["password"], row["password_hash"] if row else None)
    if not (row and ok):
        raise http_error(401, "Invalid username or password")
    return _issue_pair(request, row["id"], family=request.registry.tokens.new_id())


@token_refresh.post(
    schema=schemas.RefreshBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def refresh(request):
    claims = _refresh_claims(request)
    row = request.queries.tokens.rotate_refresh_token(request.db, jti=claims["jti"])
    if row is None:
        # Already spent, revoked or expired: a replay of a rotated token means it leaked,
        # so the whole family goes, and that must stick despite the error response.
        request.queries.tokens.revoke_family(request.db, family=claims["fam"])
        request.db.commit()
        raise http_error(401, "Refresh token is no longer valid")
    return _issue_pair(request, row["user_id"], family=row["family"])


@token_revoke.post(
    schema=schemas.RefreshBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def revoke(request):
    claims = _refresh_claims(request)
    request.queries.tokens.revoke_family(request.db, family=claims["fam"])
    request.response.status = 204
    return None


def _refresh_claims(request):
    try:
        return request.registry.tokens.decode(request.validated["refresh"], REFRESH)
    except jwt.InvalidTokenError as e:
        raise field_error("refresh", token_error(REFRESH, e), code=401) from None


def _issue_pair(request, user_id, family):
    tokens = request.registry.tokens
    jti = tokens.new_id()
    request.queries.tokens.create_refresh_token(
        request.db, jti=jti, user_id=user_id, family=family, expires_at=tokens.refresh_expiry()
    )
    return {
        "access": tokens.access(user_id),
        "refresh": tokens.refresh(user_id, jti, family),
        "token_type": "Bearer",
        "expires_in": tokens.access_ttl,
    }
