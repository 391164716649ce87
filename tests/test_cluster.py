"""The cache on a Redis Cluster of 3 masters (conftest.redis_cluster, formed in about 2 s):
the same guarantees as on one server, with the keys of one call spread over every master.

The tests of test_cache.py and a rate limit's run here again against the cluster (imported
below), with `redis_url`, `app` and REDIS_URL pointing at it; no call may fail, since a call
crossing slots (CROSSSLOT) would be logged and served as a miss.
"""

import pytest
from conftest import signup
from test_cache import (  # noqa: F401 (collected here again, on the cluster)
    test_a_fill_that_raced_a_write_is_never_served,
    test_a_response_is_served_only_while_all_it_was_made_from_is_current,
    test_a_tag_nobody_used_yet_is_not_stored_empty,
    test_reads_are_cached_and_fresh_after_each_write,
    test_whole_responses_change_with_every_write_they_show,
)
from test_fanout import popular, test_a_popular_authors_post_reaches_the_feeds_through_the_task  # noqa: F401
from test_posts import create
from test_ratelimit import limited, test_write_limit_per_account  # noqa: F401

from minitwitter import settings as settings_module
from minitwitter.store.cache import Cache, connect
from minitwitter_tools.devservices import free_port


@pytest.fixture(autouse=True)
def on_cluster(redis_cluster, services, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", redis_cluster.url)  # apps built by make_app use it
    monkeypatch.setenv("CELERY_BROKER_URL", services.get("CELERY_BROKER_URL", services["REDIS_URL"]))
    yield
    assert "redis failed" not in caplog.text
    connect(redis_cluster.url).flushdb()


@pytest.fixture
def redis_url(redis_cluster):
    return redis_cluster.url


@pytest.fixture
def app(make_app):
    return make_app()


def test_one_response_depends_on_keys_of_every_master(redis_url, redis_client):
    names = [f"post:{i}" for i in range(20)] + ["posts:all", "feed:7", "viewer:7"]
    assert len({redis_client.get_node_from_key(f"v:{name}").name for name in names}) == 3
    cache = Cache(redis_url, 0.5)
    assert cache.cluster
    values, versions = cache.get_versioned(names)  # each version made on every master
    assert values == {} and all(isinstance(v, int) for v in versions.values())
    cache.set_versioned(dict.fromkeys(names, {"x": 1}), versions)
    assert cache.get_versioned(names)[0] == dict.fromkeys(names, {"x": 1})
    assert cache.versions(names) == versions
    cache.set_response("response:7:/api/feed", cache.versions(names), {}, b"[]")
    assert cache.get_response("response:7:/api/feed") == (
        {"deps": [*sum(([n, versions[n]] for n in names), [])], "headers": {}},
        b"[]",
    )
    cache.bump(*names)
    assert cache.versions(names) == {n: versions[n] + 1 for n in names}
    assert cache.get_response("response:7:/api/feed") is None
    assert cache.get_versioned(names)[0] == {}


def test_health_reports_the_cluster(app):
    assert app.get("/api/health/").json["cache"] == "ok"


def test_a_cluster_that_is_away_costs_no_request(make_app, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", f"redis+cluster://127.0.0.1:{free_port()}")  # nothing listens
    app = make_app()  # starts: the cluster client connects on first use
    alice = signup(app, "alice")
    post = create(app, alice, "served from PostgreSQL").json
    assert app.get(f"/api/posts/{post['id']}/", headers=alice.headers).json["text"] == "served from PostgreSQL"
    assert app.get("/api/health/").json["cache"] == "down"
    assert "redis failed" in caplog.text
    caplog.clear()  # what on_cluster checks is the real cluster's


def test_a_cluster_cannot_be_the_broker():
    settings = {"database.url": "postgresql:///x", "redis.url": "redis+cluster://127.0.0.1:7000"}
    with pytest.raises(settings_module.SettingsError, match="CELERY_BROKER_URL must be set"):
        settings_module.load(settings, environ={}, require_secret=False)
    broker = {**settings, "celery.broker_url": "amqp://guest:guest@127.0.0.1:5672//"}
    assert settings_module.load(broker, environ={}, require_secret=False)["celery.broker_url"].startswith("amqp")


def test_a_cluster_url_has_no_database_number():
    with pytest.raises(ValueError, match="database 0"):
        connect("redis+cluster://127.0.0.1:7000/3")
