"""minitwitter-cluster-faults <ini>: faults injected into `make cluster`'s topology under load.

One topology (cluster.py: haproxy, 2 API processes, PgBouncer, primary + replica, Redis,
RabbitMQ, a worker and beat) serves every scenario; client threads (faults.py's Load)
go through haproxy. Each scenario checks its requirement:

replica     the replica's postmaster killed -9 under reads: reads move to the primary,
            0 failed requests; the replica is started again afterwards.
api         one of the two API processes killed -9 under reads: haproxy routes around
            it (health checks, retry-on): 0 failed GETs; it is started again.
pgbouncer   PgBouncer stopped and started under writes: failures only inside its
            window, each a 503 with Retry-After.
redis       (--redis cluster) a Redis Cluster master killed -9 under reads and writes:
            its replica takes over, 0 failed requests.
rabbitmq    (--rabbitmq-restart, run last) the broker's app restarted (rabbitmqctl
            stop_app / start_app) during 30 follows: every follow 2xx, every follow email
            arrives through SMTP exactly once (the outbox relay re-publishes).

With --hosts N (each API process and worker a host of its own, hosts.py), the scenarios
are those of hosts, under reads and writes through haproxy unless said:
link        host 1's link cut (its veth down) for 4 s: after haproxy's check window
            (WINDOW) 0 failed requests; counts exact (every acknowledged post stored once,
            none twice).
redis_cut   host 1 cut from Redis only (a prohibit route in its namespace, its connections
            reset), under reads and writes sent to host 1 itself: 0 failed (it serves from
            PostgreSQL); afterwards no stale read anywhere.
primary_cut host 1 cut from the primary only (PgBouncer's primary address): its writes
            each 503 with Retry-After, its reads 0 failed (the replica).
rolling     every API host stopped (SIGTERM) and started again, one at a time: 0 failed;
            counts exact.
media       the media store (PostgreSQL's primary: media.store = postgres) restarted
            under image posts: each post 201 with its image served, or 503 with
            Retry-After; afterwards every post's image and thumbnail are served.

Writes bench/results/cluster-faults-<date>.md and .json (cluster-hosts-faults-<date> with
--hosts); exits 1 when a requirement fails.
"""

import argparse
import collections
import contextlib
import datetime
import io
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from minitwitter_tools.cluster import DATABASE, Topology, http_status
from minitwitter_tools.faults import UNLIMITED, Client, Inbox, Load, between, signup, stats

log = logging.getLogger("minitwitter.cluster_faults")
RESULTS = Path("bench/results")


def _reads(topology, users):
    """GETs over many URLs (few come whole from the cache), by settled users."""

    def next_request(i, n):
        token, user_id = users[(i + n) % len(users)]
        size = n % 50 + 1
        path = f"/api/users/{user_id}/posts/?page_size={size}" if n % 2 else f"/api/posts/?page_size={size}"
        return "GET", path, None, token

    return next_request


def _writes(users, prefix="fault"):
    counter = itertools.count()

    def next_request(i, n):
        token, _ = users[i % len(users)]
        return "POST", "/api/posts/", {"text": f"{prefix} {next(counter)} #cluster"}, token

    return next_request


def scenario_replica(topology, users, seconds=6.0, at=2.0):
    with Load(topology.port, 4, _reads(topology, users)) as load:
        load.at(at)
        topology.pg.replica.kill()
        killed = time.monotonic()
        load.at(seconds)
    result = stats(load.results)
    result["after_kill"] = stats(between(load.results, killed, float("inf")))
    topology.pg.replica.stop("immediate")
    topology.pg.replica.start()
    result["ok"] = result["failures"] == 0 and result["after_kill"]["requests"] > 0
    return result


def scenario_api(topology, users, seconds=6.0, at=2.0):
    with Load(topology.port, 4, _reads(topology, users)) as load:
        load.at(at)
        topology.web[0].kill()
        load.at(seconds)
    result = stats(load.results)
    topology.start_web(0)
    topology.wait_web()
    result["ok"] = result["failures"] == 0
    return result


