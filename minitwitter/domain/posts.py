"""Posts and hashtags: create, edit, soft-delete and purge a post; favourite hashtags.

What each write does in its transaction, and what it makes stale (bumped after commit):

- create: a reply first locks its parent, which must be live (posts.lock_live_post) and
  not across a block with its author, either way (Forbidden: domain/safety.py); the
  image if any (media.store: its file; media.save: its row, and its thumbnail in the
  outbox; or an upload made ahead: media.attach), posts.create_post, hashtags.tag_post,
  posts.set_mentions; stale: _lists_changed (all posts, search, the author's posts and
  profile, each follower's feed, which also writes it into their home timelines, the tags'
  lists, popular hashtags), and for a reply the parent (replies_count) and its replies.
- edit: posts.get_post_for_update, posts.update_text, hashtags.tag_post,
  posts.set_mentions; stale: the post, search, and the lists of the tags it gained or
  lost (and popular hashtags).
- delete (soft): posts.get_post_for_update, posts.soft_delete, hashtags.tag_post to no
  tag, reposts.delete_post_reposts (every repost of it goes), the notifications about it
  (notifications.post_deleted); stale: the post,
  _lists_changed (which also takes its entries, and its reposts', out of the home
  timelines), the feeds of each reposter's followers, and for a reply its parent
  (replies_count) and its replies. Its image stops being served (views/images.py).

Events that notify (domain/notifications.py) have one function each, called once per
event: replied, mentioned (and domain/reposts.py: reposted). A reply that names its
parent's author notifies them once, as a reply.
- purge (beat job, tasks.py): posts.purge_deleted, posts deleted long ago with their
  image rows; nothing is stale (they left every list when deleted); files go after commit.
- favourite, unfavourite a tag: hashtags.ensure_hashtag and add_favorite, or
  remove_favorite; nothing cached shows favourites.

Edits and deletes are the author's only (Forbidden), of a live post (NotFound). Counts
(a user's posts, a tag's posts) follow in the same transaction by triggers (migrations/).
Writes lock rows in one order: the accounts a create or an edit is about (its author, a
reply's parent's author, the users it mentions: domain.lock_accounts), then the post, then
hashtags by name (sql/hashtags.sql).
"""

import unicodedata

from minitwitter.domain import (
    AccountGone,
    Forbidden,
    NotFound,
    freshness,
    hashtags,
    lock_accounts,
    mentions,
    notifications,
    timelines,
)
from minitwitter.domain import media as post_media
from minitwitter.domain.blocked import BLOCKED
from minitwitter.domain.freshness import stales_nothing

# A post's text: 1 to this many characters (api/schemas.py checks it; the Mastodon face's
# instance says it).
MAX_TEXT = 280
# Control characters a post's text may hold (every other Cc, and lone surrogates, it may not).
ALLOWED_CONTROLS = "\n\r\t"


def text_problem(text):
    """What is wrong with a post's text (already stripped), as a sentence; None when it is
    fine. Both faces check their input with it (api/schemas.py, mastodon/statuses.py)."""
    if not 1 <= len(text) <= MAX_TEXT:
        return f"Must be 1 to {MAX_TEXT} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in ALLOWED_CONTROLS for c in text):
        return "Must not contain NUL or other control characters"
    return None


