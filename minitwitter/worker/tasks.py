"""Celery: one app built from the same ini as the web service, the outbox tasks, email.

The worker and beat run with `minitwitter-celery <ini> worker|beat` (scripts/celery.py),
which loads the ini and environment through settings.load() and calls configure().

A request writes an outbox row in its own transaction and publishes `deliver(id)` after
commit (tx.enqueue_task, store/tx.py). If that publish is lost (broker down, process killed),
the beat job `relay_outbox` publishes the row again. `deliver` sends at most one email
per row: it claims the row with FOR UPDATE SKIP LOCKED and marks it sent in the same
transaction. To add a kind of email, write a function decorated with @email("kind");
any other kind of work, @handler("kind").

Tasks run in transactions from the same door as requests: `with _store().begin() as tx`
(store/tx.py: this process's pool, named queries, cache and settings), committed when the
block returns, rolled back when it raises, with the same after-commit work (stale versions
bumped, hooks run once); domain functions take that Tx as they take a request's.

Rows of the kinds in QUEUES go to a queue of their own (a worker without -Q consumes
every queue; `-Q fanout` runs workers for one), so a burst of fan-outs never delays an
email.
"""

import functools
import logging
import os
import smtplib
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from celery import Celery
from kombu import Connection, Queue

from minitwitter.domain import accounts as accounts_domain
from minitwitter.domain import freshness
from minitwitter.domain import media as media_domain
from minitwitter.domain import posts as posts_domain
from minitwitter.domain import timelines as timelines_domain
from minitwitter.store.tx import Store

log = logging.getLogger(__name__)

# The relay leaves younger rows to their publish after commit.
RELAY_AFTER_SECONDS = 10
RELAY_BATCH = 100
SMTP_TIMEOUT = 10
PURGE_BATCH = 500
# Feeds bumped per Redis command by the fan-out: one server is blocked ~2 ms per batch.
FANOUT_BATCH = 1000
# Outbox kinds with a queue of their own; the others go to Celery's default queue.
QUEUES = {"fanout": "fanout", "timeline": "timelines"}

celery_app = Celery("minitwitter")
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    timezone="UTC",
    task_default_queue="celery",
    task_queues=[Queue("celery"), *(Queue(name) for name in sorted(set(QUEUES.values())))],
    beat_schedule={
        "relay-outbox": {"task": "minitwitter.relay_outbox", "schedule": 30.0},
        "purge-deleted-posts": {"task": "minitwitter.purge_deleted_posts", "schedule": 3600.0},
        "purge-idempotency-keys": {"task": "minitwitter.purge_idempotency_keys", "schedule": 3600.0},
        "drop-idle-timelines": {"task": "minitwitter.drop_idle_timelines", "schedule": 3600.0},
        "purge-unattached-media": {"task": "minitwitter.purge_unattached_media", "schedule": 3600.0},
    },
)


def configure(settings):
    """Point the Celery app at the configured broker; keep settings for the tasks."""
    celery_app.conf.broker_url = settings["celery.broker_url"]
    celery_app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    celery_app.conf.beat_schedule_filename = f"{settings['var.path']}/celerybeat-schedule"
    celery_app.minitwitter_settings = settings
    celery_app.minitwitter_store = None  # made on first use, from these settings
    return celery_app


