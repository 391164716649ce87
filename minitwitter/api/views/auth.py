"""Sign-up and JWT: log in, refresh (rotating), revoke (log out); password reset. The
writes, and the rules of tokens and their families, are minitwitter/domain/accounts.py."""

from cornice import Service
from cornice.validators import colander_body_validator
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api import schemas
from minitwitter.api.hydration import me_json
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


@signup.post(schema=schemas.SignupBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED)
@signup_compat.post(
    schema=schemas.SignupBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def create_user(request):
    ratelimit.check(request, "signup", request.remote_addr)
    body = request.validated
    user = accounts.sign_up(request.tx, request.registry.passwords, body["username"], body["email"], body["password"])
    request.response.status = 201
    return me_json(request, user)


@token.post(schema=schemas.LoginBody(), **PUBLIC)
def login(request):
    body = request.validated
    ratelimit.check(request, "login", f"ip:{request.remote_addr}")
    ratelimit.check(request, "login", f"user:{body['username'].lower()}")
    registry = request.registry
    return accounts.log_in(request.tx, registry.passwords, registry.tokens, body["username"], body["password"])


@token_refresh.post(
    schema=schemas.RefreshBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def refresh(request):
    return accounts.refresh(request.tx, request.registry.tokens, request.validated["refresh"])


@token_revoke.post(
    schema=schemas.RefreshBody(), validators=(colander_body_validator,), permission=NO_PERMISSION_REQUIRED
)
def revoke(request):
    accounts.revoke(request.tx, request.registry.tokens, request.validated["refresh"])
    request.response.status = 204
    return None


@password_reset.post(schema=schemas.PasswordResetBody(), **PUBLIC)
def request_password_reset(request):
    """202 whether or not the address has an account: the same work either way."""
    email = request.validated["email"]
    ratelimit.check(request, "password_reset", f"ip:{request.remote_addr}")
    ratelimit.check(request, "password_reset", f"email:{email.lower()}")
    accounts.request_password_reset(request.tx, email)
    request.response.status = 202
    return None


@password_reset_confirm.post(schema=schemas.PasswordResetConfirmBody(), **PUBLIC)
def confirm_password_reset(request):
    body, registry = request.validated, request.registry
    accounts.reset_password(request.tx, registry.passwords, registry.tokens, body["token"], body["new_password"])
    request.response.status = 204
    return None
