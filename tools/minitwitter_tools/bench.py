"""minitwitter-bench <ini>: the table of docs/BENCH.md, measured with wrk.

The service runs as the ini runs it (pserve, waitress; --threads / --processes
override) on the local database minitwitter_bench, loaded with D1 when empty (or
--populate; with --scale 10, D2 in minitwitter_bench_d2; with --dataset d3, D3 in
minitwitter_bench_d3, with a feed row per named reader, warm and cold, the celebrity's
posts and their fan-out; both reported against the day's D1), and Redis database 2,
flushed first since cache and broker are the bench's own;
the JWT secret is made for the run. L0 is `bare_app` below, served by the same
waitress settings: the service has no route that touches neither PostgreSQL nor
Redis. Each row: a warm-up, then `wrk -t2 -c32 --latency` with a Lua script that
rotates over prepared requests of logged-in users. wrk runs on the same cores.
Writes bench/results/<date>[-d2|-d3].json, .md and .png (a D3 run also the day's growth
chart, <date>-growth.png), undoes the rows' writes, checks the counts again, and stops
every server it started.
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
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import bcrypt
import psycopg2
import psycopg2.extensions
import psycopg2.extras
import redis
from pyramid.paster import get_appsettings

from minitwitter import main as make_app
from minitwitter import settings as settings_module
from minitwitter.domain import credentials, moderation
from minitwitter.domain.timelines import feed_rows
from minitwitter.scripts import migrate
from minitwitter.store.cache import RequestCache
from minitwitter.store.db import startup_options
from minitwitter.web.pagination import DEFAULT_PAGE_SIZE, MAX_KEY, Page
from minitwitter_tools import fanout, populate
from minitwitter_tools.devservices import ensure_database, stop_groups

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
# S4-S5 (issue 28's "Done when": a user's feed and the all-posts page, while 1,000 accounts
# are suspended, cost what they cost before: R1's and R4's figures): run one after the
# other, between `suspensions` of these accounts before the first and their lift after
# the last (run_rows).
SUSPENDED_ROWS = ("S4", "S5")
SUSPENDED_ACCOUNTS = 1000
FIXTURES = {  # one value or a column, from the loaded data
    "users": "SELECT username FROM users WHERE following_count BETWEEN %(follows_lo)s AND %(follows_hi)s"
    " AND username <> ALL(%(named)s) ORDER BY id LIMIT 16",
    "top_author": "SELECT id FROM users ORDER BY posts_count DESC LIMIT 1",
    "top_tag": "SELECT name FROM hashtags ORDER BY posts_count DESC LIMIT 1",
    "rare_tag": "SELECT name FROM hashtags WHERE posts_count > 0 ORDER BY posts_count, name LIMIT 1",
    "tags": "SELECT name FROM hashtags ORDER BY posts_count DESC OFFSET 100 LIMIT 16",
    "like_posts": "SELECT id FROM posts p WHERE deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM likes l"
    f" WHERE l.post_id = p.id AND l.user_id IN {WRITERS}) ORDER BY id DESC LIMIT 64",
    "follow_users": f"SELECT id FROM users u WHERE id NOT IN {WRITERS} AND NOT EXISTS (SELECT 1 FROM follows"
    f" WHERE followee_id = u.id AND follower_id IN {WRITERS}) ORDER BY id LIMIT 64",
    # S1-S3's viewer: another typical user, who gets 100 blocks and 1,000 mutes (HIDE).
    "hider": "SELECT username FROM users WHERE following_count BETWEEN %(follows_lo)s AND %(follows_hi)s"
    " AND username <> %(heavy)s AND NOT username = ANY(%(named)s) ORDER BY id OFFSET 16 LIMIT 1",
    # R11's reader: another typical user whose followees repost (REPOST).
    "reposts_reader": "SELECT username FROM users WHERE following_count BETWEEN %(follows_lo)s AND %(follows_hi)s"
    " AND username <> %(heavy)s AND NOT username = ANY(%(named)s) ORDER BY id OFFSET 17 LIMIT 1",
    # S4-S5's suspended accounts (SUSPEND): authors with followers, the most followed first,
    # none of the rows' own users; and how many of them R1's reader follows.
    "suspend_ids": "SELECT id FROM users WHERE posts_count > 0 AND followers_count > 0"
    " AND username <> ALL(%(users)s) AND username <> ALL(%(named)s)"
    " AND username NOT IN (%(heavy)s, %(hider)s, %(reposts_reader)s)"
    f" ORDER BY followers_count DESC, id LIMIT {SUSPENDED_ACCOUNTS}",
    "suspended_followees": "SELECT count(*) FROM follows WHERE follower_id = (SELECT id FROM users"
    " WHERE username = (%(typical)s)[1]) AND followee_id = ANY(%(suspend_ids)s)",
    "max_audit": "SELECT coalesce(max(id), 0) FROM moderation_audit",
    "max_post": "SELECT coalesce(max(id), 0) FROM posts",
    "max_repost": "SELECT coalesce(max(id), 0) FROM reposts",
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
# R11's feed with reposts: each of the reader's followees reposts the 5 newest posts not
# its own, so most of page 1 is reposts, many of one post by several followees (shown once,
# at the newest: sql/feed.sql). Undone after (reposts with ids above max_repost).
REPOST = [
    "INSERT INTO reposts (post_id, user_id) SELECT p.id, f.followee_id FROM follows f"
    " CROSS JOIN LATERAL (SELECT id FROM posts WHERE deleted_at IS NULL AND author_id <> f.followee_id"
    " ORDER BY id DESC LIMIT 5) p"
    " WHERE f.follower_id = (SELECT id FROM users WHERE username = %(reposts_reader)s) ON CONFLICT DO NOTHING",
]
# The rows run again for each server setting of the sweep: a warm read and a write.
SWEPT = ("R4", "W2")
UNDO = [  # what W1-W3, the logins and HIDE added; the triggers keep every count exact (a
    # block or mute deletes the notifications between the two: migrations/0012)
    "DELETE FROM reposts WHERE id > %(max_repost)s",
    f"DELETE FROM blocks WHERE blocker_id = {HIDER}",
    f"DELETE FROM mutes WHERE muter_id = {HIDER}",
    f"DELETE FROM likes WHERE user_id IN {WRITERS} AND post_id = ANY(%(like_posts)s)",
    f"DELETE FROM follows WHERE follower_id IN {WRITERS} AND followee_id = ANY(%(follow_users)s)",
    "DELETE FROM posts WHERE id > %(max_post)s",
    "DELETE FROM outbox WHERE id > %(max_outbox)s",
    "DELETE FROM refresh_tokens WHERE created_at > %(started)s",
    # S4-S5's suspensions and lifts (on record: 2 entries an account). The log is append-only
    # (migrations/0019: its triggers refuse a DELETE); the bench's own database drops them
    # with the trigger off inside this transaction, so the database is as it was.
    "ALTER TABLE moderation_audit DISABLE TRIGGER moderation_audit_no_update",
    "DELETE FROM moderation_audit WHERE id > %(max_audit)s",
    "ALTER TABLE moderation_audit ENABLE TRIGGER moderation_audit_no_update",
]


def suspensions(app, f, suspended):
    """Suspend S4-S5's accounts (f["suspend_ids"]), or lift their suspensions, as a
    moderator does: through the domain (moderation.suspend, unsuspend; the server's action,
    no actor), in one transaction, so the suspended set, its version and each account's
    sessions change as they would in the service (every server hears the bumps through
    Redis) and the counts stay exact (a suspension changes none). `app`: an app on the
    bench's database and Redis (its Store, its Tokens)."""
    act = moderation.suspend if suspended else moderation.unsuspend
    with app.registry.store.begin() as tx:
        changed = sum(act(tx, app.registry.tokens, None, i, "bench S4-S5") for i in f["suspend_ids"])
    return changed


