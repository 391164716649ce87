"""Hostile input, class by class: each is a 4xx in the one JSON shape naming the field or
parameter, and nothing is written. (test_fuzz.py checks the same property on random input.)"""

import json
import logging

import pytest
from conftest import assert_error, raw_call
from test_images import image_bytes

POSTS = "SELECT count(*) FROM posts"


def count(db, sql=POSTS):
    with db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def answer(raw):
    status, headers, body = raw
    assert headers["Content-Type"].startswith("application/json"), (status, body)
    return status, json.loads(body)


def assert_refused(raw, code, location, name=None):
    status, body = answer(raw)
    assert status == code and body["code"] == code, body
    assert set(body) == {"code", "error", "message", "details"}
    assert [(d["location"], d["name"]) for d in body["details"]][:1] == [(location, name)] or name is None, body
    return body


# 1. Bytes that are not UTF-8, wherever they are.


@pytest.mark.parametrize(
    "path",
    [b"/api/hashtags/\xff/posts/", b"/api/posts/\xff/", b"/media/\xff.png", b"/api/users/\xc3/", b"/api/\xed\xa0\x80"],
)
def test_a_path_that_is_not_utf8_is_400(wsgi_app, alice, path):
    body = assert_refused(
        raw_call(wsgi_app, "GET", path, headers={"Authorization": f"Bearer {alice['access']}"}), 400, "path", "path"
    )
    assert "UTF-8" in body["message"]


@pytest.mark.parametrize("query, name", [(b"utm=%ff", "utm"), (b"page=1&q=caf%e9", "q"), (b"page=\xff", "page")])
def test_a_query_parameter_that_is_not_utf8_is_400_naming_it(wsgi_app, alice, query, name):
    for path in (b"/api/posts/", b"/api/search/posts/", b"/api/health/"):
        headers = {"Authorization": f"Bearer {alice['access']}"}
        assert_refused(raw_call(wsgi_app, "GET", path, query, headers), 400, "querystring", name)


def test_a_query_parameter_name_that_is_not_utf8_is_400(wsgi_app, alice):
    headers = {"Authorization": f"Bearer {alice['access']}"}
    assert_refused(raw_call(wsgi_app, "GET", b"/api/posts/", b"%ff=1", headers), 400, "querystring", "query string")


@pytest.mark.parametrize("body", [b"text=caf\xe9", b"text=caf%E9", b"id_post=1&text=%ff"])
def test_a_form_field_that_is_not_utf8_is_400_and_nothing_is_written(app, alice, db, body):
    response = app.post(
        "/api/posts/", body, content_type="application/x-www-form-urlencoded", headers=alice.headers, status=400
    )
    assert_error(response, 400, "text")
    assert count(db) == 0


def test_a_multipart_text_field_that_is_not_utf8_is_400(app, alice, db):
    body = b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\ncaf\xe9\r\n--B--\r\n'
    response = post_raw(app, "/api/posts/", body, "multipart/form-data; boundary=B", alice.headers, status=400)
    assert_error(response, 400, "text")
    assert count(db) == 0


def test_utf8_form_fields_still_work(app, alice):
    body = b"text=caf%C3%A9+%23lisboa"
    post = app.post(
        "/api/posts/",
        body,
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
        headers=alice.headers,
        status=201,
    ).json
    assert post["text"] == "café #lisboa" and post["hashtags"] == ["lisboa"]


# 2. Declared charsets other than UTF-8.


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json; charset=x-unknown", b'{"text": "hi"}'),
        ("application/json; charset=ISO-8859-1", b'{"text": "hi"}'),
        ("application/json; charset=utf-16", '{"text": "hi"}'.encode("utf-16")),
        ("application/x-www-form-urlencoded; charset=ISO-8859-1", b"text=hi"),
        ("application/x-www-form-urlencoded; charset=nope", b"text=hi"),
        (
            "multipart/form-data; boundary=B; charset=latin-1",
            b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--B--\r\n',
        ),
    ],
)
def test_a_charset_other_than_utf8_is_415(app, alice, db, content_type, body):
    response = post_raw(app, "/api/posts/", body, content_type, alice.headers, status=415)
    assert "UTF-8" in assert_error(response, 415, "Content-Type")["message"]
    assert count(db) == 0


