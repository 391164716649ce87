"""The transaction door: every unit of work, a request's or a Celery task's, runs in a Tx.

One Store per process holds what transactions are made of: the primary's connection pool,
the read replicas (chosen through their own pools), the named queries (sql/), the Redis
cache, the settings, and how an outbox row is published. `store.begin()` makes a Tx:

    tx = store.begin()                 # no connection yet
    tx.queries.posts.create_post(tx.db, ...)   # the first statement takes one from the pool
    tx.stale(freshness.post(42))       # this version is bumped once the commit is done
    tx.enqueue_task("thumbnail", {...})  # an outbox row now, its publish after the commit
    tx.after_commit(fn)                # fn() runs after a commit, never after a rollback
    tx.after_rollback(fn)              # fn() runs after a rollback (or a failed commit)
    tx.commit()                        # or tx.rollback(); either gives the connection back

A request's Tx is request.tx (web/transaction.py makes it with the request's reader and
whether a replica may serve it, and ends it after the view); a task's, `with
store.begin() as tx:` (worker/tasks.py): committed when the block returns, rolled back
when it raises. Domain functions take a Tx first and never end it: whoever began it does.

What a commit does, in order: COMMIT; for a write with replicas configured, its LSN is
recorded (store/db.py, Replicas.record) before anything it made stale is bumped, so no
version is ever newer than the commit LSN known for it; then the stale versions are bumped
(one Redis call); then the after-commit hooks run, in the order they were added. A hook
that fails is logged and never turns a committed success into an error. A Tx ends once:
its hooks run once, and a second commit, rollback or close does nothing.
"""

import logging
from functools import partial

import psycopg2
from psycopg2.extras import Json

from minitwitter.store import queries as queries_module
from minitwitter.store.cache import Cache, RequestCache
from minitwitter.store.db import READS, Pool, Replicas, rollback_quietly

log = logging.getLogger(__name__)


class Store:
    """What transactions are made of, one per process (the web app's registry.store, the
    worker's tasks._store()): the pool, the replicas, the named queries, the cache, the
    settings, and `publish(outbox_id, kind)`, which queues an outbox row's task."""

    def __init__(self, settings, publish=None, application_name="minitwitter"):
        self.settings = settings
        self.pool = Pool(
            settings["database.url"],
            settings["database.pool_max"],
            settings["database.statement_timeout"],
            application_name=application_name,
            prepare=settings["database.prepare"],
        )
        self.cache = Cache(settings["redis.url"], settings["redis.timeout"])
        self.queries = queries_module.load(settings["sql.path"])
        self.replicas = Replicas(settings, self.cache) if settings["database.replica_urls"] else None
        self.publish = publish

    def begin(self, fills=False, replica=None, write=True, user_id=None, issued_at=None):
        """A new transaction; it takes a connection at its first statement.

        fills: whether what it reads may fill cache entries (a GET's; never a write's, whose
        transaction may still roll back). replica: None, or a function telling, when the
        first connection is taken, whether a replica may serve this read. write: whether its
        commit is recorded for the replicas' read-your-writes (a write's; a GET's is not).
        user_id, issued_at: who reads and writes, and since when (the bearer token's claims,
        unverified: they only pick where to read)."""
        return Tx(self, RequestCache(self.cache, fills=fills), replica, write, user_id, issued_at)


class Tx:
    """One transaction: its connection, the named queries, the cache, the settings, what it
    makes stale, what it queues and what runs after it (the module's docstring)."""

    def __init__(self, store, cache, replica=None, write=True, user_id=None, issued_at=None):
        self.store = store
        self.queries = store.queries
        self.settings = store.settings
        self.cache = cache
        self.statements = 0  # statements run, once ended (tests pin queries per request)
        self._replica, self._write = replica, write
        self._user_id, self._issued_at = user_id, issued_at
        self._conn = None
        self._before = 0
        self._stale = {}  # names, in the order first made stale (a dict: each once)
        self._after_commit = []
        self._after_rollback = []
        self._ended = False

    @property
    def db(self):
        """The connection, taken on first use: from a replica's pool for a read that may use
        one and finds one fit (store/db.py), else from the primary's."""
        if self._conn is None:
            if self._ended:
                raise RuntimeError("this transaction has ended")
            self._conn = self._connect()
            self._before = self._conn.statements
        return self._conn

    def _connect(self):
        replicas = self.store.replicas
        if replicas and self._replica is not None and self._replica():
            conn = replicas.checkout(self.cache, self._user_id, self._issued_at)
            READS.labels("primary" if conn is None else "replica").inc()
            if conn is not None:
                return conn
        return self.store.pool.getconn()

    def stale(self, *names):
        """These cached versions (domain/freshness.py's names) are stale once this commits:
        they are bumped after the commit, and read from PostgreSQL for the rest of this
        transaction (the cache still holds what was true before it)."""
        if names:
            self.cache.mark_dirty(names)
            self._stale.update(dict.fromkeys(names))

    def after_commit(self, hook):
        """Run `hook()` once this transaction has committed (never on a rollback)."""
        self._after_commit.append(hook)

    def after_rollback(self, hook):
        """Run `hook()` once this transaction has rolled back, or failed to commit."""
        self._after_rollback.append(hook)

    def enqueue_task(self, kind, payload):
        """Ask for task `kind` (worker/tasks.py's HANDLERS) with a JSON payload: its outbox
        row is written in this transaction, so it exists exactly when what asked for it was
        committed, and published after the commit (a worker must find the row). A publish
        that fails leaves the row pending for the relay (tasks.relay_outbox). Its outbox id."""
        outbox_id = self.queries.outbox.enqueue(self.db, kind=kind, payload=Json(payload))
        if self.store.publish is not None:
            self.after_commit(partial(self.store.publish, outbox_id, kind))
        return outbox_id

    def separate(self):
        """Another transaction from the same store, with a connection of its own: for what
        must stick whether this one commits or not (domain/accounts.py)."""
        return self.store.begin()

    def commit(self):
        """Commit; then the commit's LSN, the stale versions, the after-commit hooks. A
        commit that fails runs the after-rollback hooks and raises."""
        if self._ended:
            return
        self._ended = True
        conn = self._conn
        if conn is not None:
            broken = False
            try:
                conn.commit()
                replicas = self.store.replicas
                if replicas and self._write and conn.replica is None:
                    # before the bumps: a version bumped must never be newer than the LSN known
                    replicas.record(conn, self._user_id)
            except psycopg2.Error:
                broken = True
                _run(self._after_rollback)
                raise
            finally:
                self._release(conn, broken)
        if self._stale:
            _run([partial(self.cache.bump, *self._stale)])
        _run(self._after_commit)

    def rollback(self):
        """Roll back (nothing of it stays), then the after-rollback hooks."""
        if self._ended:
            return
        self._ended = True
        conn = self._conn
        if conn is not None:
            self._release(conn, rollback_quietly(conn))
        _run(self._after_rollback)

    close = rollback  # ending a transaction nobody committed rolls it back

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def _release(self, conn, broken):
        self.statements = conn.statements - self._before
        self._conn = None
        pool = conn.replica.pool if conn.replica is not None else self.store.pool
        conn.before_statement = None
        conn.replica = None
        pool.putconn(conn, broken=broken or bool(conn.closed))


def _run(hooks):
    for hook in hooks:
        try:
            hook()
        except Exception:  # a hook must never turn a committed success into an error
            log.exception("hook %r failed", hook)