def bare_app(global_config, **settings):
    """L0, the limit: a Pyramid view returning a small JSON dict (a paste app factory); and
    L0b's, /sized/N: a JSON body of N bytes (R4's size; its request carries R4's token)."""
    from pyramid.config import Configurator

    def sized(request):
        return {"data": "x" * max(0, int(request.matchdict["size"]) - len('{"data": ""}'))}

    with Configurator() as config:
        config.add_route("bare", "/")
        config.add_view(lambda request: {"status": "ok", "service": "bare"}, route_name="bare", renderer="json")
        config.add_route("sized", r"/sized/{size:\d+}")
        config.add_view(sized, route_name="sized", renderer="json")
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


NAMED = """SELECT username, id, following_count, followers_count,
                 EXISTS (SELECT 1 FROM follows WHERE follower_id = u.id
                            AND followee_id = (SELECT id FROM users WHERE username = 'celebrity')) AS follows_celebrity
            FROM users u WHERE username = ANY(%(named)s)"""


def fixtures(conn, base, tokens, dataset):
    """Who and what the rows ask for, from the data; R3's cursor by walking up to 100 `next`
    links (fewer when the feed ends sooner); D3's named readers by name."""
    m = dataset.follows_per_user
    f = {"heavy": populate.HEAVY_READER, "writers": [], "named": list(populate.NAMED_READERS), "readers": {}}
    f.update(follows_lo=m - m // 10, follows_hi=m + m // 10, follows_per_user=m, heavy_follows=dataset.heavy_follows)
    with conn, conn.cursor() as cur:
        for name, sql in FIXTURES.items():
            cur.execute(sql, f)
            f[name] = [row[0] for row in cur.fetchall()]
            single = ("top_author", "top_tag", "rare_tag", "hider", "reposts_reader", "max_post", "max_repost")
            single += ("max_outbox", "suspended_followees", "max_audit")
            f[name] = f[name][0] if name in single else f[name]
            if name == "users":
                f["typical"], f["writers"] = f["users"][:8], f["users"][8:]
        cur.execute("SELECT now()")
        f["started"] = cur.fetchone()[0]
        for sql in HIDE + REPOST:
            cur.execute(sql, f)
        if dataset.celebrity_followers:
            cur.execute(NAMED, f)
            keys = ("id", "following", "followers", "follows_celebrity")
            f["readers"] = {row[0]: dict(zip(keys, row[1:], strict=True)) for row in cur.fetchall()}
    f["common_word"], f["rare_word"] = populate.search_words(dataset)
    path, f["deep_pages"] = "/api/feed/", 0
    while f["deep_pages"] < 100:
        status, page = call(base + path, token=tokens(f["typical"][0]))
        if status != 200:
            raise SystemExit(f"R3: the feed answered HTTP {status}")
        following = re.sub(r"^https?://[^/]+", "", (page or {}).get("next") or "")
        if not following:
            break
        path, f["deep_pages"] = following, f["deep_pages"] + 1
    f["deep_feed"] = path
    request = urllib.request.Request(base + "/api/posts/", headers={"Authorization": tokens(f["typical"][0])})
    with urllib.request.urlopen(request, timeout=30) as response:
        f["r4_bytes"] = len(response.read())  # L0b answers a body this size
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
    trending = [
        ("POST", "/api/posts/", json.dumps({"text": f"bench trend {n} #{tags[0]}"}), writers[n % 8]) for n in range(64)
    ]
    logins = [json.dumps({"username": user, "password": populate.PASSWORD}) for user in writers]
    common_search = f"/api/search/posts/?q={f['common_word']}"
    return (
        [
            ("L0", "bare Pyramid JSON view", get("/", [None])),
            ("L0b", f"bare view, R4's request and body size ({f['r4_bytes']:,} bytes)", get(f"/sized/{f['r4_bytes']}")),
            ("R1", f"home feed p1, typical user (~{f['follows_per_user']} follows)", get("/api/feed/", f["typical"])),
            ("R2", f"home feed p1, heavy_reader ({f['heavy_follows']:,} follows)", get("/api/feed/", [f["heavy"]])),
            ("R3", f"home feed {f['deep_pages']} pages deep (cursor)", get(f["deep_feed"])),
            ("R4", "all posts, page 1", get("/api/posts/")),
            ("R5", "all posts, page=2000", get("/api/posts/?page=2000")),
            ("R6", "top author's posts p1", get(f"/api/users/{f['top_author']}/posts/")),
            ("R7a", f"top hashtag #{f['top_tag']} p1", get(f"/api/hashtags/{f['top_tag']}/posts/")),
            ("R7b", f"rare hashtag #{f['rare_tag']} p1", get(f"/api/hashtags/{f['rare_tag']}/posts/")),
            ("R8", "popular hashtags", get("/api/popular_hashtags/")),
            ("R9a", f"search, common word '{f['common_word']}'", get(common_search)),
            ("R9b", f"search, rare word '{f['rare_word']}'", get(f"/api/search/posts/?q={f['rare_word']}")),
            ("R10", "a profile with counts", get(f"/api/users/{f['top_author']}/")),
            ("R11", "home feed p1 with reposts (each followee reposted 5)", get("/api/feed/", [f["reposts_reader"]])),
            ("S1", "home feed p1, a viewer with 100 blocks and 1,000 mutes", get("/api/feed/", [f["hider"]])),
            ("S2", "all posts p1, that viewer", get("/api/posts/", [f["hider"]])),
            ("S3", f"search, common word '{f['common_word']}', that viewer", get(common_search, [f["hider"]])),
            (
                "S4",
                f"home feed p1, typical user, {len(f['suspend_ids']):,} accounts suspended"
                f" ({f['suspended_followees']} followed; twin of R1)",
                get("/api/feed/", f["typical"]),
            ),
            ("S5", f"all posts p1, {len(f['suspend_ids']):,} accounts suspended (twin of R4)", get("/api/posts/")),
            ("W1", "create a post with 2 hashtags", posts),
            ("W1t", f"a trending tag: every post under #{tags[0]}", trending),
            ("W2", "like then unlike", toggle("/api/posts/{}/like/", f["like_posts"])),
            ("W3", "follow then unfollow", toggle("/api/users/{}/follow/", f["follow_users"])),
            ("A1", "log in (bcrypt)", [("POST", "/api/token/", body, None) for body in logins]),
        ]
        + mastodon_rows(f, reader, writers, tags)
        + named_rows(f, posts)
    )


def mastodon_rows(f, reader, writers, tags):
    """The Mastodon face's twins of R1, R7a, W1 and W2 (issue 29: each within 1.2 x of its
    native twin): the same users, tags and posts, through /api/v1/."""
    statuses = [json.dumps({"status": f"bench status {n} #{tags[n % 16]} #{tags[(n + 1) % 16]}"}) for n in range(64)]
    favourite = "/api/v1/statuses/{}/{}"
    return [
        ("M1", "Mastodon: home timeline (twin of R1)", [("GET", "/api/v1/timelines/home", None, u) for u in reader]),
        (
            "M2",
            f"Mastodon: tag timeline #{f['top_tag']} (twin of R7a)",
            [("GET", f"/api/v1/timelines/tag/{f['top_tag']}", None, u) for u in reader],
        ),
        (
            "M3",
            "Mastodon: post a status, 2 hashtags (twin of W1)",
            [("POST", "/api/v1/statuses", b, writers[n % 8]) for n, b in enumerate(statuses)],
        ),
        (
            "M4",
            "Mastodon: favourite then unfavourite (twin of W2)",
            [
                ("POST", favourite.format(i, action), None, writers[n % 8])
                for n, i in enumerate(f["like_posts"])
                for action in ("favourite", "unfavourite")
            ],
        ),
    ]


def named_rows(f, posts):
    """D3's: page 1 of each named reader's feed (NAMED_READERS; the cold figure is added
    by run_rows), and W1's posts written by the celebrity (W1c; its fan-out is F1)."""
    if not f["readers"]:
        return []
    readers = [
        (f"R1:{name}", f"home feed p1, {name} ({f['readers'][name]['following']:,} follows)")
        + ([("GET", "/api/feed/", None, name)],)
        for name in populate.NAMED_READERS
    ]
    followers = f["readers"]["celebrity"]["followers"]
    celebrity = [(m, path, body, "celebrity") for m, path, body, _ in posts]
    return readers + [("W1c", f"celebrity ({followers:,} followers) posts, 2 hashtags", celebrity)]


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


# A row's measure is cut in this many parts, each run between two runs of L0 of the same
# length (measure(): the ratio to L0 of rows measured in the same seconds).
SLICES = 4


def measure(urls, variants, tokens, timing, conn, parts=None, l0=None):
    """Warm up, then measure; with the PostgreSQL sessions opened per request (a pool that
    keeps its connections opens none) and, given `parts`, the CPU each part spent per request.
    Given `l0` ((urls, requests) of the bare app), the measure runs in SLICES parts, with L0
    before, between and after them (`l0_rps`, their mean): the machine's speed drifts within
    minutes (2026-11-30: L0 at 940 req/s, then 1,919 two minutes later), so a ratio to L0 is
    fair only when both ran in the same minute. req/s and CPU are then the parts' together,
    p50 the median of theirs, p99 the largest (a bound: the whole run's p99 is no higher)."""
    wrk(urls, variants, tokens, timing[0], latency=False)
    drain(urls)
    sessions_before = sessions(conn)
    slices = SLICES if l0 else 1
    seconds = max(1, round(timing[1] / slices))
    spent, runs, l0_runs = {}, [], []

    def run_l0():
        l0_runs.append(wrk(*l0, tokens, seconds)["rps"])
        drain(l0[0])

    for _ in range(slices):
        if l0:
            run_l0()
        cpu_before = parts.cpu() if parts else None
        runs.append(wrk(urls, variants, tokens, seconds))
        if parts:
            for part, s in parts.cpu(since=cpu_before).items():
                spent[part] = spent.get(part, 0.0) + s
    if l0:
        run_l0()
    requests = sum(r["rps"] for r in runs) * seconds
    result = {
        "rps": round(sum(r["rps"] for r in runs) / slices, 2),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
    }
    if l0:  # each part's req/s, and L0's around them
        result.update(l0_rps=round(statistics.mean(l0_runs), 2), runs=[round(r["rps"]) for r in runs])
        result["l0_runs"] = [round(r) for r in l0_runs]
    if parts:
        result["cpu_ms"] = {part: round(1000 * s / max(1, requests), 3) for part, s in spent.items()}
    drain(urls)
    time.sleep(1)  # a session is counted when it ends
    result["connects"] = (sessions(conn) - sessions_before) / max(1, requests)
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
    """Statements per request (store/db.py counts them), in-process, the second time round so the
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


class ExplainedConnection(psycopg2.extensions.connection):
    """A connection whose statements each run first under EXPLAIN (ANALYZE, BUFFERS), then
    for their rows: `plans` holds (execution ms, plan text) per statement."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = []


class ExplainedCursor(psycopg2.extras.RealDictCursor):
    def execute(self, query, vars=None):
        super().execute(b"EXPLAIN (ANALYZE, BUFFERS) " + self.mogrify(query, vars))
        plan = "\n".join(row["QUERY PLAN"] for row in self.fetchall())
        ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
        self.connection.plans.append((ms, plan))
        return super().execute(query, vars)


class NoRedis:
    """The cache of a cold read: Redis holds nothing and keeps nothing (RequestCache's store)."""

    def get_versioned(self, names, version_names=None):
        return {}, dict.fromkeys(names)

    def versions(self, names):
        return None

    def set_versioned(self, items, versions):
        pass

    def bump(self, *names):
        pass


def cold_feed(app, user_id, runs=5):
    """Page 1 of user_id's feed with no Redis cache: the feed view's own feed_rows (domain/timelines.py:
    its choice of plan and its queries), in a fresh connection each time, every statement
    under EXPLAIN (ANALYZE, BUFFERS). Returns the median over `runs` (after one discarded) of
    the statements' summed execution times, ms, and the last run's plans, one per statement."""
    settings, queries = app.registry.settings, app.registry.queries
    page = Page(DEFAULT_PAGE_SIZE, 1, before=MAX_KEY, offset=0)
    times = []
    for attempt in range(runs + 1):
        conn = psycopg2.connect(
            settings["database.url"],
            connection_factory=ExplainedConnection,
            cursor_factory=ExplainedCursor,
            options=startup_options(settings["database.statement_timeout"]),
        )
        # What feed_rows uses of a Tx (store/tx.py), on this connection and with no cache.
        tx = SimpleNamespace(db=conn, queries=queries, cache=RequestCache(NoRedis(), fills=False), settings=settings)
        try:
            list(feed_rows(tx, user_id, page))  # a pull plan's rows come lazily
        finally:
            conn.close()  # rolled back: nothing the statements might write stays
        times += [sum(ms for ms, _ in conn.plans)] if attempt else []
    return round(statistics.median(times), 3), "\n\n".join(plan for _, plan in conn.plans)


# F1: followers sampled (and the named readers who follow the celebrity), posts made.
FANOUT_SAMPLE = 200


def celebrity_fanout(args, env, conn, servers, f, posts):
    """F1: seconds from the start of a celebrity's post request until each sampled follower's
    feed (page 1, warm before) shows it, with a fan-out worker (`minitwitter-celery <ini>
    worker -Q fanout,timelines`: feed bumps, and home timelines below feed.pull_followers)
    started for it; the fan-outs W1c queued are dropped first (its posts
    are undone). Polling as minitwitter-fanout does (fanout.poll_until_seen)."""
    from kombu import Connection

    celebrity = f["readers"]["celebrity"]["id"]
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT follower_id FROM follows WHERE followee_id = %s ORDER BY random() LIMIT %s",
            (celebrity, FANOUT_SAMPLE),
        )
        ids = {row[0] for row in cur.fetchall()} | {r["id"] for r in f["readers"].values() if r["follows_celebrity"]}
    jwt = credentials.Tokens(settings_module.from_ini(args.ini))
    tokens = {uid: jwt.access(uid) for uid in ids}
    port = int(servers.urls[0].rsplit(":", 1)[1])
    for token in tokens.values():
        fanout.Client(port, token)("GET", "/api/feed/?page_size=1")
    with Connection(args.redis_url) as broker:
        for queue in ("fanout", "timelines"):
            broker.default_channel.queue_purge(queue)
    log = Path(tempfile.mkdtemp(prefix="minitwitter-bench-worker-")) / "worker.log"
    command = [str(Path(sys.executable).parent / "minitwitter-celery"), args.ini, "worker", "-Q", "fanout,timelines"]
    command += ["-n", f"bench-fanout-{port}@%h", "--concurrency=2", "--loglevel=INFO"]
    worker = fanout.spawn(command, env, log)
    delays, never = [], []
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the fan-out worker did not start: see {log}")
            time.sleep(0.2)
        author = fanout.Client(port, jwt.access(celebrity))
        for n in range(posts):
            started = time.monotonic()
            status, body = author("POST", "/api/posts/", {"text": f"celebrity bench post {n}"})
            if status != 201:
                raise SystemExit(f"F1: the celebrity's post answered HTTP {status}")
            seen = fanout.poll_until_seen(port, tokens, body["id"], started, threads=4)
            delays += [s * 1000 for s in seen if s is not None]
            never += [uid for uid, s in zip(tokens, seen, strict=True) if s is None]
    finally:
        stop_groups([worker])
    return {
        "id": "F1",
        "what": f"a celebrity post in {len(tokens)} followers' feeds p1 (after the request's start)",
        "followers": f["readers"]["celebrity"]["followers"],
        "sample": len(tokens),
        "posts": posts,
        "p50_ms": round(fanout.percentile(delays, 50), 1) if delays else None,
        "p99_ms": round(fanout.percentile(delays, 99), 1) if delays else None,
        "never_seen": len(never),
        "never_seen_ids": never,  # user ids, to look into
    }


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


