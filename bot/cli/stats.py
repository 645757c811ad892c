"""`desabot stats`: the staff report of /statistik, in the terminal."""

from __future__ import annotations

import argparse
import asyncio

from bot.app import open_app
from bot.cli.common import EXIT_OK, with_config
from bot.config import LANGUAGES, Config
from bot.features.staff_reports import report


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "stats",
        parents=[common],
        help="villagers, questions, sessions, announcements",
        description="villagers, questions, sessions, announcements",
    )
    parser.add_argument("--lang", choices=LANGUAGES, help="language (default: default_language)")
    parser.set_defaults(handler=with_config(main))


def main(config: Config, args: argparse.Namespace) -> int:
    async def show() -> None:
        async with open_app(config) as app:
            print(await report(app.speaker(args.lang)))

    asyncio.run(show())
    return EXIT_OK
