"""Reads on a streaming replica, never staler than the reader's own writes (store/db.py).

A real primary and a real hot standby (initdb, pg_basebackup -R) start once per session
in a temp dir; replay is paused with pg_wal_replay_pause() to hold the replica behind.
"""

import io
import shutil
import tempfile
import time

import jwt
import psycopg2
import pytest
from conftest import signup
from PIL import Image

from minitwitter.scripts import migrate
from minitwitter.store.db import ALL_KEY, READS, RECENT_KEY, RECORD_SCRIPT, USERS_KEY, Pool, startup_options
from minitwitter_tools.devservices import ensure_database
from minitwitter_tools.pgcluster import PrimaryReplica, pg_bin


@pytest.fixture(scope="session")
def pair():
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed in /usr/lib/postgresql")
    root = tempfile.mkdtemp(prefix="minitwitter-replicas-")
    pair = PrimaryReplica(root)
    try:
        pair.start()
        url = pair.primary.url("minitwitter")
        ensure_database(url)
        migrate.apply(url)
        pair.wait_replayed()
        yield pair
    finally:
        pair.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def replica_app(pair, make_app, monkeypatch, redis_client):
    """An app whose database is the pair's primary, reading from its replica, with the
    writers' LSNs as a deployment running for days has them (store/db.py Replicas._lsns:
    in a writers' hash younger than a minute, an absent reader's LSN is unknown)."""
    monkeypatch.setenv("DATABASE_URL", pair.primary.url("minitwitter"))
    monkeypatch.setenv("DATABASE_REPLICA_URLS", pair.replica.url("minitwitter"))
    established(redis_client)
    yield lambda **settings: make_app(**settings)
    pair.pause_replay(False)
    with psycopg2.connect(pair.primary.url("minitwitter")) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE users, posts, hashtags, outbox, refresh_tokens, media_files RESTART IDENTITY CASCADE")
    conn.close()


def established(redis_client, age=10 * 86400):
    """The writers' hash and order as `age` seconds of writes leave them (nobody in them)."""
    redis_client.delete(USERS_KEY, RECENT_KEY)
    redis_client.hset(USERS_KEY, "since", int(time.time()) - age)
    redis_client.zadd(RECENT_KEY, {"0": int(time.time()) - age})


def settled(app, username):
    """A signed-up user whose token is an hour old: its sign-up is no news to any replica
    (a token younger than replica.max_lag_ms always reads from the primary)."""
    user = signup(app, username)
    secret = app.app.registry.settings["jwt.secret"]
    claims = jwt.decode(user["access"], options={"verify_signature": False})
    claims["iat"] = int(time.time()) - 3600
    user["access"] = jwt.encode(claims, secret, algorithm="HS256")
    return user


def reads(target):
    return READS.labels(target)._value.get()


def ids(response):
    return [post["id"] for post in response.json["results"]]


def test_the_writer_sees_every_write_and_others_lag_within_the_bound(replica_app, pair):
    app = replica_app(**{"replica.max_lag_ms": "600000"})
    alice, bob = settled(app, "alice"), settled(app, "bob")
    pair.wait_replayed()
    replica_reads = reads("replica")
    app.get("/api/posts/", headers=bob.headers, status=200)
    assert reads("replica") == replica_reads + 1

    pair.pause_replay()
    post = app.post_json("/api/posts/", {"text": "while the replica waits"}, headers=alice.headers, status=201).json
    edited = app.patch_json(f"/api/posts/{post['id']}/", {"text": "edited"}, headers=alice.headers, status=200).json
    assert edited["text"] == "edited"

    # bob reads the replica, behind within the bound: he does not see it yet...
    replica_reads = reads("replica")
    assert post["id"] not in ids(app.get("/api/posts/", headers=bob.headers))
    app.get(f"/api/posts/{post['id']}/", headers=bob.headers, status=404)
    assert reads("replica") == replica_reads + 2
    # ...and what he read there filled no shared cache entry: alice sees her post, edited
    primary_reads = reads("primary")
    assert post["id"] in ids(app.get("/api/posts/", headers=alice.headers))
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["text"] == "edited"
    assert reads("primary") == primary_reads + 2
    # (what alice's reads on the primary cached is current for everyone)
    assert post["id"] in ids(app.get("/api/posts/", headers=bob.headers))

    pair.pause_replay(False)
    pair.wait_replayed()
    replica_reads = reads("replica")  # alice's last write is replayed: she reads the replica again
    assert post["id"] in ids(app.get(f"/api/users/{alice['id']}/posts/", headers=alice.headers))
    assert reads("replica") == replica_reads + 1


