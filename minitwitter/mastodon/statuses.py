"""Statuses (docs.joinmastodon.org/methods/statuses): a Status is a post.

POST   /api/v1/statuses                      post, or reply (write:statuses); Idempotency-Key;
                                             media_ids[]: one upload of mine (media.py)
GET    /api/v1/statuses/:id                  a status, or a reblog by its id (read:statuses)
PUT    /api/v1/statuses/:id                  edit its text (write:statuses)
DELETE /api/v1/statuses/:id                  delete; answers it with its `text` (write:statuses)
GET    /api/v1/statuses/:id/context          ancestors and descendants (read:statuses)
POST   /api/v1/statuses/:id/favourite        and unfavourite (write:favourites)
POST   /api/v1/statuses/:id/reblog           and unreblog (write:statuses)
POST   /api/v1/statuses/:id/bookmark         and unbookmark (write:bookmarks)
GET    /api/v1/statuses/:id/favourited_by    accounts, newest first (read:accounts)
GET    /api/v1/statuses/:id/reblogged_by     accounts, newest first (read:accounts)

Every write is the native one (domain/posts.py, likes.py, reposts.py, bookmarks.py); every
read goes through the same caches (domain/shared_posts.py, profiles.py) and the GETs of a
status and its context are whole cached responses per viewer, as the native reads are, checked
for the token's scope before the cache is asked.
"""

import functools
import unicodedata

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Invalid, bookmarks, likes, reposts
from minitwitter.domain import posts as domain
from minitwitter.domain.profiles import shared_profile, suspended
from minitwitter.domain.safety import hiding, reply_rows
from minitwitter.domain.shared_posts import NOT_MINE, shared_posts, viewer_flags
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import LANGUAGE, flag, id_list, id_param, param, require
from minitwitter.mastodon.entities import ACCOUNT, STATUS
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import FLAG, ID_IN, Each, Operation, array, entity
from minitwitter.mastodon.paging import link_header, read_window
from minitwitter.web import idempotency
from minitwitter.web.fields import TEXT_CONTROLS, has_surrogates, trimmed_pattern
from minitwitter.web.pagination import MAX_KEY, Page
from minitwitter.web.response_cache import cached_response

NOT_FOUND = "Record not found"
VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
# Every status is public: unlisted is taken as public (it only keeps a status off the public
# timelines, which a client cannot tell), private and direct are refused, never posted public.
VISIBILITIES = ("public", "unlisted")
REFUSED_VISIBILITIES = ("private", "direct")
# How far a context reaches: ancestors up the chain, descendants down the tree.
MAX_ANCESTORS = 40
MAX_DESCENDANTS = 60


def cached_read(scope):
    """A GET answered as a whole cached response (web/response_cache.py), per viewer, once the
    token is known to hold `scope` (checked on every request, the cache's hits too)."""

    def decorate(view):
        cached = cached_response(view)

        @functools.wraps(view)
        def wrapper(request):
            require(request, scope)
            return cached(request)

        wrapper.cached_scope = scope  # its hits are answered before Pyramid too (web/response_cache.py)
        return wrapper

    return decorate


