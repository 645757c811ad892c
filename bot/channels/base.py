"""What every channel shares: what it is handed (``Core``), per-chat ordering, the delivery
worker's set-up, and how the command line prepares it (``Prepared``, ``SetupError``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.content.texts import Texts
from bot.core.messages import Incoming, Reply
from bot.delivery.worker import DeliveryWorker, Send
from bot.domain.outbox import Due
from bot.domain.store import Database

T = TypeVar("T")


class Core(Protocol):
    """What a channel is handed (bot.app.App): a callback for each message, and what its
    delivery worker needs. A channel never sees features, the router or SQL."""

    @property
    def db(self) -> Database: ...

    @property
    def texts(self) -> Texts: ...

    async def handle(self, message: Incoming) -> list[Reply]: ...

    async def render_due(self, due: Due) -> Reply | None: ...

    async def template_values(self, due: Due) -> dict[str, str]: ...

    async def housekeeping(self, now: datetime) -> None: ...


class Channel(Protocol):
    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set."""


class SetupError(Exception):
    """A channel that is switched on but cannot run (a secret missing); the message says
    which, in one line."""


@dataclass(frozen=True)
class Prepared:
    """A channel ready to build: the secrets to keep out of the log, and how to build it."""

    secrets: tuple[str, ...]
    build: Callable[[Core], Channel]


class ChatOrder:
    """Different chats are handled at once, up to ``limit``; one chat's messages strictly in
    order. The chat's lock is taken before a slot, so a burst from one chat (a photo album)
    waits on its own lock without holding the slots other villagers need."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.BoundedSemaphore(limit)
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiting: dict[Hashable, int] = {}

    async def run(self, chat: Hashable | None, work: Awaitable[T]) -> T:
        """``work`` in ``chat``'s turn (None: a chat with nothing to keep in order). A plain
        coroutine, not an async generator: the event loop tracks every live one of those."""
        if chat is None:
            async with self._slots:
                return await work
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._waiting[chat] = self._waiting.get(chat, 0) + 1
        try:
            async with lock, self._slots:
                return await work
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:  # forget idle chats, so memory stays flat
                del self._waiting[chat], self._locks[chat]


class Delivery:
    """A channel's delivery worker as a background task: started with the channel, stopped
    (letting what is in flight finish) before it."""

    def __init__(self, core: Core, channel: str, send: Send, rate: float) -> None:
        self.core, self.channel, self.send, self.rate = core, channel, send, rate
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        """A fresh worker in the running event loop (it recovers rows left "sending")."""
        core = self.core
        worker = DeliveryWorker(
            core.db,
            self.channel,
            core.render_due,
            self.send,
            rate=self.rate,
            housekeeping=core.housekeeping,
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(worker.run(self._stop), name=f"{self.channel}-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None
