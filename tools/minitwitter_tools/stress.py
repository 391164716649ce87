"""minitwitter-stress <ini>: concurrent writers over shared rows, then exact counts.

A benchmark scenario, not a test: `pserve <ini>` on --port (default 6610) against its own
database (DATABASE_URL, default minitwitter_stress on 127.0.0.1:5432, emptied first), and
--writers threads (default 32) writing for --seconds (default 30) over the rows that
concurrent writes contend for: every post carries some of the same 4 hashtags and is
created, edited (its tags changed) and deleted; writers follow and unfollow their partner
(who does the same to them at the same time) and others; they like and unlike each other's
posts, repost them and reply to them (naming their partner); they block and unblock each
other; and now and then one deletes its account, and signs up again as a new one, while
the others act on it and its posts. Every create carries an Idempotency-Key.

Reported: requests and their statuses, errors (5xx, no answer, and any answer the API does
not document for the action: the target is 0; a 404 for an account or post deleted
meanwhile and a 403 across a block are documented), the retries the server made
(`minitwitter_db_retries_total` from /metrics), the deadlocks PostgreSQL counted, and
whether every materialized count equals its COUNT(*) recomputation afterwards (users'
followers, following and posts; posts' likes, reposts and replies; hashtags' posts;
post_totals; unread notifications), that no follow and no notification stands between two
accounts a block separates, and whether the posts stored are exactly the creates answered
201 by the accounts still there (a deleted account's posts go with it).
Writes bench/results/stress-<date>.md (--out to change); exits 1 on an error or a count off.
"""

import argparse
import collections
import datetime
import http.client
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg2
import redis

from minitwitter.scripts import migrate
from minitwitter_tools.devservices import ensure_database, stop_groups

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/minitwitter_stress"
TAGS = ["#alpha", "#bravo", "#charlie", "#delta"]
PASSWORD = "stress test password"

# Each row: a materialized count that differs from its recomputation, or a state a block forbids.
COUNTS_OFF = {
    "users": """SELECT count(*) FROM users u
                 WHERE followers_count <> (SELECT count(*) FROM follows WHERE followee_id = u.id)
                    OR following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id)
                    OR posts_count <> (SELECT count(*) FROM posts WHERE author_id = u.id AND deleted_at IS NULL)""",
    "posts": """SELECT count(*) FROM posts p
                 WHERE likes_count <> (SELECT count(*) FROM likes WHERE post_id = p.id)
                    OR reposts_count <> (SELECT count(*) FROM reposts WHERE post_id = p.id)
                    OR replies_count <> (SELECT count(*) FROM posts r
                                          WHERE r.in_reply_to = p.id AND r.deleted_at IS NULL)""",
    "hashtags": """SELECT count(*) FROM hashtags h
                    WHERE posts_count <> (SELECT count(*) FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id
                                           WHERE ph.hashtag_id = h.id AND p.deleted_at IS NULL)""",
    "post_totals": """SELECT count(*) FROM post_totals s
                       WHERE live <> (SELECT count(*) FROM posts WHERE id % 16 = s.slot AND deleted_at IS NULL)""",
    "unread": """SELECT count(*) FROM notification_state s
                  WHERE unread <> (SELECT count(*) FROM notifications n
                                    WHERE n.recipient_id = s.user_id AND n.id > s.read_up_to)""",
    "blocked": """SELECT (SELECT count(*) FROM follows f JOIN blocks b
                            ON (b.blocker_id, b.blocked_id) IN ((f.follower_id, f.followee_id),
                                                                (f.followee_id, f.follower_id)))
                       + (SELECT count(*) FROM notifications n JOIN blocks b
                            ON (b.blocker_id, b.blocked_id) IN ((n.actor_id, n.recipient_id),
                                                                (n.recipient_id, n.actor_id)))""",
}
# What each action may answer besides an error: the documented answers (docs/API.md).
EXPECTED = {
    "create": {201},
    "reply": {201, 403, 404},  # across a block; the parent (or its account) deleted meanwhile
    "edit": {200},
    "delete": {204},
    "follow": {200, 403, 404},  # across a block; the account deleted meanwhile
    "like": {200, 403, 404},
    "repost": {200, 403, 404},
    "block": {200, 404},
    "delete_account": {204},
    "sign_up": {201},
}
DEADLOCKS = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"


