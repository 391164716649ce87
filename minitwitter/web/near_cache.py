"""The near cache: whole responses kept in the API process, answered with no Redis round trip.

Why (issue 15, bench/results/cost-*.md): on this 2-core machine a bare WSGI app that makes
one Redis GET per request serves 0.55-0.6 of what the bare Pyramid view (L0) serves, and a
cached response answered through Pyramid's router with no Redis call at all 0.45-0.55: a
warm read could not reach 0.8 of L0 with either. Here a hit costs a dict lookup, a check of
its dependencies' versions against what Redis has pushed, the access log and the metrics.

How it stays exact (freshness.py, cache.py): every response entry records the version
names it was made from; every write bumps (INCRs) `v:<name>` after its commit. This process
keeps one extra Redis connection in RESP3 with `CLIENT TRACKING ON BCAST PREFIX v:`: Redis
pushes the name of every version key any client changes. A response is copied here only
after the Lua check in Redis said all of its versions were current (response_cache.py), and
tagged with the count of pushes read before that check began (`epoch`). It is answered
here while no push read since names one of its dependencies. Before each answer, every push
already on the socket is read (under a lock, no wait). Redis queues the push while it runs
the INCR, with the INCR's own reply, and writes both in the same pass of its event loop; so a
read that starts after a write has returned sees the write unless it falls in the gap between
those two socket writes (microseconds: the writer must still answer its client, who must ask
again). A bump this process makes is applied here at once (changed()): its own reads are
exact whatever the push does. A version key that expires or is evicted is pushed too, and
one made afresh after it vanished (cache.py) is a change like any other
(tests/test_bounded_redis.py).

When the tracking connection breaks (Redis restarts, a network fault, `CLIENT KILL`) every
entry is dropped and nothing is answered here until a new connection is tracking again; the
requests take the Redis path (or PostgreSQL) meanwhile. Redis Cluster: not used (tracking
would need a connection per master); `response_cache.local_entries = 0` turns it off too.
"""

import logging
import threading
import time

import redis

from minitwitter.domain import freshness
from minitwitter.store.cache import CACHE_LOOKUPS, ERRORS, is_cluster
from minitwitter.web.ingress import PATH_ASKED
from minitwitter.web.proxy import FORWARDED

log = logging.getLogger(__name__)
PREFIX = b"v:"
SESSION_PREFIX = b"v:session:"  # freshness.session: an account's sessions ended (a suspension,
# a password change or reset, a deletion)


