"""Accounts (docs.joinmastodon.org/methods/accounts), this step's subset:

GET /api/v1/accounts/verify_credentials   the caller (CredentialAccount): read:accounts or profile
GET /api/v1/accounts/lookup?acct=         by username (or username@this-domain); public
GET /api/v1/accounts/:id                  public
PATCH /api/v1/accounts/update_credentials display_name, note, avatar (JSON or multipart), as the
                                          native PATCH /api/users/me/ (domain/accounts.py:
                                          update_profile): the CredentialAccount (write:accounts)
"""

from multipart import MultipartPart
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Invalid, TooLarge
from minitwitter.domain import accounts as domain_accounts
from minitwitter.domain.credentials import MAX_USER_ID
from minitwitter.domain.profiles import shared_profile, suspended
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import domain, param, require
from minitwitter.mastodon.entities import ACCOUNT, CREDENTIAL_ACCOUNT
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import Operation

PUBLIC = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json", "request_method": "GET"}
NOT_FOUND = "Record not found"


def _profile(request, user_id):
    profile = shared_profile(request.tx, user_id) if user_id is not None else None
    # suspended, or waiting for approval: as on the native face
    if profile is None or user_id in suspended(request.tx) or not profile.get("approved", True):
        raise MastodonError(404, NOT_FOUND)
        raise MastodonError(404, NOT_FOUND)
    return profile


@view_config(
    route_name="mastodon_verify_credentials",
    openapi=Operation(
        "The caller's account, with `source` (scope read:accounts, or profile)", CREDENTIAL_ACCOUNT, "read:accounts"
    ),
    **PUBLIC,
)
def verify_credentials(request):
    identity = request.identity
    if identity is None or "profile" not in (identity.get("scopes") or ()):  # 4.3: `profile` is enough
        identity = require(request, "read:accounts")
    return entities.credential_account(request, _profile(request, identity["user_id"]))


def user_id_or_404(request, raw=None):
    """The path's account id (or `raw`'s), of an account that exists; else a 404."""
    raw = request.matchdict["id"] if raw is None else raw
    user_id = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_USER_ID else None
    _profile(request, user_id)
    return user_id


@view_config(route_name="mastodon_account", openapi=Operation("An account", ACCOUNT, errors={404}), **PUBLIC)
def account(request):
    return entities.account(request, _profile(request, user_id_or_404(request)))


@view_config(
    route_name="mastodon_account_lookup",
    openapi=Operation(
        "An account by its username",
        ACCOUNT,
        query={
            "acct": {
                "type": "string",
                "pattern": "^[^\\x00]*$",
                "description": "username, @username or username@this-domain",
            }
        },
        required=("acct",),
        errors={404},
    ),
    **PUBLIC,
)
def lookup(request):
    acct = param(request, "acct")
    if acct is None:
        raise MastodonError(422, "Validation failed: acct is required")
    acct = acct.strip().removeprefix("@")
    username, _, host = acct.partition("@")
    user_id = None
    if (not host or host.lower() == domain(request).lower()) and 0 < len(username) <= 64:
        user_id = request.queries.mastodon.user_id_by_username(request.db, username=username)
    return entities.account(request, _profile(request, user_id))


# What update_credentials changes: Mastodon's name -> (the profile's, its length, one line).
PROFILE_FIELDS = {
    "display_name": ("display_name", domain_accounts.MAX_DISPLAY_NAME, True),
    "note": ("bio", domain_accounts.MAX_BIO, False),
}


def _avatar(request):
    """The avatar file of a multipart body, or None; anything else named avatar is a 422."""
    if request.content_type == "application/json":
        found = request.json_body.get("avatar") if isinstance(request.json_body, dict) else None
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        found = request.POST.get("avatar")
    else:
        found = None
    if found is None or found == "":
        return None
    if not isinstance(found, MultipartPart):
        raise MastodonError(422, "Validation failed: avatar must be an image sent as multipart/form-data")
    return found.file


@view_config(
    route_name="mastodon_update_credentials",
    request_method="PATCH",
    permission=NO_PERMISSION_REQUIRED,
    renderer="json",
    openapi=Operation(
        "Change my display name, note (bio) or avatar: my account, with `source`",
        CREDENTIAL_ACCOUNT,
        "write:accounts",
        body={
            "display_name": {
                "type": "string",
                "maxLength": domain_accounts.MAX_DISPLAY_NAME,
                "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$",
                "description": f"Up to {domain_accounts.MAX_DISPLAY_NAME} characters, one line",
            },
            "note": {
                "type": "string",
                "maxLength": domain_accounts.MAX_BIO,
                "pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$",
                "description": f"The bio: up to {domain_accounts.MAX_BIO} characters",
            },
            "avatar": {"type": "string", "format": "binary", "description": "An image (multipart/form-data only)"},
        },
        forms=("multipart/form-data", "application/x-www-form-urlencoded"),
        errors={413},
        description="Mastodon's other fields (locked, bot, discoverable, fields_attributes, source[...]) are "
        "accepted and not kept. An avatar that is not an image is a 422; JSON takes the texts only.",
    ),
)
def update_credentials(request):
    """Mastodon's other fields (locked, bot, discoverable, fields_attributes, source[...]) are
    accepted and not kept: minitwitter has none of them (a header image, a file, is refused by
    the ingress: only avatar may be one)."""
    me = require(request, "write:accounts")["user_id"]
    changes = {}
    for name, (field, max_length, one_line) in PROFILE_FIELDS.items():
        value = param(request, name)
        if value is None:
            continue
        problem = domain_accounts.profile_text_problem(value, max_length, one_line)
        if problem:
            raise MastodonError(422, f"Validation failed: {name}: {problem}")
        changes[field] = value
    avatar = _avatar(request)
    try:
        domain_accounts.update_profile(
            request.tx, me, avatar=avatar, media_root=request.registry.settings["media.root"], **changes
        )
    except TooLarge as e:
        raise MastodonError(413, f"Validation failed: avatar: {e.message}") from None
    except Invalid as e:
        raise MastodonError(422, f"Validation failed: {e.field or 'avatar'}: {e.message}") from None
    # The profile as this transaction wrote it (the cached one goes stale at commit).
    return entities.credential_account(request, request.queries.users.get_user(request.db, user_id=me))
