"""Settings: the ini values, overridden by environment variables.

Secrets and URLs come from the environment in production; the ini holds the
defaults a developer runs with. Every setting the code reads is listed in DEFAULTS,
so this file is the one place that says what can be configured.
"""

import os
import secrets
from pathlib import Path

# Environment variable -> setting key.
ENV_OVERRIDES = {
    "DATABASE_URL": "database.url",
    "DATABASE_REPLICA_URLS": "database.replica_urls",
    "DATABASE_STATEMENT_TIMEOUT": "database.statement_timeout",
    "REDIS_URL": "redis.url",
    "CELERY_BROKER_URL": "celery.broker_url",
    "JWT_SECRET": "jwt.secret",
    "SMTP_URL": "smtp.url",
    "MEDIA_ROOT": "media.root",
    "PUBLIC_URL": "public_url",
    "PORT": "port",
    "BCRYPT_ROUNDS": "bcrypt.rounds",
    "RATELIMIT_LOGIN": "ratelimit.login",
    "RATELIMIT_SIGNUP": "ratelimit.signup",
    "RATELIMIT_WRITES": "ratelimit.writes",
    "RATELIMIT_PASSWORD_RESET": "ratelimit.password_reset",
}

DEFAULTS = {
    "database.url": "",
    "database.pool_max": "10",
    # Milliseconds; every statement of a request is bounded. 0: sent by nobody, for
    # PgBouncer in transaction mode (it refuses startup options): set it on the server,
    # ALTER DATABASE minitwitter SET statement_timeout = '3s'.
    "database.statement_timeout": "5000",
    # Streaming replicas for reads (space- or comma-separated URLs; store/db.py): a GET uses one
    # unless it has not replayed the viewer's last commit, or lags more than the bound.
    "database.replica_urls": "",
    "replica.max_lag_ms": "1000",
    # One server (redis://host:6379/0), or a Redis Cluster through any of its nodes
    # (redis+cluster://host:7000,host:7001): then celery.broker_url must be set too.
    "redis.url": "",
    # Seconds; every Redis call is bounded, and a miss is served from PostgreSQL.
    "redis.timeout": "0.25",
    "celery.broker_url": "",
    "jwt.secret": "",
    "jwt.issuer": "minitwitter",
    "jwt.audience": "minitwitter-api",
    "jwt.access_ttl": "900",
    "jwt.refresh_ttl": "1209600",
    # A process re-checks a remembered access token's account (it exists, its password has
    # not changed since) at most this often: the delay before an ended session's access
    # tokens stop working in the other processes (domain/credentials.py).
    "jwt.recheck_seconds": "5",
    "bcrypt.rounds": "12",
    "smtp.url": "smtp://127.0.0.1:8025",
    "mail.from": "minitwitter <no-reply@minitwitter.local>",
    # "X followed you" goes at most once per pair in this many hours (unfollow, follow again).
    "mail.follow_email_hours": "24",
    # The link in that email: a page a person can open, on the web client at public_url
    # (the API itself needs a token). {public_url}, {username} and {id} are filled in.
    "mail.profile_link": "{public_url}/@{username}",
    # The links of the verification (sent at sign-up and on request) and password reset
    # emails, on the web client: {public_url} and {token} are filled in; the client sends
    # the token to POST /api/users/me/verify_email/ or /api/password_reset/confirm/.
    "mail.verify_link": "{public_url}/verify_email?token={token}",
    "mail.reset_link": "{public_url}/password_reset?token={token}",
    # How long an emailed token works (it works once).
    "accounts.verify_token_hours": "48",
    "accounts.reset_token_minutes": "60",
    # Base of links in emails; defaults to http://127.0.0.1:<PORT or 6543>.
    "public_url": "",
    "media.root": "var/media",
    # The named queries and the migrations: by default the copies shipped in the package
    # (minitwitter/sql and minitwitter/migrations, links to the top-level folders in a
    # checkout); a DBA can point these at tuned copies.
    "sql.path": "",
    "migrations.path": "",
    "var.path": "var",
    # The beat job hard-deletes posts soft-deleted longer ago than this.
    "posts.purge_after_days": "30",
    # A post by an author with more followers than this leaves the bumps of their feeds to
    # a worker (timelines.feeds_changed): the request's work does not grow with followers.
    "fanout.inline_followers": "100",
    # Whole responses kept in each API process, answered with no Redis round trip while
    # Redis has pushed no change to what they were made from (near_cache.py); 0: off.
    "response_cache.local_entries": "2000",
    # Readers following more accounts than this get the timeline-walk feed plan.
    "feed.timeline_threshold": "1000",
    # Home timelines (domain/timelines.py): entries kept per reader; pages past them are read
    # by the pull plans.
    "feed.timeline_size": "800",
    # Authors with more followers than this are never fanned out: their posts are merged into
    # their followers' feeds at read time. D3 (1M users, Zipf 1.1 follows) has about 20 over
    # 100,000 (its celebrity 500,000) and about 150 over 10,000: a reader merges one
    # per-followee read per pulled followee, and a typical reader follows many of the top
    # accounts, so the bar is high; a fan-out to 100,000 followers is a few seconds of a worker.
    "feed.pull_followers": "100000",
    # A timeline made by a feed read is filled from a pull plan this many seconds later: by
    # then every write transaction begun before it was made has ended (each statement is
    # bounded by database.statement_timeout), so none of their fan-outs missed it unseen.
    "feed.settle_seconds": "10",
    # A home timeline not read for this many days is dropped by a beat job (Mastodon's two
    # weeks): fan-outs write only into active readers' timelines; a returning reader's next
    # read makes a new one.
    "feed.idle_days": "14",
    # Browser origins allowed to call the API (space-separated; never "*").
    "cors.origins": "",
    # Requests per seconds (minitwitter/web/ratelimit.py); Mastodon's figures.
    "ratelimit.login": "25/300",
    "ratelimit.signup": "5/1800",
    "ratelimit.writes": "300/300",
    # Password reset requests, per address and per email asked for.
    "ratelimit.password_reset": "5/900",
    # Runs of a write whose transaction hit a deadlock or serialization failure (web/transaction.py).
    "retry.attempts": "3",
    # 6 MB: a 5 MB image plus the multipart envelope.
    "limits.max_body_bytes": "6291456",
    # Development only: write a random JWT secret into var/ when none is given.
    "jwt.generate_secret": "false",
}

