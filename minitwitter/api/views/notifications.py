"""Notifications: mine, newest first; how many are unread; read up to one (the writes are
domain/notifications.py; the events make them where they happen).

Not cached responses: only their recipient reads them, a page is one indexed query and
the unread count one primary key probe (migrations/0012), so every read is fresh.
"""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import posts_by_ids, profile_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_body_validator, colander_validator
from minitwitter.domain import notifications as domain
from minitwitter.domain.profiles import suspended
from minitwitter.web.pagination import PageSchema, envelope, read_page

notifications = Service(name="notifications", path="/api/notifications", description="My notifications, newest first")
unread_count = Service(
    name="unread_count", path="/api/notifications/unread_count", description="How many of my notifications are unread"
)
notifications_read = Service(
    name="notifications_read", path="/api/notifications/read", description="Mark my notifications read up to one"
)


@notifications.get(
    schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.NOTIFICATION_PAGE)
)
def list_notifications(request):
    page = read_page(request)
    me = request.authenticated_userid
    rows = list(request.queries.notifications.list_notifications(request.db, user_id=me, **page.params))
    # A suspended account's notifications are left out (it is their actor: a mention or a
    # reply is its own post, a like or a repost is of mine) and show again once the
    # suspension is lifted (domain/moderation.py). A sign-up's actor is hidden from users
    # while it waits: that is what a moderator is told of.
    banned = set(suspended(request.tx))
    items = [r for r in rows[: page.size] if r["id"] not in banned or r["type"] == "sign_up"]
    post_ids = list(dict.fromkeys(r["post_id"] for r in items if r["post_id"] is not None))
    posts = {p["id"]: p for p in posts_by_ids(request, post_ids)}
    results = [
        shapes.NOTIFICATION.pick(
            {
                "id": r["key"],
                "type": r["type"],
                "actor": profile_json(request, r),
                "post": posts.get(r["post_id"]),
                "reason": r["reason"],
                "created_at": r["notified_at"].isoformat(),
                "read": r["read"],
            }
        )
        for r in items
    ]
    return envelope(request, page, rows, results)


@unread_count.get(openapi=Answers(200, shapes.UNREAD_COUNT))
def get_unread_count(request):
    count = request.queries.notifications.unread_count(request.db, user_id=request.authenticated_userid)
    return shapes.UNREAD_COUNT.pick({"count": count})


@notifications_read.post(
    schema=schemas.ReadNotificationsBody(), validators=(colander_body_validator,), openapi=Answers(204, None)
)
def mark_read(request):
    domain.mark_read(request.tx, request.authenticated_userid, request.validated["up_to"])
    request.response.status = 204
    return None
