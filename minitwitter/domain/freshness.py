"""What is cached in Redis, and which write invalidates it.

Each cached thing has a version name; the write that changes it bumps that version
after its commit (cache.py explains why that is race-free). A write declares the versions
it makes stale with tx.stale(name, ...) (store/tx.py bumps them all, once, right after the
commit), or declares that it makes none stale, and why, with @stales_nothing("...");
tests/test_freshness.py walks every domain function that writes and fails on one that
does neither. Viewer-specific fields (liked_by_me, followed_by_me) are never in a shared
entry. A version lives in Redis for an hour after its last bump or fill (store/cache.py:
VERSION_TTL) and may be evicted sooner; one that vanished is made afresh at a value no
entry was made at, so a name never bumped, expired or evicted costs a miss, never a stale
read.

| cached                      | version name        | bumped by                              |
|-----------------------------|---------------------|----------------------------------------|
| a post's shared fields      | post:<id>           | edit, delete, like, unlike, thumbnail, |
|                             |                     | repost, unrepost, a reply or its delete|
|                             |                     | (**)                                   |
| ids of a page of replies    | replies:<id>        | a reply to the post, its delete (**)   |
| a profile's shared fields   | user:<id>           | follows (both), posts, profile edits, a deletion (**) |
| ids of a page of all posts  | posts:all           | post, delete                           |
| ids of a page of a user's   | posts:user:<id>     | their post, delete, repost, unrepost,  |
| posts (Mastodon: and reposts)|                    | a reposted post's delete (**)          |
| ids of a page of a tag's    | posts:tag:<name>    | post, edit, delete with that tag       |
| ids of a page of a feed     | feed:<id>           | follow/unfollow, a followee's post/delete, |
| (from the home timeline or  |                     | repost/unrepost, a reposted post's delete (*), |
| a pull plan)                |                     | a timeline task's commit (***), (**)   |
| popular hashtags            | popular_hashtags    | any post, edit or delete with tags     |
| a tag's row (posts_count)   | posts:tag:<name>    | (as its pages)                         |
| pages of search results     | posts:search        | any post, edit, delete                 |
| the viewer's likes, follows,| viewer:<id>         | their like, unlike, follow, unfollow,  |
| reposts and bookmarks       |                     | repost, unrepost, bookmark, unbookmark |
| the viewer's hidden set     | safety:<id>         | a block or unblock either way, their   |
| (domain/safety.py)          |                     | mute or unmute (**)                    |
| the accounts hidden from    | suspended           | a suspension, a lift, an approval, a   |
| users: suspended or waiting |                     | rejection (moderation.py), a sign-up   |
| (domain/profiles.suspended) |                     | waiting for approval (accounts.py)     |
| the account's access tokens | session:<id>        | a suspension (moderation.py), a        |
|                             |                     | password change or reset, a deletion   |
|                             |                     | (accounts.py) (****)                   |
| each process trusts         |                     |                                        |

The hidden set (accounts a viewer blocks, that block them, that they mute) is read by
every list of posts and single post a viewer reads, so their whole responses depend on
safety:<id>: a block or a mute takes their cached responses out at once (a block: both
sides'). A viewer who hides nobody reads the shared pages above; one who does reads their
own pages from PostgreSQL under the list's version (domain/safety.viewer_page).

(**) An account deleted (domain/accounts.delete_account) bumps what each of its rows was in,
whoever reads it:
- posts: each post it liked or reposted (likes_count, reposts_count), each post it replied
  to (replies_count) and that post's replies, each post that mentioned it (`mentions`: a
  new account of the same name is not the one they named), and its own posts;
- lists: its posts' tags' lists (and their rows' posts_count) and popular hashtags, all posts,
  search, its own posts;
- feeds: its followers' (its posts and reposts), and those of the followers of each account
  that reposted one of its posts (the reposts go with the posts): feeds_changed, inline or
  through the fan-out task;
- profiles: everyone on the other side of its follows (followers_count, following_count);
- hidden sets: everyone on the other side of its blocks, either way, and who muted it.
Lists read from PostgreSQL on each request (followers, following, likers, bookmarks,
notifications, blocks, mutes, search of users and tags) take their counts and posts from
the entries above.

A suspension or its lift bumps `suspended` (and the account's profile): every response
that read the suspended set (every list of posts, each post and profile by id) depends on
it, and the shared pages of the lists are named after the set they left out (safety.
viewer_page), so the account's posts, reposts and profile leave (and come back to) every
list, feed and search at once, without a bump per list. Nothing else changes: its
follows, likes and counts stay.

viewer:<id> covers no entry of its own: whole responses (response_cache.py) depend on it
because liked_by_me, reposted_by_me, bookmarked_by_me and followed_by_me, read from
PostgreSQL, are in them. A repost is to its reposter's followers' feeds what a post is
to its author's: timelines.feeds_changed(reposter), inline or through the fan-out task.

(*) The one write whose bumps grow with the data: a post by an author with F followers
changes F feeds. Up to fanout.inline_followers of them are bumped by the request, after
its commit; past that the request only writes a `fanout` task to the outbox, and a
worker bumps them all in batches (tasks.fanout, on the `fanout` queue). So a post costs
the same whoever writes it, the author reads their own post at once everywhere (their
own lists and profile are bumped by the request; their feed does not hold it), and
followers of a popular author see it once the worker is through (bench/results/fanout-*).

(***) The same write changes the followers' home timelines (domain/timelines.py): for up to
fanout.inline_followers followers the request writes them in its own transaction (so the
feed version bumped after its commit covers them); past that it writes a `timeline` task
beside the `fanout` one (none for a post of an author known to be pulled, whose posts no
timeline holds: tasks.timeline, on the `timelines` queue), whose transaction writes
the entries and which bumps, after its commit, the feeds of the readers it wrote to: a read
between the `fanout` task's bumps and that commit may have cached a page without the entry.
A feed read that makes or fills its reader's timeline writes nothing the page shows
differently, so it bumps nothing.

(****) session:<id> covers no entry: every API process hears its bump through the near
cache's tracking connection (web/near_cache.py) and stops trusting the account's access
tokens it had verified (credentials.Tokens.remembered), so a suspension, a password change
or reset and a deletion stop them in every process at once, not within
jwt.recheck_seconds. Without that connection (Redis Cluster, `response_cache.local_entries
= 0`, a broken connection) a process rechecks within jwt.recheck_seconds.
"""

