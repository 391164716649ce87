"""The account lifecycle: profile edits and avatars, email verification, password change and
reset, deletion (domain/accounts.py), through HTTP, with emails through a real SMTP server."""

import hashlib
import re

import pytest
from conftest import PASSWORD, assert_error, signup
from test_email import outbox_rows, smtp  # noqa: F401  (the SMTP fixture)
from test_images import image_bytes, upload

from minitwitter.domain.credentials import Tokens
from minitwitter.worker.tasks import deliver

NEW_PASSWORD = "a brand new password"
TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


def pending(db, kind):
    return [row[0] for row in outbox_rows(db) if row[1] == kind and row[3] is None]


def mailed_token(db, smtp, kind):  # noqa: F811
    """Deliver the pending outbox row of `kind`; the token in its email's text/plain link."""
    [outbox_id] = pending(db, kind)
    assert deliver.run(outbox_id) is True
    message = smtp.messages[-1]
    text = message.get_body(("plain",)).get_content()
    return TOKEN_IN_LINK.search(text).group(1)


def log_in(app, username, password, status=200):
    return app.post_json("/api/token/", {"username": username, "password": password}, status=status)


def me(app, user, status=200):
    return app.get("/api/users/me/", headers=user.headers, status=status)


# The profile


def test_edit_display_name_and_bio(app, alice, bob):
    before = app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json  # cached now
    assert (before["display_name"], before["bio"], before["avatar"]) == ("", "", None)
    body = {"display_name": "Alice Liddell", "bio": "Curiouser\nand curiouser"}
    mine = app.patch_json("/api/users/me/", body, headers=alice.headers).json
    assert (mine["display_name"], mine["bio"], mine["email"]) == (
        "Alice Liddell",
        "Curiouser\nand curiouser",
        "alice@example.com",
    )
    seen = app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json  # never the stale cached one
    assert (seen["display_name"], seen["bio"]) == ("Alice Liddell", "Curiouser\nand curiouser")
    # A field not sent stays; an empty one clears.
    assert app.patch_json("/api/users/me/", {"bio": ""}, headers=alice.headers).json["display_name"] == "Alice Liddell"
    assert me(app, alice).json["bio"] == ""
    # Lists show the fields too.
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    [listed] = app.get(f"/api/users/{bob['id']}/following/", headers=bob.headers).json["results"]
    assert listed["display_name"] == "Alice Liddell"


@pytest.mark.parametrize(
    "field, value",
    [("display_name", "x" * 51), ("display_name", "two\nlines"), ("bio", "x" * 301), ("bio", "nul\x00"), ("bio", 5)],
)
def test_bad_profile_fields_are_400_naming_them(app, alice, field, value):
    assert_error(app.patch_json("/api/users/me/", {field: value}, headers=alice.headers, status=400), 400, field)
    assert me(app, alice).json[field] == ""


def test_the_longest_fields_fit(app, alice):
    body = {"display_name": "é" * 50, "bio": "b" * 300}
    assert app.patch_json("/api/users/me/", body, headers=alice.headers).json["bio"] == "b" * 300


def test_avatar_upload_replace_and_serving(app, alice, bob, media_store):
    first = app.patch(
        "/api/users/me/",
        {"display_name": "A"},
        upload_files=[("avatar", "me.png", image_bytes("PNG", (64, 48)))],
        headers=alice.headers,
    ).json
    avatar = first["avatar"]
    assert (avatar["width"], avatar["height"], first["display_name"]) == (64, 48, "A")
    first_path = avatar["url"].replace("http://localhost", "")
    assert app.get(first_path).content_type == "image/png"
    assert app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json["avatar"] == avatar

    second = app.patch(
        "/api/users/me/", upload_files=[("avatar", "me.jpg", image_bytes("JPEG", (20, 10)))], headers=alice.headers
    ).json["avatar"]
    assert (second["width"], second["height"]) == (20, 10) and second["url"] != avatar["url"]
    assert_error(app.get(first_path, status=404), 404)  # the replaced one is gone
    assert media_store(first_path.split("/media/")[1], second["url"].split("/media/")[1]) == [False, True]
    assert app.get(second["url"].replace("http://localhost", "")).content_type == "image/jpeg"


