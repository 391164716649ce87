"""Moderation (docs/API.md, "Moderation"; domain/moderation.py): roles, the minitwitter-admin
command, the admin routes' permissions and the audit log."""

import io
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from conftest import PASSWORD, assert_error, explain

from minitwitter.scripts import admin as admin_script


@pytest.fixture
def ini(services, tmp_path):
    path = tmp_path / "deploy.ini"
    path.write_text(f"[app:main]\nuse = egg:minitwitter\ndatabase.url = {services['DATABASE_URL']}\n")
    return path


@pytest.fixture
def server_env(services):
    return {"DATABASE_URL": services["DATABASE_URL"], "REDIS_URL": services["REDIS_URL"]}


@pytest.fixture
def grant(ini, server_env):
    """minitwitter-admin <ini> grant <username> <role>, in this process."""
    return lambda username, role: admin_script.main([str(ini), "grant", username, role], environ=server_env)


@pytest.fixture
def admin(make_user, grant):
    user = make_user("root")
    grant("root", "admin")
    return user


@pytest.fixture
def moderator(make_user, grant):
    user = make_user("mod")
    grant("mod", "moderator")
    return user


def me(app, user):
    return app.get("/api/users/me/", headers=user.headers).json


def audit(app, user, **params):
    return app.get("/api/admin/audit/", params=params, headers=user.headers).json


# Roles and minitwitter-admin


def test_everyone_is_a_user_at_sign_up(app):
    created = app.post_json("/api/users/", {"username": "ann", "email": "ann@example.com", "password": PASSWORD})
    assert created.json["role"] == "user"
    tokens = app.post_json("/api/token/", {"username": "ann", "password": PASSWORD}).json
    assert app.get("/api/users/me/", headers={"Authorization": f"Bearer {tokens['access']}"}).json["role"] == "user"


def test_the_console_script_ships_and_grants_each_role_on_record(app, alice, ini, server_env, db):
    """The installed command (setup.py's console_scripts), as an operator runs it."""
    command = str(Path(sys.executable).parent / "minitwitter-admin")
    for role in ("admin", "moderator", "user"):
        done = subprocess.run(
            [command, str(ini), "grant", "ALICE", role], env=server_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert me(app, alice)["role"] == role
    with db.cursor() as cur:
        cur.execute("SELECT actor_id, action, account_id, post_id, reason FROM moderation_audit ORDER BY id")
        assert cur.fetchall() == [
            (None, "grant_role", alice["id"], None, "user -> admin"),
            (None, "grant_role", alice["id"], None, "admin -> moderator"),
            (None, "grant_role", alice["id"], None, "moderator -> user"),
        ]


def test_grant_refuses_an_unknown_account_or_role(ini, server_env, alice, capsys):
    with pytest.raises(SystemExit, match="no account named 'nobody'"):
        admin_script.main([str(ini), "grant", "nobody", "admin"], environ=server_env)
    with pytest.raises(SystemExit):
        admin_script.main([str(ini), "grant", "alice", "superuser"], environ=server_env)
    assert "invalid choice" in capsys.readouterr().err


def test_create_makes_an_account_with_the_password_from_stdin(app, ini, server_env, db):
    admin_script.main(
        [str(ini), "create", "carol", "carol@example.com"], environ=server_env, stdin=io.StringIO(PASSWORD + "\n")
    )
    tokens = app.post_json("/api/token/", {"username": "carol", "password": PASSWORD}).json
    mine = app.get("/api/users/me/", headers={"Authorization": f"Bearer {tokens['access']}"}).json
    assert (mine["username"], mine["email"], mine["role"]) == ("carol", "carol@example.com", "user")
    with db.cursor() as cur:  # its welcome email, through the outbox
        cur.execute("SELECT kind, payload->>'user_id' FROM outbox")
        assert cur.fetchall() == [("welcome_email", str(mine["id"]))]


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["carol", "not-an-email"], PASSWORD, "email: Invalid email address"),
        (["c", "carol@example.com"], PASSWORD, "username: 3 to 30"),
        (["carol", "carol@example.com"], "short", "password"),
        (["ALICE", "other@example.com"], PASSWORD, "username: Already taken"),
        (["carol", "Alice@Example.com"], PASSWORD, "email: Already taken"),
    ],
)
def test_create_refuses_what_sign_up_refuses(alice, ini, server_env, db, args, password, message):
    with pytest.raises(SystemExit, match=message):
        admin_script.main([str(ini), "create", *args], environ=server_env, stdin=io.StringIO(password + "\n"))
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone() == (1,)


# The admin routes' permissions


def admin_operations(app):
    """(method, path) of every operation under /api/admin/ in the document, ids set to 1."""
    document = app.get("/api/openapi.json").json
    return [
        (method.upper(), path.replace("{id}", "1"))
        for path, operations in document["paths"].items()
        if path.startswith("/api/admin/")
        for method in operations
    ]


def test_every_admin_route_is_403_to_a_user_and_401_without_a_token(app, alice, moderator):
    operations = admin_operations(app)
    assert len(operations) >= 2
    for method, path in operations:
        # Before its input is looked at: an empty body, an unknown id, no query.
        refused = app.request(path, method=method, headers=alice.headers, expect_errors=True)
        assert assert_error(refused, 403)["message"] == (
            "Only an admin may do this" if path.endswith("/role/") else "Only a moderator or an admin may do this"
        ), (method, path)
        assert_error(app.request(path, method=method, expect_errors=True), 401)


def test_a_role_holds_at_the_next_request(app, alice, grant):
    assert_error(app.get("/api/admin/audit/", headers=alice.headers, status=403), 403)
    grant("alice", "moderator")
    assert app.get("/api/admin/audit/", headers=alice.headers).json["results"][0]["action"] == "grant_role"
    grant("alice", "user")
    assert_error(app.get("/api/admin/audit/", headers=alice.headers, status=403), 403)


def test_only_an_admin_grants_roles(app, admin, moderator, alice, bob):
    assert_error(
        app.post_json(
            f"/api/admin/accounts/{bob['id']}/role/", {"role": "moderator"}, headers=moderator.headers, status=403
        ),
        403,
    )
    assert_error(
        app.post_json(
            f"/api/admin/accounts/{moderator['id']}/role/", {"role": "user"}, headers=moderator.headers, status=403
        ),
        403,
    )
    granted = app.post_json(f"/api/admin/accounts/{bob['id']}/role/", {"role": "moderator"}, headers=admin.headers).json
    assert granted["id"] == bob["id"] and granted["username"] == "bob"
    assert me(app, bob)["role"] == "moderator"
    entry = audit(app, bob)["results"][0]
    assert entry["actor"]["id"] == admin["id"] and entry["actor"]["username"] == "root"
    assert (entry["action"], entry["account"], entry["post"], entry["reason"]) == (
        "grant_role",
        bob["id"],
        None,
        "user -> moderator",
    )


