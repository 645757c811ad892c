"""The delivery worker: sends a channel's due outbox rows, paced, in order, with retries.

Rows are rendered when they are sent (bot/delivery/render.py), in the reader's language and
with the session as it is then. A row the platform refuses for a moment is tried again later
(for as long as an outage lasts); one it refuses for good is parked with the reason; one
whose person blocked the bot is failed and the person marked inactive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiolimiter import AsyncLimiter

from bot.domain import outbox, people
from bot.domain.outbox import Candidate, Due, iso
from bot.domain.store import Database, DatabaseError

log = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 2.0
SENT_FLUSH_ROWS = 8  # deliveries recorded together...
SENT_FLUSH_SECONDS = 0.02  # ...or after this long
HOUSEKEEPING_SECONDS = 1.0  # while sending: how often due announcements are looked for
DATABASE_PAUSE_SECONDS = 30.0  # after a database error (a full disk): wait, then try again
MAX_ATTEMPTS = 8
BACKOFF_LIMIT = timedelta(minutes=10)


class DeliveryError(Exception):
    """A channel could not deliver. ``kind``: "blocked" (never retry), "rejected" (park the
    message with the error), "retry" (network trouble, flood limit: try again later, for as
    long as it takes), "held" (not yet allowed, as by WhatsApp's daily limit: again after
    ``retry_after``, however long, without a warning each time) or "error" (something
    unforeseen: retried MAX_ATTEMPTS times, then parked)."""

    def __init__(
        self, kind: str, detail: str, retry_after: float | None = None, parts_sent: int = 0
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.retry_after = retry_after
        self.parts_sent = parts_sent  # of a message in parts: how many went out before it


Render = Callable[[Due], Awaitable[object | None]]  # None: nothing to send any more
# sends a rendered row; may return the platform's id of the message (for status callbacks)
Send = Callable[[Due, object], Awaitable[str | None]]
Housekeeping = Callable[[datetime], Awaitable[None]]


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
        # one write of delivery marks at a time: while it waits for a slow disk, the chats
        # that fill the next batch wait too, so a crash then re-sends a few tens, not
        # everything sent meanwhile
        self._flush_lock = asyncio.Lock()

    async def recover(self) -> None:
        await outbox.recover(self.db, self.channel)

    async def run(self, stop: asyncio.Event, recover: bool = True) -> None:
        """Deliver until ``stop`` is set. The next batch is claimed while the last one is
        still going out, so the queue never stands still between batches; a chat that still
        has messages in flight is left for a later batch, so its messages stay in order.
        ``recover``: first put back rows a crash left "sending" (unless the caller did)."""
        if recover:
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
            except DatabaseError as exc:  # a full disk: one line, then a pause, not a flood
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
        rows = await outbox.due_rows(self.db, self.channel, now, False, BATCH, busy)
        if len(rows) < BATCH:
            rows += await outbox.due_rows(self.db, self.channel, now, True, BATCH - len(rows), busy)
        wanted = [row for row in rows if not await self._skipped(row, iso(now))]
        groups: dict[str, list[Due]] = {}
        for item in await outbox.claim(self.db, wanted):
            groups.setdefault(item.channel_user_id, []).append(item)
        return groups

    async def _skipped(self, row: Candidate, now: str) -> bool:
        """Rows not to send: expired, or an announcement its person no longer wants."""
        reason = None
        announcement = row.due.broadcast_id is not None
        if row.expires_at and row.expires_at <= now:
            reason = "expired: its session had started"
        elif announcement and not row.subscribed:
            reason = "stopped announcements"
        elif announcement and not row.active:
            reason = "inactive: blocked the bot"
        if reason:
            await outbox.finish(self.db, row.due.id, "dropped", reason)
            log.info("event=outbox_dropped id=%s reason=%r", row.due.id, reason)
        return reason is not None

    async def send_now(self, items: list[Due]) -> None:
        """Replies to someone who just wrote, claimed by the caller: sent at once, in order,
        not paced with the queue (the platform's own limits still apply in the channel). One
        refused for a moment goes back to the queue with those after it, as any row."""
        await self._in_order(items)

    async def _deliver_in_order(self, items: list[Due]) -> int:
        """One chat's rows, one after another, paced."""
        async with self.in_flight:
            await self._in_order(items, paced=True)
        return len(items)

    async def _in_order(self, items: list[Due], paced: bool = False) -> None:
        """When one must wait for a retry, the rest wait with it, so a later message never
        overtakes an earlier one."""
        for index, item in enumerate(items):
            if paced:
                await self.limiter.acquire()
            retry_at = await self._deliver(item)
            if retry_at is not None:
                await outbox.postpone(self.db, item, items[index + 1 :], retry_at)
                break

    async def _deliver(self, due: Due) -> str | None:
        """Send one row; returns the time it will be retried at, or None when it is done."""
        try:
            reply = await self.render(due)
            if reply is None:
                await outbox.finish(self.db, due.id, "dropped", "nothing to send any more")
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
        if error.kind == "held":  # not a failure: its turn comes at a known time, and the
            # person's other messages (a reminder) need not wait for it
            when = iso(self.clock() + timedelta(seconds=error.retry_after or 60))
            await outbox.hold(self.db, due.id, when, str(error))
            return None
        log.warning("event=outbox_failed id=%s kind=%s error=%r", due.id, error.kind, str(error))
        if error.kind == "blocked":
            await outbox.finish(self.db, due.id, "failed", f"blocked: {error}")
            if due.to_person:  # they blocked the bot: no announcements until they write again
                await people.mark_inactive(self.db, due.person_id)
            return None
        if error.kind == "rejected" or (error.kind == "error" and due.attempts + 1 >= MAX_ATTEMPTS):
            await outbox.finish(self.db, due.id, "parked", str(error))
            return None
        # network trouble or a flood limit: wait and try again, however long the outage lasts
        wait = timedelta(seconds=error.retry_after or 2 ** min(due.attempts + 1, 10))
        when = iso(self.clock() + min(wait, BACKOFF_LIMIT))
        parts = due.parts_sent + error.parts_sent if error.parts_sent else None
        await outbox.retry_at(self.db, due.id, when, str(error), parts)
        return when

    async def _mark_sent(self, outbox_id: int, platform_id: str | None = None) -> None:
        """Record a delivery. Marks are written a few at a time (SENT_FLUSH_ROWS, or after
        SENT_FLUSH_SECONDS), which halves the database work per message; a crash before the
        write re-sends at most those few (and the batch being written, and the ones in
        flight): about 3 x SENT_FLUSH_ROWS plus in_flight, however slow the disk."""
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
        async with self._flush_lock:
            if self._flush_timer is not None:
                self._flush_timer.cancel()
                self._flush_timer = None
            sent, self._sent = self._sent, []
            await outbox.mark_sent(self.db, sent)


def _finished(sending: dict[asyncio.Task, int], busy: set[str], chat: str, task: asyncio.Task):
    """A chat's delivery task ended: free the chat; a crash in it is logged, not lost."""
    sending.pop(task, None)
    busy.discard(chat)
    if not task.cancelled() and task.exception() is not None:
        log.error("event=outbox_delivery_failed error=%r", task.exception())
