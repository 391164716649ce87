"""Posts: create, read, edit, soft delete (owner only), lists and pagination."""

import pytest
from conftest import assert_error, explain


def create(app, user, text="hello world", status=201):
    return app.post_json("/api/posts/", {"text": text}, headers=user.headers, status=status)


def test_create_returns_the_post(app, alice):
    body = create(app, alice, "  Hi #Lisboa and #lisboa, #Porto!  ").json
    assert body["text"] == "Hi #Lisboa and #lisboa, #Porto!"  # trimmed
    assert body["author"] == {"id": alice["id"], "username": "alice"}
    assert body["hashtags"] == ["lisboa", "porto"]  # case-folded, once each
    assert body["image"] is None
    assert body["likes_count"] == 0 and body["liked_by_me"] is False
    assert body["updated_at"] is None
    assert body["created_at"].endswith("+00:00")


def test_create_from_a_form(app, alice):
    response = app.post("/api/posts/", {"text": "from a form"}, headers=alice.headers, status=201)
    assert response.json["text"] == "from a form"


def test_create_counts_in_the_profile(app, alice):
    create(app, alice)
    create(app, alice)
    assert app.get(f"/api/users/{alice['id']}/", headers=alice.headers).json["posts_count"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   \n  "},
        {"text": "x" * 281},
        {"text": "nul \u0000 byte"},
        {"text": "bell \u0007"},
        {"text": "escape \u001b[31m"},
        {"text": None},
        {"text": ["a list"]},
    ],
)
def test_bad_text_is_400_naming_text(app, alice, db, body):
    assert_error(app.post_json("/api/posts/", body, headers=alice.headers, status=400), 400, "text")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 0


def test_280_characters_of_any_script_is_fine(app, alice):
    assert create(app, alice, "ç" * 280).json["text"] == "ç" * 280
    assert create(app, alice, "line one\nline two\ttab").status_int == 201


def test_extra_fields_are_ignored(app, alice, bob):
    body = {"text": "mine", "author_id": bob["id"], "likes_count": 99, "id": 12345}
    post = app.post_json("/api/posts/", body, headers=alice.headers, status=201).json
    assert post["author"]["id"] == alice["id"] and post["likes_count"] == 0 and post["id"] != 12345


def test_create_needs_a_token(app):
    assert_error(app.post_json("/api/posts/", {"text": "x"}, status=401), 401)


def test_get_one_post(app, alice, bob):
    post = create(app, alice, "read me").json
    assert app.get(f"/api/posts/{post['id']}/", headers=bob.headers).json == post


def test_unknown_post_is_404(app, alice):
    assert_error(app.get("/api/posts/424242/", headers=alice.headers, status=404), 404)


@pytest.mark.parametrize("method", ["put_json", "patch_json"])
def test_author_edits_and_hashtags_follow(app, alice, method):
    post = create(app, alice, "old #one #two").json
    edited = getattr(app, method)(f"/api/posts/{post['id']}/", {"text": "new #two #three"}, headers=alice.headers).json
    assert edited["text"] == "new #two #three"
    assert edited["hashtags"] == ["two", "three"]  # in order of first use
    assert edited["updated_at"] is not None
    popular = {h["name"]: h["count"] for h in app.get("/api/popular_hashtags/", headers=alice.headers).json}
    assert popular == {"two": 1, "three": 1}


def test_compat_put_with_id_post(app, alice):
    post = create(app, alice).json
    edited = app.put_json("/api/posts/", {"id_post": post["id"], "text": "edited"}, headers=alice.headers).json
    assert edited["id"] == post["id"] and edited["text"] == "edited"


@pytest.mark.parametrize(
    "call",
    [
        lambda app, pid, h: app.put_json(f"/api/posts/{pid}/", {"text": "hijack"}, headers=h, status=403),
        lambda app, pid, h: app.patch_json(f"/api/posts/{pid}/", {"text": "hijack"}, headers=h, status=403),
        lambda app, pid, h: app.put_json("/api/posts/", {"id_post": pid, "text": "hijack"}, headers=h, status=403),
        lambda app, pid, h: app.delete(f"/api/posts/{pid}/", headers=h, status=403),
        lambda app, pid, h: app.delete_json("/api/posts/", {"id_post": pid}, headers=h, status=403),
    ],
)
def test_only_the_author_may_change_a_post(app, alice, bob, call):
    post = create(app, alice, "alice's #words").json
    assert_error(call(app, post["id"], bob.headers), 403)
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json == post


def test_edit_bad_input(app, alice):
    post = create(app, alice).json
    assert_error(app.put_json(f"/api/posts/{post['id']}/", {}, headers=alice.headers, status=400), 400, "text")
    assert_error(app.put_json("/api/posts/", {"text": "x"}, headers=alice.headers, status=400), 400, "id_post")
    assert_error(
        app.put_json("/api/posts/", {"id_post": "abc", "text": "x"}, headers=alice.headers, status=400), 400, "id_post"
    )
    assert_error(app.delete_json("/api/posts/", {}, headers=alice.headers, status=400), 400, "id_post")