@pytest.mark.parametrize(
    "body, field", [({}, "role"), ({"role": "root"}, "role"), ({"role": 1}, "role"), ({"role": ["admin"]}, "role")]
)
def test_role_input_is_checked(app, admin, bob, body, field, db):
    assert_error(
        app.post_json(f"/api/admin/accounts/{bob['id']}/role/", body, headers=admin.headers, status=400), 400, field
    )
    assert me(app, bob)["role"] == "user"


def test_role_of_an_unknown_account_is_404_and_writes_nothing(app, admin, db):
    before = audit(app, admin)["results"]
    assert_error(
        app.post_json("/api/admin/accounts/987654/role/", {"role": "admin"}, headers=admin.headers, status=404), 404
    )
    assert audit(app, admin)["results"] == before


# The audit log


def test_the_audit_log_pages_newest_first(app, admin, make_user, grant):
    names = [f"user{i}" for i in range(5)]
    for name in names:
        account = make_user(name)
        app.post_json(f"/api/admin/accounts/{account['id']}/role/", {"role": "moderator"}, headers=admin.headers)
    seen, params = [], {"page_size": 2}
    while True:
        body = audit(app, admin, **params)
        assert len(body["results"]) <= 2
        seen += body["results"]
        if body["next"] is None:
            break
        params = {"page_size": 2, "cursor": body["next"].split("cursor=")[1].split("&")[0]}
    assert [e["id"] for e in seen] == list(range(6, 0, -1))  # the five grants, then root's
    assert seen[-1]["actor"] is None and seen[-1]["account"] == admin["id"]
    assert all(e["actor"]["id"] == admin["id"] for e in seen[:-1])


def test_nothing_changes_or_deletes_an_audit_entry(app, admin, db):
    for statement in (
        "UPDATE moderation_audit SET reason = 'nothing happened'",
        "DELETE FROM moderation_audit",
        "TRUNCATE moderation_audit",
    ):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="append-only"), db.cursor() as cur:
            cur.execute(statement)
    assert [e["reason"] for e in audit(app, admin)["results"]] == ["user -> admin"]


def test_an_action_and_its_audit_entry_commit_together(app, admin, bob, wsgi_app, monkeypatch):
    """A fault: the audit entry's INSERT fails, so the role it records is not changed either."""
    queries = wsgi_app.registry.queries.moderation

    def broken(*args, **kwargs):
        raise psycopg2.errors.SerializationFailure("the audit log is unavailable")

    monkeypatch.setattr(queries, "audit", broken)
    response = app.post_json(
        f"/api/admin/accounts/{bob['id']}/role/", {"role": "admin"}, headers=admin.headers, expect_errors=True
    )
    assert response.status_int >= 409
    monkeypatch.undo()
    assert me(app, bob)["role"] == "user"
    assert [e["account"] for e in audit(app, admin)["results"]] == [admin["id"]]


def test_the_audit_page_walks_the_primary_key(db, wsgi_app):
    plan = explain(db, wsgi_app.registry.queries.moderation.list_audit, {"before": 2**63 - 1, "offset": 0, "limit": 21})
    assert "moderation_audit_pkey" in plan and "Sort" not in plan


# Suspensions


def suspend(app, moderator, user, reason="spam", status=200):
    return app.post_json(
        f"/api/admin/accounts/{user['id']}/suspend/", {"reason": reason}, headers=moderator.headers, status=status
    )


def unsuspend(app, moderator, user, status=200):
    return app.post(f"/api/admin/accounts/{user['id']}/unsuspend/", headers=moderator.headers, status=status)


def post(app, user, text, in_reply_to=None):
    body = {"text": text, **({"in_reply_to": in_reply_to} if in_reply_to else {})}
    return app.post_json("/api/posts/", body, headers=user.headers, status=201).json


@pytest.fixture
def world(app, make_user, moderator):
    """alice (to be suspended) and what she is in: bob follows her and is followed by her,
    her posts are tagged, replied, liked, reposted, bookmarked, mentioned; carol mutes
    someone else (so she reads her own pages, from the pull plans); dave follows bob only."""
    alice, bob, carol, dave, eve = (make_user(n) for n in ("alice", "bob", "carol", "dave", "eve"))
    for follower, followee in ((bob, alice), (alice, bob), (carol, alice), (carol, bob), (dave, bob), (eve, alice)):
        app.post(f"/api/users/{followee['id']}/follow/", headers=follower.headers)
    app.post(f"/api/users/{eve['id']}/mute/", headers=carol.headers)
    bobs = post(app, bob, "bob's #word on zebras")
    own = post(app, alice, "alice's #word on zebras, @bob")
    reply = post(app, alice, "alice replies on zebras", in_reply_to=bobs["id"])
    to_alice = post(app, bob, "bob replies to alice", in_reply_to=own["id"])
    app.post(f"/api/posts/{bobs['id']}/like/", headers=alice.headers)
    app.post(f"/api/posts/{own['id']}/like/", headers=bob.headers)
    app.post(f"/api/posts/{bobs['id']}/repost/", headers=alice.headers)  # into bob's, carol's, eve's feeds
    app.post(f"/api/posts/{own['id']}/repost/", headers=bob.headers)  # into dave's feed
    app.post(f"/api/posts/{own['id']}/bookmark/", headers=bob.headers)
    app.post("/api/hashtags/word/favorite/", headers=bob.headers)
    app.post(f"/api/users/{alice['id']}/mute/", headers=dave.headers)
    app.post(f"/api/users/{dave['id']}/block/", headers=eve.headers)
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "eve": eve,
        "moderator": moderator,
        "posts": {"bobs": bobs, "own": own, "reply": reply, "to_alice": to_alice},
    }


def lists(world):
    """Every list a reader reads that alice is (or may be) in."""
    bob = world["bob"]
    bobs = world["posts"]["bobs"]
    return [
        "/api/posts/",
        "/api/feed/",
        f"/api/posts/{bobs['id']}/",
        f"/api/posts/{bobs['id']}/replies/",
        f"/api/posts/{bobs['id']}/likes/",
        f"/api/users/{bob['id']}/",
        f"/api/users/{bob['id']}/posts/",
        f"/api/users/{bob['id']}/followers/",
        f"/api/users/{bob['id']}/following/",
        "/api/hashtags/word/posts/",
        "/api/favorite_hashtags/posts/",
        "/api/search/posts/?q=zebras",
        "/api/search/posts/?q=zebras&order=relevance",
        "/api/search/posts/?q=%23word",
        "/api/search/users/?q=a",
        "/api/bookmarks/",
        "/api/notifications/",
        "/api/mutes/",
        "/api/popular_hashtags/",
    ]


def by_id(world):
    """What answers 404 to everyone but moderators while alice is suspended."""
    alice, own, reply = world["alice"], world["posts"]["own"], world["posts"]["reply"]
    return [
        f"/api/users/{alice['id']}/",
        f"/api/users/{alice['id']}/posts/",
        f"/api/users/{alice['id']}/followers/",
        f"/api/users/{alice['id']}/following/",
        f"/api/posts/{own['id']}/",
        f"/api/posts/{own['id']}/replies/",
        f"/api/posts/{own['id']}/likes/",
        f"/api/posts/{reply['id']}/",
    ]


READERS = ("bob", "carol", "dave", "eve", "moderator")


