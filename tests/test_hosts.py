"""`minitwitter-cluster --hosts N` (tools/minitwitter_tools/hosts.py): each API process and
worker a host of its own in a network namespace. The whole topology through it runs in
.ci/cluster (CLUSTER_HOSTS=2): journeys, an image across hosts; the faults on hosts in
`make cluster-faults HOSTS=2`. Here: what a start that fails leaves (nothing), and the
services' URLs as the hosts get them. Needs root and iproute2 (network namespaces).
"""

import ipaddress
import os
import re
import shutil
import subprocess

import pytest
from test_cluster_start import left_behind, needs_pg, needs_redis, run_cluster, work  # noqa: F401

from minitwitter_tools.hosts import Network

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip"), reason="network namespaces need root and iproute2"
)
SUBNET = f"10.78.{os.getpid() % 250}.0/24"  # one per test run: two runs at once do not meet


def addresses_in(subnet):
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    net = ipaddress.ip_network(subnet)
    return [line for line in out.splitlines() if ipaddress.ip_interface(line.split()[3]).network.overlaps(net)]


@needs_root
@needs_redis
@needs_pg
def test_a_hosts_start_that_fails_removes_its_network_and_processes_and_says_why(work):  # noqa: F811
    """The network, PostgreSQL, PgBouncer and Redis start, then the API host's process
    cannot (its ini names no application): the namespaces, the bridge and every process go."""
    # A PORT of this run's own: the namespaces and the bridge are named after it, and two test
    # runs at once (CI runs Python 3.11 and 3.13 side by side) must not share them.
    port = 20000 + os.getpid() % 30000
    code, log = run_cluster(
        work, "--var", str(work), "--hosts", "1", "--subnet", SUBNET, "--redis", "single", port=port
    )
    assert code == 1, log
    assert "the cluster did not start: pserve on" in log and "no-such-distribution" in log, log
    namespace = re.search(r"ip netns exec (mt\d+h1) ", log).group(1)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert namespace not in namespaces
    assert addresses_in(SUBNET) == []
    assert left_behind(work) == [], log


@needs_root
def test_a_subnet_this_machine_has_is_refused_and_nothing_is_made():
    network = Network("127.0.0.0/24", 1, 1)
    with pytest.raises(RuntimeError, match=r"subnet 127.0.0.0/24 is already in use .* pass --subnet"):
        network.start(f"9{os.getpid() % 10000}")
    network.stop()
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"mt{network.tag}h" not in namespaces


@needs_root
def test_a_start_beside_a_live_run_on_its_port_is_refused_and_leaves_that_run_whole():
    tag = f"8{os.getpid() % 10000}"
    live = Network(f"10.80.{os.getpid() % 250}.0/24", 1, 0)
    live.start(tag)
    sleeper = subprocess.Popen(live.command(1, ["sleep", "60"]))
    try:
        other = Network(f"10.81.{os.getpid() % 250}.0/24", 1, 0)
        with pytest.raises(RuntimeError, match=f"namespace mt{tag}h1 is in use .* set PORT"):
            other.start(tag)
        other.stop()
        assert f"mt{tag}h1" in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert subprocess.run(["ip", "link", "show", f"mt{tag}br"], capture_output=True).returncode == 0
    finally:
        live.stop()
        sleeper.wait(10)
    assert f"mt{tag}h1" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert subprocess.run(["ip", "link", "show", f"mt{tag}br"], capture_output=True).returncode != 0


def test_services_on_the_loopback_are_relayed_to_the_bridge_and_the_rest_kept():
    network = Network("10.79.0.0/24", 2, 1)
    env = {
        "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "SMTP_URL": "smtp://localhost:8025",
        "DATABASE_URL": "postgresql://postgres@10.79.0.3:6432/minitwitter",
        "DATABASE_REPLICA_URLS": "postgresql://postgres@127.0.0.1:5433/m,postgres://db2.example:5432/m",
        "REDIS_URL": "redis://10.79.0.2:7000/0",
    }
    config = network.relay_config(env)
    assert env == {
        "CELERY_BROKER_URL": "amqp://guest:guest@10.79.0.1:5672//",
        "SMTP_URL": "smtp://10.79.0.1:8025",
        "DATABASE_URL": "postgresql://postgres@10.79.0.3:6432/minitwitter",
        "DATABASE_REPLICA_URLS": "postgresql://postgres@10.79.0.1:5433/m,postgres://db2.example:5432/m",
        "REDIS_URL": "redis://10.79.0.2:7000/0",
    }
    for port in (5672, 8025, 5433):
        assert f"bind 10.79.0.1:{port}\n    server local 127.0.0.1:{port}\n" in config
    assert sorted(network.relayed) == [("10.79.0.1", 5433), ("10.79.0.1", 5672), ("10.79.0.1", 8025)]
    assert [network.address(n) for n in (1, 2, 3)] == ["10.79.0.11", "10.79.0.12", "10.79.0.13"]


def test_a_redis_cluster_on_the_loopback_is_refused_with_what_to_do():
    with pytest.raises(RuntimeError, match="leave REDIS_URL unset"):
        Network("10.79.0.0/24", 1, 1).relay_config({"REDIS_URL": "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"})


def test_a_subnet_too_small_for_the_hosts_is_refused():
    with pytest.raises(ValueError, match="--subnet 10.79.0.0/28: an IPv4 subnet with 15 addresses"):
        Network("10.79.0.0/28", 4, 1)
