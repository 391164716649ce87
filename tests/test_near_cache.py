"""The near cache (minitwitter/web/near_cache.py): responses answered inside the API process
while Redis has pushed no change to what they were made from.

Two apps built through main() stand for two API processes on one PostgreSQL and one
Redis: what one writes, the other must show at its next read, however its near cache was
filled. A fault (the tracking connection killed, Redis flushed) must never leave a stale
answer behind.
"""

import time

import pytest
import redis
import webtest
from test_email import smtp  # noqa: F401  (the SMTP fixture: a password reset's email)

from minitwitter.store.cache import CACHE_LOOKUPS, connect
from minitwitter.web.near_cache import NearCache
from minitwitter_tools.devservices import RedisServer

PAGES = ["/api/posts/", "/api/feed/", "/api/popular_hashtags/"]


@pytest.fixture(scope="module")
def own_redis_server(tmp_path_factory):
    """Redis's tracking is not per database: another test run's writes and flushes on a
    shared server reach a near cache as pushes (misses, never a stale answer), which would
    make the hit counts here flaky; so this module's apps have a redis-server of their own."""
    server = RedisServer(tmp_path_factory.mktemp("near-redis")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def on_own_redis(own_redis_server, services, monkeypatch):
    monkeypatch.setenv("REDIS_URL", own_redis_server.url)  # apps built by make_app use it
    monkeypatch.setenv("CELERY_BROKER_URL", services.get("CELERY_BROKER_URL", services["REDIS_URL"]))
    yield
    connect(own_redis_server.url).flushdb()


@pytest.fixture
def redis_url(own_redis_server):
    return own_redis_server.url


@pytest.fixture
def app(make_app):
    return make_app()


def near_hits():
    return CACHE_LOOKUPS.labels("near_hit")._value.get()


def near_of(app):
    return app.app.registry.near_cache


def warm(app, user, path, headers=None):
    """Reads until one is answered here: made, checked in Redis (and kept here), then
    answered here; a push of an earlier write that Redis sends late (a loaded machine) drops
    a copy kept before it, and the next read keeps it again."""
    responses = []
    for _ in range(20):
        before = near_hits()
        responses.append(app.get(path, headers=headers or user.headers))
        if near_hits() > before:
            return responses
    raise AssertionError(f"{path} was never answered in the process")


@pytest.mark.parametrize("path", PAGES)
def test_a_read_repeated_is_answered_in_the_process_with_the_same_response(app, alice, path):
    app.post_json("/api/posts/", {"text": "hello #near"}, headers=alice.headers, status=201)
    made, checked = warm(app, alice, path)[:2]
    before = near_hits()
    again = app.get(path, headers={**alice.headers, "X-Request-ID": "near-1"})
    assert near_hits() == before + 1
    assert again.body == made.body == checked.body
    assert again.headers["X-Request-ID"] == "near-1"

    def without_id(response):
        return {k: v for k, v in response.headerlist if k != "X-Request-ID"}

    assert without_id(again) == without_id(checked)


def test_each_viewer_has_their_own_answers(app, alice, bob):
    post = app.post_json("/api/posts/", {"text": "mine"}, headers=alice.headers, status=201).json
    app.post(f"/api/posts/{post['id']}/like/", headers=alice.headers, status=200)
    warm(app, alice, "/api/posts/")
    assert app.get("/api/posts/", headers=bob.headers).json["results"][0]["liked_by_me"] is False
    assert app.get("/api/posts/", headers=alice.headers).json["results"][0]["liked_by_me"] is True


WRITES = {
    # what one process writes -> what the other reads, and how to tell it saw the write
    "like": lambda a, u, p: a.post(f"/api/posts/{p}/like/", headers=u.headers, status=200),
    "unlike": lambda a, u, p: a.delete(f"/api/posts/{p}/like/", headers=u.headers, status=200),
    "edit": lambda a, u, p: a.put_json(f"/api/posts/{p}/", {"text": "edited #near"}, headers=u.headers, status=200),
    "delete": lambda a, u, p: a.delete(f"/api/posts/{p}/", headers=u.headers, status=204),
}


def seen(app, user):
    first = app.get("/api/posts/", headers=user.headers).json["results"]
    return first[0] if first else None


@pytest.mark.parametrize("write", WRITES)
def test_a_write_in_one_process_is_read_at_once_in_another(app, make_app, alice, write):
    other = make_app()
    post = app.post_json("/api/posts/", {"text": "first #near"}, headers=alice.headers, status=201).json
    if write == "unlike":
        app.post(f"/api/posts/{post['id']}/like/", headers=alice.headers, status=200)
    warm(other, alice, "/api/posts/")
    before = near_hits()
    assert seen(other, alice) is not None and near_hits() == before + 1  # answered in the process
    WRITES[write](app, alice, post["id"])
    after = seen(other, alice)
    expected = seen(app, alice)
    assert after == expected


def test_many_writes_and_reads_across_processes_never_show_a_stale_count(app, make_app, alice, bob):
    other = make_app()
    post = app.post_json("/api/posts/", {"text": "count me"}, headers=alice.headers, status=201).json
    warm(other, bob, "/api/posts/")
    for n in range(30):
        if n % 2 == 0:
            app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers, status=200)
        else:
            app.delete(f"/api/posts/{post['id']}/like/", headers=bob.headers, status=200)
        for _ in range(3):  # the read after the write, and the near cache's own refills
            assert seen(other, bob)["likes_count"] == (1 if n % 2 == 0 else 0)


