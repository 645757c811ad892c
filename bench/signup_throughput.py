"""Sign-ups per second through the core, and what reminders cost to schedule.

    .venv/bin/python bench/signup_throughput.py [--villagers 2000] [--concurrency 50]

1. N villagers who already gave their profile press "Daftar" on one session, `concurrency` at
   a time, through App.handle (the same path a Telegram button takes) and the real
   SQLite file (WAL, synchronous=NORMAL); capacity is N/2 so the waitlist is exercised too.
2. 10,000 registrations spread over 20 sessions, registered twice side by side: with the
   reminder policy (two outbox rows each, in the same transaction) and with a policy that
   queues none; the difference is what scheduling reminders costs.
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

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bot.app import open_app  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.messages import Incoming, Kind  # noqa: E402
from bot.domain.people import touch_person, update_profile  # noqa: E402
from bot.domain.registrations import register  # noqa: E402
from bot.domain.reminders import ReminderPolicy  # noqa: E402
from bot.domain.sessions import create_session  # noqa: E402
from bot.domain.store import Database  # noqa: E402
from conftest import write_config  # noqa: E402

WITA = ZoneInfo("Asia/Makassar")


class NoReminders(ReminderPolicy):
    """The same registrations with nothing to queue: the baseline."""

    def times(self, starts: datetime) -> list:
        return []


async def new_session(db, capacity: int, days: int = 5):
    starts = datetime.now(UTC) + timedelta(days=days)
    return await create_session(
        db, title_id="Bench", title_en="Bench", village="Sibowi", place="Balai",
        starts=starts, ends=starts + timedelta(hours=2), capacity=capacity,
    )  # fmt: skip


async def signups_per_second(villagers: int, concurrency: int) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(Path(folder)))
        async with open_app(config) as app:
            db = app.db
            session = await new_session(db, villagers // 2)
            for n in range(villagers):
                person = await touch_person(db, "bench", str(n), f"Warga {n}", "id")
                await update_profile(
                    db, person.id, full_name=f"Warga {n}", village="Sibowi", consent_at="x"
                )
            press = [
                Incoming("bench", str(n), Kind.BUTTON, f"reg:{session.code}")
                for n in range(villagers)
            ]
            started = time.perf_counter()
            for batch in range(0, villagers, concurrency):
                await asyncio.gather(*(app.handle(m) for m in press[batch : batch + concurrency]))
            elapsed = time.perf_counter() - started
            counts = await db.fetchall(
                "SELECT status, count(*) AS n FROM registrations GROUP BY status"
            )
            by_status = {row["status"]: row["n"] for row in counts}
    return villagers / elapsed, by_status.get("confirmed", 0), by_status.get("waitlisted", 0)


async def registration_seconds(count: int, policy: ReminderPolicy) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.sqlite3")
        try:
            sessions = [await new_session(db, count) for _ in range(20)]
            people = [(await touch_person(db, "bench", str(n), "W", "id")).id for n in range(count)]
            started = time.perf_counter()
            for n, person in enumerate(people):
                await register(db, sessions[n % 20].code, person, policy=policy)
            elapsed = time.perf_counter() - started
            [(queued,)] = await db.fetchall("SELECT count(*) FROM outbox")
        finally:
            await db.close()
    return elapsed, queued


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villagers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rates = []
    for _ in range(args.rounds):
        rate, confirmed, waitlisted = await signups_per_second(args.villagers, args.concurrency)
        rates.append(rate)
    print(
        f"sign-ups through the core: median {statistics.median(rates):.0f}/s"
        f" over {args.rounds} rounds"
        f" ({args.villagers} villagers, {args.concurrency} at a time;"
        f" last round {confirmed} confirmed, {waitlisted} waitlisted)"
    )

    with_reminders = ReminderPolicy(WITA, day_before_hour=9, before_start=timedelta(hours=2))
    already_past = NoReminders(WITA)
    timings = {"with": [], "without": []}
    for _ in range(args.rounds):  # side by side, alternating
        seconds, queued_with = await registration_seconds(args.registrations, with_reminders)
        timings["with"].append(seconds)
        seconds, queued_without = await registration_seconds(args.registrations, already_past)
        timings["without"].append(seconds)
    with_s, without_s = statistics.median(timings["with"]), statistics.median(timings["without"])
    print(
        f"{args.registrations} registrations with reminders:    {with_s:.2f} s"
        f" ({queued_with} outbox rows)"
    )
    print(
        f"{args.registrations} registrations without reminders: {without_s:.2f} s"
        f" ({queued_without} outbox rows)"
    )
    print(
        f"scheduling reminders costs {(with_s - without_s) / args.registrations * 1e6:.0f} µs"
        f" per registration (ratio {with_s / without_s:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
