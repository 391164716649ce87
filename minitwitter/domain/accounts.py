"""Accounts and tokens: sign-up, log in, refresh-token rotation and revocation.

- sign up: users.create_user; the outbox gets a welcome_email; a username or email taken
  (their unique indexes, case-insensitive) is a Conflict naming the field.
- log in: users.get_login and one bcrypt check whether or not the user exists (unknown
  user and wrong password answer alike); then a token pair.
- a token pair: tokens.create_refresh_token, a new family on log in, the same family
  when rotating. The access token is not stored: it is verified from its claims.
- refresh: tokens.rotate_refresh_token spends the token; a token already spent, revoked
  or expired is a replay, so its whole family is revoked (tokens.revoke_family) in a
  transaction of its own, which sticks although the request answers 401 and rolls back.
- revoke (log out): tokens.revoke_family.

Nothing here is cached: profiles are bumped by what changes their counts (posts.py,
follows.py), and a new account has no cached entry yet.
"""

import logging
from functools import partial

import jwt
import psycopg2.errors

from minitwitter.domain import Conflict, Unauthorized
from minitwitter.security import REFRESH, token_error

log = logging.getLogger(__name__)

# Which field a unique index guards.
UNIQUE_FIELDS = {"idx_users_username_lower": "username", "idx_users_email_lower": "email"}


def sign_up(tx, passwords, username, email, password):
    """The new account's profile, with its welcome email in the outbox."""
    password_hash = passwords.hash(password)
    try:
        user = tx.queries.users.create_user(tx.db, username=username, email=email, password_hash=password_hash)
    except psycopg2.errors.UniqueViolation as e:
        raise Conflict("Already taken", field=UNIQUE_FIELDS.get(e.diag.constraint_name, "username")) from None
    tx.enqueue_task("welcome_email", {"user_id": user["id"]})
    return user


def log_in(tx, passwords, tokens, username, password):
    """A new token pair (a new family) for these credentials."""
    row = tx.queries.users.get_login(tx.db, username=username)
    # Unknown user and wrong password cost one bcrypt each and answer alike.
    ok = passwords.check(password, row["password_hash"] if row else None)
    if not (row and ok):
        raise Unauthorized("Invalid username or password")
    return _issue_pair(tx, tokens, row["id"], family=tokens.new_id())


def refresh(tx, tokens, refresh_token):
    """Spend a refresh token for a new pair of the same family."""
    claims = _claims(tokens, refresh_token)
    row = tx.queries.tokens.rotate_refresh_token(tx.db, jti=claims["jti"])
    if row is None:
        # Already spent, revoked or expired: a replay of a rotated token means it leaked,
        # so the whole family goes, and that must stick although this request fails.
        tx.after_rollback(partial(_revoke_family_alone, tx, claims["fam"]))
        raise Unauthorized("Refresh token is no longer valid")
    return _issue_pair(tx, tokens, row["user_id"], family=row["family"])


def revoke(tx, tokens, refresh_token):
    """Log out: every token of this refresh token's family stops working."""
    claims = _claims(tokens, refresh_token)
    tx.queries.tokens.revoke_family(tx.db, family=claims["fam"])


def _claims(tokens, refresh_token):
    try:
        return tokens.decode(refresh_token, REFRESH)
    except jwt.InvalidTokenError as e:
        raise Unauthorized(token_error(REFRESH, e), field="refresh") from None


def _issue_pair(tx, tokens, user_id, family):
    jti = tokens.new_id()
    tx.queries.tokens.create_refresh_token(
        tx.db, jti=jti, user_id=user_id, family=family, expires_at=tokens.refresh_expiry()
    )
    return {
        "access": tokens.access(user_id),
        "refresh": tokens.refresh(user_id, jti, family),
        "token_type": "Bearer",
        "expires_in": tokens.access_ttl,
    }


def _revoke_family_alone(request, family):
    """Revoke a family in a short transaction of its own. It runs once the request's own
    transaction has rolled back and given its connection back, so it never waits on it."""
    pool = request.registry.db_pool
    conn = pool.getconn()
    broken = True
    try:
        with conn:  # commits, or rolls back on an error
            request.queries.tokens.revoke_family(conn, family=family)
        broken = False
    finally:
        pool.putconn(conn, broken=broken)
    log.warning("refresh token replayed: family %s revoked", family)
