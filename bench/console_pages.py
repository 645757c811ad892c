"""How fast the staff console's pages render on a programme's worth of data.

Builds a database of 10,000 villagers, 200 sessions (2,000 of the villagers registered across
them, 50 in the largest), 50,000 logged messages and 2,000 questions to officers (half of them
answered), then asks the console's own ASGI app
(in this process, through httpx, as a signed-in officer) for each page ``--rounds`` times and
prints the median and the slowest render, in milliseconds. Target (issue 13): under 100 ms.

    .venv/bin/python bench/console_pages.py --rounds 30
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from auxil.console import PASSWORD, client, sign_in  # noqa: E402
from bot.console.web import build  # noqa: E402
from bot.domain import accounts  # noqa: E402
from bot.domain.store import Database  # noqa: E402
from bot.support.passwords import hash_password  # noqa: E402

WITA = ZoneInfo("Asia/Makassar")
VILLAGERS, SESSIONS, MESSAGES, QUESTIONS = 10_000, 200, 50_000, 2_000


async def fill(db: Database) -> str:
    """The data, written directly in bulk (the domain functions would take minutes)."""
    now = datetime.now(UTC)
    stamp = now.isoformat()
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at,"
            " full_name, village, consent_at) VALUES ('telegram', ?, ?, 'id', ?, ?, ?, ?)",
            [(str(10_000 + n), f"Warga {n}", stamp, f"Warga Desa {n}", f"Desa {n % 150}", stamp)
             for n in range(VILLAGERS)],
        )  # fmt: skip
        sessions = []
        for n in range(SESSIONS):
            starts = now + timedelta(days=n - 100, hours=2)
            ends = starts + timedelta(hours=2)
            sessions.append((f"S{n:03d}", f"Sosialisasi {n}", f"Talk {n}", f"Desa {n % 150}",
                             "Balai desa", starts.isoformat(), ends.isoformat(), 60, "", stamp,
                             stamp))  # fmt: skip
        await conn.executemany(
            "INSERT INTO sessions (code, title_id, title_en, village, place, starts_at, ends_at,"
            " capacity, description, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            sessions,
        )
        registrations = [
            (1 + (n % SESSIONS), 1 + n, f"B{n:05d}", "confirmed", stamp, stamp) for n in range(1950)
        ] + [(SESSIONS, 1 + 1950 + n, f"L{n:05d}", "confirmed", stamp, stamp) for n in range(40)]
        await conn.executemany(
            "INSERT INTO registrations (session_id, person_id, booking_code, status, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            registrations,
        )
        await conn.executemany(
            "INSERT INTO messages (person_id, received_at, kind, text, lang, action)"
            " VALUES (?, ?, 'text', 'berapa biaya paspor', 'id', 'faq_answer')",
            [
                (1 + n % VILLAGERS, (now - timedelta(minutes=n)).isoformat())
                for n in range(MESSAGES)
            ],
        )
        await conn.executemany(  # questions to officers: every other one answered
            "INSERT INTO inbox (person_id, question, source, asked_at) VALUES (?, ?, 'asked', ?)",
            [(1 + n * 3, f"Pertanyaan nomor {n} untuk petugas", stamp) for n in range(QUESTIONS)],
        )
        await conn.executemany(
            "INSERT INTO inbox_answers (inbox_id, answer, answered_by, answered_at)"
            " VALUES (?, 'Jawaban petugas', 'budi (konsol)', ?)",
            [(1 + n, stamp) for n in range(0, QUESTIONS, 2)],
        )
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    return f"S{SESSIONS - 1:03d}"


async def timed(browser: httpx.AsyncClient, path: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = await browser.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.sqlite3")
        try:
            largest = await fill(db)
            app = build(db, WITA, session_hours=12)
            async with client(app) as browser:
                await sign_in(browser, "budi")
                pages = {"sessions (/sesi)": "/sesi", "at a glance (/ringkasan)": "/ringkasan",
                         "at the door (50 people)": f"/sesi/{largest}",
                         "officer inbox (/tanya)": "/tanya",
                         "one question": f"/tanya/{QUESTIONS - 1}",
                         "Excel file": f"/sesi/{largest}/peserta.xlsx",
                         "Daftar Hadir PDF": f"/sesi/{largest}/daftar-hadir.pdf"}  # fmt: skip
                print(f"{VILLAGERS} villagers, {SESSIONS} sessions, {MESSAGES} messages, "
                      f"{QUESTIONS} questions to officers; {rounds} rounds each")  # fmt: skip
                for name, path in pages.items():
                    await timed(browser, path, 2)  # warm: templates compiled, caches filled
                    times = await timed(browser, path, rounds)
                    print(f"  {name:26} median {statistics.median(times):7.1f} ms"
                          f"   slowest {max(times):7.1f} ms")  # fmt: skip
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
