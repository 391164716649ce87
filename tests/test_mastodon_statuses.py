"""The Mastodon face's statuses through HTTP (webtest): every refusal (scopes, tokens,
input minitwitter cannot honour, ids, ownership, blocks) in Mastodon's shape, the Status
entity's fields, and cached reads that follow every write and never share viewer fields.
The journey with a real client is tests/test_mastodon_client.py."""

import pytest
from conftest import PASSWORD
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for

ALL = "read write follow push"
ONE = "/api/v1/statuses/{id}"
# Every route of statuses.py: (method, path, the scope it needs).
ROUTES = [
    ("POST", "/api/v1/statuses", "write:statuses"),
    ("GET", ONE, "read:statuses"),
    ("PUT", ONE, "write:statuses"),
    ("DELETE", ONE, "write:statuses"),
    ("GET", ONE + "/context", "read:statuses"),
    ("POST", ONE + "/favourite", "write:favourites"),
    ("POST", ONE + "/unfavourite", "write:favourites"),
    ("POST", ONE + "/reblog", "write:statuses"),
    ("POST", ONE + "/unreblog", "write:statuses"),
    ("POST", ONE + "/bookmark", "write:bookmarks"),
    ("POST", ONE + "/unbookmark", "write:bookmarks"),
    ("GET", ONE + "/favourited_by", "read:accounts"),
    ("GET", ONE + "/reblogged_by", "read:accounts"),
]


def call(app, method, path, token, expect, **params):
    headers = bearer(token) if token is not None else {}
    if method == "GET":
        return app.get(path, params, headers=headers, status=expect)
    return getattr(app, f"{method.lower()}_json")(path, params, headers=headers, status=expect)


@pytest.fixture
def tokens(app, make_user):
    """alice's and bob's tokens with every scope."""
    make_user("alice"), make_user("bob")
    return token_for(app, scope=ALL)[1], token_for(app, scope=ALL, login="bob")[1]


def post(app, token, text="hello", status=200, **extra):
    return app.post_json("/api/v1/statuses", {"status": text, **extra}, headers=bearer(token), status=status)


@pytest.mark.parametrize("method, path, scope", ROUTES)
def test_each_route_needs_its_scope_and_a_token(app, tokens, method, path, scope):
    alice, _bob = tokens
    template, path = path, path.format(id=post(app, alice).json["id"])
    body = {"status": "edited"}
    assert_mastodon_error(call(app, method, path, None, 401, **body), 401)
    assert_mastodon_error(call(app, method, path, "not-a-token", 401, **body), 401)
    other = "read:accounts" if scope.startswith("write") else "write:statuses read:notifications"
    _client, narrow = token_for(app, scope=other)
    assert assert_mastodon_error(call(app, method, path, narrow, 403, **body), 403) == (
        "This action is outside the authorized scopes"
    )
    top = scope.split(":")[0]  # read or write covers it, as does the granular scope itself
    for granted in (scope, top):  # on a status of the token's account (a delete takes it)
        _client, token = token_for(app, scope=f"{granted} write:statuses")
        mine = template.format(id=post(app, token).json["id"])
        call(app, method, mine, token_for(app, scope=granted)[1], 200, **body)


