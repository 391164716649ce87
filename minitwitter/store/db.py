"""PostgreSQL access: a bounded connection pool, and the read replicas chosen through it.

Connections are taken by a transaction (store/tx.py: Tx.db, on its first statement) and
given back when it ends; nothing else opens one. A write whose transaction PostgreSQL
aborted on a deadlock or a serialization failure (SQLSTATE 40P01, 40001) is run again as a
whole, with a fresh request object and a fresh Tx, up to `retry.attempts` times
(pyramid_retry, as Warehouse does: web/transaction.py). Nothing of a failed attempt
survives it: its rows (outbox tasks, idempotency keys) were rolled back, its after-commit
hooks (publishes, cache bumps) dropped, its files removed by its after-rollback hooks,
and the rate limiter counts the request once. The last attempt's failure answers 503
with Retry-After: the request was fine and will succeed when sent again, so it is the
server being busy (503), not a conflict the client must resolve first (409).

Reads on replicas (database.replica_urls): a GET or HEAD takes a replica connection
unless that replica has not yet replayed the viewer's last commit, in which case the
primary. After each write's commit its LSN (pg_current_wal_lsn()) is recorded in Redis,
for the writer and as the highest LSN of all (`Replicas.record`), before the commit's
stale versions are bumped (Tx.commit). A replica whose replay is behind by more than
replica.max_lag_ms, or that is down, is skipped: the read goes to the primary, with a log
line, and a replica failing in the middle of a read runs that read again on the primary.
A read served by a replica that has not replayed every recorded commit is served but
fills no cache entry: a version bumped by a commit the replica lacks must never tag what
it read (cache.py). A token younger than the lag bound reads from the primary: the
sign-up and login before it were written by nobody the replica could know about yet.
"""

import hashlib
import logging
import random
import re
import select
import threading
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from prometheus_client import Counter

from minitwitter.store.cache import ERRORS as CACHE_ERRORS

log = logging.getLogger(__name__)

READS = Counter("minitwitter_db_reads_total", "Requests that used a database connection, by where it went", ["target"])


# The routing's own statements (replica state, commit LSN) are not the request's queries.
UNCOUNTED = psycopg2.extras.RealDictCursor


class Prepared:
    """A named query as a server-side prepared statement: `PREPARE name AS <its SQL with
    $1..$n>` once per connection, then `EXECUTE name(<the same values>)`.

    Why: psycopg2 sends each statement as text, so PostgreSQL parses and plans it at every
    call. Measured on W1 (a post with 2 hashtags, docs/PERFORMANCE.md), planning was 1.8
    of the 3.1 ms of PostgreSQL CPU per post: the tag statement 0.72 ms, the post read back
    0.83, the followers 0.19. A prepared statement is planned a few times, then PostgreSQL
    keeps a generic plan when it costs no more than a fresh one (plan_cache_mode = auto).
    psycopg 3 would do this by itself (prepare_threshold); this is the part of it the store
    needs, over psycopg2.

    A query whose comment says "Plan: generic" runs with plan_cache_mode =
    force_generic_plan (SET LOCAL, sent with its EXECUTE): one looking rows up by an array of
    ids (`id = ANY(:ids)`) is otherwise planned at every call, since a generic plan's guess
    of the array's length makes it look dearer than a plan made for one id. Only queries
    whose best plan does not depend on their values say so (a hashtag's posts or a search
    must keep a plan per call: a top tag's and a rare one's differ).

    Not behind PgBouncer in transaction mode (database.prepare = false):
    a prepared statement lives in one server session, and there each transaction may get
    another."""

    PARAM = re.compile(r"%\((\w+)\)s")

    def __init__(self, sql, generic=False):
        self.generic = generic
        self.name = "mt_" + hashlib.blake2s(sql.encode(), digest_size=8).hexdigest()
        names = list(dict.fromkeys(self.PARAM.findall(sql)))
        numbered = self.PARAM.sub(lambda m: f"${names.index(m.group(1)) + 1}", sql).replace("%%", "%")
        self.prepare = f"PREPARE {self.name} AS {numbered.rstrip().rstrip(';')}"
        self.execute = f"EXECUTE {self.name}" + (f"({', '.join(f'%({n})s' for n in names)})" if names else "")
        self.ok = None  # None: not tried yet in this process; False: PostgreSQL could not prepare it


