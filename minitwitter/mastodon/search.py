"""Search (docs.joinmastodon.org/methods/search), over the native search:

GET /api/v2/search   q, type (accounts, hashtags, statuses; all three when absent), limit (20,
                     at most 40), offset; resolve, following, account_id, max_id and min_id
                     are accepted and not read (no federation) (read:search)
GET /api/v1/accounts/search   q, limit, offset: accounts only (read:accounts)

- accounts: usernames starting with q, any case (`@ana`, `ana`, `ana@<this domain>`), in
  username order: the native user search (sql/search.sql: search_users), suspended accounts
  left out, as there.
- hashtags: tags in use starting with q (`#lis` or `lis`), most used first: the native tag
  search (search_hashtags); `following` says which are my favourite tags.
- statuses: the native post search (domain/search.post_keys: words, "phrases" and `#tags`,
  newest first, cached under freshness.SEARCH; what the viewer hides left out), as Statuses.

A query of `@name` searches accounts only, as Mastodon's does; `#tag` finds tags and the
statuses holding that tag exactly.
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import search as domain
from minitwitter.domain.profiles import suspended
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import domain as this_domain
from minitwitter.mastodon.common import param, require
from minitwitter.mastodon.entities import ACCOUNT, HASHTAG, STATUS
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import Operation, array, obj
from minitwitter.mastodon.paging import DEFAULT_LIMIT, MAX_LIMIT
from minitwitter.mastodon.statuses import statuses
from minitwitter.web.pagination import MAX_KEY, Page

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json", "request_method": "GET"}
TYPES = ("accounts", "hashtags", "statuses")
# Offsets past this are refused: each page below it is read and dropped.
MAX_OFFSET = 10_000
# What a query may be: text with something besides spaces, no control character, up to the
# native search's length.
Q = {
    "type": "string",
    "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\x9f\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$",
    "maxLength": domain.MAX_QUERY_LENGTH,
    "description": 'What to look for: `@user`, `#tag`, words and "phrases"',
}
WINDOW = {
    "limit": {"type": "string", "pattern": "^[0-9]{0,6}$", "description": "How many of each: 20, at most 40"},
    "offset": {
        "type": "string",
        "pattern": "^([0-9]{0,4}|10000)$",
        "description": f"How many to skip, at most {MAX_OFFSET:,}",
    },
}
ACCEPTED = {"type": "string", "description": "Accepted and not read (no federation)"}
SEARCH = Operation(
    "Accounts, hashtags and statuses matching q (type: one kind only; `@user`: accounts only)",
    obj({"accounts": array(ACCOUNT), "statuses": array(STATUS), "hashtags": array(HASHTAG)}),
    "read:search",
    query={
        "q": Q,
        "type": {"type": "string", "enum": ["", *TYPES]},
        **WINDOW,
        "resolve": ACCEPTED,
        "following": ACCEPTED,
        "account_id": ACCEPTED,
        "max_id": ACCEPTED,
        "min_id": ACCEPTED,
        "exclude_unreviewed": ACCEPTED,
    },
    required=("q",),
)
ACCOUNT_SEARCH = Operation(
    "Accounts whose username starts with q",
    array(ACCOUNT),
    "read:accounts",
    query={"q": Q, **WINDOW, "resolve": ACCEPTED, "following": ACCEPTED},
    required=("q",),
)


def _number(request, name, default, high):
    raw = param(request, name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise MastodonError(422, f"Validation failed: {name} must be a non-negative integer")
    value = int(raw)
    if name == "offset" and value > high:
        raise MastodonError(422, f"Validation failed: offset must be at most {high}")
    return min(value, high)


def _query(request):
    q = (param(request, "q") or "").strip()
    if not q:
        raise MastodonError(400, "Validation failed: q is missing or empty")
    if len(q) > domain.MAX_QUERY_LENGTH:
        raise MastodonError(422, f"Validation failed: q must be at most {domain.MAX_QUERY_LENGTH} characters")
    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in q):
        raise MastodonError(422, "Validation failed: q must not contain control characters")
    return q


def _window(request):
    limit = max(_number(request, "limit", DEFAULT_LIMIT, MAX_LIMIT), 1)
    return limit, _number(request, "offset", 0, MAX_OFFSET)


def accounts(request, q, limit, offset):
    """Accounts whose username starts with q (without a leading @ or a trailing @this-domain)."""
    name = q.removeprefix("@")
    if "@" in name:
        name, _, host = name.partition("@")
        if host.lower() != this_domain(request).lower():
            return []  # another server's account: no federation
    if not name or any(c.isspace() for c in name):
        return []
    rows = request.queries.search.search_users(
        request.db,
        pattern=domain.like_prefix(name.lower()),
        viewer_id=request.authenticated_userid,
        offset=offset,
        limit=limit,
    )
    banned = set(suspended(request.tx))
    return [entities.account(request, r) for r in rows if r["id"] not in banned]


def hashtags(request, q, limit, offset):
    """Tags in use starting with q (without its #), most used first."""
    prefix = q.removeprefix("#").casefold()
    if not prefix or any(c.isspace() for c in prefix):
        return []
    rows = list(
        request.queries.search.search_hashtags(
            request.db, pattern=domain.like_prefix(prefix), offset=offset, limit=limit
        )
    )
    names = [r["name"] for r in rows]
    mine = set()
    if names and request.authenticated_userid is not None:
        found = request.queries.hashtags.favorite_names(request.db, user_id=request.authenticated_userid, names=names)
        mine = {r["name"] for r in found}
    return [entities.tag(request, name, following=name in mine) for name in names]


def found_statuses(request, q, limit, offset):
    """The native post search, newest first, as Statuses."""
    page = Page(size=limit, number=None, before=MAX_KEY, offset=offset)
    rows = domain.post_keys(request.tx, request.authenticated_userid, q, "newest", page)
    ids = [r["key"] for r in rows[:limit]]
    seen = statuses(request, ids)
    return [seen[i] for i in ids if i in seen]


@view_config(route_name="mastodon_search", openapi=SEARCH, **VIEW)
def search(request):
    require(request, "read:search")
    q = _query(request)
    kind = param(request, "type") or None
    if kind is not None and kind not in TYPES:
        raise MastodonError(422, "Validation failed: type must be accounts, hashtags or statuses")
    limit, offset = _window(request)
    wanted = [kind] if kind else list(TYPES)
    if q.startswith("@") and kind is None:
        wanted = ["accounts"]  # an account's handle: not a word to look for
    finders = {"accounts": accounts, "hashtags": hashtags, "statuses": found_statuses}
    return {name: finders[name](request, q, limit, offset) if name in wanted else [] for name in TYPES}


@view_config(route_name="mastodon_account_search", openapi=ACCOUNT_SEARCH, **VIEW)
def account_search(request):
    require(request, "read:accounts")
    limit, offset = _window(request)
    return accounts(request, _query(request), limit, offset)
