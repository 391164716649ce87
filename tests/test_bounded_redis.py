"""A bounded Redis (store/cache.py): with `maxmemory` and any eviction policy, memory stays
under it however many versions are made, and a version key that vanishes (deleted, expired,
evicted) never lets an entry or a whole response made before a write be served after it.

Each test has a redis-server of its own (devservices.RedisServer, a free port) with a
small maxmemory and the policy under test.
"""

import random
import re
import threading
import time

import pytest
import redis
import webtest
from conftest import signup

from minitwitter.store.cache import Cache, connect
from minitwitter.web.near_cache import NearCache
from minitwitter_tools.devservices import RedisServer

POLICIES = [
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
]


@pytest.fixture
def small_redis(tmp_path):
    """start(policy, maxmemory): a redis-server of this test's own, at its limit."""
    servers = []

    def start(policy, maxmemory):
        server = RedisServer(tmp_path / str(len(servers))).start()
        servers.append(server)
        client = redis.Redis.from_url(server.url)
        client.config_set("maxmemory-policy", policy)
        client.config_set("maxmemory", maxmemory)
        client.config_set("maxmemory-eviction-tenacity", 100)  # evict all it must before each command
        return server, client

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("policy", POLICIES)
def test_memory_stays_under_maxmemory_with_every_policy_while_versions_grow(small_redis, policy):
    """60,000 distinct versions (bumped, read, filled) against 4 MB: the old counters had
    no TTL, so a volatile-* policy could evict none of them and Redis refused the bumps
    (OOM) once they filled it."""
    limit = 4 * 1024 * 1024
    server, client = small_redis(policy, limit)
    cache = Cache(server.url, 2.0)
    highest = 0
    for batch in range(60):
        names = [f"post:{batch * 1000 + i}" for i in range(1000)]
        assert cache.bump(*names), "a bump Redis did not take"
        values, versions = cache.get_versioned(names[:200])
        assert None not in versions.values(), "a read Redis did not answer"
        cache.set_versioned(dict.fromkeys(names[:200], {"text": "x" * 50}), versions)
        highest = max(highest, client.info("memory")["used_memory"])
    info = client.info()
    assert info["evicted_keys"] > 0  # it was full, and made room
    # Redis evicts before each command: a command's own allocation (INFO's reply) may pass it by bytes.
    assert highest <= limit + 16 * 1024, f"{highest} bytes used, over {limit}"
    # Every key, not a sample: under volatile-lfu the entries (filled once, never read again)
    # are the least used and go first, so 100 random keys could hold versions only.
    kinds = {key.startswith(b"v:") for key in client.scan_iter(count=10_000)}
    assert True in kinds
    if policy != "volatile-ttl":  # it evicts the shortest TTLs first: the entries may all have gone
        assert False in kinds
    sample = [client.randomkey() for _ in range(100)]
    assert all(client.ttl(key) in (-2, *range(1, 3601)) for key in sample), "a key with no TTL"


def test_redis_pushes_the_versions_it_expires_and_evicts_to_the_near_cache(small_redis):
    """The near cache learns of a version gone by expiry or eviction as of any change."""
    server, client = small_redis("allkeys-random", 3 * 1024 * 1024)
    near = NearCache(server.url, 1.0, 100)
    try:
        assert near.start_tracking()
        client.set("v:expiring", 1, px=1000)
        client.set("v:evicted", 1)
        near.keep("drain", near.epoch(), [], "/r", {}, b"")
        while near._changed.keys() != {"expiring", "evicted"}:  # their pushes read
            near.get("drain")
        near.keep("a", near.epoch(), ["expiring"], "/r", {}, b"a")
        near.keep("b", near.epoch(), ["evicted"], "/r", {}, b"b")
        assert near.get("a") and near.get("b")
        deadline = time.monotonic() + 10
        filler = 0
        while near.get("a") is not None or near.get("b") is not None:
            assert time.monotonic() < deadline, "no push for a version that expired or was evicted"
            client.set(f"filler:{filler}", "x" * 1000)  # room made by evicting keys at random
            filler += 1
        assert client.exists("v:expiring", "v:evicted") == 0
        assert client.info()["evicted_keys"] > 0
    finally:
        near.close()


@pytest.fixture
def bounded_app(small_redis, make_app, monkeypatch, services, request):
    """Two apps (two API processes) on a redis-server at its limit, with the policy."""
    server, client = small_redis(request.param, 3 * 1024 * 1024)
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("CELERY_BROKER_URL", services.get("CELERY_BROKER_URL", services["REDIS_URL"]))
    return make_app(), make_app(), client


class Truth:
    """What has been committed: for each post, the number its text was last edited to
    (the edit's response returned), and the newest post of the list."""

    def __init__(self):
        self.lock = threading.Lock()
        self.edits, self.newest = {}, 0

    def snapshot(self):
        with self.lock:
            return dict(self.edits), self.newest


