"""Announcements in the database: audiences, release into the outbox, quiet hours, cancelling,
the summary to the sender, and the delivery worker's handling of who may still receive them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.channels.registry import reachable_channels
from bot.core.messages import Reply
from bot.delivery.worker import DeliveryError, DeliveryWorker
from bot.domain import broadcasts
from bot.domain.broadcasts import Audience, BroadcastError, QuietHours
from bot.domain.people import set_subscribed, set_village, touch_person
from bot.domain.registrations import register
from bot.domain.sessions import create_session
from bot.domain.store import Database

WITA = ZoneInfo("Asia/Makassar")
NIGHT = QuietHours(WITA, 21, 7)
NEVER_QUIET = QuietHours(WITA, 0, 0)
REACHABLE = reachable_channels()  # Telegram and WhatsApp, not the terminal


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "broadcasts.sqlite3")
    yield database
    await database.close()


async def villager(db, n: int, village: str | None = None, channel: str = "telegram") -> int:
    person = await touch_person(db, channel, str(n), f"Warga {n}", "id")
    if village:
        await set_village(db, person.id, village)
    return person.id


async def announce(db, audience: Audience, send_at: datetime | None = None, sender=None):
    return await broadcasts.create_broadcast(
        db,
        text_id="Ada sesi paspor hari Sabtu.",
        text_en="Passport session on Saturday.",
        office="bp3mi",
        audience=audience,
        send_at=send_at or datetime.now(UTC),
        created_by="test",
        sender_id=sender,
    )


async def outbox(db, broadcast_id: int) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT person_id, status, due_at FROM outbox WHERE broadcast_id = ? ORDER BY person_id",
        (broadcast_id,),
    )
    return [tuple(r) for r in rows]


def wita(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WITA)


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        (wita(2026, 12, 1, 22, 30), wita(2026, 12, 2, 7)),
        (wita(2026, 12, 2, 3, 0), wita(2026, 12, 2, 7)),
        (wita(2026, 12, 2, 21, 0), wita(2026, 12, 3, 7)),
        (wita(2026, 12, 2, 7, 0), None),
        (wita(2026, 12, 2, 20, 59), None),
    ],
)
def test_quiet_hours_wrap_midnight_and_end_in_the_morning(moment, until):
    assert NIGHT.until(moment) == until
    assert NEVER_QUIET.until(moment) is None


def test_quiet_hours_within_one_day():
    lunch = QuietHours(WITA, 12, 13)
    assert lunch.until(wita(2026, 12, 2, 12, 30)) == wita(2026, 12, 2, 13)
    assert lunch.until(wita(2026, 12, 2, 13, 0)) is None


async def test_audiences_are_parsed_and_unknown_villages_are_named(db):
    await villager(db, 1, "Kaleke")
    configured = ("Langaleso", "Sibowi")
    assert await broadcasts.parse_audience(db, "all", configured) == Audience("all")
    chosen = await broadcasts.parse_audience(db, "village: sibowi , KALEKE", configured)
    assert chosen.villages == ("Sibowi", "Kaleke")  # written as known, case ignored
    with pytest.raises(BroadcastError, match=r"unknown village 'Sibow'.*Langaleso, Sibowi, Kaleke"):
        await broadcasts.parse_audience(db, "village:Sibow", configured)
    for bad in ("", "everyone", "village:", "session:"):
        with pytest.raises(BroadcastError, match="expected"):
            await broadcasts.parse_audience(db, bad, configured)
    with pytest.raises(BroadcastError, match="no scheduled session"):
        await broadcasts.parse_audience(db, "session:ZZZZ", configured)


async def test_a_due_broadcast_reaches_each_subscribed_reachable_member_once(db):
    in_sibowi = await villager(db, 1, "Sibowi")
    also_sibowi = await villager(db, 2, "sibowi")
    elsewhere = await villager(db, 3, "Kaleke")
    stopped = await villager(db, 4, "Sibowi")
    await set_subscribed(db, stopped, False)
    blocked = await villager(db, 5, "Sibowi")
    await db.write_one("UPDATE people SET active = 0 WHERE id = ?", (blocked,))
    await villager(db, 6, "Sibowi", channel="console")  # no way to deliver to a terminal user
    village = await announce(db, Audience("village", ("Sibowi",)))
    everyone = await announce(db, Audience("all"))
    now = datetime.now(UTC)
    assert await broadcasts.release_due(db, now, NEVER_QUIET, REACHABLE) == [
        village.id,
        everyone.id,
    ]
    assert [r[0] for r in await outbox(db, village.id)] == [in_sibowi, also_sibowi]
    assert [r[0] for r in await outbox(db, everyone.id)] == [in_sibowi, also_sibowi, elsewhere]
    assert await broadcasts.release_due(db, now, NEVER_QUIET, REACHABLE) == []  # never twice
    assert (await broadcasts.get_broadcast(db, village.id)).recipients == 2


async def test_a_session_broadcast_goes_to_its_registrants_only(db):
    starts = datetime.now(UTC) + timedelta(days=3)
    session = await create_session(
        db, title_id="Sosialisasi", title_en="Talk", village="Pesaku", place="Balai",
        starts=starts, ends=starts + timedelta(hours=2), capacity=1,
    )  # fmt: skip
    confirmed, waiting = await villager(db, 1), await villager(db, 2)
    await villager(db, 3)
    await register(db, session.code, confirmed)
    await register(db, session.code, waiting)
    audience = await broadcasts.parse_audience(db, f"session:{session.code.lower()}", ())
    assert await broadcasts.count_recipients(db, audience, REACHABLE) == 2
    broadcast = await announce(db, audience)
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    assert [r[0] for r in await outbox(db, broadcast.id)] == [confirmed, waiting]


async def test_a_scheduled_broadcast_waits_for_its_time_and_its_audience_is_taken_then(db):
    later = datetime.now(UTC) + timedelta(hours=5)
    broadcast = await announce(db, Audience("all"), send_at=later)
    assert await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE) == []
    joined_meanwhile = await villager(db, 1)
    assert await broadcasts.release_due(db, later, NEVER_QUIET, REACHABLE) == [broadcast.id]
    assert [r[0] for r in await outbox(db, broadcast.id)] == [joined_meanwhile]


async def test_at_night_announcements_wait_for_the_morning_but_reminders_do_not(db):
    someone = await villager(db, 1)
    night = wita(2026, 12, 1, 23, 15)
    broadcast = await announce(db, Audience("all"), send_at=night - timedelta(hours=3))
    await broadcasts.release_due(db, night, NIGHT, REACHABLE)
    [(_, status, due_at)] = await outbox(db, broadcast.id)
    assert status == "pending" and datetime.fromisoformat(due_at) == wita(2026, 12, 2, 7)

    # released in the evening, still queued at 21:00: held until the morning
    evening = await announce(db, Audience("all"), send_at=wita(2026, 12, 2, 20, 0))
    await broadcasts.release_due(db, wita(2026, 12, 2, 20, 0), NIGHT, REACHABLE)
    async with db.write() as conn:
        from bot.domain.outbox import enqueue

        await enqueue(
            conn, person_id=someone, text_key="notice_promoted", dedupe_key="r",
            due=wita(2026, 12, 2, 21, 30),
        )  # fmt: skip
    await broadcasts.hold_for_quiet_hours(db, wita(2026, 12, 2, 21, 30), NIGHT)
    [(_, _, due_at)] = await outbox(db, evening.id)
    assert datetime.fromisoformat(due_at) == wita(2026, 12, 3, 7)
    reminder = await db.fetchone("SELECT due_at FROM outbox WHERE dedupe_key = 'r'")
    assert datetime.fromisoformat(reminder[0]) == wita(2026, 12, 2, 21, 30)


async def test_cancelling_withdraws_what_is_still_queued(db):
    for n in range(3):
        await villager(db, n)
    broadcast = await announce(db, Audience("all"))
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    first = (await outbox(db, broadcast.id))[0][0]
    await db.write_one(
        "UPDATE outbox SET status = 'sent' WHERE broadcast_id = ? AND person_id = ?",
        (broadcast.id, first),
    )
    assert await broadcasts.cancel_broadcast(db, broadcast.id) == 2
    assert await broadcasts.summary(db, broadcast.id) == {
        "queued": 0, "sent": 1, "failed": 0, "skipped": 2, "parked": 0,
    }  # fmt: skip
    with pytest.raises(BroadcastError, match="already cancelled"):
        await broadcasts.cancel_broadcast(db, broadcast.id)
    with pytest.raises(BroadcastError, match="no broadcast 99"):
        await broadcasts.cancel_broadcast(db, 99)


async def test_a_scheduled_broadcast_cancelled_before_its_time_reaches_nobody(db):
    await villager(db, 1)
    broadcast = await announce(db, Audience("all"), send_at=datetime.now(UTC) + timedelta(1))
    assert await broadcasts.cancel_broadcast(db, broadcast.id) == 0
    assert (
        await broadcasts.release_due(db, datetime.now(UTC) + timedelta(2), NEVER_QUIET, REACHABLE)
        == []
    )
    assert await outbox(db, broadcast.id) == []


async def test_text_is_checked(db):
    with pytest.raises(BroadcastError, match="empty"):
        await announce_text(db, "   \n")
    with pytest.raises(BroadcastError, match="3001 characters; at most 3000"):
        await announce_text(db, "x" * 3001)


async def announce_text(db, text: str):
    return await broadcasts.create_broadcast(
        db, text_id=text, office="bp3mi", audience=Audience("all"),
        send_at=datetime.now(UTC), created_by="test",
    )  # fmt: skip


class Recorder:
    """A channel's send: records who got what; some chats blocked, some refused."""

    def __init__(self, blocked=(), refused=(), flooded=()) -> None:
        self.sent: list[str] = []
        self.blocked, self.refused, self.flooded = set(blocked), set(refused), set(flooded)

    async def render(self, due) -> Reply:
        return Reply(f"{due.text_key} {due.broadcast_id}")

    async def send(self, due, reply) -> None:
        chat = due.channel_user_id
        if chat in self.blocked:
            raise DeliveryError("blocked", "Forbidden: bot was blocked by the user")
        if chat in self.refused:
            raise DeliveryError("rejected", "Bad Request: chat not found")
        if chat in self.flooded:
            self.flooded.discard(chat)
            raise DeliveryError("retry", "Flood control exceeded", retry_after=3)
        self.sent.append(chat)