def test_a_replica_behind_by_more_than_the_bound_is_skipped(replica_app, pair):
    app = replica_app(**{"replica.max_lag_ms": "1"})
    alice, bob = settled(app, "alice"), settled(app, "bob")
    pair.wait_replayed()
    pair.pause_replay()
    post = app.post_json("/api/posts/", {"text": "news"}, headers=alice.headers, status=201).json
    # Received, not replayed: then the replica knows it is behind (before, a busy machine's
    # streaming delay made it look current: nothing received was left to replay).
    pair.wait_received()

    primary_reads = reads("primary")
    assert post["id"] in ids(app.get("/api/posts/", headers=bob.headers))
    assert reads("primary") == primary_reads + 1


def test_an_image_is_served_by_the_replica_and_by_the_primary_before_replay(replica_app, pair):
    app = replica_app(**{"replica.max_lag_ms": "600000", "media.store": "postgres"})
    alice = settled(app, "alice")
    pair.wait_replayed()
    pair.pause_replay()
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(picture, "PNG")
    files = [("image", "a.png", picture.getvalue())]
    post = app.post("/api/posts/", {"text": "x"}, upload_files=files, headers=alice.headers, status=201).json
    url = post["image"]["url"].replace("http://localhost", "")
    replica_reads, primary_reads = reads("replica"), reads("primary")
    # no token: a replica behind any recorded commit is passed over, the primary serves it
    assert Image.open(io.BytesIO(app.get(url).body)).size == (64, 48)
    assert (reads("replica"), reads("primary")) == (replica_reads, primary_reads + 1)
    pair.pause_replay(False)
    pair.wait_replayed()
    replica_reads, primary_reads = reads("replica"), reads("primary")
    assert Image.open(io.BytesIO(app.get(url).body)).size == (64, 48)
    assert (reads("replica"), reads("primary")) == (replica_reads + 1, primary_reads)


def test_a_fresh_token_reads_from_the_primary(replica_app, pair):
    app = replica_app(**{"replica.max_lag_ms": "600000"})
    pair.pause_replay()
    carol = signup(app, "carol")  # the replica has neither her sign-up nor her login
    assert app.get("/api/users/me/", headers=carol.headers, status=200).json["username"] == "carol"


def test_the_health_check_reports_the_primary(replica_app, pair):
    app = replica_app()
    replica_reads = reads("replica")
    assert app.get("/api/health/", status=200).json["database"] == "ok"
    assert reads("replica") == replica_reads


def test_a_replica_down_sends_every_read_to_the_primary(replica_app, pair):
    app = replica_app(**{"replica.max_lag_ms": "600000"})
    alice = settled(app, "alice")
    post = app.post_json("/api/posts/", {"text": "kept"}, headers=alice.headers, status=201).json
    pair.wait_replayed()
    replica_reads = reads("replica")
    app.get("/api/users/me/", headers=alice.headers, status=200)  # leaves a pooled replica connection
    assert reads("replica") == replica_reads + 1

    pair.replica.stop("immediate")
    try:
        primary_reads = reads("primary")
        for n in range(1, 6):  # other URLs each time: no response comes from the cache
            assert post["id"] in ids(app.get(f"/api/posts/?page_size={n}", headers=alice.headers, status=200))
            path = f"/api/users/{alice['id']}/posts/?page_size={n}"
            assert post["id"] in ids(app.get(path, headers=alice.headers, status=200))
        assert reads("primary") == primary_reads + 10
    finally:
        pair.replica.start()


