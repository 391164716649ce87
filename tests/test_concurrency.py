"""Concurrent writes: one lock order everywhere, so they never deadlock (migration 0006).

Each deadlock is staged deterministically through the app (retries off): a direct
connection holds one row lock, the two requests start one after the other and both queue
behind it, then it lets go. Locked in opposite orders, the two requests deadlock (one
answered 503); locked in one order, the second waits for the first and both succeed.
"""

import random
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import psycopg2.extras
import pytest
import webtest

DEADLOCKS = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"


@pytest.fixture
def no_retry(make_app):
    """The app with one attempt per request: a deadlock shows as a 503."""
    return make_app(**{"retry.attempts": "1"})


def waiting_on_locks(db):
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'minitwitter' AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0]


def wait_for_waiters(db, n, timeout=10):
    deadline = time.monotonic() + timeout
    while waiting_on_locks(db) < n:
        assert time.monotonic() < deadline, f"{n} requests never queued on the held lock"
        time.sleep(0.01)


def staged(db, lock_sql, params, *requests):
    """Hold `lock_sql`'s row lock, start each request once the ones before it wait behind
    it, then release it; returns the responses in order."""
    blocker = psycopg2.connect(db.dsn)
    try:
        with blocker.cursor() as cur:
            cur.execute(lock_sql, params)
        with ThreadPoolExecutor(len(requests)) as pool:
            futures = []
            for i, request in enumerate(requests, 1):
                futures.append(pool.submit(request))
                wait_for_waiters(db, i)
            blocker.commit()
            return [f.result() for f in futures]
    finally:
        blocker.close()


def user_row(db, user_id):
    with db.cursor() as cur:
        cur.execute("SELECT followers_count, following_count, posts_count FROM users WHERE id = %s", (user_id,))
        return cur.fetchone()


def assert_counts_exact(db):
    """Every materialized count equals its COUNT(*) recomputation."""
    with db.cursor() as cur:
        cur.execute(
            """
            SELECT 'user', u.id FROM users u
             WHERE u.followers_count <> (SELECT count(*) FROM follows WHERE followee_id = u.id)
                OR u.following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id)
                OR u.posts_count <> (SELECT count(*) FROM posts WHERE author_id = u.id AND deleted_at IS NULL)
            UNION ALL
            SELECT 'post', p.id FROM posts p
             WHERE p.likes_count <> (SELECT count(*) FROM likes WHERE post_id = p.id)
            UNION ALL
            SELECT 'hashtag', h.id FROM hashtags h
             WHERE h.posts_count <> (SELECT count(*) FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id
                                      WHERE ph.hashtag_id = h.id AND p.deleted_at IS NULL)
            UNION ALL
            SELECT 'post_totals', s.slot FROM post_totals s
             WHERE s.live <> (SELECT count(*) FROM posts WHERE id % 16 = s.slot AND deleted_at IS NULL)
            UNION ALL
            SELECT 'favorites', u.id FROM users u
             WHERE u.favorite_hashtags_count <> (SELECT count(*) FROM favorite_hashtags WHERE user_id = u.id)
            """
        )
        assert cur.fetchall() == []


def test_mutual_follows_do_not_deadlock(no_retry, alice, bob, db):
    # Alice follows Bob while Bob follows Alice: tgr_follows_count used to lock the
    # follower's row, then the followee's, so the two locked alice and bob in opposite orders.
    def follow(verb, me, other):
        url = f"/api/users/{other['id']}/follow/"
        return lambda: getattr(no_retry, verb)(url, headers=me.headers, expect_errors=True)

    lock = "SELECT 1 FROM users WHERE id = %s FOR NO KEY UPDATE"
    for verb, count in (("post", 1), ("delete", 0)):  # both follow, then both unfollow, at once
        first, second = staged(db, lock, (alice["id"],), follow(verb, alice, bob), follow(verb, bob, alice))
        assert (first.status_int, second.status_int) == (200, 200), (verb, first.json, second.json)
        assert user_row(db, alice["id"])[:2] == user_row(db, bob["id"])[:2] == (count, count)
    assert_counts_exact(db)


@pytest.mark.parametrize("alpha_exists", [False, True])
def test_an_edit_and_a_new_post_sharing_tags_do_not_deadlock(no_retry, alice, bob, db, alpha_exists):
    # The edit drops #delta and adds #alpha; the new post links #alpha then #delta. The edit
    # used to unlink (lock) #delta before linking (locking) #alpha: the opposite order.
    # Since 0015 a new post naming only existing tags locks them at its commit (in name
    # order), and one creating #alpha creates and locks its tags first, as the edit does.
    if alpha_exists:
        no_retry.post_json("/api/posts/", {"text": "#alpha"}, headers=bob.headers)
    post = no_retry.post_json("/api/posts/", {"text": "#delta"}, headers=alice.headers).json
    first, second = staged(
        db,
        "SELECT 1 FROM hashtags WHERE name = %s FOR NO KEY UPDATE",
        ("delta",),
        lambda: no_retry.put_json(
            f"/api/posts/{post['id']}/", {"text": "now #alpha"}, headers=alice.headers, expect_errors=True
        ),
        lambda: no_retry.post_json(
            "/api/posts/", {"text": "#alpha and #delta"}, headers=bob.headers, expect_errors=True
        ),
    )
    assert (first.status_int, second.status_int) == (200, 201), (first.json, second.json)
    assert_counts_exact(db)


