"""Post images: the stored file, its row, its thumbnail.

- files: where this deployment keeps them (settings media.store): `local`, files under
  media.root on this host; `postgres`, the media_files table, written in the transaction
  that writes the rows, so every host reaches them and they commit or roll back together.
- store: the upload validated and re-encoded into a file (minitwitter/store/media.py does
  the image work); the file exists only if its post does, so a rolled-back or retried
  request leaves none (PostgreSQL: the rollback; local: an after-rollback removal). A
  refused image is Invalid (TooLarge over the byte limit), naming the field `image`.
- remove_files: files whose rows this transaction deletes (PostgreSQL: in it; local:
  after its commit).
- save: images.create_image, in the post's transaction; the outbox gets a thumbnail task.
- make_thumbnail (the task, tasks.py): the thumbnail file, images.set_thumbnail; stale:
  the post's cached body, which had no thumbnail yet.

Files are served only while their post is live (views/images.py); a purged post's files
go with it (posts.purge_deleted).
"""

from functools import partial

from minitwitter.domain import Invalid, TooLarge, freshness
from minitwitter.domain.freshness import stales_nothing
from minitwitter.store import media

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


def files(tx, media_root):
    """Where media are kept (settings media.store): media.PostgresFiles in this transaction,
    or media.LocalFiles under media_root."""
    if tx.settings.get("media.store") == "postgres":
        return media.PostgresFiles(tx)
    return media.LocalFiles(media_root)


def store(tx, fileobj, media_root, field="image"):
    """Validate, re-encode and store an uploaded image (the input `field`): a media.StoredImage."""
    where = files(tx, media_root)
    try:
        stored = media.store_image(fileobj, where, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS)
    except media.ImageError as e:
        raise (TooLarge if e.code == 413 else Invalid)(e.message, field=field) from None
    if not where.transactional:
        tx.after_rollback(partial(where.delete, stored.path))
    return stored


def remove_files(tx, media_root, *paths):
    """The files of images rows this transaction deletes: with it in PostgreSQL, after its
    commit on a local disk (a rollback keeps them)."""
    where = files(tx, media_root)
    if where.transactional:
        where.delete(*paths)
    else:
        tx.after_commit(partial(where.delete, *paths))


@stales_nothing("an image shows in its post, whose own write makes it stale")
def save(tx, owner_id, stored, thumbnail=True):
    """The images row for a stored file; its thumbnail is made by a task after commit
    (a post's image; an avatar is shown at its own size)."""
    image_id = tx.queries.images.create_image(
        tx.db,
        owner_id=owner_id,
        path=stored.path,
        content_type=stored.content_type,
        width=stored.width,
        height=stored.height,
        bytes=stored.bytes,
        sha256=stored.sha256,
    )
    if thumbnail:
        tx.enqueue_task("thumbnail", {"image_id": image_id})
    return image_id


def make_thumbnail(tx, image_id, media_root):
    """Make an image's thumbnail: False when the image is gone (purged meanwhile)."""
    image = tx.queries.images.get_image(tx.db, image_id=image_id)
    if image is None:
        return False
    path = media.make_thumbnail(files(tx, media_root), image["path"])
    tx.queries.images.set_thumbnail(tx.db, image_id=image["id"], thumbnail_path=path)
    if image["post_id"]:  # the post shows thumbnail_url once it exists
        tx.stale(freshness.post(image["post_id"]))
    return True
