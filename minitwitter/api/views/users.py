"""Profiles: my own (with email) and anyone's (with counts and followed_by_me); the
account lifecycle: edit my profile, change my password, verify my email, delete my account.
The writes are minitwitter/domain/accounts.py."""

from cornice import Service
from cornice.validators import colander_body_validator, colander_validator

from minitwitter.api import schemas
from minitwitter.api.hydration import me_json, profile
from minitwitter.api.views.posts import upload
from minitwitter.domain import accounts
from minitwitter.web.errors import account_gone, http_error
from minitwitter.web.response_cache import cached_response

me = Service(name="me", path="/api/users/me", description="My profile, with email: read, edit, delete the account")
user = Service(name="user", path=r"/api/users/{id:\d+}", description="A profile with counts")
password = Service(name="password", path="/api/users/me/password", description="Change my password")
verify_email = Service(
    name="verify_email", path="/api/users/me/verify_email", description="Verify my email, or ask for a new link"
)
BODY = {"validators": (colander_body_validator,)}


@me.get()
def get_me(request):
    return _me(request)


@me.patch(schema=schemas.ProfileBody(), **BODY)
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


@me.delete(schema=schemas.PasswordBody(), **BODY)
def delete_me(request):
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


@password.post(schema=schemas.PasswordChangeBody(), **BODY)
def change_password(request):
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


@verify_email.post(schema=schemas.VerifyEmailBody(), **BODY)
def verify(request):
    token = request.validated.get("token")
    if token is None:
        accounts.request_verification(request.tx, request.authenticated_userid)
        request.response.status = 202
    else:
        accounts.verify_email(request.tx, request.authenticated_userid, token)
        request.response.status = 204
    return None


@user.get(schema=schemas.IdPathSchema(), validators=(colander_validator,))
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
