"""`desabot sessions add | list | edit | cancel | attendees | checkin`: for staff and scripts.

They write to the same SQLite file as the running bot, so they work while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.app import reminder_policy
from bot.cli.common import EXIT_PROBLEMS, cli_actor, fail, with_config
from bot.config import Config
from bot.domain import audit
from bot.domain.registrations import attendees, check_in
from bot.domain.sessions import (
    Session,
    SessionError,
    all_sessions,
    cancel_session,
    create_session,
    edit_session,
    parse_local,
    require,
)
from bot.domain.store import Database
from bot.reports import files

TIME_HELP = (
    'local time in the configured time zone: "2026-12-14 09:00", "14/12/2026 09.00" or'
    ' "14 Desember 2026 jam 9" (edit: a new --start alone moves the end with it)'
)


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sessions = commands.add_parser(
        "sessions", parents=[common], help="village sessions", description="village sessions"
    )
    sessions.set_defaults(handler=with_config(main))
    actions = sessions.add_subparsers(dest="sessions_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[common],
        help="schedule a session; prints its code",
        description="schedule a session; prints its code",
    )
    _session_options(add, required=True)
    actions.add_parser(
        "list",
        parents=[common],
        help="every session, soonest first",
        description="every session, soonest first",
    )
    edit = actions.add_parser(
        "edit",
        parents=[common],
        help="change or reschedule a session",
        description="change or reschedule a session",
    )
    edit.add_argument("code")
    _session_options(edit, required=False)
    cancel = actions.add_parser(
        "cancel", parents=[common], help="cancel a session", description="cancel a session"
    )
    cancel.add_argument("code")
    people = actions.add_parser(
        "attendees", parents=[common], help="who registered", description="who registered"
    )
    people.add_argument("code")
    people.add_argument(
        "--csv", action="store_true", help="CSV on standard output (UTF-8 with BOM, as exported)"
    )
    people.add_argument("--xlsx", type=Path, metavar="FILE", help="write an Excel file")
    checkin = actions.add_parser(
        "checkin", parents=[common], help="check a booking in", description="check a booking in"
    )
    checkin.add_argument("booking_code")


def _session_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--title", required=required, help="title in Indonesian")
    parser.add_argument("--title-en", default="", help="title in English (default: --title)")
    parser.add_argument("--village", required=required)
    parser.add_argument("--place", required=required, help="where in the village")
    parser.add_argument("--start", required=required, help=TIME_HELP)
    parser.add_argument("--end", required=required, help=TIME_HELP)
    parser.add_argument("--capacity", type=int, required=required, help="number of seats")
    parser.add_argument("--description", default=None)


def main(config: Config, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run(config, args, sys.stdout))
    except SessionError as exc:
        return fail(exc, EXIT_PROBLEMS)


async def run(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    db = await Database.open(config.database)
    try:
        status = await _run(config, db, args, out)
        if args.sessions_command in CHANGES:
            await audit.record(db, cli_actor(), f"sessions_{args.sessions_command}", _what(args))
        return status
    finally:
        await db.close()


CHANGES = ("add", "edit", "cancel", "checkin", "attendees")  # attendees: personal data out


def _what(args: argparse.Namespace) -> str:
    """The command's arguments, for the audit log."""
    skip = {"config", "handler"}
    return " ".join(f"{k}={v}" for k, v in sorted(vars(args).items()) if v and k not in skip)


async def _run(config: Config, db: Database, args: argparse.Namespace, out: TextIO) -> int:
    action = args.sessions_command
    tz = config.timezone
    if action == "add":
        session = await create_session(
            db,
            title_id=args.title,
            title_en=args.title_en,
            village=args.village,
            place=args.place,
            starts=parse_local(args.start, tz, "--start"),
            ends=parse_local(args.end, tz, "--end"),
            capacity=args.capacity,
            description=args.description or "",
        )
        print(session.code, file=out)
    elif action == "list":
        for session in await all_sessions(db):
            print(_line(session, config), file=out)
    elif action == "edit":
        changes = {
            "title_id": args.title,
            "title_en": args.title_en,
            "village": args.village,
            "place": args.place,
            "capacity": args.capacity,
            "description": args.description,
            "starts": parse_local(args.start, tz, "--start") if args.start else None,
            "ends": parse_local(args.end, tz, "--end") if args.end else None,
        }
        given = {k: v for k, v in changes.items() if v not in (None, "")}
        policy = reminder_policy(config)
        print(_line(await edit_session(db, args.code, policy=policy, **given), config), file=out)
    elif action == "cancel":
        print(_line(await cancel_session(db, args.code), config), file=out)
    elif action == "attendees":
        await _attendees(db, args, config, out)
    else:
        registration = await check_in(db, args.booking_code)
        print(f"{registration.booking_code} checked in ({registration.session_code})", file=out)
    return 0


def _line(session: Session, config: Config) -> str:
    start = session.starts_at.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M")
    end = session.ends_at.astimezone(config.timezone).strftime("%H:%M")
    return (
        f"{session.code}  {start}-{end}  {session.status:9s}  "
        f"{session.confirmed}/{session.capacity} seats, {session.waitlisted} waiting  "
        f"{session.title['id']} — {session.village}, {session.place}"
    )


async def _attendees(db: Database, args: argparse.Namespace, config: Config, out: TextIO) -> None:
    """The registrants: as lines, or the same CSV and Excel file the console and the chat
    hand out (bot/reports/files.py), in the configured language."""
    session, rows = await require(db, args.code), await attendees(db, args.code)
    lang, tz = config.default_language, config.timezone
    if args.xlsx:
        args.xlsx.write_bytes(files.registrants_xlsx(session, rows, lang, tz))
        # on stderr: standard output may be the CSV itself (--csv too)
        print(f"{args.xlsx}: {len(files.listed(rows))} registration(s)", file=sys.stderr)
    if args.csv:
        out.write(files.registrants_csv(session, rows, lang, tz).decode("utf-8"))
    if args.csv or args.xlsx:
        return
    for row in rows:
        waiting = f" #{row.waitlist_position}" if row.waitlist_position else ""
        print(f"{row.booking_code}  {row.status}{waiting:5s}  {row.name} ({row.village})", file=out)
    print(f"{len(rows)} registration(s)", file=out)
