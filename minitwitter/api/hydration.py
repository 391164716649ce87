"""Rows to the JSON shapes of shapes.py (docs/API.md): posts (hydrated a page at a time) and profiles.

The fields every viewer shares come from Redis when fresh (freshness.py; for posts
domain/shared_posts.py, which the Mastodon face reads too); the viewer's own
(liked_by_me, reposted_by_me, bookmarked_by_me, followed_by_me) always come from PostgreSQL.
"""

from minitwitter.api.shapes import AUTHOR, AVATAR, IMAGE, ME, POST, PROFILE
from minitwitter.domain import freshness
from minitwitter.domain.profiles import shared_profile
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
    found = shared_posts(request.tx, ids)
    mine = {} if new else viewer_flags(request.tx, request.authenticated_userid, ids)
    return [_post_json(request, found[i], mine.get(i, NOT_MINE)) for i in ids if i in found]


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
    if shared is None:
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


def me_json(request, row):
    """The caller's own profile (users.get_me, users.create_user)."""
    return ME.pick(_with_avatar(request, row))
