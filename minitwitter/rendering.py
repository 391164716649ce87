"""Rows to the JSON shapes of API.md: posts (hydrated a page at a time) and profiles."""

PROFILE_FIELDS = ("id", "username", "created_at", "followers_count", "following_count", "posts_count")


def media_url(request, path):
    return f"{request.application_url}/media/{path}" if path else None


def post_json(request, row):
    image = None
    if row["image_path"]:
        image = {
            "url": media_url(request, row["image_path"]),
            "thumbnail_url": media_url(request, row["image_thumbnail_path"]),
            "width": row["image_width"],
            "height": row["image_height"],
            "content_type": row["image_content_type"],
        }
    return {
        "id": row["id"],
        "author": {"id": row["author_id"], "username": row["author_username"]},
        "text": row["text"],
        "hashtags": row["hashtags"],
        "image": image,
        "likes_count": row["likes_count"],
        "liked_by_me": row["liked_by_me"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def posts_by_ids(request, ids):
    """The live posts with these ids, in the order given (one query for the page)."""
    if not ids:
        return []
    rows = request.queries.posts.get_posts(request.db, ids=list(ids), viewer_id=request.authenticated_userid)
    by_id = {row["id"]: row for row in rows}
    return [post_json(request, by_id[i]) for i in ids if i in by_id]


def profile_json(row):
    profile = {field: row[field] for field in PROFILE_FIELDS}
    profile["followed_by_me"] = row["followed_by_me"]
    return profile
