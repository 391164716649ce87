"""Form bodies as the ingress parses them (minitwitter/ingress.py, with the `multipart`
library since the cgi module left Python 3.13): every malformed or hostile body is one 4xx
in the API's error shape naming what it can, and nothing is written; the forms clients
send still work. test_hostile_input.py has the classes shared with JSON bodies."""

import pytest
from conftest import assert_error
from test_hostile_input import count, multipart, post_raw
from test_images import image_bytes

MULTIPART = "multipart/form-data; boundary=B"
FORM = "application/x-www-form-urlencoded"


def part(disposition, content=b"hi", headers=b""):
    return b"--B\r\nContent-Disposition: " + disposition + b"\r\n" + headers + b"\r\n" + content + b"\r\n"


TEXT = part(b'form-data; name="text"')
END = b"--B--\r\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(TEXT, id="no closing boundary"),
        pytest.param(b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi', id="cut short"),
        pytest.param(b"text=hi", id="no boundary in the body"),
        pytest.param(TEXT.replace(b"\r\n", b"\n") + END, id="bare LF line breaks"),
        pytest.param(b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n" + END, id="no Content-Disposition"),
        pytest.param(part(b'attachment; name="text"') + END, id="not form-data"),
        pytest.param(part(b'form-data; name="text"', headers=b"X: " + b"x" * 5000 + b"\r\n") + END, id="huge header"),
        pytest.param(TEXT + b"--Bxx\r\n" + END, id="bytes after a boundary"),
    ],
)
def test_a_malformed_multipart_body_is_400(app, alice, db, body):
    response = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=400)
    assert_error(response, 400, "")
    assert count(db) == 0


@pytest.mark.parametrize("boundary", ["B ", "B\x7f", "\u00e9", "x" * 202, '""'])
def test_a_boundary_that_is_not_one_is_400(app, alice, db, boundary):
    header = f'multipart/form-data; boundary="{boundary}"' if boundary != '""' else "multipart/form-data; boundary="
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--{boundary}--\r\n'
    response = app.request(
        "/api/posts/",
        method="POST",
        body=body.encode("utf-8"),
        headers={**alice.headers, "Content-Type": header.encode("utf-8").decode("latin-1")},
        status=400,
    )
    assert_error(response, 400, "Content-Type")
    assert count(db) == 0


@pytest.mark.parametrize(
    "disposition",
    [b"form-data", b'form-data; filename="a.png"', b'form-data; name=""; filename="a.png"'],
    ids=["none", "file", "empty-file"],
)
def test_a_part_without_a_name_is_400(app, alice, db, disposition):
    body = TEXT + part(disposition, image_bytes()) + END
    response = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=400)
    assert "needs a name" in assert_error(response, 400, "")["message"]
    assert count(db) == 0


def test_a_text_part_named_empty_is_an_unknown_field_and_ignored(app, alice, db):
    """name="" is a name, the empty one: the document allows fields it does not list, and
    unknown fields are ignored (schemathesis sends such a property)."""
    body = TEXT + part(b'form-data; name=""', b"false") + END
    post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=201)
    assert count(db) == 1


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"&".join(b"f%d=1" % i for i in range(1001)) + b"&text=hi", FORM),
        (b"".join(part(b'form-data; name="f%d"' % i) for i in range(1001)) + TEXT + END, MULTIPART),
    ],
    ids=["urlencoded", "multipart"],
)
def test_over_a_thousand_fields_is_400(app, alice, db, body, content_type):
    assert_error(post_raw(app, "/api/posts/", body, content_type, alice.headers, status=400), 400, "")
    assert count(db) == 0


@pytest.mark.parametrize(
    "body, content_type",
    [(b"te%FFxt=hi&text=hi", FORM), (part(b'form-data; name="te\xffxt"') + TEXT + END, MULTIPART)],
    ids=["urlencoded", "multipart"],
)
def test_a_field_name_that_is_not_utf8_is_400(app, alice, db, body, content_type):
    response = post_raw(app, "/api/posts/", body, content_type, alice.headers, status=400)
    assert "field name" in assert_error(response, 400, "")["message"]
    assert count(db) == 0


