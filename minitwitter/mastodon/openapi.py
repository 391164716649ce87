"""The Mastodon face in the served OpenAPI document (/api/openapi.json, tag "Mastodon"), from
what each view declares beside itself, as the native face's views do (api/openapi.py):

    @view_config(route_name="mastodon_status", request_method="GET",
                 openapi=Operation("A status", STATUS, scope="read:statuses"), **VIEW)

- Operation: its summary, its success (status, media type, schema: an entity's `ref`, or
  `array(...)`), the OAuth scope it needs (None: no token; "": any scope), its query parameters and body
  fields as JSON Schemas, the errors beyond the rules every operation follows (_errors), a
  Mastodon page (`page=True`: max_id, since_id, min_id, limit, and the Link header).
- Each(param, {value: Operation}): a route whose path parameter is one of a few words
  (`{action:(?:un)?(?:follow|block|mute)}`) is one operation a word, each at its own path.
- entity(name, description, **properties): an entity's schema, every field required and no
  other allowed, under components/schemas as `Mastodon.<name>` (tests/conftest.py checks every
  answer the test suite sees against it, so the entity builders cannot drift from it).

When the app starts (config.action, once every view is added), `paths()` walks the views of
the face's ROUTES: one that declares nothing stops the app, naming it. The native document
(api/openapi.py: document) merges what `includeme` leaves in `registry.openapi_parts`.
"""

import re
from dataclasses import dataclass, field

from minitwitter.domain import oauth
from minitwitter.web.pagination import MAX_KEY

TAG = "Mastodon"
ENTITIES = {}  # name -> JSON Schema, in definition order
_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")


def ref(name):
    return {"$ref": f"#/components/schemas/Mastodon.{name}"}


def nullable(schema):
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def array(items, **more):
    return {"type": "array", "items": items, **more}


def obj(properties, optional=(), description=None, extra=False):
    """An object of these properties, each required but `optional`, no other (unless extra)."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": extra,
    }
    if description:
        schema["description"] = description
    return schema


def entity(name, description, /, optional=(), **properties):  # a field may be called description
    """A Mastodon entity's schema, registered under components/schemas: its $ref."""
    ENTITIES[f"Mastodon.{name}"] = obj(properties, optional, description)
    return ref(name)


STRING = {"type": "string"}
BOOL = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
TIME = {"type": "string", "format": "date-time"}
URL = {"type": "string", "format": "uri"}
ID = {"type": "string", "pattern": "^[0-9]+$", "description": "An id, as a string"}
EMPTY = obj({}, description="An empty object")

# Input. An id from a client: a string of digits or a JSON number (Mastodon's ids are strings,
# and clients send them both ways: common.id_param); beyond the largest key is no such thing.
ID_IN = {
    "type": ["string", "integer"],
    "pattern": "^[0-9]{0,19}$",
    "minimum": 0,
    "maximum": MAX_KEY,
    "description": "An id: a string of digits or a number (empty: none)",
}
# A boolean as clients send one: JSON true/false, or "true", "false", "1", "0" (any case).
FLAG = {
    "type": ["boolean", "string", "null"],
    "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0|)$",
    "description": "true or false (also as the strings true, false, 1, 0)",
}
QUERY_FLAG = {**FLAG, "type": ["boolean", "string"]}
PATH_ID = {"type": "string", "pattern": "^[0-9]{1,19}$"}
PAGE = {
    "max_id": {"type": "string", "pattern": "^[0-9]{0,19}$", "description": "Items older than this id"},
    "since_id": {"type": "string", "pattern": "^[0-9]{0,19}$", "description": "The newest items newer than this id"},
    "min_id": {"type": "string", "pattern": "^[0-9]{0,19}$", "description": "The items just newer than this id"},
    "limit": {
        "type": ["integer", "string"],
        "pattern": "^[0-9]{0,6}$",
        "minimum": 0,
        "maximum": 999999,
        "default": 20,
        "description": "How many: 20 by default, at most 40 (more is 40, less than 1 is 1)",
    },
}

ERROR = entity(
    "Error",
    "Every error: `error` says what is wrong; OAuth's (on /oauth/) add `error_description`",
    optional=("error_description",),
    error=STRING,
    error_description=STRING,
)
ERRORS = {
    400: "The request cannot be read: not UTF-8, invalid JSON or form, a field given twice",
    401: "No valid access token (OAuth: bad client credentials)",
    403: "The token lacks the scope this needs; a block stands between you; not yours",
    404: "Record not found",
    409: "A request with this Idempotency-Key is in progress, or a concurrent change; retry",
    413: "The body is over limits.max_body_bytes",
    415: "The body is not JSON, a form or multipart/form-data",
    422: "Validation failed: `error` names the field; an app token where an account is needed",
    429: "Over a rate limit; retry after Retry-After",
    500: "A bug: logged with the request's X-Request-ID",
    503: "The database is unavailable; retry after Retry-After",
}
_SECONDS = {"type": "string", "pattern": "^[0-9]+$"}


