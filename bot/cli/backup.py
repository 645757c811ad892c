"""`desabot backup PATH`: a consistent copy of the database, safe while the bot runs."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_OK, EXIT_PROBLEMS, fail, with_config
from bot.config import Config
from bot.domain.backup import BackupError, backup


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the database safely, also while the bot runs",
        description="copy the database safely, also while the bot runs",
    )
    parser.add_argument("path", help="file to write, or a folder (or a path ending in /)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.set_defaults(handler=with_config(main))


def main(config: Config, args: argparse.Namespace) -> int:
    try:
        written = backup(config.database, args.path, args.force)
    except BackupError as exc:
        return fail(exc, EXIT_PROBLEMS)
    print(f"backup written: {written} (integrity check: ok)")
    return EXIT_OK
