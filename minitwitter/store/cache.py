"""Redis: a cache that degrades to a miss when Redis is down or slow.

Every call has a timeout (settings: redis.timeout). A Redis failure is logged and
answered as a miss (reads) or ignored (writes), so the request is served from
PostgreSQL instead of failing.

Versioned entries make invalidation race-free. Each cached thing has a name (e.g.
"post:42") and a version counter "v:post:42". A reader reads both in one call; on a
miss it fills the entry tagged with the version it saw *before* reading PostgreSQL.
The one writer of that thing bumps the counter after its commit. An entry filled from
a read that raced the write carries the old version, so it is never served: once a
write has returned, no read serves the state before it.

Bounded memory: every key has a TTL (entries TTL, responses RESPONSE_TTL, versions
VERSION_TTL, longer than both, renewed by each bump and each fill), so Redis with
`maxmemory` and any eviction policy (allkeys-* or volatile-*) keeps under it while users
and posts grow without end. A version key may therefore vanish (expired or evicted), and
a vanished version must never read as a value an old entry holds (a missing key read as
0, or an INCR of it making 1, would match the entries made at 0 or 1 before a write):
- an entry is served only if every version it was made against is present and equal;
- a version is never made at a value it had before: a read or a bump that finds it missing
  makes it afresh at Redis's clock in microseconds (TIME, in the same Lua call), larger
  than any value the name had before, since those started at an earlier microsecond and
  grew by one per bump (no key takes a bump per microsecond; bumps are deduplicated per
  call). Versions stay below 2**53, exact in Lua's numbers, until the year 2255.
So losing a version costs misses, never a stale read. (The guarantee assumes Redis's clock
does not step back; a failover to a replica whose clock is behind would need a version to
vanish and come back within that skew, at a value a live entry holds.)

`redis.url` names one server (redis://, rediss://, unix://) or a Redis Cluster
(redis+cluster://host:port[,host:port...], rediss+cluster:// for TLS): then keys spread
over slots, and every call below is split so that none crosses a slot (see Cache).
"""

import logging
import time
from urllib.parse import unquote, urlsplit

import orjson
import redis
from prometheus_client import Counter
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

log = logging.getLogger(__name__)

# Served at /metrics (web/observability.py) with the rest; the near cache counts its hits here too.
CACHE_LOOKUPS = Counter("minitwitter_cache_lookups_total", "Cache lookups", ["result"])


# KEYS[1]: a response entry: a JSON head {"deps": [name, version, ...], "headers": {...}},
# a newline, then the body. It is returned only while every dependency's version is the
# one it was made from. The version keys are not in KEYS: one server only (a cluster
# checks them with per-slot MGETs instead, Cache.get_response).
RESPONSE_SCRIPT = """
local entry = redis.call('GET', KEYS[1])
if not entry then return false end
local deps = cjson.decode(string.sub(entry, 1, string.find(entry, '\\n', 1, true) - 1))['deps']
for i = 1, #deps, 2 do
  local version = redis.call('GET', 'v:' .. deps[i])
  if not version or tonumber(version) ~= deps[i + 1] then return false end
end
return entry
"""

# A version made afresh: Redis's clock in microseconds, as an integer string.
FRESH = "local t = redis.call('TIME') fresh = t[1] .. string.format('%06d', t[2])"

# KEYS: entries (the first ARGV[1] of them), then version keys; ARGV[2]: VERSION_TTL. Each
# value, and each version, a missing version made afresh. A cluster calls it with one
# version key (ARGV[1] = 0), for each version its MGET found missing.
READ_SCRIPT = f"""
local entries, fresh = tonumber(ARGV[1]), nil
local out = {{}}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value and i > entries then
    if not fresh then {FRESH} end
    redis.call('SET', key, fresh, 'EX', ARGV[2])
    value = fresh
  end
  out[i] = value or false
end
return out
"""