# Issue 16's targets on D3: a named reader's cold feed page 1 within COLD_MS of database time,
# the slowest reader within READER_SPREAD times the typical one (cold and warm), a celebrity's
# post within CELEBRITY_POST times an ordinary post (p50), its fan-out's p99 within FANOUT_MS,
# and D3's reads within D3_GROWTH times their D1 p50.
COLD_MS = 5
READER_SPREAD = 2
CELEBRITY_POST = 2
FANOUT_MS = 10_000
D3_GROWTH = 1.25


def held(ok):
    return "held" if ok else "missed"


def d3_targets(report):
    """[(target, measured, held|missed)] of the D3 targets the report has figures for."""
    rows = {r["id"]: r for r in report["rows"] if "rps" in r}
    readers = {i[3:]: r for i, r in rows.items() if i.startswith("R1:")}
    out = []
    cold = {name: r["cold_ms"] for name, r in readers.items() if "cold_ms" in r}
    if cold:
        measured = ", ".join(f"{name} {ms:.2f}" for name, ms in cold.items())
        out.append((f"cold feed p1 ≤ {COLD_MS} ms of database time, every named reader", measured,
                    held(max(cold.values()) <= COLD_MS)))  # fmt: skip
    for figure, values in (("cold", cold), ("warm p50", {n: r["p50_ms"] for n, r in readers.items()})):
        if values.get("typical"):
            slowest = max(values, key=values.get)
            ratio = values[slowest] / values["typical"]
            out.append((f"slowest reader ≤ {READER_SPREAD} × typical, {figure}", f"{slowest}: {ratio:.1f} ×",
                        held(ratio <= READER_SPREAD)))  # fmt: skip
    if "W1c" in rows and rows.get("W1", {}).get("p50_ms"):
        ratio = rows["W1c"]["p50_ms"] / rows["W1"]["p50_ms"]
        out.append((f"celebrity post p50 ≤ {CELEBRITY_POST} × W1's", f"{ratio:.2f} ×", held(ratio <= CELEBRITY_POST)))
    if (f1 := report.get("fanout")) and f1["p99_ms"] is not None:
        measured = f"p50 {f1['p50_ms'] / 1000:.2f} s, p99 {f1['p99_ms'] / 1000:.2f} s, never shown {f1['never_seen']}"
        ok = f1["p99_ms"] <= FANOUT_MS and not f1["never_seen"]
        out.append((f"celebrity post in every sampled feed, p99 ≤ {FANOUT_MS // 1000} s", measured, held(ok)))
    d1 = report.get("d1") or {}
    if reads := [i for i in rows if i[0] == "R" and d1.get(i, {}).get("p50_ms")]:
        ratios = {i: rows[i]["p50_ms"] / d1[i]["p50_ms"] for i in reads}
        over = [f"{i} {x:.2f}" for i, x in ratios.items() if x > D3_GROWTH]
        out.append((f"reads' p50 ≤ {D3_GROWTH} × D1's", f"{len(ratios) - len(over)} of {len(ratios)} within"
                    + (f"; over: {', '.join(over)}" if over else ""), held(not over)))  # fmt: skip
    return out


