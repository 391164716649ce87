"""Sign-up and JWT: log in, refresh (rotating), revoke (log out); password reset. The
writes, and the rules of tokens and their families, are minitwitter/domain/accounts.py."""

from cornice import Service
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import me_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_body_validator
from minitwitter.api.views.users import USER_LINKS
from minitwitter.domain import accounts
from minitwitter.web import ratelimit

signup = Service(name="signup", path="/api/users", description="Sign up")
signup_compat = Service(name="signup_compat", path="/api/create_user", description="Sign up (older clients)")
token = Service(name="token", path="/api/token", description="Log in")
token_refresh = Service(name="token_refresh", path="/api/token/refresh", description="Rotate a refresh token")
token_revoke = Service(name="token_revoke", path="/api/token/revoke", description="Log out")
password_reset = Service(
    name="password_reset", path="/api/password_reset", description="Mail a password reset link (202 whoever asks)"
)
password_reset_confirm = Service(
    name="password_reset_confirm",
    path="/api/password_reset/confirm",
    description="A new password, with the link's token",
)

# These routes are how a client gets a token, so they need none.
PUBLIC = {"validators": (colander_body_validator,), "permission": NO_PERMISSION_REQUIRED}
# The refresh token of a pair, rotated or revoked.
REFRESH_LINKS = {
    operation_id: {"requestBody": {"refresh": "$response.body#/refresh"}}
    for operation_id in ("token_refresh_post", "token_revoke_post")
}
SIGNED_UP = Answers(
    201,
    shapes.ME,
    errors={403, 409, 429},  # 403: registrations are closed
    # A new account logs in with what it signed up with.
    links={
        **USER_LINKS,
        "token_post": {"requestBody": {"username": "$request.body#/username", "password": "$request.body#/password"}},
    },
)


@signup.post(
    schema=schemas.SignupBody(),
    validators=(colander_body_validator,),
    permission=NO_PERMISSION_REQUIRED,
    openapi=SIGNED_UP,
)
@signup_compat.post(
    schema=schemas.SignupBody(),
    validators=(colander_body_validator,),
    permission=NO_PERMISSION_REQUIRED,
    openapi=SIGNED_UP,
)
def create_user(request):
    ratelimit.check(request, "signup", request.remote_addr)
    body = request.validated
    registry = request.registry
    user = accounts.sign_up(
        request.tx,
        registry.passwords,
        body["username"],
        body["email"],
        body["password"],
        registry.settings["registrations"],
    )
    request.response.status = 201
    return me_json(request, user)


@token.post(
    schema=schemas.LoginBody(),
    **PUBLIC,
    openapi=Answers(200, shapes.TOKENS, errors={401, 403, 429}, links=REFRESH_LINKS),
)
def login(request):
    body = request.validated
    ratelimit.check(request, "login", f"ip:{request.remote_addr}")
    ratelimit.check(request, "login", accounts.limit_key(request.tx, username=body["username"]))
    registry = request.registry
    return accounts.log_in(request.tx, registry.passwords, registry.tokens, body["username"], body["password"])


@token_refresh.post(
    schema=schemas.RefreshBody(),
    validators=(colander_body_validator,),
    permission=NO_PERMISSION_REQUIRED,
    openapi=Answers(200, shapes.TOKENS, errors={401, 403}, links=REFRESH_LINKS),
)
def refresh(request):
    return accounts.refresh(request.tx, request.registry.tokens, request.validated["refresh"])


@token_revoke.post(
    schema=schemas.RefreshBody(),
    validators=(colander_body_validator,),
    permission=NO_PERMISSION_REQUIRED,
    openapi=Answers(204, None, errors={401}),
)
def revoke(request):
    accounts.revoke(request.tx, request.registry.tokens, request.validated["refresh"])
    request.response.status = 204
    return None


@password_reset.post(schema=schemas.PasswordResetBody(), **PUBLIC, openapi=Answers(202, None, errors={429}))
def request_password_reset(request):
    """202 whether or not the address has an account: the same work either way."""
    email = request.validated["email"]
    ratelimit.check(request, "password_reset", f"ip:{request.remote_addr}")
    ratelimit.check(request, "password_reset", accounts.limit_key(request.tx, email=email))
    accounts.request_password_reset(request.tx, email)
    request.response.status = 202
    return None


@password_reset_confirm.post(schema=schemas.PasswordResetConfirmBody(), **PUBLIC, openapi=Answers(204, None))
def confirm_password_reset(request):
    body, registry = request.validated, request.registry
    accounts.reset_password(request.tx, registry.passwords, registry.tokens, body["token"], body["new_password"])
    request.response.status = 204
    return None
