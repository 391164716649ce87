"""Home timelines (domain/timelines.py): the feed read from each reader's materialized
timeline holds what the pull plans would answer, through every write that changes it.

The suite reads with feed.settle_seconds 0 (conftest.py): a reader's first feed read makes
their timeline, the next one fills it. `built` does both; `pull` reads a pull plan
directly: the answer the timeline must agree with."""

import itertools
import random
import threading
import time

import psycopg2
import pytest
from conftest import PASSWORD, explain
from test_conversations import follow
from test_follows_feed import network  # noqa: F401 (a fixture)
from test_posts import create

from minitwitter.domain import timelines
from minitwitter.domain.freshness import MAX_ID
from minitwitter.settings import DEFAULT_MIGRATIONS_PATH as MIGRATIONS
from minitwitter.worker import tasks
from minitwitter.worker.tasks import deliver, drop_idle_timelines

_sizes = itertools.cycle(range(10, 100))


def feed(app, user, query=""):
    """The feed's first 100 items as (post id, reposter id or None), newest first."""
    body = app.get(f"/api/feed/?page_size=100{query}", headers=user.headers).json
    return [(p["id"], (p["reposted_by"] or {}).get("id")) for p in body["results"]]


def uncached_read(app, user):
    """A feed read that no cached response answers (each page_size is an entry of its own)."""
    return app.get(f"/api/feed/?page_size={next(_sizes)}", headers=user.headers).json


def built(app, db, user):
    """Make (unless made) and fill `user`'s timeline; it is in use."""
    if state(db, user) == "none":
        uncached_read(app, user)
    assert state(db, user) == "stale"
    uncached_read(app, user)
    assert state(db, user) == "ready"


def state(db, user):
    rows = sql(db, "SELECT stale_since IS NULL FROM home_timelines WHERE user_id = %s", user["id"])
    return "none" if not rows else "ready" if rows[0][0] else "stale"


def entries(db, user):
    """What `user`'s timeline holds: (key, post id, reposter id), newest first."""
    return sql(
        db, "SELECT key, post_id, reposter_id FROM home_timeline WHERE user_id = %s ORDER BY key DESC", user["id"]
    )


def pull(wsgi_app, db, user):
    """The pull plan's answer, as feed() gives it."""
    query = wsgi_app.registry.queries.feed.feed_by_followee
    with db.cursor() as cur:
        cur.execute(query.sql, {"user_id": user["id"], "hidden": [], "before": MAX_ID, "offset": 0, "limit": 100})
        return [(row[1], row[2]) for row in cur.fetchall()]


def sql(db, statement, *params):
    with db.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else None


def repost(app, user, post_id):
    app.post(f"/api/posts/{post_id}/repost/", headers=user.headers)


def unrepost(app, user, post_id):
    app.delete(f"/api/posts/{post_id}/repost/", headers=user.headers)


def test_first_read_makes_the_timeline_the_next_fills_it(app, alice, bob, db):
    follow(app, alice, bob)
    posts = [create(app, bob, f"p{i}").json["id"] for i in range(3)]
    assert state(db, alice) == "none"
    assert feed(app, alice) == [(p, None) for p in posts[::-1]]  # the pull plan, and the mark
    assert state(db, alice) == "stale" and entries(db, alice) == []
    built(app, db, alice)
    assert entries(db, alice) == [(p, p, None) for p in posts[::-1]]
    # Read from the timeline: a post written behind the application's back (no fan-out) is
    # in the pull plan, not in the timeline.
    hidden = sql(db, "INSERT INTO posts (author_id, text) VALUES (%s, 'hidden') RETURNING id", bob["id"])[0][0]
    assert [p["id"] for p in uncached_read(app, alice)["results"]] == posts[::-1]
    assert pull(app.app, db, alice)[0] == (hidden, None)


def test_a_timeline_is_filled_only_once_settled(make_app, alice, bob, db):
    app = make_app(**{"feed.settle_seconds": "3600"})
    follow(app, alice, bob)
    for _ in range(3):
        uncached_read(app, alice)
    assert state(db, alice) == "stale" and entries(db, alice) == []
    # ...but fan-outs write to it from its making on
    post = create(app, bob).json["id"]
    assert entries(db, alice) == [(post, post, None)]
    assert feed(app, alice) == [(post, None)]


