"""An announcement's picture: what both platforms accept is kept, converted where it only
needs converting; anything else is refused with the reason, without decoding a huge one."""

from __future__ import annotations

import io
import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from auxil.broadcasts import announce
from auxil.pictures import picture, png_claiming
from bot.domain import broadcasts, pictures
from bot.domain.broadcasts import Audience
from bot.domain.pictures import PictureError


async def test_a_jpeg_and_a_png_are_kept_as_they_are(db):
    jpeg, png = picture("JPEG", (640, 480)), picture("PNG", (300, 200), "RGBA")
    kept = await pictures.save(db, jpeg, "C:\\fakepath/poster.jpg", "console:admin")
    assert (kept.media_type, kept.width, kept.height, kept.size) == (
        "image/jpeg", 640, 480, len(jpeg)
    )  # fmt: skip
    assert kept.file_name == "poster.jpg" and await pictures.data_of(db, kept.id) == jpeg
    other = await pictures.save(db, png, "brosur.png", "console:admin")
    assert other.media_type == "image/png" and await pictures.data_of(db, other.id) == png


@pytest.mark.parametrize(("kind", "mode"), [("PNG", "L"), ("PNG", "P"), ("JPEG", "CMYK")])
def test_a_grey_palette_or_cmyk_picture_is_converted_to_rgb(kind, mode):
    data, media_type, width, height = pictures.checked(picture(kind, (120, 90), mode))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == kind and image.mode == "RGB" and image.size == (120, 90)
    assert media_type == f"image/{kind.lower()}" and (width, height) == (120, 90)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "picture_empty"),
        (b"Ini bukan gambar, ini surat.", "picture_not_image"),
        (picture("GIF", (50, 50), "P"), "picture_not_image"),
        (picture("JPEG", (800, 600))[:900], "picture_not_image"),  # cut off on the way
        (b"\xff\xd8" + bytes(5_000_000), "picture_too_big"),
        (picture("PNG", (9000, 1200)), "picture_shape"),  # width + height over 10,000
        (picture("PNG", (2100, 100)), "picture_shape"),  # 21 times as wide as high
    ],
    ids=["empty", "text", "gif", "truncated", "over-5-MB", "too-large", "too-thin"],
)
def test_what_a_platform_would_refuse_is_refused_with_the_reason(data, reason):
    with pytest.raises(PictureError) as refused:
        pictures.checked(data)
    assert refused.value.reason == reason


def test_a_picture_claiming_to_be_huge_is_refused_from_its_header_alone():
    bomb = png_claiming(60_000, 60_000)  # 3.6 billion pixels if it were decoded
    started = time.perf_counter()
    with pytest.raises(PictureError) as refused:
        pictures.checked(bomb)
    assert refused.value.reason == "picture_shape"
    assert time.perf_counter() - started < 2  # generous: decoding it would take minutes


async def test_an_announcement_keeps_its_picture_and_unsent_ones_are_deleted_a_day_on(db):
    used = await pictures.save(db, picture(), "a.jpg", "admin")
    unsent = await pictures.save(db, picture("PNG"), "b.png", "admin")
    made = await broadcasts.create_broadcast(
        db, text_id="Sesi paspor Sabtu.", office="bp3mi", audience=Audience("all"),
        send_at=datetime.now(UTC), created_by="admin", picture_id=used.id,
    )  # fmt: skip
    assert (await broadcasts.get_broadcast(db, made.id)).picture_id == used.id
    assert await pictures.delete_unsent(db, datetime.now(UTC) - timedelta(days=1)) == 0
    assert await pictures.delete_unsent(db, datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert await pictures.get(db, unsent.id) is None and await pictures.get(db, used.id)
    plain = await announce(db, Audience("all"))
    assert plain.picture_id is None


def test_what_would_go_wrong_on_a_phone_is_put_right():
    from PIL import PngImagePlugin

    from auxil.pictures import png_16bit_rgb

    def opened(data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(pictures.checked(data)[0]))

    # 16-bit RGB: sent as 8-bit (WhatsApp takes 8-bit only)
    assert pictures.checked(png_16bit_rgb())[0][24] == 8
    # 16-bit grey: scaled down, not clipped to white (1000 of 65535 is dark)
    grey = io.BytesIO()
    Image.new("I;16", (8, 8), 1000).save(grey, "PNG")
    assert opened(grey.getvalue()).getpixel((0, 0)) in ((3, 3, 3), (4, 4, 4))  # not 255
    # a phone photo turned on its side by its EXIF orientation: upright, without the EXIF
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° to show"
    exif[0x010F] = "PhoneMaker"
    sideways = io.BytesIO()
    Image.new("RGB", (60, 40), (10, 120, 200)).save(sideways, "JPEG", exif=exif)
    data, _, width, height = pictures.checked(sideways.getvalue())
    assert (width, height) == (40, 60) and not Image.open(io.BytesIO(data)).info.get("exif")
    # a multi-picture JPEG (MPO, as some phone cameras write them): one plain JPEG
    mpo = io.BytesIO()
    first, second = Image.new("RGB", (50, 40), "red"), Image.new("RGB", (50, 40), "blue")
    first.save(mpo, "MPO", save_all=True, append_images=[second])
    data, media_type, _, _ = pictures.checked(mpo.getvalue())
    assert media_type == "image/jpeg" and Image.open(io.BytesIO(data)).format == "JPEG"
    # a palette with a transparent colour keeps its transparency
    palette = io.BytesIO()
    Image.new("P", (20, 20), 0).save(palette, "PNG", transparency=0)
    assert opened(palette.getvalue()).mode == "RGBA"
    # a PNG whose text chunk unpacks to more than Pillow allows: refused, not a crash
    text = PngImagePlugin.PngInfo()
    text.add_text("comment", "x" * 3_000_000, zip=True)
    packed = io.BytesIO()
    Image.new("RGB", (10, 10)).save(packed, "PNG", pnginfo=text)
    with pytest.raises(PictureError) as refused:
        pictures.checked(packed.getvalue())
    assert refused.value.reason == "picture_not_image"


def test_the_shape_is_refused_from_the_header_before_anything_is_decoded():
    # within Pillow's own limit, so only our shape check can refuse it; its pixels are a 1×1
    # image's, so decoding it first would fail as damaged, not as the wrong shape
    with pytest.raises(PictureError) as refused:
        pictures.checked(png_claiming(9000, 1200))
    assert refused.value.reason == "picture_shape"
    # Pillow warns (not refuses) from 89 Mpx: where warnings are errors, still the words
    with warnings.catch_warnings(), pytest.raises(PictureError) as warned:
        warnings.simplefilter("error")
        pictures.checked(png_claiming(9500, 9500))
    assert warned.value.reason == "picture_shape"
