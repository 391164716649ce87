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

Uploads ahead of a status (the Mastodon face's media, migration 0020):

- upload: store, then images.create_upload: a row with its description, pending (no post
  names it); its thumbnail in the outbox, as a post's image.
- describe: images.describe_upload, while it is pending (a status's image is not changed
  here, as on Mastodon).
- attach: a new post takes its author's pending upload (images.attach_upload, the row locked
  until the post commits), from posts.create; Invalid naming media_ids when it is not theirs,
  unknown, already in a status or gone.
- purge_unattached (beat job, tasks.py): images.purge_uploads, those still pending after
  UNATTACHED_HOURS, and their files.

Files are served only while their post is live, while they are an avatar or while they are a
pending upload (views/images.py); a purged post's files go with it (posts.purge_deleted).
"""

from functools import partial

from minitwitter.domain import Invalid, TooLarge, freshness
from minitwitter.domain.freshness import stales_nothing
from minitwitter.store import media

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
# An image's description (alternative text), as on Mastodon.
MAX_DESCRIPTION = 1500
# An upload no status took within this many hours is removed (purge_unattached).
UNATTACHED_HOURS = 24


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


def _columns(stored):
    """An images row's columns of a stored file (store's answer): a post's image, an upload."""
    return {
        "path": stored.path,
        "content_type": stored.content_type,
        "width": stored.width,
        "height": stored.height,
        "bytes": stored.bytes,
        "sha256": stored.sha256,
    }


@stales_nothing("an image shows in its post, whose own write makes it stale")
def save(tx, owner_id, stored, thumbnail=True):
    """The images row for a stored file; its thumbnail is made by a task after commit
    (a post's image; an avatar is shown at its own size)."""
    image_id = tx.queries.images.create_image(tx.db, owner_id=owner_id, **_columns(stored))
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


def description_problem(description):
    """What is wrong with an image's description, as a sentence; None when it is fine."""
    if len(description) > MAX_DESCRIPTION:
        return f"Must be at most {MAX_DESCRIPTION} characters"
    if "\x00" in description:
        return "Must not contain NUL"
    return None


@stales_nothing("an upload is in no post yet: nothing cached shows it")
def upload(tx, owner_id, fileobj, media_root, description=None, field="file"):
    """Store an upload that a status of its owner may take later (attach): its images row
    (the same checks and re-encoding as a post's image: store), pending; its thumbnail is made
    by a task. Returns the row as get_upload reads it."""
    stored = store(tx, fileobj, media_root, field=field)
    image_id = tx.queries.images.create_upload(tx.db, owner_id=owner_id, description=description, **_columns(stored))
    tx.enqueue_task("thumbnail", {"image_id": image_id})
    return tx.queries.images.get_upload(tx.db, image_id=image_id, owner_id=owner_id)


def pending(tx, owner_id, image_id):
    """The owner's upload that no status has taken, or None."""
    return tx.queries.images.get_upload(tx.db, image_id=image_id, owner_id=owner_id)


@stales_nothing("only a pending upload changes, which no cached thing shows")
def describe(tx, owner_id, image_id, description):
    """Set the description of the owner's pending upload: its row, or None when there is none."""
    return tx.queries.images.describe_upload(tx.db, image_id=image_id, owner_id=owner_id, description=description)


@stales_nothing("the image shows in the new post, whose create makes it stale")
def attach(tx, owner_id, image_id, field="media_ids"):
    """A new post of `owner_id` takes its pending upload `image_id` (locked until commit)."""
    if tx.queries.images.attach_upload(tx.db, image_id=image_id, owner_id=owner_id) is None:
        raise Invalid("No such media, or it is in a status already", field=field)
    return image_id


@stales_nothing("the uploads were in no post: nothing cached showed them")
def purge_unattached(tx, hours, batch, media_root):
    """Remove up to `batch` uploads no status took within `hours`, with their files (as
    remove_files does). Returns how many went."""
    rows = list(tx.queries.images.purge_uploads(tx.db, hours=hours, batch=batch))
    remove_files(tx, media_root, *[path for row in rows for path in (row["path"], row["thumbnail_path"]) if path])
    return len(rows)
