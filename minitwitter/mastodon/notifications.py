"""Notifications (docs.joinmastodon.org/methods/notifications), the native ones
(domain/notifications.py) in Mastodon's types: a like is `favourite`, a repost `reblog`, a
mention and a reply `mention`, a follow `follow`, a sign-up waiting for approval (to
moderators) `admin.sign_up`.

GET  /api/v1/notifications              read:notifications  types[], exclude_types[]; Mastodon's pages
GET  /api/v1/notifications/:id          read:notifications
POST /api/v1/notifications/clear        write:notifications all of mine go
POST /api/v1/notifications/:id/dismiss  write:notifications that one goes

Read from PostgreSQL each time, as the native list (one index-only scan a page); the
statuses they are about through the shared caches. A notification about a status the viewer
may no longer see (deleted, across a block) is left out.
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import notifications as domain
from minitwitter.domain.profiles import shared_profile, suspended
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import param_list, require
from minitwitter.mastodon.entities import ACCOUNT, STATUS
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import EMPTY, ID, TIME, Operation, array, entity, nullable
from minitwitter.mastodon.paging import link_header, read_window
from minitwitter.mastodon.statuses import statuses
from minitwitter.mastodon.timelines import window_rows
from minitwitter.web.pagination import MAX_KEY

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
# Mastodon's type -> the native types it stands for.
TYPES = {
    "favourite": ("like",),
    "reblog": ("repost",),
    "mention": ("mention", "reply"),
    "follow": ("follow",),
    "admin.sign_up": ("sign_up",),  # moderators: a sign-up waits for approval
}
# Mastodon's other types: nothing here makes them, so asking for them finds nothing.
OTHER_TYPES = ("status", "follow_request", "poll", "update", "admin.report", "severed_relationships")
MASTODON_TYPE = {native: mastodon for mastodon, natives in TYPES.items() for native in natives}


NOTIFICATION = entity(
    "Notification",
    "Something another account did that concerns me",
    id=ID,
    type={"type": "string", "enum": list(TYPES)},
    created_at=TIME,
    group_key={"type": "string"},
    account=ACCOUNT,
    status={**nullable(STATUS), "description": "The status it is about; null for a follow"},
)
_TYPE_LIST = {
    "type": "array",
    "items": {"type": "string", "enum": [*TYPES, *OTHER_TYPES, "moderation_warning"]},
    "description": "Mastodon's types (the others are accepted and find nothing)",
}


def _types(request, name):
    names = param_list(request, name)
    unknown = [n for n in names if n not in TYPES and n not in OTHER_TYPES and n != "moderation_warning"]
    if unknown:
        raise MastodonError(422, f"Validation failed: {name}[] has an unknown type: {', '.join(unknown)}")
    return names


def native_types(request):
    """The native types the request asks for (types[], less exclude_types[])."""
    wanted = _types(request, "types") or list(TYPES)
    excluded = set(_types(request, "exclude_types"))
    return sorted({native for name in wanted if name not in excluded for native in TYPES.get(name, ())})


def render(request, rows):
    """The Notification entities of rows (key, type, actor_id, post_id, created_at)."""
    found = statuses(request, list(dict.fromkeys(r["post_id"] for r in rows if r["post_id"] is not None)))
    banned = set(suspended(request.tx))  # those a suspended account caused: as the native list
    answer = []
    for row in rows:
        actor = shared_profile(request.tx, row["actor_id"])
        status = found.get(row["post_id"]) if row["post_id"] is not None else None
        waiting = row["type"] == "sign_up"  # hidden from users: what a moderator is told of
        if (
            actor is None
            or (row["actor_id"] in banned and not waiting)
            or (row["post_id"] is not None and status is None)
        ):
            continue
        answer.append(
            {
                "id": str(row["key"]),
                "type": MASTODON_TYPE[row["type"]],
                "created_at": entities.timestamp(row["created_at"]),
                "group_key": f"ungrouped-{row['key']}",
                "account": entities.account(request, actor),
                "status": status,
            }
        )
    return answer


def _notification_id(request):
    raw = request.matchdict["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_KEY:
        raise MastodonError(404, "Record not found")
    return int(raw)


@view_config(
    route_name="mastodon_notifications",
    request_method="GET",
    openapi=Operation(
        "My notifications, newest first",
        array(NOTIFICATION),
        "read:notifications",
        page=True,
        query={"types": _TYPE_LIST, "exclude_types": _TYPE_LIST},
    ),
    **VIEW,
)
def list_notifications(request):
    me = require(request, "read:notifications")["user_id"]
    types = native_types(request)
    window = read_window(request)
    q, db = request.queries.mastodon, request.db
    if not types:
        return []

    def newest(before, after, limit):
        return list(q.notifications_page(db, user_id=me, types=types, before=before, after=after, limit=limit))

    def oldest(after, limit):
        return list(q.notifications_newer(db, user_id=me, types=types, after=after, limit=limit))

    rows, more = window_rows(request, newest, oldest, window)
    link_header(request, [r["key"] for r in rows], more)
    return render(request, rows)


@view_config(
    route_name="mastodon_notification",
    request_method="GET",
    openapi=Operation("One of my notifications", NOTIFICATION, "read:notifications"),
    **VIEW,
)
def get_notification(request):
    me = require(request, "read:notifications")["user_id"]
    row = request.queries.mastodon.get_notification(request.db, user_id=me, id=_notification_id(request))
    found = render(request, [row]) if row is not None else []
    if not found:
        raise MastodonError(404, "Record not found")
    return found[0]


@view_config(
    route_name="mastodon_notifications_clear",
    request_method="POST",
    openapi=Operation("Remove all my notifications", EMPTY, "write:notifications"),
    **VIEW,
)
def clear(request):
    domain.clear(request.tx, require(request, "write:notifications")["user_id"])
    return {}


@view_config(
    route_name="mastodon_notification_dismiss",
    request_method="POST",
    openapi=Operation("Remove one of my notifications", EMPTY, "write:notifications"),
    **VIEW,
)
def dismiss(request):
    me = require(request, "write:notifications")["user_id"]
    if not domain.dismiss(request.tx, me, _notification_id(request)):
        raise MastodonError(404, "Record not found")
    return {}
