"""The OpenAPI document is generated from the validation schemas, and is valid."""

import importlib
import pkgutil
import re
import sys
from urllib.parse import quote

import pytest
from conftest import PASSWORD, assert_error
from cornice import Service
from cornice.service import SERVICES, get_services
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import validate as validate_value
from openapi_spec_validator import validate
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationExecutionError
from pyramid.interfaces import IRoutesMapper

from minitwitter import mastodon
from minitwitter.api import views
from minitwitter.api.openapi import ERRORS, Answers
from minitwitter.api.schemas import SPACES
from minitwitter.mastodon import openapi as mastodon_openapi
from minitwitter.store.media import FORMATS
from minitwitter.web.ingress import FILE_FIELDS
from minitwitter.web.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor


def test_the_document_is_valid_openapi_3_1_and_lists_every_route(app):
    doc = app.get("/api/openapi.json").json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for service in get_services():
        path = re.sub(r"\{(\w+)(?::[^}]+)?\}", r"{\1}", service.path)
        for method, _view, args in service.definitions:
            if method != "HEAD":
                assert (path + ("/" if args["openapi"].slash else ""), method) in documented


# Every Cornice view of the package (its modules imported here: main() scans them later).
for module in pkgutil.iter_modules(views.__path__):
    importlib.import_module(f"{views.__name__}.{module.name}")
VIEWS = [
    pytest.param(service, method, view, args, id=f"{service.name}_{method.lower()}")
    for service in get_services()
    for method, view, args in service.definitions
    if method != "HEAD"
]


@pytest.mark.parametrize(("service", "method", "view", "args"), VIEWS)
def test_every_operation_declares_its_answers_beside_its_view(app, service, method, view, args):
    """Its success, errors and links are arguments of its service's method, in its view's
    module (openapi.Answers), and the document says what they declare."""
    answers = args.get("openapi")
    assert isinstance(answers, Answers), f"{view.__module__}.{view.__qualname__} declares nothing"
    assert 200 <= answers.status < 300 and answers.errors <= set(ERRORS)
    op = _operation(app.get("/api/openapi.json").json, f"{service.name}_{method.lower()}")
    success = op["responses"][str(answers.status)]
    assert ("content" in success) == (answers.shape is not None)
    assert {str(code) for code in answers.errors | set(answers.also)} <= set(op["responses"])
    assert set(success.get("links", {})) == set(answers.links)
    if answers.file_field:
        assert answers.file_field in op["requestBody"]["content"]["multipart/form-data"]["encoding"]
    assert "requestBody" not in op or op["requestBody"]["required"] is not answers.optional_body


def test_the_files_declared_are_the_files_ingress_lets_through():
    declared = {args["openapi"].file_field for *_, args in (param.values for param in VIEWS)} - {None}
    # `file`: the Mastodon face's upload (POST /api/v2/media), no native view's.
    assert declared == set(FILE_FIELDS) - {"file"}


def _operation(doc, operation_id):
    return next(op for methods in doc["paths"].values() for op in methods.values() if op["operationId"] == operation_id)


@pytest.fixture
def add_view():
    """Adds a view to the Cornice services every app is built from, for one test."""
    added = []

    def add(**arguments):
        service = Service(name="extra", path="/api/extra", description="A view this test adds")

        def extra_view(request):
            return None

        service.get(**arguments)(extra_view)
        added.append(service)

    yield add
    for service in added:
        SERVICES.remove(service)


def test_an_operation_that_declares_nothing_stops_the_app_at_startup(make_app, add_view):
    add_view()
    with pytest.raises(ConfigurationExecutionError) as raised:
        make_app()
    view = "test_openapi.add_view.<locals>.add.<locals>.extra_view"
    assert f"{view} (GET /api/extra) declares no OpenAPI answers" in str(raised.value)


def test_a_link_to_an_unknown_operation_stops_the_app_at_startup(make_app, add_view):
    add_view(openapi=Answers(204, None, links={"nowhere_get": {"parameters": {"path.id": "$response.body#/id"}}}))
    with pytest.raises(
        ConfigurationExecutionError, match=r"links of extra_get name unknown operations: \['nowhere_get'\]"
    ):
        make_app()


