"""Profiles: my own (with email) and anyone's (with counts and followed_by_me); the
account lifecycle: edit my profile, change my password, verify my email, delete my account.
The writes are minitwitter/domain/accounts.py."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import me_json, profile
from minitwitter.api.openapi import Answers, by_id
from minitwitter.api.validators import colander_body_validator, colander_validator
from minitwitter.api.views.posts import upload
from minitwitter.domain import accounts
from minitwitter.web import ratelimit
from minitwitter.web.errors import account_gone, http_error
from minitwitter.web.response_cache import cached_response

me = Service(name="me", path="/api/users/me", description="My profile, with email: read, edit, delete the account")
user = Service(name="user", path=r"/api/users/{id:\d+}", description="A profile with counts")
password = Service(name="password", path="/api/users/me/password", description="Change my password")
verify_email = Service(
    name="verify_email", path="/api/users/me/verify_email", description="Verify my email, or ask for a new link"
)
BODY = {"validators": (colander_body_validator,)}
# OpenAPI links from a profile (or my profile) to the operations on that user, by its id.
USER_LINKS = by_id(
    "user_get",
    "user_posts_get",
    "followers_get",
    "following_get",
    "follow_post",
    "follow_delete",
    "block_post",
    "block_delete",
    "mute_post",
    "mute_delete",
)


@me.get(openapi=Answers(200, shapes.ME, errors={404}))  # 404: a valid token for an account that no longer exists
def get_me(request):
    return _me(request)


@me.patch(
    schema=schemas.ProfileBody(), **BODY, openapi=Answers(200, shapes.ME, optional_body=True, file_field="avatar")
)
def edit_me(request):
    body = request.validated
    accounts.update_profile(
        request.tx,
        request.authenticated_userid,
        display_name=body.get("display_name"),
        bio=body.get("bio"),
        avatar=upload(request, "avatar"),
        media_root=request.registry.settings["media.root"],
    )
    return _me(request)


def count_guess(request):
    """A route that checks my password counts each try against my log-in limit (ratelimit.login,
    per account): no route guesses faster than log-in does."""
    key = accounts.limit_key(request.tx, user_id=request.authenticated_userid)
    if key is not None:  # an account gone: the route answers for it
        ratelimit.check(request, "login", key)


@me.delete(schema=schemas.PasswordBody(), **BODY, openapi=Answers(204, None))
def delete_me(request):
    count_guess(request)
    registry = request.registry
    accounts.delete_account(
        request.tx,
        registry.passwords,
        registry.tokens,
        request.authenticated_userid,
        request.validated["password"],
        registry.settings["media.root"],
    )
    request.response.status = 204
    return None


@password.post(schema=schemas.PasswordChangeBody(), **BODY, openapi=Answers(204, None))
def change_password(request):
    count_guess(request)
    body, registry = request.validated, request.registry
    accounts.change_password(
        request.tx,
        registry.passwords,
        registry.tokens,
        request.authenticated_userid,
        body["current_password"],
        body["new_password"],
    )
    request.response.status = 204
    return None


@verify_email.post(
    schema=schemas.VerifyEmailBody(),
    **BODY,
    openapi=Answers(
        204,
        None,
        optional_body=True,  # no body: a new link
        also={202: ("No token given: a new verification email is on its way", None)},
    ),
)
def verify(request):
    token = request.validated.get("token")
    if token is None:
        accounts.request_verification(request.tx, request.authenticated_userid)
        request.response.status = 202
    else:
        accounts.verify_email(request.tx, request.authenticated_userid, token)
        request.response.status = 204
    return None


@user.get(schema=schemas.IdPathSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE))
@cached_response
def get_user(request):
    found = profile(request, request.validated["path"]["id"])
    if found is None:
        raise http_error(404, "No such user")
    return found


def _me(request):
    row = request.queries.users.get_me(request.db, user_id=request.authenticated_userid)
    if row is None:  # a valid token for an account that no longer exists
        raise account_gone(request)
    return me_json(request, row)
