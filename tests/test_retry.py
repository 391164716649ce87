"""A write whose transaction hits a deadlock or serialization failure is run again whole
(pyramid_retry, minitwitter/web/transaction.py), and what it did happens exactly once.

The failures are injected (these tests are about a fault): PostgreSQL itself raises
SQLSTATE 40P01 inside the request's transaction, or the commit fails with 40001.
"""

from pathlib import Path

import psycopg2.errors
from conftest import assert_error
from prometheus_client import REGISTRY
from test_images import image_bytes

from minitwitter.api.views import users
from minitwitter.domain import follows
from minitwitter.store import db as db_module
from minitwitter.web import idempotency

DEADLOCK = "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected (injected)' USING ERRCODE = '40P01'; END $$"


def retries():
    return REGISTRY.get_sample_value("minitwitter_db_retries_total") or 0


def scalar(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def failing(original, times):
    """`original`, after a real deadlock in the request's transaction the first `times` calls."""
    calls = []

    def wrapper(request, *args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            with request.db.cursor() as cur:
                cur.execute(DEADLOCK)
        return original(request, *args, **kwargs)

    wrapper.calls = calls
    return wrapper


def test_a_deadlocked_post_is_run_again_and_its_effects_happen_once(app, alice, db, settings, monkeypatch, media_store):
    # The deadlock comes after everything the create does: image file and row, thumbnail
    # task in the outbox, post, tags and counts; then the Idempotency-Key record.
    media = settings["media.root"]
    files_before = {p for p in Path(media).rglob("*") if p.is_file()}
    rows_before = scalar(db, "SELECT count(*) FROM media_files")
    finish = failing(idempotency.finish, times=1)
    monkeypatch.setattr(idempotency, "finish", finish)
    before = retries()
    headers = {**alice.headers, "Idempotency-Key": "once"}
    response = app.post(
        "/api/posts/", {"text": "#once"}, upload_files=[("image", "a.png", image_bytes())], headers=headers
    )
    assert response.status_int == 201 and len(finish.calls) == 2
    assert retries() == before + 1
    assert scalar(db, "SELECT count(*) FROM posts") == 1
    assert scalar(db, "SELECT count(*) FROM images") == 1
    assert scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'thumbnail'") == 1
    assert scalar(db, "SELECT count(*) FROM idempotency_keys") == 1
    assert scalar(db, "SELECT posts_count FROM users WHERE id = %s", alice["id"]) == 1
    assert scalar(db, "SELECT posts_count FROM hashtags WHERE name = 'once'") == 1
    # the first attempt's file was removed with its rollback: one new file, the post's
    files = {p for p in Path(media).rglob("*") if p.is_file()} - files_before
    if media_store.backend == "local":
        assert [str(f.relative_to(media)) for f in files] == [scalar(db, "SELECT path FROM images")]
    else:  # rolled back with its transaction
        assert not files and rows_before == 0
        assert scalar(db, "SELECT array_agg(path) FROM media_files") == [scalar(db, "SELECT path FROM images")]
    # and the key answers what the retried request did
    again = app.post(
        "/api/posts/", {"text": "#once"}, upload_files=[("image", "a.png", image_bytes())], headers=headers
    )
    assert again.json == response.json and scalar(db, "SELECT count(*) FROM posts") == 1


def test_a_follow_whose_commit_fails_is_run_again_and_emails_once(app, alice, bob, db, monkeypatch):
    commit, failures = db_module.CountingConnection.commit, []

    def commit_once_failing(conn):
        if not failures:
            failures.append(1)
            conn.rollback()
            raise psycopg2.errors.SerializationFailure("could not serialize access (injected)")
        return commit(conn)

    monkeypatch.setattr(db_module.CountingConnection, "commit", commit_once_failing)
    before = retries()
    response = app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert response.json["followers_count"] == 1 and retries() == before + 1
    assert scalar(db, "SELECT count(*) FROM follows") == 1
    assert scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'follow_email'") == 1
    assert scalar(db, "SELECT followers_count FROM users WHERE id = %s", bob["id"]) == 1
    assert scalar(db, "SELECT following_count FROM users WHERE id = %s", alice["id"]) == 1


def test_when_every_attempt_deadlocks_the_answer_is_503_and_nothing_is_written(
    app, alice, bob, db, settings, monkeypatch
):
    changed = failing(follows._follows_changed, times=99)
    monkeypatch.setattr(follows, "_follows_changed", changed)
    response = app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=503)
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert len(changed.calls) == 3  # retry.attempts
    assert scalar(db, "SELECT count(*) FROM follows") == 0
    assert scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'follow_email'") == 0
    assert scalar(db, "SELECT followers_count FROM users WHERE id = %s", bob["id"]) == 0


def test_a_retried_write_counts_once_against_the_rate_limit(make_app, alice, bob, monkeypatch):
    limited = make_app(**{"ratelimit.writes": "5/300"})
    monkeypatch.setattr(follows, "_follows_changed", failing(follows._follows_changed, times=1))
    response = limited.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert response.headers["X-RateLimit-Remaining"] == "4"


def test_reads_are_not_run_again(app, alice, monkeypatch):
    # A read locks nothing, so it cannot deadlock: it runs once (and its body is not copied).
    calls = []

    def deadlocked(request):
        calls.append(1)
        with request.db.cursor() as cur:
            cur.execute(DEADLOCK)

    monkeypatch.setattr(users, "profile", lambda request, *a, **k: deadlocked(request))
    response = app.get(f"/api/users/{alice['id']}/", headers=alice.headers, status=503)
    assert_error(response, 503)
    assert calls == [1]
