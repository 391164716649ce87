"""The outbox and email: sign-up writes a row in its transaction, deliver() sends it once.

Everything is real: PostgreSQL, Redis as the broker, an aiosmtpd server, and in two
tests a Celery worker process. The one fault injected is a broker URL where nothing
listens, and an SMTP URL likewise.
"""

import email
import email.policy
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import signup

from minitwitter.worker.tasks import celery_app, deliver, relay_outbox
from minitwitter_tools.devservices import free_port

ROOT = Path(__file__).resolve().parent.parent


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(wsgi_app, monkeypatch):
    """A real SMTP server on a free port, the one the tasks send through.

    The app is built once per session, before this server exists; the tasks read
    smtp.url from the settings when they send, so pointing that setting here is enough.
    """
    inbox = Inbox()
    for attempt in range(3):  # a free port can be taken before the server binds it (another test run)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 2:
                raise
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    monkeypatch.setitem(celery_app.minitwitter_settings, "smtp.url", inbox.url)
    yield inbox
    controller.stop()


@pytest.fixture
def worker(services, smtp, tmp_path):
    """`minitwitter-celery development.ini worker` on the test database and Redis."""
    env = {**os.environ, "SMTP_URL": smtp.url}  # DATABASE_URL, REDIS_URL, JWT_SECRET: set by `services`
    if "CELERY_BROKER_URL" not in services:  # set when the cache is a cluster (conftest.services)
        env.pop("CELERY_BROKER_URL", None)
    command = [str(Path(sys.executable).parent / "minitwitter-celery"), "development.ini", "worker"]
    command += ["--loglevel=INFO", "--pool=solo", "--concurrency=1", "-n", f"test{services['run']}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate, timeout=20.0):
    """Poll until `predicate()` is true or `timeout` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def outbox_rows(db):
    with db.cursor() as cur:
        cur.execute("SELECT id, kind, payload, sent_at FROM outbox ORDER BY id")
        return cur.fetchall()


def sent_at(db, outbox_id):
    with db.cursor() as cur:
        cur.execute("SELECT sent_at FROM outbox WHERE id = %s", (outbox_id,))
        return cur.fetchone()[0]


def test_signup_writes_one_outbox_row_in_its_transaction(app, db):
    alice = signup(app, "alice")
    [(outbox_id, kind, payload, sent)] = outbox_rows(db)
    assert (kind, payload, sent) == ("welcome_email", {"user_id": alice["id"]}, None)
    with db.cursor() as cur:  # xmin: the transaction that inserted the row
        cur.execute("SELECT (SELECT xmin::text FROM users WHERE id = %s) = xmin::text FROM outbox", (alice["id"],))
        assert cur.fetchone() == (True,)

    body = {"username": "ALICE", "email": "other@example.com", "password": "another password"}
    app.post_json("/api/users/", body, status=409)
    assert [row[0] for row in outbox_rows(db)] == [outbox_id]


def test_deliver_sends_the_welcome_email_once(app, db, smtp):
    signup(app, "alice")
    [(outbox_id, *_)] = outbox_rows(db)

    assert deliver.run(outbox_id) is True
    [message] = smtp.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Welcome to minitwitter, alice"
    assert message["From"] == celery_app.minitwitter_settings["mail.from"]
    assert "alice" in message.get_content()
    assert sent_at(db, outbox_id) is not None

    assert deliver.run(outbox_id) is False
    assert deliver.apply(args=[outbox_id]).get() is False
    assert len(smtp.messages) == 1


def follow_rows(db):
    return [row for row in outbox_rows(db) if row[1] == "follow_email"]


def test_a_follow_emails_the_followee_once(app, db, smtp):
    alice, bob = signup(app, "alice"), signup(app, "bob")
    for _ in range(3):  # a repeated follow asks for nothing more
        app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200)
    [(outbox_id, _, payload, _)] = follow_rows(db)
    assert payload == {"follower_id": alice["id"], "followee_id": bob["id"]}

    assert deliver.run(outbox_id) is True
    assert deliver.run(outbox_id) is False
    [message] = smtp.messages
    assert (message["To"], message["Subject"]) == ("bob@example.com", "alice followed you")
    # A page a person can open (the web client at public_url), not an API URL needing a token.
    assert "http://localhost/@alice\r\n" in message.get_content() and "/api/" not in message.get_content()


def test_follow_unfollow_follow_emails_once_a_day(app, db, smtp, monkeypatch):
    alice, bob = signup(app, "alice"), signup(app, "bob")
    for _ in range(3):
        app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200)
        app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200)
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers, status=200)  # another pair
    rows = follow_rows(db)
    assert len(rows) == 4  # each new follow asks; the task decides
    assert [deliver.run(row[0]) for row in rows] == [True, False, False, True]
    assert [(m["To"], m["Subject"]) for m in smtp.messages] == [
        ("bob@example.com", "alice followed you"),
        ("alice@example.com", "bob followed you"),
    ]
    assert all(sent_at(db, row[0]) is not None for row in rows)  # none is left to retry

    # Past the interval (a setting), the next follow emails again.
    monkeypatch.setitem(celery_app.minitwitter_settings, "mail.follow_email_hours", 0)
    app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200)
    assert deliver.run(follow_rows(db)[-1][0]) is True
    assert len(smtp.messages) == 3


def test_an_unfollow_and_a_failed_follow_ask_for_no_email(app, db):
    alice, bob = signup(app, "alice"), signup(app, "bob")
    app.post(f"/api/users/{alice['id']}/follow/", headers=alice.headers, status=400)  # self
    app.post("/api/users/999999/follow/", headers=alice.headers, status=404)
    app.delete(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200)
    assert follow_rows(db) == []


def test_smtp_down_leaves_the_row_pending(app, db, smtp, monkeypatch):
    signup(app, "alice")
    [(outbox_id, *_)] = outbox_rows(db)
    with monkeypatch.context() as m:
        m.setitem(celery_app.minitwitter_settings, "smtp.url", f"smtp://127.0.0.1:{free_port()}")
        with pytest.raises(OSError):
            deliver.run(outbox_id)
    assert sent_at(db, outbox_id) is None and smtp.messages == []

    assert deliver.run(outbox_id) is True
    assert len(smtp.messages) == 1


def test_a_celery_worker_sends_the_welcome_email(app, db, smtp, worker):
    signup(app, "alice")
    [(outbox_id, *_)] = outbox_rows(db)

    assert wait_for(lambda: smtp.messages), worker.log_path.read_text()
    assert wait_for(lambda: sent_at(db, outbox_id)), worker.log_path.read_text()
    [message] = smtp.messages
    assert (message["To"], message["Subject"]) == ("alice@example.com", "Welcome to minitwitter, alice")


def test_broker_down_at_signup_then_the_relay_sends_it_once(app, db, smtp, worker, monkeypatch, caplog):
    with monkeypatch.context() as m, caplog.at_level(logging.WARNING, logger="minitwitter.worker.tasks"):
        m.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
        m.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it over its configuration
        signup(app, "alice")  # 201, or it raises
    [(outbox_id, _, _, sent)] = outbox_rows(db)
    assert sent is None
    assert f"outbox {outbox_id} not published" in caplog.text

    assert relay_outbox.run() == 0  # younger than 10 s: its own publish may still be on the way
    assert relay_outbox.run(older_than=0) == 1
    assert wait_for(lambda: sent_at(db, outbox_id)), worker.log_path.read_text()
    assert relay_outbox.run(older_than=0) == 0
    assert deliver.run(outbox_id) is False
    [message] = smtp.messages
    assert message["To"] == "alice@example.com"


def test_broker_down_during_a_follow_then_the_email_arrives(app, db, smtp, worker, monkeypatch):
    alice, bob = signup(app, "alice"), signup(app, "bob")
    with monkeypatch.context() as m:
        m.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
        m.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it over its configuration
        followed = app.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=200).json
    assert followed["followers_count"] == 1
    [(outbox_id, _, _, sent)] = follow_rows(db)
    assert sent is None

    relay_outbox.run(older_than=0)  # the broker is back: the beat job publishes what it missed
    assert wait_for(lambda: sent_at(db, outbox_id)), worker.log_path.read_text()
    follow_emails = [m for m in smtp.messages if m["Subject"] == "alice followed you"]
    assert [m["To"] for m in follow_emails] == ["bob@example.com"]