def _header(description, required=False, schema=None):
    return {"description": description, "required": required, "schema": schema or STRING}


HEADERS = {
    401: {"WWW-Authenticate": _header("Bearer, when the token is missing or invalid")},
    429: {
        "Retry-After": _header("Seconds to wait before retrying", True, _SECONDS),
        **{
            f"X-RateLimit-{name}": _header(description, True, _SECONDS)
            for name, description in (
                ("Limit", "Requests allowed per window"),
                ("Remaining", "Requests left in this window"),
                ("Reset", "When the window ends (Unix time)"),
            )
        },
    },
    503: {"Retry-After": _header("Seconds to wait before retrying", True, _SECONDS)},
}
LINK = {
    "Link": _header(
        'The next (older) and previous (newer) pages: <...?max_id=N>; rel="next", <...?min_id=M>; rel="prev" '
        "(absolute; next only when older items follow; none on an empty page)"
    )
}
HTML = "text/html"


@dataclass(frozen=True, eq=False)
class Operation:
    """What a Mastodon view takes and answers, declared beside it (view_config's `openapi`).

    - summary: what it does.
    - answer: the success's schema (an entity's ref, array(...)); media_type its type;
      status its status.
    - scope: the OAuth scope a token needs (native JWTs may do everything); "": a token of
      any scope; None: public, no token.
    - query: {name: JSON Schema} of its query parameters (`id[]`-style arrays: an array
      schema, sent as repeated `name[]=`); required: the names that must be given.
    - body: {name: JSON Schema} of its body fields (JSON; a form sends the same fields, an
      array as repeated `name[]`); body_required: whether a body must be sent.
    - page: a Mastodon page (PAGE's parameters, the Link header).
    - errors: statuses it answers beyond the rules of _errors; also: its other answers,
      {status: (description, media type, schema)}.
    """

    summary: str
    answer: object = None
    scope: str | None = None
    query: dict = field(default_factory=dict)
    required: tuple = ()
    body: dict = field(default_factory=dict)
    body_required: bool = False
    forms: tuple = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    page: bool = False
    errors: frozenset = frozenset()
    also: dict = field(default_factory=dict)
    status: int = 200
    media_type: str = "application/json"
    description: str = ""

    def __deepcopy__(self, memo):
        return self


@dataclass(frozen=True, eq=False)
class Each:
    """One operation for each word a path parameter may be: {word: Operation}."""

    param: str
    operations: dict

    def __deepcopy__(self, memo):
        return self


def _errors(op, method, declared):
    codes = {400, 500, 503, *declared.errors}
    if "requestBody" in op:
        codes |= {413, 415}
    if any(p["in"] == "path" for p in op.get("parameters", [])):
        codes.add(404)
    if declared.page or declared.query:
        codes.add(422)  # a parameter that is not what it must be
    if declared.scope is not None:
        codes |= {401, 403, 422}  # no token; outside its scopes; an app token, no account
        if method != "GET":
            codes.add(429)  # the writes' limit
    return codes


def _content(media_type, schema):
    return {media_type: {"schema": schema}}


def _or_null(schema):
    """A schema that also takes JSON's null."""
    if "anyOf" in schema:
        return (
            schema if {"type": "null"} in schema["anyOf"] else {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
        )
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    schema = {**schema, "type": list(dict.fromkeys([*kinds, "null"]))}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _form_schema(schema):
    """A body as a form: arrays as repeated `name[]`, no null (a form leaves a field out)."""
    properties = {}
    for name, prop in schema["properties"].items():
        if isinstance(prop.get("type"), list):
            kinds = [kind for kind in prop["type"] if kind != "null"]
            prop = {**prop, "type": kinds[0] if len(kinds) == 1 else kinds}
        if "enum" in prop:
            prop = {**prop, "enum": [value for value in prop["enum"] if value is not None]}
        if "anyOf" in prop:
            prop = {**prop, "anyOf": [one for one in prop["anyOf"] if one != {"type": "null"}]}
        properties[f"{name}[]" if prop.get("type") == "array" else name] = prop
    return {**schema, "properties": properties}


def operation(path, method, declared, operation_id):
    op = {"operationId": operation_id, "summary": declared.summary, "tags": [TAG]}
    if declared.description:
        op["description"] = declared.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_ID if name == "id" else STRING}
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    for name, schema in {**(PAGE if declared.page else {}), **declared.query}.items():
        parameter = {"name": name, "in": "query", "required": name in declared.required, "schema": schema}
        if schema.get("type") == "array":
            parameter.update(name=f"{name}[]", style="form", explode=True)
        parameters.append(parameter)
    if parameters:
        op["parameters"] = parameters
    if declared.body:
        optional = set(declared.body) - set(declared.required)
        # A field left out or sent as null is the same (common.param); unknown fields are ignored.
        fields = {name: _or_null(schema) if name in optional else schema for name, schema in declared.body.items()}
        body = obj(fields, optional=optional, extra=True)
        del body["additionalProperties"]
        form = _form_schema(body)
        content = {}
        for media_type in declared.forms:
            content[media_type] = {"schema": body if media_type == "application/json" else form}
        op["requestBody"] = {"required": declared.body_required, "content": content}
    if declared.scope is not None:
        op["security"] = [{"oauth": [declared.scope] if declared.scope else []}, {"bearer": []}]
    success = {"description": "Success"}
    if declared.answer is not None:
        success["content"] = _content(declared.media_type, declared.answer)
    if declared.page:
        success["headers"] = LINK
    responses = {str(declared.status): success}
    for code in sorted(_errors(op, method, declared) | set(declared.also)):
        if code in declared.also:
            description, media_type, schema = declared.also[code]
            answer = {"description": description}
            if media_type is not None:
                answer["content"] = _content(media_type, schema)
            if code >= 400:  # the edge's refusals (ingress, rate limits) are JSON whatever the view answers
                answer["content"] = {**answer.get("content", {}), **_content("application/json", ERROR)}
                answer["description"] += f"; or {ERRORS[code]}"
            if code in (301, 302, 303):
                answer["headers"] = {"Location": _header("Where to go", True)}
            elif code in HEADERS:
                answer["headers"] = HEADERS[code]
        else:
            answer = {"description": ERRORS[code], "content": _content("application/json", ERROR)}
            if code in HEADERS:
                answer["headers"] = HEADERS[code]
        responses[str(code)] = answer
    op["responses"] = responses
    return op


