"""Rate limits: at the limit, over it (429 with headers), after the window; Redis down."""

import time

import pytest
from conftest import PASSWORD, assert_error, signup

from minitwitter_tools.devservices import free_port


def wait_for_next_window(seconds):
    """Start at the beginning of a fixed window, so a test's requests share one."""
    time.sleep(seconds - time.time() % seconds + 0.05)


@pytest.fixture
def limited(make_app):
    return make_app(**{"ratelimit.login": "3/2", "ratelimit.signup": "2/2", "ratelimit.writes": "4/2"})


def test_login_limit_per_account(limited):
    signup(limited, "alice")
    wait_for_next_window(2)
    for i in range(3):
        ok = limited.post_json("/api/token/", {"username": "alice", "password": PASSWORD}, status=200)
        assert ok.headers["X-RateLimit-Remaining"] == str(2 - i)
    over = limited.post_json("/api/token/", {"username": "ALICE", "password": "wrong"}, status=429)
    body = assert_error(over, 429)
    assert "login" in body["message"]
    assert 1 <= int(over.headers["Retry-After"]) <= 2
    assert over.headers["X-RateLimit-Limit"] == "3" and over.headers["X-RateLimit-Remaining"] == "0"
    wait_for_next_window(2)  # the window is over: allowed again
    limited.post_json("/api/token/", {"username": "alice", "password": PASSWORD}, status=200)


def test_signup_limit_per_ip(limited):
    wait_for_next_window(2)
    for name in ("user1", "user2"):
        limited.post_json("/api/users/", {"username": name, "email": f"{name}@x.io", "password": PASSWORD}, status=201)
    body = {"username": "user3", "email": "u3@x.io", "password": PASSWORD}
    assert_error(limited.post_json("/api/users/", body, status=429), 429)
    other_ip = limited.post_json(
        "/api/users/",
        {"username": "user4", "email": "u4@x.io", "password": PASSWORD},
        extra_environ={"REMOTE_ADDR": "10.9.8.7"},
        status=201,
    )
    assert other_ip.json["username"] == "user4"


def test_write_limit_per_account(limited):
    alice = signup(limited, "alice")
    bob = signup(limited, "bob")
    wait_for_next_window(2)
    for _ in range(4):
        limited.post_json("/api/posts/", {"text": "hi"}, headers=alice.headers, status=201)
    assert_error(limited.post_json("/api/posts/", {"text": "hi"}, headers=alice.headers, status=429), 429)
    limited.get("/api/posts/", headers=alice.headers, status=200)  # reads are not writes
    limited.post_json("/api/posts/", {"text": "hi"}, headers=bob.headers, status=201)  # per account


def test_redis_down_fails_open(make_app, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    app = make_app(**{"ratelimit.login": "1/60"})
    signup(app, "alice")
    for _ in range(3):
        app.post_json("/api/token/", {"username": "alice", "password": PASSWORD}, status=200)
    assert "failing open" in caplog.text


def test_development_ini_lets_a_developer_sign_up_more_than_production_does():
    """A developer trying the API hit 429 on the fifth sign-up with production's limit."""
    import configparser
    from pathlib import Path

    from minitwitter.settings import DEFAULTS
    from minitwitter.web.ratelimit import parse

    root = Path(__file__).resolve().parent.parent
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(root / "development.ini")
    development = dict(ini["app:main"])
    assert parse(development["ratelimit.signup"])[0] >= 100
    assert parse(DEFAULTS["ratelimit.signup"]) == (5, 1800)  # production keeps Mastodon's figure
