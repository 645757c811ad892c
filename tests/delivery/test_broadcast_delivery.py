"""Announcements going out: the delivery worker sorts failures, marks who blocked the bot,
skips who stopped announcements, keeps one person's messages in order, retries network
trouble for as long as it lasts, and stops within a moment when an announcement is
cancelled; the sender is told the result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auxil.broadcasts import NEVER_QUIET, REACHABLE, announce, villager
from bot.core.messages import Reply
from bot.delivery.worker import DeliveryError, DeliveryWorker
from bot.domain import broadcasts
from bot.domain.broadcasts import Audience
from bot.domain.people import set_subscribed, touch_person


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