# Every named query's SQL (store/queries.py registers them): only these are prepared.
PREPARABLE = {}


def preparable(sql, generic=False):
    """Register a named query's SQL text (its psycopg2 form) for preparation."""
    if sql not in PREPARABLE:
        PREPARABLE[sql] = Prepared(sql, generic)


# The plan_cache_mode to ask for before a prepared statement, by what it wants and what
# the connection's transaction has (SET LOCAL: each transaction starts at "auto").
PLAN_MODE = {
    (True, "auto"): "SET LOCAL plan_cache_mode = force_generic_plan; ",
    (False, "generic"): "SET LOCAL plan_cache_mode = auto; ",
}


class CountingCursor(psycopg2.extras.RealDictCursor):
    """Rows as dicts; counts statements per connection (tests pin queries per request);
    a named query runs as a prepared statement (Prepared) on a connection that prepares."""

    def execute(self, query, vars=None):
        conn = self.connection
        conn.statements += 1
        if conn.before_statement is not None:
            conn.before_statement()
        try:
            if conn.prepares and isinstance(vars, dict) and (prepared := PREPARABLE.get(query)) is not None:
                query = self._prepared(conn, prepared) or query
            return super().execute(query, vars)
        except psycopg2.OperationalError as e:
            if conn.replica is not None and conn.closed:  # the replica went away: read from the primary
                conn.replica.mark_down(e)
                raise ReplicaUnavailable(str(e)) from e
            raise

    def _prepared(self, conn, prepared):
        """The EXECUTE form of `prepared` once it is prepared on this connection (preparing
        it now if need be), None when it cannot be (then it runs as text)."""
        if prepared.name in conn.prepared:
            return self._plan_mode(conn, prepared) + prepared.execute
        if prepared.ok is False:
            return None
        if prepared.ok is None:  # the first try in this process: a failure must not end the transaction
            super().execute("SAVEPOINT mt_prepare")
            try:
                super().execute(prepared.prepare)
            except psycopg2.Error as e:
                super().execute("ROLLBACK TO SAVEPOINT mt_prepare")
                prepared.ok = False
                log.info("named query not prepared (it runs as text): %s", e.pgerror or e)
                return None
            super().execute("RELEASE SAVEPOINT mt_prepare")
            prepared.ok = True
        else:
            super().execute(prepared.prepare)
        conn.prepared.add(prepared.name)
        return self._plan_mode(conn, prepared) + prepared.execute

    @staticmethod
    def _plan_mode(conn, prepared):
        wanted = "generic" if prepared.generic else "auto"
        prefix = PLAN_MODE.get((prepared.generic, conn.plan_mode), "")
        conn.plan_mode = wanted
        return prefix


class CountingConnection(psycopg2.extensions.connection):
    statements = 0
    prepares = False  # Pool(prepare=True) sets it: named queries run prepared (Prepared)
    plan_mode = "auto"  # what the current transaction's plan_cache_mode is, as far as it was set
    before_statement = None  # a replica read's check that it may still fill the cache
    replica = None  # the Replica this connection reads from, None on the primary


class ReplicaUnavailable(psycopg2.OperationalError):
    """A replica failed during a read: pyramid_retry runs the read again, on the primary
    (web/transaction.py marks it retryable)."""


