"""Follows: follow and unfollow a user, both idempotent.

- follow: follows.follow; a new follow puts a follow_email in the outbox (the followee
  hears who followed them) and notifies the followee (domain/notifications.py; a follow
  again after an unfollow adds none). Following yourself is Invalid; following across a
  block, either way, Forbidden (domain/safety.py).
- unfollow: follows.unfollow; unfollowing yourself is a no-op like any repeated unfollow.
- the follower's home timeline, if they have one: the followee's newest posts and reposts
  come in, or what came through the followee goes (domain/timelines.py).
- stale, when something changed: both profiles (followers_count, following_count), the
  follower's feed and the follower's viewer fields (followed_by_me).
The counts follow by trigger in the same transaction (migrations/).

Both first take the pair's lock (domain.lock_pair), which a block and an
unblock of the two take too, then lock the two accounts (domain.lock_accounts): a follow
racing a block either commits first, and the block ends it, or sees the block (Forbidden);
one racing either account's deletion runs before it or finds the account gone (NotFound).
"""

from minitwitter.domain import Invalid, freshness, lock_pair, timelines
from minitwitter.domain.blocked import refuse_blocked
from minitwitter.domain.notifications import notify


def follow(tx, follower_id, followee_id):
    """True when this is a new follow."""
    if followee_id == follower_id:
        raise Invalid("You cannot follow yourself", field="id")
    lock_pair(tx, follower_id, followee_id)
    added = bool(tx.queries.follows.follow(tx.db, follower_id=follower_id, followee_id=followee_id))
    if added:
        tx.enqueue_task("follow_email", {"follower_id": follower_id, "followee_id": followee_id})
        timelines.followed(tx, follower_id, followee_id, tx.settings["feed.timeline_size"])
        _follows_changed(tx, follower_id, followee_id)
        notify(tx, "follow", follower_id, [followee_id])
    else:
        refuse_blocked(tx, follower_id, followee_id)
    return added


def unfollow(tx, follower_id, followee_id):
    """True when there was a follow to remove."""
    if follower_id != followee_id:
        lock_pair(tx, follower_id, followee_id)
    return ended(tx, follower_id, followee_id)


def ended(tx, follower_id, followee_id):
    """unfollow, for a caller holding the pair's lock already (a block): True when there
    was a follow to remove."""
    removed = bool(tx.queries.follows.unfollow(tx.db, follower_id=follower_id, followee_id=followee_id))
    if removed:
        timelines.unfollowed(tx, follower_id, followee_id)
        _follows_changed(tx, follower_id, followee_id)
    return removed


def _follows_changed(tx, follower_id, followee_id):
    """Both profiles' counts, the follower's feed and followed_by_me are stale."""
    names = (
        freshness.profile(follower_id),
        freshness.profile(followee_id),
        freshness.feed(follower_id),
        freshness.viewer(follower_id),
    )
    tx.stale(*names)
