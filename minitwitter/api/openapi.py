"""The OpenAPI 3.1 document, generated from the Cornice services, their colander schemas
and what each operation declares beside its view (Answers: its success, its errors, its
links), so it cannot drift from what the code validates; and Swagger UI, served from the
swagger-ui-py wheel (no CDN). This module holds the machinery and what every operation
shares: the error descriptions and shape, the common headers, the rules of which errors an
operation answers. The paths are built once, when the app starts, which an operation that
declares nothing (or a link to no operation) stops.

    GET /api/openapi.json    the document
    GET /api/docs/           Swagger UI
"""

import re
from dataclasses import dataclass, field

import colander
from cornice.service import get_services
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api import shapes
from minitwitter.api.validators import colander_body_validator

_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")
IMAGE = "image"  # a success whose body is the image file itself (GET /media/...)
ID = "$response.body#/id"  # the id of a success's body, in an OpenAPI link


@dataclass(frozen=True, eq=False)
class Answers:
    """What an operation answers, declared where its view is defined, as an argument of its
    Cornice service's method (Pyramid takes it as a view option: _declared below):

        @post.get(schema=..., validators=..., openapi=openapi.Answers(200, shapes.POST))

    - status, shape: its success; shape is a shapes.Shape, a JSON Schema (shapes.array(...)),
      IMAGE, or None for no body.
    - errors: the statuses it answers beyond the rules every operation follows (_error_codes:
      400 with a body or parameters, 401 with a token, ...); their descriptions are ERRORS.
    - also: its other answers, {status: (description, shape)}; one replaces the error of its status.
    - links: the operations its success leads to (OpenAPI links, so that a client and
      schemathesis's stateful phase can chain calls): {target operationId: {"parameters": ...,
      "requestBody": ...}} in runtime expressions (by_id below). paths() checks that every
      operation named exists and tests/test_openapi.py that every parameter and field does.
    - optional_body: every field of its body may be left out (the body too).
    - file_field: the field of the file its body may carry as multipart/form-data.
    - slash: its path is documented with a trailing slash (every route answers both ways).
    - path_schemas: {name: JSON Schema} of path parameters whose route pattern takes more than
      the document should say.
    paths() refuses to build (so the app refuses to start) while an operation declares nothing.
    """

    status: int
    shape: object = None
    errors: frozenset = frozenset()  # a set of statuses
    also: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)
    optional_body: bool = False
    file_field: str | None = None
    slash: bool = True
    path_schemas: dict = field(default_factory=dict)

    def __deepcopy__(self, memo):  # Cornice deep-copies a view's arguments: these are not changed
        return self


def by_id(*operation_ids):
    """Links to operations taking the id of the success's body as their path's id."""
    return {operation_id: {"parameters": {"path.id": ID}} for operation_id in operation_ids}


