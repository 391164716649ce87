"""minitwitter-cluster <ini>: the whole scaled-out topology on one machine, in one process tree.

    haproxy :PORT ──> N x `pserve <ini>` (PORT=api_port+i), health-checked on /api/health/
    PgBouncer (transaction pooling) ──> PostgreSQL primary ──streaming──> replica
    Redis Cluster (3 masters + 3 replicas), or one Redis (--redis single)
    RabbitMQ (the machine's, or one started here) ──> a Celery worker per queue, one beat

What DATABASE_URL (with DATABASE_REPLICA_URLS), REDIS_URL and CELERY_BROKER_URL name is
used as it is; what they leave unset is started here, with its data in var/cluster/
(PostgreSQL's persists between runs, Redis starts empty). Every port not given is a free
one (a Redis Cluster node's below 55536, with its bus port + 10000 free too), taken again
if another process gets it first; when root, PostgreSQL and PgBouncer run as the postgres
user, and a var/ it cannot enter moves the state to /var/tmp (a --var it cannot enter
stops the start, saying what to change). A start that fails stops whatever it had
started and says why. Migrations are applied to the
primary. Through PgBouncer in transaction mode nothing relies on session state: the
statement timeout is the database's (ALTER DATABASE ... SET statement_timeout), the app
sends none (DATABASE_STATEMENT_TIMEOUT=0), and it prepares no statement (DATABASE_PREPARE=false).
Ctrl-C (SIGINT) or SIGTERM stops everything and leaves nothing running.

--hosts N (root): the N API processes and each worker run as hosts of their own, each in a
network namespace on a bridge with its own address, media and temp directories; the
services are reached at the bridge's addresses, never 127.0.0.1 (hosts.py). The network
is removed with the rest.
"""

import argparse
import contextlib
import hashlib
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
from minitwitter_tools.devservices import _free_cluster_port, _serving, ensure_database, free_port, stop_groups
from minitwitter_tools.hosts import DEFAULT_SUBNET, Network
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
    # each client's address, for the per-address limits (minitwitter/web/proxy.py)
    option forwardfor
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
listen_addr = {listen}
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


class PortTaken(RuntimeError):
    """A server could not bind the port it was given: another process has it."""


def port_free(port):
    """Nothing listens on `port` (connections of a run that just stopped, in TIME_WAIT, do not
    count: the servers bind with SO_REUSEADDR, as this does)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_port(port, timeout=30.0, what="server", process=None, host="127.0.0.1"):
    """Until something listens on `port`; with `process`, it must still be running (one
    that exited, say because the port was taken, is reported at once, with its log)."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and not process.alive:
            tail = process.log_tail()
            error = PortTaken if "in use" in tail else RuntimeError
            raise error(f"{what} on port {port} exited ({process.returncode}): {tail}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} is not listening on port {port} after {timeout:.0f} s")
        time.sleep(0.1)


def http_status(port, path="/api/health/", timeout=2.0, host="127.0.0.1"):
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
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

    @property
    def returncode(self):
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines=5):
        """The last lines of its log, for an error message."""
        if not self.log_path or not Path(self.log_path).exists():
            return "(no log)"
        text = Path(self.log_path).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) + f" (log: {self.log_path})"

    def kill(self, sig=signal.SIGKILL):
        if self.alive:
            os.killpg(self.popen.pid, sig)
            self.popen.wait()

    def stop(self, timeout=10.0):
        if self.popen is not None:
            stop_groups([self.popen], timeout)


