"""minitwitter-faults <ini>: five faults injected into the real service under load.

Each scenario starts what it needs for real: `pserve <ini>` (waitress) on a free port,
private redis-server processes, an aiosmtpd server and a Celery worker, a private
PostgreSQL cluster (initdb in a temp dir: the machine's own cluster is never
restarted). Client threads drive requests, one fault is injected, and the scenario
checks its requirement:

1. redis      the cache's Redis is killed -9 mid-load, then started again: every request 2xx.
2. broker     the Celery broker is killed mid-way through 50 follows, then started again;
              the outbox relay runs: every follow 2xx, every follow email arrives, once.
3. postgres   `pg_ctl restart -m fast` under writes: errors only during the restart and
              only 503 + Retry-After, every acknowledged (201) post stored, and the pool
              recovers without restarting the app (also after a restart while idle).
4. slowloris  100 connections trickle a request byte by byte: a normal client stays
              all 2xx, its p99 within 3x its baseline.
5. sigterm    SIGTERM while requests (bcrypt sign-ups among them) are in flight: each
              gets its response, and the process exits within 5 s.

The rest of the service's data lives in DATABASE_URL's database (default
minitwitter_faults on 127.0.0.1:5432), emptied before each scenario. Writes
bench/results/faults-<date>.md and .json; exits 1 when a requirement fails. Every
process it starts is stopped on the way out, failure or not.
"""

import argparse
import collections
import contextlib
import datetime
import email
import email.policy
import glob
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import redis
from aiosmtpd.controller import Controller
from pyramid.paster import get_appsettings

from minitwitter import settings as settings_module
from minitwitter.scripts import migrate
from minitwitter.worker import tasks
from minitwitter_tools.devservices import RedisServer, ensure_database, free_port, stop_groups

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/minitwitter_faults"
RESULTS = Path("bench/results")
PASSWORD = "fault injection"
# A few users sending thousands of requests would be over the limits at once; every
# request still goes through the check (a Redis INCR, which scenario 1 takes away).
UNLIMITED = {"RATELIMIT_LOGIN": "1000000/1", "RATELIMIT_SIGNUP": "1000000/1", "RATELIMIT_WRITES": "1000000/1"}
BIN = Path(sys.executable).parent


# --- the client ----------------------------------------------------------------------


@dataclass
class Result:
    method: str
    path: str
    start: float
    end: float
    status: int = 0  # 0: no response (error says why)
    headers: dict = field(default_factory=dict)
    body: object = None
    error: str = ""

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def ms(self):
        return (self.end - self.start) * 1000


class Client:
    """One keep-alive HTTP/1.1 connection (http.client) that never retries: a failure is
    a Result with status 0 and the exception's name, and the next request reconnects.
    `port`: on 127.0.0.1, or a (host, port) pair. `body`: sent as JSON, or a
    (content type, bytes) pair sent as it is (a multipart form)."""

    def __init__(self, port, timeout=30):
        host, port = port if isinstance(port, tuple) else ("127.0.0.1", port)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None):
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = token
        if isinstance(body, tuple):
            headers["Content-Type"], payload = body
        else:
            payload = json.dumps(body).encode() if body is not None else None
        start = time.monotonic()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            return Result(method, path, start, time.monotonic(), error=type(e).__name__)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw[:200]
        return Result(method, path, start, time.monotonic(), response.status, dict(response.getheaders()), data)

    def close(self):
        self.conn.close()


def signup(port, username):
    """Sign `username` up and log in: the "Bearer <access>" header value and the user id."""
    client = Client(port)
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    created = client.request("POST", "/api/users/", body)
    tokens = client.request("POST", "/api/token/", {"username": username, "password": PASSWORD})
    client.close()
    if created.status != 201 or tokens.status != 200:
        raise RuntimeError(f"sign up {username}: HTTP {created.status} {created.body}, {tokens.status}")
    return f"Bearer {tokens.body['access']}", created.body["id"]