def test_readers_who_never_read_have_no_timeline(app, alice, bob, make_user, db):
    carol = make_user("carol")
    follow(app, alice, bob)
    follow(app, carol, bob)
    built(app, db, alice)
    post = create(app, bob).json["id"]
    assert entries(db, alice) == [(post, post, None)]
    assert sql(db, "SELECT count(*) FROM home_timeline WHERE user_id = %s", carol["id"]) == [(0,)]
    assert feed(app, carol) == [(post, None)]


def test_posts_and_reposts_appear_once_in_order_as_the_pull_plan_says(app, wsgi_app, alice, bob, make_user, db):
    carol, dave = make_user("carol"), make_user("dave")
    for followee in (bob, carol):
        follow(app, alice, followee)
    built(app, db, alice)
    original = create(app, dave, "dave's").json["id"]
    own = create(app, bob, "bob's").json["id"]
    repost(app, bob, original)
    repost(app, carol, original)  # the newest occurrence wins: carol's repost
    repost(app, carol, own)  # bob's post, reposted by carol: once, at carol's repost
    create(app, carol, "carol's")
    expected = pull(wsgi_app, db, alice)
    assert [post for post, _ in expected] == sorted({post for post, _ in expected}, key=[p for p, _ in expected].index)
    assert feed(app, alice) == expected
    assert [(post, reposter) for post, reposter in expected if post in (original, own)] == [
        (own, carol["id"]),
        (original, carol["id"]),
    ]
    # Undo carol's reposts: each post is back where its next newest occurrence puts it.
    unrepost(app, carol, original)
    unrepost(app, carol, own)
    assert feed(app, alice) == pull(wsgi_app, db, alice)
    assert (original, bob["id"]) in feed(app, alice) and (own, None) in feed(app, alice)
    assert [e for e in entries(db, alice) if e[2] == carol["id"]] == []  # their entries went


@pytest.fixture(params=["inline", "task"])
def fanout(request, make_app, alice, bob, make_user):
    """Bob's writes fanned out in the request (few followers) or by the `timeline` task (one
    follower is many); alice and carol follow him. (app, carol, inline)"""
    inline = request.param == "inline"
    app = make_app(**{"fanout.inline_followers": "100" if inline else "1"})
    carol = make_user("carol")
    for reader in (alice, carol):
        follow(app, reader, bob)
    return app, carol, inline


def run_timeline_tasks(db):
    for (outbox_id,) in sql(db, "SELECT id FROM outbox WHERE kind = 'timeline' AND sent_at IS NULL ORDER BY id"):
        assert deliver.run(outbox_id) is True


def test_a_post_reaches_built_timelines_inline_or_through_the_task(fanout, alice, bob, db):
    app, carol, inline = fanout
    for reader in (alice, carol):
        built(app, db, reader)
    post = create(app, bob).json["id"]
    rows = sql(db, "SELECT id, payload FROM outbox WHERE kind = 'timeline'")
    if inline:
        assert rows == []  # written in the request's transaction: read-your-writes
    else:
        [(outbox_id, payload)] = rows
        entry = {"key": post, "post_id": post, "author_id": bob["id"], "reposter_id": None}
        assert payload == {"via_id": bob["id"], "added": entry}
        assert entries(db, alice) == []
        assert deliver.run(outbox_id) is True
        assert deliver.run(outbox_id) is False  # once
    for reader in (alice, carol):
        assert entries(db, reader) == [(post, post, None)]
        assert feed(app, reader) == [(post, None)]


def test_the_timeline_task_walks_every_batch_of_followers(make_app, alice, bob, make_user, db, monkeypatch):
    monkeypatch.setattr(tasks, "FANOUT_BATCH", 1)  # 3 followers: 3 batches and an empty one
    app = make_app(**{"fanout.inline_followers": "1"})
    readers = [alice, make_user("carol"), make_user("dave")]
    for reader in readers:
        follow(app, reader, bob)
        built(app, db, reader)
    post = create(app, bob).json["id"]
    run_timeline_tasks(db)
    assert [entries(db, reader) for reader in readers] == [[(post, post, None)]] * 3


