"""The durable outbox: everything the bot sends later, and the worker that sends it.

A row is written in the same transaction as the change that causes it (a sign-up schedules
its reminders, a cancellation its promotion notice), with a due time, an expiry (a session
reminder is worthless once the session has started) and a dedupe key, so retrying the change
never queues a message twice. The worker claims a due row (pending → sending), sends it and
marks it sent; a crash between the two leaves it "sending", and the next start sends it again:
at most the message in flight at the crash can arrive twice, none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from aiolimiter import AsyncLimiter

from bot.store import Database, utc_now

log = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 2.0
SENT_FLUSH_ROWS = 8  # deliveries recorded together...
SENT_FLUSH_SECONDS = 0.02  # ...or after this long
HOUSEKEEPING_SECONDS = 1.0  # while sending: how often due announcements are looked for
DATABASE_PAUSE_SECONDS = 30.0  # after a database error (a full disk): wait, then try again
MAX_ATTEMPTS = 8
BACKOFF_LIMIT = timedelta(minutes=10)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out: the day before at a fixed hour, and a while before the start."""

    timezone: tzinfo
    day_before_hour: int = 9
    before_start: timedelta = timedelta(hours=2)

    def times(self, starts: datetime) -> list[tuple[str, datetime]]:
        local = starts.astimezone(self.timezone)
        day_before = (local - timedelta(days=1)).replace(
            hour=self.day_before_hour, minute=0, second=0, microsecond=0
        )
        return [("reminder_day_before", day_before), ("reminder_soon", starts - self.before_start)]


async def enqueue(
    conn,
    *,
    person_id: int,
    text_key: str,
    dedupe_key: str,
    due: datetime,
    session_id: int | None = None,
    expires: datetime | None = None,
    values: dict[str, str] | None = None,
    destination: tuple[str, str] | None = None,
) -> None:
    """Queue one message; a second row with the same dedupe key is ignored.

    It goes to the person's chat, or to ``destination`` (channel, chat id) when the message is
    about the person but meant for someone else (a question forwarded to the staff group).
    """
    channel, chat = destination or (None, None)
    await conn.execute(
        "INSERT INTO outbox (person_id, session_id, text_key, values_json, due_at, expires_at,"
        " dedupe_key, created_at, channel, chat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        (
            person_id,
            session_id,
            text_key,
            json.dumps(values or {}),
            iso(due),
            iso(expires) if expires else None,
            dedupe_key,
            utc_now(),
            channel,
            chat,
        ),
    )


async def drop_pending(conn, dedupe_prefix: str) -> None:
    """Withdraw queued messages that no longer apply (a cancelled booking's reminders)."""
    await conn.execute(
        "UPDATE outbox SET status = 'dropped', last_error = 'withdrawn'"
        " WHERE status = 'pending' AND dedupe_key LIKE ?",
        (dedupe_prefix.replace("%", "") + "%",),
    )


