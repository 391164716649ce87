"""Bookmarks: bookmark and remove, both idempotent; private to their owner.

- bookmark: bookmarks.bookmark (a live post only; Forbidden across a block with its
  author, either way: domain/safety.py); remove: bookmarks.unbookmark.
- stale, when something changed: the owner's viewer fields (bookmarked_by_me). The list
  of bookmarks (GET /api/bookmarks/) is read from PostgreSQL each time, so nothing else.
- nothing goes to the outbox, and nobody else is told.
- both lock the owner's and the author's accounts first (domain.lock_accounts), as likes.
"""

from minitwitter.domain import freshness, lock_accounts
from minitwitter.domain.blocked import refuse_blocked_post


def bookmark(tx, user_id, post_id):
    """True when this is a new bookmark."""
    lock_accounts(tx, user_id, post_id=post_id)  # first: the author may be deleting the account
    added = bool(tx.queries.bookmarks.bookmark(tx.db, user_id=user_id, post_id=post_id))
    if added:
        tx.stale(freshness.viewer(user_id))
    else:
        refuse_blocked_post(tx, user_id, post_id)
    return added


def unbookmark(tx, user_id, post_id):
    """True when there was a bookmark to remove."""
    lock_accounts(tx, user_id, post_id=post_id)
    removed = bool(tx.queries.bookmarks.unbookmark(tx.db, user_id=user_id, post_id=post_id))
    if removed:
        tx.stale(freshness.viewer(user_id))
    return removed
