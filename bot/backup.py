"""`desabot backup PATH`: a consistent copy of the database, safe while the bot runs.

SQLite's online backup API copies the file as one snapshot (in WAL mode the bot keeps writing
meanwhile); the copy is checked with PRAGMA integrity_check before it replaces PATH, so a
failed or interrupted backup never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.store import BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The backup could not be made; the message says why, in plain words."""


def backup(database: Path, target: Path) -> Path:
    """Copy ``database`` to ``target`` (a file, or a folder to put a dated file in)."""
    if not database.exists():
        raise BackupError(f"{database}: no database there (check `database` in config.yaml)")
    if target.is_dir():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = target / f"desabot-{stamp}.sqlite3"
    if target.resolve() == database.resolve():
        raise BackupError(f"{target}: that is the database itself; choose another path")
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # one snapshot; the bot's writes go on meanwhile (WAL)
            [(verdict,)] = copy.execute("PRAGMA integrity_check").fetchall()
        finally:
            copy.close()
            source.close()
        if verdict != "ok":
            raise BackupError(f"{database}: the copy failed its integrity check: {verdict}")
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"{target}: cannot write the backup: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target