class PgBouncer:
    """`listen`: the addresses it listens on besides 127.0.0.1 (the hosts' bridge ones)."""

    def __init__(self, root, primary_port, replica_port, port=None, listen=()):
        self.dir, self.port, self.any_port = Path(root), port or free_port(), port is None
        self.primary_port, self.replica_port = primary_port, replica_port
        self.listen = ["127.0.0.1", *listen]
        self.process = None

    def url(self, database=DATABASE, host="127.0.0.1"):
        return f"postgresql://postgres@{host}:{self.port}/{database}"

    def start(self, attempts=3):
        for attempt in range(attempts if self.any_port else 1):
            try:
                return self._start()
            except PortTaken:
                self.stop()
                if attempt == attempts - 1 or not self.any_port:
                    raise
                self.port = free_port()  # taken since free_port() saw it free

    def _start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        ini = PGBOUNCER_INI.format(
            database=DATABASE,
            primary=self.primary_port,
            replica=self.replica_port,
            port=self.port,
            dir=self.dir,
            listen=",".join(self.listen),
        )
        (self.dir / "pgbouncer.ini").write_text(ini)
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        command = _as_postgres(["pgbouncer", self.dir / "pgbouncer.ini"])
        self.process = Process("pgbouncer", command, log_path=self.dir / "out.log").start()
        wait_port(self.port, what="pgbouncer", process=self.process)
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
    """One redis-server, or six formed into a Redis Cluster of 3 masters and 3 replicas.

    Without `base_port` each node takes a free port (a cluster node one whose bus port,
    + 10000, is free too: redis-server refuses a cluster port above 55535), and the whole
    set is taken again, up to three times, when another process binds one first. `address`:
    the one the nodes listen on besides 127.0.0.1 and announce to clients (a Redis Cluster
    sends its nodes' addresses in MOVED replies: a host must reach them)."""

    HIGHEST_CLUSTER_PORT = 65535 - 10000

    def __init__(self, root, base_port, cluster, maxmemory_policy="volatile-lru", address="127.0.0.1"):
        self.dir, self.cluster, self.policy, self.address = Path(root), cluster, maxmemory_policy, address
        self.count = 6 if cluster else 1
        self.any_port = not base_port
        if base_port and cluster and base_port + self.count - 1 > self.HIGHEST_CLUSTER_PORT:
            raise ValueError(
                f"--redis-port {base_port}: a Redis Cluster takes {self.count} ports from it, each with a bus "
                f"port 10000 above, so it must be at most {self.HIGHEST_CLUSTER_PORT - self.count + 1}"
            )
        self.ports = [base_port + i for i in range(self.count)] if base_port else self._free_ports()
        self.nodes = {}

    def _free_ports(self):
        pick = _free_cluster_port if self.cluster else free_port
        ports = []
        while len(ports) < self.count:
            port = pick()
            if port not in ports:
                ports.append(port)
        return ports

    @property
    def url(self):
        if self.cluster:
            return "redis+cluster://" + ",".join(f"{self.address}:{p}" for p in self.ports[:3])
        return f"redis://{self.address}:{self.ports[0]}/0"

    def start_node(self, port):
        node_dir = self.dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        binds = dict.fromkeys(["127.0.0.1", self.address])
        command = ["redis-server", "--port", port, "--bind", *binds, "--dir", node_dir, "--save", ""]
        command += ["--appendonly", "no", "--maxmemory-policy", self.policy]
        if self.address != "127.0.0.1":  # the hosts' private bridge: protected mode refuses them
            command += ["--protected-mode", "no"]
        if self.cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            command += ["--cluster-node-timeout", "2000", "--cluster-announce-ip", self.address]
        node = self.nodes[port] = Process(f"redis {port}", command, log_path=node_dir / "log").start()
        # It answers as itself (not another run's server that took the port first), or exits.
        if not _serving(node.popen, port, time.monotonic() + 30):
            state = f"exited ({node.returncode})" if not node.alive else "is not answering"
            tail = node.log_tail()
            error = PortTaken if "in use" in tail or node.alive else RuntimeError
            raise error(f"redis-server on port {port} {state}: {tail}")

    def start(self, attempts=3):
        for attempt in range(attempts if self.any_port else 1):
            try:
                return self._start()
            except PortTaken:
                self.stop()
                if attempt == attempts - 1 or not self.any_port:
                    raise
                self.ports = self._free_ports()  # taken since they were seen free
            except BaseException:
                self.stop()
                raise

    def _start(self):
        shutil.rmtree(self.dir, ignore_errors=True)  # a cache: it starts empty
        for port in self.ports:
            self.start_node(port)
        if self.cluster:
            addresses = [f"{self.address}:{p}" for p in self.ports]
            done = subprocess.run(
                ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode:
                raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout[-500:]} {done.stderr[-500:]}")
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
        stop_groups([node.popen for node in self.nodes.values() if node.popen is not None])  # all at once
        self.nodes = {}