def read_all(app, world, urls):
    return {(who, url): app.get(url, headers=world[who].headers).json for who in READERS for url in urls}


def mentions_alice(body, alice_id):
    """Whether a response shows alice: as an author, a reposter, a profile, an actor."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("id") == alice_id and "username" in value:
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(body)
    return bool(found)


def test_a_suspension_takes_the_account_out_of_every_list_at_once_and_the_lift_brings_it_back(app, world):
    alice, moderator = world["alice"], world["moderator"]
    urls = lists(world)
    for _ in range(2):  # the second feed read fills the home timelines (feed.settle_seconds = 0)
        before = read_all(app, world, urls)
    assert read_all(app, world, urls) == before  # warm: every response cached now
    shown = {key for key, body in before.items() if mentions_alice(body, alice["id"])}
    # alice shows in every list for some reader (but those about bob alone, and the counts)
    about_bob = {f"/api/posts/{world['posts']['bobs']['id']}/", f"/api/users/{world['bob']['id']}/"}
    about_bob |= {f"/api/users/{world['bob']['id']}/posts/", "/api/popular_hashtags/"}
    for url in urls:
        assert (url in about_bob) != any((who, url) in shown for who in READERS), url
    answered = {who: {url: app.get(url, headers=world[who].headers).json for url in by_id(world)} for who in READERS}

    suspended = suspend(app, moderator, alice, "spam").json
    assert suspended["suspended"] is True and suspended["id"] == alice["id"] and suspended["role"] == "user"

    after = read_all(app, world, urls)
    for key, body in after.items():
        assert not mentions_alice(body, alice["id"]), key
    for who in READERS:
        for url in by_id(world):
            if who == "moderator":
                assert app.get(url, headers=world[who].headers).json == answered[who][url], url
            else:
                assert_error(app.get(url, headers=world[who].headers, status=404), 404)
    # Counts stay as they are: her follows, likes and posts still count.
    bob_profile = after[("bob", f"/api/users/{world['bob']['id']}/")]
    assert bob_profile == before[("bob", f"/api/users/{world['bob']['id']}/")]
    assert bob_profile["followers_count"] == 3 and bob_profile["following_count"] == 1
    bobs = after[("carol", f"/api/posts/{world['posts']['bobs']['id']}/")]
    assert (bobs["likes_count"], bobs["reposts_count"], bobs["replies_count"]) == (1, 1, 1)
    assert after[("bob", "/api/posts/")]["count"] == before[("bob", "/api/posts/")]["count"]

    unsuspend(app, moderator, alice)
    assert read_all(app, world, urls) == before
    for who in READERS:
        for url in by_id(world):
            assert app.get(url, headers=world[who].headers).json == answered[who][url], (who, url)


def test_a_suspended_accounts_tokens_stop_and_it_cannot_log_in_or_refresh(app, world):
    alice, moderator = world["alice"], world["moderator"]
    assert app.get("/api/users/me/", headers=alice.headers).json["id"] == alice["id"]  # remembered as verified
    suspend(app, moderator, alice)
    for method, url in (("GET", "/api/users/me/"), ("GET", "/api/feed/"), ("POST", "/api/posts/")):
        refused = app.request(url, method=method, headers=alice.headers, expect_errors=True)
        assert assert_error(refused, 401)["message"] == "This account is suspended", url
    login = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}, status=403)
    assert assert_error(login, 403)["message"] == "This account is suspended"
    wrong = app.post_json("/api/token/", {"username": "alice", "password": "wrong password"}, status=401)
    assert assert_error(wrong, 401)["message"] == "Invalid username or password"  # told only to who knows it
    refresh = app.post_json("/api/token/refresh/", {"refresh": alice["refresh"]}, status=403)
    assert assert_error(refresh, 403)["message"] == "This account is suspended"
    unsuspend(app, moderator, alice)
    assert app.get("/api/users/me/", headers=alice.headers).json["id"] == alice["id"]
    assert app.post_json("/api/token/refresh/", {"refresh": alice["refresh"]}).json["access"]
    assert app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json["access"]


def test_a_role_changes_what_a_viewer_is_shown_of_a_suspended_account_at_once(app, world, admin):
    alice, carol, moderator = world["alice"], world["carol"], world["moderator"]
    own = world["posts"]["own"]
    urls = [f"/api/users/{alice['id']}/", f"/api/posts/{own['id']}/"]
    suspend(app, moderator, alice)
    for url in urls:  # the moderator's answer first: cached for them, never for carol
        assert app.get(url, headers=moderator.headers).status_int == 200
        assert_error(app.get(url, headers=carol.headers, status=404), 404)
    app.post_json(f"/api/admin/accounts/{carol['id']}/role/", {"role": "moderator"}, headers=admin.headers)
    for url in urls:
        assert app.get(url, headers=carol.headers).status_int == 200
    app.post_json(f"/api/admin/accounts/{carol['id']}/role/", {"role": "user"}, headers=admin.headers)
    for url in urls:
        assert_error(app.get(url, headers=carol.headers, status=404), 404)


def test_suspensions_are_on_record_and_a_repeat_changes_nothing(app, world):
    alice, moderator = world["alice"], world["moderator"]
    first = suspend(app, moderator, alice, "  spam, again  ").json
    assert suspend(app, moderator, alice, "twice").json == first
    assert unsuspend(app, moderator, alice).json == {**first, "suspended": False}
    assert unsuspend(app, moderator, alice).json == {**first, "suspended": False}
    entries = audit(app, moderator)["results"][:2]
    assert [(e["action"], e["account"], e["reason"], e["actor"]["id"]) for e in entries] == [
        ("unsuspend", alice["id"], "", moderator["id"]),
        ("suspend", alice["id"], "spam, again", moderator["id"]),
    ]


def test_who_may_suspend_whom(app, world, admin, grant):
    bob, moderator = world["bob"], world["moderator"]
    grant("bob", "moderator")
    for target in (bob, admin):  # a moderator's or an admin's account: an admin's decision
        for write in (suspend, unsuspend):
            refused = (
                write(app, moderator, target, status=403)
                if write is unsuspend
                else write(app, moderator, target, status=403)
            )
            assert assert_error(refused, 403)["message"].startswith("Only an admin may")
    assert suspend(app, admin, bob).json["suspended"] is True
    assert_error(suspend(app, moderator, moderator, status=400), 400, "id")
    assert_error(suspend(app, moderator, {"id": 987654}, status=404), 404)
    assert [e["action"] for e in audit(app, admin)["results"]][:1] == ["suspend"]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"reason": 5}, {"reason": "bad \x00 byte"}],
)
def test_a_suspension_needs_a_reason(app, world, body, db):
    alice, moderator = world["alice"], world["moderator"]
    url = f"/api/admin/accounts/{alice['id']}/suspend/"
    assert_error(app.post_json(url, body, headers=moderator.headers, status=400), 400, "reason")
    with db.cursor() as cur:
        cur.execute("SELECT suspended_at FROM users WHERE id = %s", (alice["id"],))
        assert cur.fetchone() == (None,)


# Removing a post


def remove(app, moderator, post_id, reason="spam", status=204):
    return app.delete_json(f"/api/admin/posts/{post_id}/", {"reason": reason}, headers=moderator.headers, status=status)


def test_a_removed_post_goes_as_if_its_author_deleted_it_and_the_author_is_told_why(app, world):
    alice, bob, moderator = world["alice"], world["bob"], world["moderator"]
    own = world["posts"]["own"]
    urls = [
        "/api/posts/",
        "/api/feed/",
        "/api/hashtags/word/posts/",
        "/api/search/posts/?q=zebras",
        f"/api/users/{alice['id']}/",
        f"/api/users/{alice['id']}/posts/",
        "/api/bookmarks/",
        "/api/popular_hashtags/",
    ]
    for _ in range(2):
        before = {url: app.get(url, headers=bob.headers).json for url in urls}
    assert own["id"] in [p["id"] for p in before["/api/posts/"]["results"]]
    remove(app, moderator, own["id"], "  spam about zebras ")
    after = {url: app.get(url, headers=bob.headers).json for url in urls}
    for url in ("/api/posts/", "/api/feed/", "/api/hashtags/word/posts/", "/api/search/posts/?q=zebras"):
        assert own["id"] not in [p["id"] for p in after[url]["results"]], url
    assert after["/api/posts/"]["count"] == before["/api/posts/"]["count"] - 1
    assert after[f"/api/users/{alice['id']}/"]["posts_count"] == before[f"/api/users/{alice['id']}/"]["posts_count"] - 1
    assert after["/api/bookmarks/"]["results"] == []
    assert after["/api/popular_hashtags/"] != before["/api/popular_hashtags/"]  # #word counts one post fewer
    for url in (f"/api/posts/{own['id']}/", f"/api/posts/{own['id']}/replies/"):
        assert_error(app.get(url, headers=moderator.headers, status=404), 404)
    told = app.get("/api/notifications/", headers=alice.headers).json["results"][0]
    assert (told["type"], told["actor"]["id"], told["post"], told["reason"]) == (
        "moderation",
        moderator["id"],
        None,
        "spam about zebras",
    )
    assert app.get("/api/notifications/unread_count/", headers=alice.headers).json["count"] >= 1
    entry = audit(app, moderator)["results"][0]
    assert (entry["action"], entry["account"], entry["post"], entry["reason"]) == (
        "remove_post",
        alice["id"],
        own["id"],
        "spam about zebras",
    )
    assert_error(remove(app, moderator, own["id"], status=404), 404)  # gone already
    assert_error(remove(app, moderator, 987654, status=404), 404)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": " \n "}, {"reason": "x" * 1001}, {"reason": ["x"]}])
def test_a_removal_needs_a_reason(app, world, body):
    moderator, own = world["moderator"], world["posts"]["own"]
    refused = app.delete_json(f"/api/admin/posts/{own['id']}/", body, headers=moderator.headers, status=400)
    assert_error(refused, 400, "reason")
    assert app.get(f"/api/posts/{own['id']}/", headers=moderator.headers).json["id"] == own["id"]


def test_a_removal_and_its_audit_entry_commit_together(app, world, wsgi_app, monkeypatch):
    """A fault: the audit entry's INSERT fails, so the post stays and nobody is told."""
    moderator, alice, own = world["moderator"], world["alice"], world["posts"]["own"]

    def broken(*args, **kwargs):
        raise psycopg2.errors.SerializationFailure("the audit log is unavailable")

    unread = app.get("/api/notifications/unread_count/", headers=alice.headers).json
    monkeypatch.setattr(wsgi_app.registry.queries.moderation, "audit", broken)
    refused = app.delete_json(
        f"/api/admin/posts/{own['id']}/", {"reason": "spam"}, headers=moderator.headers, expect_errors=True
    )
    assert refused.status_int >= 409
    monkeypatch.undo()
    assert app.get(f"/api/posts/{own['id']}/", headers=alice.headers).json["id"] == own["id"]
    assert app.get("/api/notifications/unread_count/", headers=alice.headers).json == unread


