"""Likes (exact under concurrency), hashtag parsing, popular and favourite hashtags."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import webtest
from conftest import assert_error
from test_posts import create

from minitwitter.domain import hashtags


@pytest.mark.parametrize(
    "text, tags",
    [
        ("#Lisboa #lisboa #LISBOA", ["lisboa"]),
        ("café #Café #naïve_2026", ["café", "naïve_2026"]),
        ("#2026 is digits alone, #2026_ok is not", ["2026_ok"]),
        ("mail a#b and ##double and #", []),
        ("end of sentence #tag.", ["tag"]),
        ("#" + "a" * 100 + " #" + "b" * 101, ["a" * 100]),
        ("日本 #東京 #Straße #STRASSE", ["strasse", "東京"]),  # Unicode case folding
        # Folding adds a mark ("İ" is "i" and U+0307) or length ("ß" is "ss"): the stored form
        # is checked, so it is a tag itself and fits the 100 characters of hashtags.name.
        ("#İstanbul #ISTANBUL #ΐ", ["istanbul", "ΐ"]),
        ("#" + "ß" * 50 + " #" + "ß" * 51, ["s" * 100]),
    ],
)
def test_hashtag_parsing(text, tags):
    assert hashtags.parse(text) == tags


def test_like_and_unlike_are_idempotent(app, alice, bob):
    post = create(app, alice).json
    url = f"/api/posts/{post['id']}/like/"
    for _ in range(2):
        liked = app.post(url, headers=bob.headers).json
        assert liked["likes_count"] == 1 and liked["liked_by_me"] is True
    # liked_by_me belongs to the viewer, not the post
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["liked_by_me"] is False
    for _ in range(2):
        unliked = app.delete(url, headers=bob.headers).json
        assert unliked["likes_count"] == 0 and unliked["liked_by_me"] is False
    # Unliking removes a like, not the post's list of likers: still there, now empty.
    assert app.get(f"/api/posts/{post['id']}/likes/", headers=bob.headers).json["results"] == []
    # Deleting the post is what takes the list away.
    app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)
    assert_error(app.get(f"/api/posts/{post['id']}/likes/", headers=bob.headers, status=404), 404)


def test_like_unknown_post_is_404(app, alice):
    assert_error(app.post("/api/posts/987654/like/", headers=alice.headers, status=404), 404)
    assert_error(app.delete("/api/posts/987654/like/", headers=alice.headers, status=404), 404)
    assert_error(app.get("/api/posts/987654/likes/", headers=alice.headers, status=404), 404)


def test_likers_newest_first(app, alice, make_user):
    post = create(app, alice).json
    users = [make_user(f"liker{i}") for i in range(3)]
    for user in users:
        app.post(f"/api/posts/{post['id']}/like/", headers=user.headers)
    page = app.get(f"/api/posts/{post['id']}/likes/?page_size=2", headers=alice.headers).json
    assert [u["username"] for u in page["results"]] == ["liker2", "liker1"]
    assert set(page["results"][0]) == {
        "id",
        "username",
        "display_name",
        "bio",
        "avatar",
        "created_at",
        "followers_count",
        "following_count",
        "posts_count",
        "followed_by_me",
    }
    rest = app.get(page["next"], headers=alice.headers).json
    assert [u["username"] for u in rest["results"]] == ["liker0"] and rest["next"] is None


def test_50_users_liking_at_once_count_50(wsgi_app, app, alice, make_user, db):
    post = create(app, alice).json
    users = [make_user(f"fan{i}") for i in range(50)]

    def like(user):
        # One TestApp per thread: webtest apps are not thread-safe, the WSGI app is.
        return webtest.TestApp(wsgi_app).post(f"/api/posts/{post['id']}/like/", headers=user.headers).status_int

    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(like, users)) == {200}
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["likes_count"] == 50
    with db.cursor() as cur:
        cur.execute(
            "SELECT likes_count, (SELECT count(*) FROM likes WHERE post_id = %s) FROM posts WHERE id = %s",
            (post["id"], post["id"]),
        )
        assert cur.fetchone() == (50, 50)


def test_one_user_liking_20_times_at_once_counts_1(wsgi_app, app, alice, bob):
    post = create(app, alice).json

    def like(_):
        return webtest.TestApp(wsgi_app).post(f"/api/posts/{post['id']}/like/", headers=bob.headers).status_int

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(like, range(20))) == {200}
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["likes_count"] == 1


def test_popular_hashtags_top_5_over_live_posts(app, alice):
    for tag, n in [("a", 6), ("b", 5), ("c", 4), ("d", 3), ("e", 2), ("f", 1)]:
        for _ in range(n):
            create(app, alice, f"#{tag}")
    assert app.get("/api/popular_hashtags/", headers=alice.headers).json == [
        {"name": "a", "count": 6},
        {"name": "b", "count": 5},
        {"name": "c", "count": 4},
        {"name": "d", "count": 3},
        {"name": "e", "count": 2},
    ]
    # A write changes the answer at once, though it is cached.
    for _ in range(7):
        create(app, alice, "#f")
    assert app.get("/api/popular_hashtags/", headers=alice.headers).json[0] == {"name": "f", "count": 8}


def test_popular_hashtags_are_cached_in_redis(app, alice, redis_client):
    create(app, alice, "#cached")
    app.get("/api/popular_hashtags/", headers=alice.headers)
    assert redis_client.get("popular_hashtags") is not None


def test_favorite_hashtags(app, alice, bob):
    both = create(app, bob, "#cats and #dogs").json
    cats = create(app, bob, "#cats only").json
    create(app, bob, "#birds only")
    dogs = create(app, bob, "#DOGS only").json
    assert app.post("/api/hashtags/Cats/favorite/", headers=alice.headers).json == {"name": "cats", "favorite": True}
    app.post("/api/hashtags/cats/favorite/", headers=alice.headers)  # idempotent
    app.post("/api/hashtags/%23dogs/favorite/", headers=alice.headers)
    assert app.get("/api/favorite_hashtags/", headers=alice.headers).json["results"] == [
        {"name": "cats", "count": 2},
        {"name": "dogs", "count": 2},
    ]
    page = app.get("/api/favorite_hashtags/posts/", headers=alice.headers).json
    assert [p["id"] for p in page["results"]] == [dogs["id"], cats["id"], both["id"]]  # each once
    two = app.get("/api/favorite_hashtags/posts/?page_size=2", headers=alice.headers).json
    assert [p["id"] for p in two["results"]] == [dogs["id"], cats["id"]]
    assert [p["id"] for p in app.get(two["next"], headers=alice.headers).json["results"]] == [both["id"]]
    assert app.delete("/api/hashtags/cats/favorite/", headers=alice.headers).json == {"name": "cats", "favorite": False}
    assert app.get("/api/favorite_hashtags/", headers=alice.headers).json["results"] == [{"name": "dogs", "count": 2}]
    assert app.get("/api/favorite_hashtags/", headers=bob.headers).json["results"] == []


def test_favorite_a_tag_nobody_used_yet(app, alice):
    assert app.post("/api/hashtags/brandnew/favorite/", headers=alice.headers).json["favorite"] is True
    assert app.get("/api/favorite_hashtags/", headers=alice.headers).json["results"] == [
        {"name": "brandnew", "count": 0}
    ]
    assert app.get("/api/popular_hashtags/", headers=alice.headers).json == []


def test_favorite_bad_tag_is_400(app, alice):
    assert_error(app.post("/api/hashtags/12345/favorite/", headers=alice.headers, status=400), 400, "tag")
    assert_error(app.post("/api/hashtags/bad-tag/favorite/", headers=alice.headers, status=400), 400, "tag")


def test_a_tag_name_the_api_returns_is_a_tag_it_takes(app, alice):
    # schemathesis (stateful, through the OpenAPI links): POST .../favorite/ answered the
    # name "i̇stanbul" (folded, with U+0307), which GET /api/hashtags/{tag}/posts/ refused;
    # and "#" + "ß" * 60 folded to 120 characters, past the column's CHECK: a 409.
    name = app.post("/api/hashtags/%C4%B0stanbul/favorite/", headers=alice.headers).json["name"]
    assert name == "istanbul"
    post = create(app, alice, "#İstanbul").json
    assert post["hashtags"] == ["istanbul"]
    page = app.get(f"/api/hashtags/{name}/posts/", headers=alice.headers).json
    assert [p["id"] for p in page["results"]] == [post["id"]]
    assert create(app, alice, "#" + "ß" * 60).json["hashtags"] == []
    assert_error(app.post("/api/hashtags/" + "%C3%9F" * 60 + "/favorite/", headers=alice.headers, status=400), 400)


def test_lists_count_what_is_kept(app, alice, bob, db):
    """count on all posts (a split counter), likers (likes_count) and my favourite tags."""
    ids = [
        app.post_json("/api/posts/", {"text": f"post {i} #t{i}"}, headers=alice.headers).json["id"] for i in range(20)
    ]
    assert app.get("/api/posts/", headers=bob.headers).json["count"] == 20
    app.delete(f"/api/posts/{ids[3]}/", headers=alice.headers)
    app.delete_json("/api/posts/", {"id_post": ids[19]}, headers=alice.headers)
    for query in ("", "?page=2&page_size=5", "?page_size=1"):  # cached pages see it too
        assert app.get(f"/api/posts/{query}", headers=bob.headers).json["count"] == 18
    with db.cursor() as cur:  # 16 rows, each counting the live posts whose id % 16 is its slot
        cur.execute("SELECT count(*), sum(live), max(live) FROM post_totals")
        assert cur.fetchone() == (16, 18, 2)

    app.post(f"/api/posts/{ids[0]}/like/", headers=bob.headers)
    app.post(f"/api/posts/{ids[0]}/like/", headers=alice.headers)
    likers = app.get(f"/api/posts/{ids[0]}/likes/", headers=bob.headers).json
    assert likers["count"] == 2 and len(likers["results"]) == 2

    for i in range(7):
        app.post(f"/api/hashtags/t{i}/favorite/", headers=bob.headers)
    app.delete("/api/hashtags/t0/favorite/", headers=bob.headers)
    first = app.get("/api/favorite_hashtags/?page_size=4", headers=bob.headers).json
    assert first["count"] == 6 and [t["name"] for t in first["results"]] == ["t1", "t2", "t3", "t4"]
    second = app.get(first["next"].replace("http://localhost", ""), headers=bob.headers).json
    assert [t["name"] for t in second["results"]] == ["t5", "t6"] and second["next"] is None
    assert second["previous"] is not None
    assert app.get("/api/favorite_hashtags/", headers=alice.headers).json["count"] == 0


def test_prefix_searches_answer_pages(app, alice, make_user):
    for name in ("ana_a", "ana_b", "ana_c"):
        make_user(name)
    first = app.get("/api/search/users/?q=ana&page_size=2", headers=alice.headers).json
    assert [u["username"] for u in first["results"]] == ["ana_a", "ana_b"] and first["count"] is None
    second = app.get(first["next"].replace("http://localhost", ""), headers=alice.headers).json
    assert [u["username"] for u in second["results"]] == ["ana_c"] and second["next"] is None
    app.post_json("/api/posts/", {"text": "#lisboa #lima"}, headers=alice.headers)
    tags = app.get("/api/search/hashtags/?q=li", headers=alice.headers).json
    assert {t["name"] for t in tags["results"]} == {"lisboa", "lima"} and tags["page"] == 1


def test_popular_hashtags_stay_a_bare_array_for_older_clients(app, alice):
    app.post_json("/api/posts/", {"text": "#one"}, headers=alice.headers)
    assert app.get("/api/popular_hashtags/", headers=alice.headers).json == [{"name": "one", "count": 1}]
