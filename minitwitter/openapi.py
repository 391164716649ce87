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

from minitwitter import media

_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")
# Operations that answer 204 with no body.
NO_CONTENT = {("post", "DELETE"), ("token_revoke", "POST")}
ERROR = {
    "type": "object",
    "required": ["code", "error", "message", "details"],
    "properties": {
        "code": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                },
            },
        },
    },
}


# OpenAPI links: which operations a success answer's fields lead to, so that a client (and
# schemathesis's stateful phase) can chain calls. Source operationId -> {target operationId:
# {"parameters": ..., "requestBody": ...}} in runtime expressions; document() checks that every
# operation named exists and tests/test_openapi.py that every parameter and field does.
_ID = "$response.body#/id"


def _by_id(*operation_ids):
    return {operation_id: {"parameters": {"path.id": _ID}} for operation_id in operation_ids}


_USER_LINKS = _by_id("user_get", "user_posts_get", "followers_get", "following_get", "follow_post", "follow_delete")
_POST_LINKS = _by_id("post_get", "post_put", "post_patch", "post_delete", "like_post", "like_delete", "likers_get")
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
    },
    "follow_post": _USER_LINKS,
    "favorite_hashtag_post": _TAG_LINKS,
}
# The image part of a multipart post: the types media.store_image keeps (it decodes the file
# to tell, whatever the part's Content-Type says).
IMAGE_TYPES = ", ".join(sorted({content_type for content_type, _ext in media.FORMATS.values()}))


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
    if node.missing is not colander.required and node.missing is not None:
        schema["default"] = node.missing
    if node.description:
        schema["description"] = node.description
    return schema


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
    op = {
        "operationId": f"{service.name}_{method.lower()}",
        "summary": service.description,
        "responses": {
            "2XX": {"description": "Success", "content": {"application/json": {"schema": {}}}},
            "default": {"description": "An error", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if (service.name, method) in NO_CONTENT:
        op["responses"]["2XX"] = {"description": "Done; no content"}
    parameters = []
    path_nodes = {c.name: c for c in parts["path"].children} if "path" in parts else {}
    for name, pattern in _PARAM.findall(service.path):
        schema = node_schema(path_nodes[name]) if name in path_nodes else {"type": "string"}
        if pattern and "pattern" not in schema and schema["type"] == "string":
            schema["pattern"] = f"^{pattern}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for child in parts["querystring"].children if "querystring" in parts else []:
        parameters.append({"name": child.name, "in": "query", "required": child.required, "schema": node_schema(child)})
    if parameters:
        op["parameters"] = parameters
    if "body" in parts:
        body = node_schema(parts["body"])
        content = {"application/json": {"schema": body}, "application/x-www-form-urlencoded": {"schema": body}}
        if service.name == "posts" and method == "POST":  # the one route taking a file
            content["multipart/form-data"] = {
                "schema": {
                    **body,
                    "properties": {**body["properties"], "image": {"type": "string", "format": "binary"}},
                },
                "encoding": {"image": {"contentType": IMAGE_TYPES}},
            }
        op["requestBody"] = {"required": True, "content": content}
    if args.get("permission") != NO_PERMISSION_REQUIRED:
        op["security"] = [{"bearer": []}]
    return op


def document(request):
    paths = {}
    for service in get_services():
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", service.path) + "/"
        for method, _view, args in service.definitions:
            if method == "HEAD":
                continue
            paths.setdefault(path, {})[method.lower()] = operation(service, method, args)
    _add_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "minitwitter", "version": "1.0.0", "description": "A small Twitter-like REST API."},
        "servers": [{"url": request.application_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR},
        },
    }


def _add_links(paths):
    operations = {op["operationId"]: op for methods in paths.values() for op in methods.values()}
    for source, links in LINKS.items():
        missing = [name for name in (source, *links) if name not in operations]
        if missing:
            raise LookupError(f"OpenAPI links name unknown operations: {missing}")
        success = operations[source]["responses"]["2XX"]
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