def test_a_deleted_post_leaves_every_feed_at_once(fanout, alice, bob, db):
    app, carol, _ = fanout
    follow(app, alice, carol)
    built(app, db, alice)
    kept, gone = (create(app, bob, text).json["id"] for text in ("kept", "gone"))
    repost(app, carol, gone)
    run_timeline_tasks(db)
    assert feed(app, alice) == [(gone, carol["id"]), (kept, None)]
    app.delete(f"/api/posts/{gone}/", headers=bob.headers)
    assert feed(app, alice) == [(kept, None)]  # at once: the read checks, before any task
    run_timeline_tasks(db)
    assert entries(db, alice) == [(kept, kept, None)]  # its entries and its repost's went


def test_unfollow_takes_the_followees_entries_follow_brings_their_newest(app, wsgi_app, alice, bob, make_user, db):
    carol = make_user("carol")
    follow(app, alice, carol)
    first = create(app, carol, "carol's").json["id"]
    built(app, db, alice)
    older = [create(app, bob, f"bob {i}").json["id"] for i in range(2)]
    repost(app, bob, first)
    latest = create(app, carol, "carol's again").json["id"]
    follow(app, alice, bob)  # bob's posts and repost come in (newer than the timeline's oldest entry)
    assert [e[1] for e in entries(db, alice)] == [latest, first, older[1], older[0], first]
    assert (
        feed(app, alice)
        == pull(wsgi_app, db, alice)
        == [
            (latest, None),
            (first, bob["id"]),
            (older[1], None),
            (older[0], None),
        ]
    )
    app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert [e[1] for e in entries(db, alice)] == [latest, first]
    assert feed(app, alice) == [(latest, None), (first, None)]


def test_an_entry_left_by_a_racing_fan_out_is_not_shown(app, alice, bob, db):
    """A fan-out that read the follow before an unfollow committed can write after the
    unfollow's delete: the read checks the follow (and a repost's existence)."""
    follow(app, alice, bob)
    post = create(app, bob).json["id"]
    built(app, db, alice)
    app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    sql(db, "INSERT INTO home_timeline VALUES (%s, %s, %s, %s, NULL)", alice["id"], post, post, bob["id"])
    sql(db, "INSERT INTO home_timeline VALUES (%s, %s + 1000, %s, %s, %s)", alice["id"], post, post, bob["id"],
        bob["id"])  # fmt: skip
    assert uncached_read(app, alice)["results"] == []


def test_a_deleted_account_leaves_every_timeline(app, alice, bob, make_user, db):
    carol = make_user("carol")
    follow(app, alice, bob)
    follow(app, alice, carol)
    follow(app, bob, carol)
    built(app, db, alice)
    built(app, db, bob)
    carols = create(app, carol, "carol's").json["id"]
    bobs = create(app, bob, "bob's").json["id"]
    repost(app, bob, carols)
    assert len(entries(db, alice)) == 3 and entries(db, bob) == [(carols, carols, None)]
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=bob.headers, status=204)
    assert entries(db, alice) == [(carols, carols, None)]  # bob's post and repost went
    assert sql(db, "SELECT count(*) FROM home_timeline WHERE user_id = %s", bob["id"]) == [(0,)]
    assert state(db, bob) == "none"
    assert feed(app, alice) == [(carols, None)]
    assert bobs not in [post for post, _ in feed(app, alice)]


def test_a_popular_author_is_pulled_not_fanned_out(make_app, wsgi_app, alice, bob, make_user, db):
    app = make_app(**{"feed.pull_followers": "1"})
    carol, dave = make_user("carol"), make_user("dave")
    follow(app, alice, bob)
    follow(app, alice, dave)
    built(app, db, alice)
    before = create(app, bob, "one follower: fanned out").json["id"]
    follow(app, carol, bob)  # two followers: over the bar from bob's next post on
    dave_post = create(app, dave, "dave's").json["id"]
    after = create(app, bob, "pulled").json["id"]
    repost(app, bob, dave_post)  # bob's repost of dave's post: pulled too
    assert sql(db, "SELECT user_id FROM pulled_authors") == [(bob["id"],)]
    assert [e[1] for e in entries(db, alice)] == [dave_post, before]  # nothing of bob's since
    expected = [(dave_post, bob["id"]), (after, None), (before, None)]
    assert feed(app, alice) == pull(wsgi_app, db, alice) == expected  # once each, merged in order
    # Bob stays pulled when he falls back under the bar: his later posts are in no timeline.
    app.delete(f"/api/users/{bob['id']}/follow/", headers=carol.headers)
    latest = create(app, bob, "still pulled").json["id"]
    assert [post for post, _ in feed(app, alice)] == [latest, dave_post, after, before]


