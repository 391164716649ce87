"""Redis caching: fresh after every write, race-free fills, and Redis down mid-test."""

import pytest
from conftest import signup
from test_posts import create

from minitwitter.cache import Cache
from minitwitter.devservices import RedisServer


def test_a_fill_that_raced_a_write_is_never_served(services):
    cache = Cache(services["REDIS_URL"], 0.5)
    values, versions = cache.get_versioned(["post:1"])  # a reader misses, notes version 0
    assert values == {} and versions == {"post:1": 0}
    cache.bump("post:1")  # meanwhile a writer commits and bumps
    cache.set_versioned({"post:1": {"text": "old"}}, versions)  # the reader fills what it read before
    assert cache.get_versioned(["post:1"])[0] == {}  # stale: never served
    values, versions = cache.get_versioned(["post:1"])
    cache.set_versioned({"post:1": {"text": "new"}}, versions)
    assert cache.get_versioned(["post:1"])[0] == {"post:1": {"text": "new"}}


def test_reads_are_cached_and_fresh_after_each_write(app, alice, bob, redis_client):
    post = create(app, alice, "first #tag").json
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)

    def read_all():
        return (
            app.get(f"/api/posts/{post['id']}/", headers=bob.headers).json,
            app.get("/api/feed/", headers=bob.headers).json["results"],
            app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json,
            app.get("/api/hashtags/tag/posts/", headers=bob.headers).json["results"],
            app.get("/api/popular_hashtags/", headers=bob.headers).json,
        )

    read_all()
    assert redis_client.get(f"post:{post['id']}") is not None  # filled by the reads
    assert redis_client.get(f"user:{alice['id']}") is not None
    assert [k for k in redis_client.keys("feed:*")]

    app.put_json(f"/api/posts/{post['id']}/", {"text": "second #other"}, headers=alice.headers)
    app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers)
    newer = create(app, alice, "third #tag").json
    one, feed, profile, tagged, popular = read_all()
    assert (one["text"], one["likes_count"], one["liked_by_me"]) == ("second #other", 1, True)
    assert [p["id"] for p in feed] == [newer["id"], post["id"]]
    assert profile["posts_count"] == 2 and profile["followed_by_me"] is True
    assert [p["id"] for p in tagged] == [newer["id"]]
    assert popular == [{"name": "other", "count": 1}, {"name": "tag", "count": 1}]
    # Viewer-specific fields are the viewer's own, never the cached entry's.
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["liked_by_me"] is False
    assert app.get(f"/api/users/{alice['id']}/", headers=alice.headers).json["followed_by_me"] is False

    app.delete(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    assert app.get("/api/feed/", headers=bob.headers).json["results"] == []
    assert app.get(f"/api/users/{alice['id']}/", headers=bob.headers).json["followers_count"] == 0


@pytest.fixture
def own_redis(make_app, monkeypatch, tmp_path):
    """A redis-server of this test's own, and an app built against it."""
    server = RedisServer(tmp_path).start()
    monkeypatch.setenv("REDIS_URL", server.url)
    app = make_app()
    yield server, app
    server.stop()


def test_redis_stopped_mid_test_answers_from_postgresql(own_redis, caplog):
    server, app = own_redis
    alice, bob = signup(app, "alice"), signup(app, "bob")
    post = create(app, alice, "cached #tag").json
    app.get(f"/api/posts/{post['id']}/", headers=bob.headers)  # warm
    assert app.get("/api/health/").json["cache"] == "ok"

    server.stop()  # Redis goes away mid-test

    liked = app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers).json
    assert liked["likes_count"] == 1
    assert app.get(f"/api/posts/{post['id']}/", headers=bob.headers).json["likes_count"] == 1
    edited = app.put_json(f"/api/posts/{post['id']}/", {"text": "edited #tag"}, headers=alice.headers).json
    assert edited["text"] == "edited #tag"
    assert [p["text"] for p in app.get("/api/posts/", headers=bob.headers).json["results"]] == ["edited #tag"]
    assert app.get("/api/popular_hashtags/", headers=bob.headers).json == [{"name": "tag", "count": 1}]
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers, status=200)
    assert [p["id"] for p in app.get("/api/feed/", headers=bob.headers).json["results"]] == [post["id"]]
    health = app.get("/api/health/")  # still 200: Redis is not essential
    assert health.status_int == 200 and health.json["cache"] == "down"
    assert "redis failed" in caplog.text

    server.start()  # back (empty, as a restarted cache is)
    assert app.get(f"/api/posts/{post['id']}/", headers=bob.headers).json["text"] == "edited #tag"
