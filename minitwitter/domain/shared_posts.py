"""Posts as every face reads them: the fields every viewer shares, cached under
freshness.post (the writes that change them bump it), and the viewer's own flags, read
from PostgreSQL under freshness.viewer. No write of its own: the native face's shapes
(api/hydration.py) and the Mastodon face's Status (mastodon/statuses.py) both read a page
of posts here, a page at a time (one query for the cache's misses, one for the flags).
"""

from minitwitter.domain import freshness, hashtags

NOT_MINE = {"liked": False, "reposted": False, "bookmarked": False}


def _shared(row):
    image = None
    if row["image_path"]:
        image = {
            "id": row["image_id"],
            "description": row["image_description"],
            "path": row["image_path"],
            "thumbnail_path": row["image_thumbnail_path"],
            "width": row["image_width"],
            "height": row["image_height"],
            "content_type": row["image_content_type"],
        }
    return {
        "id": row["id"],
        "author": {"id": row["author_id"], "username": row["author_username"]},
        "text": row["text"],
        "hashtags": hashtags.order_of_use(row["text"], row["hashtags"]),
        "image": image,
        "likes_count": row["likes_count"],
        "in_reply_to": row["in_reply_to"],
        "in_reply_to_author_id": row["in_reply_to_author_id"],
        "mentions": row["mentions"],
        "replies_count": row["replies_count"],
        "reposts_count": row["reposts_count"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat() if row["updated_at"] else None,
    }


def shared_posts(tx, ids, new=False):
    """{id: the shared fields} of the live posts among `ids` (cached; one query for the
    misses). A deleted or unknown post is missing from it. `new`: posts this transaction
    has just made, which no cache can hold yet (ids are never used twice): read from
    PostgreSQL without asking Redis (a write fills nothing: store/cache.py RequestCache)."""
    if not ids:
        return {}
    names = {i: freshness.post(i) for i in ids}
    found, versions = ({}, {}) if new else tx.cache.get_versioned(list(names.values()))
    missing = [i for i, name in names.items() if name not in found]
    if missing:
        fresh = {freshness.post(r["id"]): _shared(r) for r in tx.queries.posts.get_posts(tx.db, ids=missing)}
        tx.cache.set_versioned(fresh, versions)
        found.update(fresh)
    return {i: found[name] for i, name in names.items() if name in found}


def viewer_flags(tx, viewer_id, ids):
    """{id: {liked, reposted, bookmarked}} of `viewer_id` for these posts (NOT_MINE for a
    post absent from it), read from PostgreSQL: the response depends on freshness.viewer."""
    if not ids or viewer_id is None:
        return {}
    tx.cache.depend(freshness.viewer(viewer_id))
    rows = tx.queries.posts.viewer_flags(tx.db, user_id=viewer_id, ids=list(ids))
    return {r["post_id"]: r for r in rows}


def shared_reposts(tx, items):
    """{repost id: {id, post_id, user_id, created_at}} of these reposts (items: {key: the
    repost's id, post_id}), cached under their post's version (an undo or the post's delete
    bumps it); one query for the misses. A repost since undone is missing from it."""
    if not items:
        return {}
    names = {i["key"]: f"repost:{i['key']}" for i in items}
    found, versions = tx.cache.get_versioned(list(names.values()), [freshness.post(i["post_id"]) for i in items])
    missing = [key for key, name in names.items() if name not in found]
    if missing:
        fresh = {
            names[r["id"]]: {**r, "created_at": r["created_at"].isoformat()}
            for r in tx.queries.reposts.get_reposts(tx.db, ids=missing)
            if r["id"] in names
        }
        tx.cache.set_versioned(fresh, versions)
        found.update(fresh)
    return {key: found[name] for key, name in names.items() if name in found}
