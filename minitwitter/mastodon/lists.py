"""What clients read at start, and the lists of my things:

GET  /api/v1/bookmarks               my bookmarked statuses, newest bookmark first (read:bookmarks)
GET  /api/v1/favourites              the statuses I favourited, newest first (read:favourites)
GET  /api/v1/markers                 timeline[]: home, notifications (read:statuses)
POST /api/v1/markers                 home[last_read_id], notifications[last_read_id] (write:statuses)
GET  /api/v1/preferences             (read:accounts)
GET  /api/v1/custom_emojis           [] (public)
GET  /api/v1/followed_tags           my favourite tags, as Tags (read:follows)
GET  /api/v1/tags/:name              a Tag; `following` with a token
POST /api/v1/tags/:name/follow       the native favourite tag (write:follows); and unfollow

The lists are Mastodon's pages (paging.py), keyed by the bookmark's, the like's or the tag's
id, read from PostgreSQL each time as the native bookmarks are; the statuses in them through
the shared post cache (timelines.render). Markers: domain/markers.py (the notifications marker
is the native read mark). Favourite tags: domain/posts.add_favorite, remove_favorite.
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import hashtags, markers
from minitwitter.domain import posts as posts_domain
from minitwitter.domain.safety import hidden
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import param_list, require
from minitwitter.mastodon.entities import HASHTAG, STATUS
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import BOOL, ID, ID_IN, TIME, Each, Operation, array, entity, nullable, obj
from minitwitter.mastodon.paging import link_header, read_window
from minitwitter.mastodon.timelines import render, window_rows
from minitwitter.web.pagination import MAX_KEY

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
NOT_FOUND = "Record not found"
MARKER = entity(
    "Marker",
    "Where I stopped reading a timeline (docs.joinmastodon.org/entities/Marker); the notifications "
    "marker is the native read mark",
    last_read_id=ID,
    version={"type": "integer", "minimum": 0},
    updated_at=nullable(TIME),
)
MARKERS = obj({"home": MARKER, "notifications": MARKER}, optional=("home", "notifications"))
LAST_READ = {
    **ID_IN,
    "pattern": "^[1-9][0-9]{0,18}$",
    "minimum": 1,
    "description": "An id: a string of digits or a number",
}
PREFERENCES = obj(
    {
        "posting:default:visibility": {"type": "string", "enum": ["public"]},
        "posting:default:sensitive": BOOL,
        "posting:default:language": {"type": "null"},
    },
    extra=True,
    description="Every status is public, nothing hidden behind a warning, no language kept",
)


def _statuses(request, query):
    """A page of statuses from `query(user_id, hidden, before, after, limit)`, Mastodon's way."""
    me = request.authenticated_userid
    ids = hidden(request.tx, me)

    def newest(before, after, limit):
        return list(query(request.db, user_id=me, hidden=ids, before=before, after=after, limit=limit))

    rows, more = window_rows(request, newest, None, read_window(request))
    link_header(request, [r["key"] for r in rows], more)
    return render(request, rows)


@view_config(
    route_name="mastodon_bookmarks",
    request_method="GET",
    openapi=Operation("My bookmarked statuses, newest bookmark first", array(STATUS), "read:bookmarks", page=True),
    **VIEW,
)
def bookmarks(request):
    require(request, "read:bookmarks")
    return _statuses(request, request.queries.bookmarks.bookmarks_window)


@view_config(
    route_name="mastodon_favourites",
    request_method="GET",
    openapi=Operation("The statuses I favourited, newest first", array(STATUS), "read:favourites", page=True),
    **VIEW,
)
def favourites(request):
    require(request, "read:favourites")
    return _statuses(request, request.queries.likes.liked_window)


# Markers -----------------------------------------------------------------------------------


def _marker(found):
    updated = found["updated_at"]
    return {
        "last_read_id": str(found["last_read_id"]),
        "version": found["version"],
        "updated_at": entities.timestamp(updated) if updated is not None else None,
    }


@view_config(
    route_name="mastodon_markers",
    request_method="GET",
    openapi=Operation(
        "My markers: home and notifications (those asked for with timeline[], else both)",
        MARKERS,
        "read:statuses",
        query={"timeline": array({"type": "string", "enum": ["home", "notifications"]})},
    ),
    **VIEW,
)
def get_markers(request):
    me = require(request, "read:statuses")["user_id"]
    asked = param_list(request, "timeline")
    unknown = [t for t in asked if t not in markers.TIMELINES]
    if unknown:
        raise MastodonError(422, "Validation failed: timeline must be home or notifications")
    found = markers.get_markers(request.tx, me, asked or markers.TIMELINES)
    return {timeline: _marker(row) for timeline, row in found.items()}


