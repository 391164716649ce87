"""The refusals across a block (domain/safety.py says when): the follows, likes, replies,
reposts and bookmarks that a block, either way, stands between. Apart from safety.py,
which ends follows through domain/follows.py, so that follows.py can refuse without
importing it back.
"""

from minitwitter.domain import Forbidden

BLOCKED = "A block stands between you and this account"


def refuse_blocked(tx, user_id, other_id, field="id"):
    """Forbidden when a block stands between the two accounts, either way."""
    if tx.queries.safety.blocked_between(tx.db, user_id=user_id, other_id=other_id):
        raise Forbidden(BLOCKED, field=field)


def refuse_blocked_post(tx, user_id, post_id, field="id"):
    """Forbidden when a block stands between `user_id` and the post's author, either way."""
    if tx.queries.safety.blocked_post(tx.db, user_id=user_id, post_id=post_id):
        raise Forbidden(BLOCKED, field=field)
