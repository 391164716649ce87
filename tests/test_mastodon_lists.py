"""The Mastodon face's lists and what clients read at start (mastodon/lists.py): bookmarks and
favourites as Mastodon pages, markers (the notifications marker is the native read mark),
preferences, custom emojis, followed tags (the native favourite tags) and a tag."""

import pytest
from conftest import PASSWORD, explain
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

ALL = "read write follow push"


@pytest.fixture
def tokens(app, make_user):
    make_user("alice"), make_user("bob")
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1]


def post(app, token, text):
    return app.post_json("/api/v1/statuses", {"status": text}, headers=bearer(token)).json["id"]


def ids(response):
    return [s["id"] for s in response.json]


@pytest.mark.parametrize("kind, action", [("bookmarks", "bookmark"), ("favourites", "favourite")])
def test_bookmarks_and_favourites_are_mastodon_pages(app, tokens, kind, action):
    alice, bob = tokens
    statuses = [post(app, bob, f"bob {i}") for i in range(5)]
    for status in (statuses[1], statuses[0], statuses[3], statuses[4], statuses[2]):  # the order of the action
        app.post(f"/api/v1/statuses/{status}/{action}", headers=bearer(alice))
    path = f"/api/v1/{kind}"
    first = app.get(path, {"limit": "2"}, headers=bearer(alice))
    order = [statuses[i] for i in (2, 4, 3, 0, 1)]  # newest action first
    assert ids(first) == order[:2]
    assert all(s[f"{action}ed" if action == "bookmark" else "favourited"] for s in first.json)
    links = first.headers["Link"]
    assert 'rel="next"' in links and 'rel="prev"' in links
    following = links.split(">")[0].lstrip("<").replace("http://localhost", "")
    second = app.get(following, headers=bearer(alice))
    assert ids(second) == order[2:4]
    previous = second.headers["Link"].split(", ")[1].split(">")[0].lstrip("<").replace("http://localhost", "")
    assert ids(app.get(previous, headers=bearer(alice))) == order[:2]
    assert app.get(path, headers=bearer(bob)).json == []  # mine only
    app.delete(f"/api/v1/statuses/{statuses[2]}", headers=bearer(bob))  # a deleted status leaves it
    app.post(f"/api/v1/statuses/{statuses[4]}/un{action}", headers=bearer(alice))
    assert ids(app.get(path, headers=bearer(alice))) == order[2:]
    bob_id = app.get("/api/v1/accounts/lookup", {"acct": "bob"}, headers=bearer(alice)).json["id"]
    app.post(f"/api/v1/accounts/{bob_id}/mute", headers=bearer(alice))  # what I hide is left out
    assert app.get(path, headers=bearer(alice)).json == []
    assert "max_id" in assert_mastodon_error(app.get(path, {"max_id": "x"}, headers=bearer(alice), status=422), 422)


def test_markers_home_and_notifications_the_native_read_mark(app, tokens, make_user):
    alice, bob = tokens
    assert app.get("/api/v1/markers", {"timeline[]": ["home", "notifications"]}, headers=bearer(alice)).json == {}
    first = post(app, alice, "one")
    bob_id = app.get("/api/v1/accounts/lookup", {"acct": "bob"}, headers=bearer(alice)).json["id"]
    app.post(f"/api/v1/statuses/{first}/favourite", headers=bearer(bob))
    app.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(alice))
    app.post(f"/api/v1/statuses/{first}/reblog", headers=bearer(bob))
    heard = app.get("/api/v1/notifications", headers=bearer(alice)).json
    assert [n["type"] for n in heard] == ["reblog", "favourite"]

    set_ = app.post_json(
        "/api/v1/markers",
        {"home": {"last_read_id": first}, "notifications": {"last_read_id": heard[1]["id"]}},
        headers=bearer(alice),
    ).json
    assert set_["home"]["last_read_id"] == first and set_["home"]["version"] == 1
    assert set_["notifications"]["last_read_id"] == heard[1]["id"]
    assert set_["home"]["updated_at"].endswith("Z")
    # The native read mark moved: one unread left.
    jwt = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    assert app.get("/api/notifications/unread_count/", headers=bearer(jwt)).json == {"count": 1}
    again = app.post("/api/v1/markers", {"home[last_read_id]": "7"}, headers=bearer(alice)).json
    assert again == {"home": {**again["home"], "last_read_id": "7", "version": 2}}
    both = app.get("/api/v1/markers", {"timeline[]": ["home", "notifications"]}, headers=bearer(alice)).json
    assert both["home"]["last_read_id"] == "7" and both["notifications"]["last_read_id"] == heard[1]["id"]
    assert set(app.get("/api/v1/markers", {"timeline[]": "home"}, headers=bearer(alice)).json) == {"home"}
    assert app.get("/api/v1/markers", headers=bearer(bob)).json == {}  # mine only


