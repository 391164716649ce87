"""PATCH /api/v1/accounts/update_credentials (mastodon/accounts.py): display_name, note and
avatar, as JSON or multipart, through the native profile write; the same rules as the native
PATCH /api/users/me/, each refusal a 4xx naming the field."""

import io

import pytest
from PIL import Image
from test_images import image_bytes
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

pytestmark = pytest.mark.usefixtures("media_store")
PATH = "/api/v1/accounts/update_credentials"


@pytest.fixture
def token(app, alice):
    return token_for(app, scope="read write")[1]


def test_json_and_multipart_change_the_profile_both_faces_read(app, alice, token):
    changed = app.patch_json(PATH, {"display_name": "Alice A.", "note": "Hello <b>\nworld"}, headers=bearer(token)).json
    assert changed["display_name"] == "Alice A." and changed["note"] == "<p>Hello &lt;b&gt;<br>world</p>"
    assert changed["source"]["note"] == "Hello <b>\nworld"
    assert app.get("/api/users/me/", headers=alice.headers).json["display_name"] == "Alice A."  # the native write
    seen = app.get(f"/api/v1/accounts/{alice['id']}", headers=bearer(token)).json  # no stale cached profile
    assert seen["display_name"] == "Alice A." and seen["avatar"].endswith("/avatars/original/missing.png")

    answer = app.patch(
        PATH,
        {"display_name": "Alice", "locked": "false", "bot": "false"},
        upload_files=[("avatar", "me.png", image_bytes("PNG", (120, 90)))],
        headers=bearer(token),
    ).json
    assert answer["display_name"] == "Alice" and answer["note"] == changed["note"]  # a field not given stays
    assert "/media/" in answer["avatar"] and answer["avatar"] == answer["avatar_static"]
    served = app.get(answer["avatar"].replace("http://localhost", ""))
    assert Image.open(io.BytesIO(served.body)).size == (120, 90)
    assert app.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).json["avatar"] == answer["avatar"]
    cleared = app.patch_json(PATH, {"note": ""}, headers=bearer(token)).json
    assert cleared["note"] == "" and cleared["avatar"] == answer["avatar"]


@pytest.mark.parametrize(
    "body, name",
    [
        ({"display_name": "x" * 51}, "display_name"),
        ({"display_name": "two\nlines"}, "display_name"),
        ({"display_name": "a\u2028b"}, "display_name"),
        ({"note": "x" * 301}, "note"),
        ({"note": "nul\x00"}, "note"),
        ({"note": 42}, "note"),
        ({"avatar": "aGVsbG8="}, "avatar"),
    ],
)
def test_bad_input_is_a_422_naming_it_and_changes_nothing(app, alice, token, body, name):
    answer = app.patch_json(PATH, {"display_name": "kept?", **body}, headers=bearer(token), status=422)
    assert name in assert_mastodon_error(answer, 422)
    assert app.get("/api/users/me/", headers=alice.headers).json["display_name"] in ("", None)


def test_a_bad_avatar_is_refused_as_the_native_one(app, alice, token):
    bad = app.patch(PATH, upload_files=[("avatar", "x.png", b"not an image")], headers=bearer(token), status=422)
    assert "avatar" in assert_mastodon_error(bad, 422)
    header = app.patch(PATH, upload_files=[("header", "h.png", image_bytes())], headers=bearer(token), status=400)
    assert "header" in assert_mastodon_error(header, 400)  # no header images: only avatar may be a file


def test_it_needs_write_accounts(app, alice):
    assert_mastodon_error(app.patch_json(PATH, {"note": "x"}, status=401), 401)
    _client, reader = token_for(app, scope="read write:statuses")
    assert_mastodon_error(app.patch_json(PATH, {"note": "x"}, headers=bearer(reader), status=403), 403)
    _client, granular = token_for(app, scope="write:accounts")
    assert app.patch_json(PATH, {"note": "x"}, headers=bearer(granular)).json["note"] == "<p>x</p>"
