"""The OpenAPI 3.1 document, generated from the Cornice services and their colander
schemas, so it cannot drift from what the code validates; and Swagger UI, served from
the swagger-ui-py wheel (no CDN).

    GET /api/openapi.json    the document
    GET /api/docs/           Swagger UI
"""

import re

import colander
from cornice.service import get_services
from cornice.validators import colander_body_validator
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api import shapes
from minitwitter.api.shapes import array

_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")
# Routes documented without a trailing slash (every other path is documented with one).
NO_SLASH = {"media"}
# Path parameters whose route pattern takes more than the document should say: a media
# path (media.store_image and make_thumbnail) holds a slash.
PATH_SCHEMAS = {
    ("media", "path"): {
        "type": "string",
        "pattern": r"^[0-9a-f]{2}/[0-9a-f]{32}(\.thumb)?\.(jpg|png|gif|webp)$",
        "description": "As in a post's image url or thumbnail_url, after /media/",
    }
}
_POSTS, _PROFILES, _TAGS = shapes.POST_PAGE, shapes.PROFILE_PAGE, array(shapes.TAG_COUNT.ref)
# What each operation answers when it succeeds: (status, shape or schema; None: no body).
# document() refuses to build without an entry for every operation.
SUCCESS = {
    "signup_post": (201, shapes.ME),
    "signup_compat_post": (201, shapes.ME),
    "token_post": (200, shapes.TOKENS),
    "token_refresh_post": (200, shapes.TOKENS),
    "token_revoke_post": (204, None),
    "me_get": (200, shapes.ME),
    "me_patch": (200, shapes.ME),
    "me_delete": (204, None),
    "password_post": (204, None),
    "verify_email_post": (204, None),
    "password_reset_post": (202, None),
    "password_reset_confirm_post": (204, None),
    "user_get": (200, shapes.PROFILE),
    "follow_post": (200, shapes.PROFILE),
    "follow_delete": (200, shapes.PROFILE),
    "followers_get": (200, _PROFILES),
    "following_get": (200, _PROFILES),
    "block_post": (200, shapes.PROFILE),
    "block_delete": (200, shapes.PROFILE),
    "mute_post": (200, shapes.PROFILE),
    "mute_delete": (200, shapes.PROFILE),
    "blocks_get": (200, _PROFILES),
    "mutes_get": (200, _PROFILES),
    "feed_get": (200, _POSTS),
    "posts_post": (201, shapes.POST),
    "posts_get": (200, _POSTS),
    "posts_put": (200, shapes.POST),
    "posts_delete": (200, shapes.DELETED),
    "post_get": (200, shapes.POST),
    "post_put": (200, shapes.POST),
    "post_patch": (200, shapes.POST),
    "post_delete": (204, None),
    "user_posts_get": (200, _POSTS),
    "like_post": (200, shapes.POST),
    "like_delete": (200, shapes.POST),
    "likers_get": (200, _PROFILES),
    "replies_get": (200, _POSTS),
    "repost_post": (200, shapes.POST),
    "repost_delete": (200, shapes.POST),
    "bookmark_post": (200, shapes.POST),
    "bookmark_delete": (200, shapes.POST),
    "bookmarks_get": (200, _POSTS),
    "tag_posts_get": (200, _POSTS),
    "popular_hashtags_get": (200, _TAGS),
    "favorite_hashtag_post": (200, shapes.FAVORITE),
    "favorite_hashtag_delete": (200, shapes.FAVORITE),
    "favorite_hashtags_get": (200, shapes.TAG_COUNT_PAGE),
    "favorite_hashtag_posts_get": (200, _POSTS),
    "notifications_get": (200, shapes.NOTIFICATION_PAGE),
    "unread_count_get": (200, shapes.UNREAD_COUNT),
    "notifications_read_post": (204, None),
    "search_posts_get": (200, _POSTS),
    "search_hashtags_get": (200, shapes.TAG_COUNT_PAGE),
    "search_users_get": (200, _PROFILES),
    "health_get": (200, shapes.HEALTH),
    "media_get": (200, "image"),
}
# Operations whose body may be left out (every field of it is optional: no body, no change
# or, for verify_email, a new email).
OPTIONAL_BODY = {"me_patch", "verify_email_post"}
# A second success some operations answer: status -> description (no body).
OTHER_SUCCESS = {"verify_email_post": {202: "No token given: a new verification email is on its way"}}
ERRORS = {
    400: "Invalid input; `details` names each field (location and name)",
    401: "No valid access token (or, when logging in, refreshing or logging out: bad credentials)",
    403: "Only the author may change or delete a post; or a block stands between you and that account",
    404: "No such resource",
    409: "Conflicts with the current state (taken, or a concurrent change); retry after Retry-After when sent",
    413: "The body is over limits.max_body_bytes, or the image over 5 MB",
    415: "The body is not JSON, a form or multipart/form-data",
    422: "The Idempotency-Key was already used for a different request",
    429: "Over a rate limit (ratelimit.* settings); retry after Retry-After",
    500: "A bug: the error is logged with the request's X-Request-ID, and no detail leaves the server",
    503: "The database is unavailable; retry after Retry-After",
}
# Errors only some operations answer, beyond what the rules in _error_codes() give.
EXTRA_ERRORS = {
    "signup_post": {409, 429},
    "signup_compat_post": {409, 429},
    "token_post": {401, 429},
    "token_refresh_post": {401},
    "token_revoke_post": {401},
    "me_get": {404},  # a valid token for an account that no longer exists
    "password_reset_post": {429},
    "posts_post": {403, 404, 422},  # 404: in_reply_to names no live post; 403: across a block
    # 403: a block stands between the caller and the user, or the post's author
    "follow_post": {403},
    "like_post": {403},
    "repost_post": {403},
    "bookmark_post": {403},
    "posts_put": {403, 404},
    "posts_delete": {403, 404},
    "post_put": {403},
    "post_patch": {403},
    "post_delete": {403},
}


