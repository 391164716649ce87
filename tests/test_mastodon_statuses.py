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
        ({"status": "a\x00b"}, "control characters"),
        ({"status": 42}, "status must be a string"),
        ({"status": "hi", "visibility": "private"}, "visibility private is not supported"),
        ({"status": "hi", "visibility": "direct"}, "visibility direct is not supported"),
        ({"status": "hi", "visibility": "everyone"}, "visibility must be"),
        ({"status": "hi", "spoiler_text": "cw"}, "spoiler_text is not supported"),
        ({"status": "hi", "media_ids": ["1"]}, "media_ids is not supported"),
        ({"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 60}}, "poll is not supported"),
        ({"status": "hi", "scheduled_at": "2030-01-01T00:00:00Z"}, "scheduled_at is not supported"),
        ({"status": "hi", "language": "not a language"}, "language"),
        ({"status": "hi", "sensitive": "maybe"}, "sensitive must be true or false"),
        ({"status": "hi", "in_reply_to_id": 5}, "in_reply_to_id must be a string"),
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


@pytest.mark.parametrize("action", ["favourite", "reblog", "bookmark"])
def test_no_action_across_a_block(app, tokens, action):
    alice, bob = tokens
    status_id = post(app, alice).json["id"]
    bob_id = app.get("/api/v1/accounts/lookup", {"acct": "bob"}).json["id"]
    me = app.get("/api/v1/accounts/verify_credentials", headers=bearer(alice)).json["id"]
    native = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]
    app.post(f"/api/users/{bob_id}/block/", headers=bearer(native), status=200)
    assert me != bob_id
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
