"""Fan-out off the request: a post by an author with more than fanout.inline_followers
followers leaves their feeds to a `fanout` task (outbox, then a worker); the author reads
their own post at once, and the followers once the task has run."""

import pytest
from conftest import signup
from test_posts import create

from minitwitter.store.cache import connect
from minitwitter.worker import tasks
from minitwitter.worker.tasks import deliver


@pytest.fixture
def popular(make_app, monkeypatch):
    """An app where more than one follower is many, batches of 2, and an author with 3
    followers, each of whom has read (and so cached) their feed."""
    monkeypatch.setattr(tasks, "FANOUT_BATCH", 2)  # 3 followers take two batches
    app = make_app(**{"fanout.inline_followers": "1"})
    author = signup(app, "author")
    followers = [signup(app, f"reader{i}") for i in range(3)]
    for reader in followers:
        app.post(f"/api/users/{author['id']}/follow/", headers=reader.headers)
        assert app.get("/api/feed/", headers=reader.headers).json["results"] == []
    return app, author, followers


def fanout_rows(db):
    with db.cursor() as cur:
        cur.execute("SELECT id, payload, sent_at FROM outbox WHERE kind = 'fanout' ORDER BY id")
        return cur.fetchall()


def feed_ids(app, user):
    return [p["id"] for p in app.get("/api/feed/", headers=user.headers).json["results"]]


def test_a_popular_authors_post_reaches_the_feeds_through_the_task(popular, db, services):
    app, author, followers = popular
    post = create(app, author, "to many").json
    # The request wrote the task (on its own queue) instead of bumping the feeds.
    [(outbox_id, payload, sent_at)] = fanout_rows(db)
    assert payload == {"author_id": author["id"]} and sent_at is None
    assert connect(services.get("CELERY_BROKER_URL", services["REDIS_URL"])).llen("fanout") == 1
    # The author reads it at once: their posts and profile.
    assert [p["id"] for p in app.get(f"/api/users/{author['id']}/posts/", headers=author.headers).json["results"]] == [
        post["id"]
    ]
    assert app.get("/api/users/me/", headers=author.headers).json["posts_count"] == 1
    # The followers' cached feeds are left to the task...
    assert feed_ids(app, followers[0]) == []
    assert deliver.run(outbox_id) is True
    for reader in followers:  # ...which bumps them all, over two batches
        assert feed_ids(app, reader) == [post["id"]]
    assert deliver.run(outbox_id) is False  # once

    app.delete(f"/api/posts/{post['id']}/", headers=author.headers)
    # A deleted post leaves every feed at once (its own version is bumped by the request).
    assert all(feed_ids(app, reader) == [] for reader in followers)
    assert len(fanout_rows(db)) == 2


def test_a_fanout_that_redis_did_not_take_stays_pending(popular, db, monkeypatch):
    app, author, followers = popular
    post = create(app, author, "to many").json
    [(outbox_id, _, _)] = fanout_rows(db)
    monkeypatch.setattr(tasks._cache(), "bump", lambda *names: False)  # Redis away
    with pytest.raises(RuntimeError, match="did not take"):
        deliver.run(outbox_id)
    assert fanout_rows(db)[0][2] is None  # pending: the relay publishes it again
    monkeypatch.undo()
    assert deliver.run(outbox_id) is True
    assert feed_ids(app, followers[2]) == [post["id"]]


def test_few_followers_are_bumped_by_the_request(app, alice, bob, db):
    app.post(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
    assert feed_ids(app, bob) == []
    post = create(app, alice, "to one").json
    assert feed_ids(app, bob) == [post["id"]]  # no task, no worker
    assert fanout_rows(db) == []
