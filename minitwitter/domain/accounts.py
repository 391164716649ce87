"""Accounts and tokens: sign-up, log in, refresh-token rotation and revocation; the
profile, passwords, email verification, password reset and deletion.

- sign up: users.create_user; the outbox gets a welcome_email; a username or email taken
  (their unique indexes, case-insensitive) is a Conflict naming the field. The setting
  `registrations`: `closed` refuses (Forbidden); `approval` makes the account with approved
  false, and every moderator and admin gets a `sign_up` notification (moderation.py
  approves or rejects it).
- log in: users.get_login and one bcrypt check whether or not the user exists (unknown
  user and wrong password answer alike); then a token pair.
- a token pair: tokens.create_refresh_token, a new family on log in, the same family
  when rotating. The access token is not stored: it is verified from its claims.
- a suspended account (domain/moderation.py): log in and refresh are Forbidden, "This
  account is suspended", once the password (the refresh token) is right; an account
  waiting for approval (sign-ups under `registrations = approval`), likewise "This account
  is awaiting approval".
- refresh: tokens.rotate_refresh_token spends the token; a token already spent, revoked
  or expired is a replay, so its whole family is revoked (tokens.revoke_family) in a
  transaction of its own, which sticks although the request answers 401 and rolls back.
- revoke (log out): tokens.revoke_family.
- profile: accounts.update_profile, accounts.lock_avatar and set_avatar (the image stored and checked as a
  post's, media.py; the replaced one's row now, its files with it: media.remove_files); stale: the profile.
- sessions end (a password change or reset, deletion): users.session_generation goes up
  (access tokens carry it: credentials.py), tokens.revoke_user_tokens, the outstanding reset
  links void (accounts.retire_tokens), and this process forgets the remembered access
  tokens after commit; every other process at once, as after a suspension: they hear the
  bump of freshness.session(id) through their near cache (without its tracking
  connection, within jwt.recheck_seconds).
- emailed tokens (verification at sign-up and on request, password reset): made by the
  worker when it sends the email (issue_token, in the outbox row's claim transaction), so
  the token itself is stored nowhere: account_tokens keeps its SHA-256. Spent once
  (accounts.spend_token), within its lifetime, for the address it was mailed to.
- a reset request writes the same outbox row whether the address has an account or not
  (the worker finds out), so both answers take the same work and time.
- deletion: one transaction; the password is checked before any lock, then the locks in
  the order sql/accounts.sql gives (one deletion at a time; the account's row first, which
  every write about the account locks first too: domain.lock_accounts; then others' posts,
  newest first, and others' counts, in id order), so a write racing it runs wholly before
  or after it and nothing deadlocks; the count triggers step aside (accounts.bulk_delete)
  and every count that included the account drops by one set-based update each (migration
  0010 says why); stale: each post it liked or reposted, each post it replied to
  (replies_count, the replies) or that mentioned it, each account on the other side of a
  follow (counts; its followers' feeds), of a block or a mute (their hidden sets), the feeds
  of the followers of whoever reposted its posts, its posts, lists and tags, popular
  hashtags, search (freshness.py lists each); its files go after commit. Its notifications,
  received and caused, go in one statement (domain/notifications.py: account_deleted); the
  recipients' unread counts follow by trigger, a statement at a time.

A new account has no cached entry yet; profiles are bumped by what changes them.
"""

import hashlib
import logging
import secrets
import unicodedata
from functools import partial

import jwt
import psycopg2.errors

from minitwitter.domain import (
    AccountGone,
    Conflict,
    Forbidden,
    Invalid,
    Unauthorized,
    freshness,
    notifications,
    timelines,
)
from minitwitter.domain import media as images
from minitwitter.domain.credentials import REFRESH, SUSPENDED, token_error
from minitwitter.domain.freshness import stales_nothing

log = logging.getLogger(__name__)

# Which field a unique index guards.
UNIQUE_FIELDS = {"idx_users_username_lower": "username", "idx_users_email_lower": "email"}


REGISTRATIONS = ("open", "approval", "closed")
CLOSED = "Registrations are closed"
AWAITING = "This account is awaiting approval"  # log-in and refresh answer 403 until approved