class Load:
    """`threads` client threads, each on its own connection, sending `next_request(i, n)`
    -> (method, path, body, token) back to back (or `pause` apart) until stop(), or until
    each has sent `requests`. A refused connection ends its thread: nothing listens."""

    def __init__(self, port, threads, next_request, pause=0.0, requests=None):
        self.port, self.next_request, self.pause, self.requests = port, next_request, pause, requests
        self.results, self.stopping = [], threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self):
        self.t0 = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        self.join()

    def join(self):
        for thread in self.threads:
            thread.join(60)

    def _run(self, i):
        client, n = Client(self.port), 0
        while not self.stopping.is_set() and n != self.requests:
            method, path, body, token = self.next_request(i, n)
            result = client.request(method, path, body, token)
            self.results.append(result)
            if result.error == "ConnectionRefusedError":
                break
            n += 1
            if self.pause:
                self.stopping.wait(self.pause)
        client.close()

    def at(self, seconds):
        """Sleep until `seconds` after the load started."""
        time.sleep(max(0.0, self.t0 + seconds - time.monotonic()))


def percentile(values, p):
    values = sorted(values)
    return round(values[max(0, math.ceil(p / 100 * len(values)) - 1)], 1) if values else None


def stats(results):
    """requests, failures (non-2xx or no response), p50 and p99 in ms."""
    latencies = [r.ms for r in results]
    failures = [r for r in results if not r.ok]
    return {
        "requests": len(results),
        "failures": len(failures),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "failure_kinds": dict(collections.Counter(str(r.status or r.error) for r in failures)),
    }


def between(results, t0, t1):
    """The results of requests started in [t0, t1)."""
    return [r for r in results if t0 <= r.start < t1]


# --- the services ----------------------------------------------------------------------


class Stack(contextlib.ExitStack):
    """Everything a scenario started, stopped in reverse order however it ends."""

    def start(self, service):
        service.start()
        self.callback(service.stop)
        return service