# 3. Lone surrogates in any text field.

ACCOUNT_BODIES = [
    ("/api/users/", {"email": "a\ud800@example.com", "username": "surro", "password": "a long password"}, "email"),
    (
        "/api/create_user/",
        {"email": "s@example.com", "username": "surro", "password": "long \ud800 password"},
        "password",
    ),
    ("/api/token/", {"username": "alice", "password": "\udfffxxxxxxxxx"}, "password"),
    ("/api/token/refresh/", {"refresh": "\ud800"}, "refresh"),
    ("/api/token/revoke/", {"refresh": "abc\udc00"}, "refresh"),
]


@pytest.mark.parametrize("path, body, field", ACCOUNT_BODIES)
def test_a_lone_surrogate_is_400_naming_the_field(app, alice, db, path, body, field):
    raw = json.dumps(body).encode()  # json.dumps escapes them: "\ud800", as a hostile client sends
    assert_error(app.post(path, raw, content_type="application/json", status=400), 400, field)
    assert count(db, "SELECT count(*) FROM users") == 1


def test_a_lone_surrogate_in_post_text_is_400(app, alice, db):
    raw = json.dumps({"text": "hi \udbff"}).encode()
    assert_error(
        app.post("/api/posts/", raw, content_type="application/json", headers=alice.headers, status=400), 400, "text"
    )
    assert count(db) == 0


# 4. Deeply nested JSON.


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, b"[" * 999 + b"]" * 999])
def test_deeply_nested_json_is_one_400(app, alice, raw):
    for path in ("/api/posts/", "/api/users/", "/api/token/refresh/"):
        body = assert_error(
            app.post(path, raw, content_type="application/json", headers=alice.headers, status=400), 400, ""
        )
        assert len(body["details"]) == 1


def test_a_number_too_long_for_python_is_400(app, alice, db):
    raw = b'{"id_post": ' + b"9" * 5000 + b', "text": "x"}'
    response = app.put("/api/posts/", raw, content_type="application/json", headers=alice.headers, status=400)
    assert "too long" in assert_error(response, 400, "")["message"]


# 5. Multipart: files where text belongs, two images, an image under another name.


def post_raw(app, path, body, content_type, headers=None, status=None):
    """POST bytes as they are (webtest re-encodes multipart bodies given to app.post)."""
    return app.request(
        path, method="POST", body=body, headers={**(headers or {}), "Content-Type": content_type}, status=status
    )


def multipart(*parts):
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--B\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + b"--B--\r\n", "multipart/form-data; boundary=B"


@pytest.mark.parametrize(
    "path, field, others",
    [
        ("/api/posts/", "text", []),
        ("/api/posts/", "id_post", [("text", None, b"hi")]),
        ("/api/users/", "username", [("email", None, b"m@example.com"), ("password", None, b"a long password")]),
        ("/api/users/", "password", [("email", None, b"m@example.com"), ("username", None, b"mallory")]),
        ("/api/token/", "password", [("username", None, b"alice")]),
        ("/api/token/refresh/", "refresh", []),
        ("/api/token/revoke/", "refresh", []),
    ],
)
def test_a_text_field_sent_as_a_file_is_400_naming_it(app, alice, db, path, field, others):
    body, content_type = multipart((field, "x.txt", b"some text"), *others)
    response = post_raw(app, path, body, content_type, alice.headers, status=400)
    assert "not a file" in assert_error(response, 400, field)["message"]
    assert count(db) == 0 and count(db, "SELECT count(*) FROM users") == 1


