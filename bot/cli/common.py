"""What every `desabot` command shares: exit codes, the config loading, who ran it."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Config, load_config
from bot.domain.store import StoreError
from bot.support.yamlfile import Problem

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
DEFAULT_CONFIG = Path("config.yaml")


def config_option(parser: argparse.ArgumentParser, top: bool) -> None:
    """--config PATH, both before the command and after it. Only the top level has a
    default: a sub-command's would overwrite the PATH given before it."""
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG if top else argparse.SUPPRESS,
        help="config file (default: ./config.yaml)",
    )


def fail(message: object, code: int = EXIT_USAGE) -> int:
    print(f"desabot: {message}", file=sys.stderr)
    return code


def with_config(run: Callable[[Config, argparse.Namespace], int]):
    """A command that needs the configuration: a bad file, or a database that cannot be
    opened, is one line on stderr and exit 2."""

    def command(args: argparse.Namespace) -> int:
        try:
            config = load_config(args.config)
        except Problem as exc:
            return fail(exc)
        try:
            return run(config, args)
        except (Problem, StoreError) as exc:
            return fail(exc)

    return command


def cli_actor() -> str:
    """Who ran a command line tool: the operating-system user (sudo's caller when present)."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}"
