"""Input schemas (colander), shared by the views. Unknown fields are ignored, so a
client cannot set author_id, likes_count or id through a body."""

import re
import unicodedata

import colander

from minitwitter.domain import hashtags, posts
from minitwitter.domain.accounts import MAX_BIO, MAX_DISPLAY_NAME
from minitwitter.domain.credentials import BCRYPT_MAX_BYTES
from minitwitter.web.fields import SPACES, TEXT_CONTROLS, Integer, NullableInteger, Text, trimmed_pattern
from minitwitter.web.pagination import PageQuery

USERNAME_PATTERN = r"^[A-Za-z0-9_]{3,30}$"
# SPACES, trimmed_pattern, TEXT_CONTROLS: web/fields.py (the Mastodon face's patterns use them too).
# Control characters: C0, DEL and C1.
CONTROLS = r"\x00-\x1f\x7f-\x9f"
# Simpler than RFC 5322 on purpose: one @, a dotted domain, no spaces or controls.
EMAIL_PATTERN = rf"^[^@{SPACES}{CONTROLS}]{{1,64}}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,63}}$"


class FullMatch(colander.Regex):
    """colander.Regex matches with re.match, where `$` also matches before a final
    newline ("ana\n" passed, then failed the database's CHECK); this one must match whole."""

    def __call__(self, node, value):
        if self.match_object.fullmatch(value) is None:
            raise colander.Invalid(node, self.msg)


# bcrypt counts bytes and JSON Schema characters, so the document states what every valid
# password is, and the description the rest: 8 to 72 bytes of UTF-8 are at most 72
# characters, and at least 8, or fewer (down to 2) with a character outside ASCII.
PASSWORD_SCHEMA = {
    "minLength": 2,
    "maxLength": BCRYPT_MAX_BYTES,
    "anyOf": [{"minLength": 8}, {"pattern": r"[^\x00-\x7f]"}],
    "description": f"8 to {BCRYPT_MAX_BYTES} bytes of UTF-8 (8 to {BCRYPT_MAX_BYTES} ASCII characters)",
}


def password_validator(node, value):
    size = len(value.encode())
    if size < 8:
        raise colander.Invalid(node, "Must be at least 8 bytes")
    if size > BCRYPT_MAX_BYTES:
        raise colander.Invalid(node, f"Must be at most {BCRYPT_MAX_BYTES} bytes (bcrypt's limit)")


def text(nfc=True, **kw):
    return colander.SchemaNode(Text(nfc=nfc), **kw)


class SignupBody(colander.MappingSchema):
    email = text(validator=colander.All(colander.Length(max=254), FullMatch(EMAIL_PATTERN, "Invalid email address")))
    username = text(validator=FullMatch(USERNAME_PATTERN, "3 to 30 letters, digits or _"))
    password = text(nfc=False, validator=password_validator, json_schema=PASSWORD_SCHEMA)


class LoginBody(colander.MappingSchema):
    # The sign-up pattern: a NUL byte here once reached PostgreSQL (which refuses it) as a 500.
    username = text(validator=FullMatch(USERNAME_PATTERN, "3 to 30 letters, digits or _"))
    password = text(nfc=False, validator=colander.Length(min=1, max=1024))


class RefreshBody(colander.MappingSchema):
    refresh = text(validator=colander.Length(min=1, max=4096))


MAX_POST_LENGTH = posts.MAX_TEXT


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def post_text_validator(node, value):
    problem = posts.text_problem(value)
    if problem:
        raise colander.Invalid(node, problem)


def post_text():
    schema = {"pattern": trimmed_pattern(MAX_POST_LENGTH, TEXT_CONTROLS), "description": "1 to 280 characters"}
    return text(preparer=_strip, validator=post_text_validator, json_schema=schema)


def object_id(**kw):
    return colander.SchemaNode(Integer(), validator=colander.Range(1, 2**63 - 1), **kw)


class PostBody(colander.MappingSchema):
    text = post_text()


class CreatePostBody(PostBody):
    in_reply_to = colander.SchemaNode(
        NullableInteger(),
        validator=colander.Range(1, 2**63 - 1),
        missing=None,
        json_schema={"type": ["integer", "null"]},
        description="The id of the live post this one replies to; absent or null for none",
    )


class CompatEditBody(colander.MappingSchema):
    id_post = object_id()
    text = post_text()


