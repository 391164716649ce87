"""The Mastodon face's POST /api/v1/reports (mastodon/reports.py): the native report
(domain/reports.py) filed through Mastodon's input (JSON and form), answered as Mastodon's
Report entity; moderators then read it on the native face."""

import pytest
from test_mastodon_oauth import assert_mastodon_error, bearer, token_for


@pytest.fixture
def moderator(make_user, db):
    user = make_user("mod")
    with db.cursor() as cur:  # as minitwitter-admin grant does (tests/test_moderation.py tests it)
        cur.execute("UPDATE users SET role = 'moderator' WHERE id = %s", (user["id"],))
    return user


@pytest.fixture
def world(app, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    _client, token = token_for(app, scope="write:reports")
    posts = [
        app.post_json("/api/posts/", {"text": f"bob's {i}"}, headers=bob.headers, status=201).json["id"]
        for i in range(2)
    ]
    mine = app.post_json("/api/posts/", {"text": "alice's"}, headers=alice.headers, status=201).json["id"]
    return {"alice": alice, "bob": bob, "token": token, "posts": posts, "mine": mine}


def test_a_report_in_json_answers_the_report_entity_and_moderators_read_it(app, world, moderator):
    bob, token, posts = world["bob"], world["token"], world["posts"]
    body = {"account_id": str(bob["id"]), "status_ids": [str(posts[0])], "comment": "spam again", "category": "spam"}
    report = app.post_json("/api/v1/reports", body, headers=bearer(token)).json
    assert report["target_account"]["id"] == str(bob["id"]) and report["target_account"]["username"] == "bob"
    assert (report["category"], report["comment"], report["status_ids"], report["action_taken"]) == (
        "spam",
        "spam again",
        [str(posts[0])],
        False,
    )
    assert report["forwarded"] is False and report["action_taken_at"] is None and report["created_at"].endswith("Z")
    native = app.get(f"/api/admin/reports/{report['id']}/", headers=moderator.headers).json
    assert native["reporter"]["username"] == "alice" and native["account"]["id"] == bob["id"]
    assert [p["id"] for p in native["posts"]] == [posts[0]] and native["category"] == "spam"
    # A repeat adds its statuses to the open report, as the native one does.
    again = app.post(
        "/api/v1/reports", [("account_id", str(bob["id"])), ("status_ids[]", str(posts[1]))], headers=bearer(token)
    )
    assert again.json["id"] == report["id"] and again.json["status_ids"] == [str(p) for p in posts]


@pytest.mark.parametrize("mastodon, native", [("legal", "illegal"), ("violation", "abuse"), ("other", "other")])
def test_mastodons_categories_are_the_native_ones(app, world, moderator, mastodon, native):
    body = {"account_id": str(world["bob"]["id"]), "category": mastodon}
    report = app.post("/api/v1/reports", body, headers=bearer(world["token"])).json  # a form
    assert report["category"] == mastodon and report["status_ids"] is None
    assert app.get(f"/api/admin/reports/{report['id']}/", headers=moderator.headers).json["category"] == native


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({}, 422, "account_id is required"),
        ({"account_id": "abc"}, 404, "Record not found"),
        ({"account_id": "987654"}, 404, "Record not found"),
        ({"account_id": "{alice}"}, 422, "account_id: You cannot report yourself"),
        ({"account_id": "{bob}", "status_ids": ["{mine}"]}, 422, "status_ids: Not live posts of account"),
        ({"account_id": "{bob}", "status_ids": ["x"]}, 422, "status_ids"),
        ({"account_id": "{bob}", "category": "rude"}, 422, "category"),
        ({"account_id": "{bob}", "comment": "x" * 1001}, 422, "comment"),
        ({"account_id": "{bob}", "comment": 5}, 422, "comment"),
        ({"account_id": "{bob}", "status_ids": [True, {}]}, 422, "status_ids"),  # ids are strings or numbers
    ],
)
def test_bad_input_is_a_4xx_naming_it_and_files_nothing(app, world, db, body, status, message):
    ids = {"alice": world["alice"]["id"], "bob": world["bob"]["id"], "mine": world["mine"]}

    def fill(value):
        if isinstance(value, str):
            return value.format(**ids)
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    refused = app.post_json(
        "/api/v1/reports", {k: fill(v) for k, v in body.items()}, headers=bearer(world["token"]), status=status
    )
    assert message in assert_mastodon_error(refused, status)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports")
        assert cur.fetchone() == (0,)


def test_it_needs_the_write_reports_scope_and_a_token(app, world):
    body = {"account_id": str(world["bob"]["id"])}
    assert_mastodon_error(app.post_json("/api/v1/reports", body, status=401), 401)
    _client, narrow = token_for(app, scope="read write:statuses")
    refused = app.post_json("/api/v1/reports", body, headers=bearer(narrow), status=403)
    assert assert_mastodon_error(refused, 403) == "This action is outside the authorized scopes"
    _client, wide = token_for(app, scope="write")
    app.post_json("/api/v1/reports", body, headers=bearer(wide), status=200)