@pytest.mark.parametrize(
    "method, path", [(m, p) for m, p, _s in ROUTES if "{id}" in p], ids=lambda v: v if "/" in v else None
)
@pytest.mark.parametrize("bad", ["0", "abc", "12x", "99999999999999999999", "9223372036854775808", "777"])
def test_an_unknown_or_malformed_id_is_404(app, tokens, method, path, bad):
    alice, _bob = tokens
    response = call(app, method, path.format(id=bad), alice, 404, status="edited")
    assert assert_mastodon_error(response, 404) == "Record not found"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"status": ""}, "Text can't be blank"),
        ({"status": "   "}, "Text can't be blank"),
        ({}, "Text can't be blank"),
        ({"status": "x" * 281}, "1 to 280 characters"),
        ({"status": "a\x00b"}, "status must be text (no NUL"),
        ({"status": "a\x07b"}, "control characters"),
        ({"status": 42}, "status must be a string"),
        ({"status": "hi", "visibility": "private"}, "visibility private is not supported"),
        ({"status": "hi", "visibility": "direct"}, "visibility direct is not supported"),
        ({"status": "hi", "visibility": "everyone"}, "visibility must be"),
        ({"status": "hi", "spoiler_text": "cw"}, "spoiler_text is not supported"),
        ({"status": "hi", "media_ids": ["1"]}, "media_ids:"),  # no such upload; an edit keeps its media
        ({"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 60}}, "poll is not supported"),
        ({"status": "hi", "scheduled_at": "2030-01-01T00:00:00Z"}, "scheduled_at is not supported"),
        ({"status": "hi", "language": "not a language"}, "language"),
        ({"status": "hi", "sensitive": "maybe"}, "sensitive must be true or false"),
        ({"status": "hi", "in_reply_to_id": True}, "in_reply_to_id must be an id"),
        ({"status": "hi", "in_reply_to_id": [5]}, "in_reply_to_id must be an id"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bad_input_is_a_422_naming_it_and_writes_nothing(app, tokens, db, body, message, method):
    if method == "PUT" and "in_reply_to_id" in body:
        pytest.skip("an edit does not read in_reply_to_id (as on Mastodon)")
    alice, _bob = tokens
    original = post(app, alice, "original").json
    path = "/api/v1/statuses" if method == "POST" else ONE.format(id=original["id"])
    response = getattr(app, f"{method.lower()}_json")(path, body, headers=bearer(alice), status=422)
    assert message in assert_mastodon_error(response, 422)
    with db.cursor() as cur:
        cur.execute("SELECT text FROM posts")
        assert cur.fetchall() == [("original",)]


def test_form_and_json_bodies_post_alike(app, tokens):
    alice, _bob = tokens
    by_form = app.post(
        "/api/v1/statuses",
        {"status": "by form", "visibility": "unlisted", "sensitive": "true", "language": "en"},
        headers=bearer(alice),
    ).json
    by_json = post(app, alice, "by json", visibility="public", sensitive=False, language="pt-BR").json
    assert by_form["content"] == "<p>by form</p>" and by_json["content"] == "<p>by json</p>"
    assert by_form["visibility"] == by_json["visibility"] == "public"


def test_a_reply_to_a_missing_status_is_404_and_writes_nothing(app, tokens, db):
    alice, _bob = tokens
    response = post(app, alice, "reply", status=404, in_reply_to_id="424242")
    assert_mastodon_error(response, 404)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone() == (0,)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_only_the_author_edits_or_deletes(app, tokens, method):
    alice, bob = tokens
    status_id = post(app, alice).json["id"]
    response = call(app, method, ONE.format(id=status_id), bob, 403, status="mine now")
    assert_mastodon_error(response, 403)
    assert app.get(ONE.format(id=status_id), headers=bearer(bob)).json["content"] == "<p>hello</p>"


def test_idempotency_key_replays_and_refuses_a_different_body(app, tokens, db):
    alice, _bob = tokens
    headers = {**bearer(alice), "Idempotency-Key": "same"}
    first = app.post_json("/api/v1/statuses", {"status": "once"}, headers=headers).json
    again = app.post_json("/api/v1/statuses", {"status": "once"}, headers=headers)
    assert again.json == first and again.headers["Idempotent-Replayed"] == "true"
    other = app.post_json("/api/v1/statuses", {"status": "another"}, headers=headers, status=422)
    assert "Idempotency-Key" in assert_mastodon_error(other, 422)
    bad = app.post_json(
        "/api/v1/statuses", {"status": "x"}, headers={**bearer(alice), "Idempotency-Key": ""}, status=400
    )
    assert "Idempotency-Key" in assert_mastodon_error(bad, 400)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone() == (1,)


@pytest.mark.parametrize(
    "text, content",
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("a#b c#123 #123", "<p>a#b c#123 #123</p>"),  # no tag: glued to a word, or digits only
        ("mail ana@example.com and @nobody", "<p>mail ana@example.com and @nobody</p>"),  # nobody is not a user
        ("one\n\ntwo\nthree", "<p>one</p><p>two<br>three</p>"),
        ("\"quoted\" & 'single'", "<p>&quot;quoted&quot; &amp; &#x27;single&#x27;</p>"),
    ],
)
def test_content_is_escaped_html(app, tokens, text, content):
    alice, _bob = tokens
    assert post(app, alice, text).json["content"] == content


def test_tags_and_mentions_are_links_in_their_typed_case(app, tokens, settings):
    alice, _bob = tokens
    base = settings["public_url"].rstrip("/")
    status = post(app, alice, "#Zürich <3 @BOB").json
    assert status["content"] == (
        f'<p><a href="{base}/tags/z%C3%BCrich" class="mention hashtag" rel="tag">#<span>Zürich</span></a> &lt;3 '
        f'<span class="h-card" translate="no"><a href="{base}/@bob" class="u-url mention">'
        "@<span>bob</span></a></span></p>"
    )
    assert status["tags"] == [{"name": "zürich", "url": f"{base}/tags/z%C3%BCrich"}]
    assert [m["username"] for m in status["mentions"]] == ["bob"]


def test_the_status_entity(app, tokens, settings):
    alice, bob = tokens
    base = settings["public_url"].rstrip("/")
    parent = post(app, bob, "parent").json
    status = post(app, alice, "child", in_reply_to_id=parent["id"]).json
    assert isinstance(status["id"], str) and status["created_at"].endswith("Z") and status["edited_at"] is None
    assert status["in_reply_to_id"] == parent["id"] and status["in_reply_to_account_id"] == parent["account"]["id"]
    assert status["url"] == f"{base}/@alice/{status['id']}" and status["account"]["username"] == "alice"
    assert status["media_attachments"] == [] and status["reblog"] is None and status["visibility"] == "public"
    assert (status["replies_count"], status["favourites_count"], status["reblogs_count"]) == (0, 0, 0)
    assert app.get(ONE.format(id=parent["id"]), headers=bearer(alice)).json["replies_count"] == 1


def test_a_new_status_answers_what_reading_it_answers(app, tokens):
    """A new status's answer is built without the read path (statuses.py new_status): it is
    the status a read answers, for a reply that mentions and tags, and across the author's
    own later favourite (a viewer field the new one has not)."""
    alice, bob = tokens
    parent = post(app, bob, "a parent").json
    made = post(app, alice, "hi @bob #Tag and #two", in_reply_to_id=parent["id"], language="en").json
    read = app.get(ONE.format(id=made["id"]), headers=bearer(alice)).json
    assert {k: v for k, v in made.items() if k != "account"} == {k: v for k, v in read.items() if k != "account"}
    assert made["account"]["id"] == read["account"]["id"] and made["account"]["acct"] == "alice"
    assert made["mentions"] and made["tags"] and not made["favourited"]


def test_cached_reads_follow_each_write_and_keep_viewer_fields_apart(app, tokens):
    alice, bob = tokens
    status_id = post(app, alice).json["id"]
    path = ONE.format(id=status_id)
    for token in (alice, bob):  # both cached now
        assert app.get(path, headers=bearer(token)).json["favourites_count"] == 0
    steps = [
        ("favourite", "favourited", "favourites_count"),
        ("reblog", "reblogged", "reblogs_count"),
        ("bookmark", "bookmarked", None),
    ]
    for action, flag, count in steps:
        app.post(f"{path}/{action}", headers=bearer(bob))
        mine, theirs = app.get(path, headers=bearer(bob)).json, app.get(path, headers=bearer(alice)).json
        assert mine[flag] is True and theirs[flag] is False
        if count:
            assert mine[count] == theirs[count] == 1
    app.put_json(path, {"status": "edited #now"}, headers=bearer(alice))
    assert app.get(path, headers=bearer(bob)).json["tags"] == [
        {"name": "now", "url": app.get(path, headers=bearer(bob)).json["tags"][0]["url"]}
    ]
    app.delete(path, headers=bearer(alice))
    assert_mastodon_error(app.get(path, headers=bearer(bob), status=404), 404)


def test_a_reblog_answers_the_wrapper_and_is_read_by_its_id(app, tokens):
    alice, bob = tokens
    original = post(app, alice).json
    boost = app.post(ONE.format(id=original["id"]) + "/reblog", headers=bearer(bob)).json
    assert boost["reblog"]["id"] == original["id"] and boost["reblog"]["reblogged"] is True
    assert boost["account"]["username"] == "bob" and boost["id"] != original["id"]
    again = app.post(ONE.format(id=original["id"]) + "/reblog", headers=bearer(bob)).json  # idempotent
    assert again["id"] == boost["id"] and again["reblog"]["reblogs_count"] == 1
    assert app.get(ONE.format(id=boost["id"]), headers=bearer(alice)).json["reblog"]["id"] == original["id"]
    unboosted = app.post(ONE.format(id=original["id"]) + "/unreblog", headers=bearer(bob)).json
    assert unboosted["id"] == original["id"] and unboosted["reblogged"] is False
    assert_mastodon_error(app.get(ONE.format(id=boost["id"]), headers=bearer(alice), status=404), 404)


@pytest.mark.parametrize("blocker", ["alice", "bob"])  # the author blocks, or the one acting does
@pytest.mark.parametrize("action", ["favourite", "reblog", "bookmark"])
def test_no_action_across_a_block(app, tokens, action, blocker):
    """These writes refuse across a block, either way: their answer asks for no block
    (statuses.py WRITTEN), so the refusal must come from the write itself."""
    alice, bob = tokens
    status_id = post(app, alice).json["id"]
    blocked = "bob" if blocker == "alice" else "alice"
    blocked_id = app.get("/api/v1/accounts/lookup", {"acct": blocked}).json["id"]
    native = app.post_json("/api/token/", {"username": blocker, "password": PASSWORD}).json["access"]
    app.post(f"/api/users/{blocked_id}/block/", headers=bearer(native), status=200)
    assert_mastodon_error(app.post(f"{ONE.format(id=status_id)}/{action}", headers=bearer(bob), status=403), 403)
    assert_mastodon_error(app.get(ONE.format(id=status_id), headers=bearer(bob), status=404), 404)


def test_context_and_who_did(app, tokens):
    alice, bob = tokens
    root = post(app, alice, "root").json["id"]
    a = post(app, bob, "a", in_reply_to_id=root).json["id"]
    a1 = post(app, alice, "a1", in_reply_to_id=a).json["id"]
    b = post(app, bob, "b", in_reply_to_id=root).json["id"]
    context = app.get(ONE.format(id=root) + "/context", headers=bearer(alice)).json
    assert context["ancestors"] == [] and [s["id"] for s in context["descendants"]] == [a, a1, b]  # depth first
    context = app.get(ONE.format(id=a1) + "/context", headers=bearer(alice)).json
    assert [s["id"] for s in context["ancestors"]] == [root, a] and context["descendants"] == []
    post(app, bob, "a2", in_reply_to_id=a)  # the cached context follows
    assert len(app.get(ONE.format(id=root) + "/context", headers=bearer(alice)).json["descendants"]) == 4
    for token in (alice, bob):
        app.post(ONE.format(id=root) + "/favourite", headers=bearer(token))
    first = app.get(ONE.format(id=root) + "/favourited_by", {"limit": 1}, headers=bearer(alice))
    assert [acc["username"] for acc in first.json] == ["bob"] and 'rel="next"' in first.headers["Link"]
    next_url = first.headers["Link"].split(">")[0].lstrip("<")
    rest = app.get(next_url.split("://", 1)[1].split("/", 1)[1].join(["/", ""]), headers=bearer(alice))
    assert [acc["username"] for acc in rest.json] == ["alice"] and 'rel="next"' not in rest.headers["Link"]


# Timelines

LISTS = [
    "/api/v1/timelines/home",
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/x",
    "/api/v1/accounts/{me}/statuses",
]


def me_id(app, token):
    return app.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).json["id"]


@pytest.mark.parametrize("path", LISTS)
def test_each_list_needs_read_statuses(app, tokens, path):
    alice, _bob = tokens
    path = path.format(me=me_id(app, alice))
    assert_mastodon_error(app.get(path, status=401), 401)
    narrow = token_for(app, scope="read:accounts write")[1]
    assert_mastodon_error(app.get(path, headers=bearer(narrow), status=403), 403)
    for granted in ("read:statuses", "read"):
        app.get(path, headers=bearer(token_for(app, scope=granted)[1]), status=200)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query, name",
    [("limit=abc", "limit"), ("limit=-1", "limit"), ("max_id=x", "max_id"), ("since_id=1.5", "since_id")]
    + [("min_id=99999999999999999999", "min_id"), ("max_id=%F0%9F%98%80", "max_id")],
)
def test_bad_paging_is_a_422_naming_it(app, tokens, path, query, name):
    alice, _bob = tokens
    path = path.format(me=me_id(app, alice))
    assert name in assert_mastodon_error(app.get(f"{path}?{query}", headers=bearer(alice), status=422), 422)