class Pool:
    """A thread-safe pool that keeps every connection it opens and waits when all are busy.

    Not psycopg2.pool: its pools close any returned connection beyond `minconn`, so
    under concurrency most requests paid for a new PostgreSQL session (a fork and an
    authentication, several ms): that is why waitress with 8 threads measured 5 times
    slower than with 1 (docs/BENCH.md). Here connections open lazily, up to `maxconn`, and
    stay open; a request finding none free waits for one rather than failing.
    """

    def __init__(
        self, dsn, maxconn, statement_timeout_ms, wait_timeout=10.0, application_name="minitwitter", prepare=False
    ):
        self.maxconn = maxconn
        self._prepare = prepare
        self._dsn = dsn
        self._options = startup_options(statement_timeout_ms)
        self._application_name = application_name
        self._wait_timeout = wait_timeout
        self._slots = threading.BoundedSemaphore(maxconn)
        self._idle = []  # LIFO: the most recently used connection is the warmest
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self):
        return self._in_use

    def _connect(self):
        conn = psycopg2.connect(
            self._dsn,
            connection_factory=CountingConnection,
            cursor_factory=CountingCursor,
            options=self._options,
            application_name=self._application_name,
            connect_timeout=CONNECT_TIMEOUT,
            **TCP_DEAD_PEER,
        )
        conn.prepares, conn.prepared = self._prepare, set()
        return conn

    def getconn(self):
        if not self._slots.acquire(timeout=self._wait_timeout):
            raise psycopg2.OperationalError("timed out waiting for a database connection")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is not None and (conn.closed or _closed_by_server(conn)):
                conn.close()
                conn = None
            if conn is None:
                conn = self._connect()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._in_use += 1
        conn.plan_mode = "auto"  # a new transaction: SET LOCAL ended with the last one
        return conn

    def putconn(self, conn, broken=False):
        try:
            if broken or conn.closed or conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)
        finally:
            with self._lock:
                self._in_use -= 1
            self._slots.release()


CONNECT_TIMEOUT = 3  # seconds; a replica that does not answer is skipped, not waited for
# A server that stops answering without closing (a cut cable, a host gone: on the loopback a
# dead peer always resets the connection, across hosts it does not) is found dead within
# seconds, not the kernel's ~15 minutes of retransmissions: the statement fails (a 503) and
# the connection is dropped. Sent data unacknowledged for 5 s, or an idle connection whose
# keepalives go unanswered for 10 + 3 x 2 s. (A slow statement is acknowledged at once: its
# time is bounded by statement_timeout, not by these.)
TCP_DEAD_PEER = {
    "tcp_user_timeout": 5000,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


def startup_options(statement_timeout_ms):
    """libpq options bounding every statement; none when the timeout is 0, for PgBouncer in
    transaction mode, which refuses startup options: there the server applies it
    (ALTER DATABASE ... SET statement_timeout, as `make cluster` does)."""
    return f"-c statement_timeout={int(statement_timeout_ms)}" if statement_timeout_ms else ""


def _closed_by_server(conn):
    """True when PostgreSQL has ended this idle connection (a restart, a terminated backend):
    an idle session has nothing to read unless the server said goodbye and hung up. Without
    this check each such connection would fail one request after the database came back."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


# Highest commit LSN: KEYS[1] the writer's (or none), KEYS[2] everyone's; ARGV: lsn, ttl,
# restore. One hash tag, so both keys share a Redis Cluster slot and the script may touch both.
# Everyone's key missing (evicted, flushed, never written) is unknown, not 0: this writer's
# LSN, read before the key went, may be older than a commit recorded before it went, so the
# script sets nothing and answers 1, and the writer reads the primary's LSN again (now past
# every commit recorded before the eviction) and calls it with restore = 1.
# After a commit: its LSN as the writer's (KEYS[1], a hash user id -> LSN, with "since":
# when the hash was made) and as everyone's highest (KEYS[3]). KEYS[2] orders the writers
# by when they last wrote, so that those who wrote over ARGV[2] seconds ago leave the hash
# (up to 64 per call: it holds the last ARGV[2] seconds' writers). Neither has a TTL: a
# per-user key with one was the first thing volatile-lru evicted, and a missing one read as
# "no write" (store/db.py Replicas._lsns reads a hash that went as unknown instead). A hash
# or an order gone (evicted, flushed) is made again from now ("since"); everyone's LSN gone:
# returns 1 unless ARGV[3] = '1' (Replicas.record reads the LSN again first).
RECORD_SCRIPT = """
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[3]) == 0 then return 1 end
if ARGV[4] ~= '' then
  local now = tonumber(redis.call('TIME')[1])
  if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('HSET', KEYS[1], 'since', now)
  end
  if tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '0') < tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], ARGV[4], ARGV[1])
  end
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, 64)
  if #old > 0 then
    redis.call('ZREM', KEYS[2], unpack(old))
    redis.call('HDEL', KEYS[1], unpack(old))
  end
