"""minitwitter.store.media: no database, images made with Pillow in each test."""

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


def opened(root, stored):
    return Image.open(media.absolute(root, stored.path))


@pytest.mark.parametrize("fmt, content_type, ext", FORMATS)
def test_each_format_is_stored_reencoded(tmp_path, fmt, content_type, ext):
    stored = store(image_bytes(fmt), tmp_path)
    assert (stored.content_type, stored.width, stored.height) == (content_type, 40, 30)
    assert re.fullmatch(rf"([0-9a-f]{{2}})/\1[0-9a-f]{{30}}\.{ext}", stored.path)
    data = (tmp_path / stored.path).read_bytes()
    assert (stored.bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert opened(tmp_path, stored).format == fmt


def exif_with_gps(orientation=1):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    return exif


def test_exif_orientation_is_applied(tmp_path):
    data = image_bytes("JPEG", size=(20, 10), exif=exif_with_gps(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has it
    stored = store(data, tmp_path)
    assert (stored.width, stored.height) == (10, 20)
    assert opened(tmp_path, stored).size == (10, 20)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_and_gps_are_gone(tmp_path, fmt):
    stored = store(image_bytes(fmt, exif=exif_with_gps()), tmp_path)
    assert not opened(tmp_path, stored).getexif()
    assert b"SpyCam" not in (tmp_path / stored.path).read_bytes()


def test_comments_and_text_chunks_are_gone(tmp_path):
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    for data in image_bytes("JPEG", comment=b"<script>alert(1)</script>"), image_bytes("PNG", pnginfo=text):
        stored = store(data, tmp_path)
        assert b"<script>" not in (tmp_path / stored.path).read_bytes()


def test_names_are_random_never_the_clients(tmp_path):
    data = image_bytes("PNG")
    upload = io.BytesIO(data)
    upload.name = "holiday.png"
    first = media.store_image(upload, tmp_path)
    second = store(data, tmp_path)
    assert "holiday" not in first.path
    assert first.path != second.path
    assert first.sha256 == second.sha256


def test_cmyk_jpeg_is_stored_as_rgb(tmp_path):
    stored = store(image_bytes("JPEG", mode="CMYK"), tmp_path)
    assert opened(tmp_path, stored).mode == "RGB"


def test_multi_picture_jpeg_is_a_jpeg(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 30))])
    stored = store(out.getvalue(), tmp_path)
    assert stored.content_type == "image/jpeg" and stored.path.endswith(".jpg")


def test_gif_keeps_its_first_frame_and_transparency(tmp_path):
    frames = [Image.new("P", (8, 8), i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], transparency=0)
    img = opened(tmp_path, store(out.getvalue(), tmp_path))
    assert getattr(img, "n_frames", 1) == 1
    assert img.convert("RGBA").getpixel((0, 0))[3] == 0


def test_too_large_is_413_and_reads_no_further(tmp_path):
    data = image_bytes("PNG")
    assert store(data, tmp_path, max_bytes=len(data))
    assert refused(data, tmp_path, 413, max_bytes=len(data) - 1)

    class Endless(io.RawIOBase):
        read_total = 0

        def read(self, n=-1):
            assert n > 0, "must not read to the end"
            self.read_total += n
            return b"\0" * n

    endless = Endless()
    with pytest.raises(media.ImageError) as e:
        media.store_image(endless, tmp_path, max_bytes=1000)
    assert (e.value.code, endless.read_total) == (413, 1001)


def test_pixel_bombs_are_400(tmp_path):
    bomb = image_bytes("PNG", size=(9_000, 9_000), mode="1")  # 81 Mpx in a few kB
    assert len(bomb) < 100_000
    assert "pixels" in refused(bomb, tmp_path).message
    assert refused(image_bytes("PNG"), tmp_path, max_pixels=40 * 30 - 1)
    assert store(image_bytes("PNG"), tmp_path, max_pixels=40 * 30)


