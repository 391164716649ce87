"""The responses the document promises: a schema for every answer, from shapes.py.

(That every response the suite sees matches the document is checked on each request:
tests/documented.py.)"""

import pytest
import webtest
from cornice.service import get_services
from documented import Contract

from minitwitter.api import shapes
from minitwitter.mastodon import openapi as mastodon_openapi


@pytest.fixture
def doc(app):
    return app.get("/api/openapi.json").json


def _operations(doc, mastodon=False):
    """The native face's operations, or (mastodon=True) the Mastodon face's (tag "Mastodon")."""
    return [
        (path, method, op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
        if (op["tags"] == ["Mastodon"]) is mastodon
    ]


def test_every_operation_documents_its_success_and_its_errors(doc):
    declared = {
        f"{service.name}_{method.lower()}": args["openapi"]
        for service in get_services()
        for method, _view, args in service.definitions
    }
    for path, method, op in _operations(doc):
        where = f"{method.upper()} {path}"
        statuses = set(op["responses"])
        assert statuses <= {str(code) for code in range(200, 600)}, where  # no `default`, no 2XX
        answers = declared[op["operationId"]]
        successes = {status for status in statuses if status < "300"}
        assert successes == {str(code) for code in (answers.status, *answers.also) if code < 300}, where
        for success in successes:
            content = op["responses"][success].get("content")
            if success in ("202", "204"):  # accepted or done: no body
                assert content is None, where
            else:
                assert content and all(media.get("schema") not in ({}, None) for media in content.values()), where
        errors = statuses - successes - {str(code) for code in answers.also}  # health's 503 is its report
        assert {"500", "503"} <= statuses and errors, where
        for status in errors:
            error = op["responses"][status]["content"]
            assert error == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}, where
        if "security" in op:
            assert "401" in statuses, where
        if op.get("parameters") or "requestBody" in op:
            assert "400" in statuses, where


def test_every_mastodon_operation_documents_its_success_and_its_errors(doc):
    """The same for the Mastodon face (mastodon/openapi.py): its errors in Mastodon's shape (the
    authorize pages' in HTML, or JSON when the edge refuses before the page)."""
    operations = _operations(doc, mastodon=True)
    assert len(operations) >= 45
    error = {"schema": {"$ref": "#/components/schemas/Mastodon.Error"}}
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        statuses = {int(status) for status in op["responses"]}
        assert statuses <= set(range(200, 600)) and {500, 503} <= statuses, where
        successes = [status for status in statuses if status < 300]
        assert len(successes) == 1 and "content" in op["responses"][str(successes[0])], where
        for status in (status for status in statuses if status >= 400):
            assert op["responses"][str(status)]["content"]["application/json"] == error, where
        if "security" in op:
            assert {401, 403, 422} <= statuses, where
        if op.get("parameters") or "requestBody" in op:
            assert 400 in statuses, where


def test_shapes_are_closed_objects_in_the_components(doc):
    components = doc["components"]["schemas"]
    assert set(components) == set(shapes.SHAPES) | set(mastodon_openapi.ENTITIES)
    assert all(name.startswith("Mastodon.") for name in mastodon_openapi.ENTITIES)
    optional = {"Mastodon.Status": {"text"}, "Mastodon.Error": {"error_description"}, "Mastodon.Tag": {"following"}}
    for name, schema in components.items():
        assert schema["additionalProperties"] is False, name
        assert schema["required"] == [field for field in schema["properties"] if field not in optional.get(name, ())]
    page = components["PostPage"]["properties"]
    assert set(page) == {"count", "page", "page_size", "next", "previous", "results"}
    assert page["results"]["items"] == {"$ref": "#/components/schemas/Post"}


def test_some_answers_by_name(doc):
    paths = doc["paths"]

    def schema(path, method, status):
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert schema("/api/token/", "post", "200") == {"$ref": "#/components/schemas/Tokens"}
    assert schema("/api/users/", "post", "201") == {"$ref": "#/components/schemas/Me"}
    assert schema("/api/feed/", "get", "200") == {"$ref": "#/components/schemas/PostPage"}
    assert schema("/api/popular_hashtags/", "get", "200")["items"] == {"$ref": "#/components/schemas/TagCount"}
    assert schema("/api/health/", "get", "503") == {"$ref": "#/components/schemas/Health"}
    assert "204" in paths["/api/posts/{id}/"]["delete"]["responses"]
    assert {"403", "404", "429"} <= set(paths["/api/posts/{id}/"]["patch"]["responses"])
    assert {"409", "422", "413", "415"} <= set(paths["/api/posts/"]["post"]["responses"])
    too_many = paths["/api/token/"]["post"]["responses"]["429"]["headers"]
    assert too_many["Retry-After"]["required"] and too_many["X-RateLimit-Remaining"]["required"]


def test_media_is_documented_as_the_images_it_serves(doc):
    assert "/media/{path}/" not in doc["paths"]
    media = doc["paths"]["/media/{path}"]["get"]
    assert set(media["responses"]["200"]["content"]) == {"image/gif", "image/jpeg", "image/png", "image/webp"}
    assert "security" not in media and "404" in media["responses"]


def _response(status, body, content_type="application/json", **headers):
    response = webtest.TestResponse(body=body, status=status, content_type=content_type)
    response.headers.update({"X-Request-ID": "abc", **headers})
    return response


def test_the_suites_checker_refuses_what_the_document_does_not_say(doc):
    contract = Contract(doc)
    error = b'{"code": 404, "error": "Not Found", "message": "No such post", "details": []}'
    contract.check("GET", "/api/posts/1", _response(404, error))
    with pytest.raises(AssertionError, match="status not documented"):
        contract.check("GET", "/api/posts/1", _response(409, error))
    with pytest.raises(AssertionError, match="does not match"):
        contract.check("GET", "/api/posts/1", _response(404, b'{"error": "Not Found"}'))
    with pytest.raises(AssertionError, match="is not one of"):
        contract.check("GET", "/api/posts/1", _response(404, error, content_type="text/html"))
    with pytest.raises(AssertionError, match="no Retry-After header"):
        contract.check("POST", "/api/token/", _response(429, error.replace(b"404", b"429")))
    with pytest.raises(AssertionError, match="is not one of"):
        contract.check("GET", "/media/ab/x.png", _response(200, b"{}"))
    contract.check("GET", "/media/ab/x.png", _response(200, b"\x89PNG", content_type="image/png"))
    contract.check("PATCH", "/api/feed/", _response(405, b""))  # not an operation: not checked
