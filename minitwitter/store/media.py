"""Post images: validate, re-encode, store, thumbnail. No web framework; the database only
as a place to keep files (PostgresFiles).

Uploads are hostile until re-encoded: the type is what Pillow decodes, never the
client's name or Content-Type; the pixels are decoded in full and written out again,
so metadata (EXIF, GPS, comments, text chunks) and anything smuggled around the image
never reach the disk. Files get random names under media_root and are written
atomically, so a reader never sees half a file.

Where the files go (settings media.store): LocalFiles, a directory on this host (one
machine: `make run`), or PostgresFiles, a table the transaction writes (several machines:
every host reaches it, the replicas serve it, pg_dump backs it up). Every function here that
takes `files` also takes a directory path, meaning LocalFiles there.

Polyglots: a PNG, GIF or WebP must end exactly where its structure ends, and a JPEG
must end with its EOI marker (NUL padding allowed); anything appended (HTML, a zip)
is a 400. Re-encoding would drop it anyway; rejecting says so to the client.

Animated GIF, WebP and PNG keep their first frame only.
"""

import hashlib
import io
import os
import secrets
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psycopg2
from PIL import Image, ImageOps

# Pillow format -> (content type, extension). MPO is a JPEG with extra pictures after it.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
SAVE_OPTIONS = {"JPEG": {"quality": 85}, "PNG": {"optimize": True}, "GIF": {}, "WEBP": {"quality": 85}}


