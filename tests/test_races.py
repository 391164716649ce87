"""Writes racing a block, and writes racing the deletion of the account they are about.

Real concurrent requests: each round starts its requests on a barrier in threads, against
the WSGI app with one attempt per request (retry.attempts 1), so a deadlock shows as a 503
instead of hiding in a retry, and PostgreSQL's own deadlock count must not move. Rounds
repeat, because which request gets where first changes from one to the next.

- A block and a follow between the same two accounts take the same lock (the pair's, in
  domain/safety.py), so no follow ever stands beside a block, whatever the timing; nor does
  any notification between the two.
- An action on an account or its posts locks that account's row first (domain/__init__.py:
  lock_accounts): against an account deleting itself it answers its success (it came
  first: the deletion takes it along) or 404 (the account came first), never 409, 500 or
  503; the deletion answers 204; every count is exact afterwards.
"""

import itertools
import threading
import time

import pytest
import webtest
from conftest import PASSWORD, assert_error, explain, signup
from test_email import smtp  # noqa: F401 (a fixture)
from test_timelines import built

from minitwitter.worker.tasks import deliver

ROUNDS = 12
DEADLOCKS = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
_names = itertools.count()

# Each row: something materialized that differs from its recomputation (empty when exact).
COUNTS_OFF = """
SELECT 'user ' || u.id FROM users u
 WHERE u.followers_count <> (SELECT count(*) FROM follows WHERE followee_id = u.id)
    OR u.following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id)
    OR u.posts_count <> (SELECT count(*) FROM posts WHERE author_id = u.id AND deleted_at IS NULL)
    OR u.favorite_hashtags_count <> (SELECT count(*) FROM favorite_hashtags WHERE user_id = u.id)
UNION ALL
SELECT 'post ' || p.id FROM posts p
 WHERE p.likes_count <> (SELECT count(*) FROM likes WHERE post_id = p.id)
    OR p.reposts_count <> (SELECT count(*) FROM reposts WHERE post_id = p.id)
    OR p.replies_count <> (SELECT count(*) FROM posts r WHERE r.in_reply_to = p.id AND r.deleted_at IS NULL)
UNION ALL
SELECT 'hashtag ' || h.name FROM hashtags h
 WHERE h.posts_count <> (SELECT count(*) FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id
                          WHERE ph.hashtag_id = h.id AND p.deleted_at IS NULL)
UNION ALL
SELECT 'post_totals ' || s.slot FROM post_totals s
 WHERE s.live <> (SELECT count(*) FROM posts WHERE id % 16 = s.slot AND deleted_at IS NULL)
UNION ALL
SELECT 'unread ' || s.user_id FROM notification_state s
 WHERE s.unread <> (SELECT count(*) FROM notifications n WHERE n.recipient_id = s.user_id AND n.id > s.read_up_to)
UNION ALL
SELECT 'notification ' || n.id FROM notifications n
 WHERE EXISTS (SELECT 1 FROM blocks b
                WHERE (b.blocker_id, b.blocked_id) IN ((n.actor_id, n.recipient_id), (n.recipient_id, n.actor_id)))
UNION ALL
SELECT 'follow beside a block ' || f.follower_id || '-' || f.followee_id FROM follows f
 WHERE EXISTS (SELECT 1 FROM blocks b
                WHERE (b.blocker_id, b.blocked_id) IN ((f.follower_id, f.followee_id), (f.followee_id, f.follower_id)))
"""


def assert_exact(db):
    with db.cursor() as cur:
        cur.execute(COUNTS_OFF)
        assert [r[0] for r in cur.fetchall()] == []


def deadlocks(db):
    time.sleep(0.6)  # backends report their statistics within half a second of going idle
    with db.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(DEADLOCKS)
        return cur.fetchone()[0]


@pytest.fixture
def no_retry(make_app):
    """The app with one attempt per request (a deadlock answers 503), re-checking every
    access token's account on every request (jwt.recheck_seconds 0), as a process does for
    a token it has not seen in 5 s."""
    return make_app(**{"retry.attempts": "1", "jwt.recheck_seconds": "0"})