def test_pages_past_the_timeline_come_from_the_pull_plans(make_app, wsgi_app, alice, bob, db, monkeypatch):
    monkeypatch.setattr(timelines, "TRIM_EVERY", 1)  # every fan-out trims
    app = make_app(**{"feed.timeline_size": "5"})
    follow(app, alice, bob)
    built(app, db, alice)
    posts = [create(app, bob, f"p{i}").json["id"] for i in range(12)][::-1]
    assert [e[1] for e in entries(db, alice)] == posts[:5]  # trimmed to the newest 5
    assert [post for page in pages(app, alice, "/api/feed/?page_size=3") for post in page] == posts  # by cursor
    assert list(pages(app, alice, "/api/feed/?page=2&page_size=4"))[0] == posts[4:8]


def pages(app, user, url):
    """The post ids of each page from `url` on, following the `next` links."""
    while url:
        body = app.get(url, headers=user.headers).json
        yield [p["id"] for p in body["results"]]
        url = body["next"]


@pytest.mark.parametrize("suspended", [[], list(range(2000, 3000))], ids=["none suspended", "1000 suspended"])
def test_the_timeline_is_walked_newest_first_and_stops_at_the_page(wsgi_app, db, suspended):
    """1,000 readers' timelines of 300 entries each, analyzed: page 1 walks the reader's
    entries backwards on the primary key (no sort of all of them), and a pulled followee's
    posts are read on its index; the same plan while 1,000 accounts are suspended."""
    sql(db, "INSERT INTO users (username, email, password_hash)"
            " SELECT 'user' || i, 'user' || i || '@example.com', 'x' FROM generate_series(1, 1000) i")  # fmt: skip
    sql(db, "INSERT INTO follows (follower_id, followee_id) SELECT i, 1 + mod(i, 50) FROM generate_series(51, 1000) i")
    sql(db, "INSERT INTO posts (author_id, text) SELECT 1 + mod(i, 50), 'p' FROM generate_series(1, 15000) i")
    sql(
        db, "INSERT INTO home_timelines (user_id, stale_since, floor) SELECT i, NULL, 0 FROM generate_series(1, 1000) i"
    )
    sql(db, "INSERT INTO home_timeline SELECT u, p.id, p.id, p.author_id, NULL FROM generate_series(1, 1000) u"
            " CROSS JOIN LATERAL (SELECT id, author_id FROM posts ORDER BY id DESC LIMIT 300) p")  # fmt: skip
    sql(db, "ANALYZE users, follows, posts, home_timeline, home_timelines")
    params = {"user_id": 60, "pulled": [2], "suspended": suspended, "before": MAX_ID, "offset": 0, "limit": 21}
    with db.cursor() as cur:
        cur.execute("EXPLAIN " + wsgi_app.registry.queries.feed.feed_from_timeline.sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    walk = plan.split("CTE floor")[0]
    assert "Index Scan Backward using home_timeline_pkey" in walk and "Sort" not in walk, plan
    assert "idx_posts_author_id_id_live" in plan, plan


def test_a_pulled_authors_post_asks_for_no_timeline_task(make_app, alice, bob, make_user, db):
    app = make_app(**{"fanout.inline_followers": "1", "feed.pull_followers": "1"})
    follow(app, alice, bob)
    follow(app, make_user("carol"), bob)
    built(app, db, alice)
    first = create(app, bob).json["id"]  # its request finds bob over the bar: pulled from now on
    assert sql(db, "SELECT user_id FROM pulled_authors") == [(bob["id"],)] and entries(db, alice) == []
    second = create(app, bob).json["id"]
    assert sql(db, "SELECT count(*) FROM outbox WHERE kind = 'timeline'") == [(0,)]
    assert sql(db, "SELECT count(*) FROM outbox WHERE kind = 'fanout'") == [(2,)]  # the bumps, as ever
    assert feed(app, alice) == [(second, None), (first, None)]


@pytest.mark.parametrize("kind", ["post", "repost"])
def test_the_post_that_makes_an_author_pulled_is_in_every_feed_once_bumped(make_app, alice, bob, make_user, db, kind):
    """The `fanout` task bumps the followers' feeds; a read right after it (before any
    other task ran) shows the post, and every read after that too, from a built timeline
    whose cached page came before the post. (Marked pulled by the `timeline` task instead,
    the read between the two cached a page without it, and nothing bumped it again.)"""
    app = make_app(**{"fanout.inline_followers": "1", "feed.pull_followers": "1"})
    carol, dave = make_user("carol"), make_user("dave")
    follow(app, alice, bob)
    follow(app, carol, bob)
    built(app, db, alice)
    dave_post = create(app, dave, "dave's").json["id"]
    assert feed(app, alice) == []  # cached, before the post
    if kind == "post":
        item = (create(app, bob, "over the bar").json["id"], None)
    else:
        repost(app, bob, dave_post)
        item = (dave_post, bob["id"])
    for (outbox_id,) in sql(db, "SELECT id FROM outbox WHERE kind = 'fanout' AND sent_at IS NULL ORDER BY id"):
        assert deliver.run(outbox_id) is True
    assert feed(app, alice) == [item]
    run_timeline_tasks(db)
    assert feed(app, alice) == [item]


def idle_for(db, user, days):
    sql(db, "UPDATE home_timelines SET read_on = current_date - %s WHERE user_id = %s", days, user["id"])


def test_a_timeline_not_read_for_idle_days_is_dropped_and_made_again(app, wsgi_app, alice, bob, make_user, db):
    carol = make_user("carol")
    follow(app, alice, bob)
    follow(app, carol, bob)
    older = [create(app, bob, f"p{i}").json["id"] for i in range(3)][::-1]
    built(app, db, alice)
    built(app, db, carol)
    idle_for(db, alice, 15)  # feed.idle_days is 14
    idle_for(db, carol, 14)
    assert drop_idle_timelines.run() >= 1
    assert state(db, alice) == "none" and entries(db, alice) == []
    assert state(db, carol) == "ready" and len(entries(db, carol)) == 3
    new = create(app, bob).json["id"]  # fanned out to carol only
    assert entries(db, alice) == [] and entries(db, carol)[0][1] == new
    expected = [(post, None) for post in (new, *older)]
    assert feed(app, alice) == pull(wsgi_app, db, alice) == expected
    built(app, db, alice)  # her next reads make and fill a new one
    assert [e[1] for e in entries(db, alice)] == [new, *older]
    assert feed(app, alice) == expected


def test_the_first_read_of_a_day_records_it(app, alice, bob, db):
    follow(app, alice, bob)
    built(app, db, alice)
    idle_for(db, alice, 3)
    uncached_read(app, alice)
    assert sql(db, "SELECT read_on = current_date FROM home_timelines WHERE user_id = %s", alice["id"]) == [(True,)]
    idle_for(db, alice, 15)
    uncached_read(app, alice)
    assert drop_idle_timelines.run() == 0 and state(db, alice) == "ready"  # read today: kept


def test_a_read_racing_the_drop_of_its_timeline_reads_the_pull_plan(app, alice, bob, db, services):
    """The drop commits after the read found the timeline and before it reads it: the read's
    touch waits for the drop's row lock, finds the row gone and reads a pull plan (reading
    the timeline then, it found no row and answered an empty feed)."""
    follow(app, alice, bob)
    posts = [create(app, bob, f"p{i}").json["id"] for i in range(2)][::-1]
    built(app, db, alice)  # holds the whole feed (floor 0)
    idle_for(db, alice, 30)
    dropper = psycopg2.connect(services["DATABASE_URL"])
    try:
        with dropper.cursor() as cur:  # the drop, not committed yet: it holds the row's lock
            cur.execute("DELETE FROM home_timelines WHERE user_id = %s", (alice["id"],))
            cur.execute("DELETE FROM home_timeline WHERE user_id = %s", (alice["id"],))
        answer = {}
        reader = threading.Thread(target=lambda: answer.update(body=uncached_read(app, alice)))
        reader.start()
        deadline = time.monotonic() + 20
        waiting = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        while not sql(db, waiting):
            assert time.monotonic() < deadline, "the read never waited for the drop"
            time.sleep(0.05)
        dropper.commit()
        reader.join(20)
    finally:
        dropper.close()
    assert [p["id"] for p in answer["body"]["results"]] == posts
    assert state(db, alice) == "none"


# Issue 26, class 3: however an entry of a built timeline leaves, the feed read from the
# timeline is what the pull plans answer. A timeline holds every occurrence of a post (the
# post and each followee's repost of it); filled from a pull plan's rows (each post once, at
# its newest occurrence), it lost the post when that repost went, and answered [].


def hidden_of(db, user):
    """What `user` hides (domain/safety.py), from the tables."""
    rows = sql_named(
        db,
        "SELECT blocked_id FROM blocks WHERE blocker_id = %(u)s UNION SELECT blocker_id FROM blocks"
        " WHERE blocked_id = %(u)s UNION SELECT muted_id FROM mutes WHERE muter_id = %(u)s",
        {"u": user["id"]},
    )
    return sorted(r[0] for r in rows)


def sql_named(db, statement, params):
    with db.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def pulled_feed(wsgi_app, db, user):
    """The feed as both pull plans answer it for `user` (who may hide someone), as feed()
    gives it: what a reader without a timeline reads. The two plans agree."""
    queries = wsgi_app.registry.queries.feed
    params = {"user_id": user["id"], "hidden": hidden_of(db, user), "before": MAX_ID, "offset": 0, "limit": 100}
    by_followee, by_timeline = (
        [(row[1], row[2]) for row in sql_named(db, query.sql, params)]
        for query in (queries.feed_by_followee, queries.feed_by_timeline)
    )
    assert by_followee == by_timeline
    return by_followee


def paged_feed(app, user, size=3):
    """The whole feed, page by page (cursor links), as feed() gives it."""
    items, url = [], f"/api/feed/?page_size={size}"
    while url:
        body = app.get(url, headers=user.headers).json
        items += [(p["id"], (p["reposted_by"] or {}).get("id")) for p in body["results"]]
        url = body["next"]
    return items


def same_as_pulled(app, wsgi_app, db, user):
    expected = pulled_feed(wsgi_app, db, user)
    assert feed(app, user) == expected
    assert paged_feed(app, user) == expected
    return expected


def on_user(app, actor, verb, method, target):
    getattr(app, method)(f"/api/users/{target['id']}/{verb}/", headers=actor.headers)


def delete_account(app, user):
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=user.headers, status=204)


