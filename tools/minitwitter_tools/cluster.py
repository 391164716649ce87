"""minitwitter-cluster <ini>: the whole scaled-out topology on one machine, in one process tree.

    haproxy :PORT ──> N x `pserve <ini>` (PORT=api_port+i), health-checked on /api/health/
    PgBouncer (transaction pooling) ──> PostgreSQL primary ──streaming──> replica
    Redis Cluster (3 masters + 3 replicas), or one Redis (--redis single)
    RabbitMQ (the machine's, or one started here) ──> a Celery worker per queue, one beat

What DATABASE_URL (with DATABASE_REPLICA_URLS), REDIS_URL and CELERY_BROKER_URL name is
used as it is; what they leave unset is started here, with its data in var/cluster/
(PostgreSQL's persists between runs, Redis starts empty). Migrations are applied to the
primary. Through PgBouncer in transaction mode nothing relies on session state: the
statement timeout is the database's (ALTER DATABASE ... SET statement_timeout), the app
sends none (DATABASE_STATEMENT_TIMEOUT=0), and psycopg2 prepares nothing server-side.
Ctrl-C (SIGINT) or SIGTERM stops everything and leaves nothing running.
"""

import argparse
import contextlib
import http.client
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from minitwitter.scripts import migrate
from minitwitter.worker.tasks import QUEUES
from minitwitter_tools.devservices import ensure_database, free_port, stop_groups
from minitwitter_tools.pgcluster import PrimaryReplica

log = logging.getLogger("minitwitter.cluster")

BIN = Path(sys.executable).parent
DATABASE = "minitwitter"
STATEMENT_TIMEOUT = "3s"  # production.ini's database.statement_timeout, set on the server
MACHINE_BROKER = "amqp://guest:guest@127.0.0.1:5672//"

HAPROXY_CFG = """\
global
    maxconn 4096
defaults
    mode http
    option http-server-close
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 10s
    # no healthy process (the database is down: /api/health/ is 503): the API's error shape
    errorfile 503 {errorfile}
    # a process that dies under a request: the request goes to another one
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
frontend api
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance leastconn
    option httpchk GET /api/health/
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 maxconn {maxconn}
{servers}
"""

HAPROXY_503 = """\
HTTP/1.1 503 Service Unavailable\r
Content-Type: application/json\r
Retry-After: 1\r
Cache-Control: no-store\r
Connection: close\r
\r
{"code": 503, "error": "Service Unavailable", "message": "No API process can serve this now, retry shortly", \
"details": []}
"""

PGBOUNCER_INI = """\
[databases]
{database} = host=127.0.0.1 port={primary} dbname={database}
{database}_replica = host=127.0.0.1 port={replica} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 2000
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
"""


class Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def _as_postgres(command):
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def wait_port(port, timeout=30.0, what="server"):
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} is not listening on port {port} after {timeout:.0f} s")
        time.sleep(0.1)


def http_status(port, path="/api/health/", timeout=2.0):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return 0


