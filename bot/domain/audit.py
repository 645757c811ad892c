"""The audit log: who among staff did what, and when. Written for every staff action in the
chat, every officer reply in the staff group and every change made from the command line."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.store import Database, utc_now
from bot.support.logs import PHONE, PHONE_MASK, without_nik

DETAIL_LIMIT = 500


async def record(db: Database, actor: str, action: str, detail: str = "") -> None:
    """One line of the audit log; identity and phone numbers in it are masked."""
    detail = PHONE.sub(PHONE_MASK, without_nik(" ".join(detail.split())))
    await db.write_one(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
        (utc_now(), actor[:200], action, detail[:DETAIL_LIMIT]),
    )


async def recent(db: Database, limit: int = 50) -> list[tuple[str, str, str, str]]:
    rows = await db.fetchall(
        "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [tuple(r) for r in rows]


@dataclass(frozen=True)
class Entry:
    id: int
    at: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class Filter:
    """What the audit page is asked for; empty fields do not filter."""

    actor: str = ""  # part of the name: "budi" finds "console:budi"
    action: str = ""  # one action exactly
    since: str = ""  # UTC ISO times, as stored
    until: str = ""
    text: str = ""  # part of the detail: a session code, "#T12"
    before: int = 0  # the next page: entries older than this id


async def search(db: Database, wanted: Filter, limit: int = 100) -> list[Entry]:
    """Newest first, at most ``limit``."""
    filters = (
        ("instr(lower(actor), lower(?)) > 0", wanted.actor), ("action = ?", wanted.action),
        ("at >= ?", wanted.since), ("at < ?", wanted.until),
        ("instr(lower(detail), lower(?)) > 0", wanted.text), ("id < ?", wanted.before),
    )  # fmt: skip
    clauses = [clause for clause, value in filters if value]
    params = [value for _, value in filters if value]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.fetchall(
        f"SELECT id, at, actor, action, detail FROM audit_log{where} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [Entry(*r) for r in rows]


async def actions(db: Database) -> list[str]:
    """Every action the log holds, for the page's filter."""
    return [r[0] for r in await db.fetchall("SELECT DISTINCT action FROM audit_log ORDER BY 1")]