def test_pillows_own_bomb_limit_is_400(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # errors above twice this
    assert "pixels" in refused(image_bytes("PNG"), tmp_path, max_pixels=10**9).message


@pytest.mark.parametrize("data", [b"", b"hello, world", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"GIF89a<script>"])
def test_empty_and_garbage_are_400(tmp_path, data):
    refused(data, tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_images_are_400(tmp_path, fmt):
    data = image_bytes(fmt, size=(200, 200), mode="RGB")
    refused(data[: len(data) * 2 // 3], tmp_path)
    refused(data[:-1], tmp_path)


def test_corrupt_pixel_data_with_an_intact_structure_is_400(tmp_path):
    data = bytearray(image_bytes("PNG", size=(100, 100)))
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    data[start : start + length] = bytes(range(256)) * (length // 256) + bytes(length % 256)
    data[start + length : start + length + 4] = struct.pack(">I", zlib.crc32(data[start - 4 : start + length]))
    assert "corrupt" in refused(bytes(data), tmp_path).message


def a_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("index.html", "<script>alert(1)</script>")
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
@pytest.mark.parametrize("payload", [b"<html><script>alert(1)</script>", a_zip(), b"<script>alert(1)</script>\0;"])
def test_polyglots_with_data_after_the_image_are_400(tmp_path, fmt, payload):
    # The last payload ends like a GIF (block terminator, trailer): only a walk of the blocks catches it.
    data = image_bytes(fmt)
    assert Image.open(io.BytesIO(data + payload)).load() is not None  # Pillow alone accepts it
    assert "after its end" in refused(data + payload, tmp_path).message
    assert not list(tmp_path.rglob("*.*"))


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_types_are_400(tmp_path, fmt):
    assert "JPEG, PNG, GIF or WebP" in refused(image_bytes(fmt), tmp_path).message


@pytest.mark.parametrize("fmt, content_type, ext", FORMATS)
def test_thumbnail_fits_in_320_and_is_idempotent(tmp_path, fmt, content_type, ext):
    stored = store(image_bytes(fmt, size=(1000, 500)), tmp_path)
    thumb = media.make_thumbnail(tmp_path, stored.path)
    assert thumb == stored.path.replace(f".{ext}", f".thumb.{ext}")
    img = Image.open(tmp_path / thumb)
    assert (img.format, img.size) == (fmt, (320, 160))

    (tmp_path / thumb).write_bytes(b"already there")
    assert media.make_thumbnail(tmp_path, stored.path) == thumb
    assert (tmp_path / thumb).read_bytes() == b"already there"


def test_small_images_keep_their_size_as_thumbnail(tmp_path):
    stored = store(image_bytes("PNG", size=(30, 20)), tmp_path)
    assert Image.open(tmp_path / media.make_thumbnail(tmp_path, stored.path)).size == (30, 20)


@pytest.mark.parametrize("path", ["../x", "ab/../../x", "/etc/passwd", "", ".", "ab/../.."])
def test_absolute_refuses_paths_outside_the_root(tmp_path, path):
    with pytest.raises(ValueError):
        media.absolute(tmp_path / "media", path)


def test_absolute_inside_the_root(tmp_path):
    assert media.absolute(tmp_path, "ab/cd.jpg") == tmp_path.resolve() / "ab" / "cd.jpg"


def test_delete_files_removes_and_ignores_missing(tmp_path):
    stored = store(image_bytes("PNG", size=(400, 400)), tmp_path)
    thumb = media.make_thumbnail(tmp_path, stored.path)
    media.delete_files(tmp_path, stored.path, None, thumb, "ab/missing.png")
    assert not (tmp_path / stored.path).exists() and not (tmp_path / thumb).exists()
    media.delete_files(tmp_path, stored.path)  # twice is fine
    with pytest.raises(ValueError):
        media.delete_files(tmp_path, "../outside")
