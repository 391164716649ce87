"""minitwitter-migrate <ini> [--rollback-all]: apply the yoyo migrations in migrations/."""

import argparse
import logging
import os

from yoyo import get_backend, read_migrations

from minitwitter import settings as settings_module
from minitwitter.devservices import DevServices

log = logging.getLogger(__name__)


def _backend_and_migrations(database_url):
    backend = get_backend(database_url)
    return backend, read_migrations(str(settings_module.MIGRATIONS_PATH))


def apply(database_url):
    """Apply every pending migration; return how many ran."""
    backend, migrations = _backend_and_migrations(database_url)
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def rollback_all(database_url):
    """Roll back every applied migration; return how many were undone."""
    backend, migrations = _backend_and_migrations(database_url)
    with backend.lock():
        applied = backend.to_rollback(migrations)
        backend.rollback_migrations(applied)
    return len(applied)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ini", help="the ini file, e.g. development.ini")
    parser.add_argument("--rollback-all", action="store_true", help="undo every migration")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    services = DevServices(environ.get("MINITWITTER_VAR", "var"))
    try:
        services.start(environ)  # the embedded PostgreSQL when DATABASE_URL is unset
        url = settings_module.from_ini(args.ini, environ=environ, require_secret=False)["database.url"]
        if args.rollback_all:
            log.info("rolled back %d migration(s)", rollback_all(url))
        else:
            log.info("applied %d migration(s)", apply(url))
    finally:
        services.stop()


if __name__ == "__main__":
    main()
