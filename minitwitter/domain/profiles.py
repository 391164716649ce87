"""Profiles: the fields of an account every viewer shares, cached under freshness.profile
(the follows, posts, profile edits and deletions that change them bump it). No write of its
own: the response shapes (api/hydration.py) and the feed's pull plan (timelines.py) read it.

Beside it, the set of accounts hidden from users, suspended or waiting for approval
(moderation.py and accounts.sign_up write it), which every list, feed, lookup, count and
profile a viewer reads leaves out (safety.py, timelines.py, api/hydration.py, mastodon/).
"""

from minitwitter.domain import freshness


def shared_profile(tx, user_id):
    """A profile's fields every viewer shares (cached), or None for an unknown user."""
    return tx.cache.cached(
        freshness.profile(user_id), lambda: _jsonable(tx.queries.users.get_user(tx.db, user_id=user_id))
    )


def _jsonable(row):
    return None if row is None else dict(row, created_at=row["created_at"].isoformat())


def suspended(tx):
    """Every account hidden from users, sorted: each suspended one (domain/moderation.py)
    and each waiting for approval (a sign-up under `registrations = approval`, until a
    moderator approves or rejects it), in every viewer's hidden set, moderators included,
    in every list, and 404 by id (but to moderators, on the native face). One set, so
    whatever hides a suspended account hides a waiting one too. Cached under
    freshness.SUSPENDED, which each suspension, lift, sign-up waiting, approval and
    rejection bumps; read once per transaction. A response that read it depends on that
    version, so each of them takes every such cached response out at once (sign-ups waiting
    are a moderator's work each, so they are few)."""
    memo = getattr(tx, "suspended_ids", None)
    if memo is None:
        memo = tx.cache.cached(
            "suspended",
            lambda: [r["id"] for r in tx.queries.moderation.suspended_ids(tx.db)],
            version_name=freshness.SUSPENDED,
        )
        tx.suspended_ids = memo
    return memo