def test_an_evicted_commit_lsn_is_unknown_and_never_recorded_back_lower(replica_app, pair, redis_client):
    """Everyone's highest commit LSN gone from Redis (evicted under a policy that evicts keys
    without a TTL, or flushed): no replica can be shown to have every commit, so reads go to
    the primary; a writer whose LSN was read before the key went cannot put it back lower
    than a commit recorded before; the next commit records it again, and replica reads
    resume once the replica has replayed it."""
    app = replica_app(**{"replica.max_lag_ms": "600000"})
    alice, bob = settled(app, "alice"), settled(app, "bob")
    pair.wait_replayed()
    pair.pause_replay()
    post = app.post_json("/api/posts/", {"text": "before the eviction"}, headers=alice.headers, status=201).json
    recorded = int(redis_client.get(ALL_KEY))
    redis_client.delete(ALL_KEY)

    primary_reads, replica_reads = reads("primary"), reads("replica")
    for n in range(1, 4):  # other URLs each time: none comes from the cache
        assert post["id"] in ids(app.get(f"/api/posts/?page_size={n}", headers=bob.headers, status=200))
    assert (reads("primary"), reads("replica")) == (primary_reads + 3, replica_reads)

    stale_writer = redis_client.register_script(RECORD_SCRIPT)
    assert stale_writer(keys=[USERS_KEY, RECENT_KEY, ALL_KEY], args=[recorded - 1, 60, 0, ""]) == 1
    assert redis_client.get(ALL_KEY) is None
    app.post_json("/api/posts/", {"text": "after the eviction"}, headers=alice.headers, status=201)
    assert int(redis_client.get(ALL_KEY)) > recorded

    pair.pause_replay(False)
    pair.wait_replayed()
    replica_reads = reads("replica")
    assert post["id"] in ids(app.get("/api/posts/?page_size=9", headers=bob.headers, status=200))
    assert reads("replica") == replica_reads + 1


def test_a_writers_lsn_that_went_is_unknown_never_no_write(replica_app, pair, redis_client):
    """The writers' hash evicted (an allkeys-* policy) or flushed right after alice wrote: her
    last commit is no longer known, so she reads from the primary (never a replica that lacks
    her post), and so does everyone absent from the hash while it is younger than its minute;
    once the replica has replayed everything recorded, it serves them again."""
    app = replica_app(**{"replica.max_lag_ms": "600000"})
    alice, bob = settled(app, "alice"), settled(app, "bob")
    pair.wait_replayed()
    pair.pause_replay()
    post = app.post_json("/api/posts/", {"text": "mine, then forgotten"}, headers=alice.headers, status=201).json
    assert int(redis_client.hget(USERS_KEY, str(alice["id"]))) == int(redis_client.get(ALL_KEY))
    redis_client.delete(USERS_KEY, RECENT_KEY)

    primary_reads, replica_reads = reads("primary"), reads("replica")
    assert post["id"] in ids(app.get(f"/api/users/{alice['id']}/posts/", headers=alice.headers, status=200))
    assert post["id"] in ids(app.get("/api/posts/?page_size=7", headers=bob.headers, status=200))
    assert (reads("primary"), reads("replica")) == (primary_reads + 2, replica_reads)

    pair.pause_replay(False)
    pair.wait_replayed()
    replica_reads = reads("replica")
    assert post["id"] in ids(app.get("/api/posts/?page_size=8", headers=bob.headers, status=200))
    assert reads("replica") == replica_reads + 1


def test_the_writers_hash_holds_only_the_last_minutes_writers(redis_client):
    """The record script trims who wrote over its TTL ago (here 1 s) from the hash and the
    order: what stays is bounded by the writers of the last TTL, however many wrote before."""
    record = redis_client.register_script(RECORD_SCRIPT)
    keys = [USERS_KEY, RECENT_KEY, ALL_KEY]
    redis_client.delete(*keys)
    for user_id in range(1, 41):
        assert record(keys=keys, args=[100 + user_id, 1, 1, str(user_id)]) == 0
    assert redis_client.hlen(USERS_KEY) == 41  # 40 writers and "since"
    time.sleep(2.1)
    record(keys=keys, args=[200, 1, 0, "41"])
    assert redis_client.hgetall(USERS_KEY).keys() == {b"since", b"41"}
    assert redis_client.zrange(RECENT_KEY, 0, -1) == [b"41"]
    assert int(redis_client.get(ALL_KEY)) == 200
    record(keys=keys, args=[150, 1, 0, "41"])  # an older LSN never lowers one recorded
    assert int(redis_client.hget(USERS_KEY, "41")) == 200 and int(redis_client.get(ALL_KEY)) == 200


def test_no_statement_timeout_option_for_pgbouncer(services):
    assert startup_options(3000) == "-c statement_timeout=3000"
    assert startup_options(0) == ""
    pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=0)
    conn = pool.getconn()
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('statement_timeout') AS timeout")
        assert cur.fetchone()["timeout"] == "0"  # the server's default: nothing sent
    conn.rollback()
    pool.putconn(conn)
