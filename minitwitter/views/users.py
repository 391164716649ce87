"""Profiles: my own (with email) and anyone's (with counts and followed_by_me)."""

from cornice import Service
from cornice.validators import colander_validator

from minitwitter import schemas
from minitwitter.errors import account_gone, http_error
from minitwitter.hydration import profile
from minitwitter.response_cache import cached_response

me = Service(name="me", path="/api/users/me", description="My profile, with email")
user = Service(name="user", path=r"/api/users/{id:\d+}", description="A profile with counts")


@me.get()
def get_me(request):
    profile = request.queries.users.get_me(request.db, user_id=request.authenticated_userid)
    if profile is None:  # a valid token for an account that no longer exists
        raise account_gone(request)
    return profile


@user.get(schema=schemas.IdPathSchema(), validators=(colander_validator,))
@cached_response
def get_user(request):
    found = profile(request, request.validated["path"]["id"])
    if found is None:
        raise http_error(404, "No such user")
    return found
