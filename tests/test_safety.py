"""Blocks and mutes (docs/API.md, "Beyond the seed"): the writes, what they refuse, and
what they hide from every list a viewer reads, at once (caches included)."""

import re

import pytest
from conftest import assert_error, explain
from test_follows_feed import feed_app, network  # noqa: F401 (fixtures: the feed's two plans, a network)
from test_posts import create


def follow(app, follower, followee, status=200):
    return app.post(f"/api/users/{followee['id']}/follow/", headers=follower.headers, status=status)


def block(app, user, other, status=200):
    response = app.post(f"/api/users/{other['id']}/block/", headers=user.headers, status=status)
    return response.json


def unblock(app, user, other, status=200):
    return app.delete(f"/api/users/{other['id']}/block/", headers=user.headers, status=status).json


def mute(app, user, other, status=200):
    return app.post(f"/api/users/{other['id']}/mute/", headers=user.headers, status=status).json


def unmute(app, user, other, status=200):
    return app.delete(f"/api/users/{other['id']}/mute/", headers=user.headers, status=status).json


def profile(app, viewer, user):
    return app.get(f"/api/users/{user['id']}/", headers=viewer.headers).json


def ids(body):
    return [p["id"] for p in body["results"]]


# The writes


def test_block_and_mute_answer_the_profile_and_repeat_as_no_ops(app, alice, bob):
    for write, undo in ((block, unblock), (mute, unmute)):
        first = write(app, alice, bob)
        assert first["id"] == bob["id"] and first["username"] == "bob" and first["followed_by_me"] is False
        assert write(app, alice, bob) == first  # a repeat: 200, the same profile
        assert undo(app, alice, bob) == first
        assert undo(app, alice, bob) == first


def test_self_is_400_and_unknown_user_404(app, alice, db):
    for method in ("post", "delete"):
        for what in ("block", "mute"):
            url = f"/api/users/{alice['id']}/{what}/"
            assert_error(getattr(app, method)(url, headers=alice.headers, status=400), 400, "id")
            unknown = getattr(app, method)(f"/api/users/987654/{what}/", headers=alice.headers, status=404)
            assert_error(unknown, 404)
    with db.cursor() as cur:  # nothing written
        cur.execute("SELECT (SELECT count(*) FROM blocks) + (SELECT count(*) FROM mutes)")
        assert cur.fetchone()[0] == 0


def test_block_and_mute_need_a_token(app, bob):
    for url in (f"/api/users/{bob['id']}/block/", f"/api/users/{bob['id']}/mute/"):
        assert_error(app.post(url, status=401), 401)
    for url in ("/api/blocks/", "/api/mutes/"):
        assert_error(app.get(url, status=401), 401)


def test_lists_of_blocks_and_mutes_page_newest_first(app, alice, bob, make_user):
    carol, dave = make_user("carol"), make_user("dave")
    for other in (bob, carol, dave):
        block(app, alice, other)
    mute(app, alice, carol)
    follow(app, alice, dave, status=403)  # a block refuses the follow
    mute(app, alice, bob)
    first = app.get("/api/blocks/?page_size=2", headers=alice.headers).json
    assert [u["username"] for u in first["results"]] == ["dave", "carol"] and first["count"] is None
    rest = app.get(first["next"], headers=alice.headers).json
    assert [u["username"] for u in rest["results"]] == ["bob"] and rest["next"] is None
    numbered = app.get("/api/blocks/?page=2&page_size=2", headers=alice.headers).json
    assert [u["username"] for u in numbered["results"]] == ["bob"] and numbered["previous"] is not None
    mutes = app.get("/api/mutes/", headers=alice.headers).json
    assert [u["username"] for u in mutes["results"]] == ["bob", "carol"]
    assert app.get("/api/blocks/", headers=bob.headers).json["results"] == []  # mine only
    unblock(app, alice, carol)
    unmute(app, alice, bob)
    assert [u["username"] for u in app.get("/api/blocks/", headers=alice.headers).json["results"]] == ["dave", "bob"]
    assert [u["username"] for u in app.get("/api/mutes/", headers=alice.headers).json["results"]] == ["carol"]
    assert_error(app.get("/api/mutes/?cursor=Bad", headers=alice.headers, status=400), 400, "cursor")


