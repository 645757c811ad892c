"""Pictures for tests: real JPEG and PNG files made with Pillow, and a few broken ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def picture(kind: str = "JPEG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    """A real picture file; its colour depends on the size, so two sizes differ."""
    colour = {"RGB": (200, size[0] % 256, 40), "RGBA": (200, 30, 40, 128), "CMYK": (0, 50, 90, 0)}
    image = Image.new(mode, size, colour.get(mode, 128))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: only the header may be read."""
    real = picture("PNG", (1, 1))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return real[:8] + patched + real[8 + 25 :]


def poster(title: str, lines: tuple[str, ...], size: tuple[int, int] = (800, 600)) -> bytes:
    """A JPEG that looks like an office's announcement poster (for the screenshots)."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", size, (18, 94, 130))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, size[1] * 0.72, size[0], size[1]), fill=(242, 183, 5))
    big, small = ImageFont.load_default(size=56), ImageFont.load_default(size=30)
    draw.text((40, 60), title, font=big, fill="white")
    for n, line in enumerate(lines):
        draw.text((40, 170 + 48 * n), line, font=small, fill="white")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def png_16bit_rgb(width: int = 4, height: int = 3) -> bytes:
    """A 16-bit RGB PNG, which Pillow cannot write (it reads it as 8-bit RGB)."""
    row = b"\x00" + b"\x10\x00\x80\x00\xff\xff" * width  # filter byte, then RGB at 16 bits
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
