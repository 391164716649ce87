"""Sign-up, log in, refresh rotation with reuse detection, revoke; JWT checks."""

import base64
import datetime
import json

import jwt
import pytest
from conftest import PASSWORD, assert_error


def _signup(app, status=201, **fields):
    body = {"username": "carol", "email": "carol@example.com", "password": PASSWORD, **fields}
    return app.post_json("/api/users/", body, status=status)


def test_signup_returns_profile_without_secrets(app, db):
    response = _signup(app)
    body = response.json
    assert body["username"] == "carol"
    assert body["email"] == "carol@example.com"
    assert body["followers_count"] == body["following_count"] == body["posts_count"] == 0
    assert "password" not in response.text and "hash" not in response.text
    with db.cursor() as cur:
        cur.execute("SELECT password_hash FROM users WHERE username = 'carol'")
        (stored,) = cur.fetchone()
    assert stored.startswith("$2b$04$") and PASSWORD not in stored


@pytest.mark.parametrize("path", ["/api/create_user/", "/api/create_user", "/api/users"])
def test_signup_older_route_and_form_body(app, path):
    response = app.post(path, {"username": "dave", "email": "dave@example.com", "password": PASSWORD}, status=201)
    assert response.json["username"] == "dave"


@pytest.mark.parametrize(
    "fields, clash",
    [
        ({"username": "CAROL", "email": "other@example.com"}, "username"),
        ({"username": "other", "email": "CAROL@Example.com"}, "email"),
    ],
)
def test_duplicate_username_or_email_is_409_case_insensitive(app, db, fields, clash):
    _signup(app)
    assert_error(_signup(app, status=409, **fields), 409, clash)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"username": None}, "username"),
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "nul\u0000byte"}, "username"),
        ({"username": 12345}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 73}, "password"),
        ({"password": "é" * 37}, "password"),  # 74 bytes: bcrypt would truncate it
    ],
)
def test_signup_bad_input_is_400_naming_the_field(app, db, fields, name):
    assert_error(_signup(app, status=400, **fields), 400, name)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone()[0] == 0


def test_password_of_exactly_72_bytes_works(app):
    _signup(app, password="p" * 72)
    app.post_json("/api/token/", {"username": "carol", "password": "p" * 72}, status=200)
    app.post_json("/api/token/", {"username": "carol", "password": "p" * 71}, status=401)


def test_login_returns_a_token_pair(app, alice):
    assert set(alice) >= {"access", "refresh", "token_type", "expires_in"}
    assert alice["token_type"] == "Bearer"
    me = app.get("/api/users/me/", headers=alice.headers).json
    assert me["username"] == "alice" and me["email"] == "alice@example.com"


def test_login_is_case_insensitive_on_username(app, alice):
    app.post_json("/api/token/", {"username": "ALICE", "password": PASSWORD}, status=200)


def test_unknown_user_and_wrong_password_answer_alike(app, alice):
    wrong = app.post_json("/api/token/", {"username": "alice", "password": "wrong password"}, status=401)
    unknown = app.post_json("/api/token/", {"username": "nobody", "password": "wrong password"}, status=401)
    assert wrong.json == unknown.json
    assert_error(wrong, 401)


def test_login_missing_field_is_400(app):
    assert_error(app.post_json("/api/token/", {"username": "alice"}, status=400), 400, "password")


def test_login_with_a_nul_byte_is_400_not_500(app):
    body = {"username": "al\u0000ice", "password": "whatever1"}
    assert_error(app.post_json("/api/token/", body, status=400), 400, "username")


def _refresh(app, token, status=200):
    return app.post_json("/api/token/refresh/", {"refresh": token}, status=status)


def test_refresh_rotates_and_the_old_token_stops_working(app, alice):
    pair = _refresh(app, alice["refresh"]).json
    assert pair["refresh"] != alice["refresh"]
    app.get("/api/users/me/", headers={"Authorization": f"Bearer {pair['access']}"}, status=200)
    assert_error(_refresh(app, alice["refresh"], status=401), 401)