def test_a_file_name_that_is_not_utf8_is_400_naming_the_field(app, alice, db):
    body = TEXT + part(b'form-data; name="image"; filename="caf\xe9.png"', image_bytes()) + END
    response = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=400)
    assert "file name" in assert_error(response, 400, "image")["message"]
    assert count(db) == 0 and count(db, "SELECT count(*) FROM images") == 0


def test_a_text_part_in_another_charset_is_415_naming_it(app, alice, db):
    body = part(b'form-data; name="text"', b"caf\xe9", b"Content-Type: text/plain; charset=latin-1\r\n") + END
    response = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=415)
    assert_error(response, 415, "text")
    assert count(db) == 0


@pytest.mark.parametrize(
    "body, content_type",
    [(b"text=a%00b", FORM), (part(b'form-data; name="text"', b"a\x00b") + END, MULTIPART)],
    ids=["urlencoded", "multipart"],
)
def test_a_nul_byte_in_a_text_field_is_400_naming_it(app, alice, db, body, content_type):
    assert_error(post_raw(app, "/api/posts/", body, content_type, alice.headers, status=400), 400, "text")
    assert count(db) == 0


@pytest.mark.parametrize(
    "path, field, others",
    [
        ("/api/posts/", "text", []),
        ("/api/users/", "username", [("email", None, b"m@example.com"), ("password", None, b"a long password")]),
        ("/api/token/", "password", [("username", None, b"alice")]),
    ],
)
def test_a_multipart_text_field_given_twice_is_400_naming_it(app, alice, db, path, field, others):
    body, content_type = multipart((field, None, b"one"), (field, None, b"two"), *others)
    assert_error(post_raw(app, path, body, content_type, alice.headers, status=400), 400, field)
    assert count(db) == 0 and count(db, "SELECT count(*) FROM users") == 1


def test_an_image_over_the_body_limit_is_413_before_parsing(app, alice, db, settings):
    limit = app.app.registry.settings["limits.max_body_bytes"]
    body, content_type = multipart(("text", None, b"big"), ("image", "a.png", b"\x00" * limit))
    assert_error(post_raw(app, "/api/posts/", body, content_type, alice.headers, status=413), 413)
    assert count(db) == 0


def test_an_empty_file_input_is_no_file(app, alice):
    empty = part(b'form-data; name="image"; filename=""', b"", b"Content-Type: application/octet-stream\r\n")
    body = TEXT + empty + END
    post = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=201).json
    assert post["text"] == "hi" and post["image"] is None


def test_a_form_as_browsers_send_it_still_works(app, alice):
    """Preamble, quoted names, a part Content-Type with charset=UTF-8, the file before the
    text, an unknown field: all as before."""
    body = (
        b"a preamble clients may send\r\n"
        + part(b'form-data; name="image"; filename="p.png"', image_bytes(), b"Content-Type: image/png\r\n")
        + part(b'form-data; name="utm"', b"x")
        + part(b'form-data; name="text"', "café #lisboa".encode(), b"Content-Type: text/plain; charset=UTF-8\r\n")
        + END
        + b"an epilogue"
    )
    post = post_raw(app, "/api/posts/", body, MULTIPART, alice.headers, status=201).json
    assert post["text"] == "café #lisboa" and post["hashtags"] == ["lisboa"] and post["image"]


def test_a_json_body_has_no_form(app, alice):
    """request.POST is the ingress's parse only: a JSON body has no form fields, so a JSON
    `image` is not a file."""
    response = app.post_json("/api/posts/", {"text": "hi", "image": "a.png"}, headers=alice.headers, status=400)
    assert "multipart/form-data" in assert_error(response, 400, "image")["message"]