def test_an_avatar_that_is_not_an_image_is_400_naming_it(app, alice):
    response = app.patch(
        "/api/users/me/", upload_files=[("avatar", "me.png", b"not an image")], headers=alice.headers, status=400
    )
    assert_error(response, 400, "avatar")
    assert_error(app.patch_json("/api/users/me/", {"avatar": "text"}, headers=alice.headers, status=400), 400, "avatar")
    assert me(app, alice).json["avatar"] is None


# Email verification


def test_sign_up_mails_a_verification_link(app, db, smtp):  # noqa: F811
    alice = signup(app, "alice")
    assert me(app, alice).json["email_verified"] is False
    token = mailed_token(db, smtp, "welcome_email")
    # Stored hashed only: the token itself is nowhere in the database.
    with db.cursor() as cur:
        cur.execute("SELECT token_hash, purpose, email FROM account_tokens")
        [(token_hash, purpose, email)] = cur.fetchall()
        cur.execute("SELECT count(*) FROM outbox WHERE payload::text LIKE %s", (f"%{token}%",))
        assert cur.fetchone()[0] == 0
    assert (bytes(token_hash), purpose, email) == (
        hashlib.sha256(token.encode()).digest(),
        "verify_email",
        "alice@example.com",
    )

    app.post_json("/api/users/me/verify_email/", {"token": token}, headers=alice.headers, status=204)
    assert me(app, alice).json["email_verified"] is True
    # Single use.
    response = app.post_json("/api/users/me/verify_email/", {"token": token}, headers=alice.headers, status=400)
    assert_error(response, 400, "token")


def test_a_new_verification_email_on_request(app, db, smtp, alice, bob):  # noqa: F811
    app.post_json("/api/users/me/verify_email/", {}, headers=alice.headers, status=202)
    app.post("/api/users/me/verify_email/", headers=alice.headers, status=202)  # no body at all
    first, second = pending(db, "verify_email")
    deliver.run(first)
    token = TOKEN_IN_LINK.search(smtp.messages[-1].get_body(("plain",)).get_content()).group(1)
    # Another account's token is no good here.
    assert_error(
        app.post_json("/api/users/me/verify_email/", {"token": token}, headers=bob.headers, status=400), 400, "token"
    )
    app.post_json("/api/users/me/verify_email/", {"token": token}, headers=alice.headers, status=204)
    # Verified by then: the second request sends nothing.
    sent = len(smtp.messages)
    assert deliver.run(second) is False and len(smtp.messages) == sent


def test_expired_and_unknown_verification_tokens_are_400(app, db, smtp, alice):  # noqa: F811
    app.post_json("/api/users/me/verify_email/", {}, headers=alice.headers, status=202)
    token = mailed_token(db, smtp, "verify_email")
    with db.cursor() as cur:
        cur.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    for bad in (token, "x" * 43, ""):
        response = app.post_json("/api/users/me/verify_email/", {"token": bad}, headers=alice.headers, status=400)
        assert_error(response, 400, "token")
    assert me(app, alice).json["email_verified"] is False


# Password change


def test_change_password_ends_every_session(app, alice):
    other_session = log_in(app, "alice", PASSWORD).json
    body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    assert_error(
        app.post_json("/api/users/me/password/", body, headers=alice.headers, status=400), 400, "current_password"
    )
    me(app, alice)  # nothing changed

    body["current_password"] = PASSWORD
    app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    for refresh in (alice["refresh"], other_session["refresh"]):
        assert_error(app.post_json("/api/token/refresh/", {"refresh": refresh}, status=401), 401)
    for access in (alice["access"], other_session["access"]):
        response = app.get("/api/users/me/", headers={"Authorization": f"Bearer {access}"}, status=401)
        assert "password changed" in assert_error(response, 401)["message"]
    assert_error(log_in(app, "alice", PASSWORD, status=401), 401)
    fresh = log_in(app, "alice", NEW_PASSWORD).json
    assert app.get("/api/users/me/", headers={"Authorization": f"Bearer {fresh['access']}"}).json["username"] == "alice"
    app.post_json("/api/token/refresh/", {"refresh": fresh["refresh"]}, status=200)


def test_a_new_password_is_checked_like_at_sign_up(app, alice):
    body = {"current_password": PASSWORD, "new_password": "short"}
    assert_error(app.post_json("/api/users/me/password/", body, headers=alice.headers, status=400), 400, "new_password")


