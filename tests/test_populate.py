"""minitwitter-populate: the tiny dataset loads into the test database with exact counts."""

import io

import bcrypt
import pytest

from minitwitter.domain import hashtags
from minitwitter_tools import populate


@pytest.fixture
def loaded(services, db):
    out = io.StringIO()
    mismatches = populate.populate(services["DATABASE_URL"], populate.DATASETS["tiny"], rounds=4, force=True, out=out)
    return mismatches, out.getvalue()


def fetch(db, sql):
    with db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_tiny_dataset_counts_are_exact(loaded, db):
    mismatches, report = loaded
    assert mismatches == {}, report
    assert "WRONG" not in report
    tiny = populate.DATASETS["tiny"]
    assert fetch(db, "SELECT count(*) FROM users") == [(tiny.users,)]
    assert fetch(db, "SELECT count(*) FROM posts") == [(tiny.posts,)]
    assert fetch(db, "SELECT count(*) FROM likes") == [(tiny.likes,)]
    # The check itself, independently: every materialized count equals its COUNT(*).
    assert fetch(db, "SELECT sum(posts_count) FROM users") == fetch(
        db, "SELECT count(*) FROM posts WHERE deleted_at IS NULL"
    )
    assert fetch(db, "SELECT sum(posts_count) FROM hashtags") == fetch(db, "SELECT count(*) FROM post_hashtags")
    assert fetch(db, "SELECT sum(likes_count) FROM posts") == [(tiny.likes,)]
    assert populate.check_counts(db) == dict.fromkeys(populate.check_counts(db), 0)


def test_heavy_reader_and_login_hash(loaded, db):
    [(following, password_hash)] = fetch(
        db, f"SELECT following_count, password_hash FROM users WHERE username = '{populate.HEAVY_READER}'"
    )
    assert following == populate.DATASETS["tiny"].heavy_follows
    assert bcrypt.checkpw(populate.PASSWORD.encode(), password_hash.encode())
    assert fetch(db, "SELECT count(DISTINCT password_hash) FROM users") == [(1,)]  # hashed once


def test_texts_match_hashtags_and_rules(loaded, db):
    links = {}
    for post_id, name in fetch(db, "SELECT post_id, name FROM post_hashtags JOIN hashtags h ON h.id = hashtag_id"):
        links.setdefault(post_id, []).append(name)
    for post_id, text, deleted_at in fetch(db, "SELECT id, text, deleted_at FROM posts"):
        assert 40 <= len(text) <= 280
        expected = [] if deleted_at else hashtags.parse(text)
        assert sorted(links.get(post_id, [])) == expected, (post_id, text)
    [(deleted,)] = fetch(db, "SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL")
    assert 0 < deleted < populate.DATASETS["tiny"].posts * 0.02
    # ids grow with time, and new rows get fresh ids
    older = "SELECT created_at < lag(created_at) OVER (ORDER BY id) AS back FROM posts"
    assert fetch(db, f"SELECT count(*) FROM ({older}) t WHERE back") == [(0,)]
    with db.cursor() as cur:
        cur.execute("INSERT INTO posts (author_id, text) VALUES (1, 'new #fresh') RETURNING id")
        assert cur.fetchone()[0] == populate.DATASETS["tiny"].posts + 1
        [(count,)] = fetch(db, "SELECT posts_count FROM users WHERE id = 1")
        assert populate.check_counts(db)["users.posts_count"] == 0  # triggers are back on
        assert count > 0


def test_refuses_a_non_empty_database(loaded, services):
    with pytest.raises(SystemExit, match="--force"):
        populate.populate(services["DATABASE_URL"], populate.DATASETS["tiny"], rounds=4, out=io.StringIO())


def test_deterministic():
    first = populate.generate(populate.DATASETS["tiny"], 10**15)
    second = populate.generate(populate.DATASETS["tiny"], 10**15)
    assert all((first[k] == second[k]).all() for k in ("author", "tags", "follower", "like_post"))
    common, rare = populate.search_words(populate.DATASETS["tiny"])
    assert common != rare


@pytest.fixture
def d3_shaped(services, db):
    """D3's shape at 1/300 of its size: named readers, quiet accounts, a celebrity."""
    out = io.StringIO()
    dataset = populate.DATASETS["d3tiny"]
    mismatches = populate.populate(services["DATABASE_URL"], dataset, rounds=4, force=True, out=out)
    return dataset, mismatches, out.getvalue()


def test_d3_named_readers(d3_shaped, db):
    dataset, mismatches, report = d3_shaped
    assert mismatches == {}, report
    users = dict(fetch(db, "SELECT username, id FROM users WHERE username NOT LIKE 'user%'"))
    assert sorted(users) == sorted(populate.NAMED_READERS)

    def one(sql, *args):
        with db.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()

    following = "SELECT following_count, followers_count, posts_count FROM users WHERE id = %s"
    assert one(following, users["typical"])[0] == dataset.typical_follows
    assert one(following, users["newcomer"]) == (0, 0, 0)
    # Its followers from the popularity draws, topped up to celebrity_followers, and the heavy reader.
    assert one(following, users["celebrity"])[1] in (dataset.celebrity_followers, dataset.celebrity_followers + 1)
    assert one(following, users["heavy_reader"])[0] >= dataset.heavy_follows
    # The quiet reader follows only accounts that posted fewer than 10 times (deleted posts too).
    quiet = one(following, users["quiet_reader"])[0]
    assert quiet == dataset.quiet_follows
    [(busiest,)] = fetch(
        db,
        f"""SELECT max(n) FROM (SELECT f.followee_id, count(p.id) AS n FROM follows f
                                 LEFT JOIN posts p ON p.author_id = f.followee_id
                                WHERE f.follower_id = {users["quiet_reader"]} GROUP BY 1) x""",
    )
    assert busiest < 10
    # The celebrity is the busiest author: a celebrity's post is what fan-out is measured on.
    [(top_author,)] = fetch(db, "SELECT author_id FROM posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    assert top_author == users["celebrity"]
