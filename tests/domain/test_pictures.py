"""An announcement's picture: what both platforms accept is kept, converted where it only
needs converting; anything else is refused with the reason, without decoding a huge one."""

from __future__ import annotations

import io
import time
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
