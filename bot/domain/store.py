"""The SQLite file: the single source of truth. One long-lived aiosqlite connection.

WAL lets readers (CLI commands, backups) work while the bot writes; busy_timeout makes a
second process wait instead of failing. Every write goes through ``write()`` (a transaction
that takes the write lock up front, BEGIN IMMEDIATE, so a read that decides a write cannot be
overtaken) or ``write_one()`` (a single statement, atomic on its own); both are serialised in
this process by one asyncio lock. Reads on the shared connection do not take the lock: a read
that decides a write belongs inside ``write()``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.domain.migrations import MIGRATIONS

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
# What a failed read or write raises (a full disk, a read-only file): callers outside the
# domain catch this name, not the engine's, so a second engine can keep the same callers.
DatabaseError = sqlite3.Error
DISK_HINT = "is the disk full, or the file or its folder read-only?"
log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be opened or upgraded; the message says why, in plain words."""


def utc_now() -> str:
    """Timestamps are stored as UTC ISO-8601 text; channels show them in local time."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Database:
    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self._write_lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        try:
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from None
        connection.row_factory = sqlite3.Row
        database = cls(connection, path)
        try:
            await database._prepare()
        except sqlite3.Error as exc:
            await connection.close()
            raise StoreError(f"{path}: cannot prepare the database ({exc}); {DISK_HINT}") from None
        except BaseException:
            await connection.close()
            raise
        return database

    async def _prepare(self) -> None:
        await self._conn.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await self._conn.execute_fetchall("PRAGMA journal_mode = WAL")
        await self._conn.execute_fetchall("PRAGMA synchronous = NORMAL")
        await self._conn.execute_fetchall("PRAGMA foreign_keys = ON")
        # what is deleted or overwritten is zeroed in the file, not just marked free:
        # an erased person's texts must not survive in the database's free pages
        await self._conn.execute_fetchall("PRAGMA secure_delete = ON")
        await self._migrate()

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: the database is from a newer desabot "
                f"(schema {version}, this version knows {len(MIGRATIONS)}); upgrade desabot"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self.write() as db:
                # read again under the write lock: another process may have just migrated
                [(current,)] = await db.execute_fetchall("PRAGMA user_version")
                if current >= number:
                    continue
                for statement in _statements(script):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")

    async def check_writable(self) -> None:
        """Write once for real before serving anyone: a full disk or a read-only file is one
        clear error at start, not a failure on every villager's message."""
        try:
            async with self.write() as conn:
                await conn.execute(
                    "INSERT INTO jobs (name, last_run) VALUES ('started', ?)"
                    " ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
                    (utc_now(),),
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot write the database ({exc}); {DISK_HINT}"
            ) from None

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it (after an erasure: the WAL holds
        the old versions of the pages until then). Waits for the busy timeout if another
        connection still reads an old snapshot; the next checkpoint finishes the job then."""
        async with self._write_lock:
            # read to the end: a statement left open would make the next COMMIT fail
            await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: serialised in-process, BEGIN IMMEDIATE, commit or roll back."""
        async with self._write_lock:
            if self._conn.in_transaction:  # left open by a write cancelled mid-BEGIN
                log.warning("event=stale_transaction_rolled_back")
                await self._conn.execute("ROLLBACK")
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def in_one_trip(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A write transaction run whole in the database's thread: ``work`` gets the plain
        sqlite3 connection and its statements go one after another there, so the transaction
        costs one trip to that thread and back instead of one per statement. For the path
        every message takes (its log line, its replies, its mark as handled). aiosqlite has
        no public call for this; ``_execute`` is the one its own methods use."""
        async with self._write_lock:
            return await self._conn._execute(_transaction, self._conn._conn, work)

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """One statement on its own: atomic without BEGIN/COMMIT, so one trip to the DB thread.

        The lock still serialises it with ``write()`` transactions on this connection.
        """
        async with self._write_lock:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query, in one trip to the database thread (execute, fetch and close)."""
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def close(self) -> None:
        await self._conn.close()


def _transaction(raw: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """In the database's thread: BEGIN IMMEDIATE, ``work``, COMMIT (ROLLBACK if it raised)."""
    if raw.in_transaction:  # left open by a write cancelled mid-BEGIN
        raw.execute("ROLLBACK")
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = work(raw)
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (migrations contain no ';' inside strings)."""
    return [part.strip() for part in script.split(";") if part.strip()]
