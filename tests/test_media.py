"""minitwitter.store.media: images made with Pillow in each test, stored in each backend
(settings media.store): files in a directory, and rows in PostgreSQL (a transaction rolled
back after the test)."""

import hashlib
import io
import re
import struct
import zipfile
import zlib

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from minitwitter.store import media

FORMATS = [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("GIF", "image/gif", "gif")]
FORMATS += [("WEBP", "image/webp", "webp")]


def image_bytes(fmt, size=(40, 30), mode="RGB", **options):
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, fmt, **options)
    return out.getvalue()


def store(data, root, **kw):
    return media.store_image(io.BytesIO(data), root, **kw)


def refused(data, root, code=400, **kw):
    with pytest.raises(media.ImageError) as e:
        store(data, root, **kw)
    assert e.value.code == code
    return e.value


def opened(files, stored):
    return Image.open(io.BytesIO(files.get(stored.path)))


def nothing_stored(files):
    if isinstance(files, media.LocalFiles):
        return not list(files.root.rglob("*.*"))
    with files.tx.db.cursor() as cur:
        cur.execute("SELECT count(*) FROM media_files")
        return cur.fetchone()["count"] == 0


@pytest.fixture(params=["local", "postgres"])
def files(request, tmp_path):
    if request.param == "local":
        yield media.LocalFiles(tmp_path)
        return
    tx = request.getfixturevalue("wsgi_app").registry.store.begin()
    try:
        yield media.PostgresFiles(tx)
    finally:
        tx.rollback()


@pytest.mark.parametrize("fmt, content_type, ext", FORMATS)
def test_each_format_is_stored_reencoded(files, fmt, content_type, ext):
    stored = store(image_bytes(fmt), files)
    assert (stored.content_type, stored.width, stored.height) == (content_type, 40, 30)
    assert re.fullmatch(rf"([0-9a-f]{{2}})/\1[0-9a-f]{{30}}\.{ext}", stored.path)
    data = files.get(stored.path)
    assert (stored.bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert opened(files, stored).format == fmt


def exif_with_gps(orientation=1):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    return exif


def test_exif_orientation_is_applied(files):
    data = image_bytes("JPEG", size=(20, 10), exif=exif_with_gps(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has it
    stored = store(data, files)
    assert (stored.width, stored.height) == (10, 20)
    assert opened(files, stored).size == (10, 20)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_and_gps_are_gone(files, fmt):
    stored = store(image_bytes(fmt, exif=exif_with_gps()), files)
    assert not opened(files, stored).getexif()
    assert b"SpyCam" not in files.get(stored.path)


def test_comments_and_text_chunks_are_gone(files):
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    for data in image_bytes("JPEG", comment=b"<script>alert(1)</script>"), image_bytes("PNG", pnginfo=text):
        stored = store(data, files)
        assert b"<script>" not in files.get(stored.path)


def test_names_are_random_never_the_clients(files):
    data = image_bytes("PNG")
    upload = io.BytesIO(data)
    upload.name = "holiday.png"
    first = media.store_image(upload, files)
    second = store(data, files)
    assert "holiday" not in first.path
    assert first.path != second.path
    assert first.sha256 == second.sha256


def test_cmyk_jpeg_is_stored_as_rgb(files):
    stored = store(image_bytes("JPEG", mode="CMYK"), files)
    assert opened(files, stored).mode == "RGB"


def test_multi_picture_jpeg_is_a_jpeg(files):
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 30))])
    stored = store(out.getvalue(), files)
    assert stored.content_type == "image/jpeg" and stored.path.endswith(".jpg")


def test_gif_keeps_its_first_frame_and_transparency(files):
    frames = [Image.new("P", (8, 8), i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], transparency=0)
    img = opened(files, store(out.getvalue(), files))
    assert getattr(img, "n_frames", 1) == 1
    assert img.convert("RGBA").getpixel((0, 0))[3] == 0


def test_too_large_is_413_and_reads_no_further(files):
    data = image_bytes("PNG")
    assert store(data, files, max_bytes=len(data))
    assert refused(data, files, 413, max_bytes=len(data) - 1)

    class Endless(io.RawIOBase):
        read_total = 0

        def read(self, n=-1):
            assert n > 0, "must not read to the end"
            self.read_total += n
            return b"\0" * n

    endless = Endless()
    with pytest.raises(media.ImageError) as e:
        media.store_image(endless, files, max_bytes=1000)
    assert (e.value.code, endless.read_total) == (413, 1001)


