"""Pictures sent with announcements: checked once when staff upload one, kept in the database.

What both platforms take: a JPEG or PNG of at most 5 MB (WhatsApp's limit for an image;
Telegram's for a photo is 10 MB), width plus height at most 10,000 pixels and one side at
most 20 times the other (Telegram's sendPhoto), 8-bit RGB or RGBA (WhatsApp). A picture in
another colour mode (grey, 16-bit, a palette, CMYK) is converted, and one with EXIF data (a
phone photo: where it was taken, which way up) is turned upright and sent without it, so
staff need not know any of this; one that is too big, too thin or not a picture is refused
with the reason in ``reason``.

Pillow reads the header first, so a huge picture is refused before it is decoded.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.domain.outbox import iso
from bot.domain.store import Database, utc_now

MAX_BYTES = 5_000_000  # "5 MB" as WhatsApp documents it, read the strict way
MAX_SIDES = 10_000  # width + height (Telegram)
MAX_RATIO = 20  # the longer side over the shorter (Telegram)
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
PICTURE_RULES = (
    "a JPEG or PNG of at most 5 MB, width + height at most 10,000 pixels,"
    " one side at most 20 times the other"
)


class PictureError(ValueError):
    """A file that cannot go with an announcement; ``reason`` names why, for the words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Picture:
    id: int
    media_type: str
    size: int
    width: int
    height: int
    file_name: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.media_type]


def checked(data: bytes) -> tuple[bytes, str, int, int]:
    """(the bytes to send, media type, width, height) of an uploaded file, or PictureError.
    CPU work on a large picture: call it off the event loop (``save`` does)."""
    if not data:
        raise PictureError("picture_empty", "the file is empty")
    if len(data) > MAX_BYTES:
        raise PictureError("picture_too_big", f"{len(data)} bytes; at most {MAX_BYTES}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _opened(data) as image:
            kind = _kind(image)
            if kind is None:
                raise PictureError("picture_not_image", f"a {image.format} picture; JPEG or PNG")
            _check_shape(*image.size)  # from the header: nothing decoded yet
            try:
                image.load()  # a truncated or corrupt file fails here, not at the platform
            except (OSError, SyntaxError, ValueError) as exc:
                raise PictureError("picture_not_image", f"a damaged picture: {exc}") from None
            if _as_it_is(image, data, kind):
                return data, MEDIA_TYPES[kind], *image.size
            upright = ImageOps.exif_transpose(image)  # as the phone showed it
            data = _converted(upright, kind, image.info.get("icc_profile"))
            width, height = upright.size
    if len(data) > MAX_BYTES:
        raise PictureError("picture_too_big", f"{len(data)} bytes once converted")
    return data, MEDIA_TYPES[kind], width, height


def _opened(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PictureError("picture_shape", str(exc)) from None  # Pillow's guard, from the header
    except (UnidentifiedImageError, OSError, ValueError) as exc:  # ValueError: a huge chunk
        raise PictureError("picture_not_image", f"not a picture: {exc}") from None


def _kind(image: Image.Image) -> str | None:
    """JPEG or PNG; a phone camera's multi-picture JPEG (MPO) is a JPEG to both platforms."""
    kind = "JPEG" if image.format == "MPO" else image.format
    return kind if kind in MEDIA_TYPES else None


def _check_shape(width: int, height: int) -> None:
    if width + height > MAX_SIDES or max(width, height) > MAX_RATIO * min(width, height):
        raise PictureError("picture_shape", f"{width}×{height} pixels")


def _as_it_is(image: Image.Image, data: bytes, kind: str) -> bool:
    """Sent byte for byte: 8-bit RGB(A), no EXIF (a phone's GPS position, its rotation), and
    a plain JPEG (not MPO)."""
    eight_bit = kind != "PNG" or data[24:25] == b"\x08"  # the bit depth in the PNG header
    plain = image.format == kind and not image.info.get("exif")
    return image.mode in ("RGB", "RGBA") and eight_bit and plain


def _converted(image: Image.Image, kind: str, icc_profile: bytes | None) -> bytes:
    """The picture as 8-bit RGB (RGBA where it has transparency), in the same format, with
    its colour profile and without EXIF."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode.startswith("I"):  # 16-bit grey: scaled down, not clipped to white
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    out = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if kind == "PNG":
        image.convert("RGBA" if transparent else "RGB").save(out, "PNG", optimize=True, **extra)
    else:
        image.convert("RGB").save(out, "JPEG", quality=90, **extra)
    return out.getvalue()


_COLUMNS = "id, media_type, size, width, height, file_name"


def _picture(row) -> Picture:
    return Picture(row[0], row[1], row[2], row[3], row[4], row[5])


async def save(db: Database, data: bytes, file_name: str, created_by: str) -> Picture:
    """Check and keep an uploaded picture (not yet with any announcement)."""
    return await keep(db, await asyncio.to_thread(checked, data), file_name, created_by)


async def keep(
    db: Database, picture: tuple[bytes, str, int, int], file_name: str, created_by: str
) -> Picture:
    """Keep a picture ``checked`` gave (what it returns)."""
    data, media_type, width, height = picture
    name = "".join(c for c in file_name.rsplit("/", 1)[-1] if c.isprintable())[:100]
    rows = await db.write_one(
        "INSERT INTO pictures (media_type, data, size, width, height, file_name, created_by,"
        f" created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        (media_type, data, len(data), width, height, name, created_by[:100], utc_now()),
    )
    return _picture(rows[0])


async def get(db: Database, picture_id: int) -> Picture | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM pictures WHERE id = ?", (picture_id,))
    return _picture(row) if row else None


async def data_of(db: Database, picture_id: int) -> bytes | None:
    row = await db.fetchone("SELECT data FROM pictures WHERE id = ?", (picture_id,))
    return bytes(row[0]) if row else None


async def delete_unsent(db: Database, before: datetime) -> int:
    """Pictures uploaded before ``before`` that no announcement uses (a preview never sent)."""
    rows = await db.write_one(
        "DELETE FROM pictures WHERE created_at < ? AND id NOT IN"
        " (SELECT picture_id FROM broadcasts WHERE picture_id IS NOT NULL) RETURNING id",
        (iso(before),),
    )
    return len(rows)