def race(wsgi, *calls):
    """Run each call(app) in its own thread, all released at once; their responses, in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        client = webtest.TestApp(wsgi)
        barrier.wait()
        results[i] = call(client)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def request(method, path, user, body=None):
    def call(client):
        kwargs = {"headers": user.headers, "expect_errors": True}
        if body is not None:
            return getattr(client, f"{method}_json")(path, body, **kwargs)
        return getattr(client, method)(path, **kwargs)

    return call


def status(response):
    return response.status_int


def rows(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


# 1. An action racing a block


def follow(user, other):
    return request("post", f"/api/users/{other['id']}/follow/", user)


def block(user, other):
    return request("post", f"/api/users/{other['id']}/block/", user)


def unblock(user, other):
    return request("delete", f"/api/users/{other['id']}/block/", user)


@pytest.mark.parametrize("follower", ["blocked", "blocker"])
def test_a_follow_racing_a_block_never_outlives_it(app, no_retry, make_user, db, follower):
    """B follows A (or A follows B) while A blocks B: the follow either came first (the block
    ends it) or finds the block (403); never both standing."""
    a, b = make_user("alice"), make_user("bob")
    before = deadlocks(db)
    for _ in range(ROUNDS * 2):
        app.delete(f"/api/users/{b['id']}/block/", headers=a.headers)
        app.delete(f"/api/users/{a['id']}/follow/", headers=b.headers)
        app.delete(f"/api/users/{b['id']}/follow/", headers=a.headers)
        who, whom = (b, a) if follower == "blocked" else (a, b)
        followed, blocked = race(no_retry.app, follow(who, whom), block(a, b))
        assert status(blocked) == 200, blocked.text
        assert status(followed) in (200, 403), followed.text
        assert rows(db, "SELECT 1 FROM follows WHERE %s IN (follower_id, followee_id)", a["id"]) == []
        assert app.get(f"/api/users/{whom['id']}/", headers=who.headers).json["followers_count"] == 0
        assert app.get(f"/api/users/{whom['id']}/followers/", headers=who.headers).json["results"] == []
        assert_exact(db)
    assert deadlocks(db) == before


def test_a_follow_racing_a_block_and_an_unblock_never_stands_beside_a_block(app, no_retry, make_user, db):
    a, b = make_user("alice"), make_user("bob")
    for _ in range(ROUNDS * 2):
        app.post(f"/api/users/{b['id']}/block/", headers=a.headers)
        calls = [follow(b, a), unblock(a, b), block(a, b), follow(a, b)]
        responses = race(no_retry.app, *calls)
        assert [status(r) in (200, 403) for r in responses] == [True] * 4, [r.text for r in responses]
        assert [status(r) for r in responses[1:3]] == [200, 200]
        assert_exact(db)  # no follow beside a block, counts exact
        app.delete(f"/api/users/{b['id']}/block/", headers=a.headers)
        app.delete(f"/api/users/{a['id']}/follow/", headers=b.headers)
        app.delete(f"/api/users/{b['id']}/follow/", headers=a.headers)


NOTIFYING = {
    "follow": lambda a, b, post: follow(b, a),
    "like": lambda a, b, post: request("post", f"/api/posts/{post}/like/", b),
    "repost": lambda a, b, post: request("post", f"/api/posts/{post}/repost/", b),
    "reply": lambda a, b, post: request("post", "/api/posts/", b, {"text": "re", "in_reply_to": post}),
    "mention": lambda a, b, post: request("post", "/api/posts/", b, {"text": f"hi @{a['username']}"}),
}


@pytest.mark.parametrize("action", sorted(NOTIFYING))
@pytest.mark.parametrize("how", ["block", "blocked", "mute"])
def test_a_notification_racing_a_block_or_a_mute_leaves_none_behind(app, no_retry, make_user, db, action, how):
    """B notifies A (follow, like, repost, reply, mention) while A blocks B, B blocks A, or
    A mutes B: afterwards no notification from B stands, and A's unread count is exact."""
    a, b = make_user("alice"), make_user("bob")
    post = app.post_json("/api/posts/", {"text": "a post"}, headers=a.headers).json["id"]
    hide = {
        "block": request("post", f"/api/users/{b['id']}/block/", a),
        "blocked": request("post", f"/api/users/{a['id']}/block/", b),
        "mute": request("post", f"/api/users/{b['id']}/mute/", a),
    }[how]
    undo = {
        "block": ("delete", f"/api/users/{b['id']}/block/", a),
        "blocked": ("delete", f"/api/users/{a['id']}/block/", b),
        "mute": ("delete", f"/api/users/{b['id']}/mute/", a),
    }[how]
    for _ in range(ROUNDS):
        acted, hidden = race(no_retry.app, NOTIFYING[action](a, b, post), hide)
        assert status(hidden) == 200, hidden.text
        assert status(acted) in (200, 201, 403), acted.text
        assert rows(db, "SELECT id FROM notifications WHERE actor_id = %s", b["id"]) == []
        assert app.get("/api/notifications/unread_count/", headers=a.headers).json["count"] == len(
            app.get("/api/notifications/", headers=a.headers).json["results"]
        )
        assert_exact(db)
        method, path, user = undo
        getattr(app, method)(path, headers=user.headers)
        with db.cursor() as cur:  # the next round's event is new again
            cur.execute("DELETE FROM follows WHERE follower_id = %s", (b["id"],))
            cur.execute("DELETE FROM likes WHERE user_id = %s", (b["id"],))
            cur.execute("DELETE FROM reposts WHERE user_id = %s", (b["id"],))
            cur.execute("UPDATE users SET following_count = 0 WHERE id = %s", (b["id"],))
            cur.execute("UPDATE users SET followers_count = 0 WHERE id = %s", (a["id"],))
            cur.execute("UPDATE posts SET likes_count = 0, reposts_count = 0 WHERE id = %s", (post,))