def test_two_images_are_400_and_nothing_is_written(app, alice, db):
    body, content_type = multipart(
        ("text", None, b"two"), ("image", "a.png", image_bytes()), ("image", "b.png", image_bytes())
    )
    assert_error(post_raw(app, "/api/posts/", body, content_type, alice.headers, status=400), 400, "image")
    assert count(db) == 0 and count(db, "SELECT count(*) FROM images") == 0


@pytest.mark.parametrize("name", ["photo", "Image", "images"])
def test_an_image_under_another_name_is_400(app, alice, db, name):
    body, content_type = multipart(("text", None, b"where is it"), (name, "a.png", image_bytes()))
    assert_error(post_raw(app, "/api/posts/", body, content_type, alice.headers, status=400), 400, name)
    assert count(db) == 0


def test_an_unknown_field_given_twice_is_ignored(app, alice):
    body = b"utm=a&utm=b&text=hello"
    app.post("/api/posts/", body, content_type="application/x-www-form-urlencoded", headers=alice.headers, status=201)


def test_a_text_field_given_twice_is_400(app, alice, db):
    response = app.post(
        "/api/posts/",
        b"text=a&text=b",
        content_type="application/x-www-form-urlencoded",
        headers=alice.headers,
        status=400,
    )
    assert_error(response, 400, "text")
    assert count(db) == 0


def test_one_image_still_works(app, alice):
    body, content_type = multipart(("text", None, b"one"), ("image", "a.png", image_bytes()))
    assert post_raw(app, "/api/posts/", body, content_type, alice.headers, status=201).json["image"]


# 6. Ids are integers: not floats, bools, or digits of other scripts.


@pytest.mark.parametrize(
    "bad", [1.5, 1.000001, True, False, None, "1.5", "1.0", "4_2", " 1", "١", [1], {"id": 1}, 2**64, float("inf")]
)
def test_older_clients_body_ids_must_be_integers(app, alice, db, bad):
    post = app.post_json("/api/posts/", {"text": "keep me"}, headers=alice.headers).json
    assert post["id"] == 1  # `true` once meant post 1, and 1.5 post 1
    edited = app.put_json("/api/posts/", {"id_post": bad, "text": "changed"}, headers=alice.headers, status=400)
    assert_error(edited, 400, "id_post")
    deleted = app.delete_json("/api/posts/", {"id_post": bad}, headers=alice.headers, status=400)
    assert_error(deleted, 400, "id_post")
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["text"] == "keep me"


def test_integer_ids_and_digit_strings_still_work(app, alice):
    first = app.post_json("/api/posts/", {"text": "one"}, headers=alice.headers).json["id"]
    second = app.post_json("/api/posts/", {"text": "two"}, headers=alice.headers).json["id"]
    assert app.put_json("/api/posts/", {"id_post": first, "text": "uno"}, headers=alice.headers).json["text"] == "uno"
    # 1.0 is the integer 1 in JSON Schema (what generated clients validate against).
    assert (
        app.put_json("/api/posts/", {"id_post": float(first), "text": "un"}, headers=alice.headers).json["id"] == first
    )
    body = f"id_post={second}".encode()  # forms carry every value as text
    app.delete("/api/posts/", body, content_type="application/x-www-form-urlencoded", headers=alice.headers, status=200)


@pytest.mark.parametrize(
    "path", ["/api/posts/%D9%A3/", "/api/users/%D9%A3/", "/api/posts/?page=%D9%A3", "/api/posts/?page_size=1_0"]
)
def test_path_and_query_integers_are_ascii_digits(app, alice, path):
    assert_error(app.get(path, headers=alice.headers, status=400), 400)


# 7. A well-signed token whose subject names no account (see also test_users.py).


