"""Issue 26, class 4: every cached thing that shows an account, or a count its rows add to,
changes when the account is deleted (domain/accounts.py: delete_account; freshness.py).

One small world around dora: her posts, replies, likes, reposts, follows, blocks, mutes,
mentions of her, a repost of her post, bookmarks of it, notifications. Everyone reads every
list and page twice (so each is cached whole, in Redis and in the process), dora deletes her
account and a new account takes her name; then each answer must be what a fresh read gives:
the same URL read by a new app over an emptied Redis."""

import pytest
from conftest import PASSWORD, signup

# (reader, URL) pairs, {names} filled from the world; page_size=1 pages show a cached page
# of ids that still holds one of dora's rows (hydration drops the post, leaving the page
# short, where a fresh page holds the next row).
READS = [
    "/api/posts/{alices}/",
    "/api/posts/{alices}/likes/",
    "/api/posts/{bobs}/",
    "/api/posts/{carols}/",
    "/api/posts/{carols}/replies/",
    "/api/posts/{carols}/replies/?page_size=1",
    "/api/posts/{doras}/",
    "/api/posts/",
    "/api/posts/?page_size=1",
    "/api/users/{alice}/",
    "/api/users/{bob}/",
    "/api/users/{dora}/",
    "/api/users/{alice}/followers/",
    "/api/users/{alice}/following/",
    "/api/users/{bob}/following/",
    "/api/users/{alice}/posts/",
    "/api/users/{dora}/posts/",
    "/api/feed/",
    "/api/feed/?page_size=1",
    "/api/hashtags/shared/posts/",
    "/api/hashtags/shared/posts/?page_size=1",
    "/api/hashtags/doras/posts/",
    "/api/popular_hashtags/",
    "/api/favorite_hashtags/",
    "/api/favorite_hashtags/posts/",
    "/api/search/posts/?q=post",
    "/api/search/posts/?q=post&page_size=1",
    "/api/search/posts/?q=%23shared",
    "/api/search/posts/?q=post&order=relevance",
    "/api/search/users/?q=d",
    "/api/search/hashtags/?q=s",
    "/api/notifications/",
    "/api/notifications/unread_count/",
    "/api/bookmarks/",
    "/api/blocks/",
    "/api/mutes/",
]
READERS = ["alice", "bob", "carol", "kim", "mia"]


def act(app, user, method, path, **kw):
    return getattr(app, method)(path, headers=user.headers, **kw)


@pytest.fixture
def world(app, make_user):
    """dora and the accounts around her; returns (users by name, ids for READS)."""
    users = {name: make_user(name) for name in ("alice", "bob", "carol", "dora", "kim", "leo", "mia")}
    alice, bob, carol, dora = (users[n] for n in ("alice", "bob", "carol", "dora"))
    for follower, followee in [("alice", "dora"), ("dora", "alice"), ("bob", "dora"), ("carol", "bob"),
                               ("carol", "alice"), ("carol", "dora"), ("kim", "alice"), ("mia", "alice")]:  # fmt: skip
        act(app, users[follower], "post", f"/api/users/{users[followee]['id']}/follow/")
    alices = act(app, alice, "post_json", "/api/posts/", params={"text": "alice's post #shared, hi @dora"}).json
    carols = act(app, carol, "post_json", "/api/posts/", params={"text": "carol's post"}).json
    doras = act(app, dora, "post_json", "/api/posts/", params={"text": "dora's post #doras #shared"}).json
    act(app, dora, "post_json", "/api/posts/", params={"text": "dora's reply #shared", "in_reply_to": carols["id"]})
    act(app, bob, "post_json", "/api/posts/", params={"text": "bob's reply post", "in_reply_to": carols["id"]})
    bobs = act(app, bob, "post_json", "/api/posts/", params={"text": "bob's post about @dora"}).json
    for name, verb, post in [("dora", "like", alices), ("dora", "repost", alices), ("dora", "bookmark", alices),
                             ("bob", "repost", doras), ("bob", "like", doras), ("alice", "bookmark", doras),
                             ("carol", "bookmark", doras), ("alice", "like", doras)]:  # fmt: skip
        act(app, users[name], "post", f"/api/posts/{post['id']}/{verb}/")
    act(app, users["kim"], "post", f"/api/users/{dora['id']}/block/")
    act(app, dora, "post", f"/api/users/{users['leo']['id']}/block/")
    act(app, users["mia"], "post", f"/api/users/{dora['id']}/mute/")
    for name in ("alice", "carol", "dora"):
        act(app, users[name], "post", "/api/hashtags/doras/favorite/")
    ids = {name: user["id"] for name, user in users.items()}
    return users, {**ids, **{name: post["id"] for name, post in (("alices", alices), ("bobs", bobs),
                                                                   ("carols", carols), ("doras", doras))}}  # fmt: skip


def read(app, user, url):
    response = app.get(url, headers=user.headers, expect_errors=True)
    return response.status_int, response.json


def read_all(app, users, ids):
    return {(reader, url): read(app, users[reader], url.format(**ids)) for reader in READERS for url in READS}


def test_every_cached_read_forgets_a_deleted_account(app, make_app, redis_client, world):
    users, ids = world
    before = read_all(app, users, ids)
    assert read_all(app, users, ids) == before  # and now each is cached whole
    assert before[("alice", "/api/posts/{carols}/")][1]["replies_count"] == 2
    assert [m["username"] for m in before[("alice", "/api/posts/{bobs}/")][1]["mentions"]] == ["dora"]
    versions = {name: redis_client.get(f"v:safety:{ids[name]}") for name in ("kim", "leo", "mia")}

    act(app, users["dora"], "delete_json", "/api/users/me/", params={"password": PASSWORD}, status=204)
    newcomer = signup(app, "dora")  # her name, taken again: the old mentions are not hers
    after = read_all(app, users, ids)
    now = {name: redis_client.get(f"v:safety:{ids[name]}") for name in versions}

    redis_client.flushdb()
    fresh = read_all(make_app(), users, ids)
    stale = {key: (after[key], fresh[key]) for key in fresh if after[key] != fresh[key]}
    assert not stale, [*stale, next(iter(stale.values()))]  # (reader, URL)s, then the first (cached, fresh)
    assert fresh[("alice", "/api/posts/{carols}/")][1]["replies_count"] == 1
    assert fresh[("alice", "/api/posts/{bobs}/")][1]["mentions"] == [] and newcomer["id"] != ids["dora"]
    # The hidden sets that held her (cached, though not shown) were made stale too.
    assert all(now[name] != versions[name] for name in versions), (versions, now)
