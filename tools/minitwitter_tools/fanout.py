"""minitwitter-fanout <ini>: what a post by an author with many followers costs.

A benchmark scenario, not a test. In a private database (--database-url, dropped and
made afresh) it inserts one author and --followers followers with INSERT ... SELECT
generate_series, serves the ini with `pserve` and a Celery worker (ports --port), and
warms the feed of --sample random followers (their whole responses are cached). Then,
--posts times: the author posts (the request's time is measured by the client), and
--threads pollers read the sampled followers' feeds (page_size=1) until each shows the
post: the time from the request's start until a follower's feed shows it, p50/p99/max
over the sample. Writes bench/results/fanout-<date>-<label>.{json,md}.

--src runs another checkout's package (e.g. the code before the fan-out moved off the
request: `git archive main | tar -x -C /tmp/before`, then --src /tmp/before --label before);
its migrations must match this checkout's.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2

from minitwitter.domain.credentials import Tokens
from minitwitter.scripts import migrate
from minitwitter.store.cache import connect
from minitwitter_tools.devservices import ensure_database, stop_groups

RESULTS = Path("bench/results")
TIMEOUT = 120


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def __call__(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            self.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = self.conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, None


def populate(url, followers):
    """The author (id 1) and `followers` users following it; returns nothing."""
    ensure_database(url, drop_first=True)
    migrate.apply(url)
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no count triggers: set below
        cur.execute(
            "INSERT INTO users (id, username, email, password_hash)"
            " SELECT g, 'user' || g, 'user' || g || '@example.com', 'x' FROM generate_series(1, %s) g",
            (followers + 1,),
        )
        cur.execute(
            "INSERT INTO follows (follower_id, followee_id) SELECT g, 1 FROM generate_series(2, %s) g",
            (followers + 1,),
        )
        cur.execute("UPDATE users SET following_count = 1 WHERE id > 1")
        cur.execute("UPDATE users SET followers_count = %s WHERE id = 1", (followers,))
        cur.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), %s)", (followers + 1,))
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE users")
        cur.execute("VACUUM ANALYZE follows")
    conn.close()


def spawn(command, env, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)


def wait_healthy(port, child, log_path):
    deadline = time.monotonic() + 60
    while Client(port)("GET", "/api/health/")[0] != 200:
        if time.monotonic() > deadline or child.poll() is not None:
            raise SystemExit(f"the server did not start: see {log_path}")
        time.sleep(0.2)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def poll_until_seen(port, tokens, post_id, started, threads):
    """Seconds from `started` until each follower's feed shows `post_id` (None: never)."""
    seen, lock, pending = {}, threading.Lock(), list(tokens.items())
    random.shuffle(pending)

    def poller(mine):
        clients = {uid: Client(port, token) for uid, token in mine}
        while clients and time.monotonic() - started < TIMEOUT:
            for uid, client in list(clients.items()):
                status, body = client("GET", "/api/feed/?page_size=1")
                if status == 200 and body["results"] and body["results"][0]["id"] == post_id:
                    with lock:
                        seen[uid] = time.monotonic() - started
                    del clients[uid]

    workers = [threading.Thread(target=poller, args=(pending[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [seen.get(uid) for uid in tokens]


def run(args):
    populate(args.database_url, args.followers)
    for url in {args.redis_url, args.broker_url}:
        connect(url).flushdb()
    logdir = Path(args.logdir or f"var/fanout-{args.label}")
    logdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.broker_url,
        "JWT_SECRET": secret,
        "PORT": str(args.port),
        "RATELIMIT_WRITES": "1000000/1",
    }
    env.pop("MINITWITTER_DEV_SERVICES", None)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(args.src).resolve()), env.get("PYTHONPATH", "")])
    bindir = Path(sys.executable).parent
    server = spawn([str(bindir / "pserve"), args.ini], env, logdir / "pserve.log")
    worker = spawn(
        [str(bindir / "minitwitter-celery"), args.ini, "worker", "--concurrency=1", "--loglevel=INFO"],
        env,
        logdir / "worker.log",
    )
    try:
        wait_healthy(args.port, server, logdir / "pserve.log")
        tokens = Tokens({"jwt.secret": secret, "jwt.issuer": "minitwitter", "jwt.audience": "minitwitter-api",
                         "jwt.access_ttl": 3600, "jwt.refresh_ttl": 3600})  # fmt: skip
        rng = random.Random(args.seed)
        sample = {uid: tokens.access(uid) for uid in rng.sample(range(2, args.followers + 2), args.sample)}
        for token in sample.values():  # warm: each sampled feed's response is cached
            for _ in range(2):
                Client(args.port, token)("GET", "/api/feed/?page_size=1")
        author = Client(args.port, tokens.access(1))
        posts = []
        for i in range(args.posts):
            started = time.monotonic()
            status, body = author("POST", "/api/posts/", {"text": f"post {i} to {args.followers} followers"})
            request_ms = (time.monotonic() - started) * 1000
            if status != 201:
                raise SystemExit(f"post {i}: HTTP {status} {body}")
            seen = poll_until_seen(args.port, sample, body["id"], started, args.threads)
            times = [s for s in seen if s is not None]
            posts.append(
                {
                    "request_ms": round(request_ms, 1),
                    "never_seen": len(seen) - len(times),
                    "feed_p50_ms": round(percentile(times, 50) * 1000, 1) if times else None,
                    "feed_p99_ms": round(percentile(times, 99) * 1000, 1) if times else None,
                    "feed_max_ms": round(max(times) * 1000, 1) if times else None,
                }
            )
            print(f"post {i}: {posts[-1]}", flush=True)
            time.sleep(args.pause)
    finally:
        stop_groups([server, worker])
    redis_failed = sum(p.read_text().count("redis failed") for p in logdir.glob("*.log"))
    return {
        "date": datetime.date.today().isoformat(),
        "label": args.label,
        "ini": args.ini,
        "followers": args.followers,
        "sample": args.sample,
        "redis_url": args.redis_url,
        "redis_failures_logged": redis_failed,
        "posts": posts,
        "request_ms_median": statistics.median(p["request_ms"] for p in posts),
        "feed_p50_ms_median": statistics.median(p["feed_p50_ms"] or 0 for p in posts),
        "feed_p99_ms_median": statistics.median(p["feed_p99_ms"] or 0 for p in posts),
        "never_seen": sum(p["never_seen"] for p in posts),
    }


