"""A channel's intake: updates stored first, then handled from the table, each chat in order.

The channel calls ``store`` with what it received and acknowledges it to the platform only
when that returned (a DatabaseError: it does not, and the platform sends it again). A
scheduler takes waiting updates from the table, oldest first, at most MAX_SCHEDULED at a
time (a flood waits in the table, not in memory), and hands each to the core in its chat's
turn (ChatOrder); the replies the core queued are sent at once, in the same turn, so one
chat's replies never overtake each other. At start, updates a crash left waiting are handled
first. Marking handled is the core's (bot/core/pipeline.py, ``take``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.channels.base import ChatOrder, Core
from bot.core.messages import Incoming, cleaned, incoming_to_text, update_key
from bot.core.pipeline import Taken
from bot.domain import intake
from bot.domain.intake import Arrival, Waiting
from bot.domain.store import DatabaseError

log = logging.getLogger(__name__)

MAX_SCHEDULED = 500  # updates in memory at once; the rest wait in the table
MAX_ATTEMPTS = 3  # an update whose handling raised this often is given up (and logged)
RETRIES = 5  # tries while the database fails, waiting 1, 2, 4, 8 s between them...
RETRY_SECONDS = 1.0
LATER_SECONDS = 60.0  # ...then the update waits this long, and it starts again
IDLE_SECONDS = 1.0  # how often the table is looked at when nothing woke the scheduler
DATABASE_PAUSE_SECONDS = 5.0

# sends what handling gave to the chat it came from
Deliver = Callable[[Taken, str], Awaitable[None]]


def arrival(message: Incoming, written_at: int | None = None) -> Arrival:
    """An Incoming as the intake table keeps it (broken Unicode repaired, or it could not be
    stored): under the key the pipeline knows a repeat by, in its chat's order (by
    ``written_at``, the platform's timestamp, among those waiting together)."""
    message = cleaned(message)
    key = update_key(message)
    assert key is not None, "an update to store needs the platform's id"
    chat = message.group or message.user_id
    return Arrival(key, chat, incoming_to_text(message), written_at)


class Intake:
    def __init__(self, core: Core, channel: str, deliver: Deliver, concurrency: int) -> None:
        self.core, self.channel, self.deliver = core, channel, deliver
        self.order = ChatOrder(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._scheduled: dict[asyncio.Task, int] = {}  # task → the row it handles
        self._last_id = 0  # the newest row taken from the table
        self._handling: set[int] = set()  # rows whose chat has its turn now
        self._task: asyncio.Task | None = None

    @property
    def full(self) -> bool:
        """As many updates taken from the table as may be: new ones wait there (or, better,
        with the platform)."""
        return len(self._scheduled) >= MAX_SCHEDULED

    async def store(self, arrivals: list[Arrival]) -> None:
        """Write updates down before the platform is told they arrived; raises DatabaseError
        if they could not be (then do not acknowledge them)."""
        if await intake.store(self.core.db, self.channel, arrivals):
            self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._schedule(), name=f"{self.channel}-intake")

    async def stop(self) -> None:
        """Stop taking updates; those being handled finish, those still waiting for their
        turn stay in the table for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        for task, row_id in list(self._scheduled.items()):
            if row_id not in self._handling:
                task.cancel()
        if self._scheduled:
            await asyncio.gather(*list(self._scheduled), return_exceptions=True)

    async def _schedule(self) -> None:
        with contextlib.suppress(DatabaseError):
            left = await intake.count_waiting(self.core.db, self.channel)
            if left:  # a crash (or a stop in a flood) left these: handled first
                log.info("event=intake_resumed channel=%s waiting=%s", self.channel, left)
        while not self._stopping:
            self._wake.clear()
            room = MAX_SCHEDULED - len(self._scheduled)
            if room > 0:
                try:
                    rows = await intake.waiting(self.core.db, self.channel, self._last_id, room)
                except DatabaseError as exc:
                    log.error("event=database_failed step=intake error=%r", str(exc))
                    await asyncio.sleep(DATABASE_PAUSE_SECONDS)
                    continue
                for row in rows:
                    self._spawn(row)
                if len(rows) == room:
                    continue  # more may wait: look again once there is room
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)

    def _spawn(self, row: Waiting) -> None:
        self._last_id = max(self._last_id, row.id)
        task = asyncio.create_task(self._handle(row))
        self._scheduled[task] = row.id
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._scheduled.pop(task, None)
        if len(self._scheduled) == MAX_SCHEDULED - 1:
            self._wake.set()  # there is room again

    async def _handle(self, row: Waiting) -> None:
        async with self.order.turn(row.chat):
            self._handling.add(row.id)
            try:
                await self._take(row)
            finally:
                self._handling.discard(row.id)

    async def _take(self, row: Waiting) -> None:
        """Handle one update in its chat's turn. While the database fails, the villager gets
        an apology once and the update is tried again, a few times, keeping the chat's
        order; then it is left waiting and tried again a while later."""
        for attempt in range(RETRIES):
            try:
                taken = await self.core.take(row.id, row.payload)
            except Exception:  # a bug: left waiting, tried again at the next start
                log.exception("event=intake_failed id=%s", row.id)
                await self._count_failure(row)
                return
            if not taken.retry or attempt == 0:
                await self._send(taken, row)
            if not taken.retry:
                return
            await asyncio.sleep(RETRY_SECONDS * 2**attempt)
        log.error("event=intake_postponed id=%s wait_seconds=%s", row.id, LATER_SECONDS)
        self._later(row)

    async def _send(self, taken: Taken, row: Waiting) -> None:
        try:
            await self.deliver(taken, row.chat)
        except Exception:  # the database failed meanwhile: the replies stay claimed in the
            log.exception("event=reply_failed id=%s", row.id)  # outbox, sent after a restart

    def _later(self, row: Waiting) -> None:
        if not self._stopping:
            asyncio.get_running_loop().call_later(LATER_SECONDS, self._again, row)

    def _again(self, row: Waiting) -> None:
        if not self._stopping:
            self._spawn(row)

    async def _count_failure(self, row: Waiting) -> None:
        with contextlib.suppress(DatabaseError):
            if await intake.count_attempt(self.core.db, row.id) >= MAX_ATTEMPTS:
                log.error("event=intake_given_up id=%s", row.id)
                await intake.handled(self.core.db, row.id)