def test_the_document_says_what_the_validators_check(app):
    paths = app.get("/api/openapi.json").json["paths"]
    signup = paths["/api/users/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert signup["required"] == ["email", "username", "password"]
    assert signup["properties"]["username"]["pattern"] == "^[A-Za-z0-9_]{3,30}$"
    page_size = {p["name"]: p for p in paths["/api/posts/"]["get"]["parameters"]}["page_size"]["schema"]
    assert (page_size["minimum"], page_size["maximum"], page_size["default"]) == (1, 100, 20)
    assert "security" not in paths["/api/token/"]["post"] and paths["/api/feed/"]["get"]["security"]
    assert "multipart/form-data" in paths["/api/posts/"]["post"]["requestBody"]["content"]


def test_swagger_ui_is_served_without_a_cdn(app):
    page = app.get("/api/docs/")
    assert "/api/openapi.json" in page.text and "https://" not in page.text
    assert app.get("/api/docs/static/swagger-ui-bundle.js").status_int == 200


def test_every_cursor_of_the_documented_pattern_is_accepted():
    for key in (1, 35, 36, 2**40, 36**12 - 1):
        assert decode_cursor(encode_cursor(key)) == key
        assert re.fullmatch(CURSOR_PATTERN, encode_cursor(key))
    assert decode_cursor("z" * 12) is not None and decode_cursor("1" * 13) is None


def test_a_trailing_newline_does_not_slip_past_a_pattern(app):
    body = {"username": "ana\n", "email": "ana@example.com", "password": PASSWORD}
    assert_error(app.post_json("/api/users/", body, status=400), 400, "username")
    body = {"username": "ana", "email": "ana@example.com\n", "password": PASSWORD}
    assert_error(app.post_json("/api/users/", body, status=400), 400, "email")


def test_multipart_without_a_boundary_is_400(app, alice):
    response = app.post(
        "/api/posts/", b"text=x", headers={**alice.headers, "Content-Type": "multipart/form-data"}, status=400
    )
    assert_error(response, 400, "Content-Type")


def _signup_schema(doc):
    return doc["paths"]["/api/users/"]["post"]["requestBody"]["content"]["application/json"]["schema"]


# Characters where Python's re and ECMA-262 (JSON Schema) disagree about \s: U+0085 and
# U+001C-U+001F are whitespace to Python only, U+FEFF to ECMA only.
@pytest.mark.parametrize("char", ["\x85", "\x1c", "\x87", "\u3000"])
def test_an_email_the_document_refuses_is_refused(app, char):
    # schemathesis found "...\x85@0YEy.wz.Jx.qRpV": valid by the document's pattern, where
    # \s was ECMA's, and a 400 from the server, where it was Python's.
    pattern = _signup_schema(app.get("/api/openapi.json").json)["properties"]["email"]["pattern"]
    email = f"a{char}b@example.com"
    assert re.fullmatch(pattern, email) is None
    body = {"username": "ana", "email": email, "password": PASSWORD}
    assert_error(app.post_json("/api/users/", body, status=400), 400, "email")


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_patterns_mean_the_same_to_python_and_ecma(app):
    r"""\s, \w and \d are other classes in Python's re (Unicode) and ECMA-262 (\w and \d
    ASCII, \s with U+FEFF): no pattern of the document uses them, and SPACES is exactly
    what str.strip() strips."""
    everything = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000)
    assert re.findall(f"[{SPACES}]", everything) == [c for c in everything if c.isspace()]
    patterns = list(_patterns(app.get("/api/openapi.json").json))
    # An odd number of backslashes before the letter is the class escape.
    assert patterns and not [p for p in patterns if re.search(r"(?<!\\)(\\\\)*\\[sSwWdD]", p)]
    # "\ufeff" is text to Python (and kept), whitespace to ECMA: the pattern keeps it too.
    post = app.get("/api/openapi.json").json["paths"]["/api/posts/"]["post"]["requestBody"]["content"]
    text = post["application/json"]["schema"]["properties"]["text"]["pattern"]
    assert re.fullmatch(text, "\ufeff") and re.fullmatch(text, "\x85 hi \u3000") and not re.fullmatch(text, "\x85")


@pytest.mark.parametrize("password", ["é" * 4, "😀" * 2, "p" * 8, "p" * 72, "é" * 36])
def test_every_valid_password_is_valid_by_the_document(app, password):
    validate_value(password, _signup_schema(app.get("/api/openapi.json").json)["properties"]["password"])
    body = {"username": "ana", "email": "ana@example.com", "password": password}
    app.post_json("/api/users/", body, status=201)