def test_a_broken_tracking_connection_serves_nothing_stale(app, make_app, alice, redis_client):
    other = make_app()
    near = near_of(other)
    post = app.post_json("/api/posts/", {"text": "before the fault"}, headers=alice.headers, status=201).json
    warm(other, alice, "/api/posts/")
    redis_client.execute_command("CLIENT", "KILL", "ID", near.client_id)
    app.post(f"/api/posts/{post['id']}/like/", headers=alice.headers, status=200)
    # The push of that like's bump is lost with the connection: the answer must come from Redis.
    before = near_hits()
    assert seen(other, alice)["likes_count"] == 1
    assert near_hits() == before
    assert near._conn is None
    # The poller connects again (POLL_SECONDS) and answers resume.
    deadline = time.monotonic() + 5
    while near._conn is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert near._conn is not None
    warm(other, alice, "/api/posts/")
    before = near_hits()
    assert seen(other, alice)["likes_count"] == 1
    assert near_hits() == before + 1


def test_a_tracking_connection_that_stops_answering_stops_the_answers(app, alice):
    """A partition that no socket error reports: no PONG within the lease, no answer here."""
    near = near_of(app)
    warm(app, alice, "/api/posts/")
    near._confirmed -= near.LEASE_SECONDS + 1  # as if the last PING had gone unanswered
    before = near_hits()
    app.get("/api/posts/", headers=alice.headers)
    assert near_hits() == before
    near._confirmed = time.monotonic()
    app.get("/api/posts/", headers=alice.headers)
    assert near_hits() == before + 1


def test_a_flushed_redis_forgets_every_answer(app, alice, redis_client):
    near = near_of(app)
    app.post_json("/api/posts/", {"text": "flush me"}, headers=alice.headers, status=201)
    warm(app, alice, "/api/posts/")
    floor = near._floor
    redis_client.flushdb()  # another client's: its push comes when Redis writes it
    deadline = time.monotonic() + 2
    while near._floor == floor and time.monotonic() < deadline:
        with near._lock:
            near._drain()
    assert near._floor > floor and not near._entries
    before = near_hits()
    app.get("/api/posts/", headers=alice.headers)
    assert near_hits() == before


def test_a_bump_made_in_this_process_is_known_before_redis_pushes_it(app, alice, monkeypatch):
    """A push Redis is late to send (descheduled under load): the process that wrote does
    not need it to stop answering the state before its own write."""
    near = near_of(app)
    post = app.post_json("/api/posts/", {"text": "mine"}, headers=alice.headers, status=201).json
    warm(app, alice, "/api/posts/")
    monkeypatch.setattr(near, "_drain", lambda: True)  # no push is read from here on
    app.post(f"/api/posts/{post['id']}/like/", headers=alice.headers, status=200)
    before = near_hits()
    assert seen(app, alice)["likes_count"] == 1
    assert near_hits() == before