@pytest.mark.parametrize("sub", ["999999", str(2**70), "0", "-1"])
def test_a_token_for_no_account_is_401_on_writes_and_reads(app, wsgi_app, alice, db, sub):
    tokens = wsgi_app.registry.tokens
    forged = tokens._encode(sub, "access", 60)
    headers = {"Authorization": f"Bearer {forged}"}
    for response in (
        app.post_json("/api/posts/", {"text": "ghost"}, headers=headers, status=401),
        app.post(f"/api/users/{alice['id']}/follow/", headers=headers, status=401),
        app.get("/api/feed/", headers=headers, status=401),
        app.get("/api/users/me/", headers=headers, status=401),
    ):
        assert_error(response, 401)
    assert count(db) == 0 and count(db, "SELECT count(*) FROM follows") == 0


# 8. Text typed in decomposed form (NFD) is the same text.


def test_nfd_text_is_stored_and_tagged_in_nfc(app, alice):
    post = app.post_json("/api/posts/", {"text": "un #cafe\u0301 noir"}, headers=alice.headers).json
    assert post["text"] == "un #caf\u00e9 noir" and post["hashtags"] == ["caf\u00e9"]
    for tag in ("cafe%CC%81", "caf%C3%A9", "CAFE%CC%81"):
        page = app.get(f"/api/hashtags/{tag}/posts/", headers=alice.headers).json
        assert [p["id"] for p in page["results"]] == [post["id"]], tag
    found = app.get("/api/search/posts/", {"q": "cafe\u0301"}, headers=alice.headers).json
    assert [p["id"] for p in found["results"]] == [post["id"]]


def test_a_password_typed_in_another_normal_form_logs_in(app, make_user):
    make_user("noemi", password="mot de passe d\u00e9j\u00e0")
    decomposed = "mot de passe de\u0301ja\u0300"
    app.post_json("/api/token/", {"username": "noemi", "password": decomposed}, status=200)


# 9. Error messages in the API's words, in the one shape.


def test_an_access_token_sent_to_refresh_names_no_library(app, alice):
    body = assert_error(app.post_json("/api/token/refresh/", {"refresh": alice["access"]}, status=401), 401, "refresh")
    assert "jti" not in body["message"] and "claim" not in body["message"]


def test_an_expired_access_token_says_so(app, wsgi_app, alice):
    expired = wsgi_app.registry.tokens._encode(alice["id"], "access", -60)
    body = assert_error(app.get("/api/users/me/", headers={"Authorization": f"Bearer {expired}"}, status=401), 401)
    assert body["message"] == "The access token has expired: refresh it"


def test_invalid_json_is_one_detail(app, alice):
    body = assert_error(
        app.post("/api/posts/", b"{nope", content_type="application/json", headers=alice.headers, status=400), 400, ""
    )
    assert len(body["details"]) == 1 and "Invalid JSON" in body["message"] and "Required" not in body["message"]


def test_invalid_utf8_names_no_codec(app):
    body = assert_error(
        app.post("/api/users/", b'{"username": "\xb7"}', content_type="application/json", status=400), 400
    )
    assert "codec" not in body["message"] and "position" not in body["message"]


def test_a_preflight_from_an_origin_not_allowed_is_json_403(app):
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    response = app.options("/api/posts/", headers=headers, status=403)
    assert_error(response, 403, "Origin")
    assert "Access-Control-Allow-Origin" not in response.headers


# 3 of the issue: what a client notices.


def test_media_may_be_cached_long_their_names_never_reused(app, alice):
    # A deleted post's image stops at the app at once (test_images.py); names are random and
    # never reused, so a cache may keep one for media.max_age (a year) as immutable.
    body, content_type = multipart(("text", None, b"pic"), ("image", "a.png", image_bytes()))
    post = post_raw(app, "/api/posts/", body, content_type, alice.headers, status=201).json
    served = app.get(post["image"]["url"].replace("http://localhost", ""))
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_the_access_log_says_what_was_asked(app, alice, caplog):
    with caplog.at_level(logging.INFO, logger="minitwitter.access"):
        app.get("/api/posts/?page=2&page_size=5", headers=alice.headers)
    [line] = [r for r in caplog.records if r.name == "minitwitter.access"]
    assert line.fields["path"] == "/api/posts/?page=2&page_size=5" and line.fields["route"] == "/api/posts"
