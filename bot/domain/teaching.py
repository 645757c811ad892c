"""Teaching the bot: questions the FAQ could not answer, marked by an officer as meaning a
topic (one more example of it for the matcher, merged with the FAQ's own examples by
bot/app.py) or as needing a new topic (a list for the admin). One mark per question: a
later one replaces it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.store import Database, utc_now

QUESTION_LIMIT = 300  # characters: an example is a question, not a story


@dataclass(frozen=True)
class Taught:
    id: int
    question: str
    topic_id: str | None  # None: needs a new topic
    taught_by: str
    taught_at: str


def key(question: str) -> str:
    """A question as marks are stored and looked up: lower case, one space between words."""
    return " ".join(question.lower().split())[:QUESTION_LIMIT]


async def teach(db: Database, question: str, topic_id: str | None, by: str) -> Taught:
    rows = await db.write_one(
        "INSERT INTO faq_teaching (question, topic_id, taught_by, taught_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (question) DO UPDATE SET topic_id = excluded.topic_id,"
        " taught_by = excluded.taught_by, taught_at = excluded.taught_at"
        " RETURNING id, question, topic_id, taught_by, taught_at",
        (key(question), topic_id, by[:100], utc_now()),
    )
    return Taught(*rows[0])


async def forget(db: Database, taught_id: int) -> Taught | None:
    rows = await db.write_one(
        "DELETE FROM faq_teaching WHERE id = ?"
        " RETURNING id, question, topic_id, taught_by, taught_at",
        (taught_id,),
    )
    return Taught(*rows[0]) if rows else None


async def everything(db: Database) -> list[Taught]:
    """Every mark, newest first."""
    rows = await db.fetchall(
        "SELECT id, question, topic_id, taught_by, taught_at FROM faq_teaching ORDER BY id DESC"
    )
    return [Taught(*r) for r in rows]


async def examples(db: Database) -> dict[str, list[str]]:
    """The taught examples per topic, oldest first: what the matcher adds to the FAQ's."""
    rows = await db.fetchall(
        "SELECT topic_id, question FROM faq_teaching WHERE topic_id IS NOT NULL ORDER BY id"
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["topic_id"], []).append(row["question"])
    return found


async def version(db: Database) -> tuple[int, str]:
    """Changes when a mark is added, changed or removed: the matcher is rebuilt then."""
    row = await db.fetchone(
        "SELECT count(*), coalesce(max(taught_at), '') || '/' || coalesce(max(id), 0)"
        " FROM faq_teaching"
    )
    return (int(row[0]), str(row[1])) if row else (0, "")
