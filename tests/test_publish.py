"""Publishing an outbox row after commit (tasks.publish) keeps a broker connection per thread.

Against the real broker (Redis, as in every test): publishes reuse one connection, a
connection the broker dropped costs no publish, a forked child makes its own and leaves
the parent's working. The fault is real: the broker closes the connection (CLIENT KILL).
"""

import os

import pytest
import redis

from minitwitter.worker import tasks
from minitwitter.worker.tasks import celery_app, publish

QUEUE = "test-publish"  # in the run's own broker database (conftest.claim_run)


@pytest.fixture
def broker(wsgi_app, monkeypatch):
    """The broker's Redis, and a task kind whose messages go to a queue of this test's."""
    monkeypatch.setitem(tasks.QUEUES, "test_kind", QUEUE)
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)
    client.close()


def publishing_connections(client):
    """The ids of the connections to the broker's database whose last command was a publish
    (another test run on this Redis server publishes to its own database)."""
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return [c["id"] for c in client.client_list() if c["cmd"] == "lpush" and int(c["db"]) == db]


def test_publishes_reuse_one_broker_connection(broker):
    assert publish(1, "test_kind") is True
    kept = publishing_connections(broker)
    assert len(kept) == 1
    assert all(publish(n, "test_kind") for n in range(2, 22))
    # Not a fresh connection each (11.6 ms against 0.8 ms kept): still the same one.
    assert publishing_connections(broker) == kept
    assert broker.llen(QUEUE) == 21


def test_a_connection_the_broker_dropped_costs_no_publish(broker, caplog):
    assert publish(1, "test_kind") is True
    killed = publishing_connections(broker)
    assert killed  # the kept connection: its last command was the publish
    for client_id in killed:
        broker.client_kill_filter(_id=client_id)

    assert publish(2, "test_kind") is True  # tried again on a new connection
    assert publish(3, "test_kind") is True
    assert broker.llen(QUEUE) == 3
    assert "not published" not in caplog.text


def test_a_broker_that_is_gone_fails_the_publish_once_and_fast(broker, monkeypatch, caplog):
    from minitwitter_tools.devservices import free_port

    assert publish(1, "test_kind") is True
    with monkeypatch.context() as m:
        m.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
        m.delenv("CELERY_BROKER_URL", raising=False)
        assert publish(2, "test_kind") is False  # not sent to the broker the kept connection is on
    assert "outbox 2 not published" in caplog.text
    assert publish(3, "test_kind") is True
    assert broker.llen(QUEUE) == 2


def test_a_forked_child_publishes_on_its_own_connection(broker):
    assert publish(1, "test_kind") is True
    pid = os.fork()
    if pid == 0:  # the child: publish, and leave at once (no pytest teardown here)
        os._exit(0 if publish(2, "test_kind") else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert publish(3, "test_kind") is True  # the parent's connection was not closed by the child
    assert broker.llen(QUEUE) == 3
