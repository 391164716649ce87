"""Redis caching: fresh after every write, race-free fills, and Redis down mid-test."""

import pytest
from conftest import signup
from test_posts import create

from minitwitter.api.views import users
from minitwitter.store.cache import Cache, RequestCache
from minitwitter_tools.devservices import RedisServer


def test_a_fill_that_raced_a_write_is_never_served(redis_url):
    cache = Cache(redis_url, 0.5)
    values, versions = cache.get_versioned(["post:1"])  # a reader misses, notes the version
    assert values == {} and list(versions) == ["post:1"]
    cache.bump("post:1")  # meanwhile a writer commits and bumps
    cache.set_versioned({"post:1": {"text": "old"}}, versions)  # the reader fills what it read before
    assert cache.get_versioned(["post:1"])[0] == {}  # stale: never served
    values, versions = cache.get_versioned(["post:1"])
    cache.set_versioned({"post:1": {"text": "new"}}, versions)
    assert cache.get_versioned(["post:1"])[0] == {"post:1": {"text": "new"}}


def test_what_a_write_changed_is_read_without_asking_redis(redis_url):
    """A write's transaction reads what it changed (its dirty names) from PostgreSQL: Redis
    is asked only for the rest, and not at all when nothing is left to ask."""
    cache = Cache(redis_url, 0.5)
    filled, versions = cache.get_versioned(["post:1", "post:2"])
    cache.set_versioned({"post:1": "one", "post:2": "two"}, versions)
    calls, call = [], cache._call  # every round trip to Redis goes through Cache._call
    cache._call = lambda *args: calls.append(args) or call(*args)
    tx_cache = RequestCache(cache, fills=False)
    tx_cache.mark_dirty(["post:1"])
    assert tx_cache.get_versioned(["post:1"]) == ({}, {"post:1": None}) and not calls
    values, versions = tx_cache.get_versioned(["post:1", "post:2"])
    assert values == {"post:2": "two"} and versions["post:1"] is None and versions["post:2"] is not None
    assert len(calls) == 1


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
    assert list(redis_client.scan_iter("feed:*"))

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


def test_a_response_is_served_only_while_all_it_was_made_from_is_current(redis_url):
    cache = Cache(redis_url, 0.5)
    deps = cache.versions(["posts:all", "post:1", "viewer:7"])  # read before the queries
    cache.bump("post:1")  # a like commits meanwhile
    cache.set_response("response:7:/api/posts", deps, {"Link": "<x>"}, b'{"results": []}')
    assert cache.get_response("response:7:/api/posts") is None  # made from the state before it
    deps = cache.versions(["posts:all", "post:1", "viewer:7"])
    cache.set_response("response:7:/api/posts", deps, {"Link": "<x>"}, b'{"results": []}')
    head, body = cache.get_response("response:7:/api/posts")
    assert head["headers"] == {"Link": "<x>"} and body == b'{"results": []}'
    for name in deps:  # any one of them changing retires it
        cache.bump(name)
        assert cache.get_response("response:7:/api/posts") is None
        cache.set_response("response:7:/api/posts", cache.versions(list(deps)), {}, b"{}")


def test_whole_responses_change_with_every_write_they_show(app, alice, bob, make_user, redis_client):
    """The same viewer asking the same URL again is served the stored response
    (response_cache.py) until something it shows changes."""
    carol = make_user("carol")
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    first = create(app, alice, "one #tag word").json
    for i in range(3):
        create(app, alice, f"filler {i}")
    urls = [
        "/api/posts/?page_size=2",
        f"/api/posts/{first['id']}/",
        f"/api/users/{alice['id']}/posts/",
        "/api/hashtags/tag/posts/",
        "/api/feed/",
        "/api/search/posts/?q=word",
    ]

    def read(url):
        response = app.get(url, headers=bob.headers)
        assert response.request.environ.get("minitwitter.queries", 0) == 0  # served from Redis
        return response

    for url in urls:
        app.get(url, headers=bob.headers)
    paged = read(urls[0])
    assert paged.headers["Link"] == f'<{paged.json["next"]}>; rel="next"'  # headers are kept

    def posts(response):
        body = response.json
        return body["results"] if "results" in body else [body]

    def fresh(url):
        response = app.get(url, headers=bob.headers)
        return {p["id"]: p for p in posts(response)}

    app.post(f"/api/posts/{first['id']}/like/", headers=carol.headers)  # someone else's like
    assert fresh(urls[1])[first["id"]]["likes_count"] == 1
    app.post(f"/api/posts/{first['id']}/like/", headers=bob.headers)  # the viewer's own like
    for url in urls[1:]:
        assert fresh(url)[first["id"]]["liked_by_me"] is True, url
    app.put_json(f"/api/posts/{first['id']}/", {"text": "edited #tag"}, headers=alice.headers)
    assert fresh(urls[1])[first["id"]]["text"] == "edited #tag"
    assert first["id"] not in fresh(urls[5])  # search follows edits
    newer = create(app, alice, "two #tag word").json
    for url in (urls[0], *urls[2:]):
        assert newer["id"] in fresh(url), url
    assert app.get(f"/api/users/{alice['id']}/posts/", headers=bob.headers).json["count"] == 5

    profile = f"/api/users/{carol['id']}/"
    assert app.get(profile, headers=bob.headers).json["followed_by_me"] is False
    app.post(f"/api/users/{carol['id']}/follow/", headers=bob.headers)
    assert app.get(profile, headers=bob.headers).json["followed_by_me"] is True
    assert app.get(profile, headers=bob.headers).json["followers_count"] == 1

    app.delete(f"/api/posts/{newer['id']}/", headers=alice.headers)
    for url in (urls[0], *urls[2:]):
        assert newer["id"] not in fresh(url), url
    # Each viewer has their own: alice's view of the same URL is not bob's.
    assert app.get(urls[1], headers=alice.headers).json["liked_by_me"] is False


