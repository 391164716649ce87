"""Input schemas (colander), shared by the views. Unknown fields are ignored, so a
client cannot set author_id, likes_count or id through a body."""

import unicodedata

import colander

from minitwitter import hashtags
from minitwitter.pagination import PageQuery
from minitwitter.security import BCRYPT_MAX_BYTES

USERNAME_PATTERN = r"^[A-Za-z0-9_]{3,30}$"


def password_validator(node, value):
    size = len(value.encode())
    if size < 8:
        raise colander.Invalid(node, "Must be at least 8 bytes")
    if size > BCRYPT_MAX_BYTES:
        raise colander.Invalid(node, f"Must be at most {BCRYPT_MAX_BYTES} bytes (bcrypt's limit)")


def text(**kw):
    return colander.SchemaNode(colander.String(), **kw)


class SignupBody(colander.MappingSchema):
    email = text(validator=colander.All(colander.Length(max=254), colander.Email()))
    username = text(validator=colander.Regex(USERNAME_PATTERN, "3 to 30 letters, digits or _"))
    password = text(validator=password_validator)


class LoginBody(colander.MappingSchema):
    username = text(validator=colander.Length(min=1, max=254))
    password = text(validator=colander.Length(min=1, max=1024))


class RefreshBody(colander.MappingSchema):
    refresh = text(validator=colander.Length(min=1, max=4096))


MAX_POST_LENGTH = 280
_ALLOWED_CONTROLS = "\n\r\t"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def post_text_validator(node, value):
    if not 1 <= len(value) <= MAX_POST_LENGTH:
        raise colander.Invalid(node, f"Must be 1 to {MAX_POST_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in _ALLOWED_CONTROLS for c in value):
        raise colander.Invalid(node, "Must not contain NUL or other control characters")


def post_text():
    return text(preparer=_strip, validator=post_text_validator)


def object_id(**kw):
    return colander.SchemaNode(colander.Integer(), validator=colander.Range(1, 2**63 - 1), **kw)


class PostBody(colander.MappingSchema):
    text = post_text()


class PostPatchBody(colander.MappingSchema):
    text = post_text()


class CompatEditBody(colander.MappingSchema):
    id_post = object_id()
    text = post_text()


class CompatDeleteBody(colander.MappingSchema):
    id_post = object_id()


class IdPath(colander.MappingSchema):
    id = object_id()


class IdPathSchema(colander.MappingSchema):
    path = IdPath()


class PostEditSchema(colander.MappingSchema):
    path = IdPath()
    body = PostPatchBody()


class IdPageSchema(colander.MappingSchema):
    path = IdPath()
    querystring = PageQuery()


def tag_validator(node, value):
    if hashtags.normalize(value) is None:
        raise colander.Invalid(node, "A tag is letters, digits or _ (not digits alone), up to 100 characters")


class TagPath(colander.MappingSchema):
    tag = text(validator=tag_validator)


class TagSchema(colander.MappingSchema):
    path = TagPath()


class TagPageSchema(colander.MappingSchema):
    path = TagPath()
    querystring = PageQuery()
