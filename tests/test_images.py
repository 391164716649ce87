"""One image per post through the API: upload, thumbnail task, serving, deletion, purge."""

import io
from pathlib import Path

import pytest
from conftest import assert_error
from PIL import Image

from minitwitter.worker.tasks import celery_app, deliver, purge_deleted_posts


def image_bytes(fmt="PNG", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def upload(app, user, data, filename="photo.png", text="with a picture", status=201):
    return app.post(
        "/api/posts/", {"text": text}, upload_files=[("image", filename, data)], headers=user.headers, status=status
    )


def outbox_ids(db, kind):
    with db.cursor() as cur:
        cur.execute("SELECT id FROM outbox WHERE kind = %s ORDER BY id", (kind,))
        return [row[0] for row in cur.fetchall()]


def test_post_with_an_image_then_its_thumbnail(app, alice, db):
    post = upload(app, alice, image_bytes("JPEG", (800, 600)), filename="../../etc/passwd.jpg").json
    image = post["image"]
    assert (image["width"], image["height"], image["content_type"]) == (800, 600, "image/jpeg")
    assert "passwd" not in image["url"] and image["thumbnail_url"] is None
    served = app.get(image["url"].replace("http://localhost", ""))
    assert served.content_type == "image/jpeg" and Image.open(io.BytesIO(served.body)).size == (800, 600)
    assert served.headers["X-Content-Type-Options"] == "nosniff"

    # The thumbnail comes from an outbox task, after commit.
    [outbox_id] = outbox_ids(db, "thumbnail")
    assert deliver.run(outbox_id) is True
    thumb_url = app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["image"]["thumbnail_url"]
    thumbnail = Image.open(io.BytesIO(app.get(thumb_url.replace("http://localhost", "")).body))
    assert max(thumbnail.size) == 320


def test_a_deleted_posts_image_is_no_longer_served(app, alice):
    post = upload(app, alice, image_bytes()).json
    url = post["image"]["url"].replace("http://localhost", "")
    app.get(url, status=200)
    app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    assert_error(app.get(url, status=404), 404)


@pytest.mark.parametrize(
    "data, code",
    [
        (b"GIF89a this is not really a gif", 400),
        (b"", 400),
        (image_bytes()[:60], 400),  # truncated
        (image_bytes() + b"<script>alert(1)</script>", 400),  # polyglot
        (image_bytes("BMP"), 400),
    ],
    ids=["garbage", "empty", "truncated", "polyglot", "bmp"],
)
def test_bad_images_are_refused_and_nothing_is_written(app, alice, db, data, code):
    assert_error(upload(app, alice, data, status=code), code, "image")
    with db.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM images)")
        assert cur.fetchone() == (0, 0)


def test_image_over_5_mb_is_413(app, alice):
    noise = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), bytes(range(256)) * (1400 * 1400 * 3 // 256 + 1)).save(noise, "PNG")
    data = noise.getvalue() + b"\0" * (5 * 1024 * 1024)  # over 5 MB, under the 6 MB body limit
    assert_error(upload(app, alice, data, status=413), 413, "image")


def test_image_as_a_plain_field_is_400(app, alice):
    response = app.post("/api/posts/", {"text": "x", "image": "not a file"}, headers=alice.headers, status=400)
    assert_error(response, 400, "image")
    response = app.post_json("/api/posts/", {"text": "x", "image": "aGVsbG8="}, headers=alice.headers, status=400)
    assert_error(response, 400, "image")


def test_media_paths_cannot_escape(app):
    assert_error(app.get("/media/../setup.py", status=404), 404)
    assert_error(app.get("/media/%2e%2e/%2e%2e/etc/passwd", status=404), 404)
    assert_error(app.get("/media/ab/nothing.png", status=404), 404)


def test_purge_takes_only_long_deleted_posts_and_their_files(app, alice, db):
    old = upload(app, alice, image_bytes()).json
    recent = upload(app, alice, image_bytes()).json
    live = upload(app, alice, image_bytes()).json
    for post in (old, recent):
        app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    with db.cursor() as cur:
        cur.execute("UPDATE posts SET deleted_at = now() - interval '31 days' WHERE id = %s", (old["id"],))
        cur.execute("SELECT path FROM images ORDER BY id")
        paths = [row[0] for row in cur.fetchall()]
    root = celery_app.minitwitter_settings["media.root"]

    assert purge_deleted_posts.run() == 1
    with db.cursor() as cur:
        cur.execute("SELECT id FROM posts ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == [recent["id"], live["id"]]
        cur.execute("SELECT count(*) FROM images")
        assert cur.fetchone()[0] == 2
    assert [Path(root, p).exists() for p in paths] == [False, True, True]
    assert purge_deleted_posts.run() == 0
