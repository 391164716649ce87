"""Mastodon's entities (docs.joinmastodon.org/entities) from minitwitter's rows: ids as
strings, times in ISO 8601 (UTC, milliseconds, `Z`), url and uri absolute from public_url,
text as escaped HTML."""

import datetime
import html
import re
from urllib.parse import quote

from minitwitter.domain import hashtags, mentions
from minitwitter.mastodon.common import base_url
from minitwitter.mastodon.openapi import BOOL, COUNT, ID, STRING, TIME, URL, array, entity, nullable, obj, ref

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


# The entities' schemas (mastodon/openapi.py: components/schemas "Mastodon.<name>"), beside
# the functions that build them.
_EMOJI = obj({"shortcode": STRING, "url": URL, "static_url": URL, "visible_in_picker": BOOL}, extra=True)
_FIELD = obj({"name": STRING, "value": STRING, "verified_at": nullable(TIME)})
_ACCOUNT = {
    "id": ID,
    "username": STRING,
    "acct": {**STRING, "description": "username (a local account: no @domain)"},
    "display_name": STRING,
    "locked": BOOL,
    "bot": BOOL,
    "discoverable": nullable(BOOL),
    "indexable": BOOL,
    "group": BOOL,
    "created_at": TIME,
    "note": {**STRING, "description": "The bio as escaped HTML"},
    "url": URL,
    "uri": URL,
    "avatar": URL,
    "avatar_static": URL,
    "header": URL,
    "header_static": URL,
    "followers_count": COUNT,
    "following_count": COUNT,
    "statuses_count": COUNT,
    "last_status_at": nullable(STRING),
    "hide_collections": nullable(BOOL),
    "noindex": nullable(BOOL),
    "emojis": array(_EMOJI),
    "roles": array(obj({"id": STRING, "name": STRING, "color": STRING}, extra=True)),
    "fields": array(_FIELD),
}
ACCOUNT = entity("Account", "An account (docs.joinmastodon.org/entities/Account)", **_ACCOUNT)
CREDENTIAL_ACCOUNT = entity(
    "CredentialAccount",
    "The caller's own Account, with `source` (what a profile editor shows) and `role`",
    **_ACCOUNT,
    source=obj(
        {
            "privacy": {"type": "string", "enum": ["public", "unlisted", "private", "direct"]},
            "sensitive": BOOL,
            "language": STRING,
            "note": {**STRING, "description": "The bio as plain text"},
            "fields": array(_FIELD),
            "follow_requests_count": COUNT,
        }
    ),
    role=obj({"id": STRING, "name": STRING, "permissions": STRING, "color": STRING, "highlighted": BOOL}),
)
MENTION = obj({"id": ID, "username": STRING, "acct": STRING, "url": URL})
TAG = obj({"name": STRING, "url": URL}, extra=True)
HASHTAG = entity(
    "Tag",
    "A hashtag (docs.joinmastodon.org/entities/Tag); `following`: one of my followed (favourite) tags, with a token",
    optional=("following",),
    name=STRING,
    url=URL,
    history=array(obj({}, extra=True), maxItems=0),
    following=BOOL,
)
MEDIA_ATTACHMENT = entity(
    "MediaAttachment",
    "An image (docs.joinmastodon.org/entities/MediaAttachment): `preview_url` the thumbnail once a worker "
    "made it, the image until then",
    id=ID,
    type={"type": "string", "enum": ["image"]},
    url=URL,
    preview_url=URL,
    remote_url={"type": "null"},
    preview_remote_url={"type": "null"},
    text_url={"type": "null"},
    meta=obj({}, extra=True),
    description=nullable(STRING),
    blurhash={"type": "null"},
)
STATUS = entity(
    "Status",
    "A status, or a reblog (its own id, the reposter's account, `reblog` the original). `text`, the "
    "plain source, only in the answer to its DELETE (for delete and redraft)",
    optional=("text",),
    id=ID,
    uri=URL,
    url=nullable(URL),
    created_at=TIME,
    edited_at=nullable(TIME),
    account=ACCOUNT,
    content={**STRING, "description": "Escaped HTML: paragraphs, <br>, links for its hashtags and mentions"},
    visibility={"type": "string", "enum": ["public", "unlisted", "private", "direct"]},
    sensitive=BOOL,
    spoiler_text=STRING,
    media_attachments=array(obj({"id": ID, "type": STRING, "url": nullable(URL)}, extra=True)),
    application=nullable(obj({"name": STRING, "website": nullable(STRING)}, extra=True)),
    mentions=array(MENTION),
    tags=array(TAG),
    emojis=array(_EMOJI),
    reblogs_count=COUNT,
    favourites_count=COUNT,
    replies_count=COUNT,
    in_reply_to_id=nullable(ID),
    in_reply_to_account_id=nullable(ID),
    reblog=nullable(ref("Status")),
    poll=nullable({"type": "object"}),
    card=nullable({"type": "object"}),
    language=nullable(STRING),
    favourited=BOOL,
    reblogged=BOOL,
    bookmarked=BOOL,
    muted=BOOL,
    pinned=BOOL,
    filtered=array({"type": "object"}),
    text=STRING,
)


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


# A post's text as Mastodon's HTML: a #tag the post holds and an @username it mentions
# become links (domain/hashtags.py's and domain/mentions.py's patterns, so exactly what the
# post was tagged with and mentions), everything else escaped.
_LINKABLE = re.compile(f"(?P<tag>{hashtags.TAG.pattern})|(?P<mention>{mentions.MENTION.pattern})")