# One command for any number of counters: a post by an author with 6,000 followers bumps
# 6,000 feeds in one call, where a redis-py pipeline spent 89 ms of Python building it.
# A missing counter (INCR made it 1) is made afresh instead. ARGV[1]: VERSION_TTL.
# (A cluster calls it per key: the keys of a script must share a slot.)
BUMP_SCRIPT = f"""
local fresh = nil
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    if not fresh then {FRESH} end
    redis.call('SET', key, fresh, 'EX', ARGV[1])
  else
    redis.call('EXPIRE', key, ARGV[1])
  end
end
"""

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
ERRORS = (redis.RedisError, RedisClusterException)


def is_cluster(url):
    return urlsplit(url or "").scheme in CLUSTER_SCHEMES


def connect(url, **kwargs):
    """A client for `url`: redis.Redis for one server (redis://, rediss://, unix://), or
    redis.cluster.RedisCluster for redis+cluster://[user:password@]host:port[,host:port...]
    (any reachable node will do: the client finds the others and follows failovers)."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        return redis.Redis.from_url(url, **kwargs)
    if parts.path.strip("/") not in ("", "0") or parts.query:
        raise ValueError(f"{parts.scheme}:// takes host:port pairs only: a Redis Cluster has database 0 alone")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = [ClusterNode(host, int(port or 6379)) for host, _, port in (h.rpartition(":") for h in hosts.split(","))]
    return RedisCluster(
        startup_nodes=nodes,
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=CLUSTER_SCHEMES[parts.scheme] == "rediss",
        **kwargs,
    )


class Cache:
    # After a failed read, skip Redis for this long instead of paying the timeout on every
    # request while it is down. Bumps (invalidations) always try.
    BACKOFF_SECONDS = 1.0
    # Bounds how long an entry can outlive a bump that Redis missed during an outage.
    TTL = 300
    # Responses are per viewer, so there are many more of them: they live for a reader's
    # burst of refreshes, not longer (~10 KB each).
    RESPONSE_TTL = 60
    # A version outlives the entries made against it (each fill and bump renews it); one
    # unused for this long goes, and is made afresh when next read (see the top).
    VERSION_TTL = 3600

    def __init__(self, url, timeout):
        self._url, self._timeout = url, timeout
        self.cluster = is_cluster(url)
        self._client = None if self.cluster else self._connect()  # a cluster's: on first use
        self._down_until = 0.0
        self.near = None  # the process's near cache (near_cache.py), told of every bump made here
        if not self.cluster:
            self._response_script = self.client.register_script(RESPONSE_SCRIPT)
            self._read_script = self.client.register_script(READ_SCRIPT)
            self._bump_script = self.client.register_script(BUMP_SCRIPT)

    def _connect(self):
        single = {} if self.cluster else {"retry_on_timeout": False, "health_check_interval": 30}
        return connect(self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout, **single)

    @property
    def client(self):
        """The client; a cluster's is made on first use (it asks a node for the slot map,
        so the app starts, and serves from PostgreSQL, while the cluster is away)."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _call(self, default, fn, always=False):
        if not always and time.monotonic() < self._down_until:
            return default
        try:
            return fn(self.client)
        except ERRORS as e:
            self._down_until = time.monotonic() + self.BACKOFF_SECONDS
            log.warning("redis failed, serving without cache: %s", e)
            return default

    def get_versioned(self, names, version_names=None):
        """{name: value} of the fresh entries, and {name: version} to fill misses with
        (None when Redis is unavailable: then nothing is filled). Several entries can
        share one version (the pages of one list): pass version_names, one per name."""
        if not names:
            return {}, {}
        version_names = version_names or names
        raw = self._call(None, lambda r: self._read(r, names, version_names))
        if raw is None:
            return {}, dict.fromkeys(names)
        values, versions = {}, Versions(zip(names, version_names, strict=True))
        for name, entry, version in zip(names, raw[: len(names)], raw[len(names) :], strict=True):
            versions[name] = int(version)
            if entry is not None:
                entry_version, value = orjson.loads(entry)
                if entry_version == versions[name]:
                    values[name] = value
        CACHE_LOOKUPS.labels("hit").inc(len(values))
        CACHE_LOOKUPS.labels("miss").inc(len(names) - len(values))
        return values, versions

    def set_versioned(self, items, versions):
        """Fill entries {name: value}, each tagged with the version read before the query
        (and renew those versions' TTL: a version outlives the entries made against it)."""
        items = {name: value for name, value in items.items() if versions.get(name) is not None}
        if not items:
            return
        version_names = {getattr(versions, "names", {}).get(name, name) for name in items}

        def fill(r):
            pipe = r.pipeline(transaction=False)
            for name, value in items.items():
                pipe.set(name, orjson.dumps([versions[name], value]), ex=self.TTL)
            for version_name in version_names:
                pipe.expire(f"v:{version_name}", self.VERSION_TTL)
            pipe.execute()

        self._call(None, fill)

    def versions(self, names):
        """{name: current version} of these names (a missing one made afresh), or None
        when Redis is unavailable."""
        raw = self._call(None, lambda r: self._read(r, [], names))
        return None if raw is None else {n: int(v) for n, v in zip(names, raw, strict=True)}

    def _read(self, r, names, version_names):
        """The entries `names` (None when missing), then the versions of `version_names`,
        each present: a missing one is made afresh (READ_SCRIPT)."""
        keys = [*names, *(f"v:{n}" for n in version_names)]
        if not self.cluster:
            return self._read_script(keys=keys, args=[len(names), self.VERSION_TTL])
        raw = r.mget_nonatomic(keys)
        missing = [i for i in range(len(names), len(keys)) if raw[i] is None]
        if missing:
            to_make = list(dict.fromkeys(keys[i] for i in missing))
            pipe = r.pipeline()  # one per node; a script per key (its slot)
            for key in to_make:
                pipe.execute_command("EVAL", READ_SCRIPT, 1, key, 0, self.VERSION_TTL)
            made = {key: value[0] for key, value in zip(to_make, pipe.execute(), strict=True)}
            for i in missing:
                raw[i] = made[keys[i]]
        return raw

    def get_response(self, key):
        """(head, body) of a response entry whose dependencies are all current, or None."""
        entry = self._call(
            None, lambda r: self._cluster_response(r, key) if self.cluster else self._response_script(keys=[key])
        )
        if entry is None:
            CACHE_LOOKUPS.labels("response_miss").inc()
            return None
        CACHE_LOOKUPS.labels("response_hit").inc()
        head, _, body = entry.partition(b"\n")
        return orjson.loads(head), body

    def _cluster_response(self, r, key):
        """RESPONSE_SCRIPT's check in two round trips that cross no slot: the entry, then
        its versions by per-slot MGETs (one pipeline per node). As safe as the script:
        versions only grow, so any bump made before this read began is seen."""
        entry = r.get(key)
        if entry is None:
            return None
        deps = orjson.loads(entry.partition(b"\n")[0])["deps"]
        names, versions = deps[::2], deps[1::2]
        current = self._mget(r, [f"v:{n}" for n in names]) if names else []
        return entry if [None if v is None else int(v) for v in current] == versions else None

    def _mget(self, r, keys):
        return r.mget_nonatomic(keys) if self.cluster else r.mget(keys)

    def set_response(self, key, deps, headers, body):
        """Store a response made from these {version name: version} dependencies."""
        head = orjson.dumps({"deps": [x for item in deps.items() for x in item], "headers": headers})
        self._call(None, lambda r: r.set(key, head + b"\n" + body, ex=self.RESPONSE_TTL))

    def bump(self, *names):
        """Invalidate: entries of these names filled before now are never served again.
        False when Redis did not take it (logged)."""
        if not names:
            return True
        names = tuple(dict.fromkeys(names))  # one bump each per call (see the top)
        keys = [f"v:{name}" for name in names]
        if self.cluster:
            bump = lambda r: self._bump_each(r, keys)  # noqa: E731
        else:
            bump = lambda r: self._bump_script(keys=keys, args=[self.VERSION_TTL])  # noqa: E731
        taken = self._call(False, lambda r: bump(r) or True, always=True)
        if self.near is not None:  # this process's own answers, before Redis's push comes back
            self.near.changed(names)
        return taken

    def _bump_each(self, r, keys):
        """A cluster's bump: BUMP_SCRIPT per key, sent as one pipeline per node."""
        pipe = r.pipeline()
        for key in keys:
            pipe.execute_command("EVAL", BUMP_SCRIPT, 1, key, self.VERSION_TTL)
        pipe.execute()

    def hit_window(self, key, seconds):
        """Count a hit on a fixed-window counter; its count, or None without Redis."""

        def incr(r):
            pipe = r.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, seconds + 1)
            return pipe.execute()[0]

        return self._call(None, incr)

    def ping(self):
        """True when Redis answers (health checks bypass the back-off)."""
        try:
            return bool(self.client.ping())
        except ERRORS:
            return False