@pytest.mark.parametrize("password", ["p", "p" * 7, "p" * 73, "é" * 73])
def test_a_password_the_document_refuses_is_refused(app, password):
    with pytest.raises(ValidationError):
        validate_value(password, _signup_schema(app.get("/api/openapi.json").json)["properties"]["password"])
    body = {"username": "ana", "email": "ana@example.com", "password": password}
    assert_error(app.post_json("/api/users/", body, status=400), 400, "password")


@pytest.mark.parametrize("password", ["pé", "é" * 37])
def test_bytes_the_document_cannot_count_are_400(app, password):
    """Why schemathesis.toml turns positive_data_acceptance off for sign-up: these are
    valid by the document (it counts characters) and too short or long in bytes."""
    validate_value(password, _signup_schema(app.get("/api/openapi.json").json)["properties"]["password"])
    body = {"username": "ana", "email": "ana@example.com", "password": password}
    assert_error(app.post_json("/api/users/", body, status=400), 400, "password")


def test_links_name_real_operations_parameters_and_fields(app):
    doc = app.get("/api/openapi.json").json
    operations = {op["operationId"]: op for methods in doc["paths"].values() for op in methods.values()}
    links = {
        (source, name): link
        for source, op in operations.items()
        for response in op["responses"].values()
        for name, link in response.get("links", {}).items()
    }
    assert ("posts_post", "post_get") in links and ("signup_post", "token_post") in links
    for (source, _name), link in links.items():
        target = operations[link["operationId"]]
        declared = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
        assert set(link.get("parameters", {})) <= declared, (source, link)
        if "requestBody" in link:
            fields = target["requestBody"]["content"]["application/json"]["schema"]["properties"]
            assert set(link["requestBody"]) <= set(fields), (source, link)
        if any("$request.body" in value for value in link.get("requestBody", {}).values()):
            assert set(operations[source]["requestBody"]["content"]["application/json"]["schema"]["properties"]) >= {
                value.split("#/")[1] for value in link["requestBody"].values()
            }


def test_a_chain_of_links_works(app):
    """Sign up, log in with the sign-up's fields, refresh; post, read, edit, delete by the
    post's id: what the document's links say a client can do."""
    body = {"username": "ana", "email": "ana@example.com", "password": PASSWORD}
    user = app.post_json("/api/users/", body, status=201).json
    tokens = app.post_json("/api/token/", {"username": body["username"], "password": body["password"]}).json
    tokens = app.post_json("/api/token/refresh/", {"refresh": tokens["refresh"]}).json
    headers = {"Authorization": f"Bearer {tokens['access']}"}
    assert app.get(f"/api/users/{user['id']}/", headers=headers).json["username"] == "ana"
    post = app.post_json("/api/posts/", {"text": "hi"}, headers=headers, status=201).json
    app.put_json("/api/posts/", {"id_post": post["id"], "text": post["text"]}, headers=headers)
    app.get(f"/api/posts/{post['id']}/likes/", headers=headers)
    app.delete(f"/api/posts/{post['id']}/", headers=headers, status=204)