# Reports


def report(app, user, account, status=201, **body):
    return app.post_json("/api/reports/", {"account_id": account["id"], **body}, headers=user.headers, status=status)


def test_a_report_is_filed_once_per_reporter_and_account_and_a_repeat_adds_its_posts(app, world):
    alice, bob, carol = world["alice"], world["bob"], world["carol"]
    own, reply = world["posts"]["own"], world["posts"]["reply"]
    first = report(app, bob, alice, post_ids=[own["id"]], category="spam", comment=" buy zebras ").json
    assert set(first) == {
        "id", "account", "posts", "category", "comment", "status", "action_taken", "created_at", "resolved_at"
    }  # fmt: skip
    assert (first["account"]["id"], first["category"], first["comment"], first["status"]) == (
        alice["id"],
        "spam",
        "buy zebras",
        "open",
    )
    assert [p["id"] for p in first["posts"]] == [own["id"]]
    assert first["action_taken"] is None and first["resolved_at"] is None
    again = report(app, bob, alice, status=200, post_ids=[reply["id"], own["id"]], comment="more").json
    assert again["id"] == first["id"] and again["comment"] == "buy zebras"
    assert [p["id"] for p in again["posts"]] == [own["id"], reply["id"]]
    other = report(app, carol, alice).json  # another reporter: another report, category other
    assert other["id"] != first["id"] and other["category"] == "other" and other["posts"] == []
    mine = app.get("/api/reports/", headers=bob.headers).json
    assert [r["id"] for r in mine["results"]] == [first["id"]]
    assert app.get("/api/reports/", headers=alice.headers).json["results"] == []  # the reported account learns nothing
    assert not [
        n for n in app.get("/api/notifications/", headers=alice.headers).json["results"] if n["type"] == "moderation"
    ]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"account_id": None}, 400, "account_id"),
        ({"account_id": "x"}, 400, "account_id"),
        ({"account_id": 987654}, 404, "account_id"),
        ({"post_ids": "1"}, 400, "post_ids"),
        ({"post_ids": [0]}, 400, "post_ids.0"),
        ({"post_ids": list(range(1, 102))}, 400, "post_ids"),
        ({"category": "boring"}, 400, "category"),
        ({"comment": "x" * 1001}, 400, "comment"),
        ({"comment": "nul \x00"}, 400, "comment"),
    ],
)
def test_report_input_is_checked(app, world, db, body, status, field):
    body = {k: v for k, v in {"account_id": world["alice"]["id"], **body}.items() if v is not None}
    assert_error(app.post_json("/api/reports/", body, headers=world["bob"].headers, status=status), status, field)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports")
        assert cur.fetchone() == (0,)


def test_a_report_of_oneself_or_of_anothers_post_is_refused_and_writes_nothing(app, world, db):
    alice, bob = world["alice"], world["bob"]
    assert_error(report(app, bob, bob, status=400), 400, "account_id")
    bobs = world["posts"]["bobs"]
    assert_error(report(app, bob, alice, status=400, post_ids=[bobs["id"]]), 400, "post_ids")
    assert_error(report(app, bob, alice, status=400, post_ids=[987654]), 400, "post_ids")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports")
        assert cur.fetchone() == (0,)