def _linked(base, text, tags, named):
    out, at = [], 0
    for match in _LINKABLE.finditer(text):
        word = match.group(0)
        link = None
        if match.group("tag") is not None:
            name = hashtags.normalize(word)
            if name in tags:
                link = (
                    f'<a href="{base}/tags/{quote(name)}" class="mention hashtag" rel="tag">'
                    f"#<span>{html.escape(word[1:])}</span></a>"
                )
        else:
            username = named.get(word[1:].lower())
            if username is not None:
                link = (
                    f'<span class="h-card" translate="no"><a href="{base}/@{username}" class="u-url mention">'
                    f"@<span>{username}</span></a></span>"
                )
        if link is not None:
            out.append(html.escape(text[at : match.start()]) + link)
            at = match.end()
    out.append(html.escape(text[at:]))
    return "".join(out)


def status_html(base, post):
    """The content of a Status: paragraphs, line breaks, links for its tags and mentions."""
    tags = set(post["hashtags"])
    named = {m["username"].lower(): m["username"] for m in post["mentions"]}
    paragraphs = [p for p in post["text"].replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{_linked(base, p, tags, named).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def status_url(base, username, status_id):
    return f"{base}/@{username}/{status_id}"


def tag(request, name, following=None):
    """The Tag entity of a tag's name (stored normalized); `following` (my favourite tags)
    when known. No daily history is kept: `history` is empty."""
    answer = {"name": name, "url": f"{base_url(request)}/tags/{quote(name)}", "history": []}
    if following is not None:
        answer["following"] = following
    return answer


# A thumbnail fits in this square (store/media.make_thumbnail's size).
THUMBNAIL_SIZE = 320


def _dimensions(width, height):
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def _thumbnail_dimensions(width, height, size=THUMBNAIL_SIZE):
    """What make_thumbnail makes of an image this size: within size x size, its aspect kept."""
    scale = min(size / width, size / height, 1)
    return _dimensions(max(round(width * scale), 1), max(round(height * scale), 1))


def media_attachment(request, image):
    """The MediaAttachment entity of an image (a post's, domain/shared_posts.py's `image`, or
    a pending upload's images row): its preview is the thumbnail once a worker has made it,
    the image itself until then."""
    base = base_url(request)
    url = f"{base}/media/{image['path']}"
    thumbnail = image.get("thumbnail_path")
    meta = {"original": _dimensions(image["width"], image["height"])}
    if thumbnail:
        meta["small"] = _thumbnail_dimensions(image["width"], image["height"])
    return {
        "id": str(image["id"]),
        "type": "image",
        "url": url,
        "preview_url": f"{base}/media/{thumbnail}" if thumbnail else url,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": image.get("description"),
        "blurhash": None,
    }


def _attachments(request, post):
    """A post's image as its one attachment. An entry cached by a version before images had
    ids here lacks one: no attachment for that entry's few minutes (store/cache.py's TTL),
    rather than a 500."""
    image = post.get("image")
    return [media_attachment(request, image)] if image and "id" in image else []


def status(request, post, mine, author):
    """The Status entity of a post (domain/shared_posts.py: its shared fields), as the viewer
    sees it (`mine`: liked, reposted, bookmarked), by `author` (its shared profile)."""
    base = base_url(request)
    username = author["username"]
    replied_to = post["in_reply_to"]
    return {
        "id": str(post["id"]),
        "uri": f"{base}/users/{username}/statuses/{post['id']}",
        "url": status_url(base, username, post["id"]),
        "created_at": timestamp(post["created_at"]),
        "edited_at": timestamp(post["updated_at"]) if post["updated_at"] else None,
        "account": account(request, author),
        "content": status_html(base, post),
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": _attachments(request, post),
        "application": None,
        "mentions": [
            {"id": str(m["id"]), "username": m["username"], "acct": m["username"], "url": f"{base}/@{m['username']}"}
            for m in post["mentions"]
        ],
        "tags": [{"name": name, "url": f"{base}/tags/{quote(name)}"} for name in post["hashtags"]],
        "emojis": [],
        "reblogs_count": post["reposts_count"],
        "favourites_count": post["likes_count"],
        "replies_count": post["replies_count"],
        "in_reply_to_id": str(replied_to) if replied_to is not None else None,
        "in_reply_to_account_id": (
            str(post["in_reply_to_author_id"]) if replied_to is not None and post.get("in_reply_to_author_id") else None
        ),
        "reblog": None,
        "poll": None,
        "card": None,
        "language": None,
        "favourited": bool(mine["liked"]),
        "reblogged": bool(mine["reposted"]),
        "bookmarked": bool(mine["bookmarked"]),
        "muted": False,
        "pinned": False,
        "filtered": [],
    }


def reblog(request, repost, original, reposter):
    """The Status a reblog is (Mastodon's wrapper): its own id (the repost's: posts and
    reposts share one sequence), the reposter's account, and `reblog`, the original Status."""
    base = base_url(request)
    return {
        **original,
        "id": str(repost["id"]),
        "uri": f"{base}/users/{reposter['username']}/statuses/{repost['id']}/activity",
        "url": original["url"],
        "created_at": timestamp(repost["created_at"]),
        "edited_at": None,
        "account": account(request, reposter),
        "content": "",
        "mentions": [],
        "tags": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog": original,
    }
