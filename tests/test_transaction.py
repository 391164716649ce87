"""The transaction door (minitwitter/store/tx.py): one Tx per request or task, ended once.

A request's Tx is request.tx, ended by web/transaction.py's tween; a task's comes from the
same Store (worker/tasks.py). What they do after a commit or a rollback runs once, and
nothing of it travels through the WSGI environ.
"""

import psycopg2
import pytest

from minitwitter.domain import freshness

# The environ keys left, each because there is no request to hold it: what a retry's fresh
# request shares with the attempt before (the request id, the rate limit's headers), what
# the near cache reads below Pyramid (the path asked), what whoever called the WSGI app
# reads once it returns (the statement count: the access log, tests, minitwitter-bench).
ENVIRON_KEYS = {"minitwitter.request_id", "minitwitter.ratelimit", "minitwitter.path_asked", "minitwitter.queries"}


@pytest.mark.parametrize("kind", ["json", "form"])
def test_a_post_carries_nothing_of_its_transaction_in_the_environ(app, alice, kind):
    send = app.post_json if kind == "json" else app.post
    response = send("/api/posts/", {"text": "one pass #tx"}, headers={**alice.headers, "Idempotency-Key": "k1"})
    assert response.status_int == 201
    keys = {key for key in response.request.environ if key.startswith("minitwitter.")}
    assert keys <= ENVIRON_KEYS, keys - ENVIRON_KEYS
    assert response.request.environ["minitwitter.queries"] > 0  # counted all the same


def test_a_write_refused_by_the_rate_limit_gives_its_connection_back(make_app, alice, bob):
    """The rate limiter checks the account (a statement) above the tween that ends the
    transaction; its 429 never reaches that tween, and the connection must go back anyway."""
    make_app(**{"ratelimit.writes": "1/300"}).post(f"/api/users/{bob['id']}/follow/", headers=alice.headers)
    limited = make_app(**{"ratelimit.writes": "1/300"})  # a new app: alice's token is checked again
    pool = limited.app.registry.store.pool
    for _ in range(3):
        limited.post(f"/api/users/{bob['id']}/follow/", headers=alice.headers, status=429)
    assert pool.in_use == 0


def test_a_task_tx_bumps_what_it_made_stale_after_its_commit_only(wsgi_app, redis_client):
    store, name = wsgi_app.registry.store, freshness.post(424242)

    def version():
        return int(redis_client.get(f"v:{name}") or 0)

    with store.begin() as tx:  # the version exists (a missing one is made afresh: store/cache.py)
        tx.stale(name)
    before, ran = version(), []
    with store.begin() as tx:
        tx.queries.health.ping(tx.db)
        tx.stale(name, name)  # declared twice, bumped once
        tx.after_commit(lambda: ran.append(("commit", version())))
        tx.after_rollback(lambda: ran.append("rollback"))
        assert version() == before  # not before the commit
    assert version() == before + 1 and ran == [("commit", before + 1)]  # bumped before the hooks
    tx.commit(), tx.rollback(), tx.close()  # ended once: nothing runs again
    assert ran == [("commit", before + 1)] and store.pool.in_use == 0

    with pytest.raises(LookupError), store.begin() as tx:
        tx.queries.health.ping(tx.db)
        tx.stale(name)
        tx.after_commit(lambda: ran.append("commit"))
        tx.after_rollback(lambda: ran.append("rollback"))
        raise LookupError("the task failed")
    assert version() == before + 1 and ran[1:] == ["rollback"] and store.pool.in_use == 0
    with pytest.raises(RuntimeError, match="ended"):
        tx.db  # noqa: B018


def test_a_separate_tx_sticks_when_its_parent_rolls_back(wsgi_app, db, alice):
    store = wsgi_app.registry.store
    with pytest.raises(psycopg2.errors.DivisionByZero), store.begin() as tx:
        with tx.separate() as alone:
            alone.queries.tokens.revoke_user_tokens(alone.db, user_id=alice["id"])
        with tx.db.cursor() as cur:
            cur.execute("SELECT 1 / 0")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")
        assert cur.fetchone()[0] == 0
    assert store.pool.in_use == 0
