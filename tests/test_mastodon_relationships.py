"""The Mastodon face's follows, blocks, mutes, relationships and follow lists through HTTP
(webtest): scopes over every route, what each write answers and changes, bad ids."""

import pytest
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

ALL = "read write follow push"
ACTIONS = {
    "follow": "write:follows",
    "unfollow": "write:follows",
    "block": "write:blocks",
    "unblock": "write:blocks",
    "mute": "write:mutes",
    "unmute": "write:mutes",
}


@pytest.fixture
def people(app, make_user):
    """(alice's token, bob's token, bob's id, alice's id)"""
    alice, bob = make_user("alice"), make_user("bob")
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1], str(bob["id"]), str(alice["id"])


def relationship(app, token, user_id):
    [found] = app.get("/api/v1/accounts/relationships", {"id[]": user_id}, headers=bearer(token)).json
    return found


@pytest.mark.parametrize("action, scope", ACTIONS.items())
def test_each_action_needs_its_scope(app, people, action, scope):
    _alice, _bob, bob_id, _alice_id = people
    path = f"/api/v1/accounts/{bob_id}/{action}"
    assert_mastodon_error(app.post(path, status=401), 401)
    wrong = "write:statuses read" if scope != "write:statuses" else "read"
    assert_mastodon_error(app.post(path, headers=bearer(token_for(app, scope=wrong)[1]), status=403), 403)
    for granted in (scope, "write", "follow"):  # the legacy follow scope covers all three
        answer = app.post(path, headers=bearer(token_for(app, scope=granted)[1])).json
        assert answer["id"] == bob_id


@pytest.mark.parametrize(
    "path, scope",
    [
        ("/api/v1/accounts/relationships?id[]={bob}", "read:follows"),
        ("/api/v1/accounts/{bob}/followers", "read:accounts"),
        ("/api/v1/accounts/{bob}/following", "read:accounts"),
    ],
)
def test_each_read_needs_its_scope(app, people, path, scope):
    _alice, _bob, bob_id, _alice_id = people
    path = path.format(bob=bob_id)
    assert_mastodon_error(app.get(path, status=401), 401)
    assert_mastodon_error(
        app.get(path, headers=bearer(token_for(app, scope="write read:statuses")[1]), status=403), 403
    )
    for granted in (scope, "read"):
        app.get(path, headers=bearer(token_for(app, scope=granted)[1]), status=200)


@pytest.mark.parametrize("action", [*ACTIONS, "followers", "following"])
@pytest.mark.parametrize("bad", ["0", "abc", "424242", "99999999999999999999"])
def test_an_unknown_account_is_404(app, people, action, bad):
    alice, *_ = people
    method = app.get if action.startswith("follow") and action.endswith(("ers", "ing")) else app.post
    response = method(f"/api/v1/accounts/{bad}/{action}", headers=bearer(alice), status=404)
    assert assert_mastodon_error(response, 404) == "Record not found"


@pytest.mark.parametrize("action", ["follow", "block", "mute"])
def test_oneself_is_a_422(app, people, action):
    alice, _bob, _bob_id, alice_id = people
    response = app.post(f"/api/v1/accounts/{alice_id}/{action}", headers=bearer(alice), status=422)
    assert "yourself" in assert_mastodon_error(response, 422)


