"""Pictures sent with announcements: checked once when staff upload one, kept in the database.

What both platforms take: a JPEG or PNG of at most 5 MB (WhatsApp's limit for an image;
Telegram's for a photo is 10 MB), width plus height at most 10,000 pixels and one side at
most 20 times the other (Telegram's sendPhoto), 8-bit RGB or RGBA (WhatsApp). A picture in
another colour mode (grey, a palette, CMYK) is converted, so staff need not know any of this;
one that is too big, too thin or not a picture is refused with the reason in ``reason``.

Pillow reads the header first, so a huge picture is refused before it is decoded.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

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
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own guard, from the header
        raise PictureError("picture_shape", str(exc)) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise PictureError("picture_not_image", f"not a picture: {exc}") from None
    with image:
        if image.format not in MEDIA_TYPES:
            raise PictureError("picture_not_image", f"a {image.format} picture; JPEG or PNG")
        width, height = image.size
        if width + height > MAX_SIDES or max(width, height) > MAX_RATIO * min(width, height):
            raise PictureError("picture_shape", f"{width}×{height} pixels")
        try:
            image.load()  # a truncated or corrupt file fails here, not at the platform
        except (OSError, SyntaxError, ValueError) as exc:
            raise PictureError("picture_not_image", f"a damaged picture: {exc}") from None
        media_type = MEDIA_TYPES[image.format]
        if image.mode in ("RGB", "RGBA"):
            return data, media_type, width, height
        data = _converted(image)
    if len(data) > MAX_BYTES:
        raise PictureError("picture_too_big", f"{len(data)} bytes once converted")
    return data, media_type, width, height


def _converted(image: Image.Image) -> bytes:
    """The picture as 8-bit RGB (RGBA where it has transparency), in the same format."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    out = io.BytesIO()
    if image.format == "PNG":
        image.convert("RGBA" if transparent else "RGB").save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


_COLUMNS = "id, media_type, size, width, height, file_name"


def _picture(row) -> Picture:
    return Picture(row[0], row[1], row[2], row[3], row[4], row[5])


async def save(db: Database, data: bytes, file_name: str, created_by: str) -> Picture:
    """Check and keep an uploaded picture (not yet with any announcement)."""
    data, media_type, width, height = await asyncio.to_thread(checked, data)
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