def test_replaying_a_rotated_token_revokes_the_family(app, alice):
    second = _refresh(app, alice["refresh"]).json
    _refresh(app, alice["refresh"], status=401)  # the replay
    # The thief's replay also kills the legitimate newer token of the same login.
    _refresh(app, second["refresh"], status=401)


def test_other_logins_survive_a_revoked_family(app, alice):
    other = app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}).json
    app.post_json("/api/token/revoke/", {"refresh": alice["refresh"]}, status=204)
    _refresh(app, alice["refresh"], status=401)
    _refresh(app, other["refresh"], status=200)


def test_access_and_refresh_tokens_are_not_interchangeable(app, alice):
    _refresh(app, alice["access"], status=401)
    app.get("/api/users/me/", headers={"Authorization": f"Bearer {alice['refresh']}"}, status=401)


def _forged_header(header, claims):
    """A token claiming another algorithm (the HS/RS confusion), with a junk signature."""

    def encode(obj):
        return base64.urlsafe_b64encode(json.dumps(obj, default=int).encode()).rstrip(b"=").decode()

    claims = {k: int(v.timestamp()) if isinstance(v, datetime.datetime) else v for k, v in claims.items()}
    return f"{encode(header)}.{encode(claims)}.c2lnbmF0dXJl"


def _claims(**overrides):
    now = datetime.datetime.now(datetime.UTC)
    claims = {
        "sub": "1",
        "typ": "access",
        "iat": now,
        "exp": now + datetime.timedelta(minutes=5),
        "iss": "minitwitter",
        "aud": "minitwitter-api",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "make_token",
    [
        lambda secret: jwt.encode(_claims(), "another secret of at least thirty-two bytes", algorithm="HS256"),
        lambda secret: jwt.encode(_claims(), None, algorithm="none"),
        lambda secret: jwt.encode(_claims(), secret, algorithm="HS512"),
        lambda secret: jwt.encode(
            _claims(exp=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)),
            secret,
            algorithm="HS256",
        ),
        lambda secret: jwt.encode(_claims(exp=None), secret, algorithm="HS256"),
        lambda secret: jwt.encode(_claims(aud="someone-else"), secret, algorithm="HS256"),
        lambda secret: jwt.encode(_claims(iss="someone-else"), secret, algorithm="HS256"),
        lambda secret: jwt.encode(_claims(typ=None), secret, algorithm="HS256"),
        lambda secret: jwt.encode(_claims(sub="not-a-number"), secret, algorithm="HS256"),
        lambda secret: "not.a.jwt",
        lambda secret: _forged_header({"alg": "RS256", "typ": "JWT"}, _claims()),
        lambda secret: jwt.encode(
            _claims(nbf=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)), secret, algorithm="HS256"
        ),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "other-alg",
        "expired",
        "no-exp",
        "wrong-aud",
        "wrong-iss",
        "no-typ",
        "bad-sub",
        "garbage",
        "rs256-header",
        "future-nbf",
    ],
)
def test_bad_access_tokens_are_401(app, alice, wsgi_app, make_token):
    secret = wsgi_app.registry.settings["jwt.secret"]
    response = app.get("/api/users/me/", headers={"Authorization": f"Bearer {make_token(secret)}"}, status=401)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_well_formed_token_of_ours_is_accepted(app, alice, wsgi_app):
    secret = wsgi_app.registry.settings["jwt.secret"]
    token = jwt.encode(_claims(sub=str(alice["id"])), secret, algorithm="HS256")
    app.get("/api/users/me/", headers={"Authorization": f"Bearer {token}"}, status=200)


def test_revoke_needs_a_valid_refresh_token(app):
    assert_error(app.post_json("/api/token/revoke/", {"refresh": "junk"}, status=401), 401, "refresh")
    assert_error(app.post_json("/api/token/revoke/", {}, status=400), 400, "refresh")