def test_delete_removes_the_post_from_everything(app, alice, bob):
    keep = create(app, alice, "stays #tag").json
    post = create(app, alice, "goes #tag #gone").json
    app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers)
    app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=204)

    assert_error(app.get(f"/api/posts/{post['id']}/", headers=alice.headers, status=404), 404)
    ids = lambda url: [p["id"] for p in app.get(url, headers=bob.headers).json["results"]]  # noqa: E731
    assert ids("/api/posts/") == [keep["id"]]
    assert ids(f"/api/users/{alice['id']}/posts/") == [keep["id"]]
    assert ids("/api/hashtags/tag/posts/") == [keep["id"]]
    assert ids("/api/hashtags/gone/posts/") == []
    assert app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json["posts_count"] == 1
    assert app.get("/api/popular_hashtags/", headers=bob.headers).json == [{"name": "tag", "count": 1}]
    # A second delete, an edit or a like of a deleted post: 404.
    assert_error(app.delete(f"/api/posts/{post['id']}/", headers=alice.headers, status=404), 404)
    assert_error(app.put_json(f"/api/posts/{post['id']}/", {"text": "x"}, headers=alice.headers, status=404), 404)
    assert_error(app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers, status=404), 404)


def test_compat_delete_with_id_post(app, alice):
    post = create(app, alice).json
    assert app.delete_json("/api/posts/", {"id_post": post["id"]}, headers=alice.headers).json == {"success": True}
    app.get(f"/api/posts/{post['id']}/", headers=alice.headers, status=404)


# Lists and pagination


@pytest.fixture
def many(app, alice):
    """45 posts by alice, oldest first."""
    return [create(app, alice, f"post {i} #many").json["id"] for i in range(45)]


def test_pages_by_number(app, alice, many):
    first = app.get("/api/posts/?page=1", headers=alice.headers)
    body = first.json
    assert body["page"] == 1 and body["page_size"] == 20 and body["previous"] is None
    assert [p["id"] for p in body["results"]] == many[::-1][:20]
    assert "page=2" in body["next"]
    assert first.headers["Link"] == f'<{body["next"]}>; rel="next"'
    third = app.get("/api/posts/?page=3", headers=alice.headers).json
    assert [p["id"] for p in third["results"]] == many[::-1][40:]
    assert third["next"] is None and "page=2" in third["previous"]
    assert app.get("/api/posts/?page=9", headers=alice.headers).json["results"] == []


def test_without_page_the_next_link_is_a_cursor(app, alice, many):
    body = app.get("/api/posts/", headers=alice.headers).json
    assert body["page"] == 1 and "cursor=" in body["next"] and body["previous"] is None


def test_pages_by_cursor_walk_everything_once(app, alice, many):
    url, seen = "/api/posts/?page_size=7", []
    while url:
        body = app.get(url, headers=alice.headers).json
        seen += [p["id"] for p in body["results"]]
        assert body["page"] is None or body["page"] == 1
        url = body["next"]
        if url:
            assert "cursor=" in url
    assert seen == many[::-1]


def test_user_and_hashtag_lists_carry_counts(app, alice, bob, many):
    create(app, bob, "bob's #many")
    user = app.get(f"/api/users/{alice['id']}/posts/?page_size=5", headers=bob.headers).json
    assert user["count"] == 45 and len(user["results"]) == 5
    assert all(p["author"]["id"] == alice["id"] for p in user["results"])
    tag = app.get("/api/hashtags/MANY/posts/?page_size=5", headers=bob.headers).json
    assert tag["count"] == 46
    assert app.get("/api/hashtags/%23many/posts/", headers=bob.headers).json["count"] == 46


@pytest.mark.parametrize(
    "query, name",
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        (f"page={10**30}", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=1e3", "page_size"),
        ("cursor=Forged", "cursor"),  # not base 36
        ("cursor=", "cursor"),
        ("page=", "page"),
        ("cursor=-5", "cursor"),
        ("cursor=" + "1" * 13, "cursor"),  # over a bigint
        ("cursor=" + "A" * 100, "cursor"),
    ],
)
def test_bad_page_parameters_are_400_naming_them(app, alice, query, name):
    for url in ("/api/posts/", f"/api/users/{alice['id']}/posts/", "/api/hashtags/x/posts/", "/api/feed/"):
        if url == "/api/feed/":
            continue  # the feed comes with follows
        assert_error(app.get(f"{url}?{query}", headers=alice.headers, status=400), 400, name)


def test_user_posts_of_unknown_user_is_404(app, alice):
    assert_error(app.get("/api/users/999999/posts/", headers=alice.headers, status=404), 404)


