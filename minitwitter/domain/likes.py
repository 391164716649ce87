"""Likes: like and unlike a post, both idempotent.

- like: likes.like (a live post only; Forbidden across a block with its author, either
  way: domain/safety.py); a new like notifies the post's author
  (domain/notifications.py). unlike: likes.unlike; the notification stays (a like
  again adds none). The post's likes_count follows by trigger in the same transaction
  (migrations/).
- stale, when the like was new (or existed, for unlike): the post's cached body
  (likes_count) and the liker's viewer fields (liked_by_me in their whole responses).
- nothing goes to the outbox.
- both lock the liker's and the author's accounts first (domain.lock_accounts): racing the
  author's deletion, they come first or find the post gone.
"""

from minitwitter.domain import freshness, lock_accounts
from minitwitter.domain.blocked import refuse_blocked_post
from minitwitter.domain.notifications import notify


def like(tx, user_id, post_id):
    """True when this is a new like."""
    lock_accounts(tx, user_id, post_id=post_id)  # first: the author may be deleting the account
    author_id = tx.queries.likes.like(tx.db, post_id=post_id, user_id=user_id)
    if author_id is None:
        refuse_blocked_post(tx, user_id, post_id)  # Forbidden across a block, else a repeat
        return False
    _likes_changed(tx, user_id, post_id)
    notify(tx, "like", user_id, [author_id], post_id)
    return True


def unlike(tx, user_id, post_id):
    """True when there was a like to remove."""
    lock_accounts(tx, user_id, post_id=post_id)
    removed = bool(tx.queries.likes.unlike(tx.db, post_id=post_id, user_id=user_id))
    if removed:
        _likes_changed(tx, user_id, post_id)
    return removed


def _likes_changed(tx, user_id, post_id):
    tx.stale(freshness.post(post_id), freshness.viewer(user_id))  # likes_count, liked_by_me