def _declarations(registry, routes):
    """(route name, method, declaration, view) of every view of the routes."""
    names = {name for name, _pattern in routes}
    for intr in registry.introspector.get_category("views"):
        view = intr["introspectable"]
        methods = view["request_methods"]
        if view["route_name"] not in names or methods is None:  # None: the route's 405 (errors.py)
            continue
        for method in [methods] if isinstance(methods, str) else methods:
            if method != "HEAD":
                yield view["route_name"], method, view.get("openapi"), view["callable"]


def paths(registry, routes):
    """{path: {method: operation}} of the face's routes; a LookupError names a view that
    declares nothing (or a route none answers)."""
    patterns = dict(routes)
    found, seen = {}, set()
    registry.mastodon_methods = {}  # route name -> its methods (errors.method_not_allowed's Allow)
    for route_name, method, declared, view in _declarations(registry, routes):
        registry.mastodon_methods.setdefault(route_name, []).append(method)
        where = f"{view.__module__}.{view.__qualname__} ({method} {patterns[route_name]})"
        if isinstance(declared, Operation):
            declared = Each("", {"": declared})
        if not isinstance(declared, Each):
            raise LookupError(f"{where} declares no OpenAPI operation: give view_config(..., openapi=Operation(...))")
        seen.add(route_name)
        for word, one in declared.operations.items():
            path = patterns[route_name]
            if declared.param:
                path = re.sub(r"\{" + declared.param + r"(:[^}]+)?\}", word, path)
            path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
            base = route_name.removeprefix("mastodon_")
            if word:  # mastodon_account_action -> account_follow
                base = f"{base.rsplit('_', 1)[0]}_{word}"
            found.setdefault(path, {})[method.lower()] = operation(
                path, method, one, f"mastodon_{base}_{method.lower()}"
            )
    missing = [name for name in patterns if name not in seen]
    if missing:
        raise LookupError(f"Mastodon routes no view answers: {missing}")
    return dict(sorted(found.items()))


def security_schemes(base):
    scopes = {scope: f"Mastodon's `{scope}`" for scope in oauth.SCOPES}
    return {
        "oauth": {
            "type": "oauth2",
            "description": "Mastodon's OAuth 2: register an app (POST /api/v1/apps), then the authorization "
            "code grant with PKCE (code_challenge_method S256) for an account's token, or client credentials "
            "for an app token. Tokens do not expire; `read`, `write` cover their `read:*`, `write:*`, and "
            "`follow` the follows, blocks and mutes. The password grant is not offered.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{base}/oauth/authorize",
                    "tokenUrl": f"{base}/oauth/token",
                    "scopes": scopes,
                },
                "clientCredentials": {"tokenUrl": f"{base}/oauth/token", "scopes": scopes},
            },
        }
    }


def _declared(view, info):
    """Lets a Mastodon view take `openapi=Operation(...)` (read by paths(), not per request)."""
    return view


_declared.options = ("openapi",)


def includeme(config):
    from minitwitter.mastodon import ROUTES

    config.add_view_deriver(_declared, "mastodon_openapi")

    def build():  # once every view is added: a view that declares nothing stops the app here
        registry = config.registry
        base = registry.settings["public_url"].rstrip("/")
        registry.openapi_parts = [
            *getattr(registry, "openapi_parts", []),
            {
                "tags": [{"name": TAG, "description": "Mastodon's client API, the subset served (docs/MASTODON.md)"}],
                "paths": paths(registry, ROUTES),
                "components": {"schemas": dict(ENTITIES), "securitySchemes": security_schemes(base)},
            },
        ]

    config.action(None, build, order=1)
