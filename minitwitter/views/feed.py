"""GET /api/feed/: the live posts of the accounts I follow and the posts they reposted,
newest first (a repost at its time, with `reposted_by`; each post once: sql/feed.sql).

From the reader's home timeline when it holds the page (domain/timelines.py), else from a
pull plan; the first read makes the timeline, a read once it has settled fills it."""

from functools import partial

from cornice import Service
from cornice.validators import colander_validator

from minitwitter import freshness
from minitwitter.domain import timelines
from minitwitter.domain.safety import viewer_page
from minitwitter.hydration import feed_items, shared_profile
from minitwitter.pagination import PageSchema, envelope, read_page
from minitwitter.response_cache import cached_response

feed = Service(name="feed", path="/api/feed", description="Posts of the users I follow")


@feed.get(schema=PageSchema(), validators=(colander_validator,))
@cached_response
def get_feed(request):
    me = request.authenticated_userid
    page = read_page(request)
    rows = viewer_page(request, freshness.feed(me), page, partial(feed_rows, request, me, page))
    return envelope(request, page, rows, feed_items(request, rows[: page.size]))


def feed_rows(request, me, page, hidden=()):
    """The rows of one page of me's feed from PostgreSQL, for a reader who hides `hidden`
    (domain/safety.py; none for most). The view caches them; minitwitter-bench runs this
    under EXPLAIN for its cold figure."""
    settings, queries = request.registry.settings, request.queries.feed
    hidden = list(hidden)
    pull = partial(_pull, request, me, hidden)
    if hidden:
        # A timeline filled from a pull plan holds each post once, at its newest occurrence:
        # a post whose repost the reader hides would be missing from it, so a reader who hides
        # someone reads the pull plans, which apply the rule after leaving the hidden out.
        return pull(**page.params)
    state = queries.timeline_state(request.db, user_id=me, settle=settings["feed.settle_seconds"])
    if state is None:
        timelines.mark(request, me)
        return pull(**page.params)
    if state["first_read_today"] and not timelines.touch(request, me):
        return pull(**page.params)
    floor = state["floor"]
    if not state["ready"]:
        floor = None
        if state["due"]:
            # A timeline holds every entry: what a reader hides is left out as it is read.
            newest = partial(_newest, request, me)
            floor = timelines.fill(request, me, newest, settings["feed.timeline_size"], settings["feed.settle_seconds"])
        if floor is None:
            return pull(**page.params)
    rows = list(queries.feed_from_timeline(request.db, user_id=me, pulled=state["pulled"], **page.params))
    if floor == 0 or (rows and rows[0]["timeline_rows"] >= page.offset + page.limit):
        return rows  # the timeline holds the page: it holds the whole feed, or enough rows
    return pull(**page.params)


def _pull(request, me, hidden, before, offset, limit):
    query = timelines.pull_plan(request.queries, _following(request, me), request.registry.settings)
    return query(request.db, user_id=me, hidden=hidden, before=before, offset=offset, limit=limit)


def _newest(request, me, limit):
    """What a fill writes: every occurrence of each post, newest first (domain/timelines.py)."""
    query = timelines.fill_plan(request.queries, _following(request, me), request.registry.settings)
    return query(request.db, user_id=me, limit=limit)


def _following(request, me):
    return (shared_profile(request, me) or {}).get("following_count", 0)
