"""The JSON the API answers, as JSON Schema: one source for the renderer and the document.

Each Shape is an object whose every field is required and no other is allowed. The
renderer builds objects with `Shape.pick(values)`, which takes exactly the shape's
fields (a missing one is a KeyError), and the OpenAPI document lists every shape under
`components/schemas` (openapi.py). tests/conftest.py validates every response the test
suite sees against the served document, so a field added, renamed or typed differently
in one place and not the other fails the tests.
"""

from minitwitter.store import media

SHAPES = {}  # name -> Shape, in definition order

ID = {"type": "integer", "minimum": 1}
COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
URL = {"type": "string", "format": "uri"}
BOOL = {"type": "boolean"}
ROLE = {"type": "string", "enum": ["user", "moderator", "admin"]}
# What media.store_image keeps (it decodes the file to tell).
IMAGE_TYPES = sorted({content_type for content_type, _ext in media.FORMATS.values()})


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def array(items):
    return {"type": "array", "items": items}


class Shape:
    def __init__(self, name, description, /, **properties):  # fields may be called name too
        self.name = name
        self.fields = tuple(properties)
        self.schema = {
            "type": "object",
            "description": description,
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
        SHAPES[name] = self

    @property
    def ref(self):
        return ref(self.name)

    def pick(self, values):
        """The shape's fields of `values` (a dict or a row), in the shape's order."""
        return {field: values[field] for field in self.fields}


AUTHOR = Shape("Author", "A user a post names: its author, a mention, who reposted it", id=ID, username=TEXT)
IMAGE = Shape(
    "Image",
    "A post's image, re-encoded by the server; the thumbnail is null until a worker has made it",
    url=URL,
    thumbnail_url=nullable(URL),
    width={"type": "integer", "minimum": 1},
    height={"type": "integer", "minimum": 1},
    content_type={"type": "string", "enum": IMAGE_TYPES},
)
POST = Shape(
    "Post",
    "A live post",
    id=ID,
    author=AUTHOR.ref,
    text=TEXT,
    hashtags={**array(TEXT), "description": "The post's tags, folded (lower case), in order of first use"},
    image=nullable(IMAGE.ref),
    likes_count=COUNT,
    liked_by_me=BOOL,
    in_reply_to={**nullable(ID), "description": "The post this one replies to (it may since have been deleted)"},
    mentions={
        **array(AUTHOR.ref),
        "description": "The existing users the text names as @username (any case), in order of first appearance",
    },
    replies_count={**COUNT, "description": "Live direct replies"},
    reposts_count=COUNT,
    reposted_by_me=BOOL,
    bookmarked_by_me=BOOL,
    reposted_by={
        **nullable(AUTHOR.ref),
        "description": "In the home feed, the account I follow that reposted this post; null elsewhere",
    },
    created_at=TIME,
    updated_at=nullable(TIME),
)
AVATAR = Shape(
    "Avatar",
    "A profile's picture, re-encoded by the server",
    url=URL,
    width={"type": "integer", "minimum": 1},
    height={"type": "integer", "minimum": 1},
)
_PROFILE = {
    "id": ID,
    "username": TEXT,
    "display_name": {"type": "string", "maxLength": 50, "description": "Empty when not set"},
    "bio": {"type": "string", "maxLength": 300, "description": "Empty when not set"},
    "avatar": nullable(AVATAR.ref),
    "created_at": TIME,
    "followers_count": COUNT,
    "following_count": COUNT,
    "posts_count": COUNT,
}
PROFILE = Shape("Profile", "A user's public profile", **_PROFILE, followed_by_me=BOOL)
ME = Shape(
    "Me",
    "The caller's own profile, with email (followed_by_me is always false)",
    **_PROFILE,
    email=TEXT,
    email_verified={**BOOL, "description": "Whether the link of a verification email was followed"},
    followed_by_me=BOOL,
    role={**ROLE, "description": "user (everyone at sign-up), moderator or admin"},
    approved={**BOOL, "description": "False while a sign-up waits for a moderator's approval (it cannot log in)"},
)
TOKENS = Shape(
    "Tokens",
    "A token pair: send `access` as `Authorization: Bearer <access>`; trade `refresh` for a new pair",
    access=TEXT,
    refresh=TEXT,
    token_type={"type": "string", "enum": ["Bearer"]},
    expires_in={"type": "integer", "minimum": 1, "description": "Seconds the access token lives"},
)
_STATE = {"type": "string", "enum": ["ok", "down"]}
HEALTH = Shape(
    "Health",
    "The state of each service the API uses; 503 only when the database is down",
    status={"type": "string", "enum": ["ok", "degraded"]},
    database=_STATE,
    cache=_STATE,
    broker=_STATE,
)
NOTIFICATION_TYPES = ["follow", "like", "mention", "reply", "repost", "moderation", "sign_up"]
NOTIFICATION = Shape(
    "Notification",
    "Something another account did that concerns me",
    id=ID,
    type={
        "type": "string",
        "enum": NOTIFICATION_TYPES,
        "description": "follow: followed me; like, repost: of my post; mention: named me in the post; "
        "reply: the post, in reply to mine; moderation: a moderator (the actor) removed my post, for `reason`; "
        "sign_up (moderators): the actor signed up and waits for approval",
    },
    actor=PROFILE.ref,
    post={**nullable(POST.ref), "description": "The post it is about; null for a follow, and for a post removed"},
    reason={**nullable(TEXT), "description": "moderation: the moderator's reason; null for the other types"},
    created_at=TIME,
    read={**BOOL, "description": "At or below the id last marked read (POST /api/notifications/read/)"},
)
UNREAD_COUNT = Shape("UnreadCount", "How many of my notifications are unread", count=COUNT)
TAG_COUNT = Shape("TagCount", "A hashtag and the number of live posts that use it", name=TEXT, count=COUNT)
FAVORITE = Shape("Favorite", "Whether a hashtag is now one of my favourites", name=TEXT, favorite=BOOL)
DELETED = Shape("Deleted", "The older clients' answer to a delete", success={"type": "boolean", "const": True})
ERROR_DETAIL = Shape(
    "ErrorDetail",
    "What was wrong with one input",
    location={"type": "string", "description": "body, querystring, path or header"},
    name={"type": "string", "description": "The field, parameter or header"},
    description=TEXT,
)
ERROR = Shape(
    "Error",
    "Every error",
    code={"type": "integer", "minimum": 400, "maximum": 599},
    error={"type": "string", "description": "The status's reason phrase"},
    message=TEXT,
    details=array(ERROR_DETAIL.ref),
)


def page(item):
    return Shape(
        f"{item.name}Page",
        f"A page of {item.name} objects. count is the exact total where one is kept: all posts, "
        "a user's posts, a tag's posts, followers, following, likers, my favourite tags, a post's "
        "replies. It is null on the feed (a per-reader total would be a row every followee's post "
        "updates), search (counting every match reads them all), my favourite tags' posts (a post "
        "under several tags counts once: a count needs them all), my bookmarks and my notifications "
        "(their unread count is GET /api/notifications/unread_count/). page is null on cursor pages; next "
        "and previous are links to follow as they are; previous is null on cursor pages (a keyset "
        "cursor walks forward: keep the cursors you followed; page 1 is the link without one).",
        count=nullable(COUNT),
        page=nullable({"type": "integer", "minimum": 1}),
        page_size={"type": "integer", "minimum": 1},
        next=nullable(URL),
        previous=nullable(URL),
        results=array(item.ref),
    )


ACCOUNT = Shape(
    "Account",
    "A profile as moderators see it: with its role, whether it is suspended or approved, and its email",
    **_PROFILE,
    followed_by_me=BOOL,
    role=ROLE,
    suspended={**BOOL, "description": "Suspended: hidden from every list, and 404 to everyone but moderators"},
    approved={**BOOL, "description": "False while a sign-up waits for approval: it cannot log in, 404 to users"},
    email=TEXT,
)
_REPORT = {
    "id": ID,
    "account": {**PROFILE.ref, "description": "The account reported"},
    "posts": {**array(POST.ref), "description": "Its posts reported, those still live"},
    "category": {"type": "string", "enum": ["spam", "abuse", "illegal", "other"]},
    "comment": {**TEXT, "description": "The reporter's words, 0 to 1,000 characters"},
    "status": {"type": "string", "enum": ["open", "resolved"]},
    "action_taken": {"type": ["string", "null"], "enum": ["none", "remove_posts", "suspend", None]},
    "created_at": TIME,
    "resolved_at": nullable(TIME),
}
REPORT = Shape("Report", "A report I made: the reported account never learns who reported it", **_REPORT)
MODERATED_REPORT = Shape(
    "ModeratedReport",
    "A report as moderators see it: with its reporter and the moderator's note",
    **_REPORT,
    reporter=PROFILE.ref,
    note={**TEXT, "description": "The resolving moderator's note"},
)
AUDIT_ENTRY = Shape(
    "AuditEntry",
    "A moderation action, on record for good: nothing changes or deletes an entry",
    id=ID,
    actor={
        **nullable(PROFILE.ref),
        "description": "Who acted; null for the server (minitwitter-admin) or an account since deleted",
    },
    action={
        "type": "string",
        "enum": ["suspend", "unsuspend", "remove_post", "resolve_report", "grant_role", "approve", "reject"],
    },
    account={**nullable(ID), "description": "The account acted on"},
    post={**nullable(ID), "description": "The post acted on (it may since have been deleted)"},
    reason={**TEXT, "description": "The moderator's reason; for grant_role, the roles before and after"},
    created_at=TIME,
)


POST_PAGE = page(POST)
PROFILE_PAGE = page(PROFILE)
TAG_COUNT_PAGE = page(TAG_COUNT)
NOTIFICATION_PAGE = page(NOTIFICATION)
AUDIT_PAGE = page(AUDIT_ENTRY)
REPORT_PAGE = page(REPORT)
MODERATED_REPORT_PAGE = page(MODERATED_REPORT)
ACCOUNT_PAGE = page(ACCOUNT)