# 2. Actions racing the deletion of the account they are about


class World:
    """The accounts of one test: actors that stay, and D, who deletes itself each round."""

    def __init__(self, wsgi_app, make_user):
        self.app = webtest.TestApp(wsgi_app)  # the setup's many requests, unchecked: faster
        self.actors = [make_user(f"actor{i}") for i in range(3)]
        self.d = None

    def new_d(self):
        """A fresh D: a post P (tagged, mentioning actor0), followed by and following each actor,
        having liked, reposted and replied to each actor's post Q, which mentions D."""
        app, d = self.app, signup(self.app, f"doomed{next(_names)}")
        self.d = d
        self.p = app.post_json(
            "/api/posts/", {"text": f"#race #{d['username']} by D @{self.actors[0]['username']}"}, headers=d.headers
        ).json["id"]
        self.q = {}
        for actor in self.actors:
            q = app.post_json("/api/posts/", {"text": f"#race Q @{d['username']}"}, headers=actor.headers).json["id"]
            self.q[actor["id"]] = q
            app.post(f"/api/users/{d['id']}/follow/", headers=actor.headers, status=200)
            app.post(f"/api/users/{actor['id']}/follow/", headers=d.headers, status=200)
            app.post(f"/api/posts/{q}/like/", headers=d.headers, status=200)
            app.post(f"/api/posts/{q}/repost/", headers=d.headers, status=200)
            app.post_json("/api/posts/", {"text": "D's reply #race", "in_reply_to": q}, headers=d.headers, status=201)
        app.post(f"/api/posts/{self.p}/like/", headers=d.headers, status=200)
        return d


def on_p(method, verb, before=None):
    """An action on D's post P: `before`, the same route's opposite, first (to undo)."""

    def setup(world, actor):
        if before:
            world.app.request(f"/api/posts/{world.p}/{verb}/", method=before, headers=actor.headers, status=200)

    def act(world, actor):
        return request(method, f"/api/posts/{world.p}/{verb}/", actor)

    return setup, act, (200, 404)