def create(tx, author_id, text, image=None, media_root=None, in_reply_to=None, media_id=None):
    """A new post, with its image if any (an uploaded file, stored under media_root; or
    `media_id`, the author's pending upload: media.attach), in reply to the live post
    `in_reply_to` if given (else NotFound, naming it): its id."""
    # First the accounts it is about (the parent's author, those it mentions): any may be
    # deleting itself (domain.lock_accounts). A post about nobody locks nothing first: its
    # author's own deletion holds the author's row, which its insert waits for (posts_count)
    # holding nothing that deletion takes. One taking an upload locks its author first: the
    # upload's row, which it locks next, is one that deletion takes (images.owner_id).
    names = mentions.parse(text)
    if in_reply_to is not None or names or media_id is not None:
        lock_accounts(tx, author_id, post_id=in_reply_to, names=names)
    parent = live_post(tx, in_reply_to, author_id, field="in_reply_to") if in_reply_to is not None else None
    if media_id is not None:
        image_id = post_media.attach(tx, author_id, media_id)
    else:
        image_id = post_media.save(tx, author_id, post_media.store(tx, image, media_root)) if image else None
    created = tx.queries.posts.create_post(
        tx.db, author_id=author_id, text=text, image_id=image_id, in_reply_to=in_reply_to
    )
    post_id = created["id"]
    tags = _tag(tx, post_id, text)
    entry = {"key": post_id, "post_id": post_id, "author_id": author_id, "reposter_id": None}
    _lists_changed(tx, author_id, tags, added=entry)
    named = _mention(tx, post_id, text, new=True)
    if parent is not None:
        named = [m for m in named if m != parent["author_id"]]  # told once, of the reply
        if named:  # both notify: every recipient locked first, in one order
            notifications.lock(tx, [i for i in (parent["author_id"], *named) if i != author_id])
        replied(tx, post_id, author_id, parent)
    mentioned(tx, post_id, author_id, named)
    return post_id


def edit(tx, user_id, post_id, text):
    """Replace the text of `user_id`'s live post (its tags and mentions follow)."""
    lock_accounts(tx, user_id, names=mentions.parse(text))  # first, as create
    _owned_post(tx, user_id, post_id)
    tx.queries.posts.update_text(tx.db, post_id=post_id, text=text)
    tags = _tag(tx, post_id, text)
    tx.stale(freshness.post(post_id), freshness.SEARCH, *_tag_names(tags))
    mentioned(tx, post_id, user_id, _mention(tx, post_id, text))


def delete(tx, user_id, post_id):
    """Soft-delete `user_id`'s live post: it leaves every list, count and feed at once,
    with every repost of it."""
    lock_accounts(tx, user_id)  # first, as every write of its author's counts (domain.lock_accounts)
    remove(tx, _owned_post(tx, user_id, post_id))


def remove(tx, row):
    """Soft-delete the live post of `row` (posts.get_post_for_update's, locked): what its
    author's delete does (and a moderator's: domain/moderation.remove_post)."""
    post_id = row["id"]
    tx.queries.posts.soft_delete(tx.db, post_id=post_id)
    # Its hashtags stop counting at once: the links go, tgr_post_hashtags_count follows.
    tags = _tag(tx, post_id, "")
    tx.stale(freshness.post(post_id))
    _lists_changed(tx, row["author_id"], tags, removed={"post_id": post_id, "key": None})
    for reposter in tx.queries.reposts.delete_post_reposts(tx.db, post_id=post_id):
        tx.stale(freshness.user_posts(reposter["user_id"]))  # their statuses held the reblog
        timelines.feeds_changed(tx, reposter["user_id"])
    notifications.post_deleted(tx, post_id)  # last: their recipients' rows come last in the lock order
    if row["in_reply_to"] is not None:  # tgr_post_replies_count took one from the parent
        tx.stale(freshness.post(row["in_reply_to"]), freshness.replies(row["in_reply_to"]))


def live_post(tx, post_id, user_id, field=None):
    """The live post `post_id` (id, author_id), locked until the transaction ends so that
    it cannot be deleted under what is being written about it; else NotFound. Forbidden
    when a block stands between `user_id` (who writes about it) and its author, either way."""
    row = tx.queries.posts.lock_live_post(tx.db, post_id=post_id, user_id=user_id)
    if row is None or row["suspended"]:  # a suspended account's posts answer 404 (moderation.py)
        raise NotFound("No such post", field=field)
    if row["blocked"]:
        raise Forbidden(BLOCKED, field=field or "id")
    return row


