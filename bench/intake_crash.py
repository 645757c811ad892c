"""What a kill -9 of `desabot run` loses while 300 villagers each send "DAFTAR <code>" at once.

    .venv/bin/python bench/intake_crash.py [--tree PATH] [--channel telegram|whatsapp|both]
                                           [--rounds 3]

The bench mirrors tests/channels/test_intake_crash.py, for any checkout (`--tree`, default
this one): the database is prepared by the tree's own code (a session with room for everyone,
villagers who already gave their profile), the bot runs as a real process from that tree
against the stand-in APIs of tests/auxil, it is killed with SIGKILL after its first replies,
restarted, and once replies stop coming (everyone answered and 2 s without a new reply, or
10 s without one, at most 90 s) stopped with SIGTERM. Meta is played as Meta does: a WhatsApp
POST is sent again until it is answered 200, never after. Counted per villager: lost (no reply
at all), booked but never told the booking code, told twice (duplicates), no booking; and
integrity_check.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the helpers speak only HTTP and SQLite

from auxil.channels import free_port  # noqa: E402
from auxil.fake_bot_api import FakeBotApi  # noqa: E402
from auxil.fake_graph_api import FakeGraphApi  # noqa: E402
from auxil.whatsapp import SECRETS, Meta, listening  # noqa: E402
from conftest import write_config  # noqa: E402

FIRST_TELEGRAM = 70_000
FIRST_PHONE = 6281300000000
TELEGRAM_ENV = {"TELEGRAM_BOT_TOKEN": "1:intake-crash"}
WHATSAPP_ENV = {
    "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
    "WHATSAPP_APP_SECRET": SECRETS.app_secret,
    "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
}
START_TIMEOUT = 60  # seconds for the bot to come up (load the FAQ, open the database)
FIRST_REPLIES_TIMEOUT = 120
QUIET = 10  # seconds without a new reply: what is missing then is not coming
SETTLE_LIMIT = 90  # seconds after the restart, at most

# run with PYTHONPATH=<tree>: the tree's own schema and domain code
PREPARE = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from bot.domain.people import touch_person, update_profile
from bot.domain.sessions import create_session
from bot.domain.store import Database

async def main(path, channel, users):
    db = await Database.open(path)
    try:
        starts = datetime.now(UTC) + timedelta(days=3)
        session = await create_session(
            db, title_id="Sosialisasi migrasi aman", title_en="Safe migration talk",
            village="Pesaku", place="Balai desa", starts=starts,
            ends=starts + timedelta(hours=2), capacity=len(users) + 10,
        )
        for n, user in enumerate(users):
            person = await touch_person(db, channel, user, f"Warga {n}", "id")
            await update_profile(
                db, person.id, full_name=f"Warga Desa {n}", village="Pesaku",
                consent_at=datetime.now(UTC).isoformat(),
            )
        print(session.code)
    finally:
        await db.close()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3].split(",")))
"""


class RoundFailed(Exception):
    pass


@dataclass
class Outcome:
    lost: int  # no reply at all
    told_never: int  # booked, the booking code in none of their messages
    twice: int  # the booking code in two messages or more
    no_booking: int
    integrity: str
    double_booked: int  # more than one active booking
    intake_left: str  # intake rows never handled ("-": the tree has no intake table)
    acked: int  # messages the API took as delivered at the kill (offset confirmed, or 200)
    at_crash: int  # replies sent before the kill
    exit: int  # the restarted bot's exit code on SIGTERM