def test_a_block_ends_follows_both_ways_with_counts_right(app, alice, bob, make_user):
    carol = make_user("carol")
    follow(app, alice, bob)
    follow(app, bob, alice)
    follow(app, carol, alice)
    assert profile(app, carol, alice)["followers_count"] == 2  # cached, then made stale below
    assert profile(app, alice, bob)["followed_by_me"] is True
    blocked = block(app, bob, alice)
    assert blocked["followed_by_me"] is False and blocked["followers_count"] == 1  # carol's stays
    for user, counts in ((alice, (1, 0)), (bob, (0, 0))):
        mine = app.get("/api/users/me/", headers=user.headers).json
        assert (mine["followers_count"], mine["following_count"]) == counts
    assert profile(app, alice, bob)["followed_by_me"] is False
    assert profile(app, carol, alice)["followers_count"] == 1
    followers = app.get(f"/api/users/{alice['id']}/followers/", headers=carol.headers).json
    assert [u["username"] for u in followers["results"]] == ["carol"] and followers["count"] == 1
    # An unblock does not bring them back; a mute ends nothing.
    unblock(app, bob, alice)
    assert profile(app, alice, bob)["followed_by_me"] is False
    follow(app, alice, bob)
    mute(app, alice, bob)
    assert profile(app, alice, bob)["followed_by_me"] is True and profile(app, carol, bob)["followers_count"] == 1


# What a block refuses


@pytest.mark.parametrize("blocker", ["author", "actor"])
def test_across_a_block_actions_are_403_naming_the_field_and_write_nothing(app, alice, bob, db, blocker):
    post = create(app, alice, "alice's").json
    mine = create(app, bob, "bob's").json
    app.post(f"/api/posts/{mine['id']}/like/", headers=alice.headers)  # before: allowed, and it stays
    if blocker == "author":
        block(app, alice, bob)
    else:
        block(app, bob, alice)
    assert_error(follow(app, bob, alice, status=403), 403, "id")
    assert_error(follow(app, alice, bob, status=403), 403, "id")
    for action in ("like", "repost", "bookmark"):
        response = app.post(f"/api/posts/{post['id']}/{action}/", headers=bob.headers, status=403)
        assert_error(response, 403, "id")
    reply = {"text": "a reply", "in_reply_to": post["id"]}
    assert_error(app.post_json("/api/posts/", reply, headers=bob.headers, status=403), 403, "in_reply_to")
    with db.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM follows) + (SELECT count(*) FROM reposts)"
            " + (SELECT count(*) FROM bookmarks) + (SELECT count(*) FROM posts WHERE in_reply_to IS NOT NULL),"
            " (SELECT count(*) FROM likes)"
        )
        assert cur.fetchone() == (0, 1)
    # Undoing is allowed (it answers the post without reading it as a block hides it).
    assert app.delete(f"/api/posts/{mine['id']}/like/", headers=alice.headers).json["liked_by_me"] is False
    # A mute refuses nothing.
    unblock(app, alice if blocker == "author" else bob, bob if blocker == "author" else alice)
    mute(app, alice, bob)
    follow(app, bob, alice)
    for action in ("like", "repost", "bookmark"):
        app.post(f"/api/posts/{post['id']}/{action}/", headers=bob.headers)
    app.post_json("/api/posts/", reply, headers=bob.headers, status=201)


def test_across_a_block_a_post_and_its_lists_are_404_both_ways(app, alice, bob):
    post = create(app, alice, "alice's").json
    theirs = create(app, bob, "bob's").json
    urls = [f"/api/posts/{post['id']}/", f"/api/posts/{post['id']}/replies/", f"/api/posts/{post['id']}/likes/"]
    for url in urls:  # cached whole for bob, then made stale by the block
        app.get(url, headers=bob.headers, status=200)
    block(app, alice, bob)
    for url in urls:
        assert_error(app.get(url, headers=bob.headers, status=404), 404)
    assert_error(app.get(f"/api/posts/{theirs['id']}/", headers=alice.headers, status=404), 404)
    unblock(app, alice, bob)
    for url in urls:
        app.get(url, headers=bob.headers, status=200)
    # A mute hides nothing that is asked for by id.
    mute(app, alice, bob)
    assert app.get(f"/api/posts/{theirs['id']}/", headers=alice.headers).json["id"] == theirs["id"]


# What blocks and mutes hide


