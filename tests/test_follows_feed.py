"""Follows with exact counts, followers/following lists, and the home feed."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import webtest
from conftest import assert_error, explain
from test_posts import create


def test_follow_and_unfollow_are_idempotent(app, alice, bob):
    url = f"/api/users/{bob['id']}/follow/"
    for _ in range(2):
        profile = app.post(url, headers=alice.headers).json
        assert profile["id"] == bob["id"] and profile["followers_count"] == 1 and profile["followed_by_me"] is True
    assert app.get("/api/users/me/", headers=alice.headers).json["following_count"] == 1
    # followed_by_me is the viewer's: bob does not follow himself
    assert app.get(f"/api/users/{bob['id']}/", headers=bob.headers).json["followed_by_me"] is False
    for _ in range(2):
        profile = app.delete(url, headers=alice.headers).json
        assert profile["followers_count"] == 0 and profile["followed_by_me"] is False
    assert app.get("/api/users/me/", headers=alice.headers).json["following_count"] == 0


def test_self_follow_is_400_and_unknown_is_404(app, alice):
    assert_error(app.post(f"/api/users/{alice['id']}/follow/", headers=alice.headers, status=400), 400, "id")
    # Unfollowing yourself changes nothing, like any repeated unfollow.
    assert app.delete(f"/api/users/{alice['id']}/follow/", headers=alice.headers).json["followers_count"] == 0
    assert_error(app.post("/api/users/99999/follow/", headers=alice.headers, status=404), 404)
    assert_error(app.delete("/api/users/99999/follow/", headers=alice.headers, status=404), 404)
    assert_error(app.get("/api/users/99999/followers/", headers=alice.headers, status=404), 404)


def test_50_followers_at_once_count_50(wsgi_app, app, alice, make_user, db):
    fans = [make_user(f"fan{i}") for i in range(50)]

    def follow(user):
        return webtest.TestApp(wsgi_app).post(f"/api/users/{alice['id']}/follow/", headers=user.headers).status_int

    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(follow, fans)) == {200}
    assert app.get("/api/users/me/", headers=alice.headers).json["followers_count"] == 50
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM follows WHERE followee_id = %s", (alice["id"],))
        assert cur.fetchone()[0] == 50
        cur.execute("SELECT sum(following_count) FROM users WHERE username LIKE 'fan%%'")
        assert cur.fetchone()[0] == 50


def test_followers_and_following_lists(app, alice, bob, make_user):
    carol = make_user("carol")
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    app.post(f"/api/users/{alice['id']}/follow/", headers=carol.headers)
    app.post(f"/api/users/{carol['id']}/follow/", headers=alice.headers)
    followers = app.get(f"/api/users/{alice['id']}/followers/?page_size=1", headers=alice.headers).json
    assert followers["count"] == 2
    assert [u["username"] for u in followers["results"]] == ["carol"]  # newest follow first
    assert followers["results"][0]["followed_by_me"] is True  # alice follows carol back
    rest = app.get(followers["next"], headers=alice.headers).json
    assert [u["username"] for u in rest["results"]] == ["bob"] and rest["next"] is None
    following = app.get(f"/api/users/{alice['id']}/following/", headers=bob.headers).json
    assert following["count"] == 1 and [u["username"] for u in following["results"]] == ["carol"]


@pytest.fixture(params=["by_followee", "by_timeline"])
def feed_app(request, app, make_app):
    """The feed through both plans: threshold 0 sends every reader to the timeline walk."""
    if request.param == "by_followee":
        return app
    return make_app(**{"feed.timeline_threshold": "0"})


def test_feed_holds_only_followed_accounts_newest_first(feed_app, app, alice, bob, make_user):
    carol, dave = make_user("carol"), make_user("dave")
    app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    app.post(f"/api/users/{carol['id']}/follow/", headers=alice.headers)
    expected = []
    for i in range(6):
        expected.append(create(app, bob if i % 2 else carol, f"post {i}").json["id"])
        create(app, dave, "not followed")
        create(app, alice, "my own")
    feed = feed_app.get("/api/feed/", headers=alice.headers).json
    assert [p["id"] for p in feed["results"]] == expected[::-1]
    assert feed["count"] is None


def test_feed_shows_current_state_and_unfollow_at_once(feed_app, app, alice, bob, make_user):
    carol = make_user("carol")
    for user in (bob, carol):
        app.post(f"/api/users/{user['id']}/follow/", headers=alice.headers)
    edited = create(app, bob, "before").json
    deleted = create(app, bob, "to delete").json
    kept = create(app, carol, "carol's").json
    app.put_json(f"/api/posts/{edited['id']}/", {"text": "after #edit"}, headers=bob.headers)
    app.delete(f"/api/posts/{deleted['id']}/", headers=bob.headers)
    feed = feed_app.get("/api/feed/", headers=alice.headers).json["results"]
    assert [(p["id"], p["text"]) for p in feed] == [(kept["id"], "carol's"), (edited["id"], "after #edit")]
    app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert [p["id"] for p in feed_app.get("/api/feed/", headers=alice.headers).json["results"]] == [kept["id"]]


def test_feed_pages_by_cursor_and_number(feed_app, app, alice, bob):
    app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    ids = [create(app, bob, f"p{i}").json["id"] for i in range(25)][::-1]
    url, seen = "/api/feed/?page_size=10", []
    while url:
        body = feed_app.get(url, headers=alice.headers).json
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert seen == ids
    third = feed_app.get("/api/feed/?page=3&page_size=10", headers=alice.headers).json
    assert [p["id"] for p in third["results"]] == ids[20:]


@pytest.mark.parametrize("query, name", [("page=0", "page"), ("page_size=500", "page_size"), ("cursor=%%%", "cursor")])
def test_feed_bad_page_parameters(app, alice, query, name):
    assert_error(app.get(f"/api/feed/?{query}", headers=alice.headers, status=400), 400, name)


def test_feed_needs_a_token(app):
    assert_error(app.get("/api/feed/", status=401), 401)


@pytest.fixture
def network(db):
    """200 users, user 1 following 150 of them, 20,000 posts and 4,000 reposts, analyzed:
    enough data for the planner to choose as it would on real data (empty tables make any
    plan look cheap)."""
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO users (username, email, password_hash)"
            " SELECT 'user' || i, 'user' || i || '@example.com', 'x' FROM generate_series(1, 200) i"
        )
        cur.execute("INSERT INTO follows (follower_id, followee_id) SELECT 1, i FROM generate_series(2, 151) i")
        cur.execute(
            "INSERT INTO posts (author_id, text) SELECT 1 + i % 200, 'post ' || i FROM generate_series(1, 20000) i"
        )
        cur.execute(
            "INSERT INTO reposts (post_id, user_id) SELECT 1 + (i * 7919) % 20000, 1 + i % 200"
            " FROM generate_series(1, 4000) i ON CONFLICT DO NOTHING"
        )
        cur.execute("ANALYZE users, follows, posts, reposts")


PAGE = {"user_id": 1, "hidden": [], "before": 2**63 - 1, "offset": 0, "limit": 21}


def test_feed_by_followee_reads_each_followees_newest_posts(wsgi_app, db, network):
    plan = explain(db, wsgi_app.registry.queries.feed.feed_by_followee, PAGE)
    assert "idx_posts_author_id_id_live" in plan and "idx_reposts_user_id_id" in plan, plan


def test_feed_by_timeline_walks_posts_newest_first_without_sorting(wsgi_app, db, network):
    plan = explain(db, wsgi_app.registry.queries.feed.feed_by_timeline, PAGE)
    # idx_posts_id_live, or posts_pkey when no post is deleted, and the reposts by id: either
    # way no sort (the two walks meet in a Merge Append).
    assert "Index Scan Backward" in plan and "reposts_id_key" in plan and "Sort  (" not in plan, plan
