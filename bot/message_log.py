"""The log of every incoming message: when, in which language, and what the bot did."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import Database, utc_now

STORED_TEXT_LIMIT = 4096  # a 20,000-character paste is cut before it is stored


@dataclass(frozen=True)
class Handled:
    """What the core did with one message, for the log and for staff statistics."""

    action: str
    faq_id: str | None = None
    score: float | None = None


async def log_message(
    db: Database, person_id: int, kind: str, text: str, lang: str, handled: Handled
) -> None:
    await db.write_one(
        "INSERT INTO messages (person_id, received_at, kind, text, lang, action, faq_id, score)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            person_id,
            utc_now(),
            kind,
            text[:STORED_TEXT_LIMIT],
            lang,
            handled.action,
            handled.faq_id,
            handled.score,
        ),
    )