@pytest.fixture
def scene(app, alice, bob, make_user):
    """alice and bob follow each other and carol; each posts (#tag, "word"), replies to
    carol's post and favourites #tag; carol reposts both; each bookmarks the other's post."""
    carol = make_user("carol")
    for a, b in ((alice, bob), (bob, alice), (alice, carol), (bob, carol)):
        follow(app, a, b)
    parent = create(app, carol, "carol asks #tag word").json
    posts = {}
    for user in (alice, bob):
        posts[user["id"]] = create(app, user, f"{user['username']} says #tag word").json["id"]
        app.post_json("/api/posts/", {"text": "a reply word", "in_reply_to": parent["id"]}, headers=user.headers)
        app.post("/api/hashtags/tag/favorite/", headers=user.headers)
    for user in (alice, bob):
        other = bob if user is alice else alice
        app.post(f"/api/posts/{posts[user['id']]}/repost/", headers=carol.headers)
        app.post(f"/api/posts/{posts[other['id']]}/bookmark/", headers=user.headers)
    return {"carol": carol, "parent": parent["id"], "posts": posts}


def seen(app, viewer, scene, other):
    """Where `viewer` sees `other`: the lists holding a post of theirs (or, in the feed, a
    repost of theirs or of their post)."""
    lists = {
        "feed": "/api/feed/",
        "all posts": "/api/posts/",
        "their posts": f"/api/users/{other['id']}/posts/",
        "tag": "/api/hashtags/tag/posts/",
        "favourite tags": "/api/favorite_hashtags/posts/",
        "search": "/api/search/posts/?q=word",
        "search by tag": "/api/search/posts/?q=%23tag",
        "search by relevance": "/api/search/posts/?q=word&order=relevance",
        "replies": f"/api/posts/{scene['parent']}/replies/",
        "bookmarks": "/api/bookmarks/",
    }
    found = set()
    for name, url in lists.items():
        for post in app.get(url, headers=viewer.headers).json["results"]:
            if other["id"] in (post["author"]["id"], (post["reposted_by"] or {}).get("id")):
                found.add(name)
    return found


EVERYWHERE = {
    "feed",
    "all posts",
    "their posts",
    "tag",
    "favourite tags",
    "search",
    "search by tag",
    "search by relevance",
    "replies",
    "bookmarks",
}


def test_a_block_hides_each_from_the_other_everywhere_at_once(app, alice, bob, scene):
    assert seen(app, alice, scene, bob) == seen(app, bob, scene, alice) == EVERYWHERE  # and cached
    block(app, alice, bob)
    assert seen(app, alice, scene, bob) == seen(app, bob, scene, alice) == set()
    carol = scene["carol"]  # nobody else loses anything
    assert (
        seen(app, carol, scene, alice)
        == seen(app, carol, scene, bob)
        == EVERYWHERE - {"feed", "bookmarks", "favourite tags"}
    )
    unblock(app, alice, bob)
    # Back everywhere; in the feed through carol's reposts (the block ended their follows).
    assert seen(app, alice, scene, bob) == seen(app, bob, scene, alice) == EVERYWHERE
    feed = app.get("/api/feed/", headers=alice.headers).json["results"]
    assert {(p["author"]["id"], p["reposted_by"]["id"]) for p in feed if p["author"]["id"] == bob["id"]} == {
        (bob["id"], carol["id"])
    }


def test_a_mute_hides_one_way_and_is_not_told(app, alice, bob, scene):
    assert seen(app, alice, scene, bob) == EVERYWHERE
    muted = mute(app, alice, bob)
    assert muted["followed_by_me"] is True  # the follow stays
    assert seen(app, alice, scene, bob) == set()
    assert seen(app, bob, scene, alice) == EVERYWHERE  # bob sees alice as before
    assert app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json["followed_by_me"] is True
    assert app.get("/api/mutes/", headers=bob.headers).json["results"] == []
    unmute(app, alice, bob)
    assert seen(app, alice, scene, bob) == EVERYWHERE


def test_a_muted_reposter_leaves_the_feed_and_the_post_shows_plain(feed_app, app, alice, bob, scene):  # noqa: F811
    carol, bobs = scene["carol"], scene["posts"][bob["id"]]
    feed = feed_app.get("/api/feed/", headers=alice.headers).json["results"]
    assert [p["reposted_by"]["id"] for p in feed if p["id"] == bobs] == [carol["id"]]
    mute(app, alice, carol)
    feed = feed_app.get("/api/feed/", headers=alice.headers).json["results"]
    assert carol["id"] not in {p["author"]["id"] for p in feed} | {(p["reposted_by"] or {}).get("id") for p in feed}
    assert [p["reposted_by"] for p in feed if p["id"] == bobs] == [None]  # bob's own post, once
    assert len(feed) == len({p["id"] for p in feed})