def on_d(method, verb, before=None):
    """An action on D: `before` first (to undo)."""

    def setup(world, actor):
        if verb == "follow" and method == "post":  # the world has everyone following D
            world.app.delete(f"/api/users/{world.d['id']}/follow/", headers=actor.headers, status=200)
        if before:
            world.app.request(f"/api/users/{world.d['id']}/{verb}/", method=before, headers=actor.headers, status=200)

    def act(world, actor):
        return request(method, f"/api/users/{world.d['id']}/{verb}/", actor)

    return setup, act, (200, 404)


def nothing(world, actor):
    pass


def reply_to_p(world, actor):
    return request("post", "/api/posts/", actor, {"text": "a reply #race", "in_reply_to": world.p})


def mention_d(world, actor):
    return request("post", "/api/posts/", actor, {"text": f"hello @{world.d['username']} #race"})


def draft(world, actor):
    world.draft = getattr(world, "draft", {})
    world.draft[actor["id"]] = world.app.post_json("/api/posts/", {"text": "draft"}, headers=actor.headers).json["id"]


def edit_to_mention_d(world, actor):
    return request("put", f"/api/posts/{world.draft[actor['id']]}/", actor, {"text": f"@{world.d['username']} #x"})


def edit_q(world, actor):
    return request("put", f"/api/posts/{world.q[actor['id']]}/", actor, {"text": "Q edited #race #other"})


def delete_q(world, actor):
    return request("delete", f"/api/posts/{world.q[actor['id']]}/", actor)


def like_a_post_d_liked(world, actor):
    other = world.actors[(world.actors.index(actor) + 1) % len(world.actors)]
    return request("post", f"/api/posts/{world.q[other['id']]}/like/", actor)


def follow_one_d_follows(world, actor):
    other = world.actors[(world.actors.index(actor) + 1) % len(world.actors)]
    return request("post", f"/api/users/{other['id']}/follow/", actor)


def unfollow_one_d_follows(world, actor):
    other = world.actors[(world.actors.index(actor) + 1) % len(world.actors)]
    return request("delete", f"/api/users/{other['id']}/follow/", actor)


def favorite_a_tag_d_used(world, actor):
    return request("post", f"/api/hashtags/{world.d['username']}/favorite/", actor)


# action: (setup by each actor before the round, the racing request, its allowed statuses)
ON_D = {
    "like": on_p("post", "like"),
    "unlike": on_p("delete", "like", before="POST"),
    "bookmark": on_p("post", "bookmark"),
    "unbookmark": on_p("delete", "bookmark", before="POST"),
    "repost": on_p("post", "repost"),
    "unrepost": on_p("delete", "repost", before="POST"),
    "reply": (nothing, reply_to_p, (201, 404)),
    "mention": (nothing, mention_d, (201,)),
    "edit to mention": (draft, edit_to_mention_d, (200,)),
    "follow": on_d("post", "follow"),
    "unfollow": on_d("delete", "follow"),
    "block": on_d("post", "block"),
    "unblock": on_d("delete", "block", before="POST"),
    "mute": on_d("post", "mute"),
    "unmute": on_d("delete", "mute", before="POST"),
    # Bystanders: their own writes on rows the deletion changes too.
    "edit a post D liked": (nothing, edit_q, (200,)),
    "delete a post D liked": (nothing, delete_q, (204,)),
    "like a post D liked": (nothing, like_a_post_d_liked, (200,)),
    "favourite a tag D used": (nothing, favorite_a_tag_d_used, (200,)),
    "follow one D follows": (
        lambda world, actor: unfollow_one_d_follows(world, actor)(world.app),
        follow_one_d_follows,
        (200,),
    ),
    "unfollow one D follows": (
        lambda world, actor: follow_one_d_follows(world, actor)(world.app),
        unfollow_one_d_follows,
        (200,),
    ),
}


