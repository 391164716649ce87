"""Timelines and an account's statuses (docs.joinmastodon.org/methods/timelines), as
Mastodon pages them (paging.py): a bare array, a Link header; max_id, since_id, min_id, limit.

GET /api/v1/timelines/home           the accounts I follow (the native feed: the home
                                     timelines, domain/timelines.feed_rows) and, as on
                                     Mastodon, my own statuses and reblogs beside them
GET /api/v1/timelines/public         every live post (only_media; remote=true: none)
GET /api/v1/timelines/tag/:hashtag   a tag's posts
GET /api/v1/accounts/:id/statuses    its posts and reblogs (exclude_replies: its replies to
                                     other accounts; exclude_reblogs; only_media; pinned: none)

Every one needs read:statuses and is a whole cached response per viewer, its pages cached
under the list's version as the native lists' (domain/safety.viewer_page), under names of
their own. min_id reads the list oldest first above the id (sql/mastodon.sql's *_newer);
the home timeline, merged from two lists, walks its pages down to the id instead, at most
MAX_WALK statuses (a home timeline holds feed.timeline_size: Mastodon's keeps 800).
"""

from collections.abc import Callable
from dataclasses import dataclass

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import freshness, hashtags
from minitwitter.domain.profiles import shared_profile, suspended
from minitwitter.domain.safety import hidden, viewer_page
from minitwitter.domain.shared_posts import shared_reposts
from minitwitter.domain.timelines import feed_rows
from minitwitter.mastodon import entities
from minitwitter.mastodon.accounts import user_id_or_404
from minitwitter.mastodon.common import flag
from minitwitter.mastodon.entities import STATUS
from minitwitter.mastodon.openapi import QUERY_FLAG, Operation, array
from minitwitter.mastodon.paging import MAX_LIMIT, link_header, read_window
from minitwitter.mastodon.statuses import cached_read, statuses
from minitwitter.web.pagination import MAX_KEY, Page

GET = {"permission": NO_PERMISSION_REQUIRED, "request_method": "GET"}
MAX_WALK = 400


@dataclass(frozen=True)
class Listing:
    """A list of statuses: `newest(hidden, before, after, limit)` newest first,
    `oldest(hidden, after, limit)` oldest first (None: walk `newest` down instead), and the
    version covering its pages, under `name` in the page cache."""

    version: str
    name: str
    newest: Callable
    oldest: Callable | None = None


def _page(request, listing, before, after, limit, ascending=False):
    page = Page(size=limit - 1, number=None, before=before, offset=0)
    direction = "up" if ascending else "down"

    def compute(ids):
        if ascending:
            return listing.oldest(ids, after, limit)
        return listing.newest(ids, before, after, limit)

    name = f"mastodon:{listing.name}:{direction}:{after}"
    return viewer_page(request.tx, request.authenticated_userid, listing.version, page, compute, name=name)


def window_rows(request, newest, oldest, window):
    """The rows the window asks for, newest first, and whether older ones follow.
    newest(before, after, limit): rows newest first; oldest(after, limit): oldest first, or
    None to walk `newest` down to min_id (at most MAX_WALK rows: a longer gap is cut)."""
    before = window.max_id or MAX_KEY
    if window.min_id is None:
        rows = newest(before, window.since_id or 0, window.limit + 1)
        return rows[: window.limit], len(rows) > window.limit
    if oldest is not None:
        rows = [r for r in oldest(window.min_id, window.limit) if r["key"] < before]
        return list(reversed(rows)), True
    collected = []
    while len(collected) < MAX_WALK:
        rows = newest(before, window.min_id, MAX_LIMIT + 1)
        collected.extend(rows[:MAX_LIMIT])
        if len(rows) <= MAX_LIMIT:
            break
        before = rows[MAX_LIMIT - 1]["key"]
    return collected[-window.limit :], True


