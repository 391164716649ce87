"""minitwitter-migrate <ini> [--rollback-all]: apply the yoyo migrations.

The database is DATABASE_URL, or the ini's database.url; the migrations are the ini's
migrations.path, by default the ones shipped in the package. It never starts a
development server: `make migrate` runs minitwitter-dev-migrate (tools/), which starts
the embedded PostgreSQL of `make run` when no database is configured, then this.
"""

import argparse
import logging
import os
import sys
from urllib.parse import urlsplit

from yoyo import get_backend, read_migrations

from minitwitter import settings as settings_module

log = logging.getLogger(__name__)


def _backend_and_migrations(database_url, migrations_path=None):
    backend = get_backend(database_url)
    return backend, read_migrations(str(migrations_path or settings_module.DEFAULT_MIGRATIONS_PATH))


def apply(database_url, migrations_path=None):
    """Apply every pending migration; return how many ran."""
    backend, migrations = _backend_and_migrations(database_url, migrations_path)
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def rollback_all(database_url, migrations_path=None):
    """Roll back every applied migration; return how many were undone."""
    backend, migrations = _backend_and_migrations(database_url, migrations_path)
    with backend.lock():
        applied = backend.to_rollback(migrations)
        backend.rollback_migrations(applied)
    return len(applied)


def main(argv=None, environ=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini file, e.g. production.ini")
    parser.add_argument("--rollback-all", action="store_true", help="undo every migration")
    args = parser.parse_args(argv)
    environ = dict(os.environ if environ is None else environ)
    try:
        settings = settings_module.from_ini(args.ini, environ=environ, require_secret=False)
    except settings_module.SettingsError as e:
        sys.exit(f"minitwitter-migrate: {e}")
    url, path = settings["database.url"], settings["migrations.path"]
    parts = urlsplit(url)  # logged without the credentials
    host = f"{parts.hostname}:{parts.port or 5432}" if parts.hostname else "a local socket"
    where = f"{parts.path.lstrip('/') or 'postgres'} on {host}"
    if args.rollback_all:
        log.info("rolled back %d migration(s) of %s in %s", rollback_all(url, path), path, where)
    else:
        log.info("applied %d migration(s) of %s to %s", apply(url, path), path, where)


if __name__ == "__main__":
    main()
