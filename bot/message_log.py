"""The log of every incoming message: when, in which language, and what the bot did."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.store import Database, utc_now

# An Indonesian identity number (16 digits, maybe written in groups): never kept
NIK = re.compile(r"(?<!\d)(?:\d[\s.\-]?){15}\d(?!\d)")


def without_nik(text: str) -> str:
    return NIK.sub("[NIK]", text)


STORED_TEXT_LIMIT = 4096  # a 20,000-character paste is cut before it is stored


@dataclass(frozen=True)
class Handled:
    """What the core did with one message, for the log and for staff statistics."""

    action: str
    faq_id: str | None = None
    score: float | None = None


async def log_message(
    db: Database,
    person_id: int,
    kind: str,
    text: str,
    lang: str,
    handled: Handled,
    update_key: str | None = None,
) -> None:
    """Log one message. An identity number (NIK) in it is never stored."""
    await db.write_one(
        "INSERT INTO messages (person_id, received_at, kind, text, lang, action, faq_id, score,"
        " update_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            person_id,
            utc_now(),
            kind,
            without_nik(text[:STORED_TEXT_LIMIT]),
            lang,
            handled.action,
            handled.faq_id,
            handled.score,
            update_key,
        ),
    )