def render(request, rows):
    """The Statuses of rows (key, post_id, reposter_id), in their order: a post, or a reblog
    whose `reblog` is the post; what is gone since (or hidden) is left out."""
    posts = statuses(request, list(dict.fromkeys(r["post_id"] for r in rows)))
    reposts = shared_reposts(request.tx, [r for r in rows if r["reposter_id"] is not None])
    answer = []
    for row in rows:
        original = posts.get(row["post_id"])
        if original is None:
            continue
        if row["reposter_id"] is None:
            answer.append(original)
            continue
        repost, reposter = reposts.get(row["key"]), shared_profile(request.tx, row["reposter_id"])
        if repost is not None and reposter is not None and row["reposter_id"] not in suspended(request.tx):
            answer.append(entities.reblog(request, repost, original, reposter))
    return answer


def answer(request, listing):
    """A listing's page as the request asks for it, each part a cached page of its own."""

    def newest(before, after, limit):
        return _page(request, listing, before, after, limit)

    def oldest(after, limit):
        return _page(request, listing, MAX_KEY, after, limit, ascending=True)

    return _answer(request, newest, oldest if listing.oldest is not None else None)


def _answer(request, newest, oldest):
    rows, more = window_rows(request, newest, oldest, read_window(request))
    link_header(request, [r["key"] for r in rows], more)
    return render(request, rows)


# The lists --------------------------------------------------------------------------------


def account_listing(request, user_id, reblogs=True, replies=True, media=False):
    q, db = request.queries.mastodon, request.db
    options = {"author_id": user_id, "reblogs": reblogs, "replies": replies, "media": media}
    return Listing(
        freshness.user_posts(user_id),
        f"statuses:{user_id}:{int(reblogs)}{int(replies)}{int(media)}",
        lambda ids, before, after, limit: q.account_statuses(
            db, hidden=ids, before=before, after=after, limit=limit, **options
        ),
        lambda ids, after, limit: q.account_statuses_newer(db, hidden=ids, after=after, limit=limit, **options),
    )


def home_rows(request):
    """newest(before, after, limit) of the home timeline: the native feed's page (the
    followed accounts' posts and reposts, domain/timelines.feed_rows) merged with my own
    statuses' page. Each is a cached page under its own version; the merge is not cached
    (it would need both versions), but the whole response is (cached_read)."""
    me = request.authenticated_userid
    mine = account_listing(request, me)

    def merged(before, limit):
        page = Page(size=limit - 1, number=None, before=before, offset=0)
        followed = viewer_page(
            request.tx, me, freshness.feed(me), page, lambda ids: feed_rows(request.tx, me, page, ids)
        )
        own = _page(request, mine, before, 0, limit)
        rows = sorted({r["key"]: r for r in [*followed, *own]}.values(), key=lambda r: r["key"], reverse=True)
        return rows[:limit], len(rows) >= limit

    def newest(before, after, limit):
        # Each post once, at its newest occurrence, as on the native feed: a row left out when
        # a newer repost of its post is in the home timeline (on this page or any other, so
        # pages never repeat a post); pages are read on until `limit` rows are kept.
        kept = []
        while len(kept) < limit:
            rows, more = merged(before, limit)
            rows = [r for r in rows if r["key"] > after]
            kept.extend(_newest_occurrences(request, me, rows))
            if not more or not rows or len(rows) < limit:
                break
            before = rows[-1]["key"]
        return kept[:limit]

    return newest


def _newest_occurrences(request, me, rows):
    """rows without those whose post a later repost (by me or by whom I follow) shows."""
    if not rows:
        return rows
    ids = hidden(request.tx, me)
    keys, post_ids = [r["key"] for r in rows], [r["post_id"] for r in rows]
    # Covered by my statuses' version (my reposts) and my feed's (my follows, their reposts).
    request.tx.cache.depend(freshness.user_posts(me))
    later = request.tx.cache.covered(
        freshness.feed(me),
        lambda: {
            r["key"]
            for r in request.queries.mastodon.home_reposted_later(
                request.db, user_id=me, keys=keys, post_ids=post_ids, hidden=ids
            )
        },
    )
    return [r for r in rows if r["key"] not in later]