def test_other_processes_stop_trusting_the_token_at_their_next_check(app, make_app, alice):
    """Another process remembered alice's access token as verified; it checks the account
    again every jwt.recheck_seconds (0 here: at once), and refuses the older generation."""
    other = make_app(**{"jwt.recheck_seconds": 0})
    other.get("/api/users/me/", headers=alice.headers)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    assert_error(other.get("/api/users/me/", headers=alice.headers, status=401), 401)


def test_a_remembered_token_is_checked_again_after_the_interval():
    settings = {
        "jwt.secret": "s" * 32,
        "jwt.issuer": "i",
        "jwt.audience": "a",
        "jwt.access_ttl": 900,
        "jwt.refresh_ttl": 900,
        "jwt.recheck_seconds": 3600,
    }
    tokens = Tokens(settings)
    asked = []
    generation = {"now": 0}

    def session_generation(user_id):
        asked.append(user_id)
        return generation["now"]

    token = tokens.access(7, 0)
    assert tokens.verify_access(token, session_generation)["user_id"] == 7
    generation["now"] = 1
    assert tokens.verify_access(token, session_generation)["gen"] == 0  # remembered: not asked
    assert asked == [7]
    tokens.forget_user(7)
    with pytest.raises(Exception, match="sessions ended"):
        tokens.verify_access(token, session_generation)
    tokens.recheck_seconds = 0
    fresh = tokens.access(7, 1)
    tokens.verify_access(fresh, session_generation)
    tokens.verify_access(fresh, session_generation)
    assert asked == [7, 7, 7, 7]  # every time with no interval


# Password reset


def test_password_reset_by_email(app, db, smtp, alice):  # noqa: F811
    app.post_json("/api/password_reset/", {"email": "ALICE@example.com"}, status=202)
    token = mailed_token(db, smtp, "password_reset_email")
    assert smtp.messages[-1]["To"] == "alice@example.com"
    body = {"token": token, "new_password": NEW_PASSWORD}
    app.post_json("/api/password_reset/confirm/", body, status=204)
    assert_error(app.post_json("/api/token/refresh/", {"refresh": alice["refresh"]}, status=401), 401)
    assert_error(me(app, alice, status=401), 401)
    log_in(app, "alice", NEW_PASSWORD)
    assert_error(log_in(app, "alice", PASSWORD, status=401), 401)
    # The token works once; the link also proved the address.
    assert_error(app.post_json("/api/password_reset/confirm/", body, status=400), 400, "token")
    fresh = log_in(app, "alice", NEW_PASSWORD).json
    assert app.get("/api/users/me/", headers={"Authorization": f"Bearer {fresh['access']}"}).json["email_verified"]


def test_unknown_address_answers_the_same_and_mails_nothing(app, db, smtp, alice):  # noqa: F811
    known = app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
    unknown = app.post_json("/api/password_reset/", {"email": "nobody@example.com"}, status=202)
    assert (known.body, known.content_type) == (unknown.body, unknown.content_type)
    # The same work in the request: one outbox row each; the worker finds out.
    first, second = pending(db, "password_reset_email")
    assert deliver.run(second) is False and smtp.messages == []
    assert deliver.run(first) is True and len(smtp.messages) == 1


def test_expired_and_voided_reset_tokens_are_400(app, db, smtp, alice):  # noqa: F811
    app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
    expired = mailed_token(db, smtp, "password_reset_email")
    with db.cursor() as cur:
        cur.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
    voided = mailed_token(db, smtp, "password_reset_email")
    # Changing the password voids the links already mailed.
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    for token in (expired, voided, "nonsense"):
        body = {"token": token, "new_password": "yet another password"}
        assert_error(app.post_json("/api/password_reset/confirm/", body, status=400), 400, "token")
    log_in(app, "alice", NEW_PASSWORD)


def test_reset_requests_are_rate_limited(make_app):
    limited = make_app(**{"ratelimit.password_reset": "2/300"})
    for _ in range(2):
        limited.post_json("/api/password_reset/", {"email": "someone@example.com"}, status=202)
    response = limited.post_json("/api/password_reset/", {"email": "someone@example.com"}, status=429)
    assert int(response.headers["Retry-After"]) >= 1


