"""Profiles."""

import pytest
from conftest import assert_error


def test_profile_has_counts_and_no_email(app, alice, bob):
    body = app.get(f"/api/users/{bob['id']}/", headers=alice.headers).json
    assert body == {
        "id": bob["id"],
        "username": "bob",
        "display_name": "",
        "bio": "",
        "avatar": None,
        "created_at": bob["created_at"],
        "followers_count": 0,
        "following_count": 0,
        "posts_count": 0,
        "followed_by_me": False,
    }


def test_routes_answer_with_and_without_trailing_slash(app, alice):
    assert app.get("/api/users/me", headers=alice.headers).json == app.get("/api/users/me/", headers=alice.headers).json


def test_unknown_user_is_404(app, alice):
    assert_error(app.get("/api/users/999999/", headers=alice.headers, status=404), 404)


def test_out_of_range_id_is_400(app, alice):
    assert_error(app.get(f"/api/users/{10**30}/", headers=alice.headers, status=400), 400, "id")


def test_profiles_need_a_token(app, alice):
    assert_error(app.get(f"/api/users/{alice['id']}/", status=401), 401)
    assert_error(app.get("/api/users/me/", status=401), 401)
    assert_error(app.get("/api/users/me/", headers={"Authorization": "Basic abc"}, status=401), 401)


@pytest.mark.parametrize("used_before", [False, True], ids=["fresh-token", "token-already-verified"])
def test_a_deleted_account_is_401_on_reads_and_writes(app, alice, db, used_before):
    """A well-signed token whose account is gone: 401, whether the process already trusted
    the token (it is remembered as verified) or sees it for the first time."""
    if used_before:
        app.get("/api/users/me/", headers=alice.headers)
    with db.cursor() as cur:
        cur.execute("DELETE FROM users WHERE id = %s", (alice["id"],))
    for response in (
        app.post_json("/api/posts/", {"text": "ghost"}, headers=alice.headers, status=401),
        app.get("/api/users/me/", headers=alice.headers, status=401),
        app.post("/api/hashtags/ghost/favorite/", headers=alice.headers, status=401),
    ):
        assert_error(response, 401)
        assert "no longer exists" in response.json["message"]
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 0
