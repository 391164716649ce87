"""Migrations apply, roll back and apply again cleanly."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from minitwitter import settings
from minitwitter.scripts import migrate
from minitwitter_tools.devservices import database_name, ensure_database, with_database


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


def _yoyo_applied(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT migration_id FROM _yoyo_migration ORDER BY 1")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def _fresh(services, suffix):
    url = with_database(services["DATABASE_URL"], database_name(services["DATABASE_URL"]) + suffix)
    ensure_database(url, drop_first=True)
    return url


@pytest.mark.parametrize("flag", ["", "1"])
def test_migrate_command_uses_the_ini_database(services, tmp_path, flag):
    """A deploy: database.url in the ini, no DATABASE_URL. The tables appear there, and no
    development server starts (with or without MINITWITTER_DEV_SERVICES)."""
    url = _fresh(services, "_ini")
    ini = tmp_path / "deploy.ini"
    ini.write_text(f"[app:main]\nuse = egg:minitwitter\ndatabase.url = {url}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(MINITWITTER_DEV_SERVICES=flag, MINITWITTER_VAR=str(tmp_path / "var"))
    command = [str(Path(sys.executable).parent / "minitwitter-migrate"), str(ini)]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {"users", "posts", "follows", "likes", "outbox"} <= _tables(url)
    assert not (tmp_path / "var").exists()  # neither var/pg nor var/redis


def test_migrations_path_setting(services, tmp_path, monkeypatch):
    """migrations.path in the ini replaces the package's migrations."""
    url = _fresh(services, "_path")
    for name in ("0001.schema.sql", "0001.schema.rollback.sql"):
        shutil.copy(settings.DEFAULT_MIGRATIONS_PATH / name, tmp_path / name)
    ini = tmp_path / "deploy.ini"
    ini.write_text(f"[app:main]\nuse = egg:minitwitter\ndatabase.url = {url}\nmigrations.path = {tmp_path}\n")
    monkeypatch.delenv("DATABASE_URL")
    migrate.main([str(ini)])
    assert _yoyo_applied(url) == ["0001.schema"]