class Versions(dict):
    """{entry name: version} from get_versioned, knowing each entry's version name
    (`names`), whose TTL a fill renews."""

    def __init__(self, names):
        super().__init__()
        self.names = dict(names)


class RequestCache:
    """tx.cache (request.cache): the shared cache, minus what this transaction itself changed.

    A write bumps versions only after its commit, so until then the cache still holds
    the state before it; the request that wrote reads those names from PostgreSQL
    (its own transaction). Only GET and HEAD fill entries: a write's transaction may
    still roll back, and what it read must not outlive it.
    """

    def __init__(self, cache, fills=True):
        self._cache = cache
        self._fills = fills
        self._dirty = set()
        # What this request has read, as {version name: version read before reading it}:
        # a response made only from these can be cached whole (response_cache.py). None once
        # the request read something no version covers (or Redis did not answer).
        self.deps = {} if fills else None

    def _record(self, versions):
        if self.deps is None:
            return
        if any(v is None for v in versions.values()):
            self.deps = None
        else:  # a name read twice counts with its older version
            for name, version in versions.items():
                self.deps[name] = min(version, self.deps.get(name, version))

    def uncovered(self):
        """This request read something no version covers: its response is not cached."""
        self.deps = None

    def depend(self, name):
        """Record `name`'s version before reading what it covers (viewer fields)."""
        if self.deps is None:
            return  # nothing will be stored: spare the round trip
        if name in self._dirty:
            self.deps = None
        else:
            self._record(self._cache.versions([name]) or {name: None})

    def covered(self, version_name, compute):
        """compute(), whose reads `version_name` covers (any change to what it reads bumps
        it), without storing its result: a page only this viewer reads (domain/safety.py)."""
        self.depend(version_name)
        return compute()

    def mark_dirty(self, names):
        self._dirty.update(names)

    def get_versioned(self, names, version_names=None):
        """As Cache.get_versioned; a name this transaction changed is a miss without asking
        Redis (a like's answer reads its post from PostgreSQL: one round trip less)."""
        version_names = version_names or names
        pairs = list(zip(names, version_names, strict=True))
        asked = [(name, version_name) for name, version_name in pairs if version_name not in self._dirty]
        values, versions = self._cache.get_versioned(*map(list, zip(*asked, strict=True))) if asked else ({}, {})
        for name, version_name in pairs:
            if version_name in self._dirty:
                versions[name] = None
            self._record({version_name: versions[name]})
        return values, versions

    def set_versioned(self, items, versions):
        if self._fills:
            self._cache.set_versioned(items, versions)

    def cached(self, name, compute, version_name=None):
        values, versions = self.get_versioned([name], [version_name or name])
        if name in values:
            return values[name]
        value = compute()
        if value is None:  # "not found" is not cached: ids are probed at random too
            self.uncovered()
        else:
            self.set_versioned({name: value}, versions)
        return value

    def bump(self, *names):
        self._cache.bump(*names)
