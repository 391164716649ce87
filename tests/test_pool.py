"""The connection pool after PostgreSQL ended its idle connections (a restart, a terminated
backend): the next requests succeed, none pays for a dead connection with a 503.

`make faults` (scenario 3) restarts a private cluster; here pg_terminate_backend ends the
pool's sessions the same way, with FATAL 57P01 and a closed socket.
"""

import psycopg2

from minitwitter.store.db import Pool


def _terminate(db, application_name):
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        )
        return cur.fetchone()[0]


def test_a_connection_ended_by_the_server_is_replaced(services, db):
    pool = Pool(services["DATABASE_URL"], maxconn=2, statement_timeout_ms=1000)
    conns = [pool.getconn(), pool.getconn()]
    for conn in conns:
        pool.putconn(conn)
    assert _terminate(db, "minitwitter") >= 2

    for _ in range(2):
        conn = pool.getconn()
        assert conn not in conns
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == {"?column?": 1}
        conn.rollback()
        pool.putconn(conn)


def test_requests_succeed_after_the_database_ended_every_session(app, alice, db):
    for _ in range(3):
        app.post_json("/api/posts/", {"text": "before"}, headers=alice.headers, status=201)
    assert _terminate(db, "minitwitter") >= 1

    for n in range(3):  # each would have met a dead pooled connection
        app.post_json("/api/posts/", {"text": f"after {n}"}, headers=alice.headers, status=201)
        app.get("/api/posts/", headers=alice.headers, status=200)


def test_a_live_idle_connection_is_kept(services):
    pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=1000)
    conn = pool.getconn()
    pool.putconn(conn)
    assert pool.getconn() is conn
    assert isinstance(conn, psycopg2.extensions.connection)
