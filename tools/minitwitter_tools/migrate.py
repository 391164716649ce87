"""minitwitter-dev-migrate <ini> [--rollback-all]: `make migrate`, minitwitter-migrate for a
checkout.

With MINITWITTER_DEV_SERVICES=1 (the Makefile sets it) and no database configured
(DATABASE_URL, or the ini's database.url), it starts the embedded PostgreSQL of `make run`
(devservices.py) and migrates that; otherwise it is minitwitter-migrate itself. The
deploy command, minitwitter-migrate, never starts a server: it ships in the wheel, this
does not.
"""

import os
import sys

from pyramid.paster import get_appsettings

from minitwitter.scripts import migrate
from minitwitter_tools import devservices


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = dict(os.environ)
    services = devservices.DevServices(environ.get("MINITWITTER_VAR", "var"))
    try:
        ini = next((a for a in argv if not a.startswith("-")), None)
        if ini is not None and devservices.requested(environ):
            services.start(environ, get_appsettings(ini), with_redis=False)
        migrate.main(argv, environ=environ)
    finally:
        services.stop()


if __name__ == "__main__":
    main()
