"""Home timelines: each active reader's feed, written as their followees post (Mastodon's
design in PostgreSQL: migrations/0013, sql/timelines.sql; the read is sql/feed.sql).

- a reader's first feed read makes their timeline (mark); fan-outs write to it from then
  on, and a read once it has settled (feed.settle_seconds: no transaction begun before the
  mark can still be running, so whatever its fan-out missed is committed) fills it
  (fill: the newest feed.timeline_size items, fill_plan). Until then the pull plans answer.
  Readers who never read have none: a post costs nothing for them.
- a timeline holds every occurrence of a post above its floor: the post itself and each
  followee's repost of it, as fan-outs write them; the read shows the newest one still
  there. So when a repost goes (undone, its reposter unfollowed, blocked or deleted) the
  post shows at its next occurrence, as the pull plans show it: the fill writes them all
  too (a pull plan's rows, each post once, would leave the post out of the timeline).
- a post or repost goes into the timelines of the author's (reposter's) followers that have
  one (fan_out): in the request for up to fanout.inline_followers followers, else in the
  `timeline` task (feeds_changed). Not for an author over feed.pull_followers
  (recorded as pulled by the post's own transaction: `pulled`): their posts are merged in
  at read time, and they stay pulled.
- a deleted post's entries, an undone repost's, go the same way (remove); an unfollow takes
  what came through the followee (unfollowed), a follow brings the followee's newest items
  (followed); an account's deletion takes its timeline and its reposts' entries (its posts'
  entries go by cascade).
- the read checks each entry (live, still followed, repost still there), so a write racing
  a fan-out never shows what is gone; the removals keep the timelines small and full.
- a timeline not read for feed.idle_days is dropped (drop_idle, a beat job; the first read
  of each day records the day: touch): a fan-out writes only into the timelines of readers
  who read. The reader's next read makes a new one, as a first read does.
- trimmed to feed.timeline_size entries by a fan-out on one key in TRIM_EVERY (a trim reads
  each reader's newest entries: amortized, a timeline holds a few dozen entries over the
  size between trims; a follow can add up to twice the size until the next).

A GET writes here (mark, touch, fill: feed_rows, which the feed view calls), on the primary
only: a read served by a replica uses the pull plans until a read on the primary (the first
after a log-in is one) has done it.
"""

from functools import partial

from minitwitter.domain import freshness
from minitwitter.domain.freshness import MAX_ID, stales_nothing
from minitwitter.domain.profiles import shared_profile, suspended

# One fan-out in this many (by the item's key) also trims the timelines it wrote to.
TRIM_EVERY = 64


def on_primary(tx):
    return getattr(tx.db, "replica", None) is None


def pull_plan(queries, following_count, settings):
    """The pull plan for a reader following this many accounts: past feed.timeline_threshold
    followees, walking the global timeline fills a page sooner than merging each followee's
    newest posts (sql/feed.sql; the figures are in docs/ARCHITECTURE.md)."""
    many = following_count > settings["feed.timeline_threshold"]
    return queries.feed.feed_by_timeline if many else queries.feed.feed_by_followee


def fill_plan(queries, following_count, settings):
    """What a fill reads (sql/timelines.sql: newest_by_followee, newest_by_timeline): the
    reader's newest items, every occurrence of each post, by the walk pull_plan would take."""
    many = following_count > settings["feed.timeline_threshold"]
    return queries.timelines.newest_by_timeline if many else queries.timelines.newest_by_followee


@stales_nothing("a read's own timeline: nothing its pages show changes")
def mark(tx, user_id):
    """The reader's timeline exists from now on (filled once settled)."""
    if on_primary(tx):
        tx.queries.timelines.mark(tx.db, user_id=user_id)


@stales_nothing("a read's own timeline: nothing its pages show changes")
def touch(tx, user_id):
    """The reader's first feed read of the day: whether their timeline is still there to be
    read (False on a replica, which cannot record the read, and when it was just dropped as
    idle): else the read uses a pull plan."""
    return on_primary(tx) and tx.queries.timelines.touch(tx.db, user_id=user_id) is not None


@stales_nothing("what a dropped timeline held, the pull plans read the same")
def drop_idle(tx, days, batch):
    """Drop up to `batch` timelines not read for `days` days; how many went."""
    return tx.queries.timelines.drop_idle(tx.db, days=days, batch=batch)


@stales_nothing("filled with what the pull plans read: nothing the pages show changes")
def fill(tx, user_id, newest, size, settle):
    """Fill a settled timeline from `newest(limit)` (fill_plan's rows: every occurrence), if
    this read is the one that takes it: its floor (home_timelines.floor) when it is filled
    now, else None."""
    if not on_primary(tx) or tx.queries.timelines.claim_fill(tx.db, user_id=user_id, settle=settle) is None:
        return None
    # Cleared before the plan reads: an entry a fan-out commits between the two is then
    # either left by the clear or read by the plan (read first, it could be neither).
    tx.queries.timelines.clear(tx.db, user_id=user_id)
    rows = list(newest(size))
    floor = rows[-1]["key"] - 1 if len(rows) == size else 0  # down to there, or all of the feed
    tx.queries.timelines.fill(
        tx.db,
        user_id=user_id,
        keys=[r["key"] for r in rows],
        post_ids=[r["post_id"] for r in rows],
        reposter_ids=[r["reposter_id"] for r in rows],
        floor=floor,
    )
    return floor


@stales_nothing("its caller makes the feeds stale (feeds_changed, tasks.timeline)")
def remove(tx, removed):
    """A deleted post's entries ({post_id, key: None}: its own and its reposts') or an undone
    repost's ({post_id, key})."""
    tx.queries.timelines.remove(tx.db, **removed)