def _header(description, required=False, schema=None):
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


_SECONDS = {"type": "string", "pattern": "^[0-9]+$"}
REQUEST_ID = {"X-Request-ID": _header("The request's id (the client's when sane), in every log line", True)}
RETRY_AFTER = _header("Seconds to wait before retrying", True, _SECONDS)
HEADERS = {
    401: {"WWW-Authenticate": _header("Bearer, when the token is missing or invalid")},
    409: {"Retry-After": {**RETRY_AFTER, "required": False}},
    429: {
        "Retry-After": RETRY_AFTER,
        **{
            f"X-RateLimit-{name}": _header(description, True, _SECONDS)
            for name, description in (
                ("Limit", "Requests allowed per window"),
                ("Remaining", "Requests left in this window"),
                ("Reset", "When the window ends (Unix time)"),
            )
        },
    },
    503: {"Retry-After": RETRY_AFTER},
}
LINK = {"Link": _header("RFC 8288 links to the next and previous pages, as in `next` and `previous`")}
IMAGE_CONTENT = {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in shapes.IMAGE_TYPES}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _success(operation_id):
    status, shape = SUCCESS[operation_id]
    if shape is None:
        description = "Accepted: an email is on its way; no content" if status == 202 else "Done; no content"
        return status, {"description": description, "headers": REQUEST_ID}
    if shape == "image":
        return status, {"description": "The image", "headers": REQUEST_ID, "content": IMAGE_CONTENT}
    headers = {**REQUEST_ID, **(LINK if shape in (_POSTS, _PROFILES, shapes.NOTIFICATION_PAGE) else {})}
    schema = shape.ref if isinstance(shape, shapes.Shape) else shape
    return status, {"description": "Success", "headers": headers, "content": _json(schema)}


def _error_codes(operation_id, method, op):
    codes = {500, 503, *EXTRA_ERRORS.get(operation_id, ())}
    if op.get("parameters") or "requestBody" in op:
        codes.add(400)
    if "requestBody" in op:
        codes |= {413, 415}
    if any(p["in"] == "path" for p in op.get("parameters", [])):
        codes.add(404)  # unknown, or a value the route's pattern does not match
    if "security" in op:
        codes.add(401)
        if method != "GET":
            codes |= {409, 429}  # a race on a constraint; the writes limit
    return codes


def responses(operation_id, method, op):
    status, success = _success(operation_id)
    answers = {str(status): success}
    for other, description in OTHER_SUCCESS.get(operation_id, {}).items():
        answers[str(other)] = {"description": description, "headers": REQUEST_ID}
    for code in sorted(_error_codes(operation_id, method, op)):
        headers = {**REQUEST_ID, **HEADERS.get(code, {})}
        answers[str(code)] = {"description": ERRORS[code], "headers": headers, "content": _json(shapes.ERROR.ref)}
    if operation_id == "health_get":  # the database is down: the same report
        answers["503"] = {**success, "description": "The database is down"}
    return answers