def test_a_tag_nobody_used_yet_is_not_stored_empty(app, alice):
    assert app.get("/api/hashtags/fresh/posts/", headers=alice.headers).json["results"] == []
    post = create(app, alice, "now #fresh").json
    page = app.get("/api/hashtags/fresh/posts/", headers=alice.headers).json
    assert [p["id"] for p in page["results"]] == [post["id"]] and page["count"] == 1


def test_every_cached_view_reads_only_what_a_version_covers(app, alice, bob, cached_reads):
    # The rule of response_cache.py holds for each @cached_response view (and conftest.py
    # checks it on every request of the suite): each of these is stored, with no violation.
    post = create(app, alice, "covered #reads").json
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers)
    urls = [
        "/api/feed/",
        "/api/posts/",
        f"/api/posts/{post['id']}/",
        f"/api/users/{alice['id']}/",
        f"/api/users/{alice['id']}/posts/",
        "/api/hashtags/reads/posts/",
        "/api/search/posts/?q=covered",
        "/api/search/posts/?q=%23reads&order=relevance",
    ]
    before = cached_reads.stored
    for url in urls:
        app.get(url, headers=bob.headers)
    assert cached_reads.stored == before + len(urls)
    assert cached_reads.take_violations() == []


def test_a_cached_view_reading_around_the_cache_is_caught(app, alice, bob, cached_reads, monkeypatch):
    profile = users.profile

    def reads_around_the_cache(request, user_id):
        request.queries.users.get_user(request.db, user_id=user_id)  # no version covers this read
        return profile(request, user_id)

    monkeypatch.setattr(users, "profile", reads_around_the_cache)
    app.get(f"/api/users/{alice['id']}/", headers=bob.headers)
    [(key, uncovered)] = cached_reads.take_violations()
    assert key.endswith(f"/api/users/{alice['id']}") and len(uncovered) == 1 and "FROM users" in uncovered[0]

    def declares_it(request, user_id):
        request.cache.uncovered()  # as response_cache.py asks: then the response is not stored
        return reads_around_the_cache(request, user_id)

    monkeypatch.setattr(users, "profile", declares_it)
    stored = cached_reads.stored
    app.get(f"/api/users/{bob['id']}/", headers=alice.headers)
    assert cached_reads.take_violations() == [] and cached_reads.stored == stored


@pytest.mark.parametrize("not_stored", ["uncovered", "404"])
def test_a_miss_that_is_not_stored_is_watched_no_longer_than_its_request(
    app, alice, bob, cached_reads, monkeypatch, redis_url, not_stored
):
    """The watch of tests/cached_reads.py is one request's: it once stayed on the thread after
    a miss whose response was not stored, and the next response stored on that thread (the
    next test's, test_cluster's first here) failed for this one's read."""
    path = f"/api/users/{alice['id']}/"
    if not_stored == "uncovered":
        profile = users.profile

        def declares_it(request, user_id):
            request.cache.uncovered()
            request.queries.users.get_user(request.db, user_id=user_id)
            return profile(request, user_id)

        monkeypatch.setattr(users, "profile", declares_it)
        app.get(path, headers=bob.headers)
    else:
        app.get(f"/api/users/{alice['id'] + bob['id']}/", headers=bob.headers, status=404)
    assert cached_reads.take_violations() == []
    cache, stored = Cache(redis_url, 0.5), cached_reads.stored
    # A response stored outside any request, on this thread: no view's, watched by nothing.
    cache.set_response("response:7:/api/posts", cache.versions(["posts:all"]), {}, b"{}")
    assert cached_reads.take_violations() == [] and cached_reads.stored == stored


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
