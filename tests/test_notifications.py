"""Notifications: made once per event in its transaction, never for one's own actions or
across a block or a mute; the unread count (a materialized counter) exact after every change."""

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from conftest import PASSWORD, assert_error, explain
from test_posts import create

from minitwitter.domain import notifications as domain

URL = "/api/notifications/"


def notifications(app, user, query=""):
    return app.get(URL + query, headers=user.headers).json


def unread(app, user):
    return app.get(URL + "unread_count/", headers=user.headers).json["count"]


def mark_read(app, user, up_to, status=204):
    return app.post_json(URL + "read/", {"up_to": up_to}, headers=user.headers, status=status)


def kinds(app, user):
    """(type, actor's username, post id) of each of the user's notifications, newest first."""
    return [
        (n["type"], n["actor"]["username"], n["post"] and n["post"]["id"]) for n in notifications(app, user)["results"]
    ]


def stored_unread(db, user):
    """The count as it should be, counted from the rows (what the endpoint must not do)."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM notifications n JOIN notification_state s ON s.user_id = n.recipient_id"
            " WHERE n.recipient_id = %s AND n.id > s.read_up_to",
            (user["id"],),
        )
        return cur.fetchone()[0]


def assert_unread(app, db, user, expected):
    assert unread(app, user) == expected == stored_unread(db, user)


def like(app, user, post_id):
    app.post(f"/api/posts/{post_id}/like/", headers=user.headers)


def follow(app, follower, followee):
    app.post(f"/api/users/{followee['id']}/follow/", headers=follower.headers)


def reply(app, user, parent_id, text="a reply"):
    return app.post_json("/api/posts/", {"text": text, "in_reply_to": parent_id}, headers=user.headers, status=201).json


def test_each_event_notifies_once_through_http(app, db, alice, bob):
    post = create(app, alice, "mine").json
    follow(app, bob, alice)
    like(app, bob, post["id"])
    app.post(f"/api/posts/{post['id']}/repost/", headers=bob.headers)
    answer = reply(app, bob, post["id"])
    mention = create(app, bob, "hello @ALICE and @nobody").json
    assert kinds(app, alice) == [
        ("mention", "bob", mention["id"]),
        ("reply", "bob", answer["id"]),
        ("repost", "bob", post["id"]),
        ("like", "bob", post["id"]),
        ("follow", "bob", None),
    ]
    first = notifications(app, alice)["results"][0]
    assert first["actor"]["id"] == bob["id"] and first["actor"]["followed_by_me"] is False
    assert first["read"] is False and first["post"]["text"] == "hello @ALICE and @nobody"
    assert_unread(app, db, alice, 5)
    assert kinds(app, bob) == [] and unread(app, bob) == 0  # the actor hears nothing


def test_repeats_add_nothing(app, db, alice, bob):
    post = create(app, alice).json
    for _ in range(2):  # like, unlike, like again; follow, unfollow, follow again; ...
        like(app, bob, post["id"])
        app.delete(f"/api/posts/{post['id']}/like/", headers=bob.headers)
        follow(app, bob, alice)
        app.delete(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
        app.post(f"/api/posts/{post['id']}/repost/", headers=bob.headers)
        app.delete(f"/api/posts/{post['id']}/repost/", headers=bob.headers)
    # An edit that keeps a mention, or drops it and names it again, adds none either.
    mention = create(app, bob, "hi @alice").json
    for text in ("hi @alice again", "nobody", "back @alice"):
        app.patch_json(f"/api/posts/{mention['id']}/", {"text": text}, headers=bob.headers)
    assert sorted(kinds(app, alice)) == [
        ("follow", "bob", None),
        ("like", "bob", post["id"]),
        ("mention", "bob", mention["id"]),
        ("repost", "bob", post["id"]),
    ]
    assert_unread(app, db, alice, 4)


def test_an_edit_that_adds_a_mention_notifies(app, db, alice, bob):
    post = create(app, bob, "nobody yet").json
    app.patch_json(f"/api/posts/{post['id']}/", {"text": "now @alice"}, headers=bob.headers)
    assert kinds(app, alice) == [("mention", "bob", post["id"])]


def test_my_own_actions_notify_nobody(app, db, alice):
    post = create(app, alice, "hi @alice").json  # mentioning myself
    like(app, alice, post["id"])
    app.post(f"/api/posts/{post['id']}/repost/", headers=alice.headers)
    reply(app, alice, post["id"], "me again @alice")
    assert kinds(app, alice) == []
    assert_unread(app, db, alice, 0)


def test_a_reply_naming_the_parents_author_notifies_them_once(app, db, alice, bob, make_user):
    carol = make_user("carol")
    post = create(app, alice).json
    answer = reply(app, bob, post["id"], "@alice @carol yes")
    assert kinds(app, alice) == [("reply", "bob", answer["id"])]
    assert kinds(app, carol) == [("mention", "bob", answer["id"])]


def block(db, blocker, blocked):
    with db.cursor() as cur:  # the blocks endpoints are another branch's: the table is enough
        cur.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES (%s, %s)", (blocker["id"], blocked["id"]))


def mute(db, muter, muted):
    with db.cursor() as cur:
        cur.execute("INSERT INTO mutes (muter_id, muted_id) VALUES (%s, %s)", (muter["id"], muted["id"]))


def act_on(app, actor, recipient, post_id):
    """Every event `actor` can cause `recipient`, about post_id (recipient's)."""
    follow(app, actor, recipient)
    like(app, actor, post_id)
    app.post(f"/api/posts/{post_id}/repost/", headers=actor.headers)
    reply(app, actor, post_id)
    create(app, actor, f"hey @{recipient['username']}")


@pytest.mark.parametrize("relation", ["blocked by recipient", "blocks recipient", "muted by recipient"])
def test_blocked_and_muted_actors_notify_nobody_and_their_old_notifications_go(app, db, alice, bob, relation):
    post = create(app, alice).json
    act_on(app, bob, alice, post["id"])  # before: five notifications
    assert len(kinds(app, alice)) == 5
    mark_read(app, alice, notifications(app, alice)["results"][2]["id"])  # three read, two unread
    assert_unread(app, db, alice, 2)
    {
        "blocked by recipient": lambda: block(db, alice, bob),
        "blocks recipient": lambda: block(db, bob, alice),
        "muted by recipient": lambda: mute(db, alice, bob),
    }[relation]()
    assert kinds(app, alice) == []  # gone from the list and the count
    assert_unread(app, db, alice, 0)
    if relation == "muted by recipient":  # a mute refuses nothing: every event again, none heard
        app.delete(f"/api/users/{alice['id']}/follow/", headers=bob.headers)
        act_on(app, bob, alice, create(app, alice).json["id"])
    else:  # a block refuses the rest (tests/test_safety.py); a mention is still written
        create(app, bob, f"hey @{alice['username']}")
    assert kinds(app, alice) == []
    assert_unread(app, db, alice, 0)


def test_a_mute_is_one_way_and_a_block_both_ways(app, db, alice, bob):
    mine, theirs = create(app, alice).json, create(app, bob).json
    mute(db, alice, bob)
    like(app, alice, theirs["id"])  # bob hears alice: he does not mute her
    like(app, bob, mine["id"])
    assert kinds(app, bob) == [("like", "alice", theirs["id"])] and kinds(app, alice) == []
    block(db, alice, bob)  # and alice's notification to bob goes too
    assert kinds(app, bob) == [] and unread(app, bob) == 0


def test_mentions_of_blocked_or_unknown_users_notify_no_one(app, db, alice, bob, make_user):
    carol = make_user("carol")
    block(db, carol, bob)
    create(app, bob, "hi @alice @carol @ghost")
    assert [k[0] for k in kinds(app, alice)] == ["mention"]
    assert kinds(app, carol) == []


def test_unread_count_after_reads_events_and_deletions(app, db, alice, bob, make_user):
    carol = make_user("carol")
    posts = [create(app, alice, f"p{i}").json["id"] for i in range(3)]
    for post_id in posts:
        like(app, bob, post_id)
        like(app, carol, post_id)
    assert_unread(app, db, alice, 6)
    ids = [n["id"] for n in notifications(app, alice)["results"]]  # newest first
    mark_read(app, alice, ids[3])  # the oldest three
    assert_unread(app, db, alice, 3)
    assert [n["read"] for n in notifications(app, alice)["results"]] == [False] * 3 + [True] * 3
    # A new event is unread; a deleted post's notifications leave the list and the count,
    # read or not.
    follow(app, carol, alice)
    assert_unread(app, db, alice, 4)
    app.delete(f"/api/posts/{posts[0]}/", headers=alice.headers, status=204)  # two read likes
    assert_unread(app, db, alice, 4)
    app.delete(f"/api/posts/{posts[2]}/", headers=alice.headers, status=204)  # two unread likes
    assert_unread(app, db, alice, 2)
    assert kinds(app, alice) == [("follow", "carol", None), ("like", "carol", posts[1]), ("like", "bob", posts[1])]
    # A deleted reply or mention goes too; the post replied to stays.
    answer = reply(app, bob, posts[1])
    assert_unread(app, db, alice, 3)
    app.delete(f"/api/posts/{answer['id']}/", headers=bob.headers, status=204)
    assert_unread(app, db, alice, 2)
    assert len(kinds(app, alice)) == 3
    # All read.
    mark_read(app, alice, notifications(app, alice)["results"][0]["id"])
    assert_unread(app, db, alice, 0)


def test_read_up_to_is_idempotent_never_goes_back_and_takes_any_id_as_a_bound(app, db, alice, bob, make_user):
    post = create(app, alice).json
    like(app, bob, post["id"])
    follow(app, bob, alice)
    older, newer = sorted(n["id"] for n in notifications(app, alice)["results"])
    mark_read(app, alice, newer)
    mark_read(app, alice, newer)  # again: nothing changes
    mark_read(app, alice, older)  # back: nothing changes
    assert_unread(app, db, alice, 0)
    assert all(n["read"] for n in notifications(app, alice)["results"])
    # An id that is not mine, or none at all, is a bound: my newest at or below it. So a
    # far-off id reads what I have and leaves what comes later unread.
    carol = make_user("carol")
    follow(app, carol, alice)
    mark_read(app, alice, 2**63 - 1)
    assert_unread(app, db, alice, 0)
    follow(app, carol, bob)
    bobs = notifications(app, bob)["results"][0]["id"]
    mark_read(app, bob, 1)  # none of bob's is that old
    assert_unread(app, db, bob, 1)
    create(app, carol, "hi @alice")
    assert_unread(app, db, alice, 1)
    assert notifications(app, alice)["results"][0]["read"] is False
    mark_read(app, alice, bobs)  # bob's is between alice's: alice's older ones stay read
    assert_unread(app, db, alice, 1)


@pytest.mark.parametrize("value", ["abc", True, 0, -1, 1.5, None, [1], "", 2**63])
def test_up_to_must_be_an_id(app, alice, value):
    response = app.post_json(URL + "read/", {"up_to": value}, headers=alice.headers, status=400)
    assert_error(response, 400, "up_to")


def test_up_to_is_required(app, alice):
    assert_error(app.post_json(URL + "read/", {}, headers=alice.headers, status=400), 400, "up_to")


def test_pages_newest_first_by_cursor_and_number(app, db, alice, make_user):
    fans = [make_user(f"fan{i}") for i in range(7)]
    for fan in fans:
        follow(app, fan, alice)
    seen, next_url = [], URL + "?page_size=3"
    while next_url:
        body = app.get(next_url, headers=alice.headers).json
        assert body["count"] is None
        seen += [n["actor"]["username"] for n in body["results"]]
        next_url = body["next"]
    assert seen == [f"fan{i}" for i in reversed(range(7))]
    third = notifications(app, alice, "?page=3&page_size=3")
    assert [n["actor"]["username"] for n in third["results"]] == ["fan0"] and third["previous"] is not None
    assert_error(app.get(URL + "?cursor=-1", headers=alice.headers, status=400), 400, "cursor")


def test_deleting_an_account_takes_its_notifications_both_ways(app, db, alice, bob, make_user):
    carol = make_user("carol")
    post, theirs = create(app, alice).json, create(app, bob).json
    act_on(app, bob, alice, post["id"])  # five to alice from bob
    like(app, carol, post["id"])  # one to alice from carol
    like(app, alice, theirs["id"])  # one to bob from alice
    follow(app, carol, bob)  # one to bob from carol
    follow(app, bob, carol)  # one to carol from bob
    assert_unread(app, db, carol, 1)
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=bob.headers, status=204)
    assert kinds(app, alice) == [("like", "carol", post["id"])]
    assert_unread(app, db, alice, 1)
    assert_unread(app, db, carol, 0)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM notifications WHERE %s IN (actor_id, recipient_id)", (bob["id"],))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM notification_state WHERE user_id = %s", (bob["id"],))
        assert cur.fetchone()[0] == 0