end
if tonumber(redis.call('GET', KEYS[3]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[3], ARGV[1]) end
return 0
"""
ALL_KEY = "lsn:{lsn}:all"
USERS_KEY = "lsn:{lsn}:users"  # user id -> the LSN of their last commit, and "since"
RECENT_KEY = "lsn:{lsn}:recent"  # user id -> when they last wrote (seconds): who leaves the hash

# On a replica connection, in the request's transaction: how far it has replayed, and how
# far behind that is (0 when it has replayed all it received: an idle primary is no lag).
REPLICA_STATE_SQL = """
SELECT pg_last_wal_replay_lsn() - '0/0' AS replayed,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE 1000 * extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag_ms
"""


class Replica:
    """One streaming replica: its pool, and until when it is skipped after failing."""

    DOWN_SECONDS = 2.0

    def __init__(self, url, pool):
        self.url = url
        self.pool = pool
        self.down_until = 0.0

    @property
    def up(self):
        return time.monotonic() >= self.down_until

    def mark_down(self, error):
        self.down_until = time.monotonic() + self.DOWN_SECONDS
        log.warning("replica %s skipped for %.0f s: %s", _safe_url(self.url), self.DOWN_SECONDS, str(error).strip())


def _safe_url(url):
    return url.rsplit("@", 1)[-1]


class Replicas:
    """The read replicas and the commit LSNs that decide whether a read may use one."""

    def __init__(self, settings, cache):
        self.max_lag_ms = settings["replica.max_lag_ms"]
        self.replicas = [
            Replica(
                url,
                Pool(
                    url,
                    settings["database.pool_max"],
                    settings["database.statement_timeout"],
                    application_name="minitwitter-replica",
                    prepare=settings["database.prepare"],
                ),
            )
            for url in settings["database.replica_urls"]
        ]
        self._cache = cache
        self._record_script = None  # registered on first use: a cluster's client connects then
        self._user_ttl = max(60, 10 * self.max_lag_ms // 1000)

    def __bool__(self):
        return bool(self.replicas)

    def record(self, conn, user_id):
        """After a commit on the primary: its LSN, for the writer and as everyone's highest."""
        lsn = self._current_lsn(conn)
        if lsn is None:
            return
        keys, writer = [USERS_KEY, RECENT_KEY, ALL_KEY], "" if user_id is None else str(user_id)
        try:
            if self._record_script is None:
                self._record_script = self._cache.client.register_script(RECORD_SCRIPT)
            if self._record_script(keys=keys, args=[lsn, self._user_ttl, 0, writer]):  # everyone's was gone
                lsn = self._current_lsn(conn)
                if lsn is not None:
                    self._record_script(keys=keys, args=[lsn, self._user_ttl, 1, writer])
        except CACHE_ERRORS as e:  # the writer may then read a replica up to max_lag behind
            log.warning("commit LSN not recorded: %s", e)

    @staticmethod
    def _current_lsn(conn):
        """The primary's WAL position now (past every commit made so far), or None."""
        try:
            conn.autocommit = True  # one round trip, no transaction left open
            with conn.cursor(cursor_factory=UNCOUNTED) as cur:
                cur.execute("SELECT pg_current_wal_lsn() - '0/0' AS lsn")
                return int(cur.fetchone()["lsn"])
        except psycopg2.Error as e:  # committed all the same: never turn it into an error
            log.warning("commit LSN not read: %s", e)
            return None
        finally:
            if not conn.closed:
                conn.autocommit = False

    def _lsns(self, user_id):
        """(the viewer's last commit LSN, everyone's), or None when unknown: without Redis, or
        with everyone's key missing (evicted: a replica may lack any commit). A viewer absent
        from the writers' hash wrote nothing in its last _user_ttl seconds (0: any replica
        within the lag bound has it), unless the hash is younger than that (made again after
        an eviction or a flush, or gone): then their LSN is unknown, and everyone's stands for it."""
        try:
            pipe = self._cache.client.pipeline(transaction=False)
            pipe.hmget(USERS_KEY, [str(user_id or 0), "since"])
            pipe.get(ALL_KEY)
            (mine, since), everyone = pipe.execute()
        except CACHE_ERRORS as e:
            log.warning("commit LSNs unavailable, reading from the primary: %s", e)
            return None
        if everyone is None:
            return None
        if user_id is None:  # nobody's: no replica behind any recorded commit
            return int(everyone), int(everyone)
        if mine is None and (since is None or time.time() - int(since) < self._user_ttl):
            return int(everyone), int(everyone)  # their last write may be among the forgotten
        return int(mine or 0), int(everyone)

    def checkout(self, cache, user_id, issued_at):
        """A replica connection fit for this read (by `user_id`, whose token was issued at
        `issued_at`; None, None for nobody), or None for the primary. `cache` is the
        transaction's RequestCache: what the replica reads may not fill it (_guard_fills)."""
        if issued_at is not None and time.time() - issued_at < self.max_lag_ms / 1000:
            return None  # a fresh token: its sign-up and login may not be on the replica yet
        lsns = self._lsns(user_id)
        if lsns is None:
            return None
        mine, everyone = lsns
        for replica in random.sample(self.replicas, len(self.replicas)):
            if not replica.up:
                continue
            conn = self._replica_conn(replica, mine)
            if conn is not None:
                self._guard_fills(cache, conn, everyone)
                return conn
        return None

    def _replica_conn(self, replica, mine):
        try:
            conn = replica.pool.getconn()
        except psycopg2.Error as e:
            replica.mark_down(e)
            return None
        try:
            with conn.cursor(cursor_factory=UNCOUNTED) as cur:
                cur.execute(REPLICA_STATE_SQL)
                state = cur.fetchone()
        except psycopg2.Error as e:
            replica.pool.putconn(conn, broken=True)
            replica.mark_down(e)
            return None
        if state["replayed"] is None:  # not a replica (promoted, or misconfigured)
            replica.pool.putconn(conn, broken=rollback_quietly(conn))
            replica.mark_down("pg_last_wal_replay_lsn() is null: not in recovery")
            return None
        if state["lag_ms"] > self.max_lag_ms:
            log.warning(
                "replica %s is %.0f ms behind: reading from the primary", _safe_url(replica.url), state["lag_ms"]
            )
            replica.pool.putconn(conn, broken=rollback_quietly(conn))
            return None
        if int(state["replayed"]) < mine:  # the viewer's last write is not there yet
            replica.pool.putconn(conn, broken=rollback_quietly(conn))
            return None
        conn.replica = replica
        conn.replayed = int(state["replayed"])
        return conn

    def _guard_fills(self, cache, conn, everyone):
        """Before each statement: while the replica has replayed every recorded commit, what
        it reads may fill the cache; once a commit it lacks may have bumped a version this
        request read, nothing it reads is stored (the reads themselves stay valid)."""
        state = {"everyone": everyone, "first": True}

        def check():
            if not state["first"]:
                try:
                    everyone = self._cache.client.get(ALL_KEY)
                except CACHE_ERRORS:
                    everyone = None
                state["everyone"] = float("inf") if everyone is None else int(everyone)  # gone: unknown
            state["first"] = False
            if state["everyone"] > conn.replayed:
                _stop_fills(cache)
                conn.before_statement = None

        conn.before_statement = check


def _stop_fills(cache):
    cache.uncovered()  # no whole response stored
    cache.set_versioned = lambda items, versions: None  # no entry filled


def rollback_quietly(conn):
    """Roll back; True when the connection is broken (to be closed, not pooled)."""
    try:
        conn.rollback()
        return False
    except psycopg2.Error:
        return True