def sign_up(tx, passwords, username, email, password, registrations="open"):
    """The new account's profile, with its welcome email in the outbox. `registrations`
    (the setting): `closed` refuses (Forbidden); `approval` makes the account waiting
    (approved false) and tells every moderator and admin (a `sign_up` notification);
    minitwitter-admin's create passes `open`. A new account is in no cached entry yet,
    but one waiting is in the set of accounts hidden from users (profiles.suspended): its
    version goes up, or a cached set would leave it in every list and lookup."""
    if registrations not in REGISTRATIONS:
        raise ValueError(f"unknown registrations mode {registrations!r}")
    if registrations == "closed":
        raise Forbidden(CLOSED)
    approved = registrations == "open"
    password_hash = passwords.hash(password)
    try:
        user = tx.queries.users.create_user(
            tx.db, username=username, email=email, password_hash=password_hash, approved=approved
        )
    except psycopg2.errors.UniqueViolation as e:
        raise Conflict("Already taken", field=UNIQUE_FIELDS.get(e.diag.constraint_name, "username")) from None
    tx.enqueue_task("welcome_email", {"user_id": user["id"]})
    if not approved:
        staff = [r["id"] for r in tx.queries.moderation.staff_ids(tx.db)]
        notifications.notify(tx, "sign_up", user["id"], staff)
        tx.stale(freshness.SUSPENDED)
    return user


def limit_key(tx, username=None, email=None, user_id=None):
    """The key a rate limit counts an account's requests under (log-in's guesses, a reset's
    emails): the username or email folded as the account lookups fold it (users.fold:
    PostgreSQL's lower(), never Python's str.lower(), which differs on 'İ' and a final 'Σ'),
    so every spelling that finds the account counts against it. By user_id: the account's
    username, the key its log-ins count under (None if the account is gone)."""
    if user_id is not None:
        folded = tx.queries.users.folded_username(tx.db, user_id=user_id)
        return None if folded is None else f"user:{folded}"
    if email is not None:
        return f"email:{tx.queries.users.fold(tx.db, value=email)}"
    return f"user:{tx.queries.users.fold(tx.db, value=username)}"


@stales_nothing("refresh tokens are in no cached entry")
def log_in(tx, passwords, tokens, username, password):
    """A new token pair (a new family) for these credentials."""
    row = tx.queries.users.get_login(tx.db, username=username)
    # Unknown user and wrong password cost one bcrypt each and answer alike.
    ok = passwords.check(password, row["password_hash"] if row else None)
    if not (row and ok):
        raise Unauthorized("Invalid username or password")
    if row["suspended"]:  # told only to who knows the password
        raise Forbidden(SUSPENDED)
    if not row["approved"]:
        raise Forbidden(AWAITING)
    return _issue_pair(tx, tokens, row["id"], row["session_generation"], family=tokens.new_id())


@stales_nothing("refresh tokens are in no cached entry")
def refresh(tx, tokens, refresh_token):
    """Spend a refresh token for a new pair of the same family."""
    claims = _claims(tokens, refresh_token)
    row = tx.queries.tokens.rotate_refresh_token(tx.db, jti=claims["jti"])
    if row is None:
        # Already spent, revoked or expired: a replay of a rotated token means it leaked,
        # so the whole family goes, and that must stick although this request fails.
        tx.after_rollback(partial(_revoke_family_alone, tx, claims["fam"]))
        raise Unauthorized("Refresh token is no longer valid")
    if row["suspended"]:  # the token stays unspent (this transaction rolls back): it works after a lift
        raise Forbidden(SUSPENDED)
    if not row["approved"]:
        raise Forbidden(AWAITING)
    return _issue_pair(tx, tokens, row["user_id"], row["session_generation"], family=row["family"])


@stales_nothing("refresh tokens are in no cached entry")
def revoke(tx, tokens, refresh_token):
    """Log out: every token of this refresh token's family stops working."""
    claims = _claims(tokens, refresh_token)
    tx.queries.tokens.revoke_family(tx.db, family=claims["fam"])


def _claims(tokens, refresh_token):
    try:
        return tokens.decode(refresh_token, REFRESH)
    except jwt.InvalidTokenError as e:
        raise Unauthorized(token_error(REFRESH, e), field="refresh") from None


def _issue_pair(tx, tokens, user_id, generation, family):
    jti = tokens.new_id()
    tx.queries.tokens.create_refresh_token(
        tx.db, jti=jti, user_id=user_id, family=family, expires_at=tokens.refresh_expiry()
    )
    return {
        "access": tokens.access(user_id, generation),
        "refresh": tokens.refresh(user_id, jti, family),
        "token_type": "Bearer",
        "expires_in": tokens.access_ttl,
    }


def _revoke_family_alone(tx, family):
    """Revoke a family in a short transaction of its own. It runs once the request's own
    transaction has rolled back and given its connection back, so it never waits on it."""
    with tx.separate() as alone:  # commits, or rolls back on an error
        alone.queries.tokens.revoke_family(alone.db, family=family)
    log.warning("refresh token replayed: family %s revoked", family)


# The profile

# A profile's text fields, as both faces check them (api/schemas.py, mastodon/accounts.py):
# a display name is one line, a bio may hold newlines and tabs.
MAX_DISPLAY_NAME, MAX_BIO = 50, 300
LINE_BREAKS = "\u2028\u2029"