def replied(tx, post_id, author_id, parent):
    """`author_id` replied to `parent` (its live, locked row) with post `post_id`: the
    parent's replies_count (by trigger) and its list of replies changed; its author hears."""
    tx.stale(freshness.post(parent["id"]), freshness.replies(parent["id"]))
    notifications.notify(tx, "reply", author_id, [parent["author_id"]], post_id)


@stales_nothing("nothing cached lists mentions; they notify (read from PostgreSQL)")
def mentioned(tx, post_id, author_id, user_ids):
    """Post `post_id` by `author_id` now mentions `user_ids` (existing users, newly named
    by a create or an edit; the author may be among them). Nothing cached lists a user's
    mentions; each of them but the author hears (not one who blocks or is blocked)."""
    notifications.notify(tx, "mention", author_id, user_ids, post_id)


@stales_nothing("the posts left every cached list when they were deleted")
def purge_deleted(tx, days, batch, media_root):
    """Hard-delete up to `batch` posts soft-deleted over `days` ago, with their image rows;
    their files go with them (media.remove_files: a rolled-back purge must not lose an image). Returns
    how many posts went."""
    rows = list(tx.queries.posts.purge_deleted(tx.db, days=days, batch=batch))
    files = [path for row in rows for path in (row["path"], row["thumbnail_path"])]
    post_media.remove_files(tx, media_root, *files)
    return len(rows)


@stales_nothing("nothing cached shows favourite hashtags")
def add_favorite(tx, user_id, name):
    """Favourite a tag (normalized), creating it if nobody used it yet; returns its stored name."""
    # The caller's row (favorite_hashtags_count) before the tag's: a deletion locks them in
    # that order (sql/accounts.sql).
    if tx.queries.users.lock_counts(tx.db, user_id=user_id) is None:
        raise AccountGone("The account of this access token no longer exists")
    tag = tx.queries.hashtags.ensure_hashtag(tx.db, name=name)
    tx.queries.hashtags.add_favorite(tx.db, user_id=user_id, hashtag_id=tag["id"])
    return tag["name"]


@stales_nothing("nothing cached shows favourite hashtags")
def remove_favorite(tx, user_id, name):
    tx.queries.hashtags.remove_favorite(tx.db, user_id=user_id, name=name)


def _owned_post(tx, user_id, post_id):
    """The live post, locked for this transaction, if `user_id` wrote it: else NotFound /
    Forbidden. It comes with the author's followers, whose cached feeds a delete changes."""
    row = tx.queries.posts.get_post_for_update(tx.db, post_id=post_id)
    if row is None or row["deleted_at"] is not None:
        raise NotFound("No such post")
    if row["author_id"] != user_id:
        raise Forbidden("Only the author may change this post")
    return row


def _mention(tx, post_id, text, new=False):
    """Make the post's mentions exactly the existing users its text names; returns the ids
    newly mentioned. A new post naming nobody costs no statement."""
    names = mentions.parse(text)
    if new and not names:
        return []
    rows = tx.queries.posts.set_mentions(tx.db, post_id=post_id, names=names)
    return [r["user_id"] for r in rows]


def _tag(tx, post_id, text):
    """Link the post to exactly the tags of its text (none for a delete); returns the
    names whose lists changed."""
    rows = tx.queries.hashtags.tag_post(tx.db, post_id=post_id, names=hashtags.parse(text))
    return sorted(r["name"] for r in rows)


def _tag_names(tags):
    return [freshness.tag_posts(t) for t in tags] + ([freshness.POPULAR] if tags else [])


def _lists_changed(tx, author_id, tags, added=None, removed=None):
    """A post appeared (`added`, its home timeline entry) or went (`removed`: its entries):
    every list and count that holds it is stale; its author's followers' feeds too, and
    their timelines change (inline for a few, else a fan-out task: timelines.feeds_changed)."""
    names = [freshness.ALL_POSTS, freshness.SEARCH, freshness.user_posts(author_id), freshness.profile(author_id)]
    tx.stale(*names, *_tag_names(tags))
    timelines.feeds_changed(tx, author_id, added=added, removed=removed)