def test_moderators_list_open_reports_oldest_first_and_resolved_newest_first(app, world, make_user):
    alice, moderator = world["alice"], world["moderator"]
    reporters = [make_user(f"reporter{i}") for i in range(5)]
    ids = [report(app, r, alice).json["id"] for r in reporters]

    def walk(status):
        seen, params = [], {"status": status, "page_size": 2}
        while True:
            body = app.get("/api/admin/reports/", params=params, headers=moderator.headers).json
            seen += body["results"]
            if body["next"] is None:
                return seen
            params = {**params, "cursor": body["next"].split("cursor=")[1].split("&")[0]}

    opened = walk("open")
    assert [r["id"] for r in opened] == ids
    assert opened[0]["reporter"]["id"] == reporters[0]["id"] and opened[0]["note"] == ""
    assert app.get("/api/admin/reports/", headers=moderator.headers).json["results"][0]["id"] == ids[0]  # default open
    for report_id in ids[:3]:
        app.post_json(f"/api/admin/reports/{report_id}/resolve/", {"action": "none"}, headers=moderator.headers)
    assert [r["id"] for r in walk("open")] == ids[3:]
    assert [r["id"] for r in walk("resolved")] == ids[:3][::-1]
    one = app.get(f"/api/admin/reports/{ids[0]}/", headers=moderator.headers).json
    assert (one["status"], one["action_taken"], one["reporter"]["id"]) == ("resolved", "none", reporters[0]["id"])
    assert_error(app.get("/api/admin/reports/987654/", headers=moderator.headers, status=404), 404)
    assert_error(app.get("/api/admin/reports/?status=closed", headers=moderator.headers, status=400), 400, "status")


@pytest.mark.parametrize("action", ["none", "remove_posts", "suspend"])
def test_resolving_a_report_acts_and_is_on_record_once(app, world, action):
    alice, bob, moderator = world["alice"], world["bob"], world["moderator"]
    own = world["posts"]["own"]
    filed = report(app, bob, alice, post_ids=[own["id"]], category="abuse").json
    url = f"/api/admin/reports/{filed['id']}/resolve/"
    resolved = app.post_json(url, {"action": action, "note": "seen"}, headers=moderator.headers).json
    assert (resolved["status"], resolved["action_taken"], resolved["note"]) == ("resolved", action, "seen")
    assert resolved["resolved_at"] is not None and resolved["reporter"]["id"] == bob["id"]
    post_status = app.get(f"/api/posts/{own['id']}/", headers=bob.headers, expect_errors=True).status_int
    assert post_status == (200 if action == "none" else 404)
    suspended = app.get("/api/users/me/", headers=alice.headers, expect_errors=True).status_int == 401
    assert suspended == (action == "suspend")
    actions = [(e["action"], e["account"], e["post"]) for e in audit(app, moderator)["results"]]
    expected = {
        "none": [],
        "remove_posts": [("remove_post", alice["id"], own["id"])],
        "suspend": [("suspend", alice["id"], None)],
    }[action]
    assert actions[: len(expected) + 1] == [("resolve_report", alice["id"], None), *expected]
    assert_error(app.post_json(url, {"action": "none"}, headers=moderator.headers, status=409), 409)
    mine = app.get("/api/reports/", headers=bob.headers).json["results"][0]
    assert (mine["status"], mine["action_taken"]) == ("resolved", action)
    assert "note" not in mine and "reporter" not in mine


@pytest.mark.parametrize("body", [{}, {"action": "ban"}, {"action": "none", "note": "x" * 1001}])
def test_resolve_input_is_checked(app, world, body):
    filed = report(app, world["bob"], world["alice"]).json
    url = f"/api/admin/reports/{filed['id']}/resolve/"
    name = "note" if "note" in body else "action"
    assert_error(app.post_json(url, body, headers=world["moderator"].headers, status=400), 400, name)
    assert app.get(f"/api/admin/reports/{filed['id']}/", headers=world["moderator"].headers).json["status"] == "open"


def test_a_moderator_cannot_suspend_a_moderator_through_a_report(app, world, grant):
    bob, carol, moderator = world["bob"], world["carol"], world["moderator"]
    grant("bob", "moderator")
    filed = report(app, carol, bob).json
    url = f"/api/admin/reports/{filed['id']}/resolve/"
    assert_error(app.post_json(url, {"action": "suspend"}, headers=moderator.headers, status=403), 403)
    assert app.get(f"/api/admin/reports/{filed['id']}/", headers=moderator.headers).json["status"] == "open"


@pytest.mark.parametrize(
    "query, params, index",
    [
        ("list_mine", {"reporter_id": 1, "before": 2**63 - 1}, "idx_reports_reporter_id_id"),
        ("list_open", {"after": 0}, "idx_reports_open_id"),
        ("list_resolved", {"before": 2**63 - 1}, "idx_reports_resolved_id"),
    ],
)
def test_report_pages_walk_their_index(db, wsgi_app, query, params, index):
    plan = explain(db, getattr(wsgi_app.registry.queries.reports, query), {**params, "offset": 0, "limit": 21})
    walk = plan.split("SubPlan")[0]  # the subplan: one report's posts, on report_posts_pkey
    assert index in walk and "Sort" not in walk, plan


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("POST", "/api/posts/{own}/like/", None, None),
        ("POST", "/api/posts/{own}/repost/", None, None),
        ("POST", "/api/posts/{own}/bookmark/", None, None),
        ("POST", "/api/posts/", {"text": "a reply", "in_reply_to": "{own}"}, "in_reply_to"),
        ("POST", "/api/users/{alice}/follow/", None, None),
        ("POST", "/api/users/{alice}/block/", None, None),
    ],
)
def test_nothing_is_done_to_a_suspended_accounts_posts_or_profile(app, world, db, method, path, body, field):
    alice, carol, moderator = world["alice"], world["carol"], world["moderator"]
    own = world["posts"]["own"]
    app.delete(f"/api/users/{alice['id']}/follow/", headers=carol.headers)
    suspend(app, moderator, alice)

    def counts():
        with db.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM likes), (SELECT count(*) FROM reposts), (SELECT count(*) FROM bookmarks),"
                " (SELECT count(*) FROM posts), (SELECT count(*) FROM follows), (SELECT count(*) FROM blocks)"
            )
            return cur.fetchone()

    before = counts()
    ids = {"own": own["id"], "alice": alice["id"]}
    url = path.format(**ids)
    if body is None:
        refused = app.request(url, method=method, headers=carol.headers, expect_errors=True)
    else:
        body = {k: int(v.format(**ids)) if k == "in_reply_to" else v for k, v in body.items()}
        refused = app.post_json(url, body, headers=carol.headers, expect_errors=True)
    assert_error(refused, 404, field)
    assert counts() == before


# Sign-ups: the setting `registrations` (open, approval, closed), approvals and rejections


@pytest.fixture
def registrations(wsgi_app):
    """Set the app's `registrations` for a test (read by each sign-up and instance document)."""
    settings = wsgi_app.registry.settings
    saved = settings["registrations"]
    yield lambda mode: settings.__setitem__("registrations", mode)
    settings["registrations"] = saved