# OpenAPI links: which operations a success answer's fields lead to, so that a client (and
# schemathesis's stateful phase) can chain calls. Source operationId -> {target operationId:
# {"parameters": ..., "requestBody": ...}} in runtime expressions; document() checks that every
# operation named exists and tests/test_openapi.py that every parameter and field does.
_ID = "$response.body#/id"


def _by_id(*operation_ids):
    return {operation_id: {"parameters": {"path.id": _ID}} for operation_id in operation_ids}


_USER_LINKS = _by_id(
    "user_get",
    "user_posts_get",
    "followers_get",
    "following_get",
    "follow_post",
    "follow_delete",
    "block_post",
    "block_delete",
    "mute_post",
    "mute_delete",
)
_POST_LINKS = _by_id(
    "post_get",
    "post_put",
    "post_patch",
    "post_delete",
    "like_post",
    "like_delete",
    "likers_get",
    "replies_get",
    "repost_post",
    "repost_delete",
    "bookmark_post",
    "bookmark_delete",
)
# The refresh token of a pair, rotated or revoked.
_REFRESH_LINKS = {
    operation_id: {"requestBody": {"refresh": "$response.body#/refresh"}}
    for operation_id in ("token_refresh_post", "token_revoke_post")
}
# A new account logs in with what it signed up with.
_SIGNUP_LINKS = {
    **_USER_LINKS,
    "token_post": {"requestBody": {"username": "$request.body#/username", "password": "$request.body#/password"}},
}
_TAG_LINKS = {
    operation_id: {"parameters": {"path.tag": "$response.body#/name"}}
    for operation_id in ("tag_posts_get", "favorite_hashtag_delete")
}
LINKS = {
    "signup_post": _SIGNUP_LINKS,
    "signup_compat_post": _SIGNUP_LINKS,
    "token_post": _REFRESH_LINKS,
    "token_refresh_post": _REFRESH_LINKS,
    "posts_post": {
        **_POST_LINKS,
        # The older clients' edit and delete, with the id in the body.
        "posts_put": {"requestBody": {"id_post": _ID, "text": "$response.body#/text"}},
        "posts_delete": {"requestBody": {"id_post": _ID}},
        # A reply to the post just made.
        "posts_post": {"requestBody": {"text": "$response.body#/text", "in_reply_to": _ID}},
    },
    "follow_post": _USER_LINKS,
    "favorite_hashtag_post": _TAG_LINKS,
}
# The routes taking a file (multipart/form-data), and its field.
FILE_FIELDS = {("posts", "POST"): "image", ("me", "PATCH"): "avatar"}
# The image part of a multipart post: the types media.store_image keeps (it decodes the file
# to tell, whatever the part's Content-Type says).
IMAGE_TYPES = ", ".join(shapes.IMAGE_TYPES)


def node_schema(node):
    """JSON Schema of a colander node, with what its validators check."""
    typ = node.typ
    if isinstance(typ, colander.Mapping):
        schema = {"type": "object", "properties": {c.name: node_schema(c) for c in node.children}}
        required = [c.name for c in node.children if c.required]
        if required:
            schema["required"] = required
        return schema
    schema = {"type": "integer"} if isinstance(typ, colander.Integer) else {"type": "string"}
    validators = getattr(node.validator, "validators", [node.validator])
    for validator in validators:
        if isinstance(validator, colander.Range):
            bounds = {"minimum": validator.min, "maximum": validator.max}
        elif isinstance(validator, colander.Length):
            bounds = {"minLength": validator.min, "maxLength": validator.max}
        else:
            bounds = {}
        schema.update({k: v for k, v in bounds.items() if v is not None})
        if isinstance(validator, colander.OneOf):
            schema["enum"] = list(validator.choices)
        if isinstance(validator, colander.Regex):
            schema["pattern"] = validator.match_object.pattern
    schema.update(getattr(node, "json_schema", {}))  # what a custom validator checks
    if node.missing not in (colander.required, colander.drop, None):
        schema["default"] = node.missing
    if node.description:
        schema["description"] = node.description
    return schema


