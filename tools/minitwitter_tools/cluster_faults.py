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

Writes bench/results/cluster-faults-<date>.md and .json; exits 1 when a requirement fails.
"""

import argparse
import datetime
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minitwitter_tools.cluster import Topology, http_status
from minitwitter_tools.faults import UNLIMITED, Inbox, Load, between, signup, stats

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


def _writes(users):
    counter = itertools.count()

    def next_request(i, n):
        token, _ = users[i % len(users)]
        return "POST", "/api/posts/", {"text": f"fault {next(counter)} #cluster"}, token

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
        reads.at(seconds)
    result = stats(reads.results + writes.results)
    result["killed_master"] = masters[0]
    result["ok"] = result["failures"] == 0
    return result


def scenario_rabbitmq(topology, inbox, follows=30):
    followee_token, followee_id = signup(topology.port, "star")
    followers = [signup(topology.port, f"fan{i}") for i in range(follows)]
    pending = list(followers)

    def next_request(i, n):
        token, _ = pending.pop()
        return "POST", f"/api/users/{followee_id}/follow/", None, token

    with Load(topology.port, 1, next_request, pause=0.2, requests=follows) as load:
        load.at(1.0)
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=60)
        load.join()
    result = stats(load.results)
    deadline = time.monotonic() + 120  # the relay re-publishes rows older than 10 s, every 30 s
    while time.monotonic() < deadline:
        subjects = [m["Subject"] for m in inbox.messages if "followed you" in m["Subject"]]
        if len(subjects) >= follows:
            break
        time.sleep(1)
    time.sleep(3)  # a duplicate would arrive now
    subjects = [m["Subject"] for m in inbox.messages if "followed you" in m["Subject"]]
    result.update(emails=len(subjects), distinct=len(set(subjects)))
    result["ok"] = result["failures"] == 0 and len(subjects) == follows == len(set(subjects))
    return result


def report(results, args):
    date = datetime.date.today().isoformat()
    lines = [
        f"# Faults on the cluster topology, {date}",
        "",
        f"`minitwitter-cluster-faults {args.ini}`: haproxy, {args.processes} API processes (waitress,",
        "threads=4), PgBouncer (transaction mode), PostgreSQL primary + streaming replica, Redis"
        f" ({args.redis}), RabbitMQ, a Celery worker and beat, on one shared 2-core machine.",
        "",
        "| scenario | requests | failed | p50 ms | p99 ms | detail | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        detail = {k: v for k, v in r.items() if k not in ("requests", "failures", "p50_ms", "p99_ms", "ok")}
        lines.append(
            f"| {name} | {r['requests']} | {r['failures']} | {r['p50_ms']} | {r['p99_ms']} | "
            f"`{json.dumps(detail)}` | {'yes' if r['ok'] else 'NO'} |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"cluster-faults-{date}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"cluster-faults-{date}.json").write_text(json.dumps(results, indent=2) + "\n")
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
    args = parser.parse_args(argv)
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
    topology = Topology(args.ini, environ, root / "cluster", args.processes, args.redis, queues=["celery"], ports=ports)
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