def sign_up(app, username, status=201):
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    return app.post_json("/api/users/", body, status=status)


def log_in(app, username, status=200):
    return app.post_json("/api/token/", {"username": username, "password": PASSWORD}, status=status)


def accounts(app, user, expect=200, **params):
    return app.get("/api/admin/accounts/", params=params, headers=user.headers, status=expect)


def test_registrations_are_open_by_default(app, wsgi_app):
    assert wsgi_app.registry.settings["registrations"] == "open"
    assert sign_up(app, "ann").json["approved"] is True
    log_in(app, "ann")


def test_closed_registrations_refuse_sign_up_but_the_server_still_creates(app, registrations, ini, server_env, db):
    registrations("closed")
    for path in ("/api/users/", "/api/create_user/"):
        body = {"username": "ann", "email": "ann@example.com", "password": PASSWORD}
        refused = app.post_json(path, body, status=403)
        assert assert_error(refused, 403)["message"] == "Registrations are closed"
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone() == (0,)
    admin_script.main(
        [str(ini), "create", "ann", "ann@example.com"], environ=server_env, stdin=io.StringIO(PASSWORD + "\n")
    )
    tokens = log_in(app, "ann").json
    assert app.get("/api/users/me/", headers={"Authorization": f"Bearer {tokens['access']}"}).json["approved"]


@pytest.fixture
def pending(app, registrations, moderator, admin, alice):
    """carl signed up under approval (moderator, admin and alice before it)."""
    registrations("approval")
    created = sign_up(app, "carl").json
    assert created["approved"] is False and created["role"] == "user"
    return created


def test_a_pending_account_cannot_log_in_and_its_names_are_taken(app, pending, db):
    assert assert_error(log_in(app, "carl", status=403), 403)["message"] == "This account is awaiting approval"
    # wrong password: the same 401 as anyone's
    assert_error(app.post_json("/api/token/", {"username": "carl", "password": "x" * 12}, status=401), 401)
    body = {"username": "CARL", "email": "other@example.com", "password": PASSWORD}
    assert_error(app.post_json("/api/users/", body, status=409), 409, "username")
    body = {"username": "carla", "email": "Carl@Example.com", "password": PASSWORD}
    assert_error(app.post_json("/api/users/", body, status=409), 409, "email")


def test_a_pending_accounts_refresh_token_is_refused(app, pending, db, wsgi_app):
    """A refresh token of an account pending (made before, e.g. by the server): 403, unspent."""
    tokens = wsgi_app.registry.tokens
    jti, family = tokens.new_id(), tokens.new_id()
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO refresh_tokens (jti, user_id, family, expires_at)"
            " VALUES (%s, %s, %s, now() + interval '1 hour')",
            (str(jti), pending["id"], str(family)),
        )
    refresh = tokens.refresh(pending["id"], jti, family)
    refused = app.post_json("/api/token/refresh/", {"refresh": refresh}, status=403)
    assert assert_error(refused, 403)["message"] == "This account is awaiting approval"
    with db.cursor() as cur:
        cur.execute("SELECT revoked_at FROM refresh_tokens WHERE jti = %s", (str(jti),))
        assert cur.fetchone() == (None,)


def test_a_pending_account_is_hidden_from_users_and_shown_to_moderators(app, pending, alice, moderator):
    path = f"/api/users/{pending['id']}/"
    assert_error(app.get(path, headers=alice.headers, status=404), 404)
    assert app.get(path, headers=moderator.headers).json["username"] == "carl"
    assert_error(app.get(f"/api/users/{pending['id']}/posts/", headers=alice.headers, status=404), 404)
    assert_error(app.post(f"/api/users/{pending['id']}/follow/", headers=alice.headers, status=404), 404)
    assert app.get("/api/search/users/", params={"q": "car"}, headers=alice.headers).json["results"] == []
    assert app.get("/api/search/users/", params={"q": "car"}, headers=moderator.headers).json["results"] == []
    assert app.get(f"/api/v1/accounts/{pending['id']}", headers=alice.headers, status=404)
    assert app.get("/api/v1/accounts/lookup", params={"acct": "carl"}, headers=alice.headers, status=404)


def test_moderators_are_told_of_a_sign_up_waiting(app, pending, alice, moderator, admin):
    for staff in (moderator, admin):
        found = app.get("/api/notifications/", headers=staff.headers).json["results"]
        assert [(n["type"], n["actor"]["username"], n["post"]) for n in found] == [("sign_up", "carl", None)]
        masto = app.get("/api/v1/notifications", headers=staff.headers).json
        assert [(n["type"], n["account"]["username"]) for n in masto] == [("admin.sign_up", "carl")]
    assert app.get("/api/notifications/", headers=alice.headers).json["results"] == []


def test_approve_lets_it_log_in_and_be_found_on_record(app, pending, alice, moderator):
    path = f"/api/users/{pending['id']}/"
    assert_error(app.get(path, headers=alice.headers, status=404), 404)  # cached: now the approval bumps it
    approved = app.post(f"/api/admin/accounts/{pending['id']}/approve/", headers=moderator.headers).json
    assert (approved["approved"], approved["suspended"], approved["email"]) == (True, False, "carl@example.com")
    log_in(app, "carl")
    assert app.get(path, headers=alice.headers).json["username"] == "carl"
    assert [
        u["username"] for u in app.get("/api/search/users/", params={"q": "car"}, headers=alice.headers).json["results"]
    ] == ["carl"]
    entry = audit(app, moderator)["results"][0]
    assert (entry["action"], entry["actor"]["id"], entry["account"]) == ("approve", moderator["id"], pending["id"])
    # approved already: 409, nothing on record
    assert_error(app.post(f"/api/admin/accounts/{pending['id']}/approve/", headers=moderator.headers, status=409), 409)
    assert_error(app.post(f"/api/admin/accounts/{pending['id']}/reject/", headers=moderator.headers, status=409), 409)
    assert len(audit(app, moderator)["results"]) == 3  # two grants and the approval
    assert_error(app.post("/api/admin/accounts/987654/approve/", headers=moderator.headers, status=404), 404)
    assert_error(app.post("/api/admin/accounts/987654/reject/", headers=moderator.headers, status=404), 404)


def test_reject_deletes_it_and_frees_its_names_on_record(app, pending, moderator, db):
    app.post(f"/api/admin/accounts/{pending['id']}/reject/", headers=moderator.headers, status=204)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users WHERE id = %s", (pending["id"],))
        assert cur.fetchone() == (0,)
    assert app.get("/api/notifications/", headers=moderator.headers).json["results"] == []
    entry = audit(app, moderator)["results"][0]
    assert (entry["action"], entry["actor"]["id"], entry["account"], entry["reason"]) == (
        "reject",
        moderator["id"],
        pending["id"],
        "sign-up of carl",
    )
    assert_error(app.get(f"/api/users/{pending['id']}/", headers=moderator.headers, status=404), 404)
    again = sign_up(app, "carl").json  # the username and the email are free again (still under approval)
    assert again["id"] != pending["id"] and again["approved"] is False


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_an_approval_and_its_audit_entry_commit_together(app, pending, moderator, wsgi_app, monkeypatch, db, action):
    queries = wsgi_app.registry.queries.moderation

    def broken(*args, **kwargs):
        raise psycopg2.errors.SerializationFailure("the audit log is unavailable")

    monkeypatch.setattr(queries, "audit", broken)
    response = app.post(f"/api/admin/accounts/{pending['id']}/{action}/", headers=moderator.headers, expect_errors=True)
    assert response.status_int >= 409
    monkeypatch.undo()
    with db.cursor() as cur:
        cur.execute("SELECT approved FROM users WHERE id = %s", (pending["id"],))
        assert cur.fetchone() == (False,)


