"""A backup restores a working service, its media included (media.store = postgres): `make
backup`, the database wiped, `make restore`, and the images read back through HTTP."""

import io
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from minitwitter.worker.tasks import deliver

ROOT = Path(__file__).resolve().parent.parent


def make(target, database_url, backup):
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(["make", "-s", "-C", str(ROOT), target, f"BACKUP={backup}"], env=env, check=True, timeout=120)


@pytest.mark.parametrize("media_store", ["postgres"], indirect=True)
def test_backup_wipe_restore_then_images_are_served(app, alice, db, services, media_store, redis_client, tmp_path):
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(picture, "JPEG")
    post = app.post(
        "/api/posts/", {"text": "kept"}, upload_files=[("image", "a.jpg", picture.getvalue())], headers=alice.headers
    ).json
    with db.cursor() as cur:
        cur.execute("SELECT id FROM outbox WHERE kind = 'thumbnail'")
        deliver.run(cur.fetchone()[0])
    image = app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["image"]
    urls = [image["url"].replace("http://localhost", ""), image["thumbnail_url"].replace("http://localhost", "")]
    before = [app.get(url).body for url in urls]

    backup = tmp_path / "minitwitter.dump"
    make("backup", services["DATABASE_URL"], backup)
    with db.cursor() as cur:  # wiped: every table, media_files included, and the cache
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    redis_client.flushdb()
    assert app.get(urls[0], expect_errors=True).status_int >= 400

    make("restore", services["DATABASE_URL"], backup)
    assert [app.get(url).body for url in urls] == before
    assert Image.open(io.BytesIO(before[0])).size == (640, 480)
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["image"] == image
