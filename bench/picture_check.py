"""What checking an announcement's picture costs (bot/domain/pictures.py), per kind of file.

A phone photo of about 4.9 MB (a 3,000 × 2,000 JPEG of noise, which compresses badly), the
same as a small poster, a palette PNG that has to be converted to RGB, and a PNG whose header
claims 60,000 × 60,000 pixels (refused from its header). Prints the median and slowest time
over ``--rounds`` runs, in milliseconds, and the size of what is kept.

    .venv/bin/python bench/picture_check.py --rounds 10
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from auxil.pictures import picture, png_claiming  # noqa: E402
from bot.domain.pictures import PictureError, checked  # noqa: E402


def photo(target: int = 4_900_000) -> bytes:
    """A JPEG just under ``target`` bytes: noise at the quality that lands there."""
    noise = Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3))
    for quality in range(95, 20, -5):
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=quality)
        if out.tell() <= target:
            return out.getvalue()
    raise SystemExit("could not make the photo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    files = {
        "phone photo (JPEG)": photo(),
        "poster (JPEG 800x600)": picture("JPEG", (800, 600)),
        "palette PNG, converted": picture("PNG", (1200, 900), "P"),
        "header claims 60000x60000": png_claiming(60_000, 60_000),
    }
    print(f"{'file':28} {'bytes':>9} {'kept':>9} {'median ms':>10} {'max ms':>8}")
    for name, data in files.items():
        times, kept = [], "refused"
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                kept = str(len(checked(data)[0]))
            except PictureError as exc:
                kept = exc.reason
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name:28} {len(data):>9} {kept:>9} {statistics.median(times):>10.1f}"
              f" {max(times):>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
