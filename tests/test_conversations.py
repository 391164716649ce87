"""Replies, mentions, reposts (and the feed with them) and bookmarks."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import webtest
from conftest import assert_error, explain
from test_follows_feed import feed_app  # noqa: F401 (a fixture: the feed through both plans)
from test_posts import create

from minitwitter.domain import mentions


def reply(app, user, parent_id, text="a reply", status=201):
    return app.post_json("/api/posts/", {"text": text, "in_reply_to": parent_id}, headers=user.headers, status=status)


def follow(app, follower, followee):
    app.post(f"/api/users/{followee['id']}/follow/", headers=follower.headers)


def feed(app, user, query=""):
    return app.get(f"/api/feed/{query}", headers=user.headers).json


# Replies


def test_a_reply_points_at_its_parent_and_counts(app, alice, bob):
    parent = create(app, alice, "the question").json
    assert parent["in_reply_to"] is None and parent["replies_count"] == 0
    answer = reply(app, bob, parent["id"]).json
    assert answer["in_reply_to"] == parent["id"] and answer["replies_count"] == 0
    assert app.get(f"/api/posts/{parent['id']}/", headers=bob.headers).json["replies_count"] == 1
    # An explicit null is no reply; a reply to a reply is a reply too.
    plain = app.post_json("/api/posts/", {"text": "x", "in_reply_to": None}, headers=bob.headers, status=201).json
    assert plain["in_reply_to"] is None
    deeper = reply(app, alice, answer["id"]).json
    assert deeper["in_reply_to"] == answer["id"]
    assert app.get(f"/api/posts/{parent['id']}/", headers=bob.headers).json["replies_count"] == 1  # direct only


def test_replies_read_oldest_first_by_cursor_and_number(app, alice, bob):
    parent = create(app, alice).json
    url = f"/api/posts/{parent['id']}/replies/"
    assert app.get(url, headers=bob.headers).json["results"] == []  # cached, then made stale below
    ids = [reply(app, bob if i % 2 else alice, parent["id"], f"r{i}").json["id"] for i in range(7)]
    create(app, bob, "not a reply")
    seen, next_url = [], url + "?page_size=3"
    while next_url:
        body = app.get(next_url, headers=bob.headers).json
        assert body["count"] == 7
        seen += [p["id"] for p in body["results"]]
        next_url = body["next"]
    assert seen == ids
    third = app.get(url + "?page=3&page_size=3", headers=bob.headers).json
    assert [p["id"] for p in third["results"]] == ids[6:] and third["previous"] is not None
    # A deleted reply leaves the list and the count.
    app.delete(f"/api/posts/{ids[0]}/", headers=alice.headers, status=204)
    body = app.get(url, headers=bob.headers).json
    assert [p["id"] for p in body["results"]] == ids[1:] and body["count"] == 6
    assert app.get(f"/api/posts/{parent['id']}/", headers=bob.headers).json["replies_count"] == 6


def test_reply_to_unknown_or_deleted_post_is_404_naming_in_reply_to(app, alice, bob, db):
    assert_error(reply(app, bob, 987654, status=404), 404, "in_reply_to")
    parent = create(app, alice).json
    app.delete(f"/api/posts/{parent['id']}/", headers=alice.headers, status=204)
    assert_error(reply(app, bob, parent["id"], status=404), 404, "in_reply_to")
    assert_error(app.get(f"/api/posts/{parent['id']}/replies/", headers=bob.headers, status=404), 404)
    assert_error(app.get("/api/posts/987654/replies/", headers=bob.headers, status=404), 404)
    with db.cursor() as cur:  # nothing half-written
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize("value", ["abc", True, 0, -1, 1.5, [1], {"id": 1}, "", 2**63])
def test_in_reply_to_must_be_a_post_id(app, alice, value):
    response = app.post_json("/api/posts/", {"text": "x", "in_reply_to": value}, headers=alice.headers, status=400)
    assert_error(response, 400, "in_reply_to")


def test_in_reply_to_in_a_form(app, alice, bob):
    parent = create(app, alice).json
    body = app.post("/api/posts/", {"text": "form reply", "in_reply_to": str(parent["id"])}, headers=bob.headers)
    assert body.json["in_reply_to"] == parent["id"]


def test_replies_keep_their_parent_deleted_later(app, alice, bob):
    parent = create(app, alice).json
    answer = reply(app, bob, parent["id"]).json
    app.delete(f"/api/posts/{parent['id']}/", headers=alice.headers, status=204)
    assert app.get(f"/api/posts/{answer['id']}/", headers=bob.headers).json["in_reply_to"] == parent["id"]


def test_idempotency_key_tells_replies_apart(app, alice):
    parent = create(app, alice).json
    headers = {**alice.headers, "Idempotency-Key": "k1"}
    first = app.post_json("/api/posts/", {"text": "same", "in_reply_to": parent["id"]}, headers=headers, status=201)
    again = app.post_json("/api/posts/", {"text": "same", "in_reply_to": parent["id"]}, headers=headers, status=201)
    assert again.json["id"] == first.json["id"]
    other = app.post_json("/api/posts/", {"text": "same"}, headers=headers, status=422)
    assert_error(other, 422, "Idempotency-Key")


def test_replies_plan_uses_its_index(wsgi_app, db):
    with db.cursor() as cur:
        cur.execute("INSERT INTO users (username, email, password_hash) VALUES ('user1', 'user1@example.com', 'x')")
        cur.execute(
            "INSERT INTO posts (author_id, text, in_reply_to)"
            " SELECT 1, 'p', CASE WHEN i > 100 THEN 1 + i % 100 END FROM generate_series(1, 5000) i"
        )
        cur.execute("ANALYZE posts")
    query = wsgi_app.registry.queries.posts.list_replies
    plan = explain(db, query, {"post_id": 7, "hidden": [], "after": 0, "offset": 0, "limit": 21})
    assert "idx_posts_in_reply_to_id_live" in plan and "Sort" not in plan, plan


# Mentions


@pytest.mark.parametrize(
    "text, names",
    [
        ("hi @Ana and @ana, @BOB!", ["ana", "bob"]),
        ("mail ana@example.com or x.@carol", []),
        ("(@dave) @eve: @fred. end @gus", ["dave", "eve", "fred", "gus"]),
        ("@ab is short, @" + "a" * 31 + " is long", []),
        ("@dan@elsewhere.org is someone else's", []),
        ("café@ana, @anaé, @@ana", []),
        ("line\n@ana\t@bob", ["ana", "bob"]),
    ],
)
def test_mention_parsing(text, names):
    assert mentions.parse(text) == names


def test_mentions_name_existing_users_in_any_case(app, alice, bob, make_user):
    carol = make_user("Carol")
    text = "hey @BOB and @carol and @nobody, mail alice@example.com, again @Bob"
    post = create(app, alice, text).json
    assert post["mentions"] == [{"id": bob["id"], "username": "bob"}, {"id": carol["id"], "username": "Carol"}]
    # An edit rewrites them, and the cached post follows.
    app.get(f"/api/posts/{post['id']}/", headers=alice.headers)
    edited = app.patch_json(f"/api/posts/{post['id']}/", {"text": "only @alice now"}, headers=alice.headers).json
    assert edited["mentions"] == [{"id": alice["id"], "username": "alice"}]
    read = app.get(f"/api/posts/{post['id']}/", headers=bob.headers).json
    assert read["mentions"] == edited["mentions"]


def test_mention_hook_hears_each_new_mention_once(app, alice, bob, make_user, monkeypatch):
    from minitwitter.domain import posts as domain

    heard = []
    monkeypatch.setattr(domain, "mentioned", lambda tx, post_id, author_id, ids: heard.append((post_id, ids)))
    carol = make_user("carol")
    post = create(app, alice, "@bob @carol").json
    app.patch_json(f"/api/posts/{post['id']}/", {"text": "@carol @bob @alice"}, headers=alice.headers)
    assert heard == [(post["id"], [bob["id"], carol["id"]]), (post["id"], [alice["id"]])]


# Reposts


def test_repost_and_undo_are_idempotent(app, alice, bob):
    post = create(app, alice).json
    url = f"/api/posts/{post['id']}/repost/"
    for _ in range(2):
        body = app.post(url, headers=bob.headers).json
        assert body["reposts_count"] == 1 and body["reposted_by_me"] is True and body["reposted_by"] is None
    # reposted_by_me is the viewer's: the cached post does not carry it to alice
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["reposted_by_me"] is False
    for _ in range(2):
        body = app.delete(url, headers=bob.headers).json
        assert body["reposts_count"] == 0 and body["reposted_by_me"] is False


def test_repost_unknown_or_deleted_post_is_404(app, alice, bob):
    assert_error(app.post("/api/posts/987654/repost/", headers=bob.headers, status=404), 404)
    assert_error(app.delete("/api/posts/987654/repost/", headers=bob.headers, status=404), 404)
    post = create(app, alice).json
    app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    assert_error(app.post(f"/api/posts/{post['id']}/repost/", headers=bob.headers, status=404), 404)


def test_30_reposts_at_once_count_30(wsgi_app, app, alice, make_user, db):
    post = create(app, alice).json
    users = [make_user(f"fan{i}") for i in range(30)]

    def repost(user):
        return webtest.TestApp(wsgi_app).post(f"/api/posts/{post['id']}/repost/", headers=user.headers).status_int

    with ThreadPoolExecutor(max_workers=15) as pool:
        assert set(pool.map(repost, users)) == {200}
    with db.cursor() as cur:
        cur.execute(
            "SELECT reposts_count, (SELECT count(*) FROM reposts WHERE post_id = %s) FROM posts WHERE id = %s",
            (post["id"], post["id"]),
        )
        assert cur.fetchone() == (30, 30)


def test_a_repost_enters_followers_feeds_at_its_time(feed_app, app, alice, bob, make_user):  # noqa: F811
    carol = make_user("carol")
    follow(app, carol, bob)
    original = create(app, alice, "by alice, whom carol does not follow").json
    before = create(app, bob, "bob, before the repost").json
    assert [p["id"] for p in feed(feed_app, carol)["results"]] == [before["id"]]  # cached, then stale
    app.post(f"/api/posts/{original['id']}/repost/", headers=bob.headers)
    after = create(app, bob, "bob, after the repost").json
    results = feed(feed_app, carol)["results"]
    assert [p["id"] for p in results] == [after["id"], original["id"], before["id"]]
    assert [p["reposted_by"] for p in results] == [None, {"id": bob["id"], "username": "bob"}, None]
    assert results[1]["author"]["id"] == alice["id"] and results[1]["reposts_count"] == 1
    # Undone, it leaves the feed.
    app.delete(f"/api/posts/{original['id']}/repost/", headers=bob.headers)
    assert [p["id"] for p in feed(feed_app, carol)["results"]] == [after["id"], before["id"]]


def test_a_post_appears_once_however_many_reposted_it(feed_app, app, alice, bob, make_user):  # noqa: F811
    carol, dave = make_user("carol"), make_user("dave")
    for followee in (alice, bob, dave):
        follow(app, carol, followee)
    original = create(app, alice, "everybody reposts this").json
    middle = create(app, alice, "in between").json
    app.post(f"/api/posts/{original['id']}/repost/", headers=bob.headers)
    app.post(f"/api/posts/{original['id']}/repost/", headers=dave.headers)
    results = feed(feed_app, carol)["results"]
    # Once, at the newest repost (dave's), though carol follows its author too.
    assert [(p["id"], p["reposted_by"] and p["reposted_by"]["username"]) for p in results] == [
        (original["id"], "dave"),
        (middle["id"], None),
    ]
    # dave undoes his: bob's repost is now the newest occurrence.
    app.delete(f"/api/posts/{original['id']}/repost/", headers=dave.headers)
    results = feed(feed_app, carol)["results"]
    assert [(p["id"], p["reposted_by"] and p["reposted_by"]["username"]) for p in results] == [
        (original["id"], "bob"),
        (middle["id"], None),
    ]


def test_feed_with_reposts_pages_without_repeats(feed_app, app, alice, bob, make_user):  # noqa: F811
    carol, dave = make_user("carol"), make_user("dave")
    follow(app, carol, bob)
    follow(app, carol, dave)
    expected = []  # (post id, reposter), newest first at the end
    for i in range(12):
        own = create(app, bob if i % 2 else dave, f"own {i}").json
        expected.append((own["id"], None))
        theirs = create(app, alice, f"alice {i}").json
        for reposter in (bob, dave) if i % 3 == 0 else (bob,):
            app.post(f"/api/posts/{theirs['id']}/repost/", headers=reposter.headers)
        expected.append((theirs["id"], "dave" if i % 3 == 0 else "bob"))
    # One of dave's own posts reposted by bob later moves up to bob's repost.
    moved = expected[0][0]
    app.post(f"/api/posts/{moved}/repost/", headers=bob.headers)
    expected = [e for e in expected if e[0] != moved] + [(moved, "bob")]
    seen, url = [], "/api/feed/?page_size=5"
    while url:
        body = feed_app.get(url, headers=carol.headers).json
        seen += [(p["id"], p["reposted_by"] and p["reposted_by"]["username"]) for p in body["results"]]
        url = body["next"]
    assert seen == expected[::-1]
    numbered = feed_app.get("/api/feed/?page=2&page_size=5", headers=carol.headers).json
    assert [p["id"] for p in numbered["results"]] == [e[0] for e in expected[::-1][5:10]]


def test_deleting_the_original_removes_every_repost(feed_app, app, alice, bob, make_user, db):  # noqa: F811
    carol = make_user("carol")
    follow(app, carol, bob)
    original = create(app, alice).json
    app.post(f"/api/posts/{original['id']}/repost/", headers=bob.headers)
    assert [p["id"] for p in feed(feed_app, carol)["results"]] == [original["id"]]
    app.delete(f"/api/posts/{original['id']}/", headers=alice.headers, status=204)
    assert feed(feed_app, carol)["results"] == []
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM reposts")
        assert cur.fetchone()[0] == 0


def test_repost_bumps_followers_feeds_through_the_fanout_task(make_app, app, alice, bob, make_user, db):
    fanout_app = make_app(**{"fanout.inline_followers": "1"})
    carol, dave = make_user("carol"), make_user("dave")
    follow(app, carol, bob)
    follow(app, dave, bob)
    post = create(app, alice).json
    fanout_app.post(f"/api/posts/{post['id']}/repost/", headers=bob.headers)
    with db.cursor() as cur:
        cur.execute("SELECT kind, payload FROM outbox WHERE kind = 'fanout'")
        assert cur.fetchall() == [("fanout", {"author_id": bob["id"]})]


def test_feed_plans_with_reposts_on_thousands_of_rows(wsgi_app, db):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO users (username, email, password_hash)"
            " SELECT 'user' || i, 'user' || i || '@example.com', 'x' FROM generate_series(1, 300) i"
        )
        cur.execute("INSERT INTO follows (follower_id, followee_id) SELECT 1, i FROM generate_series(2, 61) i")
        cur.execute("INSERT INTO posts (author_id, text) SELECT 1 + i % 300, 'p' FROM generate_series(1, 30000) i")
        cur.execute(
            "INSERT INTO reposts (post_id, user_id) SELECT 1 + (i * 7919) % 30000, 1 + i % 300"
            " FROM generate_series(1, 6000) i ON CONFLICT DO NOTHING"
        )
        cur.execute("ANALYZE users, follows, posts, reposts")
    page = {"user_id": 1, "hidden": [], "before": 2**63 - 1, "offset": 0, "limit": 21}
    by_followee = explain(db, wsgi_app.registry.queries.feed.feed_by_followee, page)
    assert "idx_reposts_user_id_id" in by_followee and "idx_reposts_post_id_id" in by_followee, by_followee
    by_timeline = explain(db, wsgi_app.registry.queries.feed.feed_by_timeline, page)
    assert "Merge Append" in by_timeline and "Sort  (" not in by_timeline, by_timeline


# Bookmarks


def test_bookmarks_are_mine_newest_first(app, alice, bob):
    posts = [create(app, alice, f"p{i}").json for i in range(3)]
    assert app.get("/api/bookmarks/", headers=bob.headers).json["results"] == []
    for post in (posts[1], posts[0], posts[2], posts[0]):  # the repeat changes nothing
        body = app.post(f"/api/posts/{post['id']}/bookmark/", headers=bob.headers).json
        assert body["bookmarked_by_me"] is True and body["id"] == post["id"]
    mine = app.get("/api/bookmarks/?page_size=2", headers=bob.headers).json
    assert [p["id"] for p in mine["results"]] == [posts[2]["id"], posts[0]["id"]] and mine["count"] is None
    rest = app.get(mine["next"], headers=bob.headers).json
    assert [p["id"] for p in rest["results"]] == [posts[1]["id"]] and rest["next"] is None
    # Nobody else sees them, not even in bookmarked_by_me.
    assert app.get("/api/bookmarks/", headers=alice.headers).json["results"] == []
    assert app.get(f"/api/posts/{posts[0]['id']}/", headers=alice.headers).json["bookmarked_by_me"] is False
    assert app.get(f"/api/posts/{posts[0]['id']}/", headers=bob.headers).json["bookmarked_by_me"] is True
    # Removed (twice: idempotent), and a deleted post leaves the list.
    for _ in range(2):
        body = app.delete(f"/api/posts/{posts[0]['id']}/bookmark/", headers=bob.headers).json
        assert body["bookmarked_by_me"] is False
    app.delete(f"/api/posts/{posts[2]['id']}/", headers=alice.headers, status=204)
    assert [p["id"] for p in app.get("/api/bookmarks/", headers=bob.headers).json["results"]] == [posts[1]["id"]]


def test_bookmark_unknown_post_is_404(app, alice):
    assert_error(app.post("/api/posts/987654/bookmark/", headers=alice.headers, status=404), 404)
    assert_error(app.delete("/api/posts/987654/bookmark/", headers=alice.headers, status=404), 404)


def test_new_routes_need_a_token(app):
    for method, url in [
        ("get", "/api/bookmarks/"),
        ("get", "/api/posts/1/replies/"),
        ("post", "/api/posts/1/repost/"),
        ("post", "/api/posts/1/bookmark/"),
    ]:
        assert_error(getattr(app, method)(url, status=401), 401)


def test_in_reply_to_is_nullable_in_json_not_in_a_form(app, alice):
    content = app.get("/api/openapi.json").json["paths"]["/api/posts/"]["post"]["requestBody"]["content"]
    assert content["application/json"]["schema"]["properties"]["in_reply_to"]["type"] == ["integer", "null"]
    for form in ("application/x-www-form-urlencoded", "multipart/form-data"):
        assert content[form]["schema"]["properties"]["in_reply_to"]["type"] == "integer"
    # In a form, "null" is a string like any other: not an id.
    response = app.post("/api/posts/", {"text": "x", "in_reply_to": "null"}, headers=alice.headers, status=400)
    assert_error(response, 400, "in_reply_to")