def test_the_accounts_list_by_status_and_prefix(app, alice, bob, moderator, admin, pending):
    suspend(app, moderator, bob)

    def names(**params):
        return [a["username"] for a in accounts(app, moderator, **params).json["results"]]

    assert names(status="pending") == ["carl"]
    assert names(status="suspended") == ["bob"]
    assert names(status="active") == ["root", "mod", "alice"]  # newest first
    assert names() == ["carl", "root", "mod", "bob", "alice"]
    assert names(q="CA") == ["carl"] and names(q="@b") == ["bob"] and names(q="%") == [] and names(q="_") == []
    assert names(status="active", q="a") == ["alice"]
    first = accounts(app, moderator, status="pending").json["results"][0]
    assert (first["approved"], first["suspended"], first["email"], first["role"]) == (
        False,
        False,
        "carl@example.com",
        "user",
    )
    page = accounts(app, admin, page_size=2).json
    assert [a["username"] for a in page["results"]] == ["carl", "root"] and page["count"] is None
    cursor = page["next"].split("cursor=")[1].split("&")[0]
    assert [a["username"] for a in accounts(app, admin, page_size=2, cursor=cursor).json["results"]] == [
        "mod",
        "bob",
    ]
    refused = app.get("/api/admin/accounts/", params={"status": "gone"}, headers=moderator.headers, status=400)
    assert_error(refused, 400, "status")
    assert_error(accounts(app, alice, expect=403), 403)


@pytest.mark.parametrize(
    "query, params, index",
    [
        ("list_pending", {}, "idx_users_pending"),
        ("list_suspended", {}, "idx_users_suspended"),
        ("list_accounts", {"active": True}, "users_pkey"),
        ("list_accounts", {"active": False}, "users_pkey"),
    ],
)
def test_the_accounts_pages_walk_their_index(db, wsgi_app, query, params, index):
    """No q: the status's index walked backwards, no sort. A prefix: that walk, or (a rare
    prefix) its matches from idx_users_username_pattern, sorted: never a scan of the table."""
    with db.cursor() as cur:  # a table where nearly every account is active, as in production
        cur.execute(
            "INSERT INTO users (username, email, password_hash, approved, suspended_at)"
            " SELECT 'user' || g, 'user' || g || '@example.com', 'x', g % 500 <> 0,"
            " CASE WHEN g % 700 = 0 THEN now() END"
            " FROM generate_series(1, 20000) g"
        )
        cur.execute("ANALYZE users")
    named = getattr(wsgi_app.registry.queries.moderation, query)
    page = {"before": 2**63 - 1, "offset": 0, "limit": 21}
    plan = explain(db, named, {**params, **page, "pattern": "%"})
    assert index in plan and "Sort" not in plan and "Seq Scan" not in plan, plan
    plan = explain(db, named, {**params, **page, "pattern": "ca%"})
    assert (index in plan or "idx_users_username_pattern" in plan) and "Seq Scan" not in plan, plan


def test_the_staff_the_sign_up_notifies_are_read_from_their_index(db, wsgi_app):
    plan = explain(db, wsgi_app.registry.queries.moderation.staff_ids, {})
    assert "idx_users_staff" in plan, plan


# Every way a user reaches another account: each answers whether it shows carl (waiting for
# approval: hidden as a suspended account is; once approved: shown). Lists first read by
# alice with carl absent or present; writes answer 404 or not; counts leave him out or not.


def _status(response):
    return response.status_int != 404


def _ids(body):
    return [str(a["id"]) for a in body]


def _user_count(app, wsgi_app, db):
    """Whether every count of users counts carl: the instance's counts equal the accounts'
    rows (carl's among them) less the suspended (none here)."""
    wsgi_app.registry.mastodon_stats.at = None  # kept a minute per process
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        (rows,) = cur.fetchone()
    found = {
        app.get("/api/v1/instance").json["stats"]["user_count"],
        app.get("/api/v2/instance").json["usage"]["users"]["active_month"],
        app.get("/nodeinfo/2.0").json["usage"]["users"]["total"],
    }
    assert len(found) == 1, found
    return found.pop() == rows


def _mentioned(app, alice, carl):
    """A post naming @carl (both faces) links him; the native answer's mentions."""
    native = app.post_json("/api/posts/", {"text": "hello @carl"}, headers=alice.headers, status=201).json
    masto = app.post_json("/api/v1/statuses", {"status": "hi @carl"}, headers=alice.headers).json
    shown = {
        any(m["id"] == carl["id"] for m in native["mentions"]),
        any(m["id"] == str(carl["id"]) for m in masto["mentions"]),
    }
    assert len(shown) == 1, shown
    return shown.pop()


def _answers(method, path):
    """Whether the route finds carl (`{id}` his id) when alice calls it: anything but a 404."""
    return lambda app, a, c: _status(
        getattr(app, method)(path.format(id=c["id"]), headers=a.headers, expect_errors=True)
    )


REACH = {
    "profile": _answers("get", "/api/users/{id}/"),
    "posts": _answers("get", "/api/users/{id}/posts/"),
    "followers": _answers("get", "/api/users/{id}/followers/"),
    "following": _answers("get", "/api/users/{id}/following/"),
    "follow": _answers("post", "/api/users/{id}/follow/"),
    "block": _answers("post", "/api/users/{id}/block/"),
    "mute": _answers("post", "/api/users/{id}/mute/"),
    "report": lambda app, a, c: _status(
        app.post_json("/api/reports/", {"account_id": c["id"]}, headers=a.headers, expect_errors=True)
    ),
    "search": lambda app, a, c: (
        [u["id"] for u in app.get("/api/search/users/?q=car", headers=a.headers).json["results"]] == [c["id"]]
    ),
    "mention": lambda app, a, c: _mentioned(app, a, c),
    "masto account": _answers("get", "/api/v1/accounts/{id}"),
    "masto lookup": _answers("get", "/api/v1/accounts/lookup?acct=carl"),
    "masto statuses": _answers("get", "/api/v1/accounts/{id}/statuses"),
    "masto followers": _answers("get", "/api/v1/accounts/{id}/followers"),
    "masto following": _answers("get", "/api/v1/accounts/{id}/following"),
    "masto follow": _answers("post", "/api/v1/accounts/{id}/follow"),
    "masto block": _answers("post", "/api/v1/accounts/{id}/block"),
    "masto mute": _answers("post", "/api/v1/accounts/{id}/mute"),
    "masto relationships": lambda app, a, c: (
        _ids(app.get(f"/api/v1/accounts/relationships?id[]={c['id']}", headers=a.headers).json) == [str(c["id"])]
    ),
    "masto report": lambda app, a, c: _status(
        app.post_json("/api/v1/reports", {"account_id": str(c["id"])}, headers=a.headers, expect_errors=True)
    ),
    "masto account search": lambda app, a, c: (
        _ids(app.get("/api/v1/accounts/search?q=car", headers=a.headers).json) == [str(c["id"])]
    ),
    "masto search": lambda app, a, c: (
        _ids(app.get("/api/v2/search?q=carl&type=accounts", headers=a.headers).json["accounts"]) == [str(c["id"])]
    ),
    "masto search @": lambda app, a, c: (
        _ids(app.get("/api/v2/search?q=@carl&type=accounts", headers=a.headers).json["accounts"]) == [str(c["id"])]
    ),
}


