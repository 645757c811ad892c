"""`desabot console`: the staff console alone, against the database file a bot running
elsewhere (or not at all) uses; until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.app import App, open_app
from bot.channels.registry import reachable_channels
from bot.channels.whatsapp import PARAMETER_LIMIT, template_parameter
from bot.cli.common import EXIT_OK, with_config
from bot.config import Config
from bot.console import server
from bot.console.base import Programme, Shown, TemplateShown
from bot.console.words import words
from bot.core.messages import fits_caption
from bot.support.logs import setup_logging


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    what = "serve the staff console alone (console.listen:console.port)"
    parser = commands.add_parser("console", parents=[common], help=what, description=what)
    parser.set_defaults(handler=with_config(main))


def programme(config: Config, app: App) -> Programme:
    """What the console is handed besides the database, alike for `run` and `console`."""

    def preview(text: str, office: str, lang: str) -> Shown:
        reply = app.broadcast_preview(text, office, lang)
        fits = tuple(channel for channel, yes in fits_caption(reply.text).items() if yes)
        return Shown(reply.text, tuple(b.label for b in reply.flat_buttons()), fits)

    def template(text: str, office: str, lang: str, picture: bool) -> TemplateShown | None:
        found = config.whatsapp.template_for("broadcast", picture, lang)
        if found is None:
            return None
        office_name = app.env.texts.office_values.get(f"{office}.name", "")
        # the name is filled in per person: the preview says so
        values = {"text": text, "office": office_name, "name": words(lang)["bc_recipient_name"]}
        filled = tuple(
            (name, template_parameter(values.get(name), PARAMETER_LIMIT[name]))
            for name in found.parameters
        )
        return TemplateShown(found.name, found.language, found.header == "image", filled,
                             found.filled(dict(filled)))  # fmt: skip

    quiet = app.settings.quiet
    return Programme(
        " · ".join(office.name for office in config.offices.values()),
        {topic_id: topic.title["id"] for topic_id, topic in app.env.faq.topics.items()},
        reachable_channels(),
        app.taught,
        config.villages,
        {key: office.name for key, office in config.offices.items()},
        preview,
        template if config.whatsapp.enabled else None,
        quiet.describe() if quiet.start_hour != quiet.end_hour else "",  # none: no note
        config.whatsapp.daily_new_conversations if config.whatsapp.enabled else None,
    )


def main(config: Config, args: argparse.Namespace) -> int:
    setup_logging(config.log_level)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # the bot's own assembly (content, database, staff marked), with no channel: the
        # console's previews and its FAQ pages are the bot's
        async with open_app(config) as app:
            shown = programme(config, app)
            await server.serve(app.db, config.console, config.timezone, stop, shown)

    asyncio.run(serve())
    return EXIT_OK