# Each way a repost by xavier (followed by alice, as is the post's author bob) leaves
# alice's feed, and what her feed shows of the post then: its own entry, or yves's repost.
REPOST_LEAVES = {
    "undone": (lambda app, alice, x, post: unrepost(app, x, post), "bob"),
    "reposter unfollowed": (lambda app, alice, x, post: on_user(app, alice, "follow", "delete", x), "bob"),
    "reposter deleted": (lambda app, alice, x, post: delete_account(app, x), "bob"),
    "reposter blocked by the reader": (lambda app, alice, x, post: on_user(app, alice, "block", "post", x), "bob"),
    "reader blocked by the reposter": (lambda app, alice, x, post: on_user(app, x, "block", "post", alice), "bob"),
    "reposter muted": (lambda app, alice, x, post: on_user(app, alice, "mute", "post", x), "bob"),
    "the later of two reposts undone": (lambda app, alice, x, post: unrepost(app, x, post), "yves"),
    "the later reposter unfollowed": (lambda app, alice, x, post: on_user(app, alice, "follow", "delete", x), "yves"),
}
# And what then takes the block or mute back: the reader reads her timeline again.
UNDONE = {
    "reposter blocked by the reader": lambda app, alice, x: on_user(app, alice, "block", "delete", x),
    "reader blocked by the reposter": lambda app, alice, x: on_user(app, x, "block", "delete", alice),
    "reposter muted": lambda app, alice, x: on_user(app, alice, "mute", "delete", x),
}