class DeliveryError(Exception):
    """A channel could not deliver. ``kind``: "blocked" (never retry), "rejected" (park the
    message with the error), "retry" (network trouble, flood limit: try again later, for as
    long as it takes) or "error" (something unforeseen: retried MAX_ATTEMPTS times, then
    parked)."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True)
class Due:
    id: int
    person_id: int
    channel_user_id: str  # the chat it goes to: the person's, or the staff group's
    lang: str
    session_id: int | None
    text_key: str
    values: dict[str, str]
    attempts: int
    broadcast_id: int | None = None
    to_person: bool = True  # False: about the person, sent elsewhere (the staff group)


Render = Callable[[Due], Awaitable[object | None]]  # None: nothing to send any more
# sends a rendered row; may return the platform's id of the message (for status callbacks)
Send = Callable[[Due, object], Awaitable[str | None]]
Housekeeping = Callable[[datetime], Awaitable[None]]

# A row goes to its own chat (outbox.channel/chat), or else to its person's.
_DESTINATION = "coalesce(o.channel, p.channel)"


class DeliveryWorker:
    """Sends due outbox rows of one channel at ``rate`` messages per second.

    Up to ``in_flight`` chats are sent to at once (a slow answer from the platform does not
    stall the queue); one chat's rows go one after another, in order. Each row is marked sent
    as soon as the platform accepted it, so a crash re-sends at most the rows in flight.
    """

    def __init__(
        self,
        db: Database,
        channel: str,
        render: Render,
        send: Send,
        *,
        rate: float = 25,
        in_flight: int = 8,
        housekeeping: Housekeeping | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.channel = db, channel
        self.render, self.send, self.clock = render, send, clock
        self.housekeeping = housekeeping
        self.limiter = AsyncLimiter(rate, 1)
        self.in_flight = asyncio.Semaphore(in_flight)
        # accepted by the platform, not yet marked sent: (row id, platform message id)
        self._sent: list[tuple[int, str | None]] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task] = set()

    async def recover(self) -> None:
        """Rows left "sending" by a crash go back to the queue (they may arrive twice)."""
        await self.db.write_one(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND id IN"
            f" (SELECT o.id FROM outbox o JOIN people p ON p.id = o.person_id"
            f" WHERE o.status = 'sending' AND {_DESTINATION} = ?)",
            (self.channel,),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set. The next batch is claimed while the last one is
        still going out, so the queue never stands still between batches; a chat that still
        has messages in flight is left for a later batch, so its messages stay in order."""
        await self.recover()
        sending: dict[asyncio.Task, int] = {}  # task → rows it delivers
        busy: set[str] = set()  # chats with a task in flight
        last_housekeeping = -HOUSEKEEPING_SECONDS
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            claimed = 0
            try:
                now = self.clock()
                if loop.time() - last_housekeeping >= HOUSEKEEPING_SECONDS or not sending:
                    last_housekeeping = loop.time()
                    if self.housekeeping is not None:
                        await self.housekeeping(now)
                if sum(sending.values()) < BATCH:  # rows claimed and not yet finished
                    groups = await self._next_batch(now, busy)
                    for chat, items in groups.items():
                        claimed += len(items)
                        busy.add(chat)
                        task = asyncio.create_task(self._deliver_in_order(items))
                        sending[task] = len(items)
                        task.add_done_callback(functools.partial(_finished, sending, busy, chat))
            except sqlite3.Error as exc:  # a full disk: one line, then a pause, not a flood
                log.error("event=database_failed step=outbox error=%r", str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), DATABASE_PAUSE_SECONDS)
            except Exception:  # the worker must outlive one bad row
                log.exception("event=outbox_drain_failed")
            if sending:
                await asyncio.wait(
                    list(sending), timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            elif not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        if sending:  # let what is in flight finish, so it is marked sent
            await asyncio.wait(list(sending))
        await self._flush_all()

    async def drain_once(self) -> int:
        """Housekeeping, then send one batch of what is due and wait for it; returns how many
        rows were handled (tests and one-off runs; ``run`` overlaps batches)."""
        now = self.clock()
        if self.housekeeping is not None:
            await self.housekeeping(now)
        groups = await self._next_batch(now, set())
        await asyncio.gather(*(self._deliver_in_order(items) for items in groups.values()))
        await self._flush_all()
        return sum(len(items) for items in groups.values())

    async def _next_batch(self, now: datetime, busy: set[str]) -> dict[str, list[Due]]:
        """Claim due rows, grouped by chat in order: direct messages (reminders, notices,
        answers) first, then announcements, so a big broadcast never delays a reminder. Chats
        with messages still in flight are left for a later batch, so their order holds."""
        rows = await self._due_rows(now, "IS NULL", BATCH, busy)
        if len(rows) < BATCH:
            rows += await self._due_rows(now, "IS NOT NULL", BATCH - len(rows), busy)
        wanted = [row for row in rows if not await self._skipped(row, iso(now))]
        groups: dict[str, list[Due]] = {}
        for item in await self._claim(wanted):
            groups.setdefault(item.channel_user_id, []).append(item)
        return groups

    async def _due_rows(self, now: datetime, broadcast: str, limit: int, busy: set[str]) -> list:
        # the two partial indexes outbox_due_direct / outbox_due_broadcast serve these
        chat = "coalesce(o.chat, p.channel_user_id)"
        skip = f" AND {chat} NOT IN ({', '.join('?' for _ in busy)})" if busy else ""
        return await self.db.fetchall(
            f"SELECT o.id, o.person_id, {chat} AS chat, p.lang,"
            " o.session_id, o.text_key, o.values_json, o.attempts, o.expires_at,"
            " o.broadcast_id, o.chat IS NULL AS to_person, p.subscribed, p.active"
            " FROM outbox o JOIN people p ON p.id = o.person_id"
            f" WHERE o.status = 'pending' AND o.broadcast_id {broadcast} AND o.due_at <= ?"
            f" AND {_DESTINATION} = ?{skip} ORDER BY o.due_at, o.id LIMIT ?",
            (iso(now), self.channel, *busy, limit),
        )

    async def _skipped(self, row, now: str) -> bool:
        """Rows not to send: expired, or an announcement its person no longer wants."""
        reason = None
        if row["expires_at"] and row["expires_at"] <= now:
            reason = "expired: its session had started"
        elif row["broadcast_id"] is not None and not row["subscribed"]:
            reason = "stopped announcements"
        elif row["broadcast_id"] is not None and not row["active"]:
            reason = "inactive: blocked the bot"
        if reason:
            await self._finish(row["id"], "dropped", reason)
            log.info("event=outbox_dropped id=%s reason=%r", row["id"], reason)
        return reason is not None

    async def _claim(self, rows: list) -> list[Due]:
        """pending → sending in one write; rows another worker took meanwhile are left out."""
        if not rows:
            return []
        marks = ", ".join("?" for _ in rows)
        claimed = await self.db.write_one(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
            f" WHERE status = 'pending' AND id IN ({marks}) RETURNING id",
            [r["id"] for r in rows],
        )
        ours = {r["id"] for r in claimed}
        return [
            Due(
                id=r["id"],
                person_id=r["person_id"],
                channel_user_id=r["chat"],
                lang=r["lang"],
                session_id=r["session_id"],
                text_key=r["text_key"],
                values=json.loads(r["values_json"]),
                attempts=r["attempts"],
                broadcast_id=r["broadcast_id"],
                to_person=bool(r["to_person"]),
            )
            for r in rows
            if r["id"] in ours
        ]

    async def _deliver_in_order(self, items: list[Due]) -> int:
        """One chat's rows, one after another. When one must wait for a retry, the rest wait
        with it, so a later message never overtakes an earlier one."""
        async with self.in_flight:
            for index, item in enumerate(items):
                await self.limiter.acquire()
                retry_at = await self._deliver(item)
                if retry_at is not None:
                    await self._postpone(item, items[index + 1 :], retry_at)
                    break
        return len(items)

    async def _postpone(self, failed: Due, rest: list[Due], retry_at: str) -> None:
        if rest:  # claimed but not tried: back to the queue, the attempt not counted
            marks = ", ".join("?" for _ in rest)
            await self.db.write_one(
                "UPDATE outbox SET status = 'pending', due_at = ?, attempts = attempts - 1"
                f" WHERE id IN ({marks}) AND status = 'sending'",
                (retry_at, *(item.id for item in rest)),
            )
        if failed.to_person:  # queued later for the same person: not before this one either
            await self.db.write_one(
                "UPDATE outbox SET due_at = ? WHERE person_id = ? AND status = 'pending'"
                " AND chat IS NULL AND due_at < ? AND id != ?",
                (retry_at, failed.person_id, retry_at, failed.id),
            )

    async def _deliver(self, due: Due) -> str | None:
        """Send one row; returns the time it will be retried at, or None when it is done."""
        try:
            reply = await self.render(due)
            if reply is None:
                await self._finish(due.id, "dropped", "nothing to send any more")
                return None
            platform_id = await self.send(due, reply)
        except DeliveryError as error:
            return await self._failed(due, error)
        except Exception as exc:  # anything unforeseen: back to the queue, never left "sending"
            log.exception("event=outbox_unexpected id=%s", due.id)
            return await self._failed(due, DeliveryError("error", repr(exc)))
        await self._mark_sent(due.id, platform_id)
        return None

    async def _failed(self, due: Due, error: DeliveryError) -> str | None:
        log.warning("event=outbox_failed id=%s kind=%s error=%r", due.id, error.kind, str(error))
        if error.kind == "blocked":
            await self._finish(due.id, "failed", f"blocked: {error}")
            if due.to_person:  # they blocked the bot: no announcements until they write again
                await self.db.write_one(
                    "UPDATE people SET active = 0 WHERE id = ?", (due.person_id,)
                )
            return None
        if error.kind == "rejected" or (error.kind == "error" and due.attempts + 1 >= MAX_ATTEMPTS):
            await self._finish(due.id, "parked", str(error))
            return None
        # network trouble or a flood limit: wait and try again, however long the outage lasts
        wait = timedelta(seconds=error.retry_after or 2 ** min(due.attempts + 1, 10))
        retry_at = iso(self.clock() + min(wait, BACKOFF_LIMIT))
        await self.db.write_one(
            "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ? WHERE id = ?",
            (retry_at, str(error), due.id),
        )
        return retry_at

    async def _mark_sent(self, outbox_id: int, platform_id: str | None = None) -> None:
        """Record a delivery. Marks are written a few at a time (SENT_FLUSH_ROWS, or after
        SENT_FLUSH_SECONDS), which halves the database work per message; a crash before the
        write re-sends at most those few, like the ones in flight."""
        self._sent.append((outbox_id, platform_id))
        if len(self._sent) >= SENT_FLUSH_ROWS:
            await self._flush_sent()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(SENT_FLUSH_SECONDS, self._flush_later)

    async def _flush_all(self) -> None:
        """Every delivery so far recorded (before returning from a drain, or stopping)."""
        await self._flush_sent()
        if self._flushing:
            await asyncio.gather(*self._flushing)

    def _flush_later(self) -> None:
        self._flush_timer = None
        task = asyncio.create_task(self._flush_sent())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush_sent(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        sent, self._sent = self._sent, []
        if not sent:
            return
        ids = [row_id for row_id, _ in sent]
        marks = ", ".join("?" for _ in ids)
        named = [(row_id, platform_id) for row_id, platform_id in sent if platform_id]
        cases = " ".join("WHEN ? THEN ?" for _ in named)
        platform = f"CASE id {cases} ELSE platform_id END" if named else "platform_id"
        await self.db.write_one(
            f"UPDATE outbox SET status = 'sent', last_error = NULL, sent_at = ?,"
            f" platform_id = {platform} WHERE id IN ({marks})",
            (utc_now(), *(v for pair in named for v in pair), *ids),
        )

    async def _finish(self, outbox_id: int, status: str, error: str | None) -> None:
        await self.db.write_one(
            "UPDATE outbox SET status = ?, last_error = ?, sent_at = ? WHERE id = ?",
            (status, error, utc_now() if status == "sent" else None, outbox_id),
        )


def _finished(sending: dict[asyncio.Task, int], busy: set[str], chat: str, task: asyncio.Task):
    """A chat's delivery task ended: free the chat; a crash in it is logged, not lost."""
    sending.pop(task, None)
    busy.discard(chat)
    if not task.cancelled() and task.exception() is not None:
        log.error("event=outbox_delivery_failed error=%r", task.exception())