def broker_ok(url, timeout=0.25):
    """True when the broker accepts a connection within `timeout` seconds: one attempt.

    The load balancer's health check calls this, and marks a process down when the check
    outlasts its own timeout (0.5 s in make cluster): a broker restarting must cost the
    check at most `timeout`. (kombu's retry sleeps 2 s first: with one retry, a RabbitMQ
    restart took every API process out of haproxy at once, bench/results/cluster-faults-*.)
    """
    try:
        with Connection(url, connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
        return True
    except Exception as e:  # kombu raises transport-specific errors
        log.warning("broker unreachable: %s", e)
        return False


def publish(outbox_id, kind=None):
    """Queue deliver(outbox_id) (on its kind's queue); False, with a warning, when the
    broker cannot take it.

    Runs after a request's commit, so it must be quick and never raise: the row is safe
    in the outbox and the relay publishes it later. Left alone, kombu keeps reconnecting
    for broker_connection_timeout (4 s; a refused port took 6 s, even with retry=False);
    here one connection attempt, bounded by socket_connect_timeout, and no retry.

    Each thread keeps its broker connection (_producer): a fresh one per publish cost
    11.6 ms, a kept one 0.8 ms (Redis and RabbitMQ alike, bench/results/cost-2026-11-30.md).
    A kept connection the broker dropped (a restart) fails its publish: it is closed and
    the publish tried once on a new one. Over AMQP a publish into a connection the broker
    has just reset can also be lost without an error (no publisher confirms: they cost
    1.6 ms more a publish): the row stays pending and the relay publishes it.
    """
    for attempt in range(2):
        kept = False
        try:
            producer, kept = _producer()
            deliver.apply_async(args=[outbox_id], producer=producer, retry=False, queue=QUEUES.get(kind))
            return True
        except Exception as e:  # kombu raises transport-specific errors
            _drop_producer()
            if attempt or not kept:
                log.warning("outbox %s not published, the relay will retry: %s", outbox_id, e)
                return False


_publisher = threading.local()


def _producer():
    """This thread's producer on the configured broker, and whether it was made before
    (made again when the broker URL changes, and in a forked child)."""
    key = (os.getpid(), celery_app.conf.broker_url)
    if getattr(_publisher, "key", None) == key:
        return _publisher.producer, True
    _drop_producer()
    conn = celery_app.connection_for_write()
    conn.ensure_connection(max_retries=0)
    _publisher.key, _publisher.producer = key, celery_app.amqp.Producer(conn, auto_declare=False)
    return _publisher.producer, False


def _drop_producer():
    """Forget this thread's producer, closing its connection unless a parent process made
    it (closing would end the parent's too: the socket is shared)."""
    key, producer = getattr(_publisher, "key", None), getattr(_publisher, "producer", None)
    _publisher.key = _publisher.producer = None
    if producer is not None and key[0] == os.getpid():
        try:
            producer.connection.close()
        except Exception:  # noqa: S110 (a broken connection: nothing left to close)
            pass


def _store():
    """This process's Store (store/tx.py): made on first use, so after the prefork (never
    shared with a parent), and again in a forked child or after configure()."""
    made = getattr(celery_app, "minitwitter_store", None)
    if made is None or made[0] != os.getpid():
        store = Store(celery_app.minitwitter_settings, publish=publish, application_name="minitwitter-worker")
        made = celery_app.minitwitter_store = (os.getpid(), store)
    return made[1]


def _cache():
    return _store().cache


@celery_app.task(name="minitwitter.deliver")
def deliver(outbox_id):
    """Send what outbox row `outbox_id` asks for, once: True if this call sent it.

    The claim locks the row until the commit that marks it sent, so a second call (a
    re-publish, a redelivery) finds nothing to do. If sending fails the transaction rolls
    back and the row stays pending for the relay. A crash between the SMTP send and the
    commit can still send twice: at least once, never twice for a committed delivery.
    """
    with _store().begin() as tx:  # one transaction: commit on return, roll back on an exception
        row = tx.queries.outbox.claim(tx.db, outbox_id=outbox_id)
        if row is None:
            return False
        handle = HANDLERS.get(row["kind"])
        if handle is None:  # e.g. written by a newer web release: leave it pending
            raise ValueError(f"outbox {outbox_id}: no handler for kind {row['kind']!r}")
        done = handle(tx, row["payload"])
        if not done:
            log.info("outbox %s: %s has nothing to do any more, skipped", outbox_id, row["kind"])
        tx.queries.outbox.mark_sent(tx.db, outbox_id=outbox_id)
    return bool(done)


@celery_app.task(name="minitwitter.relay_outbox")
def relay_outbox(older_than=RELAY_AFTER_SECONDS, batch=RELAY_BATCH):
    """Beat job: publish again the unsent rows whose publish after commit was lost.

    Oldest first and bounded, so a long broker outage drains over a few runs. A row still
    queued behind a backlog may be published twice; deliver() makes that harmless.
    Returns how many were published; stops at the first failure (the broker is down).
    """
    with _store().begin() as tx:
        pending = tx.queries.outbox.pending(tx.db, older_than=older_than, batch=batch)
        rows = [(row["id"], row["kind"]) for row in pending]
    published = 0
    for outbox_id, kind in rows:
        if not publish(outbox_id, kind):
            break
        published += 1
    if published:
        log.info("relayed %d outbox rows", published)
    return published


@celery_app.task(name="minitwitter.purge_deleted_posts")
def purge_deleted_posts(batch=PURGE_BATCH):
    """Beat job: hard-delete posts soft-deleted over posts.purge_after_days ago, with their
    image rows and files, a batch per transaction so no lock is held for long. Only those
    posts: nothing live, nothing recently deleted. Returns how many posts went."""
    purged = _in_batches(
        lambda tx: posts_domain.purge_deleted(
            tx, tx.settings["posts.purge_after_days"], batch, tx.settings["media.root"]
        ),  # the files go after each commit
        batch,
    )
    if purged:
        log.info("purged %d long-deleted posts", purged)
    return purged


@celery_app.task(name="minitwitter.drop_idle_timelines")
def drop_idle_timelines(batch=PURGE_BATCH):
    """Beat job: drop the home timelines not read for feed.idle_days (domain/timelines.py),
    a batch per transaction. Returns how many went."""
    dropped = _in_batches(lambda tx: timelines_domain.drop_idle(tx, tx.settings["feed.idle_days"], batch), batch)
    if dropped:
        log.info("dropped %d idle home timelines", dropped)
    return dropped


@celery_app.task(name="minitwitter.purge_unattached_media")
def purge_unattached_media(batch=PURGE_BATCH, hours=media_domain.UNATTACHED_HOURS):
    """Beat job: remove the uploads (the Mastodon face's media) no status took within a day,
    with their files, a batch per transaction (domain/media.py: purge_unattached). Returns how
    many went."""
    removed = _in_batches(lambda tx: media_domain.purge_unattached(tx, hours, batch, tx.settings["media.root"]), batch)
    if removed:
        log.info("removed %d media no status took", removed)
    return removed


def _in_batches(step, batch):
    """Run `step(tx)` (how many rows it took, at most `batch`) a transaction at a time until a
    short batch: no lock of a beat job is held for long. Returns the rows taken in all."""
    store, total = _store(), 0
    while True:
        with store.begin() as tx:
            count = step(tx)
        total += count
        if count < batch:
            return total


@celery_app.task(name="minitwitter.purge_idempotency_keys")
def purge_idempotency_keys(hours=24):
    """Beat job: Idempotency-Keys are kept 24 hours."""
    with _store().begin() as tx:
        return tx.queries.idempotency.purge(tx.db, hours=hours)  # the keys older than `hours`: how many went


# Outbox kinds: handle(tx, payload) -> True when it did the work, False when there is
# nothing to do any more (a deleted user, a purged image). It runs in the claim's
# transaction, `tx`, and asks for what must wait for its commit with tx.after_commit.
HANDLERS = {}


def handler(kind):
    """Register the function that carries out outbox rows of `kind`."""

    def register(handle):
        HANDLERS[kind] = handle
        return handle

    return register


def email(kind):
    """Register a function rendering the email of `kind`: an EmailMessage, or None when
    there is no one to send to any more. Rendered at send time, so it says what is true
    when it goes out."""

    def register(render):
        def send(tx, payload):
            msg = render(tx, payload)
            if msg is not None:
                send_email(msg, tx.settings)
            return msg is not None

        HANDLERS[kind] = send
        return render

    return register


@handler("thumbnail")
def thumbnail(tx, payload):
    """Make a post image's thumbnail (domain/media.py)."""
    return media_domain.make_thumbnail(tx, payload["image_id"], tx.settings["media.root"])


@handler("fanout")
def fanout(tx, payload):
    """A post of payload's author appeared or went: bump every follower's feed, a batch
    of FANOUT_BATCH at a time (timelines.feeds_changed). Followers who follow later bump
    their own feed. A bump Redis did not take fails the task: the row stays pending and
    the relay runs it again (bumping twice is harmless)."""
    cache, before = _cache(), freshness.MAX_ID
    while True:
        batch = tx.queries.follows.follower_batch(
            tx.db, user_id=payload["author_id"], before=before, limit=FANOUT_BATCH
        )
        if batch["ids"] and not cache.bump(*(freshness.feed(i) for i in batch["ids"])):
            raise RuntimeError(f"fan-out of user {payload['author_id']}'s post: Redis did not take the bumps")
        if len(batch["ids"]) < FANOUT_BATCH:
            return True
        before = batch["last"]


@handler("timeline")
def timeline(tx, payload):
    """The home timeline side of a fan-out (timelines.feeds_changed; the `fanout` row beside
    it bumps the feeds): write the entry `added` into the timelines of the followers of
    payload's `via_id` (the author, or the reposter) who have one, a batch of FANOUT_BATCH at
    a time, or take the entries `removed` out (domain/timelines.py). Their feeds are bumped
    again once this is committed: a read between the `fanout` bump and this commit cached
    a page without the entry. Running twice is harmless; after the post's account (or the
    reposter's) was deleted, it writes nothing."""
    item = payload.get("added")
    if item is not None:
        # First the accounts it comes from, as every write about accounts (domain.lock_accounts):
        # one deleted since took the post along, and there is nothing to write.
        accounts = {payload["via_id"], item["author_id"]}
        found = tx.queries.users.lock_accounts(tx.db, user_ids=sorted(accounts), post_id=None, names=[])
        if {r["id"] for r in found} != accounts:
            item = None
    if payload.get("removed") is not None:
        timelines_domain.remove(tx, payload["removed"])
    before, readers = freshness.MAX_ID, []
    while item is not None:
        batch = tx.queries.follows.follower_batch(tx.db, user_id=payload["via_id"], before=before, limit=FANOUT_BATCH)
        if batch["ids"]:
            readers += timelines_domain.fan_out(tx, batch["ids"], item, tx.settings)
        if len(batch["ids"]) < FANOUT_BATCH:
            break
        before = batch["last"]
    if readers:
        tx.after_commit(functools.partial(_bump_readers, readers))
    return True


def _bump_readers(user_ids):
    cache = _cache()
    for start in range(0, len(user_ids), FANOUT_BATCH):
        if not cache.bump(*(freshness.feed(i) for i in user_ids[start : start + FANOUT_BATCH])):
            log.warning("timelines written, but Redis did not take the bumps of %d feeds", len(user_ids) - start)
            return


@email("welcome_email")
def welcome_email(tx, payload):
    """Sign-up's email: welcome, and the link that verifies the address."""
    user = tx.queries.outbox.mail_user(tx.db, user_id=payload["user_id"])
    if user is None:
        return None
    link = _token_link(tx, user, "verify_email")
    body = (
        f"Hello {user['username']},\n\nyour minitwitter account is ready. Welcome!\n\n"
        f"Confirm that this address is yours: {link}\n"
    )
    return compose(tx.settings, user["email"], f"Welcome to minitwitter, {user['username']}", body)


@email("verify_email")
def verify_email(tx, payload):
    """A new verification link, asked for (POST /api/users/me/verify_email/ without a token)."""
    user = tx.queries.outbox.mail_user(tx.db, user_id=payload["user_id"])
    if user is None or tx.queries.accounts.email_verified(tx.db, user_id=user["id"]):
        return None
    link = _token_link(tx, user, "verify_email")
    body = f"Hello {user['username']},\n\nconfirm that this address is yours: {link}\n"
    return compose(tx.settings, user["email"], "Confirm your email address", body)


@email("password_reset_email")
def password_reset_email(tx, payload):
    """A password reset link, if an account has the address asked for (nothing otherwise)."""
    user = tx.queries.accounts.mail_user_by_email(tx.db, email=payload["email"])
    if user is None:
        return None
    link = _token_link(tx, user, "password_reset")
    minutes = tx.settings["accounts.reset_token_minutes"]
    body = (
        f"Hello {user['username']},\n\nsomeone asked to reset your minitwitter password. To choose a new "
        f"one, open this link within {minutes} minutes (it works once): {link}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )
    return compose(tx.settings, user["email"], "Reset your minitwitter password", body)


def _token_link(tx, user, purpose):
    """A link holding a new single-use token (domain/accounts.py stores its hash, in the
    transaction that sends the email: an email that fails to go leaves no token)."""
    settings = tx.settings
    if purpose == "verify_email":
        seconds, template = settings["accounts.verify_token_hours"] * 3600, settings["mail.verify_link"]
    else:
        seconds, template = settings["accounts.reset_token_minutes"] * 60, settings["mail.reset_link"]
    token = accounts_domain.issue_token(tx, user, purpose, seconds)
    return template.format(public_url=settings["public_url"], token=token)


@email("follow_email")
def follow_email(tx, payload):
    # Both accounts locked first (domain.lock_accounts): neither can go before the email is noted.
    pair = {payload["follower_id"], payload["followee_id"]}
    found = tx.queries.users.lock_accounts(tx.db, user_ids=sorted(pair), post_id=None, names=[])
    if {r["id"] for r in found} != pair:
        return None
    if tx.queries.safety.blocked_between(tx.db, user_id=payload["follower_id"], other_id=payload["followee_id"]):
        return None  # blocked since: the block ended the follow, and nobody is told across one
    follower = tx.queries.outbox.mail_user(tx.db, user_id=payload["follower_id"])
    followee = tx.queries.outbox.mail_user(tx.db, user_id=payload["followee_id"])
    if follower is None or followee is None:
        return None
    pair = {"follower_id": follower["id"], "followee_id": followee["id"]}
    if not tx.queries.outbox.note_follow_email(tx.db, hours=tx.settings["mail.follow_email_hours"], **pair):
        return None  # told already (an unfollow and a follow again)
    link = tx.settings["mail.profile_link"].format(public_url=tx.settings["public_url"], **follower)
    body = f"Hello {followee['username']},\n\n{follower['username']} followed you on minitwitter: {link}\n"
    return compose(tx.settings, followee["email"], f"{follower['username']} followed you", body)


def compose(settings, to, subject, body):
    msg = EmailMessage()
    msg["From"] = settings["mail.from"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def send_email(msg, settings):
    """Send over settings["smtp.url"]: smtp://[user:password@]host[:port], or smtps:// for TLS."""
    url = urlsplit(settings["smtp.url"])
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError(f"smtp.url must be smtp://host:port or smtps://host:port, not {url.scheme}://...")
    tls = url.scheme == "smtps"
    smtp_class = smtplib.SMTP_SSL if tls else smtplib.SMTP
    with smtp_class(url.hostname, url.port or (465 if tls else 25), timeout=SMTP_TIMEOUT) as smtp:
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(msg)


def includeme(config):
    configure(config.registry.settings)