@pytest.mark.parametrize("what", ["block", "mute"])
def test_pages_stay_full_with_hidden_posts_interleaved(feed_app, app, alice, bob, make_user, what):  # noqa: F811
    carol = make_user("carol")
    follow(app, alice, bob)
    follow(app, alice, carol)
    expected = []
    for i in range(25):
        expected.append(create(app, bob, f"bob {i} #many word").json["id"])
        theirs = create(app, carol, f"carol {i} #many word").json["id"]
        app.post(f"/api/posts/{theirs}/repost/", headers=bob.headers)  # reposts of carol's posts, too
    (block if what == "block" else mute)(app, alice, carol)
    expected.reverse()
    for url in ("/api/posts/?page_size=20", "/api/hashtags/many/posts/?page_size=20", "/api/search/posts/?q=word"):
        first = app.get(url, headers=alice.headers).json
        assert ids(first) == expected[:20], url
        assert ids(app.get(first["next"], headers=alice.headers).json) == expected[20:], url
    first = feed_app.get("/api/feed/?page_size=20", headers=alice.headers).json
    assert ids(first) == expected[:20]
    rest = feed_app.get(first["next"], headers=alice.headers).json
    assert ids(rest) == expected[20:] and rest["next"] is None
    numbered = feed_app.get("/api/feed/?page=2&page_size=20", headers=alice.headers).json
    assert ids(numbered) == expected[20:]


def test_a_hidden_viewer_page_is_never_shared(app, alice, bob, make_user):
    """alice hides bob: her filtered pages must not reach carol, who hides nobody, and
    carol's shared pages must not reach alice."""
    carol = make_user("carol")
    posts = [create(app, user, "x").json["id"] for user in (alice, bob, alice, bob)]
    mute(app, alice, bob)
    assert ids(app.get("/api/posts/", headers=alice.headers).json) == posts[-2::-2]
    assert ids(app.get("/api/posts/", headers=carol.headers).json) == posts[::-1]
    assert ids(app.get("/api/posts/?page_size=20", headers=carol.headers).json) == posts[::-1]
    assert ids(app.get("/api/posts/?page_size=20", headers=alice.headers).json) == posts[-2::-2]


def test_the_other_sides_cached_responses_go_stale_with_a_block(app, alice, bob):
    post = create(app, alice, "alice's word #t").json
    urls = ["/api/posts/", "/api/hashtags/t/posts/", f"/api/users/{alice['id']}/posts/", "/api/search/posts/?q=word"]
    for url in urls:  # bob's responses, cached whole
        assert ids(app.get(url, headers=bob.headers).json) == [post["id"]]
    block(app, alice, bob)  # alice's write: bob's responses depend on his safety version too
    for url in urls:
        assert ids(app.get(url, headers=bob.headers).json) == [], url
    assert app.get(f"/api/users/{alice['id']}/posts/", headers=bob.headers).json["count"] == 0
    unblock(app, alice, bob)
    for url in urls:
        assert ids(app.get(url, headers=bob.headers).json) == [post["id"]], url


def test_a_mention_across_a_block_changes_nothing_for_the_post(app, alice, bob):
    """A post may still name a user across a block (mentions are text); notifications,
    which leave it out, are their own feature."""
    block(app, alice, bob)
    post = create(app, bob, "hello @alice").json
    assert [m["username"] for m in post["mentions"]] == ["alice"]


# Plans: a hidden set keeps each list on its index


# A few of the network's 200 users that user 1 does not follow (a share of the users like
# 1,100 of the 10,000 of bench dataset d1: the planner takes each id of `<> ALL` as
# independent, so a long list over a few users would look far more selective than it is).
HIDDEN = list(range(180, 190))
PAGE = {"before": 2**63 - 1, "offset": 0, "limit": 21}
PLANS = [
    ("feed", "feed_by_followee", {"user_id": 1, **PAGE}, "idx_posts_author_id_id_live"),
    ("feed", "feed_by_timeline", {"user_id": 1, **PAGE}, "Merge Append"),
    ("posts", "list_posts", PAGE, "idx_posts_id_live"),
    ("posts", "list_replies", {"post_id": 7, "after": 0, "offset": 0, "limit": 21}, "idx_posts_in_reply_to_id_live"),
]


@pytest.mark.parametrize("group, name, params, node", PLANS, ids=[p[1] for p in PLANS])
def test_a_hidden_set_keeps_each_list_on_its_index(wsgi_app, db, network, group, name, params, node):  # noqa: F811
    query = getattr(getattr(wsgi_app.registry.queries, group), name)
    plan = re.sub(r"'\{[0-9,]+\}'", "'{...}'", explain(db, query, {**params, "hidden": HIDDEN}))
    assert node in plan and "Seq Scan" not in plan, plan
    if name != "feed_by_followee":  # the one that merges its followees' walks with a sort
        assert "Sort  (" not in plan, plan