async def test_delivery_sorts_failures_marks_blockers_inactive_and_tells_the_sender(db):
    staff = await villager(db, 100)
    people = [await villager(db, n) for n in range(1, 6)]
    recorder = Recorder(blocked={"2"}, refused={"3"}, flooded={"4"})
    clock = [datetime.now(UTC)]
    worker = DeliveryWorker(
        db, "telegram", recorder.render, recorder.send, rate=1000,
        housekeeping=lambda now: housekeeping(db, now), clock=lambda: clock[0],
    )  # fmt: skip
    broadcast = await announce(db, Audience("all"), sender=staff)
    await worker.drain_once()
    assert sorted(recorder.sent) == ["1", "100", "5"]
    assert await broadcasts.summary(db, broadcast.id) == {
        "queued": 1, "sent": 3, "failed": 1, "skipped": 0, "parked": 1,
    }  # fmt: skip
    inactive = await db.fetchall("SELECT id FROM people WHERE active = 0")
    assert [r[0] for r in inactive] == [people[1]]
    clock[0] += timedelta(seconds=5)  # past retry_after
    await worker.drain_once()
    assert "4" in recorder.sent
    await worker.drain_once()  # housekeeping sees nobody left: done, and the sender is told
    done = await broadcasts.get_broadcast(db, broadcast.id)
    assert done.status == "done" and done.finished_at
    await worker.drain_once()
    assert recorder.sent[-1] == "100"
    summary = await db.fetchone("SELECT text_key, values_json FROM outbox WHERE person_id = ?"
                                " AND broadcast_id IS NULL", (staff,))  # fmt: skip
    assert summary[0] == "broadcast_done"
    assert '"sent": "4"' in summary[1] and '"failed": "1"' in summary[1]