class RabbitMQ:
    """The machine's RabbitMQ when one answers on 5672; else a node of its own in var."""

    def __init__(self, root, port):
        self.dir, self.port, self.process = Path(root), port, None

    @property
    def url(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self):
        """Assigned before it starts (Topology.stop() must find a half-started one)."""
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
        wait_port(self.port, timeout=60, what="RabbitMQ", process=self.process)
        return self

    def stop(self):
        if self.process:
            self.process.stop(timeout=30)


class Topology:
    """Everything the cluster runs; start() in order, stop() in reverse, each part once.

    Each part is recorded before it starts, so that stop() after a start that failed
    halfway stops what that part had started too. `root_default`: the state directory is
    the default one (not the user's), so it may move where the postgres user can work."""

    DEFAULT_PORT = 6543

    def __init__(
        self,
        ini,
        environ,
        root,
        processes,
        redis_mode="single",
        queues=("celery",),
        ports=None,
        root_default=False,
        hosts=False,
        subnet=None,
    ):
        ports = ports or {}
        self.ini, self.root, self.processes, self.root_default = ini, Path(root), processes, root_default
        self.env = dict(environ)
        # --hosts: each API process and each worker a host of its own (hosts.py)
        self.network = Network(subnet or DEFAULT_SUBNET, processes, len(queues), self.env) if hosts else None
        self.redis_mode, self.queues, self.ports = redis_mode, queues, ports
        self.pg = self.pgbouncer = self.redis = self.rabbitmq = self.haproxy = self.relay = None
        self.web, self.workers = [], []
        self.port_given = bool(self.env.get("PORT"))
        self.port = int(self.env.get("PORT") or self.DEFAULT_PORT)
        base = ports.get("api")
        self.any_api_port = not base
        self.api_ports = [base + i for i in range(processes)] if base else [free_port() for _ in range(processes)]
        if self.network:  # each host has its own address: one port for all
            self.api_ports = [base or self.DEFAULT_API_PORT] * processes
            self.any_api_port = False

    DEFAULT_API_PORT = 6544

    def web_address(self, index):
        """Where API process `index` listens: its host's address, or this machine's loopback."""
        return self.network.address(index + 1) if self.network else "127.0.0.1"

    def _on_host(self, number, name, command, env):
        """`command` run on host `number` (its namespace, media and temp directories), or here."""
        if not self.network:
            return command, env
        host_dir = self.root / "hosts" / self.network.name(number)
        for sub in ("media", "tmp"):
            _make_dirs(host_dir / sub)
        env = {**env, "MEDIA_ROOT": str(host_dir / "media"), "TMPDIR": str(host_dir / "tmp")}
        return self.network.command(number, command), env

    # -- what it picks by itself --------------------------------------------------------

    def _front_port(self):
        """PORT, which must be free; without PORT, 6543, or a free port when 6543 is taken."""
        if port_free(self.port):
            return
        if self.port_given:
            raise RuntimeError(f"port {self.port} (PORT) is in use by another process: set PORT to a free port")
        taken, self.port = self.port, free_port()
        log.warning("port %d is in use: haproxy serves on %d instead (set PORT to choose)", taken, self.port)

    def _state_root(self):
        """The state directory, made; when root, one the postgres user (which runs
        PostgreSQL and PgBouncer) can enter and write. A default one it cannot (var/ under
        a root-only parent such as /root) moves to /var/tmp; a chosen one stops the start
        with what to change."""
        _make_dirs(self.root)
        if os.geteuid() != 0 or self.env.get("DATABASE_URL") or _postgres_can_use(self.root):
            return
        blocked = _blocking_parent(self.root)
        if not self.root_default:
            raise RuntimeError(
                f"PostgreSQL runs as the postgres user, which cannot use {self.root}: {blocked}. "
                f"Pass --var a directory it can enter (e.g. --var /var/tmp/minitwitter), "
                f"or let it in (chmod o+x on that parent), or set DATABASE_URL to a running PostgreSQL"
            )
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:10]
        moved = Path("/var/tmp") / f"minitwitter-cluster-{digest}"
        log.warning("the postgres user cannot use %s (%s): the cluster's state goes to %s", self.root, blocked, moved)
        self.root = moved
        _make_dirs(self.root)
        if not _postgres_can_use(self.root):
            raise RuntimeError(f"the postgres user cannot use {self.root} either: {_blocking_parent(self.root)}")

    # -- the parts -------------------------------------------------------------------

    def start_database(self):
        if self.env.get("DATABASE_URL"):
            migrate.apply(self.env["DATABASE_URL"])
            return
        base = self.ports.get("pg")
        self.pg = PrimaryReplica(self.root / "pg", *((base, base + 1) if base else (None, None)))
        self.pg.start()
        url = self.pg.primary.url(DATABASE)
        ensure_database(url)
        with contextlib.closing(psycopg2.connect(url)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"ALTER DATABASE {DATABASE} SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        migrate.apply(url)  # on the primary itself: migrations hold a session
        bouncer_port = base + 2 if base else None
        # On hosts, the primary and the replica are each reached at an address of their own
        # (one PgBouncer listening on both): a host can be cut from one only.
        primary, replica = (self.network.primary, self.network.replica) if self.network else ("127.0.0.1",) * 2
        listen = dict.fromkeys([primary, replica]) if self.network else ()
        self.pgbouncer = PgBouncer(
            self.root / "pgbouncer", self.pg.primary.port, self.pg.replica.port, bouncer_port, listen
        )
        self.pgbouncer.start()
        self.env["DATABASE_URL"] = self.pgbouncer.url(host=primary)
        self.env["DATABASE_REPLICA_URLS"] = self.pgbouncer.url(f"{DATABASE}_replica", host=replica)
        self.env["DATABASE_STATEMENT_TIMEOUT"] = "0"  # PgBouncer refuses the startup option
        self.env["DATABASE_PREPARE"] = "false"  # transaction mode: no session keeps a prepared statement

    def start_redis(self):
        if self.env.get("REDIS_URL"):
            return
        address = self.network.redis if self.network else "127.0.0.1"
        self.redis = RedisNodes(
            self.root / "redis", self.ports.get("redis"), self.redis_mode == "cluster", address=address
        )
        self.redis.start()
        self.env["REDIS_URL"] = self.redis.url

    def start_broker(self):
        if self.env.get("CELERY_BROKER_URL"):
            return
        self.rabbitmq = RabbitMQ(self.root / "rabbitmq", self.ports.get("amqp", 5672))
        self.rabbitmq.start()
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
        if self.network:  # haproxy reaches a host from this machine's address on the bridge
            env.setdefault("TRUSTED_PROXIES", f"127.0.0.1 ::1 {self.network.services}")
        command, env = self._on_host(index + 1, "web", [BIN / "pserve", self.ini], env)
        where = f"{self.web_address(index)}:{self.api_ports[index]}" if self.network else self.api_ports[index]
        process = Process(f"web {where}", command, env=env)
        log_name = f"web-{self.network.name(index + 1)}" if self.network else f"web-{self.api_ports[index]}"
        process.log_path = self.root / f"{log_name}.log"
        if index < len(self.web):
            self.web[index] = process.start()
        else:
            self.web.append(process.start())

    def wait_web(self, timeout=60.0, attempts=3):
        """Until every API process answers 200 on /api/health/. One that exits is reported
        at once; one whose free port another process took first starts again on another."""
        deadline = time.monotonic() + timeout
        for index in range(len(self.api_ports)):
            tries = 1
            while http_status(self.api_ports[index], host=self.web_address(index)) != 200:
                process, port = self.web[index], self.api_ports[index]
                if not process.alive:
                    tail = process.log_tail()
                    if self.any_api_port and "in use" in tail and tries < attempts:
                        tries += 1
                        self.api_ports[index] = free_port()
                        self.start_web(index)
                        continue
                    raise RuntimeError(f"pserve on port {port} exited ({process.returncode}): {tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pserve on {port} is not healthy; see {process.log_path}")
                time.sleep(0.2)

    def start_haproxy(self):
        servers = "\n".join(f"    server web{i} {self.web_address(i)}:{p} check" for i, p in enumerate(self.api_ports))
        errorfile = self.root / "haproxy-503.http"
        errorfile.write_text(HAPROXY_503)
        cfg = HAPROXY_CFG.format(port=self.port, servers=servers, maxconn=64, errorfile=errorfile)
        path = self.root / "haproxy.cfg"
        path.write_text(cfg)
        self.haproxy = Process("haproxy", ["haproxy", "-f", path, "-db"], log_path=self.root / "haproxy.log").start()
        wait_port(self.port, what="haproxy", process=self.haproxy)
        deadline = time.monotonic() + 30
        while http_status(self.port) != 200:
            if not self.haproxy.alive:
                raise RuntimeError(f"haproxy exited ({self.haproxy.returncode}): {self.haproxy.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy has no healthy server")
            time.sleep(0.2)

    def start_relay(self):
        """The services this machine has on 127.0.0.1 only (its RabbitMQ, an SMTP server, a
        given database or Redis), reached by the hosts at the services' bridge address through
        a TCP relay (haproxy in tcp mode); their URLs in the hosts' environment say so."""
        cfg = self.network.relay_config(self.env)
        if not cfg:
            return
        path = self.root / "relay.cfg"
        path.write_text(cfg)
        self.relay = Process("relay", ["haproxy", "-f", path, "-db"], log_path=self.root / "relay.log").start()
        for address, port in self.network.relayed:
            wait_port(port, what="the services relay", process=self.relay, host=address)

    def start_celery(self):
        celery = [BIN / "minitwitter-celery", self.ini]
        for number, queue in enumerate(self.queues, start=self.processes + 1):
            # The node name holds this cluster's port: two clusters on one host and broker
            # would otherwise fight over the worker's exclusive pidbox queue and one would exit.
            node = f"{queue}-{self.port}@{self.network.name(number) if self.network else '%h'}"
            command = [*celery, "worker", "-Q", queue, "-n", node, "--concurrency=2", "--loglevel=INFO"]
            command, env = self._on_host(number, "worker", command, self.env)
            name = f"worker-{queue}-{self.network.name(number)}" if self.network else f"worker-{queue}"
            log_path = self.root / f"{name}.log"
            self.workers.append(Process(name.replace("-", " ", 1), command, env=env, log_path=log_path).start())
        schedule = self.root / "celerybeat-schedule"
        beat = [*celery, "beat", "--loglevel=INFO", f"--schedule={schedule}"]
        beat, env = self._on_host(self.processes + 1, "beat", beat, self.env)  # beside the first worker
        self.workers.append(Process("beat", beat, env=env, log_path=self.root / "beat.log").start())

    # -- the whole -------------------------------------------------------------------

    def start(self):
        self._state_root()
        self._front_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._secret()
        if self.network:
            self.network.start(self.port)
        self.start_database()
        self.start_redis()
        self.start_broker()
        if self.network:
            self.start_relay()
        for index in range(self.processes):
            self.start_web(index)
        self.wait_web()
        self.start_haproxy()
        self.start_celery()
        return self

    def children(self):
        return [p for p in (self.haproxy, *self.web, *self.workers, self.relay) if p is not None]

    def stop(self):
        for process in (self.haproxy, *self.web, *self.workers, self.relay):
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stop()
        for part in (self.pgbouncer, self.redis, self.rabbitmq):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()
        if self.network is not None:
            self.network.stop()


def _make_dirs(path):
    """mkdir -p, each directory it makes 0755 whatever the umask (the postgres user
    must be able to pass through them)."""
    missing = []
    for parent in (path, *path.parents):
        if parent.exists():
            break
        missing.append(parent)
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o755)