def profile_text_problem(value, max_length, one_line=False):
    """What is wrong with a display name (one_line) or a bio, as a sentence; None when fine."""
    if len(value) > max_length:
        return f"Must be at most {max_length} characters"
    allowed = "" if one_line else "\t\n\r"
    for c in value:
        if (unicodedata.category(c) in ("Cc", "Cs") and c not in allowed) or (one_line and c in LINE_BREAKS):
            return (
                "Must not contain control characters or line breaks"
                if one_line
                else "Must not contain control characters"
            )
    return None


def update_profile(tx, user_id, display_name=None, bio=None, avatar=None, media_root=None):
    """Change the fields given (None keeps one); `avatar`, an uploaded file, replaces the avatar."""
    tx.queries.accounts.update_profile(tx.db, user_id=user_id, display_name=display_name, bio=bio)
    if avatar is not None:
        image_id = images.save(tx, user_id, images.store(tx, avatar, media_root, field="avatar"), thumbnail=False)
        replaced = tx.queries.accounts.lock_avatar(tx.db, user_id=user_id)
        tx.queries.accounts.set_avatar(tx.db, user_id=user_id, image_id=image_id)
        if replaced is not None:
            old = tx.queries.images.delete_image(tx.db, image_id=replaced)
            images.remove_files(tx, media_root, old["path"], old["thumbnail_path"])
    tx.stale(freshness.profile(user_id))


# Passwords and sessions


def change_password(tx, passwords, tokens, user_id, current_password, new_password):
    """A new password for someone who knows the current one; every session ends."""
    if not passwords.check(current_password, tx.queries.accounts.get_password(tx.db, user_id=user_id)):
        raise Invalid("Wrong password", field="current_password")
    _set_password(tx, passwords, tokens, user_id, new_password)


@stales_nothing("an outbox row only")
def request_password_reset(tx, email):
    """Mail a reset link to the account with this address, if there is one. The request
    does the same work either way: the worker looks the address up (password_reset_email)."""
    tx.enqueue_task("password_reset_email", {"email": email})


def reset_password(tx, passwords, tokens, token, new_password):
    """Spend a reset token for a new password; every session ends. The link proved the address."""
    user_id = _spend(tx, token, "password_reset")
    tx.queries.accounts.mark_email_verified(tx.db, user_id=user_id)
    _set_password(tx, passwords, tokens, user_id, new_password)


def _set_password(tx, passwords, tokens, user_id, password):
    tx.queries.accounts.set_password(tx.db, user_id=user_id, password_hash=passwords.hash(password))
    _end_sessions(tx, tokens, user_id)


def _end_sessions(tx, tokens, user_id):
    """Every refresh token, every reset link mailed, and (with the generation set_password
    raised, or the account gone) every access token of the account stop working: in every
    process at once (_stop_access_tokens). Passwords, tokens and email_verified are in no
    cached entry."""
    tx.queries.tokens.revoke_user_tokens(tx.db, user_id=user_id)
    tx.queries.accounts.retire_tokens(tx.db, user_id=user_id, purpose="password_reset")
    _stop_access_tokens(tx, tokens, user_id)


def _stop_access_tokens(tx, tokens, user_id):
    """The account's access tokens (JWTs and stored Mastodon tokens) that any process
    remembers as verified stop at once, as a suspension's do (moderation.py): this process
    forgets them after the commit, the others when they hear the bump of
    freshness.session(id) through their near cache's tracking connection (without one,
    within jwt.recheck_seconds)."""
    tx.stale(freshness.session(user_id))
    tx.after_commit(partial(tokens.forget_user, user_id))


# Email verification


@stales_nothing("an outbox row only")
def request_verification(tx, user_id):
    """Mail a new verification link (none if the address is verified by then)."""
    tx.enqueue_task("verify_email", {"user_id": user_id})


def verify_email(tx, user_id, token):
    """Spend a verification token of this account: its address is verified."""
    if _spend(tx, token, "verify_email") != user_id:
        raise Invalid(INVALID_TOKEN, field="token")
    tx.queries.accounts.mark_email_verified(tx.db, user_id=user_id)
    tx.stale(freshness.profile(user_id))


INVALID_TOKEN = "Invalid, used or expired token: ask for a new email"


@stales_nothing("emailed tokens are in no cached entry")
def issue_token(tx, user, purpose, seconds):
    """A new single-use token for `user` (a row with id and email), stored hashed: the
    token, for the email's link. In the worker, in the transaction that sends the email."""
    token = secrets.token_urlsafe(32)
    tx.queries.accounts.create_token(
        tx.db, token_hash=_hash(token), user_id=user["id"], purpose=purpose, email=user["email"], seconds=seconds
    )
    return token


