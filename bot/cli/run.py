"""`desabot run`: every channel that is switched on (bot/channels/registry.py), one core."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.app import App, open_app
from bot.channels.base import Prepared, SetupError
from bot.channels.registry import CHANNELS
from bot.cli import console as console_cli
from bot.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, with_config
from bot.config import TOKEN_ENV, Config
from bot.console import server as console
from bot.domain.store import StoreError
from bot.support.logs import REDACTED, setup_logging


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    what = f"run the bot (Telegram with ${TOKEN_ENV}; WhatsApp when enabled in config)"
    parser = commands.add_parser("run", parents=[common], help=what, description=what)
    parser.set_defaults(handler=with_config(main))


def prepare(config: Config) -> list[Prepared] | str:
    """The channels to run; a message naming what is missing when one cannot run."""
    prepared = []
    for entry in CHANNELS:
        try:
            channel = entry.adapter().prepare(config)
        except SetupError as exc:
            return str(exc)
        if channel is not None:
            prepared.append(channel)
    if not prepared:
        first, *others = [entry.enable for entry in CHANNELS]
        return first + "".join(f" (or {other})" for other in others)
    return prepared


def main(config: Config, args: argparse.Namespace) -> int:
    prepared = prepare(config)
    if isinstance(prepared, str):
        return fail(prepared)
    hidden = [value for channel in prepared for value in channel.secrets if value]
    setup_logging(config.log_level, secrets=hidden)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with open_app(config) as app:
            await app.db.check_writable()
            await _serve(app, prepared, stop, config)

    try:
        asyncio.run(serve())
    except StoreError as exc:  # a full disk, a read-only file: restarting will not help
        return fail(exc, EXIT_USAGE)
    except Exception as exc:  # a rejected token, a port in use: one clear line
        message = str(exc) or type(exc).__name__
        for value in hidden:
            message = message.replace(value, REDACTED)
        return fail(f"cannot run the bot: {message}", EXIT_FAILED)
    return EXIT_OK


async def _serve(app: App, prepared: list[Prepared], stop: asyncio.Event, config: Config) -> None:
    channels = [channel.build(app) for channel in prepared]
    served = [channel.serve(stop) for channel in channels]
    if config.console.enabled:  # the staff console in the same loop, on the same database
        programme = console_cli.programme(config, app)
        served.append(console.serve(app.db, config.console, config.timezone, stop, programme))
    await asyncio.gather(*served)
