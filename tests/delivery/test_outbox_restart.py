"""kill -9 in the middle of sending: after a restart every message arrives, none is lost,
and at most the one in flight at the crash arrives twice. Real process, real SQLite file."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from auxil.fake_bot_api import FakeBotApi
from auxil.processes import wait_until
from bot.domain.outbox import enqueue
from bot.domain.people import touch_person
from bot.domain.sessions import create_session
from bot.domain.store import Database
from conftest import write_config

RECIPIENTS = 150
FIRST_CHAT = 50_000


async def prepare(path) -> None:
    db = await Database.open(path)
    try:
        starts = datetime.now(UTC) + timedelta(days=2)
        session = await create_session(
            db, title_id="Sosialisasi", title_en="Talk", village="Pesaku", place="Balai desa",
            starts=starts, ends=starts + timedelta(hours=2), capacity=500,
        )  # fmt: skip
        villagers = [
            (await touch_person(db, "telegram", str(FIRST_CHAT + n), "Warga", "id")).id
            for n in range(RECIPIENTS)
        ]
        async with db.write() as conn:
            for n, villager in enumerate(villagers):
                await enqueue(
                    conn, person_id=villager, session_id=session.id,
                    text_key="notice_session_changed", dedupe_key=f"test:{n}",
                    due=datetime.now(UTC) - timedelta(seconds=1), expires=starts,
                )  # fmt: skip
    finally:
        await db.close()


def start(config) -> subprocess.Popen:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "1:restart-test"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_kill_9_mid_delivery_then_restart_delivers_the_rest_once(tmp_path):
    database = tmp_path / "bot.sqlite3"
    with FakeBotApi() as fake:
        config = write_config(
            tmp_path,
            database=str(database),
            telegram={
                "api_base_url": fake.base_url,
                "poll_timeout": 1,
                "max_messages_per_second": 25,
            },
        )  # fmt: skip
        asyncio.run(prepare(database))
        bot = start(config)
        wait_until(lambda: len(fake.sent()) >= 40, 60)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        before_restart = len(fake.sent())
        assert before_restart < RECIPIENTS, "the crash came too late to test anything"
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bot = start(config)
        chats = set(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))
        wait_until(lambda: chats <= {m["chat_id"] for m in fake.sent()}, 60)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr.decode()
    delivered = [m["chat_id"] for m in fake.sent()]
    duplicates = len(delivered) - len(set(delivered))
    assert duplicates <= 1, f"{duplicates} messages arrived twice"
    with sqlite3.connect(database) as conn:
        statuses = conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    assert statuses == [("sent", RECIPIENTS)]