@pytest.mark.parametrize(
    "body, name",
    [
        ({}, "last_read_id"),
        ({"home": {"last_read_id": "abc"}}, "home[last_read_id]"),
        ({"notifications": {"last_read_id": "0"}}, "notifications[last_read_id]"),
        ({"home": {"last_read_id": True}}, "home[last_read_id]"),
        ({"home": "300"}, "home must be an object"),  # a bare id: Mastodon's JSON nests it
        ({"notifications": {}}, "notifications[last_read_id]"),
    ],
)
def test_bad_markers_are_422_naming_them(app, tokens, body, name):
    alice, _bob = tokens
    assert name in assert_mastodon_error(app.post_json("/api/v1/markers", body, headers=bearer(alice), status=422), 422)


def test_the_native_read_mark_is_the_notifications_marker(app, alice, bob):
    """Read natively: the Mastodon marker says so (version 0 until a client sets it)."""
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    [native] = app.get("/api/notifications/", headers=alice.headers).json["results"]
    app.post_json("/api/notifications/read/", {"up_to": native["id"]}, headers=alice.headers, status=204)
    _client, token = token_for(app, scope=ALL)
    found = app.get("/api/v1/markers", {"timeline[]": "notifications"}, headers=bearer(token)).json
    assert found == {"notifications": {"last_read_id": str(native["id"]), "version": 0, "updated_at": None}}


def test_preferences_and_custom_emojis(app, tokens):
    alice, _bob = tokens
    prefs = app.get("/api/v1/preferences", headers=bearer(alice)).json
    assert prefs["posting:default:visibility"] == "public" and prefs["reading:expand:spoilers"] is False
    assert app.get("/api/v1/custom_emojis").json == []
    _client, narrow = token_for(app, scope="read:statuses")
    assert_mastodon_error(app.get("/api/v1/preferences", headers=bearer(narrow), status=403), 403)


def test_tags_follow_unfollow_and_followed_tags_are_the_native_favourite_tags(app, tokens):
    alice, bob = tokens
    tag = app.get("/api/v1/tags/Lisboa", headers=bearer(alice)).json
    assert tag == {"name": "lisboa", "url": "http://localhost/tags/lisboa", "history": [], "following": False}
    assert "following" not in app.get("/api/v1/tags/lisboa").json  # no token: no following
    assert app.post("/api/v1/tags/Lisboa/follow", headers=bearer(alice)).json["following"] is True
    app.post("/api/v1/tags/porto/follow", headers=bearer(alice))
    app.post("/api/v1/tags/faro/follow", headers=bearer(alice))
    assert app.get("/api/v1/tags/lisboa", headers=bearer(alice)).json["following"] is True
    assert app.get("/api/v1/tags/lisboa", headers=bearer(bob)).json["following"] is False
    followed = app.get("/api/v1/followed_tags", {"limit": "2"}, headers=bearer(alice))
    assert [t["name"] for t in followed.json] == ["faro", "porto"]  # newest tag first
    assert all(t["following"] for t in followed.json) and 'rel="next"' in followed.headers["Link"]
    rest = followed.headers["Link"].split(">")[0].lstrip("<").replace("http://localhost", "")
    assert [t["name"] for t in app.get(rest, headers=bearer(alice)).json] == ["lisboa"]
    assert app.post("/api/v1/tags/porto/unfollow", headers=bearer(alice)).json["following"] is False
    assert [t["name"] for t in app.get("/api/v1/followed_tags", headers=bearer(alice)).json] == ["faro", "lisboa"]
    assert app.get("/api/v1/followed_tags", headers=bearer(bob)).json == []
    assert_mastodon_error(app.get("/api/v1/tags/no%20tag", headers=bearer(alice), status=404), 404)
    assert_mastodon_error(app.post("/api/v1/tags/!!/follow", headers=bearer(alice), status=404), 404)
    _client, reader = token_for(app, scope="read")
    assert_mastodon_error(app.post("/api/v1/tags/x/follow", headers=bearer(reader), status=403), 403)


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("GET", "/api/v1/bookmarks", "read:bookmarks"),
        ("GET", "/api/v1/favourites", "read:favourites"),
        ("GET", "/api/v1/markers", "read:statuses"),
        ("GET", "/api/v1/followed_tags", "read:follows"),
        ("POST", "/api/v1/tags/x/follow", "write:follows"),
    ],
)
def test_each_needs_its_scope(app, tokens, method, path, scope):
    assert_mastodon_error(app.request(path, method=method, status=401), 401)
    _client, other = token_for(app, scope="read:accounts write:media")
    assert_mastodon_error(app.request(path, method=method, headers=bearer(other), status=403), 403)
    _client, token = token_for(app, scope=scope)
    app.request(path, method=method, headers=bearer(token), status=200)


@pytest.mark.parametrize(
    "group, name, index",
    [
        ("likes", "liked_window", "idx_likes_user_id_id"),
        ("bookmarks", "bookmarks_window", "idx_bookmarks_user_id_id"),
        ("hashtags", "followed_window", "favorite_hashtags_pkey"),
    ],
)
def test_the_lists_walk_their_index(db, wsgi_app, group, name, index):
    query = getattr(getattr(wsgi_app.registry.queries, group), name)
    params = {"user_id": 1, "before": 2**63 - 1, "after": 0, "limit": 21}
    if group != "hashtags":
        params["hidden"] = []
    plan = explain(db, query, params)
    assert index in plan and "Sort" not in plan