class Client:
    """One keep-alive HTTP connection; returns (status, JSON body or None)."""

    def __init__(self, port, token=None):
        self.port, self.token, self.conn = port, token, None

    def __call__(self, method, path, body=None, headers=None):
        headers = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for _ in range(2):  # once more on a connection the server closed
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, json.loads(data) if data.startswith(b"{") else None
            except (OSError, http.client.HTTPException):
                self.close()
        return 0, None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Writer(threading.Thread):
    ACTIONS = ["create", "edit", "delete", "follow", "like", "repost", "reply", "block", "delete_account"]
    WEIGHTS = [24, 16, 8, 20, 12, 6, 6, 6, 1]

    def __init__(self, index, users, port, posts, stop, seed):
        super().__init__(daemon=True)
        self.index, self.users, self.posts, self.stop = index, users, posts, stop
        self.me = users[index]
        self.port = port
        self.client = Client(port, self.me["token"])
        self.rng = random.Random(seed * 1000 + index)
        self.mine, self.following, self.liked, self.reposted, self.blocked = [], set(), set(), set(), set()
        self.statuses = collections.Counter()  # (action, status) -> n
        self.created = 0  # posts (and replies) answered 201 to this writer's current account
        self.generation = 0

    @property
    def partner(self):
        return self.users[self.index ^ 1]  # a new account when the partner deleted theirs

    def run(self):
        while not self.stop.is_set():
            action = self.rng.choices(self.ACTIONS, self.WEIGHTS)[0]
            status = getattr(self, action)()
            if status is not None:
                self.statuses[action, status] += 1
        self.client.close()

    def text(self):
        return "stress " + " ".join(self.rng.sample(TAGS, self.rng.randint(1, len(TAGS))))

    def _created(self, body):
        self.created += 1
        self.mine.append(body["id"])
        self.posts.append(body["id"])

    def create(self):
        key = {"Idempotency-Key": secrets.token_hex(8)}
        status, body = self.client("POST", "/api/posts/", {"text": self.text()}, key)
        if status == 201:
            self._created(body)
        return status

    def reply(self):
        if not self.posts:
            return None
        text = f"{self.text()} @{self.partner['username']}"  # a mention too, of an account that may be going
        body = {"text": text, "in_reply_to": self.rng.choice(self.posts[-200:])}
        status, created = self.client("POST", "/api/posts/", body, {"Idempotency-Key": secrets.token_hex(8)})
        if status == 201:
            self._created(created)
        return status

    def edit(self):
        if not self.mine:
            return None
        return self.client("PATCH", f"/api/posts/{self.rng.choice(self.mine)}/", {"text": self.text()})[0]

    def delete(self):
        if not self.mine:
            return None
        return self.client("DELETE", f"/api/posts/{self.mine.pop(self.rng.randrange(len(self.mine)))}/")[0]

    def other(self):
        """Mostly the partner, who is doing the same to this writer at the same moment."""
        other = self.partner if self.rng.random() < 0.7 else self.rng.choice(self.users)
        return None if other["id"] == self.me["id"] else other

    def follow(self):
        other = self.other()
        if other is None:
            return None
        verb = "DELETE" if other["id"] in self.following else "POST"
        status = self.client(verb, f"/api/users/{other['id']}/follow/")[0]
        if status == 200:
            self.following.symmetric_difference_update({other["id"]})
        return status

    def block(self):
        other = self.other()
        if other is None:
            return None
        verb = "DELETE" if other["id"] in self.blocked else "POST"
        status = self.client(verb, f"/api/users/{other['id']}/block/")[0]
        if status == 200:
            self.blocked.symmetric_difference_update({other["id"]})
            self.following.discard(other["id"])  # a block ends the follows
        return status

    def _toggle(self, verb, done):
        if not self.posts:
            return None
        post_id = self.rng.choice(self.posts[-200:])
        method = "DELETE" if post_id in done else "POST"
        status = self.client(method, f"/api/posts/{post_id}/{verb}/")[0]
        if status == 200:
            done.symmetric_difference_update({post_id})
        return status  # 404 once the post (or its account) was deleted; 403 across a block

    def like(self):
        return self._toggle("like", self.liked)

    def repost(self):
        return self._toggle("repost", self.reposted)

    def delete_account(self):
        """Delete this writer's account (everything it made goes with it), then sign up a new
        one in its place: the others go on acting on the old one and its posts meanwhile."""
        status = self.client("DELETE", "/api/users/me/", {"password": PASSWORD})[0]
        if status != 204:
            return status
        self.statuses["delete_account", status] += 1
        self.client.close()
        self.generation += 1
        name = f"writer{self.index}g{self.generation}"
        account = sign_up(Client(self.port), name)
        self.statuses["sign_up", 201 if account else 0] += 1
        if account is None:
            self.stop.set()
            return None
        self.me = self.users[self.index] = account
        self.client = Client(self.port, account["token"])
        self.created = 0
        self.mine, self.following, self.liked, self.reposted, self.blocked = [], set(), set(), set(), set()
        return None