def test_follow_block_mute_and_their_relationships(app, people):
    alice, bob, bob_id, alice_id = people
    fresh = relationship(app, alice, bob_id)
    assert fresh["following"] is fresh["followed_by"] is fresh["blocking"] is fresh["muting"] is False
    followed = app.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(alice)).json
    assert followed["following"] is True and followed["showing_reblogs"] is True
    assert relationship(app, bob, alice_id)["followed_by"] is True
    assert app.get(f"/api/v1/accounts/{bob_id}", headers=bearer(alice)).json["followers_count"] == 1
    assert app.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(alice)).json["following"] is True  # again
    muted = app.post(f"/api/v1/accounts/{bob_id}/mute", headers=bearer(alice)).json
    assert muted["muting"] is True and muted["following"] is True
    assert app.post(f"/api/v1/accounts/{bob_id}/unmute", headers=bearer(alice)).json["muting"] is False
    blocked = app.post(f"/api/v1/accounts/{alice_id}/block", headers=bearer(bob)).json
    assert blocked["blocking"] is True and blocked["followed_by"] is False  # a block ends the follows
    after = relationship(app, alice, bob_id)
    assert after["blocked_by"] is True and after["following"] is False
    refused = app.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(alice), status=403)
    assert_mastodon_error(refused, 403)
    assert app.post(f"/api/v1/accounts/{alice_id}/unblock", headers=bearer(bob)).json["blocking"] is False
    assert app.post(f"/api/v1/accounts/{bob_id}/unfollow", headers=bearer(alice)).json["following"] is False


def test_relationships_of_several_in_order_and_bad_ids(app, people, make_user):
    alice, _bob, bob_id, alice_id = people
    carol = str(make_user("carol")["id"])
    app.post(f"/api/v1/accounts/{carol}/follow", headers=bearer(alice))
    query = [("id[]", carol), ("id[]", "abc"), ("id[]", bob_id), ("id[]", "424242"), ("id[]", carol)]
    found = app.get("/api/v1/accounts/relationships", query, headers=bearer(alice)).json
    assert [(r["id"], r["following"]) for r in found] == [(carol, True), (bob_id, False)]
    too_many = [("id[]", str(i)) for i in range(1, 42)]
    response = app.get("/api/v1/accounts/relationships", too_many, headers=bearer(alice), status=422)
    assert "id[]" in assert_mastodon_error(response, 422)
    assert app.get("/api/v1/accounts/relationships", headers=bearer(alice)).json == []
    del alice_id


def test_followers_and_following_pages(app, people, make_user, settings):
    alice, _bob, bob_id, _alice_id = people
    names = [f"fan{i}" for i in range(5)]
    for name in names:
        make_user(name)
        token = token_for(app, scope=ALL, login=name)[1]
        app.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(token))
    path = f"/api/v1/accounts/{bob_id}/followers"
    first = app.get(path, {"limit": 3}, headers=bearer(alice))
    assert [a["username"] for a in first.json] == names[::-1][:3]
    base = settings["public_url"].rstrip("/")
    assert first.headers["Link"].startswith(f"<{base}{path}?limit=3&max_id=")
    max_id = first.headers["Link"].split("max_id=")[1].split(">")[0]
    rest = app.get(path, {"limit": 3, "max_id": max_id}, headers=bearer(alice))
    assert [a["username"] for a in rest.json] == names[::-1][3:] and 'rel="next"' not in rest.headers["Link"]
    fan = app.get("/api/v1/accounts/lookup", {"acct": "fan0"}).json["id"]
    assert [a["username"] for a in app.get(f"/api/v1/accounts/{fan}/following", headers=bearer(alice)).json] == ["bob"]


def test_follow_s_options_are_read_and_refused_when_not_what_they_must_be(app, people):
    """reblogs, notify and languages are accepted and not kept, but read: what is not a boolean
    or a language code is a 422 naming it (the document says what they are), and follows nobody."""
    alice, _bob, bob_id, _alice_id = people
    path = f"/api/v1/accounts/{bob_id}/follow"
    for body, name in (
        ({"notify": "maybe"}, "notify"),
        ({"reblogs": 5}, "reblogs"),
        ({"languages": ["null"]}, "languages"),
    ):
        assert name in assert_mastodon_error(app.post_json(path, body, headers=bearer(alice), status=422), 422)
    related = app.get(f"/api/v1/accounts/relationships?id[]={bob_id}", headers=bearer(alice)).json
    assert related[0]["following"] is False
    body = {"reblogs": True, "notify": "false", "languages": ["en", "pt-BR"]}
    assert app.post_json(path, body, headers=bearer(alice)).json["following"] is True
