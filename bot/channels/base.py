"""What every channel shares: what it is handed (``Core``), per-chat ordering, the delivery
worker's set-up, and how the command line prepares it (``Prepared``, ``SetupError``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.content.texts import Texts
from bot.core.messages import Incoming, Reply
from bot.core.pipeline import Taken
from bot.delivery.worker import DeliveryWorker, Send
from bot.domain.outbox import Due
from bot.domain.store import Database


class Core(Protocol):
    """What a channel is handed (bot.app.App): a callback for each message (``take`` for one
    stored in the intake table first, bot/channels/intake.py), and what its delivery worker
    needs. A channel never sees features, the router or SQL."""

    @property
    def db(self) -> Database: ...

    @property
    def texts(self) -> Texts: ...

    async def handle(self, message: Incoming) -> list[Reply]: ...

    async def take(self, intake_id: int, payload: str) -> Taken: ...

    async def render_due(self, due: Due) -> Reply | None: ...

    async def template_values(self, due: Due) -> dict[str, str]: ...

    async def picture(self, picture_id: int) -> bytes | None: ...

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
    waits on its own lock without holding the slots other villagers need.

        async with order.turn(chat_id):
            ...

    ``turn`` is a small object, not an async generator or a wrapping coroutine: a burst of
    a hundred waiting updates then costs a hundred small objects, nothing more."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.BoundedSemaphore(limit)
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiting: dict[Hashable, int] = {}

    def turn(self, chat: Hashable | None) -> _Turn:
        """``chat``'s turn (None: a chat with nothing to keep in order)."""
        return _Turn(self, chat)


class _Turn:
    __slots__ = ("chat", "lock", "order")

    def __init__(self, order: ChatOrder, chat: Hashable | None) -> None:
        self.order, self.chat = order, chat
        self.lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        order, chat = self.order, self.chat
        if chat is not None:
            self.lock = order._locks.setdefault(chat, asyncio.Lock())
            order._waiting[chat] = order._waiting.get(chat, 0) + 1
        try:
            if self.lock is not None:
                await self.lock.acquire()
            try:
                await order._slots.acquire()
            except BaseException:
                if self.lock is not None:
                    self.lock.release()
                raise
        except BaseException:
            self._forget()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.order._slots.release()
        if self.lock is not None:
            self.lock.release()
        self._forget()

    def _forget(self) -> None:
        """Forget a chat nobody waits in any more, so memory stays flat."""
        order, chat = self.order, self.chat
        if chat is None:
            return
        order._waiting[chat] -= 1
        if not order._waiting[chat]:
            del order._waiting[chat], order._locks[chat]


class Delivery:
    """A channel's delivery worker as a background task: started with the channel, stopped
    (letting what is in flight finish) before it."""

    def __init__(self, core: Core, channel: str, send: Send, rate: float) -> None:
        self.core, self.channel, self.send, self.rate = core, channel, send, rate
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self.worker: DeliveryWorker

    async def start(self) -> None:
        """A fresh worker in the running event loop. Rows a crash left "sending" go back to
        the queue first, before any new reply is claimed."""
        core = self.core
        self.worker = DeliveryWorker(
            core.db,
            self.channel,
            core.render_due,
            self.send,
            rate=self.rate,
            housekeeping=core.housekeeping,
        )
        await self.worker.recover()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            self.worker.run(self._stop, recover=False), name=f"{self.channel}-outbox"
        )

    async def send_now(self, items: list[Due]) -> None:
        """Replies just queued and claimed (bot/core/pipeline.py, Taken.queued), sent now."""
        if items:
            await self.worker.send_now(items)

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None
