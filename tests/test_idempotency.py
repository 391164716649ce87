"""Idempotency-Key on POST /api/posts/."""

from concurrent.futures import ThreadPoolExecutor

import webtest
from conftest import assert_error

from minitwitter.worker.tasks import purge_idempotency_keys


def post(app, user, key, text="hello", status=201):
    headers = {**user.headers, "Idempotency-Key": key}
    return app.post_json("/api/posts/", {"text": text}, headers=headers, status=status)


def count_posts(db):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        return cur.fetchone()[0]


def test_a_retry_gets_the_same_answer_and_no_second_post(app, alice, db):
    first = post(app, alice, "key-1")
    again = post(app, alice, "key-1")
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert count_posts(db) == 1
    post(app, alice, "key-2")  # another key: another post
    assert count_posts(db) == 2


def test_same_key_other_body_is_422(app, alice, db):
    post(app, alice, "key-1", text="one")
    assert_error(post(app, alice, "key-1", text="two", status=422), 422, "Idempotency-Key")
    assert count_posts(db) == 1


def test_keys_are_per_user(app, alice, bob, db):
    a, b = post(app, alice, "shared"), post(app, bob, "shared")
    assert a.json["id"] != b.json["id"] and count_posts(db) == 2


def test_bad_keys_are_400(app, alice):
    assert_error(post(app, alice, "x" * 256, status=400), 400, "Idempotency-Key")
    assert_error(post(app, alice, "has space", status=400), 400, "Idempotency-Key")


def test_20_concurrent_retries_make_one_post(wsgi_app, alice, db):
    def attempt(_):
        response = webtest.TestApp(wsgi_app).post_json(
            "/api/posts/", {"text": "once"}, headers={**alice.headers, "Idempotency-Key": "race"}, expect_errors=True
        )
        return response.status_int, response.json.get("id")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert count_posts(db) == 1
    assert {status for status, _ in results} <= {201, 409}
    assert len({post_id for status, post_id in results if status == 201}) == 1


def test_while_the_first_is_in_flight_a_retry_is_409(app, alice, db):
    with db.cursor() as cur:  # hold the key's lock as an in-flight request would
        cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, %s))", ("busy", alice["id"]))
        response = post(app, alice, "busy", status=409)
        assert response.headers["Retry-After"] == "1"
        cur.execute("SELECT pg_advisory_unlock(hashtextextended(%s, %s))", ("busy", alice["id"]))
    assert count_posts(db) == 0
    post(app, alice, "busy", status=201)


def test_keys_are_kept_24_hours(app, alice, db):
    first = post(app, alice, "old")
    with db.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    assert post(app, alice, "old").json["id"] != first.json["id"]  # expired: a new post
    with db.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    assert purge_idempotency_keys.run() == 1
