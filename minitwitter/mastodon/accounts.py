"""Accounts (docs.joinmastodon.org/methods/accounts), this step's subset:

GET /api/v1/accounts/verify_credentials   the caller (CredentialAccount): read:accounts or profile
GET /api/v1/accounts/lookup?acct=         by username (or username@this-domain); public
GET /api/v1/accounts/:id                  public
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

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
    if profile is None or user_id in suspended(request.tx):  # as on the native face
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


def user_id_or_404(request):
    """The path's account id, of an account that exists; else a 404."""
    raw = request.matchdict["id"]
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
