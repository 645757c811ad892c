"""Serving the console with uvicorn in the caller's event loop (as python-telegram-bot's
custom-webhook example serves Starlette): `desabot run` next to the channels, or `desabot
console` alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from bot.config import ConsoleConfig
from bot.console.base import Programme
from bot.console.web import build
from bot.domain.store import Database

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The bot handles SIGTERM and SIGINT itself (its ``stop`` event): uvicorn must not."""
        yield


async def serve(
    db: Database,
    config: ConsoleConfig,
    timezone,
    stop: asyncio.Event,
    programme: Programme | None = None,
) -> None:
    """Serve the console on ``config.listen:port`` until ``stop`` is set."""
    app = build(db, timezone, config.session_hours, programme)
    server = _Server(
        uvicorn.Config(
            app,
            host=config.listen,
            port=config.port,
            log_config=None,  # the bot's own logging
            access_log=False,  # paths and addresses of staff: not needed in the log
            proxy_headers=True,  # behind the TLS proxy: the client's address, and https
            forwarded_allow_ips="127.0.0.1",
            lifespan="off",
        )
    )
    task = asyncio.create_task(server.serve(), name="console")
    log.info("event=console_started port=%s", config.port)
    try:
        await asyncio.wait({task, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
    finally:
        server.should_exit = True
        await task
        log.info("event=console_stopped")