def _form_schema(body):
    """A body's schema as a form: a form has no null (JSON's `"in_reply_to": null` is a
    field left out of a form), so a nullable field is its plain type there."""
    properties = {}
    for name, schema in body["properties"].items():
        if isinstance(schema.get("type"), list):
            kinds = [kind for kind in schema["type"] if kind != "null"]
            schema = {**schema, "type": kinds[0] if len(kinds) == 1 else kinds}
        properties[name] = schema
    return {**body, "properties": properties}


def _parts(args):
    """{"body": node, "querystring": node, "path": node} of a view's schema."""
    schema = args.get("schema")
    if schema is None:
        return {}
    if colander_body_validator in args.get("validators", ()):
        return {"body": schema}
    return {child.name: child for child in schema.children}


def operation(service, method, args):
    parts = _parts(args)
    operation_id = f"{service.name}_{method.lower()}"
    if operation_id not in SUCCESS:
        raise LookupError(f"openapi.SUCCESS says nothing of {operation_id}")
    op = {"operationId": operation_id, "summary": service.description}
    parameters = []
    path_nodes = {c.name: c for c in parts["path"].children} if "path" in parts else {}
    for name, pattern in _PARAM.findall(service.path):
        schema = node_schema(path_nodes[name]) if name in path_nodes else {"type": "string"}
        schema = PATH_SCHEMAS.get((service.name, name), schema)
        if pattern and "pattern" not in schema and schema["type"] == "string":
            schema["pattern"] = f"^{pattern}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for child in parts["querystring"].children if "querystring" in parts else []:
        parameters.append({"name": child.name, "in": "query", "required": child.required, "schema": node_schema(child)})
    if parameters:
        op["parameters"] = parameters
    if "body" in parts:
        body = node_schema(parts["body"])
        form = _form_schema(body)
        content = {"application/json": {"schema": body}, "application/x-www-form-urlencoded": {"schema": form}}
        file_field = FILE_FIELDS.get((service.name, method))
        if file_field:
            content["multipart/form-data"] = {
                "schema": {
                    **form,
                    "properties": {**form["properties"], file_field: {"type": "string", "format": "binary"}},
                },
                "encoding": {file_field: {"contentType": IMAGE_TYPES}},
            }
        op["requestBody"] = {"required": operation_id not in OPTIONAL_BODY, "content": content}
    if args.get("permission") != NO_PERMISSION_REQUIRED:
        op["security"] = [{"bearer": []}]
    op["responses"] = responses(operation_id, method, op)
    return op


def document(request):
    paths = {}
    for service in get_services():
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", service.path)
        path += "" if service.name in NO_SLASH else "/"
        for method, view, args in service.definitions:
            if method == "HEAD":
                continue
            op = operation(service, method, args)
            op["tags"] = [view.__module__.rsplit(".", 1)[-1]]  # views/<tag>.py: a module per resource
            paths.setdefault(path, {})[method.lower()] = op
    _add_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "minitwitter", "version": "1.0.0", "description": "A small Twitter-like REST API."},
        "servers": [{"url": request.application_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {name: shape.schema for name, shape in shapes.SHAPES.items()},
        },
    }


def _add_links(paths):
    operations = {op["operationId"]: op for methods in paths.values() for op in methods.values()}
    for source, links in LINKS.items():
        missing = [name for name in (source, *links) if name not in operations]
        if missing:
            raise LookupError(f"OpenAPI links name unknown operations: {missing}")
        success = operations[source]["responses"][str(SUCCESS[source][0])]
        success["links"] = {target: {"operationId": target, **link} for target, link in links.items()}


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>minitwitter API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""


def docs_page(request):
    return Response(DOCS_PAGE, content_type="text/html", charset="utf-8")


def includeme(config):
    import swagger_ui

    static = f"{swagger_ui.__path__[0]}/static"
    config.add_route("openapi", "/api/openapi.json")
    config.add_view(document, route_name="openapi", renderer="json", permission=NO_PERMISSION_REQUIRED)
    config.add_route("docs", "/api/docs")
    config.add_view(docs_page, route_name="docs", permission=NO_PERMISSION_REQUIRED)
    config.add_static_view("api/docs/static", static, cache_max_age=86400, permission=NO_PERMISSION_REQUIRED)