async def housekeeping(db, now):
    await broadcasts.release_due(db, now, NEVER_QUIET, REACHABLE)
    await broadcasts.finish_done(db, now)


async def test_who_stops_announcements_or_blocks_the_bot_before_their_turn_is_skipped(db):
    keen, stops, blocks = [await villager(db, n) for n in (1, 2, 3)]
    recorder = Recorder()
    worker = DeliveryWorker(db, "telegram", recorder.render, recorder.send, rate=1000)
    broadcast = await announce(db, Audience("all"))
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    await set_subscribed(db, stops, False)  # typed BERHENTI after it was queued
    await db.write_one("UPDATE people SET active = 0 WHERE id = ?", (blocks,))
    await worker.drain_once()
    assert recorder.sent == ["1"]
    statuses = await db.fetchall(
        "SELECT person_id, status, last_error FROM outbox WHERE broadcast_id = ? ORDER BY 1",
        (broadcast.id,),
    )
    assert [tuple(r) for r in statuses] == [
        (keen, "sent", None),
        (stops, "dropped", "stopped announcements"),
        (blocks, "dropped", "inactive: blocked the bot"),
    ]


async def test_one_persons_messages_go_out_in_order_while_chats_run_concurrently(db):
    from bot.domain.outbox import enqueue

    order: list[str] = []

    async def send(due, reply) -> None:
        order.append(f"{due.channel_user_id}:{due.text_key}")

    ids = [await villager(db, n) for n in range(1, 4)]
    async with db.write() as conn:
        for step in ("a", "b", "c"):
            for person_id in ids:
                await enqueue(
                    conn, person_id=person_id, text_key=step, dedupe_key=f"{person_id}{step}",
                    due=datetime.now(UTC) - timedelta(seconds=1),
                )  # fmt: skip
    worker = DeliveryWorker(db, "telegram", Recorder().render, send, rate=1000)
    await worker.drain_once()
    for n in ("1", "2", "3"):
        assert [o for o in order if o.startswith(f"{n}:")] == [f"{n}:a", f"{n}:b", f"{n}:c"]