@pytest.mark.parametrize("built_when", ["before the repost", "after the repost"])
@pytest.mark.parametrize("how", list(REPOST_LEAVES))
def test_a_post_stays_in_a_built_timeline_when_a_repost_of_it_goes(app, wsgi_app, alice, bob, make_user, db,
                                                                   how, built_when):  # fmt: skip
    xavier, yves = make_user("xavier"), make_user("yves")
    for followee in (bob, xavier, yves):
        follow(app, alice, followee)
    older = create(app, bob, "older").json["id"]
    post = create(app, bob, "the post").json["id"]
    if built_when == "before the repost":
        built(app, db, alice)
    else:
        uncached_read(app, alice)  # made, filled after the repost
    if how.startswith("the later"):
        repost(app, yves, post)
    repost(app, xavier, post)
    if built_when == "after the repost":
        built(app, db, alice)
    assert same_as_pulled(app, wsgi_app, db, alice) == [(post, xavier["id"]), (older, None)]
    leave, shown_through = REPOST_LEAVES[how]
    leave(app, alice, xavier, post)
    through = {"bob": None, "yves": yves["id"]}[shown_through]
    assert same_as_pulled(app, wsgi_app, db, alice) == [(post, through), (older, None)]
    assert uncached_read(app, alice)["results"][0]["id"] == post  # and it keeps doing so
    if how in UNDONE:
        UNDONE[how](app, alice, xavier)
        same_as_pulled(app, wsgi_app, db, alice)
        assert post in [p for p, _ in feed(app, alice)]


