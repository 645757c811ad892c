"""The channels `desabot run` can serve, each a thin adapter module with a config section.
Every one has a delivery worker, so people on it can be reached later (reminders,
announcements). Adding one: its adapter module (with ``prepare(config)``), one entry below,
its section in bot/config.py.

The terminal chat (bot/channels/console.py) is not here: `desabot chat` runs it, and it has
no delivery worker.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ChannelEntry:
    name: str  # as stored with each person (people.channel)
    module: str  # its adapter, imported only when it runs (python-telegram-bot is heavy)
    texts: tuple[str, ...] = ()  # text keys the adapter itself says
    ids_are_phone_numbers: bool = False  # then they never appear in the log
    enable: str = ""  # how an admin switches it on, for `desabot run`'s message

    def adapter(self) -> ModuleType:
        return importlib.import_module(self.module)


CHANNELS = (
    ChannelEntry(
        "telegram",
        "bot.channels.telegram",
        enable="set the bot token in the environment variable TELEGRAM_BOT_TOKEN",
    ),
    ChannelEntry(
        "whatsapp",
        "bot.channels.whatsapp",
        texts=("whatsapp_choose", "whatsapp_list_button"),
        ids_are_phone_numbers=True,
        enable="enable whatsapp in config.yaml",
    ),
)


def reachable_channels() -> tuple[str, ...]:
    """Channels with a delivery worker: only people on these get announcements."""
    return tuple(entry.name for entry in CHANNELS)
