"""`desabot chat`: the bot in this terminal (the same core as Telegram and WhatsApp)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import open_app
from bot.channels.console import CHANNEL, ConsoleChannel
from bot.cli.common import EXIT_OK, with_config
from bot.config import LANGUAGES, Config
from bot.support.logs import setup_logging


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    chat = commands.add_parser(
        "chat",
        parents=[common],
        help="chat with the bot in this terminal",
        description="chat with the bot in this terminal",
    )
    chat.add_argument("--user-id", default="local", help="who you are to the bot (default: local)")
    chat.add_argument("--name", default="", help="your name, as the bot greets you")
    chat.add_argument("--lang", choices=LANGUAGES, help="language (default: remembered, or id)")
    chat.add_argument("--staff", action="store_true", help="try the staff commands (/sesi, ...)")
    chat.set_defaults(handler=with_config(main))


def main(config: Config, args: argparse.Namespace) -> int:
    setup_logging("WARNING")

    async def chat() -> None:
        async with open_app(config) as app:
            if args.staff:
                app.settings.staff_ids = app.settings.staff_ids | {(CHANNEL, args.user_id)}
            if args.lang:
                await app.use_language(CHANNEL, args.user_id, args.name, args.lang)
            channel = ConsoleChannel(app, sys.stdin, sys.stdout, args.user_id, args.name, args.lang)
            await channel.run()

    asyncio.run(chat())
    return EXIT_OK
