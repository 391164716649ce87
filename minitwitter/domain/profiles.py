"""Profiles: the fields of an account every viewer shares, cached under freshness.profile
(the follows, posts, profile edits and deletions that change them bump it). No write of its
own: the response shapes (api/hydration.py) and the feed's pull plan (timelines.py) read it.
"""

from minitwitter.domain import freshness


def shared_profile(tx, user_id):
    """A profile's fields every viewer shares (cached), or None for an unknown user."""
    return tx.cache.cached(
        freshness.profile(user_id), lambda: _jsonable(tx.queries.users.get_user(tx.db, user_id=user_id))
    )


def _jsonable(row):
    return None if row is None else dict(row, created_at=row["created_at"].isoformat())
