"""The log of every incoming message: when, in which language, and what the bot did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.store import Database, utc_now
from bot.support.logs import without_nik  # an identity number is never kept

STORED_TEXT_LIMIT = 4096  # a 20,000-character paste is cut before it is stored


@dataclass(frozen=True)
class LogLine:
    """One message and what was done with it (``action``, the FAQ topic given and the
    matcher's score)."""

    person_id: int
    kind: str
    text: str
    lang: str
    action: str
    faq_id: str | None = None
    score: float | None = None
    update_key: str | None = None


_INSERT = (
    "INSERT INTO messages (person_id, received_at, kind, text, lang, action, faq_id, score,"
    " update_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _values(line: LogLine) -> tuple:
    """An identity number (NIK) in the text is never stored."""
    return (
        line.person_id,
        utc_now(),
        line.kind,
        without_nik(line.text[:STORED_TEXT_LIMIT]),
        line.lang,
        line.action,
        line.faq_id,
        line.score,
        line.update_key,
    )


async def log_message(db: Database, line: LogLine) -> None:
    await db.write_one(_INSERT, _values(line))


def record_message(raw, line: LogLine) -> None:
    """``log_message`` inside a transaction run in the database's thread (``in_one_trip``)."""
    raw.execute(_INSERT, _values(line))


async def last_message_at(db: Database, person_id: int) -> datetime | None:
    """When the person last wrote (WhatsApp's 24-hour window counts from it)."""
    row = await db.fetchone(
        "SELECT max(received_at) FROM messages WHERE person_id = ?", (person_id,)
    )
    return datetime.fromisoformat(row[0]) if row and row[0] else None


async def latest_declined_question(db: Database, person_id: int, since: datetime) -> str:
    """The person's last question the FAQ could not answer, asked after ``since`` ("" for
    none, or one whose text was erased)."""
    row = await db.fetchone(
        "SELECT text FROM messages WHERE person_id = ? AND action = 'faq_declined'"
        " AND text IS NOT NULL AND received_at > ? ORDER BY id DESC LIMIT 1",
        (person_id, since.isoformat()),
    )
    return row["text"].strip() if row and row["text"] else ""