def test_pixel_bombs_are_400(files):
    bomb = image_bytes("PNG", size=(9_000, 9_000), mode="1")  # 81 Mpx in a few kB
    assert len(bomb) < 100_000
    assert "pixels" in refused(bomb, files).message
    assert refused(image_bytes("PNG"), files, max_pixels=40 * 30 - 1)
    assert store(image_bytes("PNG"), files, max_pixels=40 * 30)


def test_pillows_own_bomb_limit_is_400(files, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # errors above twice this
    assert "pixels" in refused(image_bytes("PNG"), files, max_pixels=10**9).message


@pytest.mark.parametrize("data", [b"", b"hello, world", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"GIF89a<script>"])
def test_empty_and_garbage_are_400(files, data):
    refused(data, files)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_images_are_400(files, fmt):
    data = image_bytes(fmt, size=(200, 200), mode="RGB")
    refused(data[: len(data) * 2 // 3], files)
    refused(data[:-1], files)


def test_corrupt_pixel_data_with_an_intact_structure_is_400(files):
    data = bytearray(image_bytes("PNG", size=(100, 100)))
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    data[start : start + length] = bytes(range(256)) * (length // 256) + bytes(length % 256)
    data[start + length : start + length + 4] = struct.pack(">I", zlib.crc32(data[start - 4 : start + length]))
    assert "corrupt" in refused(bytes(data), files).message


def a_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("index.html", "<script>alert(1)</script>")
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
@pytest.mark.parametrize("payload", [b"<html><script>alert(1)</script>", a_zip(), b"<script>alert(1)</script>\0;"])
def test_polyglots_with_data_after_the_image_are_400(files, fmt, payload):
    # The last payload ends like a GIF (block terminator, trailer): only a walk of the blocks catches it.
    data = image_bytes(fmt)
    assert Image.open(io.BytesIO(data + payload)).load() is not None  # Pillow alone accepts it
    assert "after its end" in refused(data + payload, files).message
    assert nothing_stored(files)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_types_are_400(files, fmt):
    assert "JPEG, PNG, GIF or WebP" in refused(image_bytes(fmt), files).message


@pytest.mark.parametrize("fmt, content_type, ext", FORMATS)
def test_thumbnail_fits_in_320_and_is_idempotent(files, fmt, content_type, ext):
    stored = store(image_bytes(fmt, size=(1000, 500)), files)
    thumb = media.make_thumbnail(files, stored.path)
    assert thumb == stored.path.replace(f".{ext}", f".thumb.{ext}")
    img = Image.open(io.BytesIO(files.get(thumb)))
    assert (img.format, img.size) == (fmt, (320, 160))

    files.delete(thumb)
    files.put(thumb, b"already there")
    assert media.make_thumbnail(files, stored.path) == thumb
    assert files.get(thumb) == b"already there"


def test_small_images_keep_their_size_as_thumbnail(files):
    stored = store(image_bytes("PNG", size=(30, 20)), files)
    assert Image.open(io.BytesIO(files.get(media.make_thumbnail(files, stored.path)))).size == (30, 20)


@pytest.mark.parametrize("path", ["../x", "ab/../../x", "/etc/passwd", "", ".", "ab/../.."])
def test_absolute_refuses_paths_outside_the_root(tmp_path, path):
    with pytest.raises(ValueError):
        media.absolute(tmp_path / "media", path)


def test_absolute_inside_the_root(tmp_path):
    assert media.absolute(tmp_path, "ab/cd.jpg") == tmp_path.resolve() / "ab" / "cd.jpg"


def test_delete_files_removes_and_ignores_missing(files):
    stored = store(image_bytes("PNG", size=(400, 400)), files)
    thumb = media.make_thumbnail(files, stored.path)
    media.delete_files(files, stored.path, None, thumb, "ab/missing.png")
    assert not files.exists(stored.path) and not files.exists(thumb)
    media.delete_files(files, stored.path)  # twice is fine
    if isinstance(files, media.LocalFiles):
        with pytest.raises(ValueError):
            media.delete_files(files, "../outside")


def test_a_thumbnail_reads_its_original_from_the_same_store(files):
    with pytest.raises(FileNotFoundError):
        media.make_thumbnail(files, "ab/ab000000000000000000000000000000.png")
    assert not files.exists("ab/ab000000000000000000000000000000.thumb.png")