def test_bad_reset_input_is_400_naming_the_field(app):
    assert_error(app.post_json("/api/password_reset/", {"email": "not an address"}, status=400), 400, "email")
    body = {"token": "abc", "new_password": "short"}
    assert_error(app.post_json("/api/password_reset/confirm/", body, status=400), 400, "new_password")


# Deletion


def count(db, sql, *params):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def test_deleting_an_account_removes_its_data_and_fixes_every_count(app, db, make_user, alice, bob):
    carol = make_user("carol")
    bobs = app.post_json("/api/posts/", {"text": "bob's #shared post"}, headers=bob.headers).json
    app.post_json("/api/posts/", {"text": "alice #shared #alone"}, headers=alice.headers)
    upload(app, alice, image_bytes(), text="alice with a picture")
    gone_post = app.post_json("/api/posts/", {"text": "deleted before"}, headers=alice.headers).json
    app.delete(f"/api/posts/{gone_post['id']}/", headers=alice.headers, status=204)
    app.post(f"/api/posts/{bobs['id']}/like/", headers=alice.headers)
    app.post(f"/api/posts/{bobs['id']}/repost/", headers=alice.headers)
    app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    app.post(f"/api/users/{alice['id']}/follow/", headers=carol.headers)
    app.post("/api/hashtags/shared/favorite/", headers=alice.headers)
    # Cached reads, which must not outlive the deletion.
    assert app.get(f"/api/users/{bob['id']}/", headers=bob.headers).json["followers_count"] == 1
    cached = app.get(f"/api/posts/{bobs['id']}/", headers=bob.headers).json
    assert (cached["likes_count"], cached["reposts_count"]) == (1, 1)
    assert app.get("/api/posts/", headers=bob.headers).json["count"] == 3
    assert len(app.get("/api/feed/", headers=carol.headers).json["results"]) == 3  # and the repost
    assert {t["name"]: t["count"] for t in app.get("/api/popular_hashtags/", headers=bob.headers).json} == {
        "shared": 2,
        "alone": 1,
    }

    response = app.delete_json("/api/users/me/", {"password": "wrong"}, headers=alice.headers, status=400)
    assert_error(response, 400, "password")
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=alice.headers, status=204)

    assert app.get(f"/api/users/{bob['id']}/", headers=bob.headers).json["followers_count"] == 0
    assert app.get(f"/api/users/{carol['id']}/", headers=carol.headers).json["following_count"] == 0
    fresh = app.get(f"/api/posts/{bobs['id']}/", headers=bob.headers).json
    assert (fresh["likes_count"], fresh["reposts_count"]) == (0, 0)
    assert app.get("/api/posts/", headers=bob.headers).json["count"] == 1
    assert app.get("/api/feed/", headers=carol.headers).json["results"] == []
    assert app.get("/api/popular_hashtags/", headers=bob.headers).json == [{"name": "shared", "count": 1}]
    assert_error(app.get(f"/api/users/{alice['id']}/", headers=bob.headers, status=404), 404)
    assert count(db, "SELECT sum(live) FROM post_totals") == 1
    assert count(db, "SELECT count(*) FROM posts WHERE author_id = %s", alice["id"]) == 0
    assert count(db, "SELECT count(*) FROM likes WHERE user_id = %s", alice["id"]) == 0
    assert count(db, "SELECT count(*) FROM follows WHERE %s IN (follower_id, followee_id)", alice["id"]) == 0
    assert count(db, "SELECT count(*) FROM images WHERE owner_id = %s", alice["id"]) == 0
    assert count(db, "SELECT count(*) FROM refresh_tokens WHERE user_id = %s", alice["id"]) == 0
    # Its tokens stop working; its username and email are free again.
    assert_error(me(app, alice, status=401), 401)
    assert_error(app.post_json("/api/token/refresh/", {"refresh": alice["refresh"]}, status=401), 401)
    assert signup(app, "alice")["id"] != alice["id"]
    # The count triggers stepped aside for that transaction only.
    app.post_json("/api/posts/", {"text": "after #shared"}, headers=bob.headers, status=201)
    assert app.get("/api/posts/", headers=bob.headers).json["count"] == 2
    assert app.get(f"/api/users/{bob['id']}/", headers=bob.headers).json["posts_count"] == 2


def test_deleting_needs_the_password_field(app, alice):
    assert_error(app.delete_json("/api/users/me/", {}, headers=alice.headers, status=400), 400, "password")
    me(app, alice)
