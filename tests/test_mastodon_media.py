"""The Mastodon face's media (mastodon/media.py): an upload ahead of its status, through the
native image checks; a status taking it; its entity; the beat job removing uploads no status
took within a day. Every test runs on each media.store backend (tests/conftest.py)."""

import io
import threading

import pytest
import webtest
from conftest import PASSWORD
from PIL import Image
from test_images import image_bytes, outbox_ids
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

from minitwitter.worker.tasks import deliver, purge_unattached_media

pytestmark = pytest.mark.usefixtures("media_store")
ALL = "read write follow push"


@pytest.fixture
def tokens(app, make_user):
    """alice's and bob's Mastodon tokens."""
    make_user("alice"), make_user("bob")
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1]


def upload(app, token, data=None, status=200, **fields):
    data = image_bytes("JPEG", (800, 600)) if data is None else data
    return app.post(
        "/api/v2/media", fields, upload_files=[("file", "photo.jpg", data)], headers=bearer(token), status=status
    )


def local(url):
    return url.replace("http://localhost", "")


def test_an_upload_then_a_status_that_takes_it(app, tokens, db, media_store):
    alice, bob = tokens
    media = upload(app, alice, description="A red square").json
    assert media["type"] == "image" and media["description"] == "A red square" and media["blurhash"] is None
    assert media["meta"]["original"] == {"width": 800, "height": 600, "size": "800x600", "aspect": 800 / 600}
    assert media["preview_url"] == media["url"]  # until the worker has made the thumbnail
    served = app.get(local(media["url"]))  # a client previews it before posting
    assert Image.open(io.BytesIO(served.body)).size == (800, 600)
    assert app.get(f"/api/v1/media/{media['id']}", headers=bearer(alice)).json == media
    assert_mastodon_error(app.get(f"/api/v1/media/{media['id']}", headers=bearer(bob), status=404), 404)

    [outbox_id] = outbox_ids(db, "thumbnail")
    assert deliver.run(outbox_id) is True
    described = app.put_json(f"/api/v1/media/{media['id']}", {"description": "Red"}, headers=bearer(alice)).json
    assert described["description"] == "Red" and described["preview_url"] != described["url"]
    assert described["meta"]["small"]["width"] == 320
    assert Image.open(io.BytesIO(app.get(local(described["preview_url"])).body)).size == (320, 240)

    status = app.post_json(
        "/api/v1/statuses", {"status": "a picture", "media_ids": [media["id"]]}, headers=bearer(alice)
    ).json
    assert status["media_attachments"] == [described]
    assert app.get(f"/api/v1/statuses/{status['id']}", headers=bearer(bob)).json["media_attachments"] == [described]
    jwt = app.post_json("/api/token/", {"username": "bob", "password": PASSWORD}).json["access"]
    native = app.get(f"/api/posts/{status['id']}/", headers=bearer(jwt)).json["image"]
    assert native["url"] == media["url"] and native["width"] == 800
    # Taken: no longer an upload to read or change, nor to take again.
    assert_mastodon_error(app.get(f"/api/v1/media/{media['id']}", headers=bearer(alice), status=404), 404)
    assert_mastodon_error(
        app.put_json(f"/api/v1/media/{media['id']}", {"description": "x"}, headers=bearer(alice), status=404), 404
    )
    again = app.post_json(
        "/api/v1/statuses", {"status": "again", "media_ids": [media["id"]]}, headers=bearer(alice), status=422
    )
    assert "media_ids" in assert_mastodon_error(again, 422)
    # The post's delete stops its image being served, as a native post's.
    app.delete(f"/api/v1/statuses/{status['id']}", headers=bearer(alice))
    app.get(local(media["url"]), status=404)


def test_a_status_takes_only_its_authors_pending_upload_once(app, tokens, db):
    alice, bob = tokens
    mine, other = upload(app, alice).json, upload(app, alice).json
    for ids in ([mine["id"], other["id"]], ["abc"], ["99999999"]):
        answer = app.post(
            "/api/v1/statuses", [("status", "x"), *[("media_ids[]", i) for i in ids]], headers=bearer(alice), status=422
        )
        assert "media_ids" in assert_mastodon_error(answer, 422)
    theirs = app.post("/api/v1/statuses", {"status": "x", "media_ids[]": mine["id"]}, headers=bearer(bob), status=422)
    assert "media_ids" in assert_mastodon_error(theirs, 422)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 0  # nothing posted without its image
    taken = app.post("/api/v1/statuses", {"status": "x", "media_ids[]": mine["id"]}, headers=bearer(alice)).json
    assert [m["id"] for m in taken["media_attachments"]] == [mine["id"]]


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GIF89a this is not really a gif", 422),
        (b"", 422),
        (image_bytes()[:60], 422),
        (image_bytes() + b"<script>alert(1)</script>", 422),
        (image_bytes("BMP"), 422),
    ],
    ids=["garbage", "empty", "truncated", "polyglot", "bmp"],
)
def test_bad_files_are_refused_as_the_native_upload_refuses_them(app, tokens, db, data, status):
    alice, _bob = tokens
    assert "file" in assert_mastodon_error(upload(app, alice, data, status=status), status)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM images")
        assert cur.fetchone()[0] == 0