# Views ------------------------------------------------------------------------------------


@view_config(
    route_name="mastodon_timeline_home",
    openapi=Operation(
        "The statuses and reblogs of the accounts I follow, and mine", array(STATUS), "read:statuses", page=True
    ),
    **GET,
)
@cached_read("read:statuses")
def home(request):
    return _answer(request, home_rows(request), None)


@view_config(
    route_name="mastodon_timeline_public",
    openapi=Operation(
        "Every live status",
        array(STATUS),
        "read:statuses",
        page=True,
        query={
            "local": {**QUERY_FLAG, "description": "Accepted: every status is local"},
            "remote": {**QUERY_FLAG, "description": "true: none (no federation)"},
            "only_media": {**QUERY_FLAG, "description": "Only statuses with an image"},
        },
    ),
    **GET,
)
@cached_read("read:statuses")
def public(request):
    flag(request, "local")  # every status is local: read, to refuse what is not a boolean
    media = flag(request, "only_media")  # every parameter read before any answers an empty page
    if flag(request, "remote"):  # no federation: nothing is remote
        read_window(request)
        return []
    q, db = request.queries.mastodon, request.db
    listing = Listing(
        freshness.ALL_POSTS,
        f"public:{int(media)}",
        lambda ids, before, after, limit: q.public_statuses(
            db, hidden=ids, media=media, before=before, after=after, limit=limit
        ),
        lambda ids, after, limit: q.public_statuses_newer(db, hidden=ids, media=media, after=after, limit=limit),
    )
    return answer(request, listing)


@view_config(
    route_name="mastodon_timeline_tag",
    openapi=Operation(
        "A hashtag's statuses (any case, with or without #; a tag nobody used: none)",
        array(STATUS),
        "read:statuses",
        page=True,
    ),
    **GET,
)
@cached_read("read:statuses")
def tag(request):
    read_window(request)  # a bad parameter is a 422 whatever the tag
    name = hashtags.normalize(request.matchdict["hashtag"])
    if name is None:
        return []
    tag_row = request.cache.cached(  # as the native tag list reads it (api/views/hashtags.py)
        f"hashtag:{name}",
        lambda: request.queries.hashtags.get_hashtag(request.db, name=name),
        version_name=freshness.tag_posts(name),
    )
    if tag_row is None:  # nobody used it yet: an empty timeline
        return []
    q, db, tag_id = request.queries.mastodon, request.db, tag_row["id"]
    listing = Listing(
        freshness.tag_posts(name),
        f"tag:{tag_id}",
        lambda ids, before, after, limit: q.tag_statuses(
            db, hashtag_id=tag_id, hidden=ids, before=before, after=after, limit=limit
        ),
        lambda ids, after, limit: q.tag_statuses_newer(db, hashtag_id=tag_id, hidden=ids, after=after, limit=limit),
    )
    return answer(request, listing)


@view_config(
    route_name="mastodon_account_statuses",
    openapi=Operation(
        "An account's statuses and reblogs, newest first",
        array(STATUS),
        "read:statuses",
        page=True,
        query={
            "exclude_replies": {**QUERY_FLAG, "description": "Leave out its replies to other accounts"},
            "exclude_reblogs": QUERY_FLAG,
            "only_media": QUERY_FLAG,
            "pinned": {**QUERY_FLAG, "description": "true: none (no pinned statuses)"},
        },
    ),
    **GET,
)
@cached_read("read:statuses")
def account_statuses(request):
    user_id = user_id_or_404(request)
    read_window(request)
    # Every parameter is read (a bad one is a 422) before any answers an empty page.
    options = {
        "reblogs": not flag(request, "exclude_reblogs"),
        "replies": not flag(request, "exclude_replies"),
        "media": flag(request, "only_media"),
    }
    if flag(request, "pinned") or user_id in hidden(request.tx, request.authenticated_userid):
        return []  # no pinned statuses; nothing of an account the viewer hides
    return answer(request, account_listing(request, user_id, **options))