def scenario_pgbouncer(topology, users, seconds=8.0, at=2.0, grace=1.0):
    with Load(topology.port, 4, _writes(users)) as load:
        load.at(at)
        began, ended = topology.pgbouncer.restart()
        load.at(seconds)
    result = stats(load.results)
    failures = [r for r in load.results if not r.ok]
    outside = [r for r in failures if not (began - grace <= r.start <= ended + grace)]
    bad = [r for r in failures if r.status != 503 or "retry-after" not in {k.lower() for k in r.headers}]
    result.update(window_ms=round((ended - began) * 1000), outside_window=len(outside), not_503=len(bad))
    result["after"] = stats(between(load.results, ended + grace, float("inf")))
    result["ok"] = not outside and not bad and result["after"]["failures"] == 0
    return result


def scenario_redis(topology, users, seconds=8.0, at=2.0):
    masters = topology.redis.masters()
    with Load(topology.port, 2, _reads(topology, users)) as reads, Load(topology.port, 2, _writes(users)) as writes:
        reads.at(at)
        topology.redis.nodes[masters[0]].kill()
        killed = time.monotonic()
        promoted = _wait_master_replaced(topology.redis, masters[0], timeout=seconds)
        reads.at(seconds)
    result = stats(reads.results + writes.results)
    result["killed_master"] = masters[0]
    result["window_ms"] = round((promoted - killed) * 1000) if promoted else None
    result["after_kill"] = stats(between(reads.results + writes.results, killed, float("inf")))
    if promoted:
        result["in_window"] = stats(between(reads.results + writes.results, killed, promoted))
    result["stale_reads"] = _stale_reads(topology, users, writes.results)
    result["ok"] = result["failures"] == 0 and promoted is not None and result["stale_reads"] == 0
    return result


def _stale_reads(topology, users, writes):
    """After the failover, the lists every reader was reading (each page size) must begin
    with the last post acknowledged: never staler than the last committed write, also for
    a write whose version bump was sent while its key's master was dead."""
    posted = [(r.body["id"], r.body["author"]["id"]) for r in writes if r.ok]
    if not posted:
        return None
    newest = max(posted)[0]
    newest_by = {author: max(i for i, a in posted if a == author) for _, author in posted}
    client, stale = Client(topology.port), 0
    for token, _ in users:
        for size in range(1, 51):
            pages = [(f"/api/posts/?page_size={size}", newest)]
            pages += [(f"/api/users/{a}/posts/?page_size={size}", i) for a, i in newest_by.items()]
            for path, expected in pages:
                page = client.request("GET", path, token=token)
                stale += not (page.ok and page.body["results"] and page.body["results"][0]["id"] == expected)
    client.close()
    return stale


def _wait_master_replaced(redis, dead_port, timeout):
    """When the cluster is whole again without the dead master (marked fail, its slots
    served by its promoted replica): the end of the failover window, or None."""
    deadline = time.monotonic() + timeout
    alive = str(next(p for p in redis.ports if p != dead_port))
    while time.monotonic() < deadline:
        info = subprocess.run(["redis-cli", "-p", alive, "cluster", "info"], capture_output=True, text=True).stdout
        nodes = subprocess.run(["redis-cli", "-p", alive, "cluster", "nodes"], capture_output=True, text=True).stdout
        dead = next((line.split() for line in nodes.splitlines() if f":{dead_port}@" in line), None)
        if "cluster_state:ok" in info and dead and "fail" in dead[2].split(",") and len(dead) == 8:
            return time.monotonic()
        time.sleep(0.05)
    return None