def status_id(request):
    """The path's id, or a 404 (ids are digits, up to the largest key)."""
    raw = request.matchdict["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_KEY:
        raise MastodonError(404, NOT_FOUND)
    return int(raw)


def statuses(request, ids, flags=True, written=False):
    """{id: Status} of the live posts among `ids` the viewer may see (not across a block,
    either way, nor by an account suspended or since gone), as the viewer sees them. The
    suspended set is read through its version (freshness.SUSPENDED), so every cached
    response made here goes stale with a suspension or its lift, as the native face's.
    `written`: the viewer has just favourited, reblogged or bookmarked these, writes that
    refuse across a block (domain/likes.py, reposts.py, bookmarks.py): no block is asked for."""
    me = request.authenticated_userid
    found = shared_posts(request.tx, ids)
    blocked = set(hiding(request.tx, me)["blocked"]) if me is not None and not written else set()
    blocked.update(suspended(request.tx))
    mine = viewer_flags(request.tx, me, list(found)) if flags else {}
    answer = {}
    for post_id, post in found.items():
        author = shared_profile(request.tx, post["author"]["id"])
        if author is None or post["author"]["id"] in blocked:
            continue
        answer[post_id] = entities.status(request, post, mine.get(post_id, NOT_MINE), author)
    return answer


def one_status(request, post_id, written=False):
    found = statuses(request, [post_id], written=written).get(post_id)
    if found is None:
        raise MastodonError(404, NOT_FOUND)
    return found


def new_status(request, post_id):
    """The Status of the post this request has just made, as the native face answers one
    (api/hydration.py posts_by_ids new): read from PostgreSQL without asking Redis, with
    nothing of the viewer's on it yet, by its author, the viewer (neither suspended nor
    across a block from themselves)."""
    post = shared_posts(request.tx, [post_id], new=True)[post_id]
    return entities.status(request, post, NOT_MINE, shared_profile(request.tx, post["author"]["id"]))


def reblog_status(request, repost, written=False):
    """The reblog Status of a repost row (id, post_id, user_id, created_at), or a 404;
    `written` as statuses()."""
    original = statuses(request, [repost["post_id"]], written=written).get(repost["post_id"])
    reposter = shared_profile(request.tx, repost["user_id"])
    if original is None or reposter is None or repost["user_id"] in suspended(request.tx):
        raise MastodonError(404, NOT_FOUND)
    return entities.reblog(request, repost, original, reposter)


# Input -------------------------------------------------------------------------------------


def _text(request, name):
    """A status's text as the native face takes a post's (domain/posts.text_problem)."""
    value = param(request, name)
    if value is None or not value.strip():
        raise MastodonError(422, "Validation failed: Text can't be blank")
    if has_surrogates(value):
        raise MastodonError(422, f"Validation failed: {name} must be valid Unicode")
    value = unicodedata.normalize("NFC", value.strip())
    problem = domain.text_problem(value)
    if problem:
        raise MastodonError(422, f"Validation failed: {name}: {problem}")
    return value


def _unsupported(request):
    """What minitwitter cannot do is refused, naming it, never dropped silently."""
    visibility = param(request, "visibility") or "public"
    if visibility in REFUSED_VISIBILITIES:
        raise MastodonError(422, f"Validation failed: visibility {visibility} is not supported (all are public)")
    if visibility not in VISIBILITIES:
        raise MastodonError(422, "Validation failed: visibility must be public, unlisted, private or direct")
    if param(request, "spoiler_text"):
        raise MastodonError(422, "Validation failed: spoiler_text is not supported (no content warnings)")
    for name in ("scheduled_at", "poll"):
        if param(request, name) if name != "poll" else _given(request, name):
            raise MastodonError(422, f"Validation failed: {name} is not supported")
    language = param(request, "language")
    if language and not LANGUAGE.fullmatch(language):
        raise MastodonError(422, "Validation failed: language must be an ISO 639 code")
    flag(request, "sensitive")  # accepted, not kept: an image is shown as it is
    return visibility


def _media_id(request):
    """The upload media_ids names (at most one: one image a post), or None."""
    given = id_list(request, "media_ids")
    ids = [i for i in given if i != ""]
    if not ids and len(given) <= 1:
        return None
    if len(given) > 1:
        raise MastodonError(422, "Validation failed: media_ids: at most 1 attachment (one image a status)")
    raw = ids[0]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_KEY:
        raise MastodonError(422, "Validation failed: media_ids: no such media")
    return int(raw)


def _given(request, name):
    body = request.json_body if request.content_type == "application/json" else None
    if isinstance(body, dict):
        return body.get(name) not in (None, {}, [])
    return any(key == name or key.startswith(f"{name}[") for key in request.params)


def _reply_to(request):
    raw = id_param(request, "in_reply_to_id")
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_KEY:
        raise MastodonError(404, NOT_FOUND)
    return int(raw)


# What a status's POST and PUT take (mastodon/openapi.py). Only what minitwitter keeps is
# valid: another visibility, a spoiler_text, a poll are 422 (_unsupported); media_ids naming no upload of mine.
STATUS_BODY = {
    "status": {
        "type": "string",
        "pattern": trimmed_pattern(domain.MAX_TEXT, TEXT_CONTROLS),
        "description": f"The text: 1 to {domain.MAX_TEXT} characters once trimmed",
    },
    "in_reply_to_id": {**ID_IN, "type": ["string", "integer", "null"], "description": "The status it replies to"},
    "visibility": {
        "type": ["string", "null"],
        "enum": [*VISIBILITIES, None],
        "description": "public or unlisted (every status is public); private and direct are 422 (not supported)",
    },
    "sensitive": {**FLAG, "description": "Accepted (no media: nothing to hide)"},
    "spoiler_text": {
        "type": ["string", "null"],
        "maxLength": 0,
        "description": "Not supported: a non-empty one is 422",
    },
    "media_ids": {
        "type": "array",
        "items": ID_IN,
        "maxItems": 1,
        "description": "One upload of mine no status has taken yet (POST /api/v2/media); else 422",
    },
    "language": {
        "type": ["string", "null"],
        "pattern": f"^({LANGUAGE.pattern})?$",
        "description": "An ISO 639 code; accepted",
    },
}
CONTEXT = entity(
    "Context",
    "A status's thread: ancestors oldest first, descendants depth first",
    ancestors={"type": "array", "items": STATUS, "maxItems": MAX_ANCESTORS},
    descendants={"type": "array", "items": STATUS, "maxItems": MAX_DESCENDANTS},
)


# Views -------------------------------------------------------------------------------------


@view_config(
    route_name="mastodon_statuses",
    request_method="POST",
    openapi=Operation(
        "Post a status, or a reply",
        STATUS,
        "write:statuses",
        body=STATUS_BODY,
        required=("status",),
        body_required=True,
        errors={403, 404, 409},  # across a block; in_reply_to_id is no live status; the same key, in progress
        # Not a parameter of the document: a key's rule (the same key with another body: 422)
        # is about earlier requests, which no schema can say; as the native POST /api/posts/.
        description="An `Idempotency-Key` header (1 to 255 visible ASCII characters) makes a retry answer "
        "the first status again; the same key with another body is a 422, while the first is running a 409.",
    ),
    **VIEW,
)
def create(request):
    me = require(request, "write:statuses")["user_id"]
    text = _text(request, "status")
    visibility = _unsupported(request)
    in_reply_to = _reply_to(request)
    image_id = _media_id(request)
    # The same key on the native face is another request (another answer's shape); one without
    # media is fingerprinted as before media were taken (a retry across a deploy replays).
    media = f"\x00media={image_id}" if image_id is not None else ""
    replay = idempotency.begin(request, f"mastodon\x00{visibility}{media}\x00{text}", in_reply_to)
    if replay is not None:
        return replay
    try:
        post_id = domain.create(request.tx, me, text, in_reply_to=in_reply_to, media_id=image_id)
    except Invalid as e:  # the upload is not the caller's, or taken, or gone
        raise MastodonError(422, f"Validation failed: {e.field}: {e.message}") from None
    answer = new_status(request, post_id)
    idempotency.finish(request, 200, answer)
    return answer


@view_config(
    route_name="mastodon_status",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation("A status, or a reblog by its id", STATUS, "read:statuses"),
)
@cached_read("read:statuses")
def get(request):
    post_id = status_id(request)
    found = statuses(request, [post_id]).get(post_id)
    if found is not None:
        return found
    request.cache.uncovered()  # a repost's row is read from PostgreSQL: not stored
    repost = request.queries.mastodon.get_repost(request.db, id=post_id)
    if repost is None:
        raise MastodonError(404, NOT_FOUND)
    return reblog_status(request, repost)


@view_config(
    route_name="mastodon_status",
    request_method="PUT",
    openapi=Operation(
        "Edit a status's text (its author only)",
        STATUS,
        "write:statuses",
        body={name: schema for name, schema in STATUS_BODY.items() if name != "in_reply_to_id"},
        required=("status",),
        body_required=True,
        errors={403},
    ),
    **VIEW,
)
def edit(request):
    me = require(request, "write:statuses")["user_id"]
    post_id = status_id(request)
    text = _text(request, "status")
    _unsupported(request)
    _same_media(request, me, post_id)
    domain.edit(request.tx, me, post_id, text)
    return one_status(request, post_id)


def _same_media(request, me, post_id):
    """An edit keeps its status's image: media_ids, when a client sends them (as many do, the
    ones the status has), must name it; a change is refused, never dropped silently."""
    given = id_list(request, "media_ids")
    if len(given) > 1:
        raise MastodonError(422, "Validation failed: media_ids: at most 1 attachment (one image a status)")
    ids = [i for i in given if i != ""]
    if not ids:
        return
    post = shared_posts(request.tx, [post_id]).get(post_id)
    if post is None or post["author"]["id"] != me:
        return  # the edit answers its 404 or 403
    image = post["image"]
    if ids != ([str(image["id"])] if image else []):
        raise MastodonError(422, "Validation failed: media_ids: an edit cannot change a status's media (not supported)")


@view_config(
    route_name="mastodon_status",
    request_method="DELETE",
    openapi=Operation("Delete a status (its author only): it, with its `text`", STATUS, "write:statuses", errors={403}),
    **VIEW,
)
def delete(request):
    """Answers the status as it was, with its source `text` (for "delete and redraft")."""
    me = require(request, "write:statuses")["user_id"]
    post_id = status_id(request)
    found = one_status(request, post_id)
    source = shared_posts(request.tx, [post_id])[post_id]["text"]
    domain.delete(request.tx, me, post_id)
    return {**found, "text": source}


@view_config(
    route_name="mastodon_status_context",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation("A status's ancestors and descendants", CONTEXT, "read:statuses"),
)
@cached_read("read:statuses")
def context(request):
    """Ancestors, oldest first, up to MAX_ANCESTORS; descendants depth first (each reply's
    replies after it, oldest first), up to MAX_DESCENDANTS: each list of replies is the
    native one's cached page (freshness.replies)."""
    post_id = status_id(request)
    found = statuses(request, [post_id], flags=False).get(post_id)
    if found is None:
        raise MastodonError(404, NOT_FOUND)
    ancestors, parent = [], found["in_reply_to_id"]
    while parent is not None and len(ancestors) < MAX_ANCESTORS:
        above = statuses(request, [int(parent)], flags=False).get(int(parent))
        if above is None:
            break
        ancestors.append(int(parent))
        parent = above["in_reply_to_id"]
    descendants, stack = [], list(reversed(_replies(request, post_id)))
    while stack and len(descendants) < MAX_DESCENDANTS:
        current = stack.pop()
        descendants.append(current)
        stack.extend(reversed(_replies(request, current)))
    ids = list(reversed(ancestors)) + descendants
    seen = statuses(request, ids)
    return {
        "ancestors": [seen[i] for i in reversed(ancestors) if i in seen],
        "descendants": [seen[i] for i in descendants if i in seen],
    }


def _replies(request, post_id):
    page = Page(size=MAX_DESCENDANTS, number=None, before=0, offset=0)
    rows = reply_rows(request.tx, request.authenticated_userid, post_id, page)
    return [r["key"] for r in rows[:MAX_DESCENDANTS]]


ACTIONS = {
    "favourite": (likes.like, "write:favourites"),
    "unfavourite": (likes.unlike, "write:favourites"),
    "reblog": (reposts.repost, "write:statuses"),
    "unreblog": (reposts.unrepost, "write:statuses"),
    "bookmark": (bookmarks.bookmark, "write:bookmarks"),
    "unbookmark": (bookmarks.unbookmark, "write:bookmarks"),
}
# The actions whose write refuses across a block (Forbidden): their answer asks for none.
WRITTEN = ("favourite", "reblog", "bookmark")


@view_config(
    route_name="mastodon_status_action",
    request_method="POST",
    openapi=Each(
        "action",
        {
            name: Operation(
                f"{name.capitalize()} a status: {'the reblog' if name == 'reblog' else 'the status as I now see it'}",
                STATUS,
                scope,
                errors={403},  # across a block
            )
            for name, (_write, scope) in ACTIONS.items()
        },
    ),
    **VIEW,
)
def action(request):
    """The native write, then the status as the caller now sees it; a reblog answers the
    reblog (its `reblog` is the original), as Mastodon does."""
    write, scope = ACTIONS[request.matchdict["action"]]
    me = require(request, scope)["user_id"]
    post_id = status_id(request)
    write(request.tx, me, post_id)
    if request.matchdict["action"] == "reblog":
        repost = request.queries.mastodon.repost_of(request.db, post_id=post_id, user_id=me)
        return reblog_status(request, repost, written=True)
    return one_status(request, post_id, written=request.matchdict["action"] in WRITTEN)


@view_config(
    route_name="mastodon_status_accounts",
    request_method="GET",
    openapi=Each(
        "list",
        {
            name: Operation(
                f"Who {name.replace('_', ' ')} a status, newest first", array(ACCOUNT), "read:accounts", page=True
            )
            for name in ("favourited_by", "reblogged_by")
        },
    ),
    **VIEW,
)
def accounts(request):
    """favourited_by, reblogged_by: accounts, newest first, paged by max_id (the like's or
    the repost's id, from the Link header); read from PostgreSQL, as the native likers."""
    require(request, "read:accounts")
    post_id = status_id(request)
    one_status(request, post_id)  # a 404 for a post the caller may not see
    window = read_window(request)
    before, limit = window.max_id or MAX_KEY, window.limit + 1
    if request.matchdict["list"] == "favourited_by":
        rows = request.queries.likes.list_likers(
            request.db, post_id=post_id, viewer_id=request.authenticated_userid, before=before, offset=0, limit=limit
        )
    else:
        rows = request.queries.mastodon.list_reposters(request.db, post_id=post_id, before=before, limit=limit)
    rows = list(rows)
    page = rows[: window.limit]
    link_header(request, [r["key"] for r in page], more=len(rows) > window.limit)
    banned = set(suspended(request.tx))  # as the native likers: a suspended account is left out
    return [entities.account(request, r) for r in page if r["id"] not in banned]
