"""`desabot console`: the staff console alone, against the database file a bot running
elsewhere (or not at all) uses; until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.app import LiveFaq, build_matcher
from bot.channels.registry import reachable_channels
from bot.cli.common import EXIT_OK, with_config
from bot.config import Config
from bot.console import server
from bot.console.base import Content
from bot.content.faq import Faq, load_faq
from bot.domain import people
from bot.domain.store import Database
from bot.support.logs import setup_logging


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    what = "serve the staff console alone (console.listen:console.port)"
    parser = commands.add_parser("console", parents=[common], help=what, description=what)
    parser.set_defaults(handler=with_config(main))


def programme(config: Config, faq: Faq, content: Content | None) -> server.Programme:
    """What the console is handed besides the database, alike for `run` and `console`."""
    return server.Programme(
        " · ".join(office.name for office in config.offices.values()),
        {topic_id: topic.title["id"] for topic_id, topic in faq.topics.items()},
        reachable_channels(),
        content,
    )


def main(config: Config, args: argparse.Namespace) -> int:
    setup_logging(config.log_level)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        faq = load_faq(config.faq_dir, config.office_placeholders())
        db = await Database.open(config.database)
        try:
            await people.mark_staff(db, config.staff_members())
            live = LiveFaq(config, faq, db, build_matcher(config, faq))
            shown = programme(config, faq, live)
            await server.serve(db, config.console, config.timezone, stop, shown)
        finally:
            await db.close()

    asyncio.run(serve())
    return EXIT_OK