@pytest.mark.parametrize("path", LISTS)
def test_pages_hold_20_by_default_40_at_most_and_link_both_ways(app, tokens, settings, path):
    alice, _bob = tokens
    path = path.format(me=me_id(app, alice))
    ids = [post(app, alice, f"#x {i}").json["id"] for i in range(45)][::-1]
    base = settings["public_url"].rstrip("/")
    page = app.get(path, headers=bearer(alice))
    assert [s["id"] for s in page.json] == ids[:20]
    assert page.headers["Link"] == (
        f'<{base}{path}?max_id={ids[19]}>; rel="next", <{base}{path}?min_id={ids[0]}>; rel="prev"'
    )
    assert [s["id"] for s in app.get(path, {"limit": 100}, headers=bearer(alice)).json] == ids[:40]
    assert [s["id"] for s in app.get(path, {"limit": 0}, headers=bearer(alice)).json] == ids[:1]
    last = app.get(path, {"max_id": ids[39], "limit": 10}, headers=bearer(alice))
    assert [s["id"] for s in last.json] == ids[40:] and 'rel="next"' not in last.headers["Link"]
    assert [s["id"] for s in app.get(path, {"min_id": ids[10], "limit": 3}, headers=bearer(alice)).json] == ids[7:10]
    assert [s["id"] for s in app.get(path, {"since_id": ids[10], "limit": 3}, headers=bearer(alice)).json] == ids[:3]
    between = app.get(path, {"max_id": ids[2], "min_id": ids[6]}, headers=bearer(alice)).json
    assert [s["id"] for s in between] == ids[3:6]
    empty = app.get(path, {"min_id": ids[0]}, headers=bearer(alice))
    assert empty.json == [] and "Link" not in empty.headers