POPULAR = "popular_hashtags"
SUSPENDED = "suspended"
ALL_POSTS = "posts:all"
SEARCH = "posts:search"
MAX_ID = 2**63 - 1


def post(post_id):
    return f"post:{post_id}"


def profile(user_id):
    return f"user:{user_id}"


def user_posts(user_id):
    return f"posts:user:{user_id}"


def tag_posts(name):
    return f"posts:tag:{name}"


def replies(post_id):
    return f"replies:{post_id}"


def feed(user_id):
    return f"feed:{user_id}"


def session(user_id):
    return f"session:{user_id}"


def viewer(user_id):
    return f"viewer:{user_id}"


def safety(user_id):
    return f"safety:{user_id}"


def stales_nothing(why):
    """Declare that a write makes no cached version stale, and why: every domain function
    that writes either makes its versions stale (tx.stale(...), store/tx.py, in its body or
    a helper's) or says so with this decorator (tests/test_freshness.py walks them all)."""

    def declare(write):
        write.stales_nothing = why
        return write

    return declare


def cached_page(tx, version_name, page, compute, name=None):
    """The rows (keys) of one page of a list, cached under the list's version (and under
    `name` when the version's name does not tell the list)."""
    name = f"{name or version_name}:{page.before}:{page.offset}:{page.limit}"
    return tx.cache.cached(name, lambda: list(compute()), version_name=version_name)
