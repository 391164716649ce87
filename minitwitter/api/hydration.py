"""Rows to the JSON shapes of shapes.py (docs/API.md): posts (hydrated a page at a time) and profiles.

The fields every viewer shares come from Redis when fresh (freshness.py; for posts
domain/shared_posts.py, which the Mastodon face reads too); the viewer's own
(liked_by_me, reposted_by_me, bookmarked_by_me, followed_by_me) always come from PostgreSQL.

A suspended account (domain/moderation.py) is left out here as the lists leave it out in
their queries: its posts and profile answer only a moderator, who asks for them by id; the
lists of profiles and notifications drop it. Shared entries hold no such choice: it is
made per viewer, after them, from the suspended set (its version covers the response) and
the viewer's role (read from PostgreSQL, covered by their viewer version, which a grant
bumps), so a moderator's answer and a user's never come from one cached entry. An account
waiting for approval (it has no posts, follows or likes yet) answers the same way, told by
its shared profile's `approved` (its profile version: an approval bumps it).
"""

from minitwitter.api.shapes import ACCOUNT, AUTHOR, AVATAR, IMAGE, ME, MODERATED_REPORT, POST, PROFILE, REPORT
from minitwitter.domain import freshness, moderation
from minitwitter.domain.profiles import shared_profile, suspended
from minitwitter.domain.shared_posts import NOT_MINE, shared_posts, viewer_flags


def media_url(request, path):
    return f"{request.application_url}/media/{path}" if path else None


def _post_json(request, shared, mine):
    image = shared["image"]
    if image:  # URLs follow the host the client used, so they are built here, not cached
        urls = {"url": media_url(request, image["path"]), "thumbnail_url": media_url(request, image["thumbnail_path"])}
        image = IMAGE.pick({**image, **urls})
    viewer = {
        "liked_by_me": mine["liked"],
        "reposted_by_me": mine["reposted"],
        "bookmarked_by_me": mine["bookmarked"],
    }
    # reposted_by: set by feed_items in the home feed, the one list that shows reposts
    return POST.pick({**shared, **viewer, "image": image, "reposted_by": None})


def posts_by_ids(request, ids, new=False):
    """The live posts with these ids, in the order given: cached shared fields (one
    query for the misses) and the viewer's own fields (one query, unless the post is
    `new`: nobody has liked, reposted or bookmarked it yet)."""
    if not ids:
        return []
    found = shared_posts(request.tx, ids, new=new)
    mine = {} if new else viewer_flags(request.tx, request.authenticated_userid, ids)
    banned = set() if new else set(suspended(request.tx))  # a new post's author is not suspended: they wrote it
    shown = [i for i in ids if i in found]
    if banned and any(found[i]["author"]["id"] in banned for i in shown) and not is_moderator(request):
        shown = [i for i in shown if found[i]["author"]["id"] not in banned]
    return [_post_json(request, found[i], mine.get(i, NOT_MINE)) for i in shown]


def is_moderator(request):
    """Whether the viewer is a moderator or an admin (asked once per request, and only when
    a suspended account is in what they asked for); the response depends on their viewer
    version, which a change of role bumps."""
    found = getattr(request, "viewer_moderates", None)
    if found is None:
        request.cache.depend(freshness.viewer(request.authenticated_userid))
        found = request.viewer_moderates = moderation.may(request.tx, request.authenticated_userid, "moderator")
    return found


def visible(request, user_id, shared=None):
    """Whether this account's profile and posts answer the viewer: not suspended and not
    waiting for approval (its `shared` profile says, when given), or the viewer moderates."""
    hidden = user_id in suspended(request.tx) or not (shared or {}).get("approved", True)
    return not hidden or is_moderator(request)


def feed_items(request, rows):
    """A page of the home feed: each row's post, with `reposted_by` on a repost."""
    posts = {p["id"]: p for p in posts_by_ids(request, [r["post_id"] for r in rows])}
    return [{**posts[r["post_id"]], "reposted_by": _reposter(r)} for r in rows if r["post_id"] in posts]


def _reposter(row):
    if row["reposter_id"] is None:
        return None
    return AUTHOR.pick({"id": row["reposter_id"], "username": row["reposter_username"]})


def profile(request, user_id, following=None):
    """A profile: its shared fields plus followed_by_me for the viewer (`following`
    when the caller knows it); None if unknown."""
    shared = shared_profile(request.tx, user_id)
    if shared is None or not visible(request, user_id, shared):
        return None
    viewer_id = request.authenticated_userid
    if following is None:
        request.cache.depend(freshness.viewer(viewer_id))
        following = viewer_id != user_id and request.queries.users.is_following(
            request.db, follower_id=viewer_id, followee_id=user_id
        )
    return PROFILE.pick({**_with_avatar(request, shared), "followed_by_me": bool(following)})


def _with_avatar(request, row):
    """The row with `avatar` for its avatar_* columns (URLs follow the host the client used)."""
    avatar = None
    if row["avatar_path"]:
        avatar = AVATAR.pick(
            {
                "url": media_url(request, row["avatar_path"]),
                "width": row["avatar_width"],
                "height": row["avatar_height"],
            }
        )
    return {**row, "avatar": avatar}


def profile_json(request, row):
    """A profile of a list's row (with followed_by_me)."""
    return PROFILE.pick(_with_avatar(request, row))


def profiles_json(request, rows):
    """The profiles of a list's rows, but those of suspended accounts (for every viewer)."""
    banned = set(suspended(request.tx))
    return [profile_json(request, r) for r in rows if r["id"] not in banned]


def account_json(request, row, following):
    """A profile as moderators see it (moderation.get_account's row), with followed_by_me."""
    return ACCOUNT.pick({**_with_avatar(request, row), "followed_by_me": bool(following)})


def me_json(request, row):
    """The caller's own profile (users.get_me, users.create_user)."""
    return ME.pick(_with_avatar(request, row))


def reports_json(request, rows, moderated):
    """Reports (reports.* rows) as their reporter (REPORT) or a moderator (MODERATED_REPORT,
    with the reporter and the note) sees them. The account is shown to the reporter even while
    suspended (they reported it); its posts as the viewer may see them. Read from PostgreSQL
    (no cached response holds a report)."""
    posts = {p["id"]: p for p in posts_by_ids(request, sorted({i for r in rows for i in r["post_ids"]}))}
    profiles = {}

    def known(user_id):
        if user_id not in profiles:
            shared = shared_profile(request.tx, user_id)
            following = request.queries.users.is_following(
                request.db, follower_id=request.authenticated_userid, followee_id=user_id
            )
            profiles[user_id] = PROFILE.pick({**_with_avatar(request, shared), "followed_by_me": bool(following)})
        return profiles[user_id]

    shape = MODERATED_REPORT if moderated else REPORT
    return [
        shape.pick(
            {
                **r,
                "account": known(r["account_id"]),
                "reporter": known(r["reporter_id"]) if moderated else None,
                "posts": [posts[i] for i in r["post_ids"] if i in posts],
                "created_at": r["created_at"].isoformat(),
                "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
            }
        )
        for r in rows
    ]
