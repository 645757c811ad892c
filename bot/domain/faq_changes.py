"""FAQ answers changed in the console: who changed which topic when, and what it said before
(the file itself holds the current text; bot/content/faq_edit.py writes it)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.domain.store import Database, utc_now


@dataclass(frozen=True)
class Change:
    id: int
    topic_id: str
    before: dict  # title, answer, sources
    after: dict
    changed_by: str
    changed_at: str


async def record(db: Database, topic_id: str, before: dict, after: dict, by: str) -> None:
    await db.write_one(
        "INSERT INTO faq_changes (topic_id, before, after, changed_by, changed_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (topic_id, json.dumps(before, ensure_ascii=False), json.dumps(after, ensure_ascii=False),
         by[:100], utc_now()),
    )  # fmt: skip


async def of_topic(db: Database, topic_id: str, limit: int = 20) -> list[Change]:
    """A topic's changes, newest first."""
    rows = await db.fetchall(
        "SELECT id, topic_id, before, after, changed_by, changed_at FROM faq_changes"
        " WHERE topic_id = ? ORDER BY id DESC LIMIT ?",
        (topic_id, limit),
    )
    return [Change(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5]) for r in rows]


async def last_changes(db: Database) -> dict[str, Change]:
    """Each changed topic's latest change."""
    rows = await db.fetchall(
        "SELECT id, topic_id, before, after, changed_by, changed_at FROM faq_changes"
        " WHERE id IN (SELECT max(id) FROM faq_changes GROUP BY topic_id)"
    )
    return {r[1]: Change(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4], r[5]) for r in rows}