class Process:
    """A child in a session of its own, so its whole group is stopped together."""

    def __init__(self, name, command, env=None, log_path=None):
        self.name, self.command, self.env, self.log_path = name, [str(c) for c in command], env, log_path
        self.popen = None

    def start(self):
        log.info("starting %s: %s", self.name, " ".join(self.command))
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 (the child keeps it)
        self.popen = subprocess.Popen(
            self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
        if out:
            out.close()
        return self

    @property
    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive:
            os.killpg(self.popen.pid, sig)
            self.popen.wait()

    def stop(self, timeout=10.0):
        if self.popen is not None:
            stop_groups([self.popen], timeout)


class PgBouncer:
    def __init__(self, root, primary_port, replica_port, port):
        self.dir, self.port = Path(root), port
        self.primary_port, self.replica_port = primary_port, replica_port
        self.process = None

    def url(self, database=DATABASE):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        ini = PGBOUNCER_INI.format(
            database=DATABASE, primary=self.primary_port, replica=self.replica_port, port=self.port, dir=self.dir
        )
        (self.dir / "pgbouncer.ini").write_text(ini)
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        command = _as_postgres(["pgbouncer", self.dir / "pgbouncer.ini"])
        self.process = Process("pgbouncer", command, log_path=self.dir / "out.log").start()
        wait_port(self.port, what="pgbouncer")
        return self

    def stop(self):
        if self.process:
            self.process.stop()

    def restart(self):
        """Stopped (SIGTERM) and started again: (seconds it began, seconds it ended)."""
        began = time.monotonic()
        self.stop()
        self.start()
        return began, time.monotonic()


class RedisNodes:
    """One redis-server, or six formed into a Redis Cluster of 3 masters and 3 replicas."""

    def __init__(self, root, base_port, cluster):
        self.dir, self.cluster = Path(root), cluster
        count = 6 if cluster else 1
        self.ports = [base_port + i for i in range(count)] if base_port else [free_port() for _ in range(count)]
        self.nodes = {}

    @property
    def url(self):
        if self.cluster:
            return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port):
        node_dir = self.dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", node_dir, "--save", ""]
        command += ["--appendonly", "no", "--maxmemory-policy", "volatile-lru"]
        if self.cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            command += ["--cluster-node-timeout", "2000"]
        self.nodes[port] = Process(f"redis {port}", command, log_path=node_dir / "log").start()
        wait_port(port, what="redis-server")

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)  # a cache: it starts empty
        for port in self.ports:
            self.start_node(port)
        if self.cluster:
            addresses = [f"127.0.0.1:{p}" for p in self.ports]
            subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_ok()
        return self

    def wait_ok(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            info = subprocess.run(
                ["redis-cli", "-p", str(self.ports[0]), "cluster", "info"], capture_output=True, text=True
            ).stdout
            if "cluster_state:ok" in info:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Redis Cluster did not form: {info}")
            time.sleep(0.2)

    def masters(self):
        out = subprocess.run(
            ["redis-cli", "-p", str(self.ports[0]), "cluster", "nodes"], capture_output=True, text=True
        ).stdout
        return [int(line.split()[1].split("@")[0].rsplit(":", 1)[1]) for line in out.splitlines() if "master" in line]

    def stop(self):
        for node in self.nodes.values():
            node.stop()


class RabbitMQ:
    """The machine's RabbitMQ when one answers on 5672; else a node of its own in var."""

    def __init__(self, root, port):
        self.dir, self.port, self.process = Path(root), port, None

    @property
    def url(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            log.info("RabbitMQ answers on %d: using it", self.port)
            return self
        if not shutil.which("rabbitmq-server"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "rabbitmq-server"], check=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"minitwitter{self.port}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 20000),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_SERVER_START_ARGS": "-rabbitmq_management listener [{port,0}]",
        }
        self.process = Process("rabbitmq", ["rabbitmq-server"], env=env, log_path=self.dir / "out.log").start()
        wait_port(self.port, timeout=60, what="RabbitMQ")
        return self

    def stop(self):
        if self.process:
            self.process.stop(timeout=30)


class Topology:
    """Everything the cluster runs; start() in order, stop() in reverse, each part once."""

    def __init__(self, ini, environ, root, processes, redis_mode="single", queues=("celery",), ports=None):
        ports = ports or {}
        self.ini, self.root, self.processes = ini, Path(root), processes
        self.env = dict(environ)
        self.redis_mode, self.queues, self.ports = redis_mode, queues, ports
        self.pg = self.pgbouncer = self.redis = self.rabbitmq = self.haproxy = None
        self.web, self.workers = [], []
        self.port = int(self.env.get("PORT") or 6543)
        base = ports.get("api")
        self.api_ports = [base + i for i in range(processes)] if base else [free_port() for _ in range(processes)]

    # -- the parts -------------------------------------------------------------------

    def start_database(self):
        if self.env.get("DATABASE_URL"):
            migrate.apply(self.env["DATABASE_URL"])
            return
        base = self.ports.get("pg")
        self.pg = PrimaryReplica(self.root / "pg", *((base, base + 1) if base else (None, None))).start()
        url = self.pg.primary.url(DATABASE)
        ensure_database(url)
        with contextlib.closing(psycopg2.connect(url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"ALTER DATABASE {DATABASE} SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        migrate.apply(url)  # on the primary itself: migrations hold a session
        bouncer_port = base + 2 if base else free_port()
        self.pgbouncer = PgBouncer(self.root / "pgbouncer", self.pg.primary.port, self.pg.replica.port, bouncer_port)
        self.pgbouncer.start()
        self.env["DATABASE_URL"] = self.pgbouncer.url()
        self.env["DATABASE_REPLICA_URLS"] = self.pgbouncer.url(f"{DATABASE}_replica")
        self.env["DATABASE_STATEMENT_TIMEOUT"] = "0"  # PgBouncer refuses the startup option

    def start_redis(self):
        if self.env.get("REDIS_URL"):
            return
        self.redis = RedisNodes(self.root / "redis", self.ports.get("redis"), self.redis_mode == "cluster").start()
        self.env["REDIS_URL"] = self.redis.url

    def start_broker(self):
        if self.env.get("CELERY_BROKER_URL"):
            return
        self.rabbitmq = RabbitMQ(self.root / "rabbitmq", self.ports.get("amqp", 5672)).start()
        self.env["CELERY_BROKER_URL"] = self.rabbitmq.url

    def _secret(self):
        if self.env.get("JWT_SECRET"):
            return
        path = self.root / "jwt_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.env["JWT_SECRET"] = path.read_text().strip()

    def start_web(self, index):
        env = {**self.env, "PORT": str(self.api_ports[index])}
        env.setdefault("MEDIA_ROOT", str(self.root / "media"))
        env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{self.port}")
        process = Process(f"web {self.api_ports[index]}", [BIN / "pserve", self.ini], env=env)
        process.log_path = self.root / f"web-{self.api_ports[index]}.log"
        if index < len(self.web):
            self.web[index] = process.start()
        else:
            self.web.append(process.start())

    def wait_web(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        for port in self.api_ports:
            while http_status(port) != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pserve on {port} is not healthy; see {self.root}/web-{port}.log")
                time.sleep(0.2)

    def start_haproxy(self):
        servers = "\n".join(f"    server web{i} 127.0.0.1:{p} check" for i, p in enumerate(self.api_ports))
        errorfile = self.root / "haproxy-503.http"
        errorfile.write_text(HAPROXY_503)
        cfg = HAPROXY_CFG.format(port=self.port, servers=servers, maxconn=64, errorfile=errorfile)
        path = self.root / "haproxy.cfg"
        path.write_text(cfg)
        self.haproxy = Process("haproxy", ["haproxy", "-f", path, "-db"], log_path=self.root / "haproxy.log").start()
        wait_port(self.port, what="haproxy")
        deadline = time.monotonic() + 30
        while http_status(self.port) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy has no healthy server")
            time.sleep(0.2)

    def start_celery(self):
        celery = [BIN / "minitwitter-celery", self.ini]
        for queue in self.queues:
            # The node name holds this cluster's port: two clusters on one host and broker
            # would otherwise fight over the worker's exclusive pidbox queue and one would exit.
            node = f"{queue}-{self.port}@%h"
            command = [*celery, "worker", "-Q", queue, "-n", node, "--concurrency=2", "--loglevel=INFO"]
            log_path = self.root / f"worker-{queue}.log"
            self.workers.append(Process(f"worker {queue}", command, env=self.env, log_path=log_path).start())
        schedule = self.root / "celerybeat-schedule"
        beat = [*celery, "beat", "--loglevel=INFO", f"--schedule={schedule}"]
        self.workers.append(Process("beat", beat, env=self.env, log_path=self.root / "beat.log").start())

    # -- the whole -------------------------------------------------------------------

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._secret()
        self.start_database()
        self.start_redis()
        self.start_broker()
        for index in range(self.processes):
            self.start_web(index)
        self.wait_web()
        self.start_haproxy()
        self.start_celery()
        return self

    def children(self):
        return [p for p in (self.haproxy, *self.web, *self.workers) if p is not None]

    def stop(self):
        for process in (self.haproxy, *self.web, *self.workers):
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stop()
        for part in (self.pgbouncer, self.redis, self.rabbitmq):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        if self.pg is not None:
            self.pg.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini every API process and worker runs, e.g. production.ini")
    parser.add_argument("--processes", type=int, default=os.cpu_count(), help="API processes (default: cores)")
    parser.add_argument(
        "--redis",
        choices=("cluster", "single"),
        default="cluster",
        help="without REDIS_URL: a Redis Cluster of 3 masters + 3 replicas (default), or one redis-server",
    )
    parser.add_argument(
        "--queues",
        default=",".join(["celery", *dict.fromkeys(QUEUES.values())]),
        help="comma-separated Celery queues, a worker each (default: every queue the tasks use)",
    )
    parser.add_argument("--var", default=os.environ.get("MINITWITTER_VAR", "var"), help="data goes in VAR/cluster")
    parser.add_argument("--api-port", type=int, help="first API process port (default: free ports)")
    parser.add_argument("--pg-port", type=int, help="primary's port; replica +1, PgBouncer +2 (default: free)")
    parser.add_argument("--redis-port", type=int, help="first Redis port, 6 in a row for a cluster (default: free)")
    parser.add_argument("--amqp-port", type=int, default=5672, help="RabbitMQ's port, started here if none answers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    ports = {"api": args.api_port, "pg": args.pg_port, "redis": args.redis_port, "amqp": args.amqp_port}
    topology = Topology(
        args.ini,
        os.environ,
        Path(args.var).resolve() / "cluster",
        args.processes,
        redis_mode=args.redis,
        queues=[q for q in args.queues.split(",") if q],
        ports=ports,
    )
    try:
        topology.start()
        log.info(
            "serving on http://127.0.0.1:%s/ through haproxy (%d API processes); Ctrl-C stops everything",
            topology.port,
            args.processes,
        )
        while all(p.alive for p in topology.children()):
            time.sleep(0.2)
        dead = [p.name for p in topology.children() if not p.alive]
        log.error("%s exited; stopping the rest", ", ".join(dead))
        return 1
    except Stop as e:
        log.info("%s received, stopping", e)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        topology.stop()
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