def markdown(report):
    lines = [
        f"# Fan-out, {report['date']} ({report['label']}): a post by an author with {report['followers']:,} followers",
        "",
        f"`{report['ini']}`, Redis `{report['redis_url']}`; feeds polled for {report['sample']} random followers"
        f" (time from the request's start until a follower's feed shows the post). Redis failures logged:"
        f" {report['redis_failures_logged']}.",
        "",
        "| post | request ms | feed p50 ms | feed p99 ms | feed max ms | never shown |",
        "|---|---|---|---|---|---|",
    ]
    for i, p in enumerate(report["posts"]):
        cells = [i, p["request_ms"], p["feed_p50_ms"], p["feed_p99_ms"], p["feed_max_ms"], p["never_seen"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        f"Medians: request {report['request_ms_median']} ms, feed p50 {report['feed_p50_ms_median']} ms,"
        f" feed p99 {report['feed_p99_ms_median']} ms; never shown (within {TIMEOUT} s): {report['never_seen']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ini")
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between posts")
    parser.add_argument("--port", type=int, default=6650)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/minitwitter_fanout")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"))
    parser.add_argument("--broker-url", default=None, help="default: --redis-url")
    parser.add_argument("--src", help="run this checkout's minitwitter package instead")
    parser.add_argument("--label", default="after")
    parser.add_argument("--logdir")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.broker_url = args.broker_url or args.redis_url
    report = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"fanout-{report['date']}-{args.label}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