def _postgres_can(test, path):
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", test, str(path)], check=False).returncode == 0


def _postgres_can_use(path):
    """The postgres user can enter `path` (its owner is changed to postgres afterwards)."""
    return all(_postgres_can("-x", parent) for parent in path.parents)


def _blocking_parent(path):
    for parent in reversed(path.parents):
        if not _postgres_can("-x", parent):
            st = parent.stat()
            return f"{parent} (mode {oct(st.st_mode & 0o777)[2:]}) does not let it in"
    return f"{path} is not usable by it"


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
    parser.add_argument(
        "--var",
        default=os.environ.get("MINITWITTER_VAR"),
        help="data goes in VAR/cluster (default: ./var, or /var/tmp when the postgres user cannot enter it)",
    )
    parser.add_argument("--api-port", type=int, help="first API process port (default: free ports)")
    parser.add_argument("--pg-port", type=int, help="primary's port; replica +1, PgBouncer +2 (default: free)")
    parser.add_argument("--redis-port", type=int, help="first Redis port, 6 in a row for a cluster (default: free)")
    parser.add_argument("--amqp-port", type=int, default=5672, help="RabbitMQ's port, started here if none answers")
    parser.add_argument(
        "--hosts",
        type=int,
        help="N API processes, each a host of its own (a network namespace; root), and a host per worker "
        "after them; haproxy routes to their addresses (hosts.py)",
    )
    parser.add_argument("--subnet", default=DEFAULT_SUBNET, help=f"the hosts' network (default {DEFAULT_SUBNET})")
    args = parser.parse_args(argv)
    if args.hosts is not None:
        if args.hosts < 1:
            parser.error("--hosts must be at least 1")
        args.processes = args.hosts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    ports = {"api": args.api_port, "pg": args.pg_port, "redis": args.redis_port, "amqp": args.amqp_port}
    try:
        topology = Topology(
            args.ini,
            os.environ,
            Path(args.var or "var").resolve() / "cluster",
            args.processes,
            redis_mode=args.redis,
            queues=[q for q in args.queues.split(",") if q],
            ports=ports,
            root_default=args.var is None,
            hosts=args.hosts is not None,
            subnet=args.subnet,
        )
        if args.redis == "cluster" and args.redis_port:
            RedisNodes(topology.root / "redis", args.redis_port, cluster=True)  # checks the port range
    except ValueError as e:
        parser.error(str(e))
    try:
        topology.start()
        log.info(
            "serving on http://127.0.0.1:%s/ through haproxy (%d API processes%s); Ctrl-C stops everything",
            topology.port,
            args.processes,
            ", each on a host of its own" if args.hosts else "",
        )
        while all(p.alive for p in topology.children()):
            time.sleep(0.2)
        dead = [p.name for p in topology.children() if not p.alive]
        log.error("%s exited; stopping the rest", ", ".join(dead))
        return 1
    except Stop as e:
        log.info("%s received, stopping", e)
        return 0
    except Exception as e:
        # RuntimeError is a part failing and says why; anything else is a bug: its traceback too
        bug = not isinstance(e, RuntimeError)
        log.error("the cluster did not start: %s; stopping what had started", e, exc_info=bug)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        topology.stop()
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