def test_home_holds_followed_accounts_and_my_own_and_follows_each_write(app, tokens, make_user):
    alice, bob = tokens
    carol = token_for(app, scope=ALL, login=make_user("carol")["username"])[1]
    native = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    home = "/api/v1/timelines/home"
    mine = post(app, alice, "mine").json["id"]
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json] == [mine]  # cached now
    bobs = post(app, bob, "bob's").json["id"]
    post(app, carol, "carol's, not followed")
    app.post(f"/api/users/{me_id(app, bob)}/follow/", headers=bearer(native))
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json] == [bobs, mine]
    boost = app.post(f"/api/v1/statuses/{mine}/reblog", headers=bearer(bob)).json["id"]
    again = post(app, alice, "mine again").json["id"]
    # Mine once, at bob's boost of it, as the native feed shows a post reposted (sql/feed.sql).
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json] == [again, boost, bobs]
    app.delete(f"/api/v1/statuses/{again}", headers=bearer(alice))
    app.post(f"/api/v1/statuses/{mine}/unreblog", headers=bearer(bob))
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json] == [bobs, mine]
    assert [p["id"] for p in app.get("/api/feed/", headers=bearer(native)).json["results"]] == [int(bobs)]  # native


def test_account_statuses_filters_and_follow_reblogs(app, tokens):
    alice, bob = tokens
    path = f"/api/v1/accounts/{me_id(app, bob)}/statuses"
    theirs = post(app, alice, "alice's").json["id"]
    plain = post(app, bob, "plain").json["id"]
    to_alice = post(app, bob, "to alice", in_reply_to_id=theirs).json["id"]
    to_self = post(app, bob, "to myself", in_reply_to_id=plain).json["id"]
    boost = app.post(f"/api/v1/statuses/{theirs}/reblog", headers=bearer(bob)).json["id"]

    def ids(**query):
        return [s["id"] for s in app.get(path, query, headers=bearer(alice)).json]

    assert ids() == [boost, to_self, to_alice, plain]
    assert ids(exclude_replies="true") == [boost, to_self, plain]  # a reply to oneself stays
    assert ids(exclude_reblogs="1") == [to_self, to_alice, plain]
    assert ids(only_media="true") == [] and ids(pinned="true") == []
    app.post(f"/api/v1/statuses/{theirs}/unreblog", headers=bearer(bob))
    assert ids() == [to_self, to_alice, plain]
    app.post(f"/api/v1/statuses/{theirs}/reblog", headers=bearer(bob))
    assert len(ids()) == 4
    app.delete(f"/api/v1/statuses/{theirs}", headers=bearer(alice))  # the reblog goes with it
    assert ids() == [to_self, to_alice, plain]
    assert_mastodon_error(app.get("/api/v1/accounts/424242/statuses", headers=bearer(alice), status=404), 404)


