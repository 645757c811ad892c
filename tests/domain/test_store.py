"""The SQLite file: pragmas, numbered migrations, write transactions."""

from __future__ import annotations

import sqlite3

import pytest

from bot.domain.migrations import MIGRATIONS
from bot.domain.store import Database, StoreError


async def test_open_creates_the_file_with_wal_foreign_keys_and_schema(tmp_path):
    path = tmp_path / "sub" / "bot.sqlite3"
    db = await Database.open(path)
    try:
        assert path.exists()
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA busy_timeout"))[0] == 5000
        assert await db.schema_version() == len(MIGRATIONS)
    finally:
        await db.close()


async def test_reopening_does_not_migrate_twice_and_keeps_data(tmp_path):
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    try:
        await db.write_one(
            "INSERT INTO people (channel, channel_user_id, lang, created_at)"
            " VALUES ('t', '1', 'id', 'x')"
        )
    finally:
        await db.close()
    db = await Database.open(path)
    try:
        assert (await db.fetchone("SELECT count(*) FROM people"))[0] == 1
    finally:
        await db.close()


async def test_a_failed_write_is_rolled_back(tmp_path):
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as conn:
                await conn.execute(
                    "INSERT INTO people (channel, channel_user_id, lang, created_at)"
                    " VALUES ('t', '1', 'id', 'x')"
                )
                await conn.execute(  # foreign key to a person that does not exist
                    "INSERT INTO messages (person_id, received_at, kind, lang, action)"
                    " VALUES (999, 'x', 'text', 'id', 'x')"
                )
        assert (await db.fetchone("SELECT count(*) FROM people"))[0] == 0
    finally:
        await db.close()


async def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer desabot"):
        await Database.open(path)


async def test_an_unusable_path_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the database"):
        await Database.open(blocker / "bot.sqlite3")


def test_two_processes_opening_a_new_database_at_once_both_succeed(tmp_path):
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from bot.domain.store import Database\n"
        "async def main():\n"
        "    db = await Database.open(sys.argv[1])\n"
        "    await db.close()\n"
        "asyncio.run(main())\n"
    )
    for attempt in range(4):
        path = tmp_path / f"race{attempt}.sqlite3"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE)
            for _ in range(3)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()


async def test_deleted_content_is_zeroed_whatever_sqlite_was_built_with(tmp_path, monkeypatch):
    """secure_delete is set on the bot's own connection: the SQLite of this machine zeroes
    deleted content by default, another build may not (the statement is what matters)."""
    import aiosqlite

    import bot.domain.store as store

    issued: list[str] = []
    connect = aiosqlite.connect

    async def recording_connect(*args, **kwargs):
        connection = await connect(*args, **kwargs)
        for name in ("execute", "execute_fetchall"):
            method = getattr(connection, name)

            def noting(sql, *more, method=method):
                issued.append(sql)
                return method(sql, *more)

            setattr(connection, name, noting)
        return connection

    monkeypatch.setattr(store.aiosqlite, "connect", recording_connect)
    db = await Database.open(tmp_path / "bot.sqlite3")
    try:
        assert "PRAGMA secure_delete = ON" in issued
        assert (await db.fetchone("PRAGMA secure_delete"))[0] == 1
    finally:
        await db.close()