@pytest.mark.parametrize("route", [*REACH, "counts"])
def test_an_account_waiting_for_approval_is_reached_by_no_user_until_approved(
    app, pending, alice, moderator, wsgi_app, db, route
):
    def shown():
        if route == "counts":
            return _user_count(app, wsgi_app, db)
        return REACH[route](app, alice, pending)

    for _ in range(2):  # the second read answers from the caches the first filled
        assert shown() is False
    app.post(f"/api/admin/accounts/{pending['id']}/approve/", headers=moderator.headers)
    assert shown() is True  # at once: the caches that hid it are stale


def test_a_mention_of_an_account_waiting_is_no_mention_and_tells_it_nothing(app, pending, alice, moderator):
    waited = app.post_json("/api/posts/", {"text": "hello @carl"}, headers=alice.headers, status=201).json
    app.post(f"/api/admin/accounts/{pending['id']}/approve/", headers=moderator.headers)
    carl = {"Authorization": f"Bearer {log_in(app, 'carl').json['access']}"}
    assert app.get("/api/notifications/", headers=carl).json["results"] == []
    assert app.get(f"/api/posts/{waited['id']}/", headers=alice.headers).json["mentions"] == []
    # once approved, a mention is one: a new post, or an edit of the old one
    app.post_json("/api/posts/", {"text": "welcome @carl"}, headers=alice.headers, status=201)
    edited = app.patch_json(f"/api/posts/{waited['id']}/", {"text": "hello again @carl"}, headers=alice.headers).json
    assert [m["username"] for m in edited["mentions"]] == ["carl"]
    found = app.get("/api/notifications/", headers=carl).json["results"]
    assert [(n["type"], n["actor"]["username"]) for n in found] == [("mention", "alice"), ("mention", "alice")]


@pytest.mark.parametrize(
    "mode, enabled, approval", [("open", True, False), ("approval", True, True), ("closed", False, False)]
)
def test_the_mastodon_instance_says_the_registrations(app, registrations, mode, enabled, approval):
    registrations(mode)
    v1 = app.get("/api/v1/instance").json
    assert (v1["registrations"], v1["approval_required"]) == (enabled, approval)
    v2 = app.get("/api/v2/instance").json["registrations"]
    assert (v2["enabled"], v2["approval_required"]) == (enabled, approval)
    assert app.get("/nodeinfo/2.0").json["openRegistrations"] is (mode == "open")


# The Mastodon face hides a suspended account as the native face does


def mastodon_lists(world):
    """Every Mastodon list a reader reads that alice is (or may be) in."""
    bob, bobs = world["bob"], world["posts"]["bobs"]
    return [
        "/api/v1/timelines/home",
        "/api/v1/timelines/public",
        "/api/v1/timelines/tag/word",
        f"/api/v1/accounts/{bob['id']}/statuses",
        f"/api/v1/accounts/{bob['id']}/followers",
        f"/api/v1/accounts/{bob['id']}/following",
        f"/api/v1/statuses/{bobs['id']}",
        f"/api/v1/statuses/{bobs['id']}/context",
        f"/api/v1/statuses/{bobs['id']}/favourited_by",
        f"/api/v1/statuses/{bobs['id']}/reblogged_by",
        "/api/v1/notifications",
    ]


def mastodon_by_id(world):
    """What answers 404 on the Mastodon face while alice is suspended (moderators included:
    the Mastodon face has no moderator's view)."""
    alice, own, reply = world["alice"], world["posts"]["own"], world["posts"]["reply"]
    return [
        f"/api/v1/accounts/{alice['id']}",
        "/api/v1/accounts/lookup?acct=alice",
        f"/api/v1/accounts/{alice['id']}/statuses",
        f"/api/v1/accounts/{alice['id']}/followers",
        f"/api/v1/accounts/{alice['id']}/following",
        f"/api/v1/statuses/{own['id']}",
        f"/api/v1/statuses/{own['id']}/context",
        f"/api/v1/statuses/{own['id']}/favourited_by",
        f"/api/v1/statuses/{own['id']}/reblogged_by",
        f"/api/v1/statuses/{reply['id']}",
    ]


def shows_alice(body, alice_id):
    """Whether a Mastodon answer shows alice: as an account anywhere in it (ids are strings)."""
    if isinstance(body, dict):
        if body.get("id") == str(alice_id) and "username" in body:
            return True
        return any(shows_alice(v, alice_id) for v in body.values())
    if isinstance(body, list):
        return any(shows_alice(v, alice_id) for v in body)
    return False


def test_the_mastodon_face_hides_a_suspended_account_with_warm_caches(app, world):
    alice, moderator = world["alice"], world["moderator"]
    urls = mastodon_lists(world)
    app.get("/api/feed/", headers=world["bob"].headers)  # the home timelines are made, then read
    for _ in range(2):
        before = read_all(app, world, urls)
    assert read_all(app, world, urls) == before  # warm
    about_bob = {f"/api/v1/statuses/{world['posts']['bobs']['id']}"}
    for url in urls:
        shown = any(shows_alice(before[(who, url)], alice["id"]) for who in READERS)
        assert shown != (url in about_bob), url
    answered = {url: app.get(url, headers=world["bob"].headers).json for url in mastodon_by_id(world)}
    relationships = f"/api/v1/accounts/relationships?id[]={alice['id']}"
    assert [r["id"] for r in app.get(relationships, headers=world["bob"].headers).json] == [str(alice["id"])]

    suspend(app, moderator, alice)
    after = read_all(app, world, urls)
    for key, body in after.items():
        assert not shows_alice(body, alice["id"]), key
    for who in READERS:
        for url in mastodon_by_id(world):
            assert app.get(url, headers=world[who].headers, status=404).json == {"error": "Record not found"}, url
    assert app.get(relationships, headers=world["bob"].headers).json == []

    unsuspend(app, moderator, alice)
    assert read_all(app, world, urls) == before
    for url in mastodon_by_id(world):
        assert app.get(url, headers=world["bob"].headers).json == answered[url], url
    assert [r["id"] for r in app.get(relationships, headers=world["bob"].headers).json] == [str(alice["id"])]