def test_a_hidden_account_is_out_of_every_list(app, tokens):
    alice, bob = tokens
    bobs = post(app, bob, "#x from bob").json["id"]
    mine = post(app, alice, "#x mine").json["id"]
    native = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    bob_id = me_id(app, bob)
    lists = ["/api/v1/timelines/public", "/api/v1/timelines/tag/x", f"/api/v1/accounts/{bob_id}/statuses"]
    assert all(bobs in [s["id"] for s in app.get(p, headers=bearer(alice)).json] for p in lists)  # cached
    app.post(f"/api/users/{bob_id}/mute/", headers=bearer(native))
    for path in lists:
        assert bobs not in [s["id"] for s in app.get(path, headers=bearer(alice)).json]
    assert [s["id"] for s in app.get("/api/v1/timelines/tag/x", headers=bearer(bob)).json] == [mine, bobs]


def test_tags_and_remote(app, tokens):
    alice, _bob = tokens
    first = post(app, alice, "#Café au lait").json["id"]
    for name in ("caf%C3%A9", "CAF%C3%89", "%23caf%C3%A9"):
        assert [s["id"] for s in app.get(f"/api/v1/timelines/tag/{name}", headers=bearer(alice)).json] == [first]
    for name in ("nobody", "123", "a-b"):
        assert app.get(f"/api/v1/timelines/tag/{name}", headers=bearer(alice)).json == []
    assert app.get("/api/v1/timelines/public", {"remote": "true"}, headers=bearer(alice)).json == []
    assert len(app.get("/api/v1/timelines/public", {"local": "true"}, headers=bearer(alice)).json) == 1