@pytest.mark.parametrize("built_when", ["before the repost", "after the repost"])
def test_the_authors_unfollow_leaves_the_post_through_its_reposter(app, wsgi_app, alice, bob, make_user, db,
                                                                   built_when):  # fmt: skip
    """The other way round: the author unfollowed while a reposter stays followed shows the
    post through the repost; the repost undone then leaves nothing."""
    xavier = make_user("xavier")
    follow(app, alice, bob)
    follow(app, alice, xavier)
    post = create(app, bob, "the post").json["id"]
    if built_when == "before the repost":
        built(app, db, alice)
    else:
        uncached_read(app, alice)
    repost(app, xavier, post)
    if built_when == "after the repost":
        built(app, db, alice)
    on_user(app, alice, "follow", "delete", bob)
    assert same_as_pulled(app, wsgi_app, db, alice) == [(post, xavier["id"])]
    unrepost(app, xavier, post)
    assert same_as_pulled(app, wsgi_app, db, alice) == []
    follow(app, alice, bob)  # followed again: the post comes back with the followee's newest
    assert same_as_pulled(app, wsgi_app, db, alice) == [(post, None)]


@pytest.mark.parametrize("size", ["8", "800"])
@pytest.mark.parametrize("mode", ["inline", "task"])
def test_every_write_keeps_built_timelines_as_the_pull_plans_say(make_app, wsgi_app, make_user, db, monkeypatch,
                                                                 mode, size):  # fmt: skip
    """A seeded walk of the writes that change feeds (posts, reposts and their undoing,
    follows, unfollows, deletes, blocks, mutes and their undoing, timelines filled again at
    any point), in timelines trimmed to a few entries or holding the whole feed, fanned out
    in the request or by the task: after every write each reader's feed, whole and page by
    page, is what the pull plans say."""
    monkeypatch.setattr(timelines, "TRIM_EVERY", 1)
    app = make_app(**{"feed.timeline_size": size, "fanout.inline_followers": "100" if mode == "inline" else "0"})
    rng = random.Random(26)
    readers = [make_user(f"reader{i}") for i in range(2)]
    authors = [make_user(f"author{i}") for i in range(3)]
    posts, reposts, history = [], set(), []
    for reader in readers:
        for author in authors:
            follow(app, reader, author)

    def on(actor, verb, method, target):
        history.append((verb, method, actor["username"], target["username"]))
        getattr(app, method)(f"/api/users/{target['id']}/{verb}/", headers=actor.headers, expect_errors=True)

    def on_post(actor, verb, method, post_id):
        history.append((verb, method, actor["username"], post_id))
        getattr(app, method)(f"/api/posts/{post_id}/{verb}/", headers=actor.headers, expect_errors=True)

    # A reader who hides someone reads the pull plans: blocks and mutes are undone soon.
    ops = {
        "post": 3,
        "repost": 5,
        "unrepost": 3,
        "follow": 3,
        "unfollow": 1,
        "block": 1,
        "unblock": 3,
        "mute": 1,
        "unmute": 3,
        "delete": 1,
        "refill": 3,
    }
    for step in range(120):
        op = rng.choices(list(ops), weights=list(ops.values()))[0]
        author, reader = rng.choice(authors), rng.choice(readers)
        if op == "post" or not posts:
            history.append(("post", author["username"]))
            posts.append((create(app, author, f"post {step}").json["id"], author))
        elif op == "repost":
            post_id, _ = rng.choice(posts[-6:])
            on_post(author, "repost", "post", post_id)
            reposts.add((author["id"], post_id))
        elif op == "unrepost" and reposts:
            reposter_id, post_id = rng.choice(sorted(reposts))
            reposts.discard((reposter_id, post_id))
            on_post(next(a for a in authors if a["id"] == reposter_id), "repost", "delete", post_id)
        elif op in ("follow", "unfollow", "mute", "unmute"):
            on(reader, op.removeprefix("un"), "delete" if op.startswith("un") else "post", author)
        elif op in ("block", "unblock"):
            actor, target = (reader, author) if rng.random() < 0.5 else (author, reader)
            on(actor, "block", "post" if op == "block" else "delete", target)
        elif op == "delete":
            post_id, by = rng.choice(posts)
            history.append(("delete", post_id))
            app.delete(f"/api/posts/{post_id}/", headers=by.headers, expect_errors=True)
        elif op == "refill":  # the reader's timeline is filled again at its next read
            history.append(("refill", reader["username"]))
            sql(db, "UPDATE home_timelines SET stale_since = now() - interval '1 hour' WHERE user_id = %s",
                reader["id"])  # fmt: skip
        for (outbox_id,) in sql(db, "SELECT id FROM outbox WHERE kind IN ('fanout', 'timeline') AND sent_at IS NULL"
                                    " ORDER BY id"):  # fmt: skip
            assert deliver.run(outbox_id) is True
        for reader in readers:
            expected = pulled_feed(wsgi_app, db, reader)
            assert feed(app, reader) == expected, history
            assert paged_feed(app, reader) == expected, history


