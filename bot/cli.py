"""The `desabot` command line. Every command takes --config PATH (default ./config.yaml)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from bot import __version__
from bot.app import open_conversation
from bot.config import (
    LANGUAGES,
    TOKEN_ENV,
    WEBHOOK_SECRET_ENV,
    WHATSAPP_APP_SECRET_ENV,
    WHATSAPP_TOKEN_ENV,
    WHATSAPP_VERIFY_TOKEN_ENV,
    Config,
    load_config,
    secret,
)
from bot.logs import REDACTED, setup_logging
from bot.store import StoreError
from bot.yamlfile import Problem

log = logging.getLogger("bot")

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path("config.yaml"),
        help="config file (default: ./config.yaml)",
    )
    parser = argparse.ArgumentParser(prog="desabot", description=__doc__, parents=[common])
    parser.add_argument("--version", action="version", version=f"desabot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        parents=[common],
        help=f"run the bot (Telegram with ${TOKEN_ENV}; WhatsApp when enabled in config)",
    )
    chat = commands.add_parser("chat", parents=[common], help="chat with the bot in this terminal")
    chat.add_argument("--user-id", default="local", help="who you are to the bot (default: local)")
    chat.add_argument("--name", default="", help="your name, as the bot greets you")
    chat.add_argument("--lang", choices=LANGUAGES, help="language (default: remembered, or id)")
    chat.add_argument("--staff", action="store_true", help="try the staff commands (/sesi, ...)")
    commands.add_parser("check", parents=[common], help="check config, texts and FAQ for problems")
    backup = commands.add_parser(
        "backup", parents=[common], help="copy the database safely, also while the bot runs"
    )
    backup.add_argument("path", help="file to write, or a folder (or a path ending in /)")
    backup.add_argument("--force", action="store_true", help="replace an existing file")

    faq = commands.add_parser("faq", parents=[common], help="FAQ tools: match, check, unanswered")
    faq_commands = faq.add_subparsers(dest="faq_command", required=True, metavar="FAQ_COMMAND")
    faq_commands.add_parser(
        "match", parents=[common], help="match questions from stdin, one JSON object per line"
    )
    faq_commands.add_parser("check", parents=[common], help="check the FAQ entries")
    unanswered = faq_commands.add_parser(
        "unanswered", parents=[common], help="questions the FAQ declined, and disliked answers"
    )
    unanswered.add_argument("--limit", type=int, default=50, help="rows per list (default 50)")

    from bot import session_commands

    session_commands.add_parsers(commands, common)
    from bot import broadcast_commands

    broadcast_commands.add_parsers(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return _check(args.config)
    try:
        config = load_config(args.config)
    except Problem as exc:
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "run":
            return _run(config)
        if args.command == "faq":
            return _faq(config, args)
        if args.command == "sessions":
            return _sessions(config, args)
        if args.command in ("broadcast", "stats"):
            return _broadcast(config, args)
        if args.command == "backup":
            return _backup(config, args.path, args.force)
        return _chat(config, args)
    except (Problem, StoreError) as exc:
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _check(config_path: Path) -> int:
    from bot.check import check_all

    report = check_all(config_path)
    for line in report.lines():
        print(line)
    summary = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    print(summary, file=sys.stderr)
    return EXIT_PROBLEMS if report.errors else EXIT_OK


def _faq(config: Config, args: argparse.Namespace) -> int:
    from bot import faq_commands

    if args.faq_command == "match":
        return faq_commands.faq_match(config, sys.stdin, sys.stdout)
    if args.faq_command == "check":
        return faq_commands.faq_check(config, sys.stdout)
    return asyncio.run(faq_commands.faq_unanswered(config, args.limit, sys.stdout))


def _sessions(config: Config, args: argparse.Namespace) -> int:
    from bot import session_commands

    try:
        return asyncio.run(session_commands.run(config, args, sys.stdout))
    except session_commands.SessionError as exc:
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS


def _backup(config: Config, path: str, force: bool) -> int:
    from bot.backup import BackupError, backup

    try:
        written = backup(config.database, path, force)
    except BackupError as exc:
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"backup written: {written} (integrity check: ok)")
    return EXIT_OK


def _broadcast(config: Config, args: argparse.Namespace) -> int:
    from bot import broadcast_commands
    from bot.broadcasts import BroadcastError

    try:
        return asyncio.run(broadcast_commands.run(config, args, sys.stdout))
    except BroadcastError as exc:
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS


def _chat(config: Config, args: argparse.Namespace) -> int:
    from bot.channels.console import ConsoleChannel

    setup_logging("WARNING")

    async def chat() -> None:
        async with open_conversation(config) as conversation:
            if args.staff:
                conversation.staff_ids = conversation.staff_ids | {("console", args.user_id)}
            channel = ConsoleChannel(
                conversation, sys.stdin, sys.stdout, args.user_id, args.name, args.lang
            )
            await channel.run()

    asyncio.run(chat())
    return EXIT_OK


def _run(config: Config) -> int:
    """Telegram (when TELEGRAM_BOT_TOKEN is set) and WhatsApp (when enabled), one core."""
    token = secret(TOKEN_ENV)
    whatsapp = _whatsapp_secrets(config)
    if isinstance(whatsapp, str):
        print(f"desabot: {whatsapp}", file=sys.stderr)
        return EXIT_USAGE
    if not token and whatsapp is None:
        print(
            f"desabot: set the bot token in the environment variable {TOKEN_ENV}"
            " (or enable whatsapp in config.yaml)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    webhook_secret = secret(WEBHOOK_SECRET_ENV)
    bad_secret = webhook_secret is not None and not WEBHOOK_SECRET.fullmatch(webhook_secret)
    if token and (bad_secret or (config.telegram.mode == "webhook" and not webhook_secret)):
        print(
            f"desabot: {config.path}: telegram.mode is webhook: set {WEBHOOK_SECRET_ENV} "
            "to 1-256 characters A-Z, a-z, 0-9, _ and -",
            file=sys.stderr,
        )
        return EXIT_USAGE
    hidden = [token or "", webhook_secret or ""]
    if whatsapp is not None:
        hidden += [whatsapp.access_token, whatsapp.app_secret, whatsapp.verify_token]
    setup_logging(config.log_level, secrets=hidden)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with open_conversation(config) as conversation:
            await conversation.db.check_writable()
            channels = []
            if token:
                from bot.channels.telegram import TelegramChannel, TelegramSecrets

                channels.append(
                    TelegramChannel(
                        conversation,
                        config.telegram,
                        TelegramSecrets(token, webhook_secret),
                        conversation.texts.commands,
                    )
                )
            if whatsapp is not None:
                from bot.channels.whatsapp import WhatsAppChannel

                channels.append(WhatsAppChannel(conversation, config.whatsapp, whatsapp))
            await asyncio.gather(*(channel.serve(stop) for channel in channels))

    try:
        asyncio.run(serve())
    except StoreError as exc:  # a full disk, a read-only file: restarting will not help
        print(f"desabot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a rejected token, a port in use: one clear line
        message = str(exc) or type(exc).__name__
        for value in hidden:
            if value:
                message = message.replace(value, REDACTED)
        print(f"desabot: cannot run the bot: {message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _whatsapp_secrets(config: Config):
    """WhatsApp's three secrets from the environment; None when WhatsApp is off, a message
    naming what is missing when it is on without them."""
    if not config.whatsapp.enabled:
        return None
    names = (WHATSAPP_TOKEN_ENV, WHATSAPP_APP_SECRET_ENV, WHATSAPP_VERIFY_TOKEN_ENV)
    values = [secret(name) for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        return f"{config.path}: whatsapp.enabled is true: set " + ", ".join(missing)
    from bot.channels.whatsapp import WhatsAppSecrets

    return WhatsAppSecrets(*values)
