"""What a client reads about the server before and after signing in:

    GET /api/v1/instance, /api/v2/instance          (with or without the trailing slash)
    GET /.well-known/host-meta                      XRD; browser clients ask it first
    GET /.well-known/nodeinfo, /nodeinfo/2.0        NodeInfo
    GET /.well-known/oauth-authorization-server     RFC 8414: endpoints, scopes, PKCE S256
    GET /avatars/original/missing.png               the image of an account without an avatar

Every URL is absolute, from the `public_url` setting. `version` starts with the Mastodon
version whose API this follows (clients compare it), then says what answers. The
configuration says the real limits: a post's characters (domain/posts.py), one image, its
types (store/media.py), bytes and pixels (domain/media.py). The counts (accounts, posts) are
exact when read and kept a minute per process (STATS_SECONDS): a client asks at every start.
"""

import base64
import threading
import time
from xml.sax.saxutils import quoteattr

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import media, oauth, posts
from minitwitter.mastodon.common import API_VERSIONS, MINITWITTER_VERSION, VERSION, base_url, domain
from minitwitter.mastodon.entities import ACCOUNT, MISSING_IMAGE_PATH
from minitwitter.mastodon.openapi import COUNT, URL, Operation, array, entity, nullable, obj
from minitwitter.store.media import FORMATS

PUBLIC = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json", "request_method": "GET"}
TITLE = "minitwitter"
DESCRIPTION = "A small Twitter-like network."
IMAGE_TYPES = sorted({content_type for content_type, _ext in FORMATS.values()})
MAX_MEDIA = 1  # a post has at most one image
STATS_SECONDS = 60


class Stats:
    """(accounts, posts), exact when read, kept STATS_SECONDS by each app (its registry)."""

    def __init__(self):
        self.lock, self.at, self.value = threading.Lock(), None, None

    def get(self, request):
        with self.lock:
            if self.at is None or time.monotonic() - self.at >= STATS_SECONDS:
                q = request.queries
                self.value = (q.mastodon.count_users(request.db), q.posts.count_live_posts(request.db))
                self.at = time.monotonic()
            return self.value


def _counts(request):
    return request.registry.mastodon_stats.get(request)


def includeme(config):
    config.registry.mastodon_stats = Stats()


def _statuses():
    return {"max_characters": posts.MAX_TEXT, "max_media_attachments": MAX_MEDIA, "characters_reserved_per_url": 23}


def _media():
    return {
        "supported_mime_types": IMAGE_TYPES,
        "image_size_limit": media.MAX_IMAGE_BYTES,
        "image_matrix_limit": media.MAX_IMAGE_PIXELS,
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
        "description_limit": 1500,
    }


# No polls: their limits are zero.
POLLS = {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0}
ACCOUNTS = {"max_featured_tags": 0, "max_pinned_statuses": 0}


def _registrations(request):
    """The setting `registrations`: open, approval or closed (domain/accounts.py: sign_up)."""
    return request.registry.settings["registrations"]


def _streaming(request):
    # No streaming API yet: clients that try it get a 404 and poll.
    return "ws" + base_url(request).removeprefix("http")


