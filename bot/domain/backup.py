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

from bot.domain.store import BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The backup could not be made; the message says why, in plain words."""


def backup(database: Path, target: Path | str, force: bool = False) -> Path:
    """Copy ``database`` to ``target``: a file, or a folder (existing, or written with a
    trailing "/") to put a dated file in. An existing file is replaced only with ``force``."""
    if not database.exists():
        raise BackupError(f"{database}: no database there (check `database` in config.yaml)")
    folder = str(target).endswith(("/", "\\"))
    target = Path(target)
    if folder or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = target / f"desabot-{stamp}.sqlite3"
    live = {database.resolve()} | {
        database.resolve().with_name(database.name + suffix) for suffix in ("-wal", "-shm")
    }
    if target.resolve() in live:
        raise BackupError(f"{target}: that is the database itself; choose another path")
    if target.exists() and not force:
        raise BackupError(f"{target}: exists already; choose another name, or add --force")
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        partial.touch(mode=0o600)  # personal data: readable by its owner only
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