ERRORS = {
    400: "Invalid input; `details` names each field (location and name)",
    401: "No valid access token (or, when logging in, refreshing or logging out: bad credentials)",
    403: "Only the author may change or delete a post; a block stands between you and that account; "
    "the route needs a role you do not have (moderator, admin); (log-in, refresh) the account is suspended or "
    "awaiting approval; or (sign-up) registrations are closed",
    404: "No such resource",
    409: "Conflicts with the current state (taken, or a concurrent change); retry after Retry-After when sent",
    413: "The body is over limits.max_body_bytes, or the image over 5 MB",
    415: "The body is not JSON, a form or multipart/form-data",
    422: "The Idempotency-Key was already used for a different request",
    429: "Over a rate limit (ratelimit.* settings); retry after Retry-After",
    500: "A bug: the error is logged with the request's X-Request-ID, and no detail leaves the server",
    503: "The database is unavailable; retry after Retry-After",
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


# Pages that send their next and previous links in a Link header too.
_LINKED_PAGES = (
    shapes.POST_PAGE,
    shapes.PROFILE_PAGE,
    shapes.NOTIFICATION_PAGE,
    shapes.AUDIT_PAGE,
    shapes.REPORT_PAGE,
    shapes.MODERATED_REPORT_PAGE,
)


def _answer(shape, description):
    if shape is None:
        return {"description": description, "headers": REQUEST_ID}
    if shape == IMAGE:
        return {"description": description, "headers": REQUEST_ID, "content": IMAGE_CONTENT}
    headers = {**REQUEST_ID, **(LINK if shape in _LINKED_PAGES else {})}
    schema = shape.ref if isinstance(shape, shapes.Shape) else shape
    return {"description": description, "headers": headers, "content": _json(schema)}


def _success(answers):
    if answers.shape is None:
        description = "Accepted: an email is on its way; no content" if answers.status == 202 else "Done; no content"
    else:
        description = "The image" if answers.shape == IMAGE else "Success"
    return _answer(answers.shape, description)


def _error_codes(answers, method, op):
    codes = {500, 503, *answers.errors}
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


def responses(answers, method, op):
    """The success first, then every other answer by status."""
    found = {str(answers.status): _success(answers)}
    for code in sorted(_error_codes(answers, method, op) | set(answers.also)):
        if code in answers.also:
            description, shape = answers.also[code]
            found[str(code)] = _answer(shape, description)
        else:
            headers = {**REQUEST_ID, **HEADERS.get(code, {})}
            found[str(code)] = {"description": ERRORS[code], "headers": headers, "content": _json(shapes.ERROR.ref)}
    return found


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
    validators = getattr(node.validator, "validators", [node.validator])
    if isinstance(typ, colander.Sequence):
        schema = {"type": "array", "items": node_schema(node.children[0])}
        for validator in validators:
            if isinstance(validator, colander.Length):
                bounds = {"minItems": validator.min, "maxItems": validator.max}
                schema.update({k: v for k, v in bounds.items() if v is not None})
        if node.missing not in (colander.required, colander.drop, None):
            schema["default"] = node.missing
        if node.description:
            schema["description"] = node.description
        return schema
    schema = {"type": "integer"} if isinstance(typ, colander.Integer) else {"type": "string"}
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
    """The operation of a Cornice view, from its schema and what it declares (args["openapi"])."""
    answers = args["openapi"]
    parts = _parts(args)
    operation_id = f"{service.name}_{method.lower()}"
    op = {"operationId": operation_id, "summary": service.description}
    parameters = []
    path_nodes = {c.name: c for c in parts["path"].children} if "path" in parts else {}
    for name, pattern in _PARAM.findall(service.path):
        schema = node_schema(path_nodes[name]) if name in path_nodes else {"type": "string"}
        schema = dict(answers.path_schemas.get(name, schema))
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
        file_field = answers.file_field
        if file_field:
            content["multipart/form-data"] = {
                "schema": {
                    **form,
                    "properties": {**form["properties"], file_field: {"type": "string", "format": "binary"}},
                },
                "encoding": {file_field: {"contentType": IMAGE_TYPES}},
            }
        op["requestBody"] = {"required": not answers.optional_body, "content": content}
    if args.get("permission") != NO_PERMISSION_REQUIRED:
        op["security"] = [{"bearer": []}]
    op["responses"] = responses(answers, method, op)
    if answers.links:
        links = {target: {"operationId": target, **link} for target, link in answers.links.items()}
        op["responses"][str(answers.status)]["links"] = links
    return op


def paths():
    """The document's paths: every Cornice view's operation. A LookupError names the view of
    an operation that declares nothing, or the operations a link names that do not exist."""
    found, links = {}, {}
    for service in get_services():
        for method, view, args in service.definitions:
            if method == "HEAD":
                continue
            answers = args.get("openapi")
            if not isinstance(answers, Answers):
                raise LookupError(
                    f"{view.__module__}.{view.__qualname__} ({method} {service.path}) declares no OpenAPI "
                    f"answers: give @{service.name}.{method.lower()}(...) openapi=openapi.Answers(status, shape, ...)"
                )
            path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", service.path) + ("/" if answers.slash else "")
            op = operation(service, method, args)
            op["tags"] = [view.__module__.rsplit(".", 1)[-1]]  # views/<tag>.py: a module per resource
            found.setdefault(path, {})[method.lower()] = op
            links[op["operationId"]] = answers.links
    for source, targets in links.items():
        missing = [target for target in targets if target not in links]
        if missing:
            raise LookupError(f"The OpenAPI links of {source} name unknown operations: {missing}")
    return dict(sorted(found.items()))


def document(request):
    """The native face's paths and shapes, and what the other faces add
    (registry.openapi_parts: {"tags", "paths", "components"}, e.g. mastodon/openapi.py's)."""
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "minitwitter", "version": "1.0.0", "description": "A small Twitter-like REST API."},
        "servers": [{"url": request.application_url}],
        "tags": [],
        "paths": dict(request.registry.openapi_paths),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {name: shape.schema for name, shape in shapes.SHAPES.items()},
        },
    }
    for part in getattr(request.registry, "openapi_parts", ()):
        doc["tags"].extend(part.get("tags", ()))
        doc["paths"].update(part.get("paths", {}))
        for section, values in part.get("components", {}).items():
            doc["components"].setdefault(section, {}).update(values)
    if not doc["tags"]:
        del doc["tags"]
    return doc


def _declared(view, info):
    """Lets a view take `openapi=Answers(...)`: nothing at request time (paths() reads it
    from the Cornice services' definitions)."""
    return view


_declared.options = ("openapi",)


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
    config.add_view_deriver(_declared, "openapi_answers")

    def build_paths():  # once every view is added: an undeclared operation stops the app here
        config.registry.openapi_paths = paths()

    config.action(None, build_paths)
    config.add_route("openapi", "/api/openapi.json")
    config.add_view(document, route_name="openapi", renderer="json", permission=NO_PERMISSION_REQUIRED)
    config.add_route("docs", "/api/docs")
    config.add_view(docs_page, route_name="docs", permission=NO_PERMISSION_REQUIRED)
    config.add_static_view("api/docs/static", static, cache_max_age=86400, permission=NO_PERMISSION_REQUIRED)