class NearCache:
    # How often the idle socket is read (so Redis never holds pushes for us for long) and a
    # broken connection tried again.
    POLL_SECONDS = 1.0
    # Version names remembered as changed; past this many the memory is cleared, and with
    # it every entry (all are treated as stale), so it stays bounded under any write rate.
    MAX_CHANGED = 100_000
    # Answers stop when the connection has not answered a PING for this long (_confirm).
    LEASE_SECONDS = 3.0

    def __init__(self, url, timeout, max_entries):
        self._url, self._timeout, self.max_entries = url, timeout, max_entries
        self._lock = threading.Lock()
        self._conn = None
        self.client_id = None
        self._confirmed = 0.0  # time.monotonic() of the last PONG
        self._entries = {}  # local key -> (epoch, deps, route, headers, body)
        self._changed = {}  # version name -> epoch of the push that last named it
        self._epoch = 0  # pushes read so far (an invalidation of everything counts too)
        self._floor = 0  # entries filled before this epoch are stale
        # Sessions ended (ended()): account id -> epoch of the push that last named it. Kept
        # apart from _changed: a flush or an overflow that forgets every entry loses no end
        # of a session. Tokens verified before _sessions_floor are checked again.
        self._sessions = {}
        self._sessions_floor = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="near-cache", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, settings):
        entries = settings["response_cache.local_entries"]
        if entries <= 0 or is_cluster(settings["redis.url"]):
            return None
        near = cls(settings["redis.url"], settings["redis.timeout"], entries)
        near.start_tracking()
        return near

    # -- the connection that Redis pushes invalidations to ---------------------------------

    def _connect(self):
        client = redis.Redis.from_url(self._url, protocol=3, socket_timeout=self._timeout)
        conn = client.connection_pool.make_connection()
        conn.connect()
        conn._parser.set_invalidation_push_handler(self._on_push)
        conn.send_command("CLIENT", "ID")
        self.client_id = conn.read_response()  # what CLIENT LIST shows it as
        conn.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", PREFIX)
        conn.read_response()
        self._confirmed = time.monotonic()
        return conn

    def _on_push(self, message):
        """[b"invalidate", [b"v:name", ...]], or [b"invalidate", None] when the database was flushed."""
        self._epoch += 1
        keys = message[1]
        if keys:
            self._sessions_ended(key for key in keys if key.startswith(SESSION_PREFIX))
        if keys is None or len(self._changed) + len(keys) > self.MAX_CHANGED:
            self._forget_all()
            return
        for key in keys:
            self._changed[key[len(PREFIX) :].decode()] = self._epoch

    def _sessions_ended(self, keys):
        for key in keys:
            if len(self._sessions) >= self.MAX_CHANGED:  # bounded: what is older is checked again
                self._sessions.clear()
                self._sessions_floor = self._epoch
            self._sessions[int(key[len(SESSION_PREFIX) :])] = self._epoch

    def changed(self, names):
        """This process bumped these names (cache.Cache.bump, after Redis took them): its
        own next read must not wait for Redis's push to learn it."""
        with self._lock:
            self._epoch += 1
            self._sessions_ended(("v:" + n).encode() for n in names if n.startswith("session:"))
            if len(self._changed) + len(names) > self.MAX_CHANGED:
                self._forget_all()
                return
            for name in names:
                self._changed[name] = self._epoch

    def _forget_all(self):
        """Every entry is stale, and so is any fill whose check began before now."""
        self._changed.clear()
        self._entries.clear()
        self._epoch += 1
        self._floor = self._epoch

    def _drain(self):
        """Read every push already sent (never waits). Holding the lock. False if broken."""
        conn = self._conn
        if conn is None:
            return False
        try:
            while conn.can_read(timeout=0):
                conn.read_response(push_request=True, timeout=0, disconnect_on_error=False)
            return True
        except (*ERRORS, OSError) as e:
            self._broken(e)
            return False

    def _broken(self, error):
        log.warning("near cache: the invalidation connection broke, answering from Redis: %s", error)
        conn, self._conn = self._conn, None
        self._forget_all()
        try:
            conn.disconnect()
        except (*ERRORS, OSError):
            pass

    def _confirm(self):
        """A PING on the tracking connection, every POLL_SECONDS: its PONG comes after every
        push sent before it. A connection that stops answering (a partition no socket error
        reports) stops the answers here within LEASE_SECONDS. Holding the lock."""
        try:
            self._conn.send_command("PING")
            self._conn.read_response()  # pushes read on the way go to _on_push
            self._confirmed = time.monotonic()
        except (*ERRORS, OSError) as e:
            self._broken(e)

    def _run(self):
        while not self._stopped.wait(self.POLL_SECONDS):
            with self._lock:
                if self._conn is not None:
                    self._confirm()
                else:
                    self._track()

    def start_tracking(self):
        """Connect now rather than within POLL_SECONDS (the app's start, tests)."""
        with self._lock:
            if self._conn is None:
                self._track()
        return self._conn is not None

    def _track(self):
        """A new tracking connection, holding the lock; no entry is kept meanwhile (keep()
        wants a connection), and whatever was pushed while there was none is unknown."""
        try:
            self._conn = self._connect()
        except (*ERRORS, OSError) as e:
            log.debug("near cache: no invalidation connection yet: %s", e)
            return
        self._forget_all()
        self._sessions_floor = self._epoch  # a session ended while none tracked is unknown

    def close(self):
        self._stopped.set()
        with self._lock:
            if self._conn is not None:
                self._conn.disconnect()
                self._conn = None
            self._forget_all()

    # -- entries ---------------------------------------------------------------------------

    def epoch(self, user_id=None):
        """Take this before the Redis check whose answer may be kept (keep()), or before an
        account is checked (ended(); every account's at once: `user_id` is not needed)."""
        return self._epoch

    def keep(self, key, epoch, deps, route, headers, body):
        """Keep a response the Redis check found current, made from `deps` (version names)."""
        if self._conn is None or epoch < self._floor:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bounded memory; the hot ones come back at their next hit
        self._entries[key] = (epoch, deps, route, headers, body)

    def ended(self, user_id, epoch):
        """Whether the account's sessions were ended (freshness.session(user_id) bumped, in
        any process) since `epoch`, as the pushes read tell; then the token is checked
        against PostgreSQL again (credentials.Tokens.remembered). True too when the pushes
        since may have been missed (a new tracking connection, too many sessions ended): one
        check more per token. A flush of Redis ends no session (it forgets the entries, not
        this). With no tracking connection (or a silent one) nothing is known: False, and the
        recheck every jwt.recheck_seconds is what holds, as without a near cache."""
        with self._lock:
            if not self._drain() or time.monotonic() - self._confirmed > self.LEASE_SECONDS:
                return False
            return epoch < self._sessions_floor or self._sessions.get(user_id, -1) > epoch

    def get(self, key, drained=False):
        """(route, headers, body) of a current entry, or None. `drained`: this thread read
        the pushes just now, for this request (ended(), asked first by the token's check):
        not read again. A hit read them twice before, about 3% of its CPU (py-spy)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not drained:
            with self._lock:
                if not self._drain():
                    return None
        epoch, deps, route, headers, body = entry
        changed = self._changed
        if time.monotonic() - self._confirmed > self.LEASE_SECONDS:
            return None
        if epoch < self._floor or any(changed.get(name, -1) > epoch for name in deps):
            self._entries.pop(key, None)
            return None
        CACHE_LOOKUPS.labels("near_hit").inc()
        return route, headers, body


def local_key(user_id, environ):
    """The request's identity for the near cache: the viewer and every part of the URL as
    the client sent it (the path before the ingress normalized it: the same path is
    normalized the same way, and passed the same checks, every time)."""
    return (
        user_id,
        environ["wsgi.url_scheme"],
        environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}",
        environ.get("SCRIPT_NAME", ""),
        environ.get(PATH_ASKED, environ.get("PATH_INFO", "")),
        environ.get("QUERY_STRING", ""),
        bool(environ.get(FORWARDED)),  # through a trusted proxy: other absolute URLs (web/proxy.py)
    )


class VersionedSessions:
    """ended() without a near cache (a Redis Cluster: no tracking connection; or
    response_cache.local_entries 0): whether an account's sessions were ended since a token
    was verified is asked of Redis, freshness.session's version, at each request that a
    remembered token makes (one read). Behind a load balancer a token revoked or an account
    suspended through one process then stops at once in the others too, not within
    jwt.recheck_seconds. Redis unavailable: nothing is known, and the recheck holds."""

    def __init__(self, cache):
        self.cache = cache

    def epoch(self, user_id=None):
        """The account's session version now (None: unknown)."""
        if user_id is None:
            return None
        name = freshness.session(user_id)
        versions = self.cache.versions([name])
        return None if versions is None else versions[name]

    def ended(self, user_id, epoch):
        if epoch is None:
            return False
        now = self.epoch(user_id)
        return now is not None and now != epoch
