"""The Mastodon face's search (mastodon/search.py) over the native search: accounts by
username prefix, hashtags by prefix (with `following`), statuses by words and #tags; type,
limit, offset; @user and #tag; refusals in Mastodon's shape."""

import pytest
import test_moderation
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

ALL = "read write follow push"
# Fixtures: minitwitter-admin grant, in this process.
grant, ini, server_env = test_moderation.grant, test_moderation.ini, test_moderation.server_env


@pytest.fixture
def tokens(app, make_user):
    for name in ("alice", "bob", "alina", "carl"):
        make_user(name)
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1]


def search(app, token, status=200, **query):
    return app.get("/api/v2/search", query, headers=bearer(token), status=status)


def post(app, token, text):
    return app.post_json("/api/v1/statuses", {"status": text}, headers=bearer(token)).json["id"]


def test_accounts_hashtags_and_statuses(app, tokens):
    alice, bob = tokens
    first = post(app, alice, "Lisbon trams #Lisboa")
    second = post(app, bob, "more trams #lisboa #lisbon")
    post(app, bob, "nothing here #porto")
    found = search(app, alice, q="trams").json
    assert set(found) == {"accounts", "hashtags", "statuses"}
    assert [s["id"] for s in found["statuses"]] == [second, first]  # newest first
    assert found["accounts"] == [] and found["hashtags"] == []
    assert found["statuses"][0]["account"]["username"] == "bob"

    tagged = search(app, alice, q="#Lisboa").json
    assert [s["id"] for s in tagged["statuses"]] == [second, first]
    assert [t["name"] for t in tagged["hashtags"]] == ["lisboa"]  # a prefix: lisbon is not under lisboa
    assert [t["name"] for t in search(app, alice, q="#lis").json["hashtags"]] == ["lisboa", "lisbon"]  # most used
    assert tagged["hashtags"][0]["url"] == "http://localhost/tags/lisboa"
    assert tagged["hashtags"][0]["following"] is False and tagged["hashtags"][0]["history"] == []

    names = [a["username"] for a in search(app, alice, q="@ali").json["accounts"]]
    assert names == ["alice", "alina"]  # username order
    assert search(app, alice, q="@ali").json["statuses"] == []  # a handle: accounts only
    assert [a["username"] for a in search(app, alice, q="ALI", type="accounts").json["accounts"]] == names
    assert [a["username"] for a in search(app, alice, q="carl@localhost").json["accounts"]] == ["carl"]
    assert search(app, alice, q="carl@elsewhere.example").json["accounts"] == []
    assert search(app, alice, q="ali", type="statuses").json["accounts"] == []


def test_limit_offset_and_type(app, tokens):
    alice, _bob = tokens
    ids = [post(app, alice, f"walk {i}") for i in range(5)]
    page = search(app, alice, q="walk", type="statuses", limit="2").json
    assert [s["id"] for s in page["statuses"]] == [ids[4], ids[3]] and page["hashtags"] == []
    page = search(app, alice, q="walk", type="statuses", limit="2", offset="2").json
    assert [s["id"] for s in page["statuses"]] == [ids[2], ids[1]]
    assert len(search(app, alice, q="walk", limit="100").json["statuses"]) == 5  # at most 40
    assert search(app, alice, q="walk", resolve="true").status_int == 200  # no federation: ignored
    accounts = app.get("/api/v1/accounts/search", {"q": "al", "limit": "1"}, headers=bearer(alice)).json
    assert [a["username"] for a in accounts] == ["alice"]


def test_what_a_viewer_hides_and_suspended_accounts_are_left_out(app, tokens, db, make_user, grant):
    alice, bob = tokens
    post(app, bob, "hidden words")
    bob_id = app.get("/api/v1/accounts/lookup", {"acct": "bob"}, headers=bearer(alice)).json["id"]
    app.post(f"/api/v1/accounts/{bob_id}/block", headers=bearer(alice))
    assert search(app, alice, q="hidden").json["statuses"] == []
    assert search(app, bob, q="hidden").json["statuses"] != []  # only for who hides
    moderator = make_user("mod")
    grant("mod", "moderator")
    carl_id = app.get("/api/v1/accounts/lookup", {"acct": "carl"}, headers=bearer(alice)).json["id"]
    assert [a["username"] for a in search(app, alice, q="car").json["accounts"]] == ["carl"]
    app.post_json(f"/api/admin/accounts/{carl_id}/suspend/", {"reason": "spam"}, headers=moderator.headers)
    assert search(app, alice, q="car").json["accounts"] == []


@pytest.mark.parametrize(
    "query, status, name",
    [
        ({}, 400, "q"),
        ({"q": "  "}, 400, "q"),
        ({"q": "x" * 201}, 422, "q"),
        ({"q": "a\x01b"}, 422, "q"),
        ({"q": "a", "type": "people"}, 422, "type"),
        ({"q": "a", "limit": "-1"}, 422, "limit"),
        ({"q": "a", "offset": "x"}, 422, "offset"),
        ({"q": "a", "offset": "20000"}, 422, "offset"),
    ],
)
def test_bad_input_is_a_4xx_naming_it(app, tokens, query, status, name):
    alice, _bob = tokens
    assert name in assert_mastodon_error(search(app, alice, status=status, **query), status)


def test_search_needs_read_search(app, tokens):
    assert_mastodon_error(app.get("/api/v2/search", {"q": "a"}, status=401), 401)
    _client, narrow = token_for(app, scope="read:accounts")
    assert_mastodon_error(search(app, narrow, status=403, q="a"), 403)
    _client, granular = token_for(app, scope="read:search read:statuses")
    assert search(app, granular, q="a").status_int == 200