@pytest.mark.parametrize("action", list(ON_D))
def test_an_action_racing_the_deletion_of_its_account_gets_its_answer_or_404(wsgi_app, no_retry, make_user, db, action):
    """While D deletes itself, each actor does `action` on D or D's post (or, for the
    bystanders, on a row D's deletion changes too): the deletion answers 204 and the
    account is gone; each action its success or 404; every count exact afterwards."""
    setup, act, allowed = ON_D[action]
    world = World(wsgi_app, make_user)
    before = deadlocks(db)
    for _ in range(ROUNDS):
        d = world.new_d()
        for actor in world.actors:
            setup(world, actor)
        delete = request("delete", "/api/users/me/", d, {"password": PASSWORD})
        deleted, *acted = race(no_retry.app, delete, *(act(world, actor) for actor in world.actors))
        assert status(deleted) == 204, deleted.text
        for response in acted:
            assert status(response) in allowed, (status(response), response.text)
            if status(response) == 404:
                assert_error(response, 404)
        assert rows(db, "SELECT 1 FROM users WHERE id = %s", d["id"]) == []
        assert_exact(db)
    assert deadlocks(db) == before


# D's own writes racing its own deletion: each comes first, or finds its account gone (401).
OWN = {
    "post": lambda world: request("post", "/api/posts/", world.d, {"text": "last words #race"}),
    "edit": lambda world: request("put", f"/api/posts/{world.p}/", world.d, {"text": "edited #race"}),
    "delete a post": lambda world: request("delete", f"/api/posts/{world.p}/", world.d),
    "like": lambda world: request("post", f"/api/posts/{world.q[world.actors[1]['id']]}/like/", world.d),
    "unlike": lambda world: request("delete", f"/api/posts/{world.q[world.actors[0]['id']]}/like/", world.d),
    "follow": lambda world: request("delete", f"/api/users/{world.actors[0]['id']}/follow/", world.d),
    "block": lambda world: request("post", f"/api/users/{world.actors[1]['id']}/block/", world.d),
    "favourite": lambda world: request("post", "/api/hashtags/race/favorite/", world.d),
    "read notifications": lambda world: request("post", "/api/notifications/read/", world.d, {"up_to": 2**62}),
}


@pytest.mark.parametrize("action", list(OWN))
def test_an_accounts_own_write_racing_its_deletion_comes_first_or_is_401(wsgi_app, no_retry, make_user, db, action):
    world = World(wsgi_app, make_user)
    before = deadlocks(db)
    for _ in range(ROUNDS):
        d = world.new_d()
        delete = request("delete", "/api/users/me/", d, {"password": PASSWORD})
        deleted, *acted = race(no_retry.app, delete, OWN[action](world))
        assert status(deleted) == 204, deleted.text
        for response in acted:
            assert status(response) in (200, 201, 204, 401), (status(response), response.text)
            if status(response) == 401:
                assert_error(response, 401)
        assert rows(db, "SELECT 1 FROM users WHERE id = %s", d["id"]) == []
        assert_exact(db)
    assert deadlocks(db) == before


# An exception view runs in the request's transaction, which PostgreSQL aborted: it must ask
# the database nothing (the 409 handler used to verify the token again there: a 500).

FAULTY = {
    "likes": lambda a, b, post: ("post", f"/api/posts/{post}/like/"),
    "bookmarks": lambda a, b, post: ("post", f"/api/posts/{post}/bookmark/"),
    "reposts": lambda a, b, post: ("post", f"/api/posts/{post}/repost/"),
    "follows": lambda a, b, post: ("post", f"/api/users/{b['id']}/follow/"),
    "blocks": lambda a, b, post: ("post", f"/api/users/{b['id']}/block/"),
    "mutes": lambda a, b, post: ("post", f"/api/users/{b['id']}/mute/"),
}