def test_the_multipart_image_lists_the_types_kept(app):
    doc = app.get("/api/openapi.json").json
    multipart = doc["paths"]["/api/posts/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    listed = {t.strip() for t in multipart["encoding"]["image"]["contentType"].split(",")}
    assert listed == {content_type for content_type, _ext in FORMATS.values()}


def _tag_schema(doc):
    params = doc["paths"]["/api/hashtags/{tag}/favorite/"]["post"]["parameters"]
    return next(p["schema"] for p in params if p["name"] == "tag")


def _favorite(app, user, tag, status):
    return app.post(f"/api/hashtags/{quote(tag, safe='')}/favorite/", headers=user.headers, status=status)


@pytest.mark.parametrize("tag", ["café", "#Lisboa", "東京", "²a", "𝓣𝓱𝓮", "İstanbul", "a" * 100, "#" + "a" * 100])
def test_every_tag_is_valid_by_the_document(app, alice, tag):
    # The pattern once read \w, which ECMA-262 (and schemathesis) take as ASCII: "qúîêzb" was
    # invalid by the document and a tag to the server.
    validate_value(tag, _tag_schema(app.get("/api/openapi.json").json))
    _favorite(app, alice, tag, 200)


@pytest.mark.parametrize("tag", ["123", "#2026", "#", "a-b", "a b", "a" * 102])
def test_a_tag_the_document_refuses_is_refused(app, alice, tag):
    with pytest.raises(ValidationError):
        validate_value(tag, _tag_schema(app.get("/api/openapi.json").json))
    assert_error(_favorite(app, alice, tag, 400), 400, "tag")


@pytest.mark.parametrize("tag", ["€", "\u0301", "٣", "a" * 101])
def test_a_tag_the_document_cannot_tell_is_400(app, alice, tag):
    """Why schemathesis.toml turns positive_data_acceptance off for the tag routes: valid by
    the document (no Unicode classes in it), and not a tag."""
    validate_value(tag, _tag_schema(app.get("/api/openapi.json").json))
    assert_error(_favorite(app, alice, tag, 400), 400, "tag")


# The Mastodon face (minitwitter/mastodon/openapi.py): its routes are Pyramid routes, each
# view declaring its operation beside it (view_config's `openapi`).


def _methods(methods):
    return [methods] if isinstance(methods, str) else methods


def _filled(path):
    return re.sub(r"\{(\w+)\}", lambda m: {"hashtag": "lisboa"}.get(m.group(1), "1"), path)


def test_every_route_of_both_faces_is_in_the_document_and_it_validates(app):
    """Every method of every route: the native face's Cornice services (above) and each route of
    mastodon.ROUTES with every method a view of it takes, at a documented path it matches (a
    route whose path parameter is one of a few words, `{action:...}`: one path a word)."""
    doc = app.get("/api/openapi.json").json
    validate(doc)
    registry = app.app.registry
    mapper = registry.getUtility(IRoutesMapper)
    documented = set()
    for path, operations in doc["paths"].items():
        filled = _filled(path)
        route = next((route for route in mapper.get_routes() if route.match(filled) is not None), None)  # as routed
        if route is not None and route.name in dict(mastodon.ROUTES):
            documented |= {(route.name, method.upper()) for method in operations}
            assert all(op["tags"] == ["Mastodon"] for op in operations.values()), path
    served = {
        (view["route_name"], method)
        for view in (intr["introspectable"] for intr in registry.introspector.get_category("views"))
        if view["route_name"] in dict(mastodon.ROUTES) and view["request_methods"] is not None
        for method in _methods(view["request_methods"])
        if method != "HEAD"
    }
    assert {name for name, _pattern in mastodon.ROUTES} == {name for name, _method in served}
    assert served == documented
    # Each word of a route with a few words is its own operation, at its own path.
    for word in ("follow", "unfollow", "block", "unblock", "mute", "unmute"):
        assert f"/api/v1/accounts/{{id}}/{word}" in doc["paths"]
    for word in ("favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark"):
        assert f"/api/v1/statuses/{{id}}/{word}" in doc["paths"]


def test_the_mastodon_operations_say_their_scope_entities_and_errors(app):
    doc = app.get("/api/openapi.json").json
    post = doc["paths"]["/api/v1/statuses"]["post"]
    assert post["security"] == [{"oauth": ["write:statuses"]}, {"bearer": []}]
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Mastodon.Status"
    }
    assert {"401", "403", "404", "422", "429"} <= set(post["responses"])
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    reply_to = post["requestBody"]["content"]["application/json"]["schema"]["properties"]["in_reply_to_id"]
    validate_value("42", reply_to) or validate_value(42, reply_to)
    relationships = doc["paths"]["/api/v1/accounts/relationships"]["get"]["parameters"]
    assert {"name": "id[]", "in": "query", "style": "form", "explode": True} | {"required": False} in [
        {k: v for k, v in p.items() if k != "schema"} for p in relationships
    ]
    home = doc["paths"]["/api/v1/timelines/home"]["get"]
    assert "Link" in home["responses"]["200"]["headers"]
    assert {"max_id", "since_id", "min_id", "limit"} <= {p["name"] for p in home["parameters"]}
    schemas = doc["components"]["schemas"]
    for name in ("Account", "Status", "Relationship", "Notification", "Context", "Instance", "Application"):
        assert f"Mastodon.{name}" in schemas
    assert {"Mastodon.Token", "Mastodon.Error"} <= set(schemas)
    flows = doc["components"]["securitySchemes"]["oauth"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"].endswith("/oauth/authorize")
    assert "read:statuses" in flows["clientCredentials"]["scopes"]
    assert "security" not in doc["paths"]["/api/v1/instance"]["get"]


def test_a_mastodon_route_no_view_answers_stops_the_app_at_startup(make_app, monkeypatch):
    monkeypatch.setattr(mastodon, "ROUTES", [*mastodon.ROUTES, ("mastodon_extra", "/api/v1/extra")])
    with pytest.raises(ConfigurationExecutionError, match=r"Mastodon routes no view answers: \['mastodon_extra'\]"):
        make_app()


def test_a_mastodon_view_that_declares_nothing_stops_the_app_at_startup():
    def extra_view(request):
        return {}

    config = Configurator()
    config.add_route("mastodon_extra", "/api/v1/extra")
    config.add_view(extra_view, route_name="mastodon_extra", request_method="GET", renderer="json")
    config.commit()
    with pytest.raises(LookupError, match=r"extra_view \(GET /api/v1/extra\) declares no OpenAPI operation"):
        mastodon_openapi.paths(config.registry, [("mastodon_extra", "/api/v1/extra")])


@pytest.mark.parametrize("reply_to", ["{id}", "int"])
def test_every_id_field_of_the_mastodon_face_takes_a_string_or_a_number(app, alice, bob, reply_to):
    """in_reply_to_id, max_id/since_id/min_id, id[] (and media_ids) as Mastodon clients send
    them: a string, or a JSON number."""
    first = app.post_json("/api/v1/statuses", {"status": "first"}, headers=alice.headers).json
    value = int(first["id"]) if reply_to == "int" else first["id"]
    reply = app.post_json("/api/v1/statuses", {"status": "a reply", "in_reply_to_id": value}, headers=bob.headers)
    assert reply.json["in_reply_to_id"] == first["id"]
    also = app.post_json(
        "/api/v1/statuses", {"status": "and", "in_reply_to_id": float(first["id"])}, headers=bob.headers
    )
    assert also.json["in_reply_to_id"] == first["id"]
    for bad in (True, [1], {"id": 1}, 1.5):
        response = app.post_json(
            "/api/v1/statuses", {"status": "x", "in_reply_to_id": bad}, headers=bob.headers, status=422
        )
        assert "in_reply_to_id" in response.json["error"]
    page = app.get("/api/v1/timelines/public", {"max_id": reply.json["id"]}, headers=bob.headers).json
    assert [s["id"] for s in page][:1] == [first["id"]]
    related = app.get(f"/api/v1/accounts/relationships?id[]={alice['id']}", headers=bob.headers)
    assert [r["id"] for r in related.json] == [str(alice["id"])]


def test_a_method_a_mastodon_route_does_not_take_is_405_with_allow(app, alice):
    response = app.delete("/api/v1/instance", status=405)
    assert response.headers["Allow"] == "GET" and response.json == {"error": "Method not allowed"}
    response = app.put("/api/v1/statuses", headers=alice.headers, status=405)
    assert response.headers["Allow"] == "POST"
    assert set(app.patch("/api/v1/statuses/1", headers=alice.headers, status=405).headers["Allow"].split(", ")) == {
        "GET",
        "PUT",
        "DELETE",
    }


@pytest.mark.parametrize("query", ["limit=1&limit=2", "only_media=true&only_media=false", "max_id=5&max_id=6"])
def test_a_mastodon_parameter_given_twice_is_a_422_naming_it(app, alice, query):
    response = app.get(f"/api/v1/timelines/public?{query}", headers=alice.headers, status=422)
    assert f"{query.partition('=')[0]} must be given once" in response.json["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/{id}/statuses?pinned=true&exclude_replies=maybe",
        "/api/v1/timelines/public?remote=true&only_media=maybe",
    ],
)
def test_every_mastodon_parameter_is_read_before_an_empty_page_answers(app, alice, path):
    """schemathesis found `pinned=true` answering [] before a bad exclude_replies was read."""
    response = app.get(path.format(id=alice["id"]), headers=alice.headers, status=422)
    assert "must be true or false" in response.json["error"]
