"""GET /api/feed/: the live posts of the accounts I follow and the posts they reposted,
newest first (a repost at its time, with `reposted_by`; each post once: sql/feed.sql).

From the reader's home timeline when it holds the page, else from a pull plan; the first
read makes the timeline, a read once it has settled fills it (domain/timelines.feed_rows)."""

from functools import partial

from cornice import Service

from minitwitter.api import shapes
from minitwitter.api.hydration import feed_items
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.domain import freshness
from minitwitter.domain.safety import viewer_page
from minitwitter.domain.timelines import feed_rows
from minitwitter.web.pagination import PageSchema, envelope, read_page
from minitwitter.web.response_cache import cached_response

feed = Service(name="feed", path="/api/feed", description="Posts of the users I follow")


@feed.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
@cached_response
def get_feed(request):
    me = request.authenticated_userid
    page = read_page(request)
    rows = viewer_page(request.tx, me, freshness.feed(me), page, partial(feed_rows, request.tx, me, page))
    return envelope(request, page, rows, feed_items(request, rows[: page.size]))