def test_an_image_over_the_limits_is_refused(app, tokens):
    alice, _bob = tokens
    noise = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), bytes(range(256)) * (1400 * 1400 * 3 // 256 + 1)).save(noise, "PNG")
    data = noise.getvalue() + b"\0" * (5 * 1024 * 1024)
    assert "file" in assert_mastodon_error(upload(app, alice, data, status=413), 413)


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"description": "x" * 1501}, "description"),
        ({"description": "nul\x00"}, "description"),
    ],
)
def test_bad_input_is_422_naming_it(app, tokens, fields, name):
    alice, _bob = tokens
    assert name in assert_mastodon_error(upload(app, alice, status=422, **fields), 422)
    media = upload(app, alice).json
    answer = app.put_json(f"/api/v1/media/{media['id']}", fields, headers=bearer(alice), status=422)
    assert name in assert_mastodon_error(answer, 422)


def test_a_file_is_needed_as_a_file(app, tokens):
    alice, _bob = tokens
    for answer in (
        app.post("/api/v2/media", {"file": "not a file"}, headers=bearer(alice), status=422),
        app.post_json("/api/v2/media", {"file": "aGVsbG8="}, headers=bearer(alice), status=422),
        app.post("/api/v2/media", {"description": "none"}, headers=bearer(alice), status=422),
    ):
        assert "file" in assert_mastodon_error(answer, 422)


@pytest.mark.parametrize(
    "method, path", [("POST", "/api/v2/media"), ("POST", "/api/v1/media"), ("GET", "/api/v1/media/1")]
)
def test_media_need_a_token_with_write_media(app, tokens, method, path):
    _client, reader = token_for(app, scope="read")
    assert_mastodon_error(app.request(path, method=method, status=401), 401)
    assert_mastodon_error(app.request(path, method=method, headers=bearer(reader), status=403), 403)
    _client, writer = token_for(app, scope="write:media")
    assert upload(app, writer).json["type"] == "image"


def test_uploads_no_status_took_within_a_day_are_removed_with_their_files(app, tokens, db, media_store):
    alice, _bob = tokens
    old, recent, taken = (upload(app, alice).json for _ in range(3))
    app.post("/api/v1/statuses", {"status": "x", "media_ids[]": taken["id"]}, headers=bearer(alice))
    for outbox_id in outbox_ids(db, "thumbnail"):
        deliver.run(outbox_id)
    with db.cursor() as cur:
        cur.execute("UPDATE images SET pending_since = now() - interval '25 hours' WHERE id = %s", (old["id"],))
        cur.execute("UPDATE images SET created_at = now() - interval '25 hours' WHERE id = %s", (taken["id"],))
        cur.execute("SELECT id, path, thumbnail_path FROM images ORDER BY id")
        rows = cur.fetchall()
    assert all(thumbnail for _id, _path, thumbnail in rows)
    paths = [path for _id, *files in rows for path in files]
    assert purge_unattached_media.run() == 1
    assert media_store(*paths) == [False, False, True, True, True, True]
    with db.cursor() as cur:
        cur.execute("SELECT id FROM images ORDER BY id")
        assert [str(r[0]) for r in cur.fetchall()] == [recent["id"], taken["id"]]
    app.get(local(old["url"]), status=404)
    assert_mastodon_error(app.get(f"/api/v1/media/{old['id']}", headers=bearer(alice), status=404), 404)
    assert purge_unattached_media.run() == 0


def test_an_edit_keeps_its_media_and_refuses_to_change_them(app, tokens):
    alice, _bob = tokens
    media, other = upload(app, alice).json, upload(app, alice).json
    status = app.post_json("/api/v1/statuses", {"status": "one", "media_ids": [media["id"]]}, headers=bearer(alice))
    path = f"/api/v1/statuses/{status.json['id']}"
    kept = app.put_json(path, {"status": "two", "media_ids": [media["id"]]}, headers=bearer(alice)).json
    assert [m["id"] for m in kept["media_attachments"]] == [media["id"]] and "two" in kept["content"]
    assert (
        app.put_json(path, {"status": "three"}, headers=bearer(alice)).json["media_attachments"]
        == (kept["media_attachments"])
    )
    for ids in ([other["id"]], [media["id"], other["id"]]):
        answer = app.put_json(path, {"status": "four", "media_ids": ids}, headers=bearer(alice), status=422)
        assert "media_ids" in assert_mastodon_error(answer, 422)
    assert "three" in app.get(path, headers=bearer(alice)).json["content"]


def test_an_upload_is_taken_once_under_concurrent_statuses(app, wsgi_app, tokens, db):
    """Statuses naming one upload, released together: one takes it, the others are 422 and
    post nothing (the row's lock orders them: sql/images.sql attach_upload)."""
    alice, _bob = tokens
    for _ in range(3):
        media = upload(app, alice).json
        statuses, barrier = [], threading.Barrier(4)

        def run(media=media, statuses=statuses, barrier=barrier):
            barrier.wait()
            answer = webtest.TestApp(wsgi_app).post_json(
                "/api/v1/statuses", {"status": "race", "media_ids": [media["id"]]}, headers=bearer(alice), status="*"
            )
            statuses.append(answer.status_int)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 422, 422, 422]
    with db.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT image_id) FROM posts")
        assert cur.fetchone() == (3, 3)


def test_an_idempotency_key_replays_a_status_with_its_media_and_refuses_other_media(app, tokens):
    alice, _bob = tokens
    media = upload(app, alice).json
    headers = {**bearer(alice), "Idempotency-Key": "with-media"}
    body = {"status": "once", "media_ids": [media["id"]]}
    first = app.post_json("/api/v1/statuses", body, headers=headers).json
    again = app.post_json("/api/v1/statuses", body, headers=headers)
    assert again.json == first and again.headers["Idempotent-Replayed"] == "true"
    other = app.post_json("/api/v1/statuses", {"status": "once"}, headers=headers, status=422)
    assert "Idempotency-Key" in assert_mastodon_error(other, 422)
