"""minitwitter-populate <ini> --dataset d1 [--scale N] [--force]: the benchmark datasets.

Generates the deterministic dataset of docs/BENCH.md (numpy, fixed seed) and writes
it with COPY, in one transaction so a failure leaves the database as it was:

- TRUNCATE first (also what lets COPY FREEZE skip the later vacuum's freezing pass);
- drop the secondary indexes and rebuild them after the load (a sorted build is far
  cheaper than a million random inserts);
- disable the AFTER INSERT triggers (the count triggers and, as superuser, the foreign
  key checks): every count is computed in numpy and written with its row, and the rows
  are consistent by construction. BEFORE triggers (e.g. the search vector) stay on;
- reset the identity sequences, VACUUM ANALYZE, then check every materialized count
  against COUNT(*) ... GROUP BY and exit non-zero on any mismatch.

Every user's password is PASSWORD; its bcrypt hash is computed once, at the ini's cost.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass, replace
from functools import partial

import bcrypt
import numpy as np
import psycopg2
import psycopg2.extras
from pyramid.paster import get_appsettings
from tqdm import tqdm

from minitwitter import settings as settings_module
from minitwitter.domain import timelines
from minitwitter.scripts import migrate
from minitwitter.store.tx import Store
from minitwitter_tools import devservices
from minitwitter_tools.devservices import ensure_database

PASSWORD = "minitwitter bench password"
HEAVY_READER = "heavy_reader"
SEED = 20261121
TABLES = ["users", "hashtags", "posts", "post_hashtags", "follows", "likes"]
OTHER_TABLES = ["favorite_hashtags", "refresh_tokens", "images", "outbox"]
SYLLABLES = "ka lo mi nu pe ra si to vu be da fi go hu ja le mo ni pa qu re so ti va xe zo an el in or us".split()
US_PER_DAY = 86_400_000_000
CHUNK = 50_000


@dataclass(frozen=True)
class Dataset:
    users: int
    posts: int
    hashtags: int
    follows_per_user: int
    heavy_follows: int
    likes: int
    vocabulary: int = 20_000
    days: int = 365
    # Zipf exponent of who posts and who is followed: the larger, the longer the tail of
    # quiet accounts and the bigger the top ones.
    popularity: float = 0.9
    # D3's named readers (NAMED_READERS): a typical reader, a quiet reader following only
    # accounts that posted fewer than 10 times, a newcomer following nobody, and a celebrity
    # with this many followers. 0: only the heavy reader, as D1.
    celebrity_followers: int = 0
    typical_follows: int = 50
    quiet_follows: int = 2_000


DATASETS = {
    "d1": Dataset(users=10_000, posts=1_000_000, hashtags=5_000, follows_per_user=50, heavy_follows=5_000,
                  likes=2_000_000),
    # A million users, most of them quiet, and celebrities (docs/BENCH.md, D3).
    "d3": Dataset(users=1_000_000, posts=10_000_000, hashtags=50_000, follows_per_user=20, heavy_follows=5_000,
                  likes=20_000_000, popularity=1.1, celebrity_followers=500_000),
    "tiny": Dataset(users=200, posts=5_000, hashtags=100, follows_per_user=20, heavy_follows=150, likes=10_000),
    "d3tiny": Dataset(users=3_000, posts=20_000, hashtags=200, follows_per_user=10, heavy_follows=300,
                      likes=20_000, popularity=1.1, celebrity_followers=2_400, quiet_follows=200),
}  # fmt: skip
# D3's named readers are the last users, in this order (the heavy reader last, as in D1).
NAMED_READERS = ("typical", "quiet_reader", "newcomer", "celebrity", HEAVY_READER)


def zipf_p(rng, n, exponent):
    """Zipf probabilities over n ids, ranks shuffled so popularity is not id order."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return (weights / weights.sum())[rng.permutation(n)]


def pseudo_words(rng, count, exclude=()):
    """`count` distinct pronounceable words of 1 to 4 syllables."""
    seen, words = set(exclude), []
    while len(words) < count:
        for parts in rng.integers(0, len(SYLLABLES), size=(count, 4)):
            word = "".join(SYLLABLES[i] for i in parts[: 1 + parts[0] % 4])
            if word not in seen:
                seen.add(word)
                words.append(word)
    return words[:count]