def _spend(tx, token, purpose):
    user_id = tx.queries.accounts.spend_token(tx.db, token_hash=_hash(token), purpose=purpose)
    if user_id is None:
        raise Invalid(INVALID_TOKEN, field="token")
    return user_id["user_id"]


def _hash(token):
    return hashlib.sha256(token.encode()).digest()


# Deletion


def delete_account(tx, passwords, tokens, user_id, password, media_root):
    """The account and everything it made go, in this transaction; every count that
    included them drops, its tokens stop working, its username and email are free."""
    q = tx.queries.accounts
    checked = q.password_hash(tx.db, user_id=user_id)  # checked before any lock is taken
    if checked is None:
        raise AccountGone("The account of this access token no longer exists")
    if not passwords.check(password, checked):
        raise Invalid("Wrong password", field="password")
    # The lock order of sql/accounts.sql: no write it waits for can be waiting for it.
    q.serialize_deletions(tx.db)
    current = q.get_password(tx.db, user_id=user_id)  # the row, FOR UPDATE
    if current is None:  # deleted meanwhile, by another request of its own
        raise AccountGone("The account of this access token no longer exists")
    if current != checked:  # a new password meanwhile: the one given was checked against the old
        raise Invalid("Wrong password", field="password")
    return _delete(tx, tokens, user_id, media_root)


def lock_for_deletion(tx, user_id):
    """The first locks of a deletion by someone else (moderation.reject), in the order of
    sql/accounts.sql: True when the account is there (its row now held), False when not."""
    tx.queries.accounts.serialize_deletions(tx.db)
    return tx.queries.accounts.get_password(tx.db, user_id=user_id) is not None


def remove_account(tx, tokens, user_id, media_root):
    """Delete an account whose row lock_for_deletion took (moderation.reject), as its own
    deletion does."""
    return _delete(tx, tokens, user_id, media_root)


def _delete(tx, tokens, user_id, media_root):
    q = tx.queries.accounts
    list(q.lock_touched_posts(tx.db, user_id=user_id))  # rows come lazily
    list(q.lock_follow_counts(tx.db, user_id=user_id))
    q.bulk_delete(tx.db)  # the count triggers step aside: each count drops by one update below
    liked = {r["post_id"] for r in q.delete_likes(tx.db, user_id=user_id)}
    reposts = list(q.delete_reposts(tx.db, user_id=user_id))
    reposted = {r["post_id"] for r in reposts}
    timelines.account_deleted(tx, user_id, reposts)  # its posts' entries go with them (cascade)
    follows = list(q.delete_follows(tx.db, user_id=user_id))
    list(q.lock_post_totals(tx.db, user_id=user_id))
    list(q.lock_post_tags(tx.db, user_id=user_id))
    tags = sorted({r["name"] for r in q.uncount_posts(tx.db, user_id=user_id)})
    for reposter in q.reposters_of_posts(tx.db, user_id=user_id):  # their reposts go with the posts
        tx.stale(freshness.user_posts(reposter["user_id"]))  # their statuses held the reblogs
        timelines.feeds_changed(tx, reposter["user_id"])
    deleted = list(q.delete_posts(tx.db, user_id=user_id))
    posts = [r["id"] for r in deleted]
    parents = {r["parent_id"] for r in deleted if r["parent_id"] is not None}  # one reply fewer each
    mentioning = {r["post_id"] for r in q.delete_mentions(tx.db, user_id=user_id)}
    hiders = [r["user_id"] for r in q.hiders(tx.db, user_id=user_id)]  # their rows go by cascade
    files = [path for r in q.delete_images(tx.db, user_id=user_id) for path in (r["path"], r["thumbnail_path"])]
    notifications.account_deleted(tx, user_id)  # last but the row: their counters come last in the lock order
    q.delete_user(tx.db, user_id=user_id)  # cascades: tokens, favourite tags, follow emails, ...
    names = [
        *(freshness.post(i) for i in liked | reposted | set(posts) | parents | mentioning),
        *(freshness.replies(i) for i in parents),
        *(freshness.safety(i) for i in hiders),
        *(freshness.profile(r["other_id"]) for r in follows),
        *(freshness.feed(r["other_id"]) for r in follows if r["follows_me"]),
        *(freshness.tag_posts(t) for t in tags),
        *([freshness.POPULAR] if tags else []),
        freshness.ALL_POSTS,
        freshness.SEARCH,
        freshness.user_posts(user_id),
        freshness.profile(user_id),
        freshness.feed(user_id),
        freshness.viewer(user_id),
        freshness.safety(user_id),
    ]
    tx.stale(*names)
    images.remove_files(tx, media_root, *files)
    _stop_access_tokens(tx, tokens, user_id)
    return {"posts": len(posts), "likes": len(liked), "follows": len(follows)}