def test_home_shows_a_post_once_at_its_newest_boost_on_every_page(app, tokens, make_user):
    """The native feed's rule on the home timeline, which merges it with my own statuses:
    a followee's status I boosted shows at my boost, mine a followee boosted at theirs, the
    older of two boosts not at all; on whichever page the older row would have been."""
    alice, bob = tokens
    native = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    app.post(f"/api/users/{me_id(app, bob)}/follow/", headers=bearer(native))
    home = "/api/v1/timelines/home"
    bobs = post(app, bob, "bob's").json["id"]
    mine = post(app, alice, "mine").json["id"]
    filler = [post(app, bob, f"bob {i}").json["id"] for i in range(3)]
    my_boost = app.post(f"/api/v1/statuses/{bobs}/reblog", headers=bearer(alice)).json["id"]
    their_boost = app.post(f"/api/v1/statuses/{mine}/reblog", headers=bearer(bob)).json["id"]
    everything = [their_boost, my_boost, *reversed(filler)]
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json] == everything
    walked, page = [], app.get(home, {"limit": 2}, headers=bearer(alice))
    while page.json:
        walked.extend(s["id"] for s in page.json)
        if "next" not in page.headers.get("Link", ""):
            break
        page = app.get(page.headers["Link"].split(">", 1)[0].lstrip("<"), headers=bearer(alice))
    assert walked == everything
    app.post(f"/api/v1/statuses/{bobs}/reblog", headers=bearer(bob))  # a newer boost of bob's own
    assert [s["id"] for s in app.get(home, headers=bearer(alice)).json][1:] == [their_boost, *reversed(filler)]
    app.post(f"/api/v1/statuses/{mine}/unreblog", headers=bearer(bob))
    assert mine in [s["id"] for s in app.get(home, headers=bearer(alice)).json]  # back at its own place
