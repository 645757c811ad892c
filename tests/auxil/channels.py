"""Running a real Telegram channel (python-telegram-bot) against the stand-in Bot API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.app import open_app
from bot.channels.telegram import TelegramChannel, TelegramSecrets
from bot.config import Config

TOKEN = "123456:SECRET-token-never-logged"


@asynccontextmanager
async def running_telegram(
    config: Config, token: str = TOKEN, webhook_secret: str | None = None
) -> AsyncIterator[TelegramChannel]:
    """The core on ``config``'s database with its Telegram channel started; stopped after."""
    async with open_app(config) as app:
        secrets = TelegramSecrets(token, webhook_secret)
        channel = TelegramChannel(
            app, config.telegram, secrets, app.texts.commands, config.webhooks
        )
        await channel.start()
        try:
            yield channel
        finally:
            await channel.stop()


def free_port() -> int:
    """A port nothing listens on now (for a webhook server in a test)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def buttons(message: dict) -> list[str]:
    """The callback data of a sent message's inline keyboard."""
    markup = message["reply_markup"] or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