def sign_up(client, name):
    """A new account, logged in: {id, username, token}, or None."""
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    status, profile = client("POST", "/api/users/", body)
    if status != 201:
        return None
    status, tokens = client("POST", "/api/token/", {"username": name, "password": PASSWORD})
    if status != 200:
        return None
    return {"id": profile["id"], "username": name, "token": tokens["access"]}


def scalar(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def metric(port, name):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    match = re.search(rf"(?m)^{re.escape(name)} (\S+)$", text)
    return float(match.group(1)) if match else None


def start_server(ini, env, port, logdir):
    log = open(Path(logdir) / "pserve.log", "w")
    child = subprocess.Popen(
        [str(Path(sys.executable).parent / "pserve"), ini],
        env={**env, "PORT": str(port)},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while Client(port)("GET", "/api/health/")[0] != 200:
        if time.monotonic() > deadline or child.poll() is not None:
            stop_groups([child])
            raise SystemExit(f"the server did not start: see {logdir}/pserve.log")
        time.sleep(0.2)
    return child


def run(args):
    url = os.environ.get("DATABASE_URL", DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")
    ensure_database(url, drop_first=True)
    migrate.apply(url)
    redis.Redis.from_url(redis_url).flushdb()
    logdir = tempfile.mkdtemp(prefix="minitwitter-stress-")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48),
        "MEDIA_ROOT": str(Path(logdir) / "media"),
        "BCRYPT_ROUNDS": "4",  # sign-ups and logins are not what this measures
        "RATELIMIT_LOGIN": "1000000/1",
        "RATELIMIT_SIGNUP": "1000000/1",
        "RATELIMIT_WRITES": "1000000/1",
    }
    server = start_server(args.ini, env, args.port, logdir)
    try:
        client, users = Client(args.port), []
        for i in range(args.writers + args.writers % 2):  # partners in pairs
            account = sign_up(client, f"writer{i}")
            if account is None:
                raise SystemExit(f"sign up and log in as writer{i}: failed")
            users.append(account)
        retries_before = metric(args.port, "minitwitter_db_retries_total")
        db = psycopg2.connect(url)
        db.autocommit = True
        deadlocks_before = scalar(db, DEADLOCKS)
        stop, posts = threading.Event(), []
        writers = [Writer(i, users, args.port, posts, stop, args.seed) for i in range(len(users))]
        started = time.monotonic()
        for writer in writers:
            writer.start()
        time.sleep(args.seconds)
        stop.set()
        for writer in writers:
            writer.join()
        elapsed = time.monotonic() - started
        retries_after = metric(args.port, "minitwitter_db_retries_total")
        time.sleep(1)  # backends report statistics within a second of going idle
        scalar(db, "SELECT pg_stat_clear_snapshot()")
        report = {
            "date": datetime.date.today().isoformat(),
            "ini": args.ini,
            "writers": len(writers),
            "seconds": round(elapsed, 1),
            "statuses": collections.Counter(),
            "retries": None if retries_after is None else int(retries_after - (retries_before or 0)),
            "deadlocks": scalar(db, DEADLOCKS) - deadlocks_before,
            "counts_off": {table: scalar(db, sql) for table, sql in COUNTS_OFF.items()},
            "created": sum(w.created for w in writers),
            "deleted_accounts": sum(w.generation for w in writers),
            "posts_stored": scalar(db, "SELECT count(*) FROM posts"),
            "idempotency_keys": scalar(db, "SELECT count(*) FROM idempotency_keys"),
        }
        for writer in writers:
            report["statuses"].update(writer.statuses)
        db.close()
    finally:
        stop_groups([server])
    return report


def markdown(report, label):
    statuses = report["statuses"]
    requests = sum(statuses.values())
    errors = sum(n for (action, status), n in statuses.items() if status not in EXPECTED[action])
    actions = sorted({action for action, _ in statuses})
    codes = sorted({status for _, status in statuses})
    lines = [
        f"# Stress {report['date']}{f' ({label})' if label else ''}",
        "",
        f"`pserve {report['ini']}` (one process); {report['writers']} writers for {report['seconds']} s over "
        f"the same {len(TAGS)} hashtags, mutual follows, likes, reposts, replies and blocks, "
        f"{report['deleted_accounts']} accounts deleted (each signed up again) "
        "(tools/minitwitter_tools/stress.py).",
        "",
        "| requests | req/s | errors (5xx, no answer, undocumented) | retries | deadlocks (PostgreSQL) | counts off | "
        "creates 201 / posts stored / idempotency keys |",
        "|---|---|---|---|---|---|---|",
        f"| {requests:,} | {requests / report['seconds']:,.0f} | {errors} | "
        f"{'n/a' if report['retries'] is None else report['retries']} | {report['deadlocks']} | "
        f"{sum(report['counts_off'].values())} ({', '.join(f'{k} {v}' for k, v in report['counts_off'].items())}) | "
        f"{report['created']} / {report['posts_stored']} / {report['idempotency_keys']} |",
        "",
        "| action | " + " | ".join(str(c) for c in codes) + " |",
        "|---|" + "---|" * len(codes),
    ]
    for action in actions:
        lines.append(f"| {action} | " + " | ".join(str(statuses.get((action, c), 0)) for c in codes) + " |")
    lines += [
        "",
        "404s are actions on posts or accounts deleted meanwhile, 403s actions across a block (both documented); "
        "errors are 5xx, requests with no answer and any status the API does not document for the action. "
        "Creates count the posts and replies of the accounts still there (a deleted account's go with it).",
    ]
    return "\n".join(lines) + "\n", errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ini")
    parser.add_argument("--port", type=int, default=6610)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="", help="a word for the title and file name, e.g. before")
    parser.add_argument("--out", help="the report's path (default bench/results/stress-<date>[-label].md)")
    args = parser.parse_args(argv)
    report = run(args)
    text, errors = markdown(report, args.label)
    out = Path(args.out or f"bench/results/stress-{report['date']}{'-' + args.label if args.label else ''}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    exact = not any(report["counts_off"].values()) and (
        report["created"] == report["posts_stored"] == report["idempotency_keys"]
    )
    return 0 if errors == 0 and exact else 1


if __name__ == "__main__":
    sys.exit(main())
