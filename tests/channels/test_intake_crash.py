"""kill -9 of `desabot run` while 300 villagers each send "DAFTAR <code>" at once, on Telegram
and on WhatsApp: after the restart every villager has their booking and exactly one
confirmation (a few of those in flight at the crash may arrive twice: counted and bounded),
and the database is intact. Real processes, the stand-in APIs, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auxil.channels import free_port
from auxil.fake_bot_api import FakeBotApi
from auxil.fake_graph_api import FakeGraphApi
from auxil.processes import wait_until
from auxil.whatsapp import SECRETS, Meta, listening
from bot.domain.people import touch_person, update_profile
from bot.domain.sessions import create_session
from bot.domain.store import Database
from conftest import write_config

VILLAGERS = 300
FIRST_TELEGRAM = 70_000
FIRST_PHONE = 6281300000000
# in flight at the crash, at most: 4 chats being handled, the deliveries not yet recorded
# (about 3 x 8) and the replies being sent; anything above means something was handled twice
MAX_TWICE = 40


async def prepare(path: Path, channel: str, ids: list[str]) -> str:
    """A session with room for everyone, and villagers who signed up before (a profile)."""
    db = await Database.open(path)
    try:
        starts = datetime.now(UTC) + timedelta(days=3)
        session = await create_session(
            db, title_id="Sosialisasi migrasi aman", title_en="Safe migration talk",
            village="Pesaku", place="Balai desa", starts=starts,
            ends=starts + timedelta(hours=2), capacity=VILLAGERS + 10,
        )  # fmt: skip
        for n, user in enumerate(ids):
            person = await touch_person(db, channel, user, f"Warga {n}", "id")
            await update_profile(
                db, person.id, full_name=f"Warga Desa {n}", village="Pesaku",
                consent_at=datetime.now(UTC).isoformat(),
            )  # fmt: skip
        return session.code
    finally:
        await db.close()


def start(config: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def crash(bot: subprocess.Popen) -> None:
    bot.send_signal(signal.SIGKILL)
    bot.wait(timeout=10)


def stop(bot: subprocess.Popen) -> None:
    bot.send_signal(signal.SIGTERM)
    _, stderr = bot.communicate(timeout=60)
    assert bot.returncode == 0, stderr.decode()[-3000:]


def bookings(database: Path, channel: str) -> dict[str, list[str]]:
    """Each villager's active booking codes."""
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT p.channel_user_id, r.booking_code FROM registrations r"
            " JOIN people p ON p.id = r.person_id WHERE p.channel = ? AND r.status != 'cancelled'",
            (channel,),
        ).fetchall()
    found: dict[str, list[str]] = {}
    for user, code in rows:
        found.setdefault(user, []).append(code)
    return found


def unhandled(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM intake WHERE handled_at IS NULL").fetchone()[0]


def check_outcome(
    database: Path, channel: str, ids: list[str], said: dict[str, list[str]]
) -> tuple[int, int]:
    """Every villager booked once and told their booking code; returns (told twice, lost)."""
    booked = bookings(database, channel)
    assert set(booked) == set(ids), f"{len(set(ids) - set(booked))} villagers have no booking"
    assert all(len(codes) == 1 for codes in booked.values())
    told = {user: sum(booked[user][0] in t for t in said.get(user, [])) for user in ids}
    lost = sum(1 for n in told.values() if n == 0)
    twice = sum(1 for n in told.values() if n > 1)
    assert lost == 0, f"{lost} villagers were booked but never told"
    assert twice <= MAX_TWICE, f"{twice} confirmations arrived twice"
    assert unhandled(database) == 0
    return twice, lost


def test_kill_9_while_300_villagers_sign_up_on_telegram(tmp_path):
    database = tmp_path / "bot.sqlite3"
    ids = [str(FIRST_TELEGRAM + n) for n in range(VILLAGERS)]
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
        )
        code = asyncio.run(prepare(database, "telegram", ids))
        for user in ids:
            fake.push_text(int(user), f"DAFTAR {code}")
        env = {"TELEGRAM_BOT_TOKEN": "1:intake-crash"}
        bot = start(config, env)
        wait_until(lambda: len(fake.sent()) >= 30, 60, "the first confirmations")
        crash(bot)
        assert len(fake.sent()) < VILLAGERS, "the crash came too late to test anything"
        bot = start(config, env)
        wait_until(lambda: {str(m["chat_id"]) for m in fake.sent()} >= set(ids), 90, "everyone")
        stop(bot)
        said: dict[str, list[str]] = {}
        for message in fake.sent():
            said.setdefault(str(message["chat_id"]), []).append(message["visible_text"])
    check_outcome(database, "telegram", ids, said)


def test_kill_9_while_300_villagers_sign_up_on_whatsapp(tmp_path):
    database = tmp_path / "bot.sqlite3"
    phones = [str(FIRST_PHONE + n) for n in range(VILLAGERS)]
    port = free_port()
    with FakeGraphApi() as graph:
        config = write_config(
            tmp_path,
            database=str(database),
            whatsapp={
                "enabled": True,
                "api_base_url": graph.base_url,
                "phone_number_id": graph.phone_number_id,
                "messages_per_second": 1000,
                "port": port,
            },
        )
        code = asyncio.run(prepare(database, "whatsapp", phones))
        env = {
            "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
            "WHATSAPP_APP_SECRET": SECRETS.app_secret,
            "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
        }
        bot = start(config, env)
        meta = Meta(f"http://127.0.0.1:{port}/whatsapp", code, phones)
        wait_until(lambda: listening(port), 30, "the webhook server")
        sender = threading.Thread(target=meta.deliver, args=(phones,))
        sender.start()
        wait_until(lambda: len(graph.sent()) >= 30, 60, "the first confirmations")
        crash(bot)
        sender.join(timeout=60)
        acknowledged_at_crash = set(meta.acknowledged)
        assert len(graph.sent()) < len(acknowledged_at_crash), "nothing was left to lose"
        bot = start(config, env)
        wait_until(lambda: listening(port), 30, "the webhook server again")
        meta.retry()
        assert meta.acknowledged == set(phones)
        wait_until(lambda: {m["to"] for m in graph.sent()} >= set(phones), 90, "everyone")
        stop(bot)
        said: dict[str, list[str]] = {}
        for message in graph.sent():
            words = (message.get("text") or {}).get("body") or json.dumps(message)
            said.setdefault(message["to"], []).append(words)
    check_outcome(database, "whatsapp", phones, said)