def test_the_deleted_accounts_posts_take_theirs(app, db, alice, bob):
    """A reply by alice to bob's post, and bob's post mentioning alice: bob's deletion takes
    both (the one alice wrote notified bob; the one bob wrote notified alice)."""
    theirs = create(app, bob, "hi @alice").json
    reply(app, alice, theirs["id"])
    assert len(kinds(app, alice)) == 1 and len(kinds(app, bob)) == 1
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=bob.headers, status=204)
    assert kinds(app, alice) == []
    assert_unread(app, db, alice, 0)


def test_auth_required(app):
    for response in (
        app.get(URL, status=401),
        app.get(URL + "unread_count/", status=401),
        app.post_json(URL + "read/", {"up_to": 1}, status=401),
    ):
        assert_error(response, 401)


def test_concurrent_likes_and_reads_keep_the_count_exact(app, db, alice, make_user):
    """Many likers at once, and alice reading meanwhile: the counter is what the rows say."""
    posts = [create(app, alice, f"p{i}").json["id"] for i in range(2)]
    fans = [make_user(f"fan{i}") for i in range(8)]
    last = {}

    def read_all():
        results = notifications(app, alice)["results"]
        if results:
            last["id"] = results[0]["id"]
            mark_read(app, alice, results[0]["id"])

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(like, app, fan, post_id) for fan in fans for post_id in posts]
        jobs += [pool.submit(read_all) for _ in range(4)]
        jobs += [pool.submit(block, db, alice, fans[0])]
        for job in jobs:
            job.result()
    assert unread(app, alice) == stored_unread(db, alice)
    assert len(kinds(app, alice)) == 14  # fans[0]'s likes went with the block, or never came