class CompatDeleteBody(colander.MappingSchema):
    id_post = object_id()


class ReadNotificationsBody(colander.MappingSchema):
    up_to = object_id(
        description="A notification id: it and every older one of mine are read (an id not mine is a bound)"
    )


class IdPath(colander.MappingSchema):
    id = object_id()


class IdPathSchema(colander.MappingSchema):
    path = IdPath()


class PostEditSchema(colander.MappingSchema):
    path = IdPath()
    body = PostBody()


class IdPageSchema(colander.MappingSchema):
    path = IdPath()
    querystring = PageQuery()


def tag_validator(node, value):
    if hashtags.normalize(value) is None:
        raise colander.Invalid(node, "A tag is letters, digits or _ (not digits alone), up to 100 characters")


# What a tag is (Unicode letters, digits or _, not digits alone) needs Unicode classes,
# which a pattern cannot spell the same for Python and ECMA-262 (whose \w and \d are ASCII).
# The schema states what every tag is (ASCII word characters or anything beyond ASCII, not
# ASCII digits alone), the description the rest.
TAG_SCHEMA = {
    "minLength": 1,
    "maxLength": hashtags.MAX_LENGTH + 1,
    "pattern": r"^#?[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]+$",
    "not": {"pattern": r"^#?[0-9]+$"},
    "examples": ["lisboa", "#Café", "東京"],
    "description": f"A hashtag, # optional: letters, digits or _ of any script, not digits alone, "
    f"up to {hashtags.MAX_LENGTH} characters",
}


class TagPath(colander.MappingSchema):
    tag = text(validator=tag_validator, json_schema=TAG_SCHEMA)


class TagSchema(colander.MappingSchema):
    path = TagPath()


class TagPageSchema(colander.MappingSchema):
    path = TagPath()
    querystring = PageQuery()


# The account lifecycle (views/users.py, views/auth.py).
# Their lengths are the domain's (domain/accounts.py, which the Mastodon face checks with).
# A display name is one line: no control character, and neither of the two line breaks that
# are not one (U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR). With CONTROLS that is every
# separator str.splitlines() knows (\n \r \x0b \x0c \x1c-\x1e \x85 \u2028 \u2029).
LINE_BREAKS = r"\u2028\u2029"  # domain/accounts.LINE_BREAKS
NAME_CONTROLS = CONTROLS + LINE_BREAKS
BIO_CONTROLS = TEXT_CONTROLS  # a bio may hold newlines and tabs


def profile_text(max_length, controls, one_line=False):
    """An optional profile field: 0 to max_length characters, none of `controls`. Kept as given
    (not trimmed, so that what the document's maxLength says is what is checked)."""
    refused = "control characters or line breaks" if one_line else "control characters"
    description = f"0 to {max_length} characters" + (", one line" if one_line else "")

    def validator(node, value):
        if len(value) > max_length:
            raise colander.Invalid(node, f"Must be at most {max_length} characters")
        if re.search(f"[{controls}]", value) or any(unicodedata.category(c) == "Cs" for c in value):
            raise colander.Invalid(node, f"Must not contain {refused}")

    schema = {"maxLength": max_length, "pattern": f"^[^{controls}]*$", "description": description}
    # allow_empty: "" clears the field (colander takes "" for no value otherwise).
    return colander.SchemaNode(Text(allow_empty=True), validator=validator, json_schema=schema, missing=colander.drop)


class ProfileBody(colander.MappingSchema):
    display_name = profile_text(MAX_DISPLAY_NAME, NAME_CONTROLS, one_line=True)
    bio = profile_text(MAX_BIO, BIO_CONTROLS)


def new_password(**kw):
    return text(nfc=False, validator=password_validator, json_schema=PASSWORD_SCHEMA, **kw)


def given_password(**kw):
    """A password to check (never stored): anything up to 1,024 characters, as at log-in."""
    return text(nfc=False, validator=colander.Length(min=1, max=1024), **kw)


class PasswordChangeBody(colander.MappingSchema):
    current_password = given_password()
    new_password = new_password()


class PasswordBody(colander.MappingSchema):
    password = given_password()


# What issue_token makes: secrets.token_urlsafe(32), 43 URL-safe characters.
TOKEN_SCHEMA = {"pattern": "^[A-Za-z0-9_-]+$", "description": "The `token` of the emailed link"}