def vocabularies(dataset):
    """(words most common first, hashtag names): the bench searches vocabulary[0] and [-1]."""
    rng = np.random.default_rng(SEED + 1)
    words = pseudo_words(rng, dataset.vocabulary)
    return words, pseudo_words(rng, dataset.hashtags, exclude=words)


def search_words(dataset=DATASETS["d1"]):
    words, _ = vocabularies(dataset)
    return words[0], words[-1]


def distinct(keys):
    """Sorted distinct values (np.unique hashes first: three times slower here)."""
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])]


def unique_pairs(rng, a, b, n):
    """(a, b) pairs without repeats or a == b, in random order: one int64 key per pair."""
    keys = distinct(a.astype(np.int64) * n + b)
    keys = keys[keys // n != keys % n]
    return rng.permutation(keys)


def generate(dataset, now_us):
    """Every numeric column, with the counts each row carries."""
    rng = np.random.default_rng(SEED)
    d, n = dataset, dataset.users
    popularity = zipf_p(rng, n, d.popularity)  # authors and followees alike
    named = _named(d)
    if named:  # the celebrity is the most popular account; the newcomer neither posts nor is followed
        top = int(np.argmax(popularity))
        popularity[[top, named["celebrity"]]] = popularity[[named["celebrity"], top]]
        popularity[named["newcomer"]] = 0
        popularity /= popularity.sum()
    g = {"now": now_us, "start": now_us - d.days * US_PER_DAY}
    step = d.days * US_PER_DAY / d.posts
    g["post_time"] = g["start"] + ((np.arange(d.posts) + rng.random(d.posts)) * step).astype(np.int64)
    g["author"] = rng.choice(n, d.posts, p=popularity)
    g["deleted"] = rng.random(d.posts) < 0.01
    tags = rng.choice(d.hashtags, (d.posts, 3), p=zipf_p(rng, d.hashtags, 1.0))
    tags[np.arange(3) >= rng.integers(0, 4, d.posts)[:, None]] = -1  # 0 to 3 tags per post
    tags[:, 1][tags[:, 1] == tags[:, 0]] = -1
    tags[:, 2][(tags[:, 2] == tags[:, 0]) | (tags[:, 2] == tags[:, 1])] = -1
    g["tags"] = tags
    live_tags = tags[~g["deleted"]]
    g["tag_count"] = np.bincount(live_tags[live_tags >= 0], minlength=d.hashtags)
    # Follows: ~follows_per_user distinct followees each, drawn by popularity; the heavy
    # reader (the last user) follows heavy_follows accounts.
    m = d.follows_per_user
    draws = unique_pairs(rng, np.repeat(np.arange(n - 1), 2 * m), rng.choice(n, (n - 1) * 2 * m, p=popularity), n)
    draws = draws[np.argsort(draws // n, kind="stable")]
    first = np.searchsorted(draws // n, np.arange(n - 1))
    draws = draws[np.arange(len(draws)) - first[draws // n] < m]  # the first m of each follower
    heavy_p = popularity[: n - 1] / popularity[: n - 1].sum()
    heavy = (n - 1) * n + rng.choice(n - 1, min(d.heavy_follows, n - 1), replace=False, p=heavy_p)
    follows = np.concatenate([draws, heavy])
    if named:
        follows = _named_follows(rng, d, named, follows, popularity, np.bincount(g["author"], minlength=n))
    follows = rng.permutation(follows)
    g["follower"], g["followee"] = follows // n, follows % n
    g["follow_time"] = np.sort(rng.integers(g["start"], now_us, len(follows)))
    g["followers"] = np.bincount(g["followee"], minlength=n)
    g["following"] = np.bincount(g["follower"], minlength=n)
    g["posts_count"] = np.bincount(g["author"][~g["deleted"]], minlength=n)
    # Likes: Zipf over posts, uniform over users, one per pair; drawn until there are enough.
    post_p, keys = zipf_p(rng, d.posts, 1.0), np.empty(0, np.int64)
    while len(keys) < d.likes:
        size = int((d.likes - len(keys)) * 1.3) + 100
        more = rng.choice(d.posts, size, p=post_p).astype(np.int64) * n + rng.integers(0, n, size)
        keys = distinct(np.concatenate([keys, more]))
    keys = rng.choice(keys, d.likes, replace=False)
    like_post = keys // n
    delay = rng.exponential(2 * US_PER_DAY, d.likes).astype(np.int64)
    like_time = np.minimum(g["post_time"][like_post] + delay, now_us - 1)
    order = np.argsort(like_time, kind="stable")  # like ids grow with time
    g["like_post"], g["like_user"], g["like_time"] = like_post[order], keys[order] % n, like_time[order]
    g["likes_count"] = np.bincount(like_post, minlength=d.posts)
    return g


def _named(dataset):
    """{name: 0-based user index} of D3's named readers, or {} (the heavy reader alone)."""
    if not dataset.celebrity_followers:
        return {}
    first = dataset.users - len(NAMED_READERS)
    return {name: first + i for i, name in enumerate(NAMED_READERS)}


def _named_follows(rng, d, named, follows, popularity, posts_by_author):
    """Replace the named readers' follows (int64 keys follower * n + followee) by their own:
    typical follows typical_follows accounts by popularity; the quiet reader quiet_follows
    accounts that posted fewer than 10 times; the newcomer nobody; the celebrity is followed
    by celebrity_followers ordinary users (those who drew it, topped up) and the heavy reader."""
    n = d.users
    ordinary = np.arange(n - len(NAMED_READERS))
    heavy = named[HEAVY_READER]
    keep = ~np.isin(follows // n, [named["typical"], named["quiet_reader"], named["newcomer"], named["celebrity"]])
    follows = follows[keep]
    p = popularity[ordinary] / popularity[ordinary].sum()
    typical = rng.choice(ordinary, d.typical_follows, replace=False, p=p)
    quiet_pool = ordinary[posts_by_author[ordinary] < 10]
    quiet = rng.choice(quiet_pool, min(d.quiet_follows, len(quiet_pool)), replace=False)
    # Top the celebrity's followers up to celebrity_followers (the popularity draws gave it some).
    drawn = np.isin(ordinary * n + named["celebrity"], follows)
    fans = rng.choice(ordinary[~drawn], max(0, d.celebrity_followers - int(drawn.sum())), replace=False)
    added = np.concatenate(
        [
            named["typical"] * n + typical,
            named["quiet_reader"] * n + quiet,
            fans * n + named["celebrity"],
            [heavy * n + named["celebrity"]],  # the heavy reader follows the celebrity too
        ]
    ).astype(np.int64)
    return distinct(np.concatenate([follows, added]))


def timestamps(us):
    return np.datetime_as_string(np.asarray(us).astype("datetime64[us]"), timezone="UTC")


def post_rows(dataset, g, rng):
    """The posts table in COPY text format: 40 to 280 characters of words, then the #tags."""
    words, tag_names = vocabularies(dataset)
    words, tag_names = np.array(words, dtype=object), np.array(tag_names, dtype=object)
    word_p = np.arange(1, len(words) + 1, dtype=np.float64) ** -1.0
    word_p /= word_p.sum()
    for lo in range(0, dataset.posts, CHUNK):
        hi = min(lo + CHUNK, dataset.posts)
        tags = g["tags"][lo:hi]
        tag_text = ["".join(f" #{tag_names[t]}" for t in row if t >= 0) for row in tags]
        want = rng.integers(52, 281, hi - lo) - np.array([len(t) for t in tag_text])
        corpus = " ".join(words[rng.choice(len(words), int(want.sum() / 3), p=word_p)])
        starts = np.concatenate([[0], np.cumsum(np.maximum(want, 30) + 1)[:-1]]).tolist()
        created, deleted = timestamps(g["post_time"][lo:hi]), g["deleted"][lo:hi]
        # Deleted within the last 12 days (after creation): before the purge job's 30.
        deleted_at = timestamps(g["now"] - (g["now"] - g["post_time"][lo:hi]) // 30)
        authors, likes = (g["author"][lo:hi] + 1).tolist(), g["likes_count"][lo:hi].tolist()
        lengths = np.maximum(want, 30).tolist()
        lines = []
        for i in range(hi - lo):
            a = corpus.find(" ", starts[i]) + 1
            body = corpus[a : corpus.rfind(" ", a, a + lengths[i])]
            gone = deleted_at[i] if deleted[i] else r"\N"
            lines.append(f"{lo + i + 1}\t{authors[i]}\t{body}{tag_text[i]}\t{created[i]}\t{gone}\t{likes[i]}\n")
        yield "".join(lines), hi - lo


def post_hashtag_rows(dataset, g):
    """Links of live posts only, in post order (a soft-deleted post has none)."""
    for lo in range(0, dataset.posts, CHUNK * 4):
        hi = min(lo + CHUNK * 4, dataset.posts)
        tags, posts = g["tags"][lo:hi].ravel(), np.repeat(np.arange(lo, hi), 3)
        keep = (tags >= 0) & ~g["deleted"][posts]
        rows = zip((tags[keep] + 1).tolist(), (posts[keep] + 1).tolist(), strict=True)
        yield "".join(f"{t}\t{p}\n" for t, p in rows), hi - lo


def edge_rows(a, b, times):
    """(id, a, b, created_at) rows of two id columns (0-based in numpy), ids from 1."""
    for lo in range(0, len(a), CHUNK * 4):
        hi = min(lo + CHUNK * 4, len(a))
        columns = (range(lo + 1, hi + 1), (a[lo:hi] + 1).tolist(), (b[lo:hi] + 1).tolist(), timestamps(times[lo:hi]))
        yield "".join(f"{i}\t{x}\t{y}\t{t}\n" for i, x, y, t in zip(*columns, strict=True)), hi - lo


def user_rows(dataset, g, password_hash):
    created = timestamps(g["start"] - 30 * US_PER_DAY + np.arange(dataset.users) * 60_000_000)
    lines = []
    names = {index: name for name, index in _named(dataset).items()} or {dataset.users - 1: HEAVY_READER}
    for i in range(dataset.users):
        name = names.get(i) or f"user{i + 1:05d}"
        counts = f"{g['followers'][i]}\t{g['following'][i]}\t{g['posts_count'][i]}"
        lines.append(f"{i + 1}\t{name}\t{name}@example.com\t{password_hash}\t{created[i]}\t{counts}\n")
    yield "".join(lines), dataset.users


class ChunkFile:
    """A file for copy_expert whose read() returns the next generated chunk: PostgreSQL
    parses one chunk while Python builds the next."""

    def __init__(self, chunks, bar):
        self.chunks, self.bar = chunks, bar

    def read(self, size=-1):
        for text, count in self.chunks:
            self.bar.update(count)
            return text
        return ""


def copy(cur, table, columns, chunks, total):
    with tqdm(total=total, desc=f"copy {table}", unit=" rows", unit_scale=True, leave=True) as bar:
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FREEZE)", ChunkFile(chunks, bar))


def secondary_indexes(cur):
    """Indexes that back no constraint (so neither a key nor a foreign key needs them)."""
    cur.execute(
        """SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = indexrelid)""",
        (TABLES,),
    )
    return cur.fetchall()


def insert_triggers(cur):
    """Enabled AFTER INSERT triggers; internal ones (foreign keys) only for a superuser."""
    cur.execute(
        """SELECT tgrelid::regclass::text, tgname FROM pg_trigger
            WHERE tgrelid = ANY(%s::regclass[]) AND tgenabled <> 'D'
              AND tgtype & 4 = 4 AND tgtype & 2 = 0
              AND (NOT tgisinternal OR current_setting('is_superuser') = 'on')""",
        (TABLES,),
    )
    return cur.fetchall()


def load(conn, dataset, rounds, now_us=None):
    """Write the dataset in one transaction; return the seconds each phase took."""
    now_us = now_us or int(time.time() // 60 * 60) * 1_000_000
    times, t0 = {}, time.monotonic()
    g = generate(dataset, now_us)
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds)).decode()
    times["generate"] = time.monotonic() - t0
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute(f"TRUNCATE {', '.join(TABLES + OTHER_TABLES)} RESTART IDENTITY CASCADE")
        indexes, triggers = secondary_indexes(cur), insert_triggers(cur)
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        for table, trigger in triggers:
            cur.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"')
        t0 = time.monotonic()
        copy(cur, "users", "id, username, email, password_hash, created_at, followers_count, following_count, "
             "posts_count", user_rows(dataset, g, password_hash), dataset.users)  # fmt: skip
        _, tag_names = vocabularies(dataset)
        rows = ("".join(f"{i + 1}\t{name}\t{g['tag_count'][i]}\n" for i, name in enumerate(tag_names)), len(tag_names))
        copy(cur, "hashtags", "id, name, posts_count", iter([rows]), dataset.hashtags)
        rng = np.random.default_rng(SEED + 2)
        copy(cur, "posts", "id, author_id, text, created_at, deleted_at, likes_count",
             post_rows(dataset, g, rng), dataset.posts)  # fmt: skip
        copy(cur, "post_hashtags", "hashtag_id, post_id", post_hashtag_rows(dataset, g), dataset.posts)
        follows = edge_rows(g["follower"], g["followee"], g["follow_time"])
        copy(cur, "follows", "id, follower_id, followee_id, created_at", follows, len(g["follower"]))
        likes = edge_rows(g["like_post"], g["like_user"], g["like_time"])
        copy(cur, "likes", "id, post_id, user_id, created_at", likes, dataset.likes)
        times["copy"] = time.monotonic() - t0
        t0 = time.monotonic()
        for _, definition in tqdm(indexes, desc="create indexes", unit=" index"):
            cur.execute(definition)
        times["indexes"] = time.monotonic() - t0
        for table, trigger in triggers:
            cur.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{trigger}"')
        cur.execute(RECOUNT_POST_TOTALS)  # its trigger was off with the others
        # Each user's unread-notifications row (tgr_users_notification_state, off with the others).
        cur.execute("INSERT INTO notification_state (user_id) SELECT id FROM users")
        for table in ["users", "hashtags", "posts", "follows", "likes"]:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
    t0 = time.monotonic()
    conn.autocommit = True
    with conn.cursor() as cur:
        for table in tqdm(TABLES, desc="vacuum analyze", unit=" table"):
            cur.execute(f"VACUUM ANALYZE {table}")
    conn.autocommit = False
    times["vacuum"] = time.monotonic() - t0
    return times


RECOUNT_POST_TOTALS = """
UPDATE post_totals t SET live = coalesce(c.n, 0)
  FROM post_totals s
  LEFT JOIN (SELECT id % 16 AS slot, count(*) AS n FROM posts WHERE deleted_at IS NULL GROUP BY 1) c ON c.slot = s.slot
 WHERE t.slot = s.slot"""

# Each materialized count against a COUNT(*) GROUP BY: (name, table, column, key, counted rows).
COUNT_CHECKS = [
    ("users.posts_count", "users", "posts_count", "author_id", "posts WHERE deleted_at IS NULL"),
    ("users.followers_count", "users", "followers_count", "followee_id", "follows"),
    ("users.following_count", "users", "following_count", "follower_id", "follows"),
    ("posts.likes_count", "posts", "likes_count", "post_id", "likes"),
    ("hashtags.posts_count", "hashtags", "posts_count", "hashtag_id", "post_hashtags"),
]


def check_counts(conn):
    """{check: rows in error}; every value is 0 when the dataset is consistent."""
    result = {}
    with conn.cursor() as cur:
        for name, table, column, key, counted in tqdm(COUNT_CHECKS, desc="check counts", unit=" count"):
            cur.execute(
                f"""SELECT count(*) FROM {table} t
                      LEFT JOIN (SELECT {key} AS id, count(*) AS n FROM {counted} GROUP BY {key}) c ON c.id = t.id
                     WHERE t.{column} <> coalesce(c.n, 0)"""
            )
            result[name] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM post_hashtags x JOIN posts p ON p.id = x.post_id WHERE p.deleted_at IS NOT NULL"
        )
        result["post_hashtags of deleted posts"] = cur.fetchone()[0]
        cur.execute(
            "SELECT (SELECT sum(live) FROM post_totals) - (SELECT count(*) FROM posts WHERE deleted_at IS NULL)"
        )
        result["post_totals"] = abs(cur.fetchone()[0])
        cur.execute(
            "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM notification_state s WHERE s.user_id = u.id)"
        )
        result["users without notification_state"] = cur.fetchone()[0]
    conn.rollback()
    return result


def build_timelines(settings, names=(*NAMED_READERS, HEAVY_READER)):
    """Fill the named readers' home timelines, as their feed reads would (domain/timelines.py:
    the first read makes one, a read once it has settled fills it), so that a bench measures
    their feeds read from timelines. Other readers' are made by their own reads. Returns
    {username: entries}."""
    store, built = Store(settings), {}
    with store.begin() as tx:
        conn, queries = tx.db, tx.queries
        with conn.cursor() as cur:
            cur.execute("SELECT id, username, following_count FROM users WHERE username = ANY(%s)", (list(names),))
            for user in cur.fetchall():
                queries.timelines.mark(conn, user_id=user["id"])
                cur.execute(
                    "UPDATE home_timelines SET stale_since = now() - interval '1 day' WHERE user_id = %s", (user["id"],)
                )
                query = timelines.fill_plan(queries, user["following_count"], settings)
                newest = partial(query, conn, user_id=user["id"])
                timelines.fill(
                    tx, user["id"], lambda limit, f=newest: f(limit=limit), settings["feed.timeline_size"], 0
                )
                cur.execute("SELECT count(*) AS n FROM home_timeline WHERE user_id = %s", (user["id"],))
                built[user["username"]] = cur.fetchone()["n"]
    return built


def is_empty(conn):
    with conn.cursor() as cur:
        cur.execute(" UNION ALL ".join(f"(SELECT 1 FROM {t} LIMIT 1)" for t in TABLES))
        empty = cur.fetchone() is None
    conn.rollback()
    return empty


def populate(database_url, dataset, rounds, force=False, out=sys.stderr, settings=None):
    """Create and migrate the database if needed, load `dataset`, check; return the mismatches."""
    ensure_database(database_url)
    migrate.apply(database_url)
    conn = psycopg2.connect(database_url)
    try:
        if not force and not is_empty(conn):
            raise SystemExit("the database is not empty: pass --force to truncate it first")
        started = time.monotonic()
        times = load(conn, dataset, rounds)
        print(f"loaded in {time.monotonic() - started:.1f}s:", ", ".join(f"{k} {v:.1f}s" for k, v in times.items()),
              file=out)  # fmt: skip
        mismatches = check_counts(conn)
        settings = settings or settings_module.load({"database.url": database_url}, require_secret=False)
        built = build_timelines(settings)
        print(f"home timelines filled: {built}", file=out)
    finally:
        conn.close()
    for name, bad in mismatches.items():
        print(f"check {name}: {'ok' if not bad else f'{bad} rows WRONG'}", file=out)
    return {k: v for k, v in mismatches.items() if v}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ini", help="the ini file; DATABASE_URL overrides its database.url")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="d1")
    parser.add_argument("--scale", type=int, default=1, help="multiply posts and likes (--scale 10: D2)")
    parser.add_argument("--force", action="store_true", help="truncate a non-empty database first")
    args = parser.parse_args(argv)
    dataset = DATASETS[args.dataset]
    dataset = replace(dataset, posts=dataset.posts * args.scale, likes=dataset.likes * args.scale)
    environ = dict(os.environ)
    services = devservices.DevServices(environ.get("MINITWITTER_VAR", "var"))
    try:
        if devservices.requested(environ):  # as `make migrate`: the embedded PostgreSQL when none is configured
            services.start(environ, get_appsettings(args.ini), with_redis=False)
        settings = settings_module.from_ini(args.ini, environ=environ, require_secret=False)
        bad = populate(
            settings["database.url"], dataset, settings["bcrypt.rounds"], force=args.force, settings=settings
        )
    finally:
        services.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
