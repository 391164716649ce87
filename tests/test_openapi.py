"""The OpenAPI document is generated from the validation schemas, and is valid."""

import re

from conftest import PASSWORD, assert_error
from cornice.service import get_services
from openapi_spec_validator import validate

from minitwitter.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor


def test_the_document_is_valid_openapi_3_1_and_lists_every_route(app):
    doc = app.get("/api/openapi.json").json
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for service in get_services():
        path = re.sub(r"\{(\w+)(?::[^}]+)?\}", r"{\1}", service.path) + "/"
        for method, _view, _args in service.definitions:
            if method != "HEAD":
                assert (path, method) in documented


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
