"""The audit log: who among staff did what, and when. Written for every staff action in the
chat, every officer reply in the staff group and every change made from the command line."""

from __future__ import annotations

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
