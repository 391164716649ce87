"""`make cluster` (tools/minitwitter_tools/cluster.py) starts every time with no arguments,
and a start that fails stops everything it had started and says why.

Real servers: redis-server and redis-cli, PostgreSQL's server binaries (initdb,
pg_basebackup), PgBouncer; a test skips when what it needs is not installed. About 50 s
in all (five Redis Clusters, three PostgreSQL pairs). .ci/cluster starts the whole
topology with no port arguments once, and serves requests through it.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
import redis

from minitwitter.store.cache import connect
from minitwitter_tools.cluster import RedisNodes, port_free
from minitwitter_tools.pgcluster import PrimaryReplica, pg_bin

CLUSTER = [str(Path(sys.executable).parent / "minitwitter-cluster")]
ROOT = Path(__file__).resolve().parent.parent

needs_redis = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-cli")), reason="redis-server and redis-cli are needed"
)
needs_pg = pytest.mark.skipif(
    pg_bin() is None or not shutil.which("pgbouncer"), reason="PostgreSQL's server binaries and pgbouncer are needed"
)


@pytest.fixture
def work():
    """A directory the postgres user can enter (tmp_path's parents are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="minitwitter-cluster-start-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def left_behind(path):
    """Processes whose command line names `path` (every server the cluster starts does:
    redis-server --dir, postgres -D, pgbouncer's and haproxy's configuration, pserve's ini)."""
    time.sleep(0.5)
    out = subprocess.run(["pgrep", "-af", str(path)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@needs_redis
def test_the_redis_cluster_starts_every_time_on_ports_it_picks(work):
    """Nodes on free ports from the kernel's range (up to 60999) failed when above 55535,
    the highest a cluster node takes (its bus port is + 10000): about 1 start in 4 worked."""
    for _ in range(5):
        nodes = RedisNodes(work / "redis", None, cluster=True)
        try:
            nodes.start()
            assert all(port <= 55535 for port in nodes.ports)
            client = connect(nodes.url)
            client.set("k", "v")
            assert client.get("k") == b"v"
            info = subprocess.run(["redis-cli", "-p", str(nodes.ports[0]), "cluster", "info"], capture_output=True)
            assert b"cluster_state:ok" in info.stdout and b"cluster_size:3" in info.stdout
            client.close()
        finally:
            nodes.stop()
        assert left_behind(work) == []
    single = RedisNodes(work / "redis", None, cluster=False)
    try:
        single.start()
        assert redis.Redis(port=single.ports[0]).ping()
    finally:
        single.stop()


@needs_redis
def test_a_cluster_port_with_no_room_for_its_bus_port_is_refused_before_anything_starts(work):
    done = subprocess.run(
        [*CLUSTER, "production.ini", "--var", str(work), "--redis", "cluster", "--redis-port", "55533"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--redis-port 55533" in done.stderr and "at most 55530" in done.stderr
    assert left_behind(work) == []


def run_cluster(work, *args, cwd=None, database_url=None, port=None):
    """minitwitter-cluster with no port arguments (but `port`, its PORT, if given),
    PostgreSQL started by it unless `database_url`; stops at the failure each test
    arranges. (returncode, its log)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT")}
    if port:
        env["PORT"] = str(port)
    if database_url:
        env["DATABASE_URL"] = database_url
    env["CELERY_BROKER_URL"] = "redis://127.0.0.1:1/0"  # never reached: the start fails before the workers
    ini = work / "broken.ini"  # production.ini, but for an application that is not installed
    ini.write_text((ROOT / "production.ini").read_text().replace("egg:minitwitter\n", "egg:no-such-distribution\n", 1))
    done = subprocess.run(
        [*CLUSTER, str(ini), "--processes", "1", "--redis", "cluster", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return done.returncode, done.stdout + done.stderr


@needs_redis
@needs_pg
def test_a_start_that_fails_late_stops_everything_it_started_and_says_why(work):
    """PostgreSQL primary and replica, PgBouncer and six Redis nodes start, then the API
    process cannot (its ini names no application): all of them stop, and the log says so."""
    code, log = run_cluster(work, "--var", str(work))
    assert code == 1, log
    assert "the cluster did not start: pserve on port" in log and "no-such-distribution" in log, log
    for part in ("starting pgbouncer", "starting redis", "starting web"):
        assert part in log
    assert left_behind(work) == [], log


@needs_redis
@needs_pg
def test_a_redis_node_that_cannot_start_stops_the_others(work, services):
    """A node's port is taken (by this test): the nodes started before it stop. (A Redis
    part that failed was forgotten: its nodes ran on.)"""
    # Below the kernel's ephemeral range (32768-), bus ports too: no outgoing connection takes one meanwhile.
    for _ in range(100):
        base = random.randrange(12000, 22000)
        port = base + 3
        if all(port_free(p) and port_free(p + 10000) for p in range(base, base + 6)):
            break
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        args = ("--var", str(work), "--redis-port", str(base))
        code, log = run_cluster(work, *args, database_url=services["DATABASE_URL"])  # the tests' own, migrated
    assert code == 1, log
    assert f"redis-server on port {port} exited" in log and "Address already in use" in log, log
    assert f"starting redis {base + 2}" in log
    assert left_behind(work) == [], log


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as the postgres user only when this is root")
@needs_redis
@needs_pg
def test_state_under_a_parent_the_postgres_user_cannot_enter(work):
    """A checkout in a root-only directory (/root): initdb, run as postgres, failed with
    a bare "Permission denied". The default var/ then moves to /var/tmp (PostgreSQL starts
    there); a --var there stops at once, naming the directory and what to change."""
    private = work / "private"
    private.mkdir(mode=0o700)
    checkout = private / "checkout"
    checkout.mkdir()
    code, log = run_cluster(work, "--var", str(checkout / "var"))
    assert code == 1, log
    assert f"{private} (mode 700) does not let it in" in log and "Pass --var" in log, log
    assert "starting" not in log and left_behind(work) == []

    code, log = run_cluster(work, cwd=checkout)  # no --var: ./var
    moved = next(line for line in log.splitlines() if "the cluster's state goes to" in line).split()[-1]
    try:
        assert code == 1, log
        assert "the cluster did not start: pserve on port" in log, log  # PostgreSQL started: it got that far
        assert (Path(moved) / "pg" / "primary" / "PG_VERSION").exists()
        assert left_behind(moved) == [] and left_behind(work) == [], log
    finally:
        shutil.rmtree(moved, ignore_errors=True)


@needs_pg
def test_the_replica_follows_its_primary_to_the_port_it_gets_on_a_later_start(work):
    """The state persists between starts, the ports are free ones each time: the replica
    kept the first start's primary port in its primary_conninfo and replicated nothing."""
    for _ in range(2):
        pair = PrimaryReplica(work / "pg")
        try:
            pair.start()
            deadline = time.monotonic() + 30
            while True:
                with psycopg2.connect(pair.replica.url()) as conn, conn.cursor() as cur:
                    cur.execute("SELECT status, sender_port FROM pg_stat_wal_receiver")
                    row = cur.fetchone()
                conn.close()
                if row == ("streaming", pair.primary.port):
                    break
                assert time.monotonic() < deadline, f"the replica does not stream from {pair.primary.port}: {row}"
                time.sleep(0.2)
            pair.wait_replayed()
        finally:
            pair.stop("immediate")
