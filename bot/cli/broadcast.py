"""`desabot broadcast send | list | status | cancel`.

They write to the same SQLite file as the running bot; its delivery worker picks up a queued
announcement within a few seconds (POLL_SECONDS in bot/delivery/worker.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.app import App, open_app
from bot.cli.common import EXIT_PROBLEMS, cli_actor, fail, with_config
from bot.config import DEFAULT_OFFICE_NAMES, Config
from bot.domain import audit, broadcasts, conversations, people, pictures
from bot.domain.broadcasts import BroadcastError
from bot.domain.pictures import PICTURE_RULES, PictureError
from bot.domain.sessions import SessionError, parse_local
from bot.support.dates import local_time
from bot.support.exports import csv_text

TIME_HELP = 'local time in the configured time zone, "YYYY-MM-DD HH:MM" (default: now)'


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    broadcast = commands.add_parser(
        "broadcast",
        parents=[common],
        help="announcements to villagers",
        description="announcements to villagers",
    )
    broadcast.set_defaults(handler=with_config(main))
    actions = broadcast.add_subparsers(dest="broadcast_command", required=True, metavar="ACTION")
    send = actions.add_parser(
        "send", parents=[common], help="queue an announcement", description="queue an announcement"
    )
    text = send.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the announcement in Indonesian")
    text.add_argument("--file", type=Path, help="read the Indonesian text from a UTF-8 file")
    english = send.add_mutually_exclusive_group()
    english.add_argument("--text-en", help="the announcement in English (default: Indonesian)")
    english.add_argument("--file-en", type=Path, help="read the English text from a file")
    send.add_argument(
        "--to",
        required=True,
        help='who gets it: "all", "village:NAME[,NAME...]" or "session:CODE"',
    )
    send.add_argument("--at", help=TIME_HELP)
    send.add_argument(
        "--picture",
        type=Path,
        help="a JPEG or PNG of at most 5 MB sent first, with the text as its caption",
    )
    send.add_argument(
        "--from",
        dest="office",
        choices=tuple(DEFAULT_OFFICE_NAMES),
        help="the office it is sent in the name of (default: broadcasts.office in config)",
    )
    send.add_argument(
        "--notify",
        metavar="TELEGRAM_ID",
        help="numeric Telegram id of a staff member who gets the summary when it is done",
    )
    send.add_argument(
        "--dry-run", action="store_true", help="show the message and recipients; queue nothing"
    )
    actions.add_parser(
        "list",
        parents=[common],
        help="recent announcements, newest first",
        description="recent announcements, newest first",
    )
    status = actions.add_parser(
        "status",
        parents=[common],
        help="delivery of one announcement",
        description="delivery of one announcement",
    )
    status.add_argument("id", help="the announcement's number")
    status.add_argument(
        "--recipients", action="store_true", help="also list every recipient's status"
    )
    status.add_argument("--csv", action="store_true", help="every recipient as CSV")
    cancel = actions.add_parser(
        "cancel", parents=[common], help="stop an announcement", description="stop an announcement"
    )
    cancel.add_argument("id", help="the announcement's number")


def main(config: Config, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run(config, args, sys.stdout))
    except BroadcastError as exc:
        return fail(exc, EXIT_PROBLEMS)


async def run(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    async with open_app(config) as app:
        action = args.broadcast_command
        if action == "send":
            return await _send(config, app, args, out)
        if action == "list":
            return await _list(config, app, out)
        broadcast_id = broadcasts.parse_id(args.id)
        if broadcast_id is None:
            raise BroadcastError("bad_id", f"expected an announcement number, got {args.id!r}")
        if action == "status":
            return await _status(config, app, broadcast_id, args, out)
        withdrawn = await broadcasts.cancel_broadcast(app.db, broadcast_id)
        await audit.record(app.db, cli_actor(), "broadcast_cancel", f"#{broadcast_id}")
        print(f"announcement {broadcast_id} cancelled; {withdrawn} message(s) withdrawn", file=out)
        return 0


def _picture(path: Path) -> tuple[tuple[bytes, str, int, int], str]:
    """The picture file, checked as the console checks it: (what pictures.keep takes, a line
    about it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BroadcastError("bad_file", f"--picture {path}: cannot read it: {exc}") from None
    try:
        data, media_type, width, height = pictures.checked(data)
    except PictureError as exc:
        raise BroadcastError(
            exc.reason, f"--picture {path}: {exc} (expected {PICTURE_RULES})"
        ) from None
    line = f"picture: {path.name}, {media_type}, {width}×{height}, {len(data) // 1000} KB"
    return (data, media_type, width, height), line


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BroadcastError("bad_file", f"{path}: cannot read the text: {exc}") from None


async def _send(config: Config, app: App, args: argparse.Namespace, out: TextIO) -> int:
    text_id = broadcasts.check_text(args.text if args.text is not None else _read(args.file))
    english = args.text_en if args.text_en is not None else (args.file_en and _read(args.file_en))
    text_en = broadcasts.check_text(english) if english else ""
    audience = await broadcasts.parse_audience(app.db, args.to, config.villages)
    now = datetime.now(UTC)
    send_at = now
    if args.at:
        try:
            send_at = parse_local(args.at, config.timezone, "--at")
        except SessionError as exc:
            raise BroadcastError("bad_time", str(exc)) from None
        if send_at < now - timedelta(minutes=1):
            raise BroadcastError("in_past", f"--at {args.at} is in the past")
    office = args.office or config.broadcasts.office
    sender_id = await _staff_member(app, args.notify) if args.notify else None
    picture = _picture(args.picture) if args.picture else None
    count = await broadcasts.count_recipients(app.db, audience, app.settings.reachable_channels)
    preview = app.broadcast_preview(text_id, office, "id")
    print("--- what villagers see " + "-" * 40, file=out)
    print(preview.text, file=out)
    print("-" * 63, file=out)
    if picture:
        print(picture[1], file=out)
    print(f"recipients now: {count} ({audience.describe()})", file=out)
    quiet = app.settings.quiet
    morning = quiet.until(send_at)
    if morning:
        print(
            f"quiet hours {quiet.describe()}: delivery starts "
            f"{local_time(morning, config.timezone)}",
            file=out,
        )
    if args.dry_run:
        print("dry run: nothing queued", file=out)
        return 0
    picture_id = None
    if picture:
        picture_id = (await pictures.keep(app.db, picture[0], args.picture.name, "cli")).id
    broadcast = await broadcasts.create_broadcast(
        app.db,
        text_id=text_id,
        text_en=text_en,
        office=office,
        audience=audience,
        send_at=send_at,
        created_by="cli",
        sender_id=sender_id,
        picture_id=picture_id,
    )
    when = local_time(send_at, config.timezone)
    detail = f"#{broadcast.id} to={audience.describe()} at={when} text={text_id[:200]}"
    detail += f" picture={picture_id}" if picture_id else ""
    await audit.record(app.db, cli_actor(), "broadcast_send", detail)
    print(f"announcement {broadcast.id} queued for {when}", file=out)
    return 0


async def _staff_member(app: App, telegram_id: str) -> int:
    """The person a summary goes to: they must have written to the bot once."""
    person_id = await people.id_on_channel(app.db, "telegram", telegram_id)
    if person_id is None:
        raise BroadcastError(
            "unknown_staff",
            f"--notify {telegram_id}: nobody with that Telegram id has written to the bot yet; "
            "they must send it /start once",
        )
    return person_id


async def _list(config: Config, app: App, out: TextIO) -> int:
    recent = await broadcasts.recent_broadcasts(app.db, 50)
    if not recent:
        print("no announcements yet", file=out)
    for b in recent:
        counts = await broadcasts.summary(app.db, b.id)
        text = " ".join(b.text["id"].split())
        print(
            f"{b.id:5d}  {local_time(b.send_at, config.timezone)}  {b.status:9s}  "
            f"{_counts(counts)}  {b.audience.describe()}  {text[:50]}",
            file=out,
        )
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[name]} {name}" for name in broadcasts.STATUS_NAMES)