def test_what_the_pyramid_path_checks_still_decides(app, alice):
    """A GET with a body goes through the ingress (which may refuse it) every time, and a
    request without a token this process trusts goes through the security policy."""
    warm(app, alice, "/api/posts/")
    before = near_hits()
    for _ in range(2):
        refused = webtest.TestApp(app.app).request(  # (the document lists no 415 for a GET)
            "/api/posts/",
            method="GET",
            body=b"<x/>",
            headers={**alice.headers, "Content-Type": "text/xml"},
            expect_errors=True,
        )
        assert refused.status_int == 415
        app.get("/api/posts/", headers={"Authorization": "Bearer not-a-token"}, status=401)
        app.get("/api/posts/", status=401)
    assert near_hits() == before


def test_cors_headers_on_an_answer_from_the_process(make_app, make_user):
    cors_app = make_app(**{"cors.origins": "https://app.example"})
    user = make_user("carol")
    headers = {**user.headers, "Origin": "https://app.example"}
    responses = warm(cors_app, user, "/api/posts/", headers)
    before = near_hits()
    near = cors_app.get("/api/posts/", headers=headers)
    assert near_hits() == before + 1
    assert near.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert near.headers.getall("Vary") == responses[1].headers.getall("Vary") == ["Origin"]
    other_origin = cors_app.get("/api/posts/", headers={**user.headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other_origin.headers


def test_the_entries_are_bounded(make_app, alice):
    small = make_app(**{"response_cache.local_entries": "2"})
    for path in PAGES:
        warm(small, alice, path)
        assert len(near_of(small)._entries) <= 2


def test_off_when_set_to_zero(make_app):
    assert near_of(make_app(**{"response_cache.local_entries": "0"})) is None


def test_the_redis_py_internals_the_near_cache_drives_still_work(redis_url, redis_client):
    """redis-py has no public way to be handed the RESP3 pushes of CLIENT TRACKING (its own
    client-side cache sets the handler on the connection's parser, as near_cache.py does, and
    its PubSub's push handler never sees `invalidate`). So near_cache.py uses
    Connection._parser.set_invalidation_push_handler, and setup.py pins redis-py to the
    releases this test passed on: an upgrade that changes the hook fails here, not in
    production as a near cache that never learns of a write."""
    assert hasattr(redis.Connection(), "_parser")
    near = NearCache(redis_url, 1.0, 10)
    try:
        assert near.start_tracking()
        epoch = near.epoch()
        redis_client.incr("v:guard")  # another client's write: Redis pushes its key
        deadline = time.monotonic() + 5
        while near.epoch() == epoch and time.monotonic() < deadline:
            with near._lock:
                assert near._drain()  # never waits: can_read(timeout=0), read_response(push_request=True)
        assert near._changed.get("guard") == near.epoch() > epoch
        with near._lock:
            near._confirm()  # a PING's PONG read past any push
        assert near._conn is not None
    finally:
        near.close()


@pytest.mark.parametrize("path", ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/near"])
def test_the_mastodon_faces_reads_are_answered_in_the_process_within_their_scope(app, make_user, path):
    """A Mastodon token's warm read is answered here as a native one is (same body, same
    Link header), only while the token holds the route's scope: a token of the same account
    without read:statuses still gets its 403 from the full path, and an unknown token its 401."""
    from test_mastodon_oauth import bearer, token_for

    alice = make_user("alice")
    app.post_json("/api/posts/", {"text": "hello #near"}, headers=alice.headers, status=201)
    _client, token = token_for(app, scope="read")
    _client, narrow = token_for(app, scope="read:accounts write")
    made, checked = warm(app, alice, path, headers=bearer(token))[:2]
    before = near_hits()
    again = app.get(path, headers=bearer(token))
    assert near_hits() == before + 1
    assert again.body == made.body == checked.body and again.json
    assert again.headers.get("Link") == checked.headers.get("Link")
    refused = app.get(path, headers=bearer(narrow), status=403)
    assert refused.json == {"error": "This action is outside the authorized scopes"}
    app.get(path, headers=bearer("not-a-token"), status=401)
    assert near_hits() == before + 1


def test_a_suspension_stops_the_accounts_tokens_in_every_process_at_once(app, make_app, make_user, alice, db):
    """Another process trusts alice's token (verified, remembered for jwt.recheck_seconds,
    5 s here); the suspension made in the first one stops it there at its next request: it
    hears the bump of session:<id> through its tracking connection."""
    other = make_app()
    assert other.app.registry.settings["jwt.recheck_seconds"] >= 5
    moderator = make_user("mod")
    with db.cursor() as cur:
        cur.execute("UPDATE users SET role = 'moderator' WHERE id = %s", (moderator["id"],))
    warm(other, alice, "/api/posts/")  # trusted there, and a response kept there too
    assert other.get("/api/users/me/", headers=alice.headers).json["id"] == alice["id"]
    app.post_json(f"/api/admin/accounts/{alice['id']}/suspend/", {"reason": "spam"}, headers=moderator.headers)
    for path in ("/api/users/me/", "/api/posts/"):
        refused = other.get(path, headers=alice.headers, status=401)
        assert refused.json["message"] == "This account is suspended", path
    # bob's token, trusted there too, is not touched
    bob = make_user("bob")
    assert other.get("/api/users/me/", headers=bob.headers).json["id"] == bob["id"]
    before = near_hits()
    warm(other, bob, "/api/posts/")
    assert near_hits() > before


def test_without_a_tracking_connection_the_recheck_still_holds(app, make_app, make_user, alice, db, monkeypatch):
    """A fault: no tracking connection in the other process. It trusts the token until its
    recheck (jwt.recheck_seconds, 0 here: the next request), never longer."""
    other = make_app(**{"jwt.recheck_seconds": "0"})
    near_of(other).close()
    moderator = make_user("mod")
    with db.cursor() as cur:
        cur.execute("UPDATE users SET role = 'moderator' WHERE id = %s", (moderator["id"],))
    assert other.get("/api/users/me/", headers=alice.headers).json["id"] == alice["id"]
    app.post_json(f"/api/admin/accounts/{alice['id']}/suspend/", {"reason": "spam"}, headers=moderator.headers)
    assert other.get("/api/users/me/", headers=alice.headers, status=401).json["message"] == "This account is suspended"


def test_a_flush_forgets_the_answers_but_no_ended_session(app, make_app, make_user, alice, db, redis_client):
    """A flush of Redis after the suspension's bump, both pushes read together: the answers
    go, and the other process still knows the account's sessions ended. A flush alone ends
    no session: a trusted token is not checked again for it (no extra statement)."""
    other = make_app()
    moderator = make_user("mod")
    with db.cursor() as cur:
        cur.execute("UPDATE users SET role = 'moderator' WHERE id = %s", (moderator["id"],))
    assert other.get("/api/users/me/", headers=moderator.headers).json["id"] == moderator["id"]
    redis_client.flushdb()
    trusted = other.get("/api/users/me/", headers=moderator.headers)
    assert trusted.request.environ["minitwitter.queries"] == 1  # the profile; the token not checked again
    assert other.get("/api/users/me/", headers=alice.headers).json["id"] == alice["id"]
    app.post_json(f"/api/admin/accounts/{alice['id']}/suspend/", {"reason": "spam"}, headers=moderator.headers)
    redis_client.flushdb()
    refused = other.get("/api/users/me/", headers=alice.headers, status=401)
    assert refused.json["message"] == "This account is suspended"


@pytest.mark.parametrize("end", ["password change", "password reset", "deletion"])
def test_sessions_ended_stop_the_accounts_tokens_in_every_process_at_once(
    app, make_app, make_user, alice, db, request, end
):
    """As a suspension: a password change, a reset or a deletion made in the first process
    stops alice's tokens (her JWT and a Mastodon token) in another process that trusts them
    (remembered for jwt.recheck_seconds, 5 s here) at its next request: it hears the bump of
    session:<id>, not the recheck."""
    from conftest import PASSWORD
    from test_accounts import NEW_PASSWORD, mailed_token
    from test_mastodon_oauth import bearer, token_for

    other = make_app()
    assert other.app.registry.settings["jwt.recheck_seconds"] >= 5
    bob = make_user("bob")
    _client, token = token_for(app, scope="read")  # alice's
    for user in (alice, bob):
        assert other.get("/api/users/me/", headers=user.headers).json["id"] == user["id"]  # trusted there
    assert other.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).json["id"] == str(alice["id"])
    if end == "password change":
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    elif end == "password reset":
        smtp = request.getfixturevalue("smtp")
        app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
        reset = mailed_token(db, smtp, "password_reset_email")
        app.post_json("/api/password_reset/confirm/", {"token": reset, "new_password": NEW_PASSWORD}, status=204)
    else:
        app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=alice.headers, status=204)
    other.get("/api/users/me/", headers=alice.headers, status=401)
    other.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401)
    trusted = other.get("/api/users/me/", headers=bob.headers)  # bob's, trusted there too, is not touched
    assert trusted.json["id"] == bob["id"] and trusted.request.environ["minitwitter.queries"] == 1


