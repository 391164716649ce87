"""Named queries as prepared statements (store/db.py Prepared): planned once per
connection, not at every call; the same rows as the text query; "Plan: generic" queries
on a generic plan; a query PostgreSQL cannot prepare still runs, in the same transaction;
nothing prepared with database.prepare = false (PgBouncer in transaction mode)."""

import pytest

from minitwitter.store import db as store_db
from minitwitter.store import queries as queries_module
from minitwitter.store.db import Pool


@pytest.fixture
def named(wsgi_app):
    return queries_module.load(wsgi_app.registry.settings["sql.path"])


def _prepared(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {row["name"]: row for row in cur.fetchall()}


def _run(pool, fn):
    conn = pool.getconn()
    try:
        result = fn(conn)
        conn.commit()
        return conn, result
    finally:
        pool.putconn(conn)


def test_a_named_query_is_prepared_once_per_connection_and_answers_as_text_does(services, named, alice):
    pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=1000, prepare=True)
    sql = named.users.get_user.sql
    name = store_db.PREPARABLE[sql].name
    answers = []
    for _ in range(7):  # past PostgreSQL's 5 custom plans: it settles on one
        conn, row = _run(pool, lambda c: named.users.get_user(c, user_id=alice["id"]))
        answers.append(row)
    stats = _prepared(conn)
    assert name in stats
    assert stats[name]["generic_plans"] + stats[name]["custom_plans"] == 7  # one PREPARE, seven EXECUTEs
    text_pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=1000, prepare=False)
    conn, as_text = _run(text_pool, lambda c: named.users.get_user(c, user_id=alice["id"]))
    assert answers == [as_text] * 7 and as_text["username"] == alice["username"]
    assert _prepared(conn) == {}  # database.prepare = false: nothing lives in the session


def test_plan_generic_queries_run_on_a_generic_plan(services, named, alice):
    sql = named.posts.viewer_flags.sql
    assert store_db.PREPARABLE[sql].generic  # its comment says "Plan: generic"
    pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=1000, prepare=True)
    for _ in range(3):
        conn, _rows = _run(pool, lambda c: list(named.posts.viewer_flags(c, user_id=alice["id"], ids=[1, 2, 3])))
    stats = _prepared(conn)[store_db.PREPARABLE[sql].name]
    assert (stats["generic_plans"], stats["custom_plans"]) == (3, 0)
    # ... and the queries after it in the same transaction are back on plan_cache_mode auto
    conn = pool.getconn()
    try:
        list(named.posts.viewer_flags(conn, user_id=alice["id"], ids=[1]))
        named.users.get_user(conn, user_id=alice["id"])
        with conn.cursor() as cur:
            cur.execute("SHOW plan_cache_mode")
            assert cur.fetchone()["plan_cache_mode"] == "auto"
        conn.rollback()
    finally:
        pool.putconn(conn)


def test_a_query_postgresql_cannot_prepare_runs_as_text_in_the_same_transaction(services):
    sql = "SELECT %(value)s IS NULL AS missing, %(value)s AS value"  # $1's type cannot be determined
    store_db.preparable(sql)
    pool = Pool(services["DATABASE_URL"], maxconn=1, statement_timeout_ms=1000, prepare=True)
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE written (n int)")
            cur.execute("INSERT INTO written VALUES (1)")
            cur.execute(sql, {"value": None})
            assert cur.fetchone() == {"missing": True, "value": None}
            cur.execute("SELECT count(*) AS n FROM written")  # what came before is still there
            assert cur.fetchone()["n"] == 1
        assert store_db.PREPARABLE[sql].ok is False
        conn.rollback()
    finally:
        pool.putconn(conn)


def test_every_named_query_prepares(services, named):
    """The class of query PostgreSQL cannot prepare (an untyped `:offset + :limit`, whose
    operator it cannot choose): none is left, so none runs as text, planned at every call."""
    import psycopg2

    every = {getattr(group, name).sql for group in vars(named).values() for name in group.available_queries}
    assert len(every) > 100
    refused = {}
    conn = psycopg2.connect(services["DATABASE_URL"])
    try:
        with conn.cursor() as cur:
            for sql in every:
                prepared = store_db.PREPARABLE[sql]
                cur.execute("SAVEPOINT p")
                try:
                    cur.execute(prepared.prepare)
                except psycopg2.Error as e:
                    refused[" ".join(sql.split())[:160]] = e.pgerror.strip().splitlines()[0]
                cur.execute("ROLLBACK TO SAVEPOINT p")
    finally:
        conn.rollback()
        conn.close()
    assert not refused, "\n".join(f"{sql}: {error}" for sql, error in refused.items())