@pytest.mark.parametrize("names_caller", [False, True], ids=["other", "caller"])
@pytest.mark.parametrize("table", list(FAULTY))
def test_a_foreign_key_failure_answers_409_or_401_without_asking_the_aborted_transaction(
    app, no_retry, make_user, db, table, names_caller
):
    """A fault: a trigger makes the write fail as a foreign key to a vanished row would, with
    jwt.recheck_seconds 0, so verifying the token again would ask the database. The answer
    is the conflict (409), or 401 when the key named is the caller's own account."""
    a, b = make_user("alice"), make_user("bob")
    post = app.post_json("/api/posts/", {"text": "a post"}, headers=b.headers).json["id"]
    missing = a["id"] if names_caller else 10**9
    detail = f'Key (user_id)=({missing}) is not present in table "users".'
    with db.cursor() as cur:
        cur.execute(
            f"""CREATE FUNCTION fail_as_a_vanished_key() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE foreign_key_violation USING MESSAGE = 'fault', DETAIL = '{detail}'; END $$"""
        )
        cur.execute(
            f"CREATE TRIGGER fault BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION fail_as_a_vanished_key()"
        )
    try:
        method, path = FAULTY[table](a, b, post)
        response = getattr(webtest.TestApp(no_retry.app), method)(path, headers=a.headers, expect_errors=True)
    finally:
        with db.cursor() as cur:
            cur.execute(f"DROP TRIGGER fault ON {table}")
            cur.execute("DROP FUNCTION fail_as_a_vanished_key()")
    assert_error(response, 401 if names_caller else 409)


@pytest.mark.parametrize("via", ["author", "reposter"])
def test_a_fan_out_task_for_a_post_whose_account_went_finds_nothing_to_do(make_app, make_user, db, via):
    """The `timeline` task of D's post (or of a repost of it) runs after D deleted the
    account: it has nothing to write (the post went with D), and says so, instead of failing
    on the post's foreign key at every delivery, for ever."""
    app = make_app(**{"fanout.inline_followers": "1"})  # two followers: the task writes
    d, bob = make_user("doomed"), make_user("bob")
    readers = [make_user("carol"), make_user("dave")]
    for reader in readers:
        app.post(f"/api/users/{(d if via == 'author' else bob)['id']}/follow/", headers=reader.headers)
        built(app, db, reader)
    post = app.post_json("/api/posts/", {"text": "soon gone"}, headers=d.headers).json["id"]
    if via == "reposter":
        app.post(f"/api/posts/{post}/repost/", headers=bob.headers, status=200)
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=d.headers, status=204)
    pending = rows(db, "SELECT id FROM outbox WHERE kind = 'timeline' AND sent_at IS NULL ORDER BY id")
    assert pending
    for (outbox_id,) in pending:
        deliver.run(outbox_id)
    assert rows(db, "SELECT id FROM outbox WHERE kind = 'timeline' AND sent_at IS NULL") == []
    assert rows(db, "SELECT 1 FROM home_timeline WHERE post_id = %s", post) == []


LOCKS = [
    ("users", "lock_accounts", {"user_ids": [1, 2], "post_id": 3, "names": ["ana"]}),
    ("users", "lock_counts", {"user_id": 1}),
    ("safety", "lock_pair", {"user_id": 1, "other_id": 2}),
    ("accounts", "password_hash", {"user_id": 1}),
    ("accounts", "lock_touched_posts", {"user_id": 1}),
    ("accounts", "lock_follow_counts", {"user_id": 1}),
    ("accounts", "lock_post_totals", {"user_id": 1}),
    ("accounts", "lock_post_tags", {"user_id": 1}),
]


@pytest.mark.parametrize("group, name, params", LOCKS, ids=[f"{g}.{n}" for g, n, _ in LOCKS])
def test_the_locks_taken_first_read_no_table_whole(wsgi_app, db, group, name, params):
    plan = explain(db, getattr(getattr(wsgi_app.registry.queries, group), name), params)
    assert "Seq Scan" not in plan, plan


def test_a_follow_email_is_not_sent_across_a_block_made_since(app, db, smtp, make_user):  # noqa: F811
    """B follows A, then A blocks B before the worker sends "B followed you": A is not told
    (the block ended the follow, and no notification crosses a block either)."""
    a, b = make_user("alice"), make_user("bob")
    app.post(f"/api/users/{a['id']}/follow/", headers=b.headers, status=200)
    app.post(f"/api/users/{b['id']}/block/", headers=a.headers, status=200)
    [(outbox_id,)] = rows(db, "SELECT id FROM outbox WHERE kind = 'follow_email'")
    assert deliver.run(outbox_id) is False  # nothing to do
    assert smtp.messages == []
    assert rows(db, "SELECT 1 FROM outbox WHERE id = %s AND sent_at IS NOT NULL", outbox_id) == [(1,)]
