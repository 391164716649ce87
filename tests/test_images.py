"""One image per post through the API: upload, thumbnail task, serving, deletion, purge.

Every test runs on each media.store backend (the media_store fixture, tests/conftest.py):
files under media.root, and the media_files table in PostgreSQL."""

import io
from pathlib import Path

import pytest
from conftest import PASSWORD, assert_error
from PIL import Image

from minitwitter.domain import posts as posts_domain
from minitwitter.worker.tasks import celery_app, deliver, purge_deleted_posts

pytestmark = pytest.mark.usefixtures("media_store")


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


def local_files():
    root = Path(celery_app.minitwitter_settings["media.root"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_post_with_an_image_then_its_thumbnail(app, alice, db, media_store):
    before = local_files()
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
    paths = [image["url"].split("/media/")[1], thumb_url.split("/media/")[1]]
    assert media_store(*paths) == [True, True]
    if media_store.backend == "postgres":  # the worker read the original from the database
        assert local_files() == before


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


def test_purge_takes_only_long_deleted_posts_and_their_files(app, alice, db, media_store):
    old = upload(app, alice, image_bytes()).json
    recent = upload(app, alice, image_bytes()).json
    live = upload(app, alice, image_bytes()).json
    for post in (old, recent):
        app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    with db.cursor() as cur:
        cur.execute("UPDATE posts SET deleted_at = now() - interval '31 days' WHERE id = %s", (old["id"],))
        cur.execute("SELECT path FROM images ORDER BY id")
        paths = [row[0] for row in cur.fetchall()]

    assert purge_deleted_posts.run() == 1
    with db.cursor() as cur:
        cur.execute("SELECT id FROM posts ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == [recent["id"], live["id"]]
        cur.execute("SELECT count(*) FROM images")
        assert cur.fetchone()[0] == 2
    assert media_store(*paths) == [False, True, True]
    assert purge_deleted_posts.run() == 0


def stored_everywhere(db):
    """Every stored file of either backend: under media.root, and in media_files."""
    with db.cursor() as cur:
        cur.execute("SELECT path FROM media_files")
        return local_files() | {row[0] for row in cur.fetchall()}


def test_media_are_cached_long_with_an_etag_and_a_304(app, alice, db):
    post = upload(app, alice, image_bytes()).json
    [outbox_id] = outbox_ids(db, "thumbnail")
    deliver.run(outbox_id)
    image = app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["image"]
    for url in (image["url"], image["thumbnail_url"]):
        path = url.replace("http://localhost", "")
        served = app.get(path)
        name = path.rsplit("/", 1)[1]
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert served.headers["ETag"] == f'"{name}"'
        again = app.get(path, headers={"If-None-Match": served.headers["ETag"]}, status=304)
        assert again.body == b"" and again.headers["ETag"] == served.headers["ETag"]
        assert again.headers["Cache-Control"] == served.headers["Cache-Control"]
        other = app.get(path, headers={"If-None-Match": '"something-else"'}, status=200)
        assert other.body == served.body
    # a deleted post's image is a 404, whatever the client holds
    app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    etag = f'"{image["url"].rsplit("/", 1)[1]}"'
    assert_error(
        app.get(image["url"].replace("http://localhost", ""), headers={"If-None-Match": etag}, status=404), 404
    )


def test_an_upload_rolled_back_leaves_nothing_stored(app, alice, db, monkeypatch):
    before = stored_everywhere(db)

    def fails(*args, **kwargs):  # after the image and its row, before the commit
        raise RuntimeError("a fault after the image was stored")

    monkeypatch.setattr(posts_domain, "mentioned", fails)
    app.post(
        "/api/posts/",
        {"text": "x"},
        upload_files=[("image", "a.png", image_bytes())],
        headers=alice.headers,
        status=500,
    )
    assert stored_everywhere(db) == before
    with db.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM images)")
        assert cur.fetchone() == (0, 0)


def test_no_image_row_names_a_missing_file(app, alice, bob, db, media_store):
    before = stored_everywhere(db)
    posts = [upload(app, user, image_bytes()).json for user in (alice, bob, alice)]
    for outbox_id in outbox_ids(db, "thumbnail"):
        deliver.run(outbox_id)
    app.delete(f"/api/posts/{posts[1]['id']}/", headers=bob.headers, status=204)
    app.patch("/api/users/me/", upload_files=[("avatar", "a.png", image_bytes())], headers=alice.headers)
    app.patch("/api/users/me/", upload_files=[("avatar", "b.png", image_bytes())], headers=alice.headers)
    with db.cursor() as cur:
        cur.execute(
            "SELECT path FROM images UNION ALL SELECT thumbnail_path FROM images WHERE thumbnail_path IS NOT NULL"
        )
        named = sorted(row[0] for row in cur.fetchall())
    assert len(named) == 7 and all(media_store(*named))
    # and nothing is stored that no row names (the replaced avatar went with its row)
    assert stored_everywhere(db) - before == set(named)


def test_a_deleted_accounts_images_and_avatar_leave_the_store(app, alice, bob, db, media_store):
    mine = upload(app, alice, image_bytes()).json["image"]["url"].split("/media/")[1]
    avatar = app.patch("/api/users/me/", upload_files=[("avatar", "a.png", image_bytes())], headers=alice.headers)
    avatar = avatar.json["avatar"]["url"].split("/media/")[1]
    theirs = upload(app, bob, image_bytes()).json["image"]["url"].split("/media/")[1]
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=alice.headers, status=204)
    assert media_store(mine, avatar, theirs) == [False, False, True]