def markdown(report):
    l0 = next((r["rps"] for r in report["rows"] if r["id"] == "L0" and "rps" in r), 0)
    lines = [
        f"# minitwitter bench, {report['date']}\n",
        f"{report['dataset']}; `pserve {report['ini']}`, waitress threads={report['threads']}, "
        f"{report['processes']} process(es){' behind haproxy' if report.get('haproxy') else ''}, "
        f"on {report['cores']} cores shared with wrk. Each row: {report['warm_up_s']} s warm-up, then "
        f"`wrk -t2 -c32 --latency` for {report['measure_s']} s in {report.get('slices', 1)} parts with L0 run before, "
        "between and after them; × L0 is the ratio to those L0 runs (L0's own line is its first run); "
        "p50 is the parts' median, p99 their largest. Queries: statements per request, caches warm. "
        "Connects: new PostgreSQL sessions per request (pg_stat_database.sessions).\n",
    ]
    numbers = lambda r: [f"{r['rps']:,.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]  # noqa: E731
    l0b = next((r for r in report["rows"] if r["id"] == "L0b" and "rps" in r), None)
    share = lambda r: r["rps"] / r.get("l0_rps", l0)  # noqa: E731

    def to_l0b(r):  # a read's share of L0b: both as shares of the L0 runs beside them
        return f"{share(r) / share(l0b):.3f}" if l0b and r["id"][0] in "RSM" and r["id"] != "L0b" else ""

    lines.append(
        "L0b answers a body of R4's size to a request carrying R4's token: × L0b is a read's share of it "
        "(each row's × L0 over L0b's).\n"
    )
    lines += table(
        ["id", "request", "req/s", "p50 ms", "p99 ms", "× L0", "× L0b", "errors", "queries", "connects", "targets"],
        [
            [r["id"], r["what"], *numbers(r), f"{share(r):.3f}", to_l0b(r), r["errors"], r["queries"]]
            + [f"{r['connects']:.2f}", verdict(r, l0)]
            if "rps" in r
            else [r["id"], r["what"], r["note"], *[""] * 8]
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
    if readers := [r for r in report["rows"] if r["id"].startswith("R1:") and "cold_ms" in r]:
        lines.append("\nNamed readers' feeds, page 1: warm through the service (the rows above), and cold: the")
        lines[-1] += " database time of domain/timelines.py's feed_rows with no Redis cache (EXPLAIN ANALYZE in a fresh"
        lines[-1] += " connection, the median of 5 runs after 1 discarded; plans below):\n"
        lines += table(
            ["reader", "request", "warm p50 ms", "warm p99 ms", "cold ms"],
            [[r["id"][3:], r["what"], *numbers(r)[1:], f"{r['cold_ms']:.2f}"] for r in readers],
        )
    if f1 := report.get("fanout"):
        lines.append(f"\nF1, {f1['what']}: {f1['posts']} post(s) by the celebrity ({f1['followers']:,} followers)")
        lines[-1] += f" with a fan-out worker (-Q fanout,timelines): p50 {f1['p50_ms']} ms, p99 {f1['p99_ms']} ms,"
        lines[-1] += f" never shown within {fanout.TIMEOUT} s: {f1['never_seen']}."
    if targets := d3_targets(report):
        lines.append(f"\n{report['dataset']}'s targets (issue 16):\n")
        lines += table(["target", "measured", "verdict"], targets)
    if "growth_missing" in report:
        chart_name, missing = report.get("growth_chart"), report["growth_missing"]
        lines.append(f"\nGrowth chart, p50 per row D1 → D2 → {report['dataset']}: ")
        lines[-1] += chart_name or "none (no other dataset to draw against)"
        lines[-1] += f"; no report of the day for {', '.join(missing)}: left out." if missing else "."
    if "bcrypt_per_s" in report:
        a1 = next(r["rps"] for r in report["rows"] if r["id"] == "A1")
        lines.append(f"\nbcrypt.checkpw at cost {report['bcrypt_rounds']}, 2 processes, right after A1: ")
        lines[-1] += f"{report['bcrypt_per_s']}/s; A1 logs in at {a1 / report['bcrypt_per_s']:.0%} of that."
    lines.append(f"Counts after the run (its writes undone): {report['count_mismatches_after'] or 'exact'}.")
    if "populate_s" in report:
        counts = report["populate_mismatches"] or "exact"
        lines.append(f"{report['dataset']} loaded in {report['populate_s']} s; counts: {counts}.")
    for r in readers:
        lines += [f"\n<details><summary>Plan, {r['id'][3:]}'s feed p1, cold</summary>\n", "```", r["cold_plan"]]
        lines += ["```", "</details>"]
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
        f = fixtures(conn, servers.urls[0], tokens, args.data)
        table = rows(f)
        l0 = table[0][2]
        suspended = False  # S4-S5's accounts, suspended while those rows run
        try:
            for row_id, what, variants in table:
                if args.only and row_id not in args.only.split(","):
                    continue
                if (row_id in SUSPENDED_ROWS) != suspended:
                    suspended = not suspended
                    suspensions(app, f, suspended)
                urls = bare.urls if row_id in ("L0", "L0b") else servers.urls
                method, path, body, user = variants[0]
                row = {"id": row_id, "what": what, "path": path}
                row["status"] = call(urls[0] + path, method, body, tokens(user))[0]
                if row["status"] in (0, 404, 405):  # e.g. search before its route exists
                    row["note"] = f"missing (HTTP {row['status']})"
                else:
                    # the machine drifts: each row's ratio is to L0 runs between its own (measure)
                    # L0b runs on the bare app too: its CPU is the bare processes', and no L0 between
                    pair, cost = (None, l0_parts) if row_id in ("L0", "L0b") else ((bare.urls, l0), parts)
                    row.update(measure(urls, variants, tokens, timing, conn, cost, pair))
                    row["queries"] = 0 if row_id in ("L0", "L0b") else queries_per_request(app, variants, tokens)
                if row_id == "A1":  # its ceiling, measured right after it on the same (shared) cores
                    report["bcrypt_per_s"] = round(bcrypt_rate(args.bcrypt_rounds, timing[1] // 4), 1)
                if row_id.startswith("R1:"):
                    row["cold_ms"], row["cold_plan"] = cold_feed(app, f["readers"][row_id[3:]]["id"])
                print(json.dumps(row), file=sys.stderr)
                report["rows"].append(row)
            if f["readers"] and (not args.only or "F1" in args.only.split(",")):
                report["fanout"] = celebrity_fanout(args, env, conn, servers, f, 1 if args.quick else 3)
                print(json.dumps(report["fanout"]), file=sys.stderr)
        finally:
            if suspended:
                suspensions(app, f, False)
            with conn, conn.cursor() as cur:
                for sql in UNDO:
                    cur.execute(sql, f)
    return f


def dataset_name(dataset, scale=1):
    """D1, D2 (D1 at scale 10), D3, D3tiny, or e.g. D1x3."""
    name = {"d1": "D1", "d3": "D3", "d3tiny": "D3tiny"}[dataset]
    return "D2" if (dataset, scale) == ("d1", 10) else name if scale == 1 else f"{name}x{scale}"


# The growth chart's datasets: the day's reports bench/results/<date><suffix>.json.
GROWTH = (("D1", ""), ("D2", "-d2"), ("D3", "-d3"))


def growth_series(results, date, report):
    """([(dataset, {row id: p50 ms})], [datasets missing]): D1, D2 and D3 from the day's
    reports in `results`, `report` (this run's) standing for its own dataset (D3, or D3tiny
    in D3's place)."""
    series, missing = [], []
    for name, suffix in GROWTH:
        path = results / f"{date}{suffix}.json"
        if name == "D3":
            source, name = report, report["dataset"]
        elif path.exists():
            source = json.loads(path.read_text())
        else:
            missing.append(name)
            continue
        series.append((name, {r["id"]: r["p50_ms"] for r in source["rows"] if "rps" in r}))
    return series, missing


def growth_chart(series, date, path):
    """p50 per row across the datasets: one line per row measured in two of them or more."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _ in series]
    ids = [i for i in dict.fromkeys(i for _, p50 in series for i in p50) if sum(i in p50 for _, p50 in series) > 1]
    fig, ax = plt.subplots(figsize=(11, 7))
    for row_id in ids:
        points = [(x, p50[row_id]) for x, (_, p50) in enumerate(series) if row_id in p50]
        ax.plot(*zip(*points, strict=True), marker="o", label=row_id)
    ax.set(xticks=range(len(names)), xticklabels=names, yscale="log", ylabel="p50, ms")
    ax.set_title(f"minitwitter {date}: p50 per row as the data grows ({', '.join(names)})")
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini the service runs with, e.g. production.ini")
    parser.add_argument(
        "--dataset", choices=["d1", "d3", "d3tiny"], default="d1", help="d3: D3 in database minitwitter_bench_d3"
    )
    parser.add_argument("--scale", type=int, default=1, help="posts and likes times this: 10 is D2 (database *_d2)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", REDIS_URL))
    parser.add_argument("--populate", action="store_true", help="load the data again even if there is some")
    parser.add_argument("--quick", action="store_true", help="2 s warm-up, 5 s measure: a smoke test")
    parser.add_argument(
        "--seconds", type=int, help="seconds measured per row (default 20; the warm-up is a quarter of it, 2 s or more)"
    )
    parser.add_argument("--threads", type=int, help="waitress threads (and database.pool_max); default: the ini's")
    parser.add_argument("--processes", type=int, default=1, help="pserve processes, one port each, wrk split over them")
    parser.add_argument("--only", help="comma-separated row ids, e.g. L0,R4,R1:celebrity,F1 (and no sweep)")
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
    timing = (2, 5) if args.quick else (max(2, args.seconds // 4), args.seconds) if args.seconds else (5, 20)
    dataset = dataset_name(args.dataset, args.scale)
    suffix = "" if dataset == "D1" else f"_{dataset.lower()}"
    args.database_url = args.database_url or DATABASE_URL + suffix
    data = populate.DATASETS[args.dataset]
    args.data = dataclasses.replace(data, posts=data.posts * args.scale, likes=data.likes * args.scale)
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
        slices=SLICES,
        rows=[],
        sweep=[],
    )
    if args.populate or populate.is_empty(conn):
        started, rounds = time.monotonic(), settings["bcrypt.rounds"]
        report["populate_mismatches"] = populate.populate(args.database_url, args.data, rounds, force=True)
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
    if dataset != "D1" and d1_report.exists():  # the growth curve: this dataset against D1
        report["d1"] = {r["id"]: r for r in json.loads(d1_report.read_text())["rows"] if "rps" in r}
    if args.dataset != "d1":  # D1 -> D2 -> D3 (here: this run), the day's reports that exist
        series, report["growth_missing"] = growth_series(RESULTS, date, report)
        if len(series) > 1:
            report["growth_chart"] = f"{date}-growth.png" if dataset == "D3" else f"{base.name}-growth.png"
            growth_chart(series, date, RESULTS / report["growth_chart"])
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    base.with_suffix(".md").write_text(markdown(report))
    chart(report, base.with_suffix(".png"))
    print(f"wrote {base}.json, .md and .png", file=sys.stderr)
    return 1 if any(r.get("errors") for r in report["rows"]) or report["count_mismatches_after"] else 0


if __name__ == "__main__":
    sys.exit(main())