def test_bad_tag_is_400(app, alice):
    assert_error(app.get("/api/hashtags/123/posts/", headers=alice.headers, status=400), 400, "tag")
    assert_error(app.get("/api/hashtags/" + "a" * 101 + "/posts/", headers=alice.headers, status=400), 400, "tag")


def test_a_page_costs_the_same_few_queries_whatever_it_holds(app, alice, bob, many, redis_client):
    for post_id in many[:10]:
        app.post(f"/api/posts/{post_id}/like/", headers=bob.headers)

    def queries(url, cold=True, viewer=bob):
        if cold:
            redis_client.flushdb()
        response = app.get(url, headers=viewer.headers)
        return response.request.environ.get("minitwitter.queries", 0)

    # Cold: the viewer's hidden set (domain/safety.py: nobody, here) and the suspended
    # accounts (domain/profiles.suspended: none), the page's ids, the count of all posts, the
    # posts' shared fields, the viewer's likes.
    assert queries("/api/posts/?page_size=1") == queries("/api/posts/?page_size=100") == 6
    # Warm, the same viewer again: the whole response comes from Redis (response_cache.py).
    assert queries("/api/posts/?page_size=100", cold=False) == 0
    # Warm, another viewer: ids and bodies from Redis; liked_by_me is the viewer's own query
    # (and, the first time, their hidden set: then it is cached too).
    assert queries("/api/posts/?page_size=100", cold=False, viewer=alice) == 2
    # Plus the author's or tag's counts (cached, too, when warm).
    assert queries(f"/api/users/{alice['id']}/posts/?page_size=100") == 6
    assert queries(f"/api/users/{alice['id']}/posts/?page_size=100", cold=False, viewer=alice) == 2
    assert queries("/api/hashtags/many/posts/?page_size=100") == 6
    assert queries("/api/hashtags/many/posts/?page_size=100", cold=False, viewer=alice) == 2
    # No favourites: the hidden set, the suspended accounts and the list, no hydration.
    assert queries("/api/favorite_hashtags/posts/?page_size=100") == 3


LIST_QUERIES = [
    ("list_posts", {"hidden": [], "before": 2**63 - 1, "offset": 0, "limit": 21}, "idx_posts_id_live"),
    ("list_user_posts", {"author_id": 1, "before": 2**63 - 1, "offset": 0, "limit": 21}, "idx_posts_author_id_id_live"),
    (
        "list_hashtag_posts",
        {"hashtag_id": 1, "hidden": [], "before": 2**63 - 1, "offset": 0, "limit": 21},
        "post_hashtags_pkey",
    ),
    (
        "list_favorite_hashtag_posts",
        {"user_id": 1, "hidden": [], "before": 2**63 - 1, "offset": 0, "limit": 21},
        "post_hashtags_pkey",
    ),
]


@pytest.mark.parametrize("name, params, index", LIST_QUERIES, ids=[q[0] for q in LIST_QUERIES])
def test_each_list_is_served_by_its_index(wsgi_app, db, name, params, index):
    plan = explain(db, getattr(wsgi_app.registry.queries.posts, name), params)
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


def test_each_write_costs_a_few_statements(app, alice, bob):
    def statements(response):
        return response.request.environ["minitwitter.queries"]

    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    app.get("/api/users/me/", headers=alice.headers)  # a token's first use also checks its account
    app.get("/api/posts/", headers=alice.headers)  # a read caches the suspended accounts (none), as reads do
    # Insert, tag, the first followers (whose feeds change; past fanout.inline_followers a
    # task instead: timelines.feeds_changed) and the post into their home timelines, read back.
    created = app.post_json("/api/posts/", {"text": "counted #one #two"}, headers=alice.headers, status=201)
    assert statements(created) == 5 and created.json["liked_by_me"] is False
    post = created.json["id"]
    # The liker's and the author's accounts locked first (domain.lock_accounts: either may
    # be deleting itself), the like itself, its notification (lock the author's counter row,
    # then insert: a statement of its own, so its block check sees a block committed
    # meanwhile), the post read back (its cached body is stale), and the viewer's own fields
    # of it (liked, reposted, bookmarked: one query, posts.viewer_flags).
    liked = app.post(f"/api/posts/{post}/like/", headers=bob.headers)
    assert statements(liked) == 6 and liked.json["liked_by_me"] is True
    unliked = app.delete(f"/api/posts/{post}/like/", headers=bob.headers)
    assert statements(unliked) == 4 and unliked.json["liked_by_me"] is False
    # The pair's lock and both accounts (one statement: safety.lock_pair), follow, its email
    # in the outbox, the followee's newest posts into the follower's home timeline, its
    # notification (two, as a like's), the profile read back; an unfollow takes the pair's
    # lock and the timeline entries out.
    followed = app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert statements(followed) == 7 and followed.json["followed_by_me"] is True
    unfollowed = app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    assert statements(unfollowed) == 4 and unfollowed.json["followed_by_me"] is False
