"""Faults: an online backup while another process writes, a database that cannot be written,
and the bot carrying on after kill -9 during writes. Real processes, real SQLite files."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from auxil.fake_bot_api import FakeBotApi
from auxil.processes import desabot
from bot.domain.migrations import MIGRATIONS
from bot.domain.store import Database
from conftest import write_config

WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
n = 0
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(50):
        conn.execute(
            "INSERT INTO messages (person_id, received_at, kind, text, lang, action)"
            " VALUES (1, '2026-01-01', 'text', ?, 'id', 'faq_answer')", ("x" * 200,)
        )
        n += 1
    conn.execute("COMMIT")
print(n)
"""


async def seeded(path) -> None:
    db = await Database.open(path)
    await db.write_one(
        "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at)"
        " VALUES ('telegram', '1', 'Warga', 'id', '2026-01-01')"
    )
    await db.close()


def test_a_backup_taken_while_another_process_writes_is_consistent(tmp_path):
    config = write_config(tmp_path)
    database = tmp_path / "desabot.sqlite3"
    asyncio.run(seeded(database))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(database), "4"], stdout=subprocess.PIPE, text=True
    )
    time.sleep(0.5)  # the writer is busy
    copies = []
    for n in range(3):
        result = desabot(config, "backup", str(tmp_path / f"copy{n}.sqlite3"))
        assert result.returncode == 0, result.stderr
        assert "integrity check: ok" in result.stdout
        copies.append(tmp_path / f"copy{n}.sqlite3")
    written = int(writer.communicate(timeout=30)[0])
    counts = []
    for copy in copies:
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            counts.append(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    # each copy is one snapshot: whole transactions only, and later copies hold more
    assert all(c % 50 == 0 for c in counts) and counts == sorted(counts)
    assert counts[0] > 0 and counts[-1] <= written
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_folder_and_its_mistakes(tmp_path):
    config = write_config(tmp_path)
    asyncio.run(seeded(tmp_path / "desabot.sqlite3"))
    folder = tmp_path / "backups"
    folder.mkdir()
    result = desabot(config, "backup", str(folder))
    assert result.returncode == 0
    [copy] = folder.glob("desabot-*.sqlite3")
    assert str(copy) in result.stdout
    itself = desabot(config, "backup", str(tmp_path / "desabot.sqlite3"))
    assert itself.returncode == 1 and "that is the database itself" in itself.stderr
    nowhere = desabot(config, "backup", str(tmp_path / "no" / "such" / "dir" / "x.db"))
    assert nowhere.returncode == 1 and "cannot write the backup" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    wal = desabot(config, "backup", str(tmp_path / "desabot.sqlite3-wal"))
    assert wal.returncode == 1 and "that is the database itself" in wal.stderr
    config_file = desabot(config, "backup", str(config))
    assert config_file.returncode == 1 and "exists already" in config_file.stderr
    assert "database:" in config.read_text()  # untouched
    assert desabot(config, "backup", str(copy), "--force").returncode == 0  # if one insists
    new_folder = desabot(config, "backup", str(tmp_path / "nightly") + "/")
    assert new_folder.returncode == 0
    [dated] = (tmp_path / "nightly").glob("desabot-*.sqlite3")
    assert oct(dated.stat().st_mode & 0o777) == "0o600"  # personal data: owner only


def test_a_full_disk_is_one_clear_line_at_start_not_a_crash_loop(tmp_path):
    """The disk is full for the bot: the operating system refuses to let it write more than
    4 KB to any file (RLIMIT_FSIZE; Python ignores SIGXFSZ, so writes fail with EFBIG, which
    SQLite reports as a full disk). A read-only file fails the same way, at the same place."""
    database = tmp_path / "desabot.sqlite3"
    asyncio.run(seeded(database))
    with FakeBotApi() as fake:
        config = write_config(
            tmp_path, database=str(database), telegram={"api_base_url": fake.base_url}
        )
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": "1:full"},
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)),
        )
        assert not fake.calls_to("getUpdates")  # it never started serving
    assert result.returncode == 2, result.stderr  # systemd: RestartPreventExitStatus=2
    assert str(database) in result.stderr and "is the disk full" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_kill_9_during_writes_then_the_restarted_bot_carries_on(tmp_path):
    database = tmp_path / "bot.sqlite3"
    with FakeBotApi() as fake:
        config = write_config(
            tmp_path,
            database=str(database),
            telegram={"api_base_url": fake.base_url, "poll_timeout": 1},
        )
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": "1:kill-test"}
        command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
        bot = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=env)
        users = range(3000, 3030)
        for n in range(4):
            for user in users:
                fake.push_text(user, f"berapa biaya paspor {n}")
        deadline = time.monotonic() + 60
        while len(fake.sent()) < 40:  # the bot is busy answering and writing
            assert time.monotonic() < deadline
            time.sleep(0.02)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bot = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
        fake.push_text(4000, "/start")
        deadline = time.monotonic() + 60
        while not fake.sent(4000):
            assert time.monotonic() < deadline, "the restarted bot does not answer"
            time.sleep(0.05)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
        assert bot.returncode == 0, stderr.decode()
    assert "Halo" in fake.sent(4000)[0]["visible_text"]


async def test_a_database_that_turns_read_only_is_reported_before_serving(tmp_path):
    from bot.domain.store import StoreError

    db = await Database.open(tmp_path / "desabot.sqlite3")
    try:
        await db.check_writable()  # fine
        await db.fetchall("PRAGMA query_only = ON")  # SQLite now refuses every write
        with pytest.raises(StoreError, match=r"cannot write the database .*readonly.*disk full"):
            await db.check_writable()
    finally:
        await db.close()


async def test_when_writes_start_failing_villagers_still_get_a_reply(app):
    from bot.core.messages import Incoming, Kind

    known = Incoming("telegram", "42", Kind.TEXT, "berapa biaya paspor", display_name="Budi")
    assert await app.handle(known)
    await app.db.fetchall("PRAGMA query_only = ON")  # the disk has filled up
    [answer] = await app.handle(known)
    assert "Rp" in answer.text  # answered, though it cannot be logged
    stranger = Incoming("telegram", "43", Kind.TEXT, "halo", display_name="Rina")
    [sorry] = await app.handle(stranger)
    assert "Maaf" in sorry.text
