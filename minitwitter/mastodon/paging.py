"""Mastodon's pages (docs.joinmastodon.org/api/guidelines/#pagination): a bare array, and a
Link header to the next (older) and the previous (newer) page.

    max_id    items older than this id (the next page: `max_id=<the last id>`)
    since_id  the newest items newer than this id
    min_id    the items just newer than this id (the previous page: `min_id=<the first id>`)
    limit     20 by default, at most 40 (more is 40, as on Mastodon)

The ids are the lists' keys (web/pagination.py's keyset cursors, in the open): a post's or
a repost's id on a timeline, a like's or a repost's on the lists of accounts.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from minitwitter.mastodon.common import base_url, id_param, param
from minitwitter.mastodon.errors import MastodonError
from minitwitter.web.pagination import MAX_KEY, Page

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
BOUNDS = ("max_id", "since_id", "min_id")


@dataclass(frozen=True)
class Window:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    @property
    def page(self):
        """The first page below max_id, as the keyset list queries take it (page 1 of
        web/pagination.py's cursor mode; limit + 1 rows tell whether more follow)."""
        return Page(size=self.limit, number=None, before=self.max_id or MAX_KEY, offset=0)

    @property
    def after(self):
        """The lower bound (exclusive): min_id, else since_id, else 0."""
        return self.min_id if self.min_id is not None else (self.since_id or 0)


def _id(request, name):
    """An id bound (a string of digits or a number); one beyond the largest key is that key."""
    raw = id_param(request, name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise MastodonError(422, f"Validation failed: {name} must be an id (digits)")
    return min(int(raw), MAX_KEY)


def read_window(request):
    """The page a request asks for; 422 naming a parameter that is not an id or a number."""
    raw = param(request, "limit")
    limit = DEFAULT_LIMIT
    if raw not in (None, ""):
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            raise MastodonError(422, "Validation failed: limit must be a positive integer")
        limit = min(max(int(raw), 1), MAX_LIMIT)
    return Window(_id(request, "max_id"), _id(request, "since_id"), _id(request, "min_id"), limit)


def link_header(request, ids, more):
    """Set the Link header of a page whose items have these ids (newest first): `next` when
    `more` items follow, `prev` whenever the page has any (newer ones may come)."""
    if not ids:
        return
    kept = [(k, v) for k, v in request.GET.items() if k not in BOUNDS]
    url = f"{base_url(request)}{request.path}"
    links = []
    if more:
        links.append(f'<{url}?{urlencode([*kept, ("max_id", ids[-1])])}>; rel="next"')
    links.append(f'<{url}?{urlencode([*kept, ("min_id", ids[0])])}>; rel="prev"')
    request.response.headers["Link"] = ", ".join(links)