@pytest.mark.parametrize("bounded_app", ["allkeys-random", "volatile-ttl", "allkeys-lru"], indirect=True)
def test_versions_deleted_and_evicted_under_reads_and_writes_never_serve_a_stale_read(bounded_app):
    """Writers edit posts (text "n=<k>", k growing) and add posts; readers on both apps read
    each post, the list and the author's list, each read checked against what was committed
    before it began; meanwhile version keys are deleted at random and filler keys make Redis
    evict. With versions that came back at 0 or 1, entries made before a write were served."""
    writer_app, reader_app, client = bounded_app
    alice = signup(writer_app, "alice")
    readers = [signup(writer_app, name) for name in ("bob", "carol")]
    posts = [
        writer_app.post_json("/api/posts/", {"text": "n=0"}, headers=alice.headers, status=201).json["id"]
        for _ in range(3)
    ]
    truth = Truth()
    truth.edits, truth.newest = dict.fromkeys(posts, 0), posts[-1]
    stop, stale, errors = threading.Event(), [], []
    seconds = 6.0

    def number(text):
        return int(re.fullmatch(r"n=(\d+)", text).group(1))

    def editor(post_id):
        app = webtest.TestApp(writer_app.app)
        k = 0
        while not stop.is_set():
            k += 1
            app.put_json(f"/api/posts/{post_id}/", {"text": f"n={k}"}, headers=alice.headers, status=200)
            with truth.lock:
                truth.edits[post_id] = k

    def poster():
        app = webtest.TestApp(writer_app.app)
        while not stop.is_set():
            created = app.post_json("/api/posts/", {"text": "n=0"}, headers=alice.headers, status=201).json["id"]
            with truth.lock:
                truth.newest = created
            time.sleep(0.05)

    def reader(wsgi, user):
        app = webtest.TestApp(wsgi.app)
        while not stop.is_set():
            edits, newest = truth.snapshot()
            post_id = random.choice(posts)
            one = app.get(f"/api/posts/{post_id}/", headers=user.headers).json
            if number(one["text"]) < edits[post_id]:
                stale.append(("post", post_id, one["text"], edits[post_id]))
            for path in ("/api/posts/", f"/api/users/{alice['id']}/posts/"):
                page = app.get(path, headers=user.headers).json["results"]
                if page[0]["id"] < newest:
                    stale.append((path, page[0]["id"], newest))
                for post in page:
                    if post["id"] in edits and number(post["text"]) < edits[post["id"]]:
                        stale.append((path, post["id"], post["text"], edits[post["id"]]))

    def chaos():
        """Version keys deleted at random, and filler pushing Redis to evict (with a TTL:
        a volatile-* policy evicts only those)."""
        n = 0
        while not stop.is_set():
            keys = list(client.scan_iter("v:*", count=200))
            if keys:
                client.delete(*random.sample(keys, max(1, len(keys) // 5)))
            for _ in range(20):
                client.set(f"filler:{n}", "x" * 2000, ex=600)
                n += 1
            time.sleep(0.005)

    def guarded(fn, *args):
        def run():
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))
                stop.set()

        return threading.Thread(target=run)

    threads = [guarded(editor, p) for p in posts] + [guarded(poster), guarded(chaos)]
    threads += [guarded(reader, app, user) for app in (writer_app, reader_app) for user in readers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert stale == [], stale[:5]
    info = client.info()
    assert info["evicted_keys"] > 0, "nothing was evicted: the test did not test eviction"
    assert min(truth.edits.values()) > 5


def test_a_version_made_afresh_is_never_one_an_entry_was_made_at(small_redis):
    """The trap, step by step: an entry made at a version, a write bumps it, the counter
    vanishes; whatever reads or bumps it next, the entry is never served again."""
    server, client = small_redis("allkeys-lru", 100 * 1024 * 1024)
    cache = Cache(server.url, 1.0)
    for vanish_then in ("read", "bump"):
        client.flushdb()
        _, versions = cache.get_versioned(["post:1"])
        cache.set_versioned({"post:1": {"text": "old"}}, versions)  # made at the version then
        cache.set_response("response:1", cache.versions(["post:1"]), {}, b"old")
        assert cache.get_versioned(["post:1"])[0] and cache.get_response("response:1")
        client.delete("v:post:1")  # evicted
        if vanish_then == "bump":
            cache.bump("post:1")  # a write's bump finds it missing
        assert cache.get_versioned(["post:1"])[0] == {}
        assert cache.get_response("response:1") is None
        assert cache.versions(["post:1"])["post:1"] > versions["post:1"]
        cache.bump("post:1")
        assert cache.get_versioned(["post:1"])[0] == {} and cache.get_response("response:1") is None


def test_the_cache_on_a_cluster_makes_missing_versions_afresh_too(redis_cluster):
    cache = Cache(redis_cluster.url, 1.0)
    client = connect(redis_cluster.url)
    try:
        _, versions = cache.get_versioned(["post:1", "post:2"])
        cache.set_versioned({"post:1": {"text": "old"}, "post:2": {"text": "old"}}, versions)
        cache.set_response("response:1", cache.versions(["post:1", "post:2"]), {}, b"old")
        client.delete("v:post:1")
        assert set(cache.get_versioned(["post:1", "post:2"])[0]) == {"post:2"}
        assert cache.get_response("response:1") is None
        client.delete("v:post:2")
        cache.bump("post:2")
        assert cache.get_versioned(["post:2"])[0] == {}
        assert client.ttl("v:post:1") > 0 and client.ttl("v:post:2") > 0
    finally:
        client.flushall()
