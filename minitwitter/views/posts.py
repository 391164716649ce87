"""Posts: create, read, edit and soft-delete (owner only), and the post lists."""

from cornice import Service
from cornice.validators import colander_body_validator, colander_validator

from minitwitter import freshness, hashtags, idempotency, schemas
from minitwitter.errors import http_error
from minitwitter.freshness import bump_after_commit, cached_page
from minitwitter.pagination import PageSchema, envelope, read_page
from minitwitter.rendering import posts_by_ids, shared_profile
from minitwitter.responses import cached_response
from minitwitter.views import images

posts = Service(name="posts", path="/api/posts", description="All posts; create (older clients also edit, delete)")
post = Service(name="post", path=r"/api/posts/{id:\d+}", description="One post")
user_posts = Service(name="user_posts", path=r"/api/users/{id:\d+}/posts", description="A user's posts")


@posts.post(schema=schemas.PostBody(), validators=(colander_body_validator,))
def create_post(request):
    text = request.validated["text"]
    replay = idempotency.begin(request, text)  # a retry with the same Idempotency-Key
    if replay is not None:
        return replay
    stored = images.store_upload(request)  # the optional multipart `image`, re-encoded (removed on rollback)
    me = request.authenticated_userid
    image_id = images.save(request, stored) if stored else None
    created = request.queries.posts.create_post(request.db, author_id=me, text=text, image_id=image_id)
    post_id = created["id"]
    tags = _tag(request, post_id, text)
    _lists_changed(request, me, tags)
    request.response.status = 201
    post = posts_by_ids(request, [post_id], liked=set())[0]  # nobody has liked it yet
    idempotency.finish(request, 201, post)
    return post


@posts.get(schema=PageSchema(), validators=(colander_validator,))
@cached_response
def list_posts(request):
    page = read_page(request)
    rows = cached_page(
        request, freshness.ALL_POSTS, page, lambda: request.queries.posts.list_posts(request.db, **page.params)
    )
    return envelope(request, page, rows, posts_by_ids(request, [r["key"] for r in rows[: page.size]]))


@user_posts.get(schema=schemas.IdPageSchema(), validators=(colander_validator,))
@cached_response
def list_user_posts(request):
    user_id = request.validated["path"]["id"]
    author = shared_profile(request, user_id)
    if author is None:
        raise http_error(404, "No such user")
    page = read_page(request)
    rows = cached_page(
        request,
        freshness.user_posts(user_id),
        page,
        lambda: request.queries.posts.list_user_posts(request.db, author_id=user_id, **page.params),
    )
    results = posts_by_ids(request, [r["key"] for r in rows[: page.size]])
    return envelope(request, page, rows, results, count=author["posts_count"])


@post.get(schema=schemas.IdPathSchema(), validators=(colander_validator,))
@cached_response
def get_post(request):
    found = posts_by_ids(request, [request.validated["path"]["id"]])
    if not found:
        raise http_error(404, "No such post")
    return found[0]


@post.put(schema=schemas.PostEditSchema(), validators=(colander_validator,))
@post.patch(schema=schemas.PostEditSchema(), validators=(colander_validator,))
def edit_post(request):
    return _edit(request, request.validated["path"]["id"], request.validated["body"]["text"])


@posts.put(schema=schemas.CompatEditBody(), validators=(colander_body_validator,))
def edit_post_compat(request):
    return _edit(request, request.validated["id_post"], request.validated["text"])


@post.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def delete_post(request):
    _delete(request, request.validated["path"]["id"])
    request.response.status = 204
    return None


@posts.delete(schema=schemas.CompatDeleteBody(), validators=(colander_body_validator,))
def delete_post_compat(request):
    _delete(request, request.validated["id_post"])
    return {"success": True}


def _owned_post(request, post_id):
    """The live post, locked for this transaction, if the caller wrote it: else 404 / 403."""
    row = request.queries.posts.get_post_for_update(request.db, post_id=post_id)
    if row is None or row["deleted_at"] is not None:
        raise http_error(404, "No such post")
    if row["author_id"] != request.authenticated_userid:
        raise http_error(403, "Only the author may change this post")
    return row


def _edit(request, post_id, text):
    _owned_post(request, post_id)
    request.queries.posts.update_text(request.db, post_id=post_id, text=text)
    tags = _tag(request, post_id, text)
    bump_after_commit(request, freshness.post(post_id), freshness.SEARCH, *_tag_names(tags))
    return posts_by_ids(request, [post_id])[0]


def _delete(request, post_id):
    row = _owned_post(request, post_id)
    request.queries.posts.soft_delete(request.db, post_id=post_id)
    # Its hashtags stop counting at once: the links go, tgr_post_hashtags_count follows.
    tags = _tag(request, post_id, "")
    bump_after_commit(request, freshness.post(post_id))
    _lists_changed(request, row["author_id"], tags)


def _tag(request, post_id, text):
    """Link the post to exactly the tags of its text (none for a delete); returns the
    names whose lists changed."""
    rows = request.queries.hashtags.tag_post(request.db, post_id=post_id, names=hashtags.parse(text))
    return sorted(r["name"] for r in rows)


def _tag_names(tags):
    return [freshness.tag_posts(t) for t in tags] + ([freshness.POPULAR] if tags else [])


def _lists_changed(request, author_id, tags):
    """A post appeared or went: every list and count that holds it is stale."""
    names = [freshness.ALL_POSTS, freshness.SEARCH, freshness.user_posts(author_id), freshness.profile(author_id)]
    bump_after_commit(request, *names, *_tag_names(tags))
    freshness.feeds_changed(request, author_id)
