"""Mastodon's entities (docs.joinmastodon.org/entities) from minitwitter's rows: ids as
strings, times in ISO 8601 (UTC, milliseconds, `Z`), url and uri absolute from public_url,
text as escaped HTML."""

import datetime
import html

from minitwitter.mastodon.common import base_url

# Mastodon answers a URL for an account without an avatar or header: this image (a 1x1 PNG,
# served by instance.py), so clients always have one to show.
MISSING_IMAGE_PATH = "/avatars/original/missing.png"


def timestamp(value):
    """A datetime or an ISO 8601 string -> Mastodon's form: 2024-01-31T09:08:07.123Z."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def html_text(text):
    """Plain text as Mastodon's HTML: escaped, paragraphs and line breaks."""
    if not text:
        return ""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def account(request, profile):
    """The Account entity of a profile (domain/profiles.py: shared_profile's fields)."""
    base = base_url(request)
    username = profile["username"]
    avatar = f"{base}/media/{profile['avatar_path']}" if profile.get("avatar_path") else base + MISSING_IMAGE_PATH
    return {
        "id": str(profile["id"]),
        "username": username,
        "acct": username,  # a local account: no @domain
        "display_name": profile.get("display_name") or "",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": timestamp(profile["created_at"]),
        "note": html_text(profile.get("bio")),
        "url": f"{base}/@{username}",
        "uri": f"{base}/users/{username}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": base + MISSING_IMAGE_PATH,
        "header_static": base + MISSING_IMAGE_PATH,
        "followers_count": profile["followers_count"],
        "following_count": profile["following_count"],
        "statuses_count": profile["posts_count"],
        "last_status_at": None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }


def credential_account(request, profile):
    """The CredentialAccount entity: the Account, with `source` (what a profile editor shows)."""
    return {
        **account(request, profile),
        "source": {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": profile.get("bio") or "",
            "fields": [],
            "follow_requests_count": 0,
        },
        "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False},
    }
