"""Input schemas (colander), shared by the views. Unknown fields are ignored, so a
client cannot set author_id, likes_count or id through a body."""

import colander

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


class UserPath(colander.MappingSchema):
    id = colander.SchemaNode(colander.Integer(), validator=colander.Range(1, 2**63 - 1))


class UserPathSchema(colander.MappingSchema):
    path = UserPath()
