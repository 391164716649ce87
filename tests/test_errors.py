"""One JSON error shape for every failure; never HTML, never a traceback."""

import pytest
from conftest import assert_error


def test_unknown_route_is_json_404(app):
    response = app.get("/nowhere", status=404)
    assert response.content_type == "application/json"
    assert_error(response, 404)


def test_wrong_method_is_json_405(app):
    response = app.delete("/api/token/", status=405)
    assert_error(response, 405)


def test_malformed_json_is_400(app):
    response = app.post("/api/users/", b'{"username": ', content_type="application/json", status=400)
    assert_error(response, 400, "")
    assert "Invalid JSON" in response.json["message"]


def test_invalid_utf8_is_400(app):
    response = app.post("/api/users/", b'{"username": "\xff\xfe"}', content_type="application/json", status=400)
    assert_error(response, 400)


def test_json_that_is_not_an_object_is_400(app):
    assert_error(app.post("/api/users/", b'"just a string"', content_type="application/json", status=400), 400)


def test_unsupported_content_type_is_415(app):
    response = app.post("/api/users/", b"username=x", content_type="text/plain", status=415)
    assert_error(response, 415, "Content-Type")


def test_body_over_the_limit_is_413(app, wsgi_app):
    limit = wsgi_app.registry.settings["limits.max_body_bytes"]
    response = app.post("/api/users/", b"x" * (limit + 1), content_type="application/json", status=413)
    assert_error(response, 413)


def test_uncaught_exception_is_json_500_without_traceback(app, wsgi_app, monkeypatch, caplog):
    # A fault test: a query that raises something nobody expects.
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app.py line 42")

    monkeypatch.setattr(wsgi_app.registry.queries.users, "get_login", explode)
    response = app.post_json("/api/token/", {"username": "anyone", "password": "b"}, status=500)
    assert_error(response, 500)
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text  # but the log has it


@pytest.mark.parametrize("path", ["/api/users/me/", "/api/users/1/"])
def test_401_shape(app, path):
    assert_error(app.get(path, status=401), 401)


def test_a_failed_commit_is_503_and_nothing_is_written(app, alice, db, monkeypatch):
    import psycopg2

    from minitwitter.store.db import CountingConnection

    # A fault test: the database refuses the commit (as a lost connection would).
    def refuse(self):
        self.rollback()
        raise psycopg2.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CountingConnection, "commit", refuse)
    response = app.post_json("/api/posts/", {"text": "lost"}, headers=alice.headers, status=503)
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    monkeypatch.undo()
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 0


def test_a_views_own_404_and_403_keep_their_message(app, alice, bob):
    # They came through the not-found and forbidden views as "The resource was not found"
    # and "You may not do this" (seen while schemathesis ran PUT /api/posts/).
    body = assert_error(
        app.put_json("/api/posts/", {"id_post": 424242, "text": "x"}, headers=alice.headers, status=404), 404
    )
    assert body["message"] == "No such post"
    assert app.get("/api/users/424242/", headers=alice.headers, status=404).json["message"] == "No such user"
    post = app.post_json("/api/posts/", {"text": "mine"}, headers=alice.headers, status=201).json
    response = app.delete(f"/api/posts/{post['id']}/", headers=bob.headers, status=403)
    assert assert_error(response, 403)["message"] == "Only the author may change this post"
    # Routing's own 404 and a missing token are as before.
    assert app.get("/api/nowhere/", status=404).json["message"] == "The resource was not found"
    assert_error(app.get("/api/feed/", status=401), 401)