def scenario_rabbitmq(topology, inbox, follows=30):
    followee_token, followee_id = signup(topology.port, "star")
    followers = [signup(topology.port, f"fan{i}") for i in range(follows)]
    pending = list(followers)

    def next_request(i, n):
        token, _ = pending.pop()
        return "POST", f"/api/users/{followee_id}/follow/", None, token

    with Load(topology.port, 1, next_request, pause=0.2, requests=follows) as load:
        load.at(1.0)
        began = time.monotonic()
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=60)
        ended = time.monotonic()
        load.join()
    result = stats(load.results)
    result.update(window_ms=round((ended - began) * 1000), in_window=len(between(load.results, began, ended)))
    deadline = time.monotonic() + 120  # the relay re-publishes rows older than 10 s, every 30 s
    while time.monotonic() < deadline:
        subjects = [m["Subject"] for m in inbox.messages if "followed you" in m["Subject"]]
        if len(subjects) >= follows:
            result["all_emails_after_s"] = round(time.monotonic() - began, 1)
            break
        time.sleep(1)
    time.sleep(3)  # a duplicate would arrive now
    subjects = [m["Subject"] for m in inbox.messages if "followed you" in m["Subject"]]
    result.update(emails=len(subjects), distinct=len(set(subjects)))
    result["ok"] = result["failures"] == 0 and len(subjects) == follows == len(set(subjects))
    return result


# --- faults on hosts (--hosts) ------------------------------------------------------

WINDOW = 2.0  # haproxy: a check every 500 ms, each up to 500 ms, down after 2 failed


def _exact(topology, writes, prefix):
    """Every acknowledged post of `prefix` stored, none twice; a failed write may have
    committed before its answer was lost (at most one row each)."""
    acked = {r.body["id"] for r in writes if r.ok}
    failed = sum(not r.ok for r in writes)
    with contextlib.closing(psycopg2.connect(topology.pg.primary.url(DATABASE))) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, text FROM posts WHERE text LIKE %s", (f"{prefix} %",))
        rows = cur.fetchall()
    texts = [text for _, text in rows]
    counts = {
        "acknowledged": len(acked),
        "stored": len(rows),
        "missing": len(acked - {i for i, _ in rows}),
        "duplicates": len(texts) - len(set(texts)),
    }
    counts["exact"] = counts["missing"] == 0 and counts["duplicates"] == 0 and len(rows) - len(acked) <= failed
    return counts


def _healthy_again(topology, number):
    """Host `number` answers, and haproxy has it back (rise 2 checks 500 ms apart)."""
    topology.wait_web()
    time.sleep(1.5)


def scenario_link(topology, users, seconds=10.0, at=2.0, cut_for=4.0):
    net = topology.network
    with (
        Load(topology.port, 4, _reads(topology, users)) as reads,
        Load(topology.port, 2, _writes(users, "link")) as writes,
    ):
        reads.at(at)
        net.link(1, up=False)
        cut = time.monotonic()
        reads.at(at + cut_for)
        net.link(1, up=True)
        reads.at(seconds)
    everything = reads.results + writes.results
    result = stats(everything)
    result["in_window"] = stats(between(everything, cut, cut + WINDOW))
    result["after_window"] = stats(between(everything, cut + WINDOW, float("inf")))
    result.update(_exact(topology, writes.results, "link"))
    _healthy_again(topology, 1)
    result["ok"] = result["after_window"]["failures"] == 0 and result["exact"]
    return result


def scenario_redis_cut(topology, users, seconds=6.0, at=1.0):
    net, host = topology.network, (topology.web_address(0), topology.api_ports[0])
    with Load(host, 2, _reads(topology, users)) as reads, Load(host, 2, _writes(users, "nocache")) as writes:
        reads.at(at)
        net.cut(1, net.redis)
        cut = time.monotonic()
        reads.at(seconds)
    net.cut(1, net.redis, cut=False)
    everything = reads.results + writes.results
    result = stats(everything)
    result["while_cut"] = stats(between(everything, cut, float("inf")))
    result.update(_exact(topology, writes.results, "nocache"))
    result["stale_reads"] = _stale_reads(topology, users, writes.results)
    result["ok"] = result["failures"] == 0 and result["exact"] and result["stale_reads"] == 0
    return result