class ImageError(Exception):
    """An upload refused: code 400 (not an acceptable image) or 413 (too large)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StoredImage:
    path: str  # relative to media_root, e.g. "ab/ab12....jpg"
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str


class LocalFiles:
    """Files under a directory of this host, written atomically; not transactional (the
    domain removes a rolled-back upload's file itself)."""

    transactional = False

    def __init__(self, root):
        self.root = root

    def put(self, path, data):
        _write_atomic(absolute(self.root, path), data)

    def get(self, path):
        """The file's bytes, or None."""
        try:
            return absolute(self.root, path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def exists(self, path):
        return absolute(self.root, path).is_file()

    def delete(self, *paths):
        """Missing files and None are fine (deletes may be retried)."""
        for path in paths:
            if path is not None:
                absolute(self.root, path).unlink(missing_ok=True)


class PostgresFiles:
    """Files in the media_files table, written and deleted by the transaction `tx`
    (store/tx.py): they commit or roll back with the rows that name them."""

    transactional = True

    def __init__(self, tx):
        self.tx = tx

    def put(self, path, data):
        self.tx.queries.media_files.put_file(self.tx.db, path=path, data=psycopg2.Binary(data))

    def get(self, path):
        data = self.tx.queries.media_files.get_file(self.tx.db, path=path)
        return None if data is None else bytes(data)

    def exists(self, path):
        return self.tx.queries.media_files.has_file(self.tx.db, path=path)

    def delete(self, *paths):
        paths = [path for path in paths if path is not None]
        if paths:
            self.tx.queries.media_files.delete_files(self.tx.db, paths=paths)


def _files(files):
    return files if hasattr(files, "put") else LocalFiles(files)


def store_image(fileobj, files, *, max_bytes=5 * 1024 * 1024, max_pixels=40_000_000) -> StoredImage:
    """Validate and re-encode an uploaded image, store it under a random name in `files`
    (LocalFiles, PostgresFiles, or a directory)."""
    data = _read_at_most(fileobj, max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageError(413, f"The image is over {max_bytes} bytes")
    if not data:
        raise ImageError(400, "The image is empty")
    img = _decode(data, max_pixels)
    fmt = "JPEG" if img.format == "MPO" else img.format
    if _has_trailing_data(data, fmt):
        raise ImageError(400, "The image has data after its end")
    content_type, ext = FORMATS[fmt]
    img = _reencodable(img, fmt)
    encoded = _encode(img, fmt)
    name = secrets.token_hex(16)
    path = f"{name[:2]}/{name}.{ext}"
    _files(files).put(path, encoded)
    return StoredImage(path, content_type, img.width, img.height, len(encoded), hashlib.sha256(encoded).hexdigest())


def make_thumbnail(files, path, *, size=320) -> str:
    """Store "<stem>.thumb.<ext>" (at most size x size) beside a stored image, read from
    the same `files`; idempotent. FileNotFoundError when the image is not there."""
    files = _files(files)
    rel = PurePosixPath(path)
    thumb = str(rel.with_name(f"{rel.stem}.thumb{rel.suffix}"))
    if files.exists(thumb):
        return thumb
    data = files.get(path)
    if data is None:
        raise FileNotFoundError(path)
    with Image.open(io.BytesIO(data), formats=list(SAVE_OPTIONS)) as img:
        fmt = img.format
        img = _reencodable(img, fmt)
        if img.mode == "P":  # resizing a palette is nearest-neighbour only
            img = img.convert("RGBA")
        img.thumbnail((size, size))
        files.put(thumb, _encode(img, fmt))
    return thumb


def delete_files(files, *paths) -> None:
    """Remove stored files; missing files and None are fine (deletes may be retried)."""
    _files(files).delete(*paths)


def absolute(media_root, path) -> Path:
    """The file's absolute path; ValueError for anything outside media_root."""
    root = Path(media_root).resolve()
    target = (root / path).resolve()
    if root not in target.parents:
        raise ValueError(f"{path!r} is outside the media root")
    return target


def _read_at_most(fileobj, limit):
    # read(n) may return less than n before the end (sockets, raw streams).
    chunks, size = [], 0
    while size < limit:
        chunk = fileobj.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decode(data, max_pixels):
    """Open with the four accepted decoders only, check the size, decode every pixel."""
    try:
        img = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "GIF", "WEBP"])
    except Image.UnidentifiedImageError:
        raise ImageError(400, "The file must be a JPEG, PNG, GIF or WebP image") from None
    except Image.DecompressionBombError:
        raise ImageError(400, f"The image is over {max_pixels} pixels") from None
    except Exception:  # Pillow raises many types on malformed headers
        raise ImageError(400, "The image could not be read") from None
    # Checked on the header, before decoding: Pillow's own bomb limit is higher than ours.
    if img.width * img.height > max_pixels:
        raise ImageError(400, f"The image is over {max_pixels} pixels")
    try:
        img.load()  # a truncated or corrupt image fails here, not at re-encode
    except Image.DecompressionBombError:
        raise ImageError(400, f"The image is over {max_pixels} pixels") from None
    except Exception:
        raise ImageError(400, "The image is corrupt or truncated") from None
    return img


def _reencodable(img, fmt):
    """Upright, one frame, no metadata, in a mode the format can save."""
    img = ImageOps.exif_transpose(img)  # always a copy, of the first frame only
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    elif fmt == "WEBP" and img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA")
    # Only what the pixels need: the colour profile and, for PNG and GIF, transparency.
    keep = ("icc_profile", "transparency") if fmt in ("PNG", "GIF") else ("icc_profile",)
    img.info = {key: img.info[key] for key in keep if img.info.get(key) is not None}
    return img


def _encode(img, fmt):
    out = io.BytesIO()
    img.save(out, fmt, **SAVE_OPTIONS[fmt], **img.info)
    return out.getvalue()


def _write_atomic(target, data):
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from a web server
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _has_trailing_data(data, fmt):
    """True when bytes follow the image's end (or its structure is broken)."""
    try:
        if fmt == "JPEG":
            return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
        if fmt == "WEBP":  # RIFF: the size field counts everything after the first 8 bytes
            return struct.unpack("<I", data[4:8])[0] + 8 != len(data)
        return (_png_end(data) if fmt == "PNG" else _gif_end(data)) != len(data)
    except (IndexError, struct.error):
        return True


def _png_end(data):
    pos = 8  # the signature, then chunks: length, type, data, CRC
    while True:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        pos += 12 + length
        if kind == b"IEND":
            return pos


def _gif_end(data):
    pos = 13  # header and logical screen descriptor
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)  # global colour table
    while data[pos] != 0x3B:  # the trailer
        if data[pos] == 0x21:  # extension: introducer, label, sub-blocks
            pos += 2
        elif data[pos] == 0x2C:  # image: descriptor, local colour table, LZW code size, sub-blocks
            if data[pos + 9] & 0x80:
                pos += 3 << ((data[pos + 9] & 7) + 1)
            pos += 11
        else:
            raise IndexError("not a GIF block")
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    return pos + 1
