"""minitwitter-celery <ini> worker|beat [celery options]: Celery with the app's settings.

minitwitter-celery production.ini worker --loglevel=INFO --concurrency=2
minitwitter-celery production.ini beat --loglevel=INFO
"""

import sys

from minitwitter import settings as settings_module
from minitwitter.worker.tasks import configure


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: minitwitter-celery <ini> worker|beat [celery options]")
    ini, celery_args = argv[0], argv[1:]
    app = configure(settings_module.from_ini(ini))
    sys.exit(app.start(celery_args) or 0)


if __name__ == "__main__":
    main()