_ANY = {"type": "object"}
_TEXT = {"type": "string"}
_VERSION = {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+", "description": VERSION}
_CONFIGURATION = {
    "accounts": _ANY,
    "statuses": obj(
        {"max_characters": COUNT, "max_media_attachments": COUNT, "characters_reserved_per_url": COUNT}, extra=True
    ),
    "media_attachments": obj(
        {"supported_mime_types": array(_TEXT), "image_size_limit": COUNT, "image_matrix_limit": COUNT}, extra=True
    ),
    "polls": _ANY,
}
INSTANCE_V1 = entity(
    "InstanceV1",
    "The server (Mastodon's v1 Instance)",
    uri=_TEXT,
    title=_TEXT,
    short_description=_TEXT,
    description=_TEXT,
    email=_TEXT,
    version=_VERSION,
    urls=_ANY,
    stats=obj({"user_count": COUNT, "status_count": COUNT, "domain_count": COUNT}),
    thumbnail=URL,
    languages=array(_TEXT),
    registrations={"type": "boolean"},
    approval_required={"type": "boolean"},
    invites_enabled={"type": "boolean"},
    configuration=obj(_CONFIGURATION),
    contact_account=nullable(ACCOUNT),
    rules=array(_ANY),
)
INSTANCE = entity(
    "Instance",
    "The server (Mastodon's Instance): the real limits in `configuration`",
    domain=_TEXT,
    title=_TEXT,
    version=_VERSION,
    source_url=URL,
    description=_TEXT,
    usage=obj({"users": obj({"active_month": COUNT})}),
    thumbnail=obj({"url": URL}, extra=True),
    icon=array(_ANY),
    languages=array(_TEXT),
    configuration=obj(
        {
            **_CONFIGURATION,
            "urls": _ANY,
            "vapid": _ANY,
            "translation": _ANY,
        }
    ),
    registrations=_ANY,
    api_versions=obj({"mastodon": COUNT}, extra=True),
    contact=obj({"email": _TEXT, "account": nullable(ACCOUNT)}),
    rules=array(_ANY),
)
_LINKS = {"links": array(obj({"rel": _TEXT, "href": URL}))}


@view_config(
    route_name="mastodon_instance_v1", openapi=Operation("The server (v1; with or without /)", INSTANCE_V1), **PUBLIC
)
def instance_v1(request):
    users, statuses = _counts(request)
    base = base_url(request)
    return {
        "uri": domain(request),
        "title": TITLE,
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": VERSION,
        "urls": {"streaming_api": _streaming(request)},
        "stats": {"user_count": users, "status_count": statuses, "domain_count": 0},
        "thumbnail": base + MISSING_IMAGE_PATH,
        "languages": ["en"],
        "registrations": _registrations(request) != "closed",
        "approval_required": _registrations(request) == "approval",
        "invites_enabled": False,
        "configuration": {"accounts": ACCOUNTS, "statuses": _statuses(), "media_attachments": _media(), "polls": POLLS},
        "contact_account": None,
        "rules": [],
    }


@view_config(
    route_name="mastodon_instance_v2",
    openapi=Operation("The server, its limits and api_versions (with or without /)", INSTANCE),
    **PUBLIC,
)
def instance_v2(request):
    users, _statuses_count = _counts(request)
    base = base_url(request)
    return {
        "domain": domain(request),
        "title": TITLE,
        "version": VERSION,
        "source_url": "https://github.com/minitwitter/minitwitter",
        "description": DESCRIPTION,
        # Activity is not tracked: the accounts there are.
        "usage": {"users": {"active_month": users}},
        "thumbnail": {"url": base + MISSING_IMAGE_PATH},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": _streaming(request), "status": None, "about": None, "privacy_policy": None},
            "vapid": {"public_key": ""},
            "accounts": ACCOUNTS,
            "statuses": _statuses(),
            "media_attachments": _media(),
            "polls": POLLS,
            "translation": {"enabled": False},
        },
        "registrations": {
            "enabled": _registrations(request) != "closed",
            "approval_required": _registrations(request) == "approval",
            "message": None,
            "url": None,
        },
        "api_versions": API_VERSIONS,
        "contact": {"email": "", "account": None},
        "rules": [],
    }


# Discovery

HOST_META = """<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>
</XRD>
"""


@view_config(
    route_name="mastodon_host_meta",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation("XRD (browser clients ask it first)", _TEXT, media_type="application/xrd+xml"),
)
def host_meta(request):
    base = quoteattr(base_url(request))[1:-1]
    return Response(HOST_META.format(base=base), content_type="application/xrd+xml", charset="utf-8")


NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"


@view_config(route_name="mastodon_nodeinfo_links", openapi=Operation("Where NodeInfo is", obj(_LINKS)), **PUBLIC)
def nodeinfo_links(request):
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": f"{base_url(request)}/nodeinfo/2.0"}]}


@view_config(
    route_name="mastodon_nodeinfo",
    openapi=Operation(
        "NodeInfo 2.0 (no federation: protocols is empty)",
        obj(
            {
                "version": {"type": "string", "const": "2.0"},
                "software": obj({"name": _TEXT, "version": _TEXT}),
                "protocols": array(_TEXT),
                "services": _ANY,
                "usage": obj({"users": obj({"total": COUNT}), "localPosts": COUNT}),
                "openRegistrations": {"type": "boolean"},
                "metadata": _ANY,
            }
        ),
    ),
    **PUBLIC,
)
def nodeinfo(request):
    users, statuses = _counts(request)
    request.response.content_type = "application/json"
    return {
        "version": "2.0",
        "software": {"name": "minitwitter", "version": MINITWITTER_VERSION},
        "protocols": [],  # no federation
        "services": {"inbound": [], "outbound": []},
        "usage": {"users": {"total": users}, "localPosts": statuses},
        "openRegistrations": _registrations(request) == "open",
        "metadata": {"nodeName": TITLE},
    }


@view_config(
    route_name="mastodon_oauth_metadata",
    openapi=Operation(
        "RFC 8414: the OAuth endpoints, scopes, grant types, PKCE S256",
        obj(
            {
                **{
                    name: URL
                    for name in (
                        "issuer",
                        "service_documentation",
                        "authorization_endpoint",
                        "token_endpoint",
                        "revocation_endpoint",
                        "app_registration_endpoint",
                    )
                },
                **{
                    name: array(_TEXT)
                    for name in (
                        "scopes_supported",
                        "response_types_supported",
                        "response_modes_supported",
                        "grant_types_supported",
                        "token_endpoint_auth_methods_supported",
                        "code_challenge_methods_supported",
                    )
                },
            }
        ),
    ),
    **PUBLIC,
)
def oauth_metadata(request):
    """RFC 8414, as Mastodon 4.3 serves it."""
    base = base_url(request)
    return {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": list(oauth.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(oauth.GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }


MISSING_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@view_config(
    route_name="mastodon_missing_image",
    request_method="GET",
    permission=NO_PERMISSION_REQUIRED,
    openapi=Operation(
        "The image of an account without an avatar or header",
        {"type": "string", "format": "binary"},
        media_type="image/png",
    ),
)
def missing_image(request):
    response = Response(MISSING_PNG, content_type="image/png")
    response.cache_control = "public, max-age=86400"
    return response
