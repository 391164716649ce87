"""Follows: follow and unfollow (idempotent; the writes are domain/follows.py),
followers and following lists."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import profile, profiles_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.api.views.users import USER_LINKS
from minitwitter.domain import follows as domain
from minitwitter.web.errors import http_error
from minitwitter.web.pagination import envelope, read_page

follow = Service(name="follow", path=r"/api/users/{id:\d+}/follow", description="Follow or unfollow a user")
followers = Service(name="followers", path=r"/api/users/{id:\d+}/followers", description="Who follows a user")
following = Service(name="following", path=r"/api/users/{id:\d+}/following", description="Whom a user follows")


@follow.post(
    schema=schemas.IdPathSchema(),
    validators=(colander_validator,),
    # 403: a block stands between the caller and the user
    openapi=Answers(200, shapes.PROFILE, errors={403}, links=USER_LINKS),
)
def follow_user(request):
    user_id = request.validated["path"]["id"]
    domain.follow(request.tx, request.authenticated_userid, user_id)
    return profile_or_404(request, user_id, following=True)


@follow.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE))
def unfollow_user(request):
    user_id = request.validated["path"]["id"]
    domain.unfollow(request.tx, request.authenticated_userid, user_id)
    return profile_or_404(request, user_id, following=False)


@followers.get(
    schema=schemas.IdPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE)
)
def list_followers(request):
    return _list(request, request.queries.follows.list_followers, "followers_count")


@following.get(
    schema=schemas.IdPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE)
)
def list_following(request):
    return _list(request, request.queries.follows.list_following, "following_count")


def profile_or_404(request, user_id, following=None):
    found = profile(request, user_id, following)
    if found is None:
        raise http_error(404, "No such user")
    return found


def _list(request, query, count_field):
    user = profile_or_404(request, request.validated["path"]["id"])
    page = read_page(request)
    rows = list(query(request.db, user_id=user["id"], viewer_id=request.authenticated_userid, **page.params))
    results = profiles_json(request, rows[: page.size])
    return envelope(request, page, rows, results, count=user[count_field])