class Pserve:
    """`pserve <ini>` on a free port with `env` (PORT set here), logging to a file."""

    def __init__(self, ini, env, workdir):
        self.ini, self.env, self.port = ini, env, free_port()
        self.log_path = Path(workdir) / f"pserve-{self.port}.log"
        self.process, self.expect_exit = None, False

    def start(self, timeout=60):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "pserve"), self.ini],
                env={**self.env, "PORT": str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.health() != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pserve did not start: {self.log_tail()}")
            time.sleep(0.2)

    def health(self):
        client = Client(self.port, timeout=5)
        status = client.request("GET", "/api/health/").status
        client.close()
        return status

    def stop(self):
        if self.process and self.process.poll() is None:
            stop_groups([self.process])
        elif self.process and not self.expect_exit:
            print(f"pserve on port {self.port} had exited by itself ({self.process.returncode})", file=sys.stderr)

    def log_tail(self, lines=15):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_count(self, text):
        return self.log_path.read_text(errors="replace").count(text)


class Redis:
    """A private redis-server (devservices.RedisServer: no persistence) that can be
    killed -9 and started again on the same port, empty."""

    def __init__(self, workdir):
        self.server = RedisServer(workdir)

    @property
    def url(self):
        return self.server.url

    def start(self):
        self.server.start()

    def kill(self):
        self.server.process.kill()
        self.server.process.wait()

    def restart(self):
        self.server = RedisServer(self.server.dir.parent, port=self.server.port).start()

    def stop(self):
        self.server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of its own: the system's binaries, initdb in a temp dir, a
    free port, trust auth. Run as the postgres user when this process is root."""

    def __init__(self, workdir):
        self.dir = Path(workdir) / "pg"
        self.data = self.dir / "data"
        self.port = free_port()
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not bins:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])

    def url(self, database):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args):
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self):
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options)

    def restart(self):
        """`pg_ctl restart -m fast`: (seconds it began, seconds it ended), time.monotonic()."""
        began = time.monotonic()
        self._run("pg_ctl", "restart", "-m", "fast", "-w", "-D", str(self.data), "-l", str(self.dir / "log"))
        return began, time.monotonic()

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))


class Inbox:
    """A real SMTP server (aiosmtpd) on a free port, keeping every message it accepts."""

    def __init__(self):
        self.messages, self.controller = [], None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.controller.port}"

    def stop(self):
        self.controller.stop()


class Worker:
    """`minitwitter-celery <ini> worker`: the project's Celery entry point, one process."""

    def __init__(self, ini, env, workdir):
        self.ini, self.env, self.log_path = ini, env, Path(workdir) / "worker.log"

    def start(self):
        command = [str(BIN / "minitwitter-celery"), self.ini, "worker", "--loglevel=INFO", "--pool=solo"]
        command += ["-n", f"faults-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )

    def stop(self):
        stop_groups([self.process], timeout=15)


def reset_database(url):
    """Every table emptied (ids restart): each scenario starts from nothing."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%%yoyo%%'")
        tables = ", ".join(f'"{row[0]}"' for row in cur.fetchall())
        cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cur.execute("INSERT INTO post_totals (slot) SELECT generate_series(0, 15)")  # the split counter's rows
    conn.close()


def query(url, sql, params=None):
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


class Run:
    """What every scenario shares: the ini, the environment, the database, a stable
    private Redis (cache and broker unless a scenario says otherwise), a temp dir."""

    def __init__(self, ini, database_url, workdir):
        self.ini, self.database_url, self.workdir = ini, database_url, Path(workdir)
        self.env = {**os.environ, **UNLIMITED, "BCRYPT_ROUNDS": "4", "JWT_SECRET": secrets.token_urlsafe(48)}
        self.env.update(DATABASE_URL=database_url, MEDIA_ROOT=str(self.workdir / "media"))
        self.env.pop("CELERY_BROKER_URL", None)
        self.env.pop("SMTP_URL", None)

    def scenario_dir(self, name):
        path = self.workdir / name
        path.mkdir()
        return path

    def fresh(self, stack, name, **env):
        """A scenario's start: empty tables, an empty stable Redis, its pserve and dir."""
        reset_database(env.get("DATABASE_URL", self.database_url))
        redis.Redis.from_url(self.redis.url).flushall()
        workdir = self.scenario_dir(name)
        pserve = stack.start(Pserve(self.ini, {**self.env, "REDIS_URL": self.redis.url, **env}, workdir))
        return pserve, workdir


def requirement(text, ok):
    return {"requirement": text, "ok": bool(ok)}


# --- the scenarios -----------------------------------------------------------------------


def redis_killed(run):
    """Proves the cache is optional: with Redis gone mid-load (kill -9, no goodbye) every
    request is still answered 2xx from PostgreSQL, and once Redis is back it is used again."""
    with Stack() as stack:
        workdir = run.scenario_dir("redis-cache")
        cache = stack.start(Redis(workdir))
        pserve, _ = run.fresh(stack, "redis", REDIS_URL=cache.url, CELERY_BROKER_URL=run.redis.url)
        users = [signup(pserve.port, f"reader{i}") for i in range(8)]
        seed = Client(pserve.port)
        for i, (token, _) in enumerate(users):
            for j in (1, 2, 3):
                seed.request("POST", f"/api/users/{users[(i + j) % 8][1]}/follow/", token=token)
            for n in range(3):
                seed.request("POST", "/api/posts/", {"text": f"seed {n} by reader{i} #faults"}, token=token)

        def mixed(i, n):
            token = users[(i + n) % 8][0]
            kind = n % 5
            if kind in (0, 1):
                return "GET", "/api/posts/", None, token
            if kind in (2, 3):
                return "GET", "/api/feed/", None, token
            return "POST", "/api/posts/", {"text": f"load {i}/{n} #faults"}, token

        with Load(pserve.port, 4, mixed) as load:
            load.at(3.5)
            killed = time.monotonic()
            cache.kill()
            load.at(5.0)
            health_down = seed.request("GET", "/api/health/").body
            load.at(7.0)
            restarted = time.monotonic()
            cache.restart()
            load.at(10.0)
        health_after = seed.request("GET", "/api/health/").body
        refilled = redis.Redis.from_url(cache.url).dbsize()
        results = load.results
        phases = {
            "before": stats(between(results, load.t0, killed)),
            "redis down": stats(between(results, killed, restarted)),
            "after restart": stats(between(results, restarted, math.inf)),
        }
        total = stats(results)
    return {
        "figures": {
            "clients": 4,
            "seconds": 10,
            "killed_at_s": round(killed - load.t0, 1),
            "restarted_at_s": round(restarted - load.t0, 1),
            "health_while_down": health_down,
            "health_after": health_after,
            "cache_keys_after_restart": refilled,
            "phases": phases,
            "total": total,
        },
        "requirements": [
            requirement("every request answered 2xx (0 failures)", total["failures"] == 0 and total["requests"]),
            requirement("requests were served while Redis was down", phases["redis down"]["requests"] > 0),
            requirement("the restarted Redis is filled again", refilled > 0),
        ],
    }


def broker_killed(run):
    """Proves the transactional outbox: the broker dies (kill -9, losing what it held)
    in the middle of 50 follows and comes back empty; every follow still answers 2xx,
    and once the relay has re-published what was missed, each new follow has sent
    exactly one email through a real Celery worker to a real SMTP server."""
    with Stack() as stack:
        workdir = run.scenario_dir("broker-redis")
        broker = stack.start(Redis(workdir))
        inbox = stack.start(Inbox())
        env = {"CELERY_BROKER_URL": broker.url, "SMTP_URL": inbox.url}
        pserve, workdir = run.fresh(stack, "broker", **env)
        stack.start(Worker(run.ini, {**pserve.env, **env}, workdir))
        users = [signup(pserve.port, f"follower{i}") for i in range(10)]
        welcomes = lambda: sum(m["Subject"].startswith("Welcome") for m in inbox.messages)  # noqa: E731
        wait_for(lambda: welcomes() >= 10, 30)  # the worker is up and sending
        pairs = [(a, b) for a in range(10) for b in range(10) if a != b]
        pairs = [pairs[(n * 37) % len(pairs)] for n in range(50)]  # 50 distinct pairs, spread out

        def follow(i, n):
            a, b = pairs[i * 10 + n]  # 5 threads x 10 follows
            return "POST", f"/api/users/{users[b][1]}/follow/", None, users[a][0]

        with Load(pserve.port, 5, follow, pause=0.4, requests=10) as load:
            load.at(1.3)
            killed = time.monotonic()
            broker.kill()
            load.at(2.8)
            restarted = time.monotonic()
            broker.restart()
            load.join()
        follows = load.results
        expected = query(run.database_url, "SELECT count(*) FROM follows")[0][0]
        # The beat job, with a shorter period and age than its 30 s / 10 s: it publishes
        # again every row still pending, as it would once the broker is back.
        settings = settings_module.load(get_appsettings(run.ini), pserve.env, require_secret=False)
        tasks.configure(settings)
        relayed, relay_started = 0, time.monotonic()

        def follow_emails():
            return [m for m in inbox.messages if m["Subject"].endswith("followed you")]

        before_relay = len(follow_emails())
        while len(follow_emails()) < expected and time.monotonic() < relay_started + 40:
            relayed += tasks.relay_outbox.run(older_than=2)
            wait_for(lambda: len(follow_emails()) >= expected, 2.0)
        all_in = time.monotonic() - relay_started
        time.sleep(1.0)  # a duplicate would arrive now
        received = follow_emails()
        pending = query(run.database_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
        counts = collections.Counter((m["To"], m["Subject"]) for m in received)
        down = between(follows, killed, restarted)
    return {
        "figures": {
            "welcome_emails_before_the_fault": welcomes(),
            "follow_requests": len(follows),
            "follow_2xx": sum(r.ok for r in follows),
            "follows_while_broker_down": len(down),
            "not_published_warnings": pserve.log_count("not published"),
            "new_follows_in_db": expected,
            "follow_emails_before_the_relay": before_relay,
            "relayed_by_relay_outbox": relayed,
            "follow_emails_received": len(received),
            "distinct_follow_emails": len(counts),
            "duplicate_emails": sum(c - 1 for c in counts.values()),
            "outbox_rows_pending_after": pending,
            "seconds_from_end_of_follows_to_last_email": round(all_in, 1),
            "follow_latency": stats(follows),
        },
        "requirements": [
            requirement("every follow request 2xx", len(follows) == 50 and all(r.ok for r in follows)),
            requirement("follows happened while the broker was down", len(down) > 0),
            requirement("0 lost emails: one per new follow", len(counts) == expected == 50),
            requirement("no duplicate email", sum(counts.values()) == len(counts)),
        ],
    }


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def postgres_restarted(run):
    """Proves the database can restart under writes: while it is away requests fail
    fast as 503 with Retry-After (never a 500, never a hang), no acknowledged post is
    lost, and the app's pool reconnects by itself, also when the restart happened
    while the pool sat idle (its connections all dead)."""
    with Stack() as stack:
        workdir = run.scenario_dir("postgres-cluster")
        pg = stack.start(PrivatePostgres(workdir))
        url = pg.url("minitwitter_faults")
        ensure_database(url)
        migrate.apply(url)
        pserve, _ = run.fresh(stack, "postgres", DATABASE_URL=url)
        users = [signup(pserve.port, f"writer{i}") for i in range(4)]

        def write(i, n):
            return "POST", "/api/posts/", {"text": f"ack {i}/{n} #restart"}, users[i][0]

        with Load(pserve.port, 4, write) as load:
            load.at(3.0)
            began, ended = pg.restart()
            load.at(ended - load.t0 + 4.0)
        results = load.results
        # Then a restart while nothing is running: the pool holds only dead connections.
        time.sleep(0.5)
        pg.restart()
        time.sleep(0.5)
        client = Client(pserve.port)
        after_idle = [client.request("POST", "/api/posts/", {"text": f"after idle {n}"}, users[0][0]) for n in range(4)]
        after_idle += [client.request("GET", "/api/posts/", token=users[1][0]) for _ in range(4)]
        acknowledged = {r.body["id"]: r.body["text"] for r in results + after_idle if r.status == 201}
        stored = dict(query(url, "SELECT id, text FROM posts WHERE id = ANY(%s)", (list(acknowledged),)))
        errors = [r for r in results if not r.ok]
        stray = query(url, "SELECT count(*) FROM posts WHERE text LIKE 'ack %%'")[0][0] - len(
            [r for r in results if r.status == 201]
        )
        slack = 0.25  # a request started by then met the database up: it must succeed
        outside = [r for r in errors if r.end < began or r.start > ended + slack]
        bad = [r for r in errors if r.status != 503 or "Retry-After" not in r.headers]
        recovered = between(results, ended + slack, math.inf)
        window = (max(r.end for r in errors) - min(r.start for r in errors)) if errors else 0.0
    return {
        "figures": {
            "writers": 4,
            "restart_s": round(ended - began, 2),
            "error_window_s": round(window, 2),
            "requests": len(results),
            "errors": len(errors),
            "errors_by_status": dict(collections.Counter(str(r.status or r.error) for r in errors)),
            "acknowledged_201": len(acknowledged),
            "acknowledged_found_in_db": sum(stored.get(i) == t for i, t in acknowledged.items()),
            "errored_but_stored": max(0, stray),
            "errors_outside_window": len(outside),
            "requests_after_restart": stats(recovered),
            "after_idle_restart": [r.status or r.error for r in after_idle],
        },
        "requirements": [
            requirement("errors only as 503 with Retry-After", not bad),
            requirement(f"errors only within the restart (+{slack:g} s)", not outside),
            requirement("0 acknowledged writes lost", all(stored.get(i) == t for i, t in acknowledged.items())),
            requirement(
                "requests succeed again after the restart, app not restarted",
                recovered and all(r.ok for r in recovered),
            ),
            requirement("after a restart while idle the next requests succeed", all(r.ok for r in after_idle)),
        ],
    }


def slow_connections(run, count=100, factor=3.0):
    """Proves slow clients cost no worker thread: 100 connections sending a request one
    byte a second (slowloris) leave a normal client all 2xx at nearly its usual latency."""
    with Stack() as stack:
        pserve, _ = run.fresh(stack, "slowloris")
        token, _ = signup(pserve.port, "reader")
        seed = Client(pserve.port)
        for n in range(20):
            seed.request("POST", "/api/posts/", {"text": f"post {n} #slow"}, token=token)

        def measure(seconds):
            client, results, end = Client(pserve.port), [], time.monotonic() + seconds
            while time.monotonic() < end:
                results.append(client.request("GET", "/api/posts/", token=token))
                time.sleep(0.01)
            client.close()
            return results

        measure(1.0)  # warm up: pool connections, caches
        baseline = measure(4.0)
        sockets, done, alive = [], threading.Event(), {"count": count}

        def trickle():
            while not done.wait(1.0):  # one more header byte on each connection every second
                still = 0
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.send(b"X")
                        still += 1
                alive["count"] = still

        trickler = threading.Thread(target=trickle, daemon=True)
        try:
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", pserve.port))
                sockets.append(sock)
                sock.sendall(b"GET /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            trickler.start()
            time.sleep(1.0)
            during = measure(5.0)
        finally:
            done.set()
            if trickler.is_alive():
                trickler.join()
            for sock in sockets:
                sock.close()
        after = measure(0.1)[0].status
    base, slow = stats(baseline), stats(during)
    limit = factor * max(base["p99_ms"], 5.0)
    return {
        "figures": {
            "slow_connections": count,
            "still_open_at_end": alive["count"],
            "baseline": base,
            "with_slow_connections": slow,
            "p99_limit_ms": round(limit, 1),
            "after_closing_them": after,
        },
        "requirements": [
            requirement("the normal client gets all 2xx", base["failures"] == 0 and slow["failures"] == 0),
            requirement(f"p99 within {factor:g}x baseline (baseline floor 5 ms)", slow["p99_ms"] <= limit),
        ],
    }


def sigterm(run, grace=5.0):
    """Proves a graceful stop: SIGTERM while requests are in flight (bcrypt sign-ups at
    the production cost among them) lets each finish with its response, refuses new
    connections, and the process exits within 5 s. Requests sent after the signal are
    refused, or served with `Connection: close`; one sent on a keep-alive connection
    that sat idle at the signal may find it closed (the usual keep-alive race, which
    clients retry)."""
    with Stack() as stack:
        pserve, _ = run.fresh(stack, "sigterm", BCRYPT_ROUNDS="12")
        users = [signup(pserve.port, f"reader{i}") for i in range(2)]

        def request(i, n):
            if i < 3:  # slow: a sign-up hashes the password at cost 12
                body = {"username": f"new{i}x{n}", "email": f"new{i}x{n}@example.com", "password": PASSWORD}
                return "POST", "/api/users/", body, None
            return "GET", ("/api/posts/" if n % 2 else "/api/feed/"), None, users[i % 2][0]

        with Load(pserve.port, 6, request) as load:
            load.at(2.0)
            sent, pserve.expect_exit = time.monotonic(), True
            os.kill(pserve.process.pid, signal.SIGTERM)
            try:
                code = pserve.process.wait(10)
            except subprocess.TimeoutExpired:
                code = None
            exited = time.monotonic()
            load.at(exited - load.t0 + 0.5)
        results = load.results
    before = [r for r in results if r.start < sent]
    in_flight = [r for r in before if r.end > sent]
    # A refused connection carried no request: lost means reset or closed unanswered.
    lost = [r for r in before if not r.status and r.error != "ConnectionRefusedError"]
    after = [r for r in results if r.start >= sent]
    return {
        "figures": {
            "clients": "3 sign-ups (bcrypt 12), 3 readers",
            "requests_before_sigterm": len(before),
            "in_flight_at_sigterm": len(in_flight),
            "in_flight_answered": sum(bool(r.status) for r in in_flight),
            "in_flight_statuses": dict(collections.Counter(str(r.status or r.error) for r in in_flight)),
            "longest_in_flight_ms": round(max((r.end - sent) * 1000 for r in in_flight), 1) if in_flight else None,
            "lost_before_sigterm": dict(collections.Counter(r.error for r in lost)),
            "sent_after_sigterm": dict(collections.Counter(str(r.status or r.error) for r in after)),
            "exit_s": round(exited - sent, 2) if code is not None else None,
            "exit_code": code,
        },
        "requirements": [
            requirement("requests were in flight at SIGTERM", in_flight),
            requirement("every request sent before SIGTERM got its response (none reset)", not lost),
            requirement(f"the process exited within {grace:g} s", code is not None and exited - sent <= grace),
        ],
    }


SCENARIOS = {
    "redis": ("Redis (cache) killed under load", redis_killed),
    "broker": ("Broker killed during follows", broker_killed),
    "postgres": ("pg_ctl restart -m fast under writes", postgres_restarted),
    "slowloris": ("100 idle, slow connections", slow_connections),
    "sigterm": ("SIGTERM under load", sigterm),
}


# --- the report ----------------------------------------------------------------------------


def markdown(report):
    lines = [f"# minitwitter faults, {report['date']}\n"]
    lines.append(
        f"`pserve {report['ini']}` against the real PostgreSQL, redis-server, Celery and aiosmtpd, "
        f"on {report['cores']} cores shared with the clients. Total {report['seconds']} s.\n"
    )
    lines += ["| scenario | result |", "|---|---|"]
    lines += [f"| {s['id']}. {s['title']} | {'PASS' if s['passed'] else 'FAIL'} |" for s in report["scenarios"]]
    for s in report["scenarios"]:
        lines.append(f"\n## {s['id']}. {s['title']}: {'PASS' if s['passed'] else 'FAIL'}\n")
        lines.append(s["proves"] + "\n")
        for r in s.get("requirements", []):
            lines.append(f"- [{'x' if r['ok'] else ' '}] {r['requirement']}")
        if "error" in s:
            lines.append(f"- [ ] the scenario ran: {s['error']}")
        lines.append("")
        for key, value in s.get("figures", {}).items():
            if key in ("phases",):
                lines += ["", "| phase | requests | failures | p50 ms | p99 ms |", "|---|---|---|---|---|"]
                lines += [
                    f"| {name} | {p['requests']} | {p['failures']} | {p['p50_ms']} | {p['p99_ms']} |"
                    for name, p in value.items()
                ]
                lines.append("")
            else:
                lines.append(f"- {key.replace('_', ' ')}: {json.dumps(value, default=str)}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini the service runs with, e.g. production.ini")
    parser.add_argument("--database-url", default=os.environ.get("FAULTS_DATABASE_URL", DATABASE_URL))
    parser.add_argument("--only", help=f"comma-separated scenarios among {','.join(SCENARIOS)}")
    parser.add_argument("--keep", action="store_true", help="keep the logs' temp dir (always kept on failure)")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    report = {"date": datetime.date.today().isoformat(), "ini": args.ini, "cores": os.cpu_count(), "scenarios": []}
    ensure_database(args.database_url, drop_first=True)
    migrate.apply(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="minitwitter-faults-"))
    workdir.chmod(0o755)  # the private PostgreSQL runs as the postgres user
    run = Run(args.ini, args.database_url, workdir)
    with Stack() as stack:
        run.redis = stack.start(Redis(run.scenario_dir("shared-redis")))
        for n, (name, (title, scenario)) in enumerate(SCENARIOS.items(), 1):
            if name not in chosen:
                continue
            print(f"{n}. {title} ...", file=sys.stderr, flush=True)
            entry = {"id": n, "name": name, "title": title, "proves": " ".join(scenario.__doc__.split())}
            t0 = time.monotonic()
            try:
                entry.update(scenario(run))
                entry["passed"] = all(r["ok"] for r in entry["requirements"])
            except Exception as e:  # a scenario that cannot run is a failure, the others still run
                entry.update(passed=False, error=f"{type(e).__name__}: {e}")
            entry["seconds"] = round(time.monotonic() - t0, 1)
            report["scenarios"].append(entry)
            print(json.dumps({k: entry.get(k) for k in ("name", "passed", "error")}), file=sys.stderr)
    report["seconds"] = round(time.monotonic() - started, 1)
    passed = all(s["passed"] for s in report["scenarios"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = RESULTS / f"faults-{report['date']}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = markdown(report)
    base.with_suffix(".md").write_text(text)
    print(text)
    if passed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs: {workdir}", file=sys.stderr)
    print(f"wrote {base}.md and .json", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
