"""kill -9 in the middle of a 5,000-recipient announcement: after a restart every remaining
recipient gets it, and nobody who already had it gets it again (at most the few messages in
flight at the crash). Real bot process, real CLI process, real SQLite file."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys

from auxil.fake_bot_api import FakeBotApi
from auxil.processes import desabot, wait_until
from bot.domain.store import Database, utc_now
from conftest import write_config

RECIPIENTS = 5_000
FIRST_CHAT = 60_000
KILL_AFTER = 1_500  # messages sent before the kill -9
# what can arrive twice: the sends in flight at the crash (8 chats at once) and the deliveries
# accepted but not yet recorded (written 8 at a time, bot/delivery/worker.py SENT_FLUSH_ROWS, and a
# write or two may be waiting for the database). At the 1,000 messages a second of this test
# that is the last ~40 ms of sending; at the default 25 a second, one or two messages.
MAX_DUPLICATES = 40
VILLAGES = ("Langaleso", "Sibowi", "Pesaku")
TEXT = "Sosialisasi migrasi aman, Sabtu pukul 09.00 di balai desa."


async def prepare(path) -> None:
    """The schema (migrations), then 5,000 Telegram villagers in one transaction."""
    db = await Database.open(path)
    try:
        now = utc_now()
        rows = [
            (str(FIRST_CHAT + n), f"Warga {n}", now, VILLAGES[n % 4] if n % 4 < 3 else None)
            for n in range(RECIPIENTS)
        ]
        async with db.write() as conn:
            await conn.executemany(
                "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at,"
                " village) VALUES ('telegram', ?, ?, 'id', ?, ?)",
                rows,
            )
    finally:
        await db.close()


def start(config, log) -> subprocess.Popen:
    """The bot; its log goes to a file (a full stderr pipe would stall a busy bot)."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "1:broadcast-restart-test"}
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def sends(fake: FakeBotApi) -> int:
    """Messages Telegram accepted so far (cheap: no deep copy of every message)."""
    return sum(1 for call in fake.calls if call.ok and call.method.lower() == "sendmessage")


def cli(config, *args: str) -> str:
    done = desabot(config, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def broadcast_status(database) -> str:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT status FROM broadcasts WHERE id = 1").fetchone()[0]


def test_kill_9_mid_broadcast_then_restart_reaches_everyone_once(tmp_path):
    database, log = tmp_path / "bot.sqlite3", tmp_path / "bot.log"
    with FakeBotApi() as fake:
        config = write_config(
            tmp_path,
            database=str(database),
            telegram={
                "api_base_url": fake.base_url,
                "poll_timeout": 1,
                "max_messages_per_second": 1000,
                "delivery_per_second": 1000,
            },
        )  # fmt: skip
        asyncio.run(prepare(database))
        bot = start(config, log)
        try:
            # queued by staff while the bot runs: its worker releases and sends it
            assert "announcement 1 queued" in cli(
                config, "broadcast", "send", "--text", TEXT, "--to", "all"
            )
            wait_until(lambda: sends(fake) >= KILL_AFTER, 60, f"{KILL_AFTER} sends")
        finally:
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
        before_restart = sends(fake)
        assert before_restart < RECIPIENTS, "the crash came too late to test anything"
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        bot = start(config, log)
        try:
            chats = set(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))
            wait_until(
                lambda: sends(fake) >= RECIPIENTS and chats <= {m["chat_id"] for m in fake.sent()},
                120,
                "every chat",
            )
            # the worker's housekeeping closes the announcement on its next round
            wait_until(lambda: broadcast_status(database) == "done", 10, "status done")
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        assert bot.returncode == 0, log.read_text(errors="replace")[-5000:]
        messages = fake.sent()
    delivered = [m["chat_id"] for m in messages]

    assert set(delivered) == chats
    assert all(TEXT in m["visible_text"] for m in messages)
    duplicates = len(delivered) - len(set(delivered))
    assert duplicates <= MAX_DUPLICATES, (
        f"{duplicates} messages arrived twice ({before_restart} sent before the kill -9)"
    )
    with sqlite3.connect(database) as conn:
        statuses = conn.execute(
            "SELECT status, count(*) FROM outbox WHERE broadcast_id = 1 GROUP BY status"
        ).fetchall()
        recipients = conn.execute("SELECT recipients FROM broadcasts WHERE id = 1").fetchone()
    assert statuses == [("sent", RECIPIENTS)]
    assert recipients == (RECIPIENTS,)
    assert "5000 sent" in cli(config, "broadcast", "status", "1")
