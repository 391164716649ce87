"""minitwitter-bench <ini>: the table of docs/BENCH.md, measured with wrk.

The service runs as the ini runs it (pserve, waitress; --threads / --processes
override) on the local database minitwitter_bench, loaded with D1 when empty (or
--populate; with --scale 10, D2 in minitwitter_bench_d2, reported against the day's
D1), and Redis database 2, flushed first since cache and broker are the bench's own;
the JWT secret is made for the run. L0 is `bare_app` below, served by the same
waitress settings: the service has no route that touches neither PostgreSQL nor
Redis. Each row: a warm-up, then `wrk -t2 -c32 --latency` with a Lua script that
rotates over prepared requests of logged-in users. wrk runs on the same cores.
Writes bench/results/<date>.json, .md and .png, undoes the rows' writes, checks the
counts again, and stops every server it started.
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import bcrypt
import psycopg2
import redis
from pyramid.paster import get_appsettings

from minitwitter import main as make_app
from minitwitter import settings as settings_module
from minitwitter.devservices import ensure_database, stop_groups
from minitwitter.scripts import migrate
from minitwitter_tools import populate

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/minitwitter_bench"
REDIS_URL = "redis://127.0.0.1:6379/2"
RESULTS = Path("bench/results")
# wrk keeps one Lua state per thread: each starts at its own offset in the variants.
LUA = """local variants = {%s}
local counter, started = 0, 0
function setup(thread) thread:set("offset", started * 7919); started = started + 1 end
function init(args) counter = offset or 0 end
function request()
  counter = counter + 1
  local v = variants[(counter %% #variants) + 1]
  return wrk.format(v[1], v[2], {["Content-Type"] = "application/json", ["Authorization"] = v[4]}, v[3])
end
"""
# A few users sending thousands of writes and logins would be over the limits at once:
# the limits are raised (every request still goes through the check, a Redis INCR).
RATE_LIMITS = {"ratelimit.login": "1000000/1", "ratelimit.signup": "1000000/1", "ratelimit.writes": "1000000/1"}
WRITERS = "(SELECT id FROM users WHERE username = ANY(%(writers)s))"
FIXTURES = {  # one value or a column, from the loaded data
    "users": "SELECT username FROM users WHERE following_count BETWEEN 45 AND 55 AND username <> %(heavy)s"
    " ORDER BY id LIMIT 16",
    "top_author": "SELECT id FROM users ORDER BY posts_count DESC LIMIT 1",
    "top_tag": "SELECT name FROM hashtags ORDER BY posts_count DESC LIMIT 1",
    "rare_tag": "SELECT name FROM hashtags WHERE posts_count > 0 ORDER BY posts_count, name LIMIT 1",
    "tags": "SELECT name FROM hashtags ORDER BY posts_count DESC OFFSET 100 LIMIT 16",
    "like_posts": "SELECT id FROM posts p WHERE deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM likes l"
    f" WHERE l.post_id = p.id AND l.user_id IN {WRITERS}) ORDER BY id DESC LIMIT 64",
    "follow_users": f"SELECT id FROM users u WHERE id NOT IN {WRITERS} AND NOT EXISTS (SELECT 1 FROM follows"
    f" WHERE followee_id = u.id AND follower_id IN {WRITERS}) ORDER BY id LIMIT 64",
    # S1-S3's viewer: another typical user, who gets 100 blocks and 1,000 mutes (HIDE).
    "hider": "SELECT username FROM users WHERE following_count BETWEEN 45 AND 55 AND username <> %(heavy)s"
    " ORDER BY id OFFSET 16 LIMIT 1",
    "max_post": "SELECT coalesce(max(id), 0) FROM posts",
    "max_outbox": "SELECT coalesce(max(id), 0) FROM outbox",
}
HIDER = "(SELECT id FROM users WHERE username = %(hider)s)"
# The hider's hidden set (domain/safety.py), written as rows (nothing cached reads them yet:
# Redis is flushed first): 10 of its followees muted, so the feed has posts and reposts to
# leave out; then the most prolific other authors, 100 blocked and 990 muted, so all posts
# and search do too. A block ends follows, so no follower or followee is blocked.
HIDE = [
    f"INSERT INTO mutes (muter_id, muted_id) SELECT {HIDER}, followee_id FROM follows"
    f" WHERE follower_id = {HIDER} ORDER BY followee_id LIMIT 10",
    f"INSERT INTO blocks (blocker_id, blocked_id) SELECT {HIDER}, u.id FROM users u WHERE u.id <> {HIDER}"
    f" AND NOT EXISTS (SELECT 1 FROM follows WHERE (follower_id = {HIDER} AND followee_id = u.id)"
    f" OR (follower_id = u.id AND followee_id = {HIDER})) ORDER BY u.posts_count DESC, u.id LIMIT 100",
    f"INSERT INTO mutes (muter_id, muted_id) SELECT {HIDER}, u.id FROM users u WHERE u.id <> {HIDER}"
    f" AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = {HIDER} AND blocked_id = u.id)"
    f" AND NOT EXISTS (SELECT 1 FROM mutes WHERE muter_id = {HIDER} AND muted_id = u.id)"
    " ORDER BY u.posts_count DESC, u.id LIMIT 990",
]
# The rows run again for each server setting of the sweep: a warm read and a write.
SWEPT = ("R4", "W2")
UNDO = [  # what W1-W3, the logins and HIDE added; the triggers keep every count exact (a
    # block or mute deletes the notifications between the two: migrations/0012)
    f"DELETE FROM blocks WHERE blocker_id = {HIDER}",
    f"DELETE FROM mutes WHERE muter_id = {HIDER}",
    f"DELETE FROM likes WHERE user_id IN {WRITERS} AND post_id = ANY(%(like_posts)s)",
    f"DELETE FROM follows WHERE follower_id IN {WRITERS} AND followee_id = ANY(%(follow_users)s)",
    "DELETE FROM posts WHERE id > %(max_post)s",
    "DELETE FROM outbox WHERE id > %(max_outbox)s",
    "DELETE FROM refresh_tokens WHERE created_at > %(started)s",
]


def bare_app(global_config, **settings):
    """L0, the limit: a Pyramid view returning a small JSON dict (a paste app factory)."""
    from pyramid.config import Configurator

    with Configurator() as config:
        config.add_route("bare", "/")
        config.add_view(lambda request: {"status": "ok", "service": "bare"}, route_name="bare", renderer="json")
    return config.make_wsgi_app()


def set_option(text, key, value, section="app:main"):
    """The ini text with `key = value`, replaced where the key is, else added to `section`."""
    line = f"{key} = {value}"
    if re.search(rf"(?m)^{re.escape(key)}\s*=", text):
        return re.sub(rf"(?m)^{re.escape(key)}\s*=.*$", line, text)
    return text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)


class Servers:
    """`processes` pserve on consecutive ports, from a copy of the ini with RATE_LIMITS
    and, if given, the threads (and database.pool_max = threads) replaced."""

    def __init__(self, ini, env, port, threads=None, processes=1, bare=False):
        text = Path(ini).read_text()
        for key, value in RATE_LIMITS.items():
            text = set_option(text, key, value)
        if threads:
            text = set_option(text, "threads", threads, "server:main")
            text = set_option(text, "database.pool_max", threads)
        if bare:
            text = re.sub(r"(?m)^use\s*=\s*egg:minitwitter\s*$", f"use = call:{__name__}:bare_app", text)
        self.threads = int(re.search(r"(?m)^threads\s*=\s*(\d+)", text).group(1))
        self.dir = Path(tempfile.mkdtemp(prefix="minitwitter-bench-"))
        (self.dir / "server.ini").write_text(text)
        self.env, self.ports, self.children = env, [port + i for i in range(processes)], []
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.ready = "/" if bare else "/api/health/"

    def __enter__(self):
        pserve = [str(Path(sys.executable).parent / "pserve"), str(self.dir / "server.ini")]
        for port in self.ports:
            with open(self.dir / f"pserve-{port}.log", "w") as log:
                env = {**self.env, "PORT": str(port)}
                self.children.append(subprocess.Popen(pserve, env=env, stdout=log, stderr=log, start_new_session=True))
        deadline = time.monotonic() + 60
        while any(call(url + self.ready)[0] != 200 for url in self.urls):
            if time.monotonic() > deadline or any(child.poll() is not None for child in self.children):
                self.stop()
                raise SystemExit(f"the server did not start: see the logs in {self.dir}")
            time.sleep(0.2)
        return self

    def __exit__(self, kind, value, traceback):
        self.stop()
        if kind is None:
            shutil.rmtree(self.dir, ignore_errors=True)  # the logs stay when something failed

    def stop(self):
        stop_groups(self.children)
        self.children = []


class Haproxy:
    """haproxy on `port` in front of `servers` (make cluster's configuration: leastconn,
    health checks on /api/health/): the rows go through it, as they do in production."""

    def __init__(self, servers, port):
        from minitwitter_tools import cluster

        self.servers, self.port, self.dir = servers, port, Path(tempfile.mkdtemp(prefix="minitwitter-haproxy-"))
        (self.dir / "503.http").write_text(cluster.HAPROXY_503)
        backends = "\n".join(f"    server web{i} 127.0.0.1:{p} check" for i, p in enumerate(servers.ports))
        cfg = cluster.HAPROXY_CFG.format(port=port, servers=backends, maxconn=64, errorfile=self.dir / "503.http")
        cfg = cfg.replace("GET /api/health/", f"GET {servers.ready}")  # the bare app has only /
        (self.dir / "haproxy.cfg").write_text(cfg)
        self.urls, self.ports, self.child = [f"http://127.0.0.1:{port}"], servers.ports, None

    def __enter__(self):
        command = ["haproxy", "-f", str(self.dir / "haproxy.cfg"), "-db"]
        self.child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while call(self.urls[0] + self.servers.ready)[0] != 200:
            if time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit("haproxy has no healthy server")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.child.terminate()
        self.child.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def call(url, method="GET", body=None, token=None):
    """(status, JSON body or None) of one request; status 0 when nothing answers."""
    headers = {"Content-Type": "application/json", **({"Authorization": token} if token else {})}
    request = urllib.request.Request(url, data=body and body.encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or "null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, ConnectionError):
        return 0, None


class Tokens:
    """username -> "Bearer <access>" from POST /api/token/, again before it expires (15 min)."""

    def __init__(self, base):
        self.base, self.cache = base, {}

    def __call__(self, username):
        token, at = self.cache.get(username, (None, None))
        if username and (at is None or time.monotonic() - at > 600):
            body = json.dumps({"username": username, "password": populate.PASSWORD})
            status, tokens = call(f"{self.base}/api/token/", "POST", body)
            if status != 200:
                raise SystemExit(f"log in as {username}: HTTP {status}")
            token, at = f"Bearer {tokens['access']}", time.monotonic()
            self.cache[username] = (token, at)
        return token


def fixtures(conn, base, tokens):
    """Who and what the rows ask for, from the data; R3's cursor by walking 100 `next` links."""
    f = {"heavy": populate.HEAVY_READER, "writers": []}
    with conn, conn.cursor() as cur:
        for name, sql in FIXTURES.items():
            cur.execute(sql, f)
            f[name] = [row[0] for row in cur.fetchall()]
            single = ("top_author", "top_tag", "rare_tag", "hider", "max_post", "max_outbox")
            f[name] = f[name][0] if name in single else f[name]
            if name == "users":
                f["typical"], f["writers"] = f["users"][:8], f["users"][8:]
        cur.execute("SELECT now()")
        f["started"] = cur.fetchone()[0]
        for sql in HIDE:
            cur.execute(sql, f)
    f["common_word"], f["rare_word"] = populate.search_words()
    path = "/api/feed/"
    for _ in range(100):
        status, page = call(base + path, token=tokens(f["typical"][0]))
        path = re.sub(r"^https?://[^/]+", "", (page or {}).get("next") or "")
        if status != 200 or not path:
            raise SystemExit(f"R3: the feed ended before 100 pages (HTTP {status})")
    f["deep_feed"] = path
    return f


def rows(f):
    """(id, what, [(method, path, body, username), ...]) for every row of docs/BENCH.md."""
    reader, writers, tags = f["typical"][:1], f["writers"], f["tags"]

    def get(path, users=reader):
        return [("GET", path, None, user) for user in users]

    def toggle(path, ids):
        return [(m, path.format(i), None, writers[n % 8]) for n, i in enumerate(ids) for m in ("POST", "DELETE")]

    texts = [json.dumps({"text": f"bench post {n} #{tags[n % 16]} #{tags[(n + 1) % 16]}"}) for n in range(64)]
    posts = [("POST", "/api/posts/", text, writers[n % 8]) for n, text in enumerate(texts)]
    logins = [json.dumps({"username": user, "password": populate.PASSWORD}) for user in writers]
    common_search = f"/api/search/posts/?q={f['common_word']}"
    return [
        ("L0", "bare Pyramid JSON view", get("/", [None])),
        ("R1", "home feed p1, typical user (~50 follows)", get("/api/feed/", f["typical"])),
        ("R2", "home feed p1, heavy_reader (5,000 follows)", get("/api/feed/", [f["heavy"]])),
        ("R3", "home feed 100 pages deep (cursor)", get(f["deep_feed"])),
        ("R4", "all posts, page 1", get("/api/posts/")),
        ("R5", "all posts, page=2000", get("/api/posts/?page=2000")),
        ("R6", "top author's posts p1", get(f"/api/users/{f['top_author']}/posts/")),
        ("R7a", f"top hashtag #{f['top_tag']} p1", get(f"/api/hashtags/{f['top_tag']}/posts/")),
        ("R7b", f"rare hashtag #{f['rare_tag']} p1", get(f"/api/hashtags/{f['rare_tag']}/posts/")),
        ("R8", "popular hashtags", get("/api/popular_hashtags/")),
        ("R9a", f"search, common word '{f['common_word']}'", get(common_search)),
        ("R9b", f"search, rare word '{f['rare_word']}'", get(f"/api/search/posts/?q={f['rare_word']}")),
        ("R10", "a profile with counts", get(f"/api/users/{f['top_author']}/")),
        ("S1", "home feed p1, a viewer with 100 blocks and 1,000 mutes", get("/api/feed/", [f["hider"]])),
        ("S2", "all posts p1, that viewer", get("/api/posts/", [f["hider"]])),
        ("S3", f"search, common word '{f['common_word']}', that viewer", get(common_search, [f["hider"]])),
        ("W1", "create a post with 2 hashtags", posts),
        ("W2", "like then unlike", toggle("/api/posts/{}/like/", f["like_posts"])),
        ("W3", "follow then unfollow", toggle("/api/users/{}/follow/", f["follow_users"])),
        ("A1", "log in (bcrypt)", [("POST", "/api/token/", body, None) for body in logins]),
    ]


def wrk(urls, variants, tokens, seconds, latency=True):
    """One wrk per server process (connections split over them): summed req/s, worst p99."""
    quote = lambda value: "nil" if value is None else f"[==[{value}]==]"  # noqa: E731 (a Lua long string)
    lua = ",\n".join(f"{{{', '.join(quote(v) for v in (m, p, b, tokens(u)))}}}" for m, p, b, u in variants)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % lua)
    options = ["-t", str(max(1, 2 // len(urls))), "-c", str(32 // len(urls)), "-d", f"{seconds}s", "--timeout", "10s"]
    options += ["--latency", "-s", script.name] if latency else ["-s", script.name]
    procs = [subprocess.Popen(["wrk", *options, url], stdout=subprocess.PIPE, text=True) for url in urls]
    parsed = [parse_wrk(proc.communicate()[0]) for proc in procs]
    os.unlink(script.name)
    return {
        "rps": sum(p["rps"] for p in parsed),
        "p50_ms": sum(p["p50_ms"] for p in parsed) / len(parsed),
        "p99_ms": max(p["p99_ms"] for p in parsed),
        "errors": sum(p["errors"] for p in parsed),
    }


def parse_wrk(out):
    """requests/s, p50 and p99 (ms; 0 without --latency), errors: non-2xx/3xx plus socket errors."""
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": 0.0, "p99_ms": 0.0}
    for pct in ("50", "99"):
        if m := re.search(rf"(?m)^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out):
            result[f"p{pct}_ms"] = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1e3, "m": 6e4}[m.group(2)]
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = sum(map(int, socket.groups() if socket else [])) + int(non2xx.group(1) if non2xx else 0)
    return result


def measure(urls, variants, tokens, timing, conn, parts=None):
    """Warm up, then measure; with the PostgreSQL sessions opened per request (a pool that
    keeps its connections opens none) and, given `parts`, the CPU each part spent per request."""
    wrk(urls, variants, tokens, timing[0], latency=False)
    drain(urls)
    sessions_before = sessions(conn)
    cpu_before = parts.cpu() if parts else None
    result = wrk(urls, variants, tokens, timing[1])
    if parts:
        spent = parts.cpu(since=cpu_before)
        result["cpu_ms"] = {part: round(1000 * s / max(1, result["rps"] * timing[1]), 3) for part, s in spent.items()}
    drain(urls)
    time.sleep(1)  # a session is counted when it ends
    result["connects"] = (sessions(conn) - sessions_before) / max(1, result["rps"] * timing[1])
    return result


class Parts:
    """The processes serving the rows, all on this machine: CPU seconds each part has used
    (/proc/<pid>/stat), to size a deployment from: the API processes, haproxy, the
    PostgreSQL backends of the bench database and the redis-server."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, servers, haproxy, conn, redis_url):
        self.servers, self.haproxy, self.conn, self.redis_url = servers, haproxy, conn, redis_url

    def pids(self):
        with self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            backends = [row[0] for row in cur.fetchall()]
        return {
            "api": [child.pid for child in self.servers.children],
            "haproxy": [self.haproxy.child.pid] if self.haproxy else [],
            "postgres": backends,
            "redis": [redis.Redis.from_url(self.redis_url).info("server")["process_id"]],
        }

    def cpu(self, since=None):
        """{part: {pid: CPU seconds}}; with `since`, {part: seconds spent since then}."""
        now = {part: {pid: self._seconds(pid) for pid in pids} for part, pids in self.pids().items()}
        if since is None:
            return now
        return {part: sum(s - since[part].get(pid, 0.0) for pid, s in now[part].items()) for part in now}

    def _seconds(self, pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.TICK


def drain(urls):
    """Wait for what wrk left queued (waitress serves requests of closed connections too):
    one more request per server returns once the queue before it is served (FIFO)."""
    for url in urls:
        call(url + "/")


def sessions(conn):
    with conn, conn.cursor() as cur:
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cur.fetchone()[0]


def queries_per_request(app, variants, tokens):
    """Statements per request (db.py counts them), in-process, the second time round so the
    caches are warm: the mean over the first two variants (a like and its unlike)."""
    from pyramid.request import Request

    counts = []
    for attempt in range(2):
        for method, path, body, user in variants[:2]:
            headers = {"Content-Type": "application/json", **({"Authorization": tokens(user)} if user else {})}
            request = Request.blank(path, method=method, headers=headers, body=(body or "").encode())
            request.get_response(app)
            counts += [request.environ.get("minitwitter.queries", 0)] if attempt else []
    return sum(counts) / len(counts)


def _checkpw_for(seconds, hashed):
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        bcrypt.checkpw(populate.PASSWORD.encode(), hashed)
        count += 1
    return count


def bcrypt_rate(rounds, seconds, processes=2):
    """bcrypt.checkpw per second at the configured cost, one process per core: A1's ceiling."""
    hashed = bcrypt.hashpw(populate.PASSWORD.encode(), bcrypt.gensalt(rounds))
    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(_checkpw_for, [seconds] * processes, [hashed] * processes)) / seconds


def table(header, rows):
    return [f"| {' | '.join(header)} |", "|" + "---|" * len(header)] + [f"| {' | '.join(map(str, r))} |" for r in rows]


# Issue 15's targets: a warm read at 0.8 of L0 or more, a write at 0.4 or more, and on
# every row a p99 at most 3 times the p50.
SHARE_TARGETS = {"R": 0.8, "W": 0.4}
TAIL_TARGET = 3


def verdict(row, l0):
    """held, or what missed: the share of L0 (reads, writes) and the tail (every row)."""
    missed = []
    need = SHARE_TARGETS.get(row["id"][0])
    share = row["rps"] / row.get("l0_rps", l0)
    if need and share < need:
        missed.append(f"× L0 < {need}")
    if row["p50_ms"] and row["p99_ms"] > TAIL_TARGET * row["p50_ms"]:
        missed.append(f"p99 = {row['p99_ms'] / row['p50_ms']:.1f} × p50")
    return "missed: " + ", ".join(missed) if missed else "held"


def markdown(report):
    l0 = next((r["rps"] for r in report["rows"] if r["id"] == "L0" and "rps" in r), 0)
    lines = [
        f"# minitwitter bench, {report['date']}\n",
        f"{report['dataset']}; `pserve {report['ini']}`, waitress threads={report['threads']}, "
        f"{report['processes']} process(es){' behind haproxy' if report.get('haproxy') else ''}, "
        f"on {report['cores']} cores shared with wrk. Each row: {report['warm_up_s']} s warm-up, then "
        f"`wrk -t2 -c32 -d{report['measure_s']}s --latency`; × L0 is the ratio to an L0 run right after the "
        "row (L0's own line is its first run). Queries: statements per request, caches warm. "
        "Connects: new PostgreSQL sessions per request (pg_stat_database.sessions).\n",
    ]
    numbers = lambda r: [f"{r['rps']:,.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]  # noqa: E731
    lines += table(
        ["id", "request", "req/s", "p50 ms", "p99 ms", "× L0", "errors", "queries", "connects", "targets"],
        [
            [r["id"], r["what"], *numbers(r), f"{r['rps'] / r.get('l0_rps', l0):.3f}", r["errors"], r["queries"]]
            + [f"{r['connects']:.2f}", verdict(r, l0)]
            if "rps" in r
            else [r["id"], r["what"], r["note"], *[""] * 7]
            for r in report["rows"]
        ],
    )
    with_cpu = [r for r in report["rows"] if "cpu_ms" in r]
    if with_cpu:
        names = list(with_cpu[0]["cpu_ms"])
        lines.append("\nCPU per request, ms, by part (/proc/<pid>/stat over the measured seconds; on shared cores):\n")
        lines += table(["id", *names], [[r["id"], *(f"{r['cpu_ms'][n]:.2f}" for n in names)] for r in with_cpu])
    if sweep := report["sweep"]:
        lines.append("\nThe sweep: R4 and W2 by waitress threads per process (database.pool_max = threads)")
        lines[-1] += " and by processes (wrk's connections split over them):\n"
        header = ["row", "threads", "processes", "req/s", "p50 ms", "p99 ms", "errors"]
        lines += table(
            header,
            [[s.get("row", "R4"), s["threads"], s.get("processes", 1), *numbers(s), s["errors"]] for s in sweep],
        )
    if report.get("d1"):
        lines.append(f"\n{report['dataset']} against D1 of the same day (p50 ratio: the target is at most 1.25):\n")
        both = [(r, report["d1"][r["id"]]) for r in report["rows"] if "rps" in r and r["id"] in report["d1"]]
        lines += table(
            ["id", "req/s", "D1 req/s", "p50 ms", "D1 p50 ms", "p50 ratio"],
            [
                [r["id"], f"{r['rps']:,.0f}", f"{d['rps']:,.0f}", f"{r['p50_ms']:.1f}", f"{d['p50_ms']:.1f}"]
                + [f"{r['p50_ms'] / d['p50_ms']:.2f}"]
                for r, d in both
            ],
        )
    if "bcrypt_per_s" in report:
        a1 = next(r["rps"] for r in report["rows"] if r["id"] == "A1")
        lines.append(f"\nbcrypt.checkpw at cost {report['bcrypt_rounds']}, 2 processes, right after A1: ")
        lines[-1] += f"{report['bcrypt_per_s']}/s; A1 logs in at {a1 / report['bcrypt_per_s']:.0%} of that."
    lines.append(f"Counts after the run (its writes undone): {report['count_mismatches_after'] or 'exact'}.")
    if "populate_s" in report:
        counts = report["populate_mismatches"] or "exact"
        lines.append(f"{report['dataset']} loaded in {report['populate_s']} s; counts: {counts}.")
    return "\n".join(lines) + "\n"


def chart(report, path):
    """Throughput as a share of L0, and p50 / p99, one bar per row (log scales)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in report["rows"] if "rps" in r][::-1]
    l0 = next((r["rps"] for r in measured if r["id"] == "L0"), 0) or 1
    labels, ys = [f"{r['id']} {r['what'][:44]}" for r in measured], range(len(measured))
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.45 * len(measured) + 1.6), sharey=True)
    shares = [r["rps"] / r.get("l0_rps", l0) for r in measured]
    left.barh(labels, shares, color="tab:blue")
    for y, r, share in zip(ys, measured, shares, strict=True):
        left.text(share, y, f" {r['rps']:,.0f}/s", va="center", fontsize=8)
    left.set(xscale="log", xlim=(None, 4), xlabel="throughput as a share of L0 (label: requests/s)")
    right.barh([y + 0.2 for y in ys], [r["p50_ms"] for r in measured], 0.4, label="p50", color="tab:green")
    right.barh([y - 0.2 for y in ys], [r["p99_ms"] for r in measured], 0.4, label="p99", color="tab:red")
    right.set(xscale="log", xlabel="latency, ms")
    right.legend(loc="upper right")
    title = f"{report['dataset']}, waitress threads={report['threads']} x {report['processes']} process(es)"
    fig.suptitle(f"minitwitter {report['date']}: {title}, wrk -c32 on the same cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_rows(args, env, conn, timing, report):
    """Every row against one set of servers, with the bare app beside them for L0."""
    app = make_app({}, **{**get_appsettings(args.ini), **RATE_LIMITS})  # in-process, for the query counts
    bare = Servers(args.ini, env, args.bare_port, args.threads, args.processes, bare=True)  # L0 as the rows run
    with contextlib.ExitStack() as stack:
        bare = bare_backends = stack.enter_context(bare)
        servers = backends = stack.enter_context(Servers(args.ini, env, args.port, args.threads, args.processes))
        report["threads"] = servers.threads
        if args.haproxy:
            bare = stack.enter_context(Haproxy(bare, args.haproxy + 1))
            servers = stack.enter_context(Haproxy(servers, args.haproxy))
        parts = Parts(backends, servers if args.haproxy else None, conn, args.redis_url)
        l0_parts = Parts(bare_backends, bare if args.haproxy else None, conn, args.redis_url)  # what L0 costs
        tokens = Tokens(servers.urls[0])
        f = fixtures(conn, servers.urls[0], tokens)
        table = rows(f)
        l0 = table[0][2]
        try:
            for row_id, what, variants in table:
                if args.only and row_id not in args.only.split(","):
                    continue
                urls = bare.urls if row_id == "L0" else servers.urls
                method, path, body, user = variants[0]
                row = {"id": row_id, "what": what, "path": path}
                row["status"] = call(urls[0] + path, method, body, tokens(user))[0]
                if row["status"] in (0, 404, 405):  # e.g. search before its route exists
                    row["note"] = f"missing (HTTP {row['status']})"
                else:
                    row.update(measure(urls, variants, tokens, timing, conn, l0_parts if row_id == "L0" else parts))
                    row["queries"] = 0 if row_id == "L0" else queries_per_request(app, variants, tokens)
                    if row_id != "L0":  # the machine drifts: each row's ratio is to an L0 run just after it
                        row["l0_rps"] = wrk(bare.urls, l0, tokens, timing[1] // 2)["rps"]
                if row_id == "A1":  # its ceiling, measured right after it on the same (shared) cores
                    report["bcrypt_per_s"] = round(bcrypt_rate(args.bcrypt_rounds, timing[1] // 4), 1)
                print(json.dumps(row), file=sys.stderr)
                report["rows"].append(row)
        finally:
            with conn, conn.cursor() as cur:
                for sql in UNDO:
                    cur.execute(sql, f)
    return f


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini the service runs with, e.g. production.ini")
    parser.add_argument("--scale", type=int, default=1, help="posts and likes times this: 10 is D2 (database *_d2)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", REDIS_URL))
    parser.add_argument("--populate", action="store_true", help="load the data again even if there is some")
    parser.add_argument("--quick", action="store_true", help="2 s warm-up, 5 s measure: a smoke test")
    parser.add_argument("--threads", type=int, help="waitress threads (and database.pool_max); default: the ini's")
    parser.add_argument("--processes", type=int, default=1, help="pserve processes, one port each, wrk split over them")
    parser.add_argument("--only", help="comma-separated row ids, e.g. L0,R4 (and no sweep)")
    parser.add_argument("--sweep", default="1,2,4,8", help="waitress thread counts to run R4 and W2 with ('' for none)")
    parser.add_argument(
        "--sweep-processes", default="2", help="process counts (the ini's threads each) to run R4 and W2 with"
    )
    parser.add_argument("--port", type=int, default=6560, help="the first pserve's port")
    parser.add_argument("--bare-port", type=int, help="the first bare app's port (L0; default: --port + 50)")
    parser.add_argument(
        "--haproxy", type=int, metavar="PORT", help="the rows' wrk through haproxy on PORT (L0's on PORT + 1)"
    )
    parser.add_argument("--label", help="written as bench/results/<date>-<label>.* (e.g. haproxy-2p)")
    args = parser.parse_args(argv)
    args.bare_port = args.bare_port or args.port + 50
    timing = (2, 5) if args.quick else (5, 20)
    dataset = "D1" if args.scale == 1 else "D2" if args.scale == 10 else f"D1x{args.scale}"
    suffix = "" if args.scale == 1 else f"_{dataset.lower()}"
    args.database_url = args.database_url or DATABASE_URL + suffix
    date = datetime.date.today().isoformat()
    report = {"date": date, "dataset": dataset, "ini": args.ini, "cores": os.cpu_count()}
    os.environ.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, JWT_SECRET=secrets.token_urlsafe(48))
    os.environ.pop("CELERY_BROKER_URL", None)  # the broker follows REDIS_URL
    env, settings = dict(os.environ), settings_module.from_ini(args.ini)
    report["bcrypt_rounds"] = args.bcrypt_rounds = settings["bcrypt.rounds"]
    logging.disable(logging.INFO)  # the access log of the in-process app
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    ensure_database(args.database_url)
    migrate.apply(args.database_url)
    conn = psycopg2.connect(args.database_url)
    report.update(
        haproxy=bool(args.haproxy),
        processes=args.processes,
        warm_up_s=timing[0],
        measure_s=timing[1],
        rows=[],
        sweep=[],
    )
    if args.populate or populate.is_empty(conn):
        d1, started = populate.DATASETS["d1"], time.monotonic()
        data = dataclasses.replace(d1, posts=d1.posts * args.scale, likes=d1.likes * args.scale)
        rounds = settings["bcrypt.rounds"]
        report["populate_mismatches"] = populate.populate(args.database_url, data, rounds, force=True)
        report["populate_s"] = round(time.monotonic() - started, 1)
    redis.Redis.from_url(args.redis_url).flushdb()
    f = run_rows(args, env, conn, timing, report)
    settings_swept = [(int(t), args.processes) for t in args.sweep.split(",") if t]
    settings_swept += [(None, int(p)) for p in args.sweep_processes.split(",") if p]
    for threads, processes in settings_swept if not args.only else []:
        with Servers(args.ini, env, args.port, threads, processes) as servers:
            tokens = Tokens(servers.urls[0])
            for row_id, _, variants in rows(f):
                if row_id in SWEPT:
                    try:
                        result = measure(servers.urls, variants, tokens, timing, conn)
                    finally:
                        with conn, conn.cursor() as cur:
                            for sql in UNDO:
                                cur.execute(sql, f)
                    swept = {"row": row_id, "threads": servers.threads, "processes": processes}
                    report["sweep"].append({**swept, **result})
                    print(json.dumps(report["sweep"][-1]), file=sys.stderr)
    report["count_mismatches_after"] = {k: v for k, v in populate.check_counts(conn).items() if v}
    conn.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = RESULTS / (date + suffix.replace("_", "-") + (f"-{args.label}" if args.label else ""))
    d1_report = RESULTS / f"{date}.json"
    if args.scale != 1 and d1_report.exists():  # the growth curve: this dataset against D1
        report["d1"] = {r["id"]: r for r in json.loads(d1_report.read_text())["rows"] if "rps" in r}
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    base.with_suffix(".md").write_text(markdown(report))
    chart(report, base.with_suffix(".png"))
    print(f"wrote {base}.json, .md and .png", file=sys.stderr)
    return 1 if any(r.get("errors") for r in report["rows"]) or report["count_mismatches_after"] else 0


if __name__ == "__main__":
    sys.exit(main())
