"""The `desabot` command line: one module per command group (bot/cli/*.py), each adding
its parser.

--config PATH works before the command (`desabot --config X check`) and after it
(`desabot check --config X`); without it, ./config.yaml.
"""

from __future__ import annotations

import argparse

from bot import __version__
from bot.cli import backup, broadcast, chat, check, console, faq, run, sessions, staff, stats
from bot.cli.common import EXIT_OK, config_option

COMMANDS = (run, console, chat, check, backup, faq, sessions, broadcast, stats, staff)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    config_option(common, top=False)
    parser = argparse.ArgumentParser(
        prog="desabot",
        description="desabot: the safe-migration chat assistant, and its tools for staff.",
        epilog="--config PATH may come before or after the command (default: ./config.yaml).",
    )
    config_option(parser, top=True)
    parser.add_argument("--version", action="version", version=f"desabot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return EXIT_OK
