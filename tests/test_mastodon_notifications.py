"""The Mastodon face's notifications through HTTP (webtest): the native events in Mastodon's
types, the filters, pages, one, dismiss and clear (with the native unread count), scopes."""

import pytest
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

ALL = "read write follow push"


@pytest.fixture
def people(app, make_user):
    """(alice's token, bob's token, alice's native user): bob acts, alice hears."""
    alice, _bob = make_user("alice"), make_user("bob")
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1], alice


def events(app, alice, bob, alice_id):
    """bob follows, favourites, boosts, replies to and mentions alice: the ids in order."""
    status = app.post_json("/api/v1/statuses", {"status": "hello"}, headers=bearer(alice)).json["id"]
    app.post(f"/api/v1/accounts/{alice_id}/follow", headers=bearer(bob))
    app.post(f"/api/v1/statuses/{status}/favourite", headers=bearer(bob))
    app.post(f"/api/v1/statuses/{status}/reblog", headers=bearer(bob))
    app.post_json("/api/v1/statuses", {"status": "re", "in_reply_to_id": status}, headers=bearer(bob))
    app.post_json("/api/v1/statuses", {"status": "hi @alice"}, headers=bearer(bob))
    return status


def types_of(app, token, query=()):
    return [n["type"] for n in app.get("/api/v1/notifications", list(query), headers=bearer(token)).json]


def test_the_native_events_in_mastodon_s_types(app, people):
    alice, bob, native = people
    status = events(app, alice, bob, native["id"])
    found = app.get("/api/v1/notifications", headers=bearer(alice)).json
    assert [n["type"] for n in found] == ["mention", "mention", "reblog", "favourite", "follow"]
    assert all(n["account"]["username"] == "bob" and isinstance(n["id"], str) for n in found)
    assert found[2]["status"]["id"] == found[3]["status"]["id"] == status and found[4]["status"] is None
    assert types_of(app, alice, [("types[]", "favourite"), ("types[]", "follow")]) == ["favourite", "follow"]
    assert types_of(app, alice, [("exclude_types[]", "mention")]) == ["reblog", "favourite", "follow"]
    assert types_of(app, alice, [("types[]", "poll")]) == []
    bad = app.get("/api/v1/notifications", {"types[]": "nonsense"}, headers=bearer(alice), status=422)
    assert "types[]" in assert_mastodon_error(bad, 422)
    one = app.get(f"/api/v1/notifications/{found[1]['id']}", headers=bearer(alice)).json
    assert one == found[1]
    assert_mastodon_error(app.get(f"/api/v1/notifications/{found[1]['id']}", headers=bearer(bob), status=404), 404)


def test_pages_dismiss_and_clear_with_the_native_unread_count(app, people):
    alice, bob, native = people
    events(app, alice, bob, native["id"])
    first = app.get("/api/v1/notifications", {"limit": 2}, headers=bearer(alice))
    ids = [n["id"] for n in app.get("/api/v1/notifications", headers=bearer(alice)).json]
    assert [n["id"] for n in first.json] == ids[:2] and 'rel="next"' in first.headers["Link"]
    assert [n["id"] for n in app.get("/api/v1/notifications", {"max_id": ids[1]}, headers=bearer(alice)).json] == ids[
        2:
    ]
    assert [n["id"] for n in app.get("/api/v1/notifications", {"min_id": ids[3]}, headers=bearer(alice)).json] == ids[
        :3
    ]
    unread = "/api/notifications/unread_count/"
    assert app.get(unread, headers=native.headers).json["count"] == 5
    assert app.post(f"/api/v1/notifications/{ids[0]}/dismiss", headers=bearer(alice)).json == {}
    assert app.get(unread, headers=native.headers).json["count"] == 4
    assert_mastodon_error(app.post(f"/api/v1/notifications/{ids[0]}/dismiss", headers=bearer(alice), status=404), 404)
    assert_mastodon_error(app.post(f"/api/v1/notifications/{ids[1]}/dismiss", headers=bearer(bob), status=404), 404)
    assert app.post("/api/v1/notifications/clear", headers=bearer(alice)).json == {}
    assert app.get("/api/v1/notifications", headers=bearer(alice)).json == []
    assert app.get(unread, headers=native.headers).json["count"] == 0


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("GET", "/api/v1/notifications", "read:notifications"),
        ("GET", "/api/v1/notifications/{id}", "read:notifications"),
        ("POST", "/api/v1/notifications/{id}/dismiss", "write:notifications"),
        ("POST", "/api/v1/notifications/clear", "write:notifications"),
    ],
)
def test_each_route_needs_its_scope(app, people, method, path, scope):
    alice, bob, native = people
    events(app, alice, bob, native["id"])
    [newest, *_] = app.get("/api/v1/notifications", headers=bearer(alice)).json
    path = path.format(id=newest["id"])
    call = app.get if method == "GET" else app.post
    assert_mastodon_error(call(path, status=401), 401)
    assert_mastodon_error(
        call(path, headers=bearer(token_for(app, scope="read:statuses write:statuses")[1]), status=403), 403
    )
    call(path, headers=bearer(token_for(app, scope=scope)[1]), status=200)


@pytest.mark.parametrize("bad", ["0", "abc", "424242", "99999999999999999999"])
def test_an_unknown_notification_is_404(app, people, bad):
    alice, *_ = people
    assert_mastodon_error(app.get(f"/api/v1/notifications/{bad}", headers=bearer(alice), status=404), 404)
    assert_mastodon_error(app.post(f"/api/v1/notifications/{bad}/dismiss", headers=bearer(alice), status=404), 404)