def test_the_fill_plans_walk_the_indexes(wsgi_app, db, network):  # noqa: F811
    """What a fill reads (every occurrence) walks the same indexes as the pull plans."""
    queries, params = wsgi_app.registry.queries.timelines, {"user_id": 1, "limit": 800}
    plan = explain(db, queries.newest_by_followee, params)
    assert "idx_posts_author_id_id_live" in plan and "idx_reposts_user_id_id" in plan, plan
    plan = explain(db, queries.newest_by_timeline, params)
    assert "Index Scan Backward" in plan and "reposts_id_key" in plan and "Sort  (" not in plan, plan


def test_timelines_filled_before_are_filled_again(app, wsgi_app, alice, bob, make_user, db):
    """migrations/0016: a timeline filled the old way (each post once) is filled again at its
    reader's next read, so a repost undone after the deploy leaves the post in the feed."""
    xavier = make_user("xavier")
    follow(app, alice, bob)
    follow(app, alice, xavier)
    post = create(app, bob, "the post").json["id"]
    uncached_read(app, alice)
    repost(app, xavier, post)
    built(app, db, alice)
    sql(db, "DELETE FROM home_timeline WHERE user_id = %s AND reposter_id IS NULL", alice["id"])  # as it was
    migration = next(p for p in MIGRATIONS.glob("0016.*.sql") if not p.name.endswith(".rollback.sql"))
    sql(db, migration.read_text())
    assert state(db, alice) == "stale"
    uncached_read(app, alice)
    assert state(db, alice) == "ready"
    unrepost(app, xavier, post)
    assert same_as_pulled(app, wsgi_app, db, alice) == [(post, None)]