def test_the_unread_count_is_the_stored_counter(app, db, alice):
    """GET unread_count reads notification_state.unread (one row), counting no notification."""
    with db.cursor() as cur:
        cur.execute("UPDATE notification_state SET unread = 42 WHERE user_id = %s", (alice["id"],))
    assert unread(app, alice) == 42


def test_plans_use_their_indexes(app, db, wsgi_app):
    queries = wsgi_app.registry.queries.notifications
    page = {"user_id": 1, "before": 2**63 - 1, "offset": 0, "limit": 21}
    assert "Backward using idx_notifications_recipient_id_id" in explain(db, queries.list_notifications, page)
    assert "notification_state_pkey" in explain(db, queries.unread_count, {"user_id": 1})
    assert "idx_notifications_post_id" in explain(db, queries.delete_post_notifications, {"post_id": 1})


@pytest.mark.parametrize("first", ["notification", "block"])
def test_a_block_racing_a_notification_leaves_none_behind(app, db, services, wsgi_app, alice, bob, first):
    """Each side locks alice's counter row before its work, so the second waits for the
    first to commit and then sees what it wrote: the block's trigger deletes the notification
    written first, or the notification's check finds the block written first. Without the
    locks, neither sees the other (both uncommitted) and the notification stays."""
    notifier, blocker = wsgi_app.registry.store.begin(), psycopg2.connect(services["DATABASE_URL"])

    def notify_follow():
        domain.notify(notifier, "follow", bob["id"], [alice["id"]])
        return notifier

    def block_now():
        with blocker.cursor() as cur:
            cur.execute("INSERT INTO blocks (blocker_id, blocked_id) VALUES (%s, %s)", (alice["id"], bob["id"]))
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # its deferred trigger runs now
        return blocker

    one, other = (notify_follow, block_now) if first == "notification" else (block_now, notify_follow)
    try:
        held = one()  # uncommitted, holding alice's row
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(lambda: other().commit())
            time.sleep(0.3)
            waited = not second.done()  # for alice's row
            held.commit()
            second.result(timeout=10)
    finally:
        notifier.close()
        blocker.close()
    assert kinds(app, alice) == []
    assert_unread(app, db, alice, 0)
    assert waited