def test_a_delete_and_a_new_post_sharing_tags_do_not_deadlock(no_retry, alice, bob, db):
    # A post tagged #delta, then edited to add #alpha: its links were written delta first,
    # so deleting it used to unlink (lock) #delta before #alpha, while a new post with
    # both locks #alpha first.
    post = no_retry.post_json("/api/posts/", {"text": "#delta"}, headers=alice.headers).json
    no_retry.put_json(f"/api/posts/{post['id']}/", {"text": "#delta #alpha"}, headers=alice.headers)
    first, second = staged(
        db,
        "SELECT 1 FROM hashtags WHERE name = %s FOR NO KEY UPDATE",
        ("delta",),
        lambda: no_retry.delete(f"/api/posts/{post['id']}/", headers=alice.headers, expect_errors=True),
        lambda: no_retry.post_json(
            "/api/posts/", {"text": "#alpha and #delta"}, headers=bob.headers, expect_errors=True
        ),
    )
    assert (first.status_int, second.status_int) == (204, 201), (first.text, second.json)
    assert_counts_exact(db)


def test_a_storm_of_writes_over_shared_tags_and_mutual_follows(no_retry, make_user, db):
    # Not staged: 8 writers at once, each creating, editing and deleting posts over the same
    # 4 tags, liking, and following and unfollowing the others. No deadlock (none counted
    # by PostgreSQL), no error, and every count exact afterwards.
    users = [make_user(f"writer{i}") for i in range(8)]
    tags = ["#alpha", "#bravo", "#charlie", "#delta"]
    with db.cursor() as cur:
        cur.execute(DEADLOCKS)
        deadlocks_before = cur.fetchone()[0]

    def writer(i):
        me, rng, statuses = users[i], random.Random(i), []
        app = webtest.TestApp(no_retry.app)
        mine = []
        for _ in range(12):
            text = " ".join(rng.sample(tags, rng.randint(1, 4)))
            action = rng.random()
            if mine and action < 0.3:
                r = app.put_json(
                    f"/api/posts/{rng.choice(mine)}/", {"text": text}, headers=me.headers, expect_errors=True
                )
            elif mine and action < 0.45:
                r = app.delete(f"/api/posts/{mine.pop()}/", headers=me.headers, expect_errors=True)
            elif action < 0.75:
                r = app.post_json("/api/posts/", {"text": text}, headers=me.headers, expect_errors=True)
                if r.status_int == 201:
                    mine.append(r.json["id"])
                    statuses.append(
                        app.post(f"/api/posts/{r.json['id']}/like/", headers=me.headers, expect_errors=True).status_int
                    )
            else:
                other = users[rng.choice([j for j in range(len(users)) if j != i])]
                verb = app.post if rng.random() < 0.6 else app.delete
                r = verb(f"/api/users/{other['id']}/follow/", headers=me.headers, expect_errors=True)
            statuses.append(r.status_int)
        return statuses

    with ThreadPoolExecutor(len(users)) as pool:
        statuses = [s for result in pool.map(writer, range(len(users))) for s in result]
    assert all(s < 500 for s in statuses), sorted(statuses)
    assert_counts_exact(db)
    time.sleep(0.6)  # backends report their statistics within half a second of going idle
    with db.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(DEADLOCKS)
        assert cur.fetchone()[0] == deadlocks_before


def test_a_new_post_holds_no_tag_row_until_it_commits(wsgi_app, alice, bob, app, db):
    # Migration 0015: the tag's count is updated at commit, so a popular tag's row is not
    # held for the rest of every transaction that names it. Bob's post is written and left
    # uncommitted: another writer can still lock #alpha at once (before 0015 it waited).
    app.post_json("/api/posts/", {"text": "#alpha first"}, headers=alice.headers)
    queries = wsgi_app.registry.queries
    writer = psycopg2.connect(db.dsn, cursor_factory=psycopg2.extras.RealDictCursor)
    other = psycopg2.connect(db.dsn)
    try:
        for outcome in ("rollback", "commit"):
            fields = {"author_id": bob["id"], "text": "#alpha", "image_id": None, "in_reply_to": None}
            post = queries.posts.create_post(writer, **fields)
            tagged = queries.hashtags.tag_post(writer, post_id=post["id"], names=["alpha"])
            assert [r["name"] for r in tagged] == ["alpha"]
            with other.cursor() as cur:
                cur.execute("SELECT posts_count FROM hashtags WHERE name = 'alpha' FOR NO KEY UPDATE NOWAIT")
                assert cur.fetchone()[0] == 1  # not counted yet, and not locked
            other.rollback()
            getattr(writer, outcome)()
            assert_counts_exact(db)  # a rolled-back post never counted; a committed one did, once
    finally:
        writer.close()
        other.close()
    with db.cursor() as cur:
        cur.execute("SELECT posts_count FROM hashtags WHERE name = 'alpha'")
        assert cur.fetchone()[0] == 2