async def run_worker_until(worker: DeliveryWorker, done, seconds: float = 10) -> None:
    """Run the real worker loop until ``done()`` holds (or fail after ``seconds``)."""
    import asyncio

    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(int(seconds / 0.02)):
            if await done():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the worker did not finish in time")
    finally:
        stop.set()
        await task


async def test_a_message_waiting_for_a_retry_is_not_overtaken_by_the_next_one(db):
    from bot.domain.outbox import enqueue

    someone = await villager(db, 1)
    async with db.write() as conn:
        for key in ("first", "second", "third"):
            await enqueue(
                conn, person_id=someone, text_key=key, dedupe_key=key,
                due=datetime.now(UTC) - timedelta(seconds=1),
            )  # fmt: skip
    order: list[str] = []
    failures = {"first": 1}

    async def send(due, reply) -> None:
        if failures.get(due.text_key):
            failures[due.text_key] -= 1
            raise DeliveryError("retry", "Timed out", retry_after=0.3)
        order.append(due.text_key)

    worker = DeliveryWorker(db, "telegram", Recorder().render, send, rate=1000)

    async def all_sent() -> bool:
        return len(order) == 3

    await run_worker_until(worker, all_sent)
    assert order == ["first", "second", "third"]


async def test_network_trouble_is_retried_however_long_it_lasts(db):
    from bot.delivery.worker import MAX_ATTEMPTS
    from bot.domain.outbox import enqueue

    someone = await villager(db, 1)
    async with db.write() as conn:
        await enqueue(
            conn, person_id=someone, text_key="notice_promoted", dedupe_key="n",
            due=datetime.now(UTC) - timedelta(seconds=1),
        )  # fmt: skip
    clock = [datetime.now(UTC)]

    async def offline(due, reply) -> None:
        raise DeliveryError("retry", "Network is unreachable")

    worker = DeliveryWorker(
        db, "telegram", Recorder().render, offline, rate=1000, clock=lambda: clock[0]
    )
    for _ in range(MAX_ATTEMPTS + 4):
        await worker.drain_once()
        clock[0] += timedelta(minutes=11)  # past the longest wait
    row = await db.fetchone("SELECT status, attempts FROM outbox WHERE dedupe_key = 'n'")
    assert tuple(row) == ("pending", MAX_ATTEMPTS + 4)  # still queued, never given up

    async def broken(due, reply) -> None:
        raise RuntimeError("a bug")

    worker = DeliveryWorker(
        db, "telegram", Recorder().render, broken, rate=1000, clock=lambda: clock[0]
    )
    await worker.drain_once()
    row = await db.fetchone("SELECT status FROM outbox WHERE dedupe_key = 'n'")
    assert row[0] == "parked"  # a bug, not an outage: parked after MAX_ATTEMPTS


async def test_cancelling_while_sending_stops_within_a_moment(db, app):
    del db
    c = app
    for n in range(300):
        await touch_person(c.db, "telegram", str(1000 + n), "Warga", "id")
    sent: list[str] = []

    async def slow_send(due, reply) -> None:
        import asyncio

        await asyncio.sleep(0.005)
        sent.append(due.channel_user_id)

    worker = DeliveryWorker(
        c.db, "telegram", c.render_due, slow_send, rate=50, housekeeping=c.housekeeping
    )
    broadcast = await announce(c.db, Audience("all"))
    withdrawn = []

    async def cancelled_after_50() -> bool:
        if len(sent) >= 50 and not withdrawn:
            withdrawn.append(await broadcasts.cancel_broadcast(c.db, broadcast.id))
            withdrawn.append(len(sent))
        if not withdrawn:
            return False
        counts = await broadcasts.summary(c.db, broadcast.id)
        return counts["queued"] == 0

    await run_worker_until(worker, cancelled_after_50)
    after_cancel = len(sent) - withdrawn[1]
    # the rows already taken from the queue stop within about a second (50 at this rate),
    # not after the whole claimed batch (well over 100)
    assert after_cancel <= 90, f"{after_cancel} sent after the cancel"
    counts = await broadcasts.summary(c.db, broadcast.id)
    assert counts["sent"] == len(sent) and counts["sent"] + counts["skipped"] == 300
    assert withdrawn[0] >= 300 - len(sent)  # what the cancel reported covers what was not sent
