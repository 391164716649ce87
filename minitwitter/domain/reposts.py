"""Reposts: repost and undo, both idempotent.

- repost: posts.lock_live_post (a live post, else NotFound; locked so that a concurrent
  delete cannot leave a repost of a deleted post; Forbidden across a block with its author,
  either way), reposts.repost; undo: reposts.unrepost.
  The post's reposts_count follows by trigger in the same transaction (migrations/0009).
  A new repost notifies the post's author (domain/notifications.py; undo leaves it).
- stale, when something changed: the post's cached body (reposts_count), the reposter's
  viewer fields (reposted_by_me), the reposter's own list (posts:user:<id>: the Mastodon
  face's account statuses hold their reblogs) and the feeds of the reposter's followers, as a post of
  theirs would (timelines.feeds_changed: inline for a few, else a fan-out task), which also
  writes the repost into their home timelines, or takes it out (domain/timelines.py).
- A post's delete takes its reposts along (domain/posts.py: delete).
- both lock the reposter's and the author's accounts first (domain.lock_accounts), as likes.
"""

from minitwitter.domain import freshness, lock_accounts, timelines
from minitwitter.domain.notifications import notify
from minitwitter.domain.posts import live_post


def repost(tx, user_id, post_id):
    """True when this is a new repost."""
    lock_accounts(tx, user_id, post_id=post_id)  # first: the author may be deleting the account
    post = live_post(tx, post_id, user_id)
    repost_id = tx.queries.reposts.repost(tx.db, post_id=post_id, user_id=user_id)
    if repost_id is not None:
        reposted(tx, user_id, post, repost_id)
    return repost_id is not None


def unrepost(tx, user_id, post_id):
    """True when there was a repost to undo."""
    lock_accounts(tx, user_id, post_id=post_id)
    repost_id = tx.queries.reposts.unrepost(tx.db, post_id=post_id, user_id=user_id)
    if repost_id is not None:
        _reposts_changed(tx, user_id, post_id, removed={"post_id": post_id, "key": repost_id})
    return repost_id is not None


def reposted(tx, user_id, post, repost_id):
    """`user_id` reposted `post` (its live, locked row: id, author_id) as repost `repost_id`:
    its author hears."""
    item = {"key": repost_id, "post_id": post["id"], "author_id": post["author_id"], "reposter_id": user_id}
    _reposts_changed(tx, user_id, post["id"], added=item)
    notify(tx, "repost", user_id, [post["author_id"]], post["id"])


def _reposts_changed(tx, user_id, post_id, added=None, removed=None):
    # reposts_count, reposted_by_me, the reposter's statuses (the Mastodon face lists reposts there)
    tx.stale(freshness.post(post_id), freshness.viewer(user_id), freshness.user_posts(user_id))
    timelines.feeds_changed(tx, user_id, added=added, removed=removed)