async def _status(
    config: Config, app: App, broadcast_id: int, args: argparse.Namespace, out: TextIO
) -> int:
    b = await broadcasts.get_broadcast(app.db, broadcast_id)
    if b is None:
        raise BroadcastError("unknown_broadcast", f"no announcement {broadcast_id}")
    rows = await broadcasts.recipients(app.db, broadcast_id)
    if args.csv:
        header = ["name", "village", "channel", "user_id", "status", "detail", "sent_at"]
        out.write(
            csv_text(
                header,
                (
                    (r.name, r.village, r.channel, r.user_id, r.status, r.detail, r.sent_at)
                    for r in rows
                ),
            )
        )
        return 0
    counts = await broadcasts.summary(app.db, broadcast_id)
    print(f"announcement {b.id}: {b.status}", file=out)
    print(f"  send at:    {local_time(b.send_at, config.timezone)}", file=out)
    print(f"  audience:   {b.audience.describe()}", file=out)
    print(f"  from:       {b.office}, written by {b.created_by}", file=out)
    sender = await broadcasts.sender_of(app.db, b.id)
    if sender:
        print(f"  summary to: {sender[0]}:{sender[1]}", file=out)
    total = "not yet known" if b.recipients is None else str(b.recipients)
    print(f"  recipients: {total}", file=out)
    print(f"  delivery:   {_counts(counts)}", file=out)
    held = await conversations.held_for_tier(app.db, b.id)
    tier = config.whatsapp.daily_new_conversations
    if held and tier:
        days = conversations.days_to_send(held, tier)
        print(
            f"  waiting:    {held} on WhatsApp for its daily limit of new conversations"
            f" ({tier} people in 24 hours): all sent within about {days} day(s)",
            file=out,
        )
    reasons: dict[str, int] = {}
    for r in rows:
        if r.status in ("failed", "skipped", "parked"):
            reasons[f"{r.status}: {r.detail}"] = reasons.get(f"{r.status}: {r.detail}", 0) + 1
    for reason, times in sorted(reasons.items(), key=lambda item: -item[1]):
        print(f"  {times:6d} × {reason}", file=out)
    if args.recipients:
        for r in rows:
            detail = f"  ({r.detail})" if r.detail else ""
            print(
                f"  {r.status:7s} {r.channel}:{r.user_id}  {r.name} [{r.village}]{detail}", file=out
            )
    return 0
