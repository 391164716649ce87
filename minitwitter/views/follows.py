"""Follows: follow and unfollow (idempotent), followers and following lists."""

from cornice import Service
from cornice.validators import colander_validator

from minitwitter import freshness, schemas
from minitwitter.errors import field_error, http_error
from minitwitter.freshness import bump_after_commit
from minitwitter.pagination import envelope, read_page
from minitwitter.rendering import profile, profile_json

follow = Service(name="follow", path=r"/api/users/{id:\d+}/follow", description="Follow or unfollow a user")
followers = Service(name="followers", path=r"/api/users/{id:\d+}/followers", description="Who follows a user")
following = Service(name="following", path=r"/api/users/{id:\d+}/following", description="Whom a user follows")


@follow.post(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def follow_user(request):
    me, user_id = request.authenticated_userid, _other_user(request)
    if request.queries.follows.follow(request.db, follower_id=me, followee_id=user_id):
        request.enqueue_task("follow_email", {"follower_id": me, "followee_id": user_id})
        _follows_changed(request, me, user_id)
    return _profile(request, user_id, following=True)


@follow.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def unfollow_user(request):
    # Unfollowing yourself is a no-op like any repeated unfollow: nobody follows themself.
    me, user_id = request.authenticated_userid, request.validated["path"]["id"]
    if request.queries.follows.unfollow(request.db, follower_id=me, followee_id=user_id):
        _follows_changed(request, me, user_id)
    return _profile(request, user_id, following=False)


@followers.get(schema=schemas.IdPageSchema(), validators=(colander_validator,))
def list_followers(request):
    return _list(request, request.queries.follows.list_followers, "followers_count")


@following.get(schema=schemas.IdPageSchema(), validators=(colander_validator,))
def list_following(request):
    return _list(request, request.queries.follows.list_following, "following_count")


def _other_user(request):
    user_id = request.validated["path"]["id"]
    if user_id == request.authenticated_userid:
        raise field_error("id", "You cannot follow yourself", location="path")
    return user_id


def _follows_changed(request, follower_id, followee_id):
    """Both profiles' counts, the follower's feed and followed_by_me are stale."""
    names = (
        freshness.profile(follower_id),
        freshness.profile(followee_id),
        freshness.feed(follower_id),
        freshness.viewer(follower_id),
    )
    bump_after_commit(request, *names)


def _profile(request, user_id, following=None):
    found = profile(request, user_id, following)
    if found is None:
        raise http_error(404, "No such user")
    return found


def _list(request, query, count_field):
    user = _profile(request, request.validated["path"]["id"])
    page = read_page(request)
    rows = list(query(request.db, user_id=user["id"], viewer_id=request.authenticated_userid, **page.params))
    return envelope(request, page, rows, [profile_json(r) for r in rows[: page.size]], count=user[count_field])