def _last_read_ids(request):
    """{timeline: id} from `home[last_read_id]=` form fields or {"home": {"last_read_id": ...}}."""
    body = request.json_body if request.content_type == "application/json" else None
    ids = {}
    for timeline in markers.TIMELINES:
        if isinstance(body, dict):
            given = body.get(timeline)
            if given is None:
                continue
            if not isinstance(given, dict):
                raise MastodonError(422, f"Validation failed: {timeline} must be an object with last_read_id")
            raw = given.get("last_read_id")  # {}: no id, a 422
        else:
            raw = request.POST.get(f"{timeline}[last_read_id]", request.GET.get(f"{timeline}[last_read_id]"))
            if raw is None:
                continue
        if isinstance(raw, float) and raw.is_integer():  # JSON Schema's integer: 5.0 is 5
            raw = int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        digits = isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19
        if not (digits and 0 < int(raw) <= MAX_KEY):
            raise MastodonError(422, f"Validation failed: {timeline}[last_read_id] must be an id")
        ids[timeline] = int(raw)
    if not ids:
        raise MastodonError(422, "Validation failed: home[last_read_id] or notifications[last_read_id] is needed")
    return ids


@view_config(
    route_name="mastodon_markers",
    request_method="POST",
    openapi=Operation(
        "Set my markers: the markers set",
        MARKERS,
        "write:statuses",
        body={
            "home": obj({"last_read_id": LAST_READ}, extra=True),
            "notifications": obj({"last_read_id": LAST_READ}, extra=True),
        },
        body_required=True,
        forms=("application/json",),
        description="As JSON, or as a form with the fields `home[last_read_id]` and `notifications[last_read_id]`; "
        "either one may be left out, not both (422).",
    ),
    **VIEW,
)
def set_markers(request):
    me = require(request, "write:statuses")["user_id"]
    ids = _last_read_ids(request)
    markers.set_markers(request.tx, me, ids)
    found = markers.get_markers(request.tx, me, list(ids))
    return {timeline: _marker(row) for timeline, row in found.items()}


# What clients read at start ----------------------------------------------------------------


@view_config(
    route_name="mastodon_preferences",
    request_method="GET",
    openapi=Operation("My preferences", PREFERENCES, "read:accounts"),
    **VIEW,
)
def preferences(request):
    """Every status is public, nothing is hidden behind a warning, no language is kept."""
    require(request, "read:accounts")
    return {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "posting:default:quote_policy": "nobody",
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


@view_config(
    route_name="mastodon_custom_emojis",
    request_method="GET",
    openapi=Operation("Custom emojis: none", array(obj({}, extra=True), maxItems=0)),
    **VIEW,
)
def custom_emojis(request):
    return []


# Tags --------------------------------------------------------------------------------------


def _tag_name(request):
    name = hashtags.normalize(request.matchdict["name"])
    if name is None:
        raise MastodonError(404, NOT_FOUND)
    return name


def _following(request, name):
    me = request.authenticated_userid
    if me is None:
        return None
    return bool(list(request.queries.hashtags.favorite_names(request.db, user_id=me, names=[name])))


@view_config(
    route_name="mastodon_followed_tags",
    request_method="GET",
    openapi=Operation(
        "The tags I follow (the native favourite hashtags), newest first", array(HASHTAG), "read:follows", page=True
    ),
    **VIEW,
)
def followed_tags(request):
    """Newest followed tag first (by the tag's id), paged by max_id / since_id."""
    me = require(request, "read:follows")["user_id"]
    window = read_window(request)
    after = window.min_id if window.min_id is not None else (window.since_id or 0)
    rows = list(
        request.queries.hashtags.followed_window(
            request.db, user_id=me, before=window.max_id or MAX_KEY, after=after, limit=window.limit + 1
        )
    )
    page = rows[: window.limit]
    link_header(request, [r["key"] for r in page], more=len(rows) > window.limit)
    return [entities.tag(request, r["name"], following=True) for r in page]


@view_config(
    route_name="mastodon_tag",
    request_method="GET",
    openapi=Operation(
        "A hashtag, used yet or not (not one: 404); with a token, whether I follow it",
        HASHTAG,
        None,
        errors={401, 403, 404},
    ),
    **VIEW,
)
def tag(request):
    """Any valid tag name, used yet or not (as Mastodon answers one); 404 for what is not one."""
    if request.identity is not None:
        require(request, "read:statuses")
    name = _tag_name(request)
    return entities.tag(request, name, following=_following(request, name))


@view_config(
    route_name="mastodon_tag_follow",
    request_method="POST",
    openapi=Each(
        "action",
        {
            "follow": Operation("Follow a hashtag (a native favourite one)", HASHTAG, "write:follows", errors={404}),
            "unfollow": Operation("Unfollow a hashtag", HASHTAG, "write:follows", errors={404}),
        },
    ),
    **VIEW,
)
def follow_tag(request):
    me = require(request, "write:follows")["user_id"]
    name = _tag_name(request)
    if request.matchdict["action"] == "follow":
        name = posts_domain.add_favorite(request.tx, me, name)
        return entities.tag(request, name, following=True)
    posts_domain.remove_favorite(request.tx, me, name)
    return entities.tag(request, name, following=False)