def emailed_token(**kw):
    # allow_empty: an empty token is a bad token (400), not a token left out.
    return colander.SchemaNode(
        Text(allow_empty=True), validator=colander.Length(min=1, max=100), json_schema=TOKEN_SCHEMA, **kw
    )


class VerifyEmailBody(colander.MappingSchema):
    token = emailed_token(missing=colander.drop, description="Without it: send a new verification email (202)")


class PasswordResetBody(colander.MappingSchema):
    email = text(validator=colander.All(colander.Length(max=254), FullMatch(EMAIL_PATTERN, "Invalid email address")))


class PasswordResetConfirmBody(colander.MappingSchema):
    token = emailed_token()
    new_password = new_password()


# Moderation (api/views/admin.py)


class RoleBody(colander.MappingSchema):
    role = text(validator=colander.OneOf(["user", "moderator", "admin"]))


class RoleSchema(colander.MappingSchema):
    path = IdPath()
    body = RoleBody()


MAX_REASON_LENGTH = 1000


def reason_validator(node, value):
    if not 1 <= len(value) <= MAX_REASON_LENGTH:
        raise colander.Invalid(node, f"Must be 1 to {MAX_REASON_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in posts.ALLOWED_CONTROLS for c in value):
        raise colander.Invalid(node, "Must not contain NUL or other control characters")


def reason_text(**kw):
    schema = {"pattern": trimmed_pattern(MAX_REASON_LENGTH, TEXT_CONTROLS), "description": "1 to 1,000 characters"}
    return text(preparer=_strip, validator=reason_validator, json_schema=schema, **kw)


class ReasonBody(colander.MappingSchema):
    reason = reason_text()


class OptionalReasonBody(colander.MappingSchema):
    reason = reason_text(missing="")


class SuspendSchema(colander.MappingSchema):
    path = IdPath()
    body = ReasonBody()


class UnsuspendSchema(colander.MappingSchema):
    path = IdPath()
    body = OptionalReasonBody()


class RemovePostSchema(SuspendSchema):
    """DELETE /api/admin/posts/{id}/: the reason, told to the author."""


# Reports (api/views/reports.py, admin.py)

MAX_REPORTED_POSTS = 100


def optional_text(max_length, description):
    """0 to max_length characters (line breaks and tabs allowed, no other control character)."""

    def validate(node, value):
        if len(value) > max_length:
            raise colander.Invalid(node, f"Must be at most {max_length} characters")
        if any(unicodedata.category(c) in ("Cc", "Cs") and c not in posts.ALLOWED_CONTROLS for c in value):
            raise colander.Invalid(node, "Must not contain NUL or other control characters")

    schema = {"maxLength": max_length, "pattern": rf"^[^{TEXT_CONTROLS}]*$", "description": description}
    return colander.SchemaNode(
        Text(allow_empty=True), preparer=_strip, validator=validate, missing="", json_schema=schema
    )


class PostIds(colander.SequenceSchema):
    post_id = object_id()


class ReportBody(colander.MappingSchema):
    account_id = object_id(description="The account reported")
    post_ids = PostIds(
        missing=[],
        validator=colander.Length(max=MAX_REPORTED_POSTS),
        description="Live posts of that account (up to 100)",
    )
    category = text(validator=colander.OneOf(["spam", "abuse", "illegal", "other"]), missing="other")
    comment = optional_text(1000, "0 to 1,000 characters")


class ReportsQuery(PageQuery):
    status = text(validator=colander.OneOf(["open", "resolved"]), missing="open")


class ReportsSchema(colander.MappingSchema):
    querystring = ReportsQuery()


class ResolveBody(colander.MappingSchema):
    action = text(validator=colander.OneOf(["none", "remove_posts", "suspend"]))
    note = optional_text(1000, "0 to 1,000 characters")


class ResolveSchema(colander.MappingSchema):
    path = IdPath()
    body = ResolveBody()


# Accounts as moderators list them (api/views/admin.py)


class AccountsQuery(PageQuery):
    status = text(
        validator=colander.OneOf(["pending", "suspended", "active"]),
        missing=None,
        description="pending: waiting for approval; suspended; active: approved and not suspended; none: all",
    )
    q = optional_text(30, "A username prefix, any case; empty: every account")


class AccountsSchema(colander.MappingSchema):
    querystring = AccountsQuery()
