"""Villagers' verdicts on FAQ answers (👍/👎), and the staff view of what the FAQ misses."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.store import Database, utc_now

ANSWERED = ("faq_answer", "faq_button")


async def record_feedback(db: Database, person_id: int, faq_id: str, helpful: bool) -> None:
    """Attach the verdict to the person's latest answer on that topic; a second tap replaces it."""
    await db.write_one(
        "INSERT INTO feedback (person_id, message_id, faq_id, helpful, created_at)"
        " VALUES (?, (SELECT id FROM messages WHERE person_id = ? AND faq_id = ?"
        f"  AND action IN {ANSWERED!r} ORDER BY id DESC LIMIT 1), ?, ?, ?)"
        " ON CONFLICT (message_id) DO UPDATE SET helpful = excluded.helpful,"
        " created_at = excluded.created_at",
        (person_id, person_id, faq_id, faq_id, int(helpful), utc_now()),
    )


@dataclass(frozen=True)
class AskedQuestion:
    text: str
    times: int
    last_asked: str
    faq_id: str | None = None


async def unanswered_questions(db: Database, limit: int = 50) -> list[AskedQuestion]:
    """Questions the FAQ declined, the same wording counted together, most frequent first."""
    rows = await db.fetchall(
        "SELECT lower(trim(text)) AS question, count(*) AS times, max(received_at) AS last"
        " FROM messages WHERE action = 'faq_declined' AND text IS NOT NULL AND trim(text) != ''"
        " GROUP BY question ORDER BY times DESC, last DESC LIMIT ?",
        (limit,),
    )
    return [AskedQuestion(r["question"], r["times"], r["last"]) for r in rows]


async def disliked_answers(db: Database, limit: int = 50) -> list[AskedQuestion]:
    """Questions whose answer got 👎, with the topic given, most frequent first."""
    rows = await db.fetchall(
        "SELECT lower(trim(m.text)) AS question, f.faq_id AS faq_id, count(*) AS times,"
        " max(f.created_at) AS last FROM feedback f JOIN messages m ON m.id = f.message_id"
        " WHERE f.helpful = 0 GROUP BY question, f.faq_id ORDER BY times DESC, last DESC LIMIT ?",
        (limit,),
    )
    return [AskedQuestion(r["question"], r["times"], r["last"], r["faq_id"]) for r in rows]
