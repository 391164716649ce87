"""Profiles: the fields of an account every viewer shares, cached under freshness.profile
(the follows, posts, profile edits and deletions that change them bump it). No write of its
own: the response shapes (api/hydration.py) and the feed's pull plan (timelines.py) read it.

Beside it, the set of suspended accounts (moderation.py writes it), which every list, feed
and profile a viewer reads leaves out (safety.py, timelines.py, api/hydration.py).
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
    """Every suspended account (domain/moderation.py), sorted: hidden from every viewer,
    moderators included, in every list. Cached under freshness.SUSPENDED, which each
    suspension and lift bumps; read once per transaction. A response that read it depends
    on that version, so a suspension takes every such cached response out at once."""
    memo = getattr(tx, "suspended_ids", None)
    if memo is None:
        memo = tx.cache.cached(
            "suspended",
            lambda: [r["id"] for r in tx.queries.moderation.suspended_ids(tx.db)],
            version_name=freshness.SUSPENDED,
        )
        tx.suspended_ids = memo
    return memo