INT_KEYS = {
    "database.pool_max",
    "database.statement_timeout",
    "replica.max_lag_ms",
    "jwt.access_ttl",
    "jwt.refresh_ttl",
    "bcrypt.rounds",
    "limits.max_body_bytes",
    "retry.attempts",
    "feed.timeline_threshold",
    "feed.timeline_size",
    "feed.pull_followers",
    "feed.settle_seconds",
    "feed.idle_days",
    "response_cache.local_entries",
    "posts.purge_after_days",
    "mail.follow_email_hours",
    "fanout.inline_followers",
    "jwt.recheck_seconds",
    "accounts.verify_token_hours",
    "accounts.reset_token_minutes",
}
FLOAT_KEYS = {"redis.timeout"}
BOOL_KEYS = {"jwt.generate_secret"}

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_SQL_PATH = PACKAGE_ROOT / "sql"
DEFAULT_MIGRATIONS_PATH = PACKAGE_ROOT / "migrations"


class SettingsError(RuntimeError):
    """A setting is missing or malformed: the service refuses to start."""


def from_ini(ini_path, environ=None, require_secret=True):
    """Settings of the ini's [app:main] section, as the web app would see them."""
    from pyramid.paster import get_appsettings, setup_logging

    setup_logging(ini_path)
    return load(get_appsettings(ini_path), environ, require_secret=require_secret)


def asbool(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load(settings, environ=None, require_secret=True):
    """Return the effective settings: DEFAULTS < ini < environment.

    Tools that need no tokens (migrations, the launcher) pass require_secret=False.
    """
    environ = os.environ if environ is None else environ
    result = dict(DEFAULTS)
    result.update({k: v for k, v in (settings or {}).items() if v is not None})
    for env_name, key in ENV_OVERRIDES.items():
        if environ.get(env_name):
            result[key] = environ[env_name]
    for key in INT_KEYS:
        result[key] = int(result[key])
    for key in FLOAT_KEYS:
        result[key] = float(result[key])
    for key in BOOL_KEYS:
        result[key] = asbool(result[key])
    urls = result["database.replica_urls"]
    result["database.replica_urls"] = urls.replace(",", " ").split() if isinstance(urls, str) else list(urls)
    if not result["sql.path"]:
        result["sql.path"] = str(DEFAULT_SQL_PATH)
    if not result["migrations.path"]:
        result["migrations.path"] = str(DEFAULT_MIGRATIONS_PATH)
    if not result["public_url"]:
        result["public_url"] = f"http://127.0.0.1:{result.get('port') or 6543}"
    if not result["celery.broker_url"]:
        result["celery.broker_url"] = result["redis.url"]
    if _is_cluster(result["celery.broker_url"]):
        raise SettingsError(
            "CELERY_BROKER_URL must be set when REDIS_URL is a Redis Cluster (a cluster cannot be the broker): "
            "e.g. amqp://guest:guest@127.0.0.1:5672// or redis://host:6379/0"
        )
    if require_secret:
        _require_jwt_secret(result)
    if not result["database.url"]:
        raise SettingsError("DATABASE_URL is not set (nor database.url in the ini)")
    return result


def _is_cluster(url):
    """redis+cluster:// or rediss+cluster:// (minitwitter/store/cache.py)."""
    return str(url).split("://", 1)[0].endswith("+cluster")


def _require_jwt_secret(result):
    secret = result["jwt.secret"]
    if not secret and result["jwt.generate_secret"]:
        path = Path(result["var.path"]) / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        secret = path.read_text().strip()
    if len(secret.encode()) < 32:
        raise SettingsError("JWT_SECRET must be set to at least 32 bytes")
    result["jwt.secret"] = secret