def scenario_primary_cut(topology, users, seconds=12.0, at=1.0):
    net, host = topology.network, (topology.web_address(0), topology.api_ports[0])
    with Load(host, 2, _reads(topology, users)) as reads, Load(host, 4, _writes(users, "noprimary")) as writes:
        reads.at(at)
        net.cut(1, net.primary)
        cut = time.monotonic()
        reads.at(seconds)
    net.cut(1, net.primary, cut=False)
    cut_writes = between(writes.results, cut, float("inf"))
    bad = [r for r in cut_writes if r.status != 503 or "retry-after" not in {k.lower() for k in r.headers}]
    result = stats(reads.results)
    result["reads_while_cut"] = stats(between(reads.results, cut, float("inf")))
    result["writes_while_cut"] = stats(cut_writes)
    result["writes_not_503_retry_after"] = len(bad)
    result["ok"] = (
        result["failures"] == 0 and result["reads_while_cut"]["requests"] > 0 and not bad and bool(cut_writes)
    )
    _healthy_again(topology, 1)
    return result


def scenario_rolling(topology, users):
    with (
        Load(topology.port, 4, _reads(topology, users)) as reads,
        Load(topology.port, 2, _writes(users, "rolling")) as writes,
    ):
        reads.at(1.0)
        for index in range(len(topology.web)):
            topology.web[index].stop()
            topology.start_web(index)
            _healthy_again(topology, index + 1)
        time.sleep(1.0)
    result = stats(reads.results + writes.results)
    result["restarted"] = len(topology.web)
    result.update(_exact(topology, writes.results, "rolling"))
    result["ok"] = result["failures"] == 0 and result["exact"]
    return result


def _jpeg():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _image_posts(users):
    counter, jpeg, boundary = itertools.count(), _jpeg(), "minitwitterfaultboundary"

    def next_request(i, n):
        token, _ = users[i % len(users)]
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nmedia {next(counter)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        )
        body = head.encode() + jpeg + f"\r\n--{boundary}--\r\n".encode()
        return "POST", "/api/posts/", (f"multipart/form-data; boundary={boundary}", body), token

    return next_request


def _path(url):
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def scenario_media(topology, users, seconds=10.0, at=2.0):
    with Load(topology.port, 2, _image_posts(users), pause=0.05) as posts:
        posts.at(at)
        began = time.monotonic()
        topology.pg.primary.stop("fast")
        topology.pg.primary.start()
        ended = time.monotonic()
        posts.at(seconds)
    result = stats(posts.results)
    result["restart_ms"] = round((ended - began) * 1000)
    failures = [r for r in posts.results if not r.ok]
    result["not_503_retry_after"] = sum(
        r.status != 503 or "retry-after" not in {k.lower() for k in r.headers} for r in failures
    )
    deadline = time.monotonic() + 30
    while http_status(topology.port) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    client, unserved = Client(topology.port), 0
    served = [client.request("GET", _path(r.body["image"]["url"])).status for r in posts.results if r.ok]
    result["acknowledged_image_statuses"] = dict(collections.Counter(served))
    result["acknowledged_unserved"] = sum(status != 200 for status in served)
    # every stored post of the run: its image served, its thumbnail made (the worker) and served
    with contextlib.closing(psycopg2.connect(topology.pg.primary.url(DATABASE))) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM posts WHERE text LIKE 'media %%'")
        stored = [row[0] for row in cur.fetchall()]
    token = users[0][0]
    deadline = time.monotonic() + 60
    for post_id in stored:
        while True:
            image = (client.request("GET", f"/api/posts/{post_id}/", token=token).body or {}).get("image")
            ready = image and image["thumbnail_url"]
            if ready or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        served = image and all(
            client.request("GET", _path(image[k])).status == 200 for k in ("url", "thumbnail_url") if image[k]
        )
        unserved += not (ready and served)
    client.close()
    result.update(stored=len(stored), posts_missing_image=unserved)
    result["ok"] = not result["not_503_retry_after"] and not unserved and not result["acknowledged_unserved"]
    return result


