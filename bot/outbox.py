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
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.store import Database, utc_now

log = logging.getLogger(__name__)

BATCH = 50
POLL_SECONDS = 2.0
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
) -> None:
    """Queue one message; a second row with the same dedupe key is ignored."""
    await conn.execute(
        "INSERT INTO outbox (person_id, session_id, text_key, values_json, due_at, expires_at,"
        " dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
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
    message with the error), or "retry" (network trouble, flood limit: try again later)."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True)
class Due:
    id: int
    person_id: int
    channel_user_id: str
    lang: str
    session_id: int | None
    text_key: str
    values: dict[str, str]
    attempts: int


Render = Callable[[Due], Awaitable[object | None]]  # None: nothing to send any more
Send = Callable[[Due, object], Awaitable[None]]


class DeliveryWorker:
    """Sends due outbox rows of one channel, one at a time (the channel limits the rate)."""

    def __init__(
        self,
        db: Database,
        channel: str,
        render: Render,
        send: Send,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.channel = db, channel
        self.render, self.send, self.clock = render, send, clock

    async def recover(self) -> None:
        """Rows left "sending" by a crash go back to the queue (they may arrive twice)."""
        await self.db.write_one(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND person_id IN"
            " (SELECT id FROM people WHERE channel = ?)",
            (self.channel,),
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.recover()
        while not stop.is_set():
            try:
                sent = await self.drain_once()
            except Exception:  # the worker must outlive one bad row or a busy database
                log.exception("event=outbox_drain_failed")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)

    async def drain_once(self) -> int:
        """Send what is due now; returns how many rows were handled."""
        now = iso(self.clock())
        rows = await self.db.fetchall(
            "SELECT o.id, o.person_id, p.channel_user_id, p.lang, o.session_id, o.text_key,"
            " o.values_json, o.attempts, o.expires_at FROM outbox o"
            " JOIN people p ON p.id = o.person_id"
            " WHERE o.status = 'pending' AND o.due_at <= ? AND p.channel = ?"
            " ORDER BY o.due_at, o.id LIMIT ?",
            (now, self.channel, BATCH),
        )
        for row in rows:
            if row["expires_at"] and row["expires_at"] <= now:
                await self._finish(row["id"], "dropped", "expired: its session had started")
                log.info("event=outbox_dropped id=%s reason=expired", row["id"])
                continue
            due = Due(
                row["id"],
                row["person_id"],
                row["channel_user_id"],
                row["lang"],
                row["session_id"],
                row["text_key"],
                json.loads(row["values_json"]),
                row["attempts"],
            )
            await self._deliver(due)
        return len(rows)

    async def _deliver(self, due: Due) -> None:
        claimed = await self.db.write_one(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending' RETURNING id",
            (due.id,),
        )
        if not claimed:
            return  # someone else took it
        try:
            reply = await self.render(due)
            if reply is None:
                await self._finish(due.id, "dropped", "nothing to send any more")
                return
            await self.send(due, reply)
        except DeliveryError as error:
            await self._failed(due, error)
            return
        except Exception as exc:  # anything unforeseen: back to the queue, never left "sending"
            log.exception("event=outbox_unexpected id=%s", due.id)
            await self._failed(due, DeliveryError("retry", repr(exc)))
            return
        await self._finish(due.id, "sent", None)

    async def _failed(self, due: Due, error: DeliveryError) -> None:
        log.warning("event=outbox_failed id=%s kind=%s error=%r", due.id, error.kind, str(error))
        if error.kind == "blocked":
            await self._finish(due.id, "failed", f"blocked: {error}")
        elif error.kind == "rejected" or due.attempts + 1 >= MAX_ATTEMPTS:
            await self._finish(due.id, "parked", str(error))
        else:
            wait = timedelta(seconds=error.retry_after or 2 ** (due.attempts + 1))
            retry_at = iso(self.clock() + min(wait, BACKOFF_LIMIT))
            await self.db.write_one(
                "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ? WHERE id = ?",
                (retry_at, str(error), due.id),
            )

    async def _finish(self, outbox_id: int, status: str, error: str | None) -> None:
        await self.db.write_one(
            "UPDATE outbox SET status = ?, last_error = ?, sent_at = ? WHERE id = ?",
            (status, error, utc_now() if status == "sent" else None, outbox_id),
        )
