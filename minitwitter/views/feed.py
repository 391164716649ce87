"""GET /api/feed/: the live posts of the accounts I follow and the posts they reposted,
newest first (a repost at its time, with `reposted_by`; each post once: sql/feed.sql)."""

from cornice import Service
from cornice.validators import colander_validator

from minitwitter import freshness
from minitwitter.freshness import cached_page
from minitwitter.hydration import feed_items, shared_profile
from minitwitter.pagination import PageSchema, envelope, read_page
from minitwitter.response_cache import cached_response

feed = Service(name="feed", path="/api/feed", description="Posts of the users I follow")


def feed_rows(request, user_id, page):
    """The rows (sql/feed.sql's columns) of one page of user_id's feed, read from PostgreSQL
    through request.db; the view caches them, and minitwitter-bench runs this under EXPLAIN."""
    # Past this many followees, walking the global timeline fills a page sooner than
    # merging each followee's newest posts (sql/feed.sql; the figures are in the README).
    following = (shared_profile(request, user_id) or {}).get("following_count", 0)
    many = following > request.registry.settings["feed.timeline_threshold"]
    query = request.queries.feed.feed_by_timeline if many else request.queries.feed.feed_by_followee
    return list(query(request.db, user_id=user_id, **page.params))


@feed.get(schema=PageSchema(), validators=(colander_validator,))
@cached_response
def get_feed(request):
    me = request.authenticated_userid
    page = read_page(request)
    rows = cached_page(request, freshness.feed(me), page, lambda: feed_rows(request, me, page))
    return envelope(request, page, rows, feed_items(request, rows[: page.size]))
