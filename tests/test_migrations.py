"""Migrations apply, roll back and apply again cleanly."""

import psycopg2

from minitwitter.devservices import database_name, ensure_database, with_database
from minitwitter.scripts import migrate


def _tables(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\\_yoyo%%'"
            )
            return {row[0] for row in cur.fetchall()} - {"yoyo_lock"}
    finally:
        conn.close()


def test_apply_rollback_apply(services):
    url = with_database(services["DATABASE_URL"], database_name(services["DATABASE_URL"]) + "_migrations")
    ensure_database(url, drop_first=True)
    assert migrate.apply(url) >= 1
    tables = _tables(url)
    assert {"users", "posts", "hashtags", "post_hashtags", "follows", "likes", "outbox"} <= tables
    assert migrate.apply(url) == 0  # nothing pending
    assert migrate.rollback_all(url) >= 1
    assert _tables(url) == set()
    assert migrate.apply(url) >= 1
    assert _tables(url) == tables
