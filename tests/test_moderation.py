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