def test_a_revoked_mastodon_token_stops_in_every_process_at_once(app, make_app, alice):
    """Behind a load balancer a client revokes its token through one process and its next
    request reaches another, which trusts the token (remembered for jwt.recheck_seconds):
    the revocation bumps session:<account>, which that process hears, and it looks the
    token up again. Another token of the account still works there."""
    from test_mastodon_oauth import bearer, token_for

    other = make_app()
    assert other.app.registry.settings["jwt.recheck_seconds"] >= 5
    client, token = token_for(app)
    _, kept = token_for(app)
    for each in (token, kept):
        assert other.get("/api/v1/accounts/verify_credentials", headers=bearer(each)).json["id"] == str(alice["id"])
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"], "token": token}
    app.post("/oauth/revoke", body, status=200)
    other.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401)
    assert other.get("/api/v1/accounts/verify_credentials", headers=bearer(kept)).json["id"] == str(alice["id"])


@pytest.mark.parametrize("ending", ["revoke", "suspend"])
def test_without_a_near_cache_the_sessions_ended_are_asked_of_redis(app, make_app, make_user, alice, db, ending):
    """A Redis Cluster (make cluster) has no tracking connection, so no near cache: another
    process asks Redis for the account's session version at each request with a token it
    remembers (web/near_cache.VersionedSessions), and a revocation or a suspension made
    through the first one stops the token there at once, not within jwt.recheck_seconds."""
    from test_mastodon_oauth import bearer, token_for

    other = make_app(**{"response_cache.local_entries": "0"})
    assert near_of(other) is None and other.app.registry.settings["jwt.recheck_seconds"] >= 5
    client, token = token_for(app)
    mastodon, native = ("/api/v1/accounts/verify_credentials", bearer(token)), ("/api/users/me/", alice.headers)
    bob = make_user("bob")
    for path, headers in (mastodon, native, ("/api/users/me/", bob.headers)):
        assert other.get(path, headers=headers).status_int == 200
    if ending == "revoke":
        body = {"client_id": client["client_id"], "client_secret": client["client_secret"], "token": token}
        app.post("/oauth/revoke", body, status=200)
        other.get(mastodon[0], headers=mastodon[1], status=401)
        assert other.get(native[0], headers=native[1]).json["id"] == alice["id"]  # her other token
    else:
        moderator = make_user("mod")
        with db.cursor() as cur:
            cur.execute("UPDATE users SET role = 'moderator' WHERE id = %s", (moderator["id"],))
        app.post_json(f"/api/admin/accounts/{alice['id']}/suspend/", {"reason": "spam"}, headers=moderator.headers)
        for path, headers in (mastodon, native):
            other.get(path, headers=headers, status=401)
    assert other.get("/api/users/me/", headers=bob.headers).json["id"] == bob["id"]