def _die_with_parent() -> None:
    """In the child: SIGKILL when the bench dies, so no bot outlives it."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class BotProcess:
    """`python -m bot run` from one tree, stderr appended to a log file."""

    def __init__(self, tree: Path, config: Path, env: dict[str, str]) -> None:
        self.tree, self.config, self.env = tree, config, env
        self.log = config.parent / "bot.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, "PYTHONPATH": str(self.tree), **self.env},
                cwd=self.config.parent,  # not a checkout: the editable install must not shadow it
                preexec_fn=_die_with_parent,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, SIGKILL after 60 s; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_for(predicate: Callable[[], bool], seconds: float, what: str, bot: BotProcess) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RoundFailed(f"timed out waiting for {what}; bot stderr:\n{bot.tail()}")
        if bot.proc is not None and bot.proc.poll() is not None:
            raise RoundFailed(
                f"the bot exited ({bot.proc.returncode}) before {what}:\n{bot.tail()}"
            )
        time.sleep(0.05)


def settle(said: Callable[[], dict[str, list[str]]], users: list[str]) -> None:
    """Until everyone was answered and 2 s passed without a new reply, QUIET s passed without
    one, or SETTLE_LIMIT s."""
    start = last_change = time.monotonic()
    count = 0
    while (now := time.monotonic()) - start < SETTLE_LIMIT:
        replies = said()
        if (n := sum(map(len, replies.values()))) != count:
            count, last_change = n, now
        elif now - last_change >= (2 if set(replies) >= set(users) else QUIET):
            return
        time.sleep(0.1)


def prepare(tree: Path, database: Path, channel: str, users: list[str]) -> str:
    """The session and the villagers, by the tree's own code; the session code."""
    result = subprocess.run(
        [sys.executable, "-c", PREPARE, str(database), channel, ",".join(users)],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=database.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RoundFailed(f"preparing the database failed:\n{result.stderr[-3000:]}")
    return result.stdout.split()[-1]


def config_for(tree: Path, folder: Path, channel: str, section: dict) -> Path:
    """Only keys both trees know (write_config adds the shared defaults)."""
    return write_config(
        folder,
        database=str(folder / "bot.sqlite3"),
        faq_dir=str(tree / "faq"),
        texts_dir=str(tree / "texts"),
        **{channel: section},
    )


def outcome(database: Path, channel: str, users: list[str], said: dict[str, list[str]]) -> dict:
    """The counts of Outcome that the database and the messages sent tell."""
    with sqlite3.connect(database) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute(
            "SELECT p.channel_user_id, r.booking_code FROM registrations r"
            " JOIN people p ON p.id = r.person_id WHERE p.channel = ? AND r.status != 'cancelled'",
            (channel,),
        ).fetchall()
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        left = "-"
        if "intake" in tables:
            query = "SELECT count(*) FROM intake WHERE handled_at IS NULL"
            left = str(conn.execute(query).fetchone()[0])
    booked: dict[str, list[str]] = {}
    for user, code in rows:
        booked.setdefault(user, []).append(code)
    told = {
        user: sum(codes[0] in message for message in said.get(user, []))
        for user, codes in booked.items()
    }
    return {
        "lost": sum(1 for user in users if not said.get(user)),
        "told_never": sum(1 for n in told.values() if n == 0),
        "twice": sum(1 for n in told.values() if n > 1),
        "no_booking": sum(1 for user in users if user not in booked),
        "integrity": integrity,
        "double_booked": sum(1 for codes in booked.values() if len(codes) > 1),
        "intake_left": left,
    }


def telegram_said(fake: FakeBotApi) -> dict[str, list[str]]:
    """The texts sent to each chat."""
    said: dict[str, list[str]] = {}
    for message in fake.sent():
        said.setdefault(str(message["chat_id"]), []).append(message["visible_text"] or "")
    return said


def telegram_round(tree: Path, folder: Path, villagers: int, crash_after: int) -> Outcome:
    users = [str(FIRST_TELEGRAM + n) for n in range(villagers)]
    with FakeBotApi() as fake:
        section = {
            "api_base_url": fake.base_url,
            "poll_timeout": 1,
            "max_messages_per_second": 1000,
            "delivery_per_second": 1000,
        }
        config = config_for(tree, folder, "telegram", section)
        code = prepare(tree, folder / "bot.sqlite3", "telegram", users)
        for user in users:
            fake.push_text(int(user), f"DAFTAR {code}")
        bot = BotProcess(tree, config, TELEGRAM_ENV)
        try:
            bot.start()
            wait_for(lambda: len(fake.sent()) >= crash_after, FIRST_REPLIES_TIMEOUT, "replies", bot)
            bot.kill()
            at_crash, polls = len(fake.sent()), len(fake.calls_to("getUpdates"))
            acked = villagers - fake.pending_updates()
            bot.start()
            wait_for(
                lambda: len(fake.calls_to("getUpdates")) > polls,
                START_TIMEOUT,
                "the restarted bot's first getUpdates",
                bot,
            )
            settle(lambda: telegram_said(fake), users)
            exit_code = bot.stop()
        finally:
            bot.kill()
        said = telegram_said(fake)
    found = outcome(folder / "bot.sqlite3", "telegram", users, said)
    return Outcome(**found, acked=acked, at_crash=at_crash, exit=exit_code)


def whatsapp_said(graph: FakeGraphApi) -> dict[str, list[str]]:
    """The texts sent to each number (a message without a text body as JSON)."""
    said: dict[str, list[str]] = {}
    for message in graph.sent():
        words = (message.get("text") or {}).get("body") or json.dumps(message)
        said.setdefault(message["to"], []).append(words)
    return said


def whatsapp_round(tree: Path, folder: Path, villagers: int, crash_after: int) -> Outcome:
    phones = [str(FIRST_PHONE + n) for n in range(villagers)]
    port = free_port()
    with FakeGraphApi() as graph:
        section = {
            "enabled": True,
            "api_base_url": graph.base_url,
            "phone_number_id": graph.phone_number_id,
            "messages_per_second": 1000,
            "port": port,
        }
        config = config_for(tree, folder, "whatsapp", section)
        code = prepare(tree, folder / "bot.sqlite3", "whatsapp", phones)
        meta = Meta(f"http://127.0.0.1:{port}/whatsapp", code, phones)
        bot = BotProcess(tree, config, WHATSAPP_ENV)
        try:
            bot.start()
            wait_for(lambda: listening(port), START_TIMEOUT, "the webhook server", bot)
            sender = threading.Thread(target=meta.deliver, args=(phones,), daemon=True)
            sender.start()
            wait_for(
                lambda: len(graph.sent()) >= crash_after, FIRST_REPLIES_TIMEOUT, "replies", bot
            )
            bot.kill()
            at_crash = len(graph.sent())
            sender.join(timeout=60)
            acked = len(meta.acknowledged)
            bot.start()
            wait_for(lambda: listening(port), START_TIMEOUT, "the webhook server again", bot)
            meta.retry()
            settle(lambda: whatsapp_said(graph), phones)
            exit_code = bot.stop()
        finally:
            bot.kill()
        said = whatsapp_said(graph)
    found = outcome(folder / "bot.sqlite3", "whatsapp", phones, said)
    return Outcome(**found, acked=acked, at_crash=at_crash, exit=exit_code)


ROUNDS = {"telegram": telegram_round, "whatsapp": whatsapp_round}
HEADERS = {
    "lost": "lost",
    "told_never": "told never",
    "twice": "twice",
    "no_booking": "no booking",
    "integrity": "integrity",
    "double_booked": "2 bookings",
    "intake_left": "intake left",
    "acked": "acked",
    "at_crash": "at crash",
    "exit": "exit",
}


def row(label: str, values: tuple) -> str:
    cells = [f"{v:>{len(HEADERS[f.name])}}" for f, v in zip(fields(Outcome), values, strict=True)]
    return f"  {label:8s} " + "  ".join(cells)


def median_row(results: list[Outcome]) -> tuple:
    values = []
    for f in fields(Outcome):
        column = [getattr(r, f.name) for r in results]
        if all(isinstance(v, int) for v in column):
            values.append(f"{statistics.median(column):g}")
        else:
            values.append(column[0] if len(set(column)) == 1 else "/".join(map(str, column)))
    return tuple(values)


def table(channel: str, results: list[Outcome | None]) -> None:
    print(f"\n{channel}:")
    print(f"  {'':8s} " + "  ".join(HEADERS.values()))
    for number, result in enumerate(results, 1):
        print(row(f"round {number}", astuple(result)) if result else f"  round {number} failed")
    done = [r for r in results if r]
    if done:
        print(row("median", median_row(done)))


def one_round(channel: str, args: argparse.Namespace) -> Outcome | None:
    folder = Path(tempfile.mkdtemp(prefix=f"intake-crash-{channel}-"))
    result = None
    try:
        result = ROUNDS[channel](args.tree, folder, args.villagers, args.crash_after)
    except RoundFailed as exc:
        print(f"  {channel}: round failed: {exc}", flush=True)
    finally:
        log = folder / "bot.log"
        exited_badly = result is not None and result.exit != 0
        if (args.show_log or exited_badly) and log.exists():
            print(f"  bot stderr, last 3000 characters:\n{log.read_text(errors='replace')[-3000:]}")
        if args.keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose bot runs")
    parser.add_argument("--channel", choices=["telegram", "whatsapp", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--villagers", type=int, default=300)
    parser.add_argument("--crash-after", type=int, default=30, help="replies before the kill")
    parser.add_argument("--keep", action="store_true", help="keep each round's folder and log")
    parser.add_argument("--show-log", action="store_true", help="print the bot's stderr tail")
    args = parser.parse_args()
    args.tree = args.tree.resolve()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the bots are killed on the way
    channels = list(ROUNDS) if args.channel == "both" else [args.channel]
    results: dict[str, list[Outcome | None]] = {channel: [] for channel in channels}
    print(f"tree {args.tree}, {args.villagers} villagers, kill -9 after {args.crash_after} replies")
    for number in range(1, args.rounds + 1):
        for channel in channels:
            result = one_round(channel, args)
            results[channel].append(result)
            if result is not None:
                shown = "  ".join(f"{key} {value}" for key, value in vars(result).items())
                print(f"round {number} {channel}: {shown}", flush=True)
    for channel in channels:
        table(channel, results[channel])


if __name__ == "__main__":
    main()
