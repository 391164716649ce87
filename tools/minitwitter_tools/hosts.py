"""The virtual network of `minitwitter-cluster --hosts N`: each API process and each Celery
worker a host of its own, on one machine.

    services side (this machine's namespace), on a bridge mt<PORT>br in SUBNET (10.77.0.0/24):
        .1  the services: a TCP relay to what listens on 127.0.0.1 only (RabbitMQ, SMTP, ...)
        .2  Redis (each node)            .3  PgBouncer, for the primary
        .4  PgBouncer, for the replica   (one PgBouncer: a host can be cut from one address)
    host k (namespace mt<PORT>h<k>, its veth mt<PORT>v<k> on the bridge): address .10+k,
        its own loopback, media and temp directories. Hosts 1..N run an API process each,
        the hosts after them a Celery worker each (one per queue; beat beside the first).

haproxy, on this machine's 127.0.0.1, routes to the hosts' addresses. A host reaches
nothing but the bridge (no default route): whatever still named 127.0.0.1 would fail.
stop() removes every namespace, link and the bridge (a failed start too); a start finds
the names of a run that died free (its namespaces empty) and removes them first, and
refuses a subnet this machine already routes.
"""

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SUBNET = "10.77.0.0/24"
FIRST_HOST = 10  # host k has the subnet's address .FIRST_HOST + k
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
RELAYED = ("CELERY_BROKER_URL", "SMTP_URL", "DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL")

RELAY_CFG = """\
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
"""


def ip(*args, check=True):
    done = subprocess.run(["ip", *map(str, args)], capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(map(str, args))} failed: {done.stderr.strip()}")
    return done.stdout


class Network:
    def __init__(self, subnet, api_hosts, worker_hosts, environ=None):
        try:
            self.subnet = ipaddress.ip_network(subnet)
        except ValueError as e:
            raise ValueError(f"--subnet {subnet}: {e}") from None
        self.count = api_hosts + worker_hosts
        addresses = list(self.subnet.hosts())
        if self.subnet.version != 4 or len(addresses) < FIRST_HOST + self.count:
            raise ValueError(f"--subnet {subnet}: an IPv4 subnet with {FIRST_HOST + self.count} addresses is needed")
        self.services, self.redis, self.primary, self.replica = (str(a) for a in addresses[:4])
        self._addresses = [str(a) for a in addresses[FIRST_HOST : FIRST_HOST + self.count]]
        self.tag = None
        self.bridge = None
        self.made_bridge = False  # by this run: removed on stop (another run's never is)
        self.namespaces = []  # made by this run: removed on stop
        self.relayed = []

    def name(self, number):
        return f"mt{self.tag}h{number}"

    def veth(self, number):
        return f"mt{self.tag}v{number}"

    def address(self, number):
        return self._addresses[number - 1]

    def command(self, number, command):
        return ["ip", "netns", "exec", self.name(number), *map(str, command)]

    def run(self, number, *command, check=True):
        """A command on host `number` (its namespace), e.g. ("ip", "route", ...)."""
        done = subprocess.run(self.command(number, command), capture_output=True, text=True)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(command)} on {self.name(number)} failed: {done.stderr.strip()}")
        return done.stdout

    # -- start / stop ------------------------------------------------------------------

    def start(self, tag):
        """The bridge with the services' addresses, and each host's namespace and veth."""
        if os.geteuid() != 0 or not shutil.which("ip"):
            raise RuntimeError("--hosts makes network namespaces: run it as root, with iproute2 (`ip`) installed")
        self.tag = tag
        self.bridge = f"mt{tag}br"
        self._clear_stale()
        self._check_subnet_free()
        prefix = self.subnet.prefixlen
        ip("link", "add", self.bridge, "type", "bridge")
        self.made_bridge = True
        for address in dict.fromkeys([self.services, self.redis, self.primary, self.replica]):
            ip("addr", "add", f"{address}/{prefix}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for number in range(1, self.count + 1):
            ns = self.name(number)
            ip("netns", "add", ns)
            self.namespaces.append(ns)
            ip("link", "add", self.veth(number), "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", self.veth(number), "master", self.bridge, "up")
            ip("-n", ns, "addr", "add", f"{self.address(number)}/{prefix}", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        return self

    def _ours(self):
        prefix = f"mt{self.tag}h"
        return [line.split()[0] for line in ip("netns", "list").splitlines() if line.startswith(prefix)]

    def _clear_stale(self):
        """Namespaces and a bridge of this name left by a run that died: removed when no
        process runs in them; a live one (another cluster on this port) stops the start."""
        for ns in self._ours():
            if ip("netns", "pids", ns, check=False).split():
                raise RuntimeError(
                    f"network namespace {ns} is in use (another `minitwitter-cluster --hosts` on port {self.tag}?): "
                    f"set PORT to another port"
                )
            ip("netns", "del", ns)
        if ip("link", "show", self.bridge, check=False):
            ip("link", "del", self.bridge)

    def _check_subnet_free(self):
        for line in ip("-4", "-o", "addr", "show").splitlines():
            fields = line.split()
            address = ipaddress.ip_interface(fields[3])
            if address.network.overlaps(self.subnet):
                raise RuntimeError(
                    f"subnet {self.subnet} is already in use on this machine ({fields[3]} on {fields[1]}): "
                    f"pass --subnet another private subnet"
                )

    def stop(self):
        """Every namespace (with any process still in it: only ours run there) and the bridge."""
        for ns in reversed(self.namespaces):
            for pid in ip("netns", "pids", ns, check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "del", ns, check=False)
        self.namespaces = []
        if self.made_bridge:
            ip("link", "del", self.bridge, check=False)
            self.made_bridge = False

    # -- the services' URLs, as the hosts reach them ------------------------------------------

    def relay_config(self, env):
        """Rewrites the URLs in `env` that name this machine's loopback to the services'
        bridge address, and returns the relay's haproxy configuration for them ("" for none)."""
        relays = {}
        for key in RELAYED:
            if not env.get(key):
                continue
            urls = []
            for url in env[key].split(","):
                parts = urlsplit(url)
                if parts.hostname not in LOOPBACK:
                    urls.append(url)
                    continue
                if "+cluster" in parts.scheme:
                    raise RuntimeError(
                        f"{key} names a Redis Cluster on 127.0.0.1, which hosts cannot reach (its MOVED replies "
                        f"name 127.0.0.1): leave {key} unset and the cluster starts one on the bridge"
                    )
                port = parts.port or {"amqp": 5672, "smtp": 25, "redis": 6379}.get(parts.scheme, 5432)
                relays[port] = port
                netloc = parts.netloc.rsplit("@", 1)
                host = f"{self.services}:{port}"
                urls.append(urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)))
            env[key] = ",".join(urls)
        self.relayed = [(self.services, port) for port in relays]
        if not relays:
            return ""
        sections = [
            f"listen relay{port}\n    bind {self.services}:{port}\n    server local 127.0.0.1:{port}\n"
            for port in relays
        ]
        return RELAY_CFG + "".join(sections)

    # -- faults ---------------------------------------------------------------------------

    def link(self, number, up):
        """The host's veth on the bridge set up or down (its cable pulled)."""
        ip("link", "set", self.veth(number), "up" if up else "down")

    def cut(self, number, address, cut=True):
        """Host `number` cut from one services address, silently (a route that refuses new
        connections; open ones get no answer and no reset, as with a cut cable), or joined
        to it again."""
        if cut:
            self.run(number, "ip", "route", "add", "prohibit", f"{address}/32")
        else:
            self.run(number, "ip", "route", "del", "prohibit", f"{address}/32", check=False)