def report(results, args):
    """Merged with the rows of the same day's earlier runs (a row per scenario, the last run's)."""
    date = datetime.date.today().isoformat()
    stem = f"cluster-hosts-faults-{date}" if args.hosts else f"cluster-faults-{date}"
    path = RESULTS / f"{stem}.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    for r in results.values():
        where = f"{args.hosts} API hosts + a worker host per queue" if args.hosts else f"{args.processes} API processes"
        r["topology"] = f"{where}, Redis {args.redis}"
    merged.update(results)
    lines = [
        f"# Faults on the cluster topology{' on hosts' if args.hosts else ''}, {date}",
        "",
        f"`minitwitter-cluster-faults {args.ini}{f' --hosts {args.hosts}' if args.hosts else ''}`: "
        "haproxy, API processes (waitress, threads=4),",
        "PgBouncer (transaction mode), PostgreSQL primary + streaming replica, Redis (single or a",
        "Cluster of 3 masters + 3 replicas: see each row), RabbitMQ, a Celery worker and beat,",
        "on one shared 2-core machine (other test suites running meanwhile).",
        "",
        "| scenario | requests | failed | p50 ms | p99 ms | detail | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in merged.items():
        detail = {k: v for k, v in r.items() if k not in ("requests", "failures", "p50_ms", "p99_ms", "ok")}
        lines.append(
            f"| {name} | {r['requests']} | {r['failures']} | {r['p50_ms']} | {r['p99_ms']} | "
            f"`{json.dumps(detail)}` | {'yes' if r['ok'] else 'NO'} |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    path.write_text(json.dumps(merged, indent=2) + "\n")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--redis", choices=("single", "cluster"), default="single")
    parser.add_argument("--scenarios", default="replica,api,pgbouncer", help="comma-separated, in this order")
    parser.add_argument("--rabbitmq-restart", action="store_true", help="last: restart RabbitMQ during follows")
    parser.add_argument("--api-port", type=int)
    parser.add_argument("--pg-port", type=int)
    parser.add_argument("--redis-port", type=int)
    parser.add_argument("--hosts", type=int, help="each API process and worker a host of its own (hosts.py)")
    parser.add_argument("--subnet", help="the hosts' network (default hosts.DEFAULT_SUBNET)")
    args = parser.parse_args(argv)
    if args.hosts:
        args.processes = args.hosts
        if args.scenarios == parser.get_default("scenarios"):
            args.scenarios = "link,redis_cut,primary_cut,rolling,media"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    scenarios = [s for s in args.scenarios.split(",") if s]
    if args.redis == "cluster" and "redis" not in scenarios:
        scenarios.append("redis")
    inbox = Inbox()
    inbox.start()
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL")}
    environ.update(UNLIMITED, SMTP_URL=inbox.url, PORT=environ.get("PORT", "6660"))
    root = Path(tempfile.mkdtemp(prefix="minitwitter-cluster-faults-"))
    root.chmod(0o755)
    ports = {"api": args.api_port, "pg": args.pg_port, "redis": args.redis_port, "amqp": 5672}
    topology = Topology(
        args.ini,
        environ,
        root / "cluster",
        args.processes,
        args.redis,
        queues=["celery"],
        ports=ports,
        hosts=bool(args.hosts),
        subnet=args.subnet,
    )
    results = {}
    try:
        topology.start()
        users = [signup(topology.port, f"reader{i}") for i in range(8)]
        time.sleep(1.5)  # tokens older than replica.max_lag_ms: their reads may use the replica
        for name in scenarios:
            log.info("scenario %s", name)
            results[name] = globals()[f"scenario_{name}"](topology, users)
            log.info("%s: %s", name, results[name])
            if http_status(topology.port) != 200:
                raise RuntimeError(f"the topology is not healthy after {name}")
        if args.rabbitmq_restart:
            log.info("scenario rabbitmq")
            results["rabbitmq"] = scenario_rabbitmq(topology, inbox)
    finally:
        topology.stop()
        inbox.stop()
    report(results, args)
    if all(r["ok"] for r in results.values()):
        subprocess.run(["rm", "-rf", str(root)], check=False)
        return 0
    log.error("logs kept in %s", root)
    return 1


if __name__ == "__main__":
    sys.exit(main())