@stales_nothing("its caller makes the feeds stale (feeds_changed)")
def pulled(tx, via_id, settings):
    """Whether `via_id` is pulled (a fan-out of theirs writes nothing): known to be, or over
    feed.pull_followers now, which is recorded in this transaction (sql/timelines.sql)."""
    return tx.queries.timelines.pulled(tx.db, user_id=via_id, threshold=settings["feed.pull_followers"])


@stales_nothing("its caller makes the feeds stale (feeds_changed, tasks.timeline)")
def fan_out(tx, follower_ids, item, settings):
    """Write `item` (key, post_id, author_id, reposter_id) into these followers' timelines,
    unless whom it came through is pulled (over feed.pull_followers now or before: merged in
    at read time instead); returns the readers whose timeline it went into."""
    queries = tx.queries.timelines
    threshold = settings["feed.pull_followers"]
    readers = [r["user_id"] for r in queries.fan_out(tx.db, follower_ids=follower_ids, threshold=threshold, **item)]
    if readers and item["key"] % TRIM_EVERY == 0:
        queries.trim(tx.db, user_ids=readers, size=settings["feed.timeline_size"])
    return readers


@stales_nothing("its caller makes the follower's feed stale (follows.py)")
def followed(tx, follower_id, followee_id, size):
    tx.queries.timelines.followed(tx.db, user_id=follower_id, followee_id=followee_id, size=size)


@stales_nothing("its caller makes the follower's feed stale (follows.py)")
def unfollowed(tx, follower_id, followee_id):
    tx.queries.timelines.unfollowed(tx.db, user_id=follower_id, followee_id=followee_id)


@stales_nothing("its caller makes everything the account was in stale (accounts.delete_account)")
def account_deleted(tx, user_id, reposts):
    """Before the account's row goes: its timeline, and the entries of its reposts (rows of
    post_id and id)."""
    tx.queries.timelines.clear(tx.db, user_id=user_id)
    tx.queries.timelines.remove_reposts(
        tx.db, post_ids=[r["post_id"] for r in reposts], keys=[r["id"] for r in reposts]
    )


def feeds_changed(tx, author_id, added=None, removed=None):
    """A post (or a repost) of `author_id` appeared or went: its followers' feeds are stale
    (freshness.py's (*)), and their home timelines change: `added` is the entry to write
    (key, post_id, author_id, reposter_id), `removed` the entries to take out (post_id, and
    key for a repost's only), in this transaction or in the fan-out task with the bumps."""
    settings = tx.settings
    limit = settings["fanout.inline_followers"]
    batch = tx.queries.follows.follower_batch(tx.db, user_id=author_id, before=MAX_ID, limit=limit + 1)
    followers = batch["ids"]
    if len(followers) > limit:
        tx.enqueue_task("fanout", {"author_id": author_id})
        if added is not None and pulled(tx, author_id, settings):
            added = None  # a celebrity's post costs its tx what it did before timelines
        work = {k: v for k, v in (("added", added), ("removed", removed)) if v is not None}
        if work:
            tx.enqueue_task("timeline", {"via_id": author_id, **work})
    else:
        if removed is not None:
            remove(tx, removed)
        if added is not None:
            fan_out(tx, followers, added, settings)
        tx.stale(*(freshness.feed(i) for i in followers))


@stales_nothing("a read that makes or fills its reader's timeline: nothing the page shows changes")
def feed_rows(tx, me, page, hidden=()):
    """The rows of one page of me's feed from PostgreSQL, for a reader who hides `hidden`
    (domain/safety.py; none for most). The feed view caches them (api/views/feed.py);
    minitwitter-bench runs this under EXPLAIN for its cold figure."""
    settings, queries = tx.settings, tx.queries.feed
    hidden = list(hidden)
    banned = suspended(tx)  # in every reader's hidden set; read from the timeline too
    pull = partial(_pull, tx, me, hidden)
    if set(hidden) - set(banned):
        # A timeline filled from a pull plan holds each post once, at its newest occurrence:
        # a post whose repost the reader hides would be missing from it, so a reader who hides
        # someone reads the pull plans, which apply the rule after leaving the hidden out.
        return pull(**page.params)
    state = queries.timeline_state(tx.db, user_id=me, settle=settings["feed.settle_seconds"])
    if state is None:
        mark(tx, me)
        return pull(**page.params)
    if state["first_read_today"] and not touch(tx, me):
        return pull(**page.params)
    floor = state["floor"]
    if not state["ready"]:
        floor = None
        if state["due"]:
            # A timeline holds every entry: what a reader hides is left out as it is read.
            newest = partial(_newest, tx, me)
            floor = fill(tx, me, newest, settings["feed.timeline_size"], settings["feed.settle_seconds"])
        if floor is None:
            return pull(**page.params)
    rows = list(queries.feed_from_timeline(tx.db, user_id=me, pulled=state["pulled"], suspended=banned, **page.params))
    if floor == 0 or (rows and rows[0]["timeline_rows"] >= page.offset + page.limit):
        return rows  # the timeline holds the page: it holds the whole feed, or enough rows
    return pull(**page.params)


def _pull(tx, me, hidden, before, offset, limit):
    query = pull_plan(tx.queries, _following(tx, me), tx.settings)
    return query(tx.db, user_id=me, hidden=hidden, before=before, offset=offset, limit=limit)


def _newest(tx, me, limit):
    """What a fill writes: every occurrence of each post, newest first (fill_plan)."""
    query = fill_plan(tx.queries, _following(tx, me), tx.settings)
    return query(tx.db, user_id=me, limit=limit)


def _following(tx, me):
    return (shared_profile(tx, me) or {}).get("following_count", 0)
