"""The officer inbox: questions the bot cannot answer go to a person.

A villager's question ("Tanya petugas", or one the FAQ declined) is stored and forwarded to the
staff group through the outbox, tagged "#T<id>". A staff member replies to that message in the
group; the reply is stored and queued to the villager's own chat. Both directions go through
the outbox, so a restart or a network failure loses neither the question nor the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.outbox import enqueue
from bot.domain.store import Database, utc_now
from bot.support.logs import without_nik

# A villager cannot flood the staff group: beyond this many questions an hour, they are
# stored and held back, then forwarded as the hour allows (and listed by /belum_terjawab).
MAX_FORWARDS_PER_HOUR = 5
HELD_FOR = timedelta(days=7)  # a held question older than this is left to the lists
QUESTION_LIMIT = 2000  # characters forwarded; the staff group message must stay readable
_TAG = re.compile(r"#T([0-9]{1,9})\b")


def tag(inbox_id: int) -> str:
    return f"#T{inbox_id}"


def tag_in(text: str) -> int | None:
    """The question id a staff reply answers, from the forwarded message's "#T12" tag."""
    found = _TAG.search(text or "")
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Asked:
    inbox_id: int
    forwarded: bool


async def ask(
    db: Database,
    *,
    person_id: int,
    question: str,
    source: str,
    group: tuple[str, str] | None,
    values: dict[str, str],
) -> Asked:
    """Store a villager's question and forward it, unless they are over the hourly limit:
    then it is held, and ``forward_held`` sends it on once the hour allows. The same question
    asked again within the hour (the "send to an officer" button tapped again and again) is
    the one stored before: nothing new is stored or forwarded."""
    question = without_nik(question[:QUESTION_LIMIT])
    details = json.dumps(values, ensure_ascii=False)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    async with db.write() as conn:
        again = await conn.execute_fetchall(
            "SELECT id, forwarded_at IS NOT NULL FROM inbox WHERE person_id = ? AND question = ?"
            " AND asked_at > ? ORDER BY id DESC LIMIT 1",
            (person_id, question, hour_ago),
        )
        if again:
            [(inbox_id, forwarded)] = again
            return Asked(inbox_id, bool(forwarded))
        [(inbox_id,)] = await conn.execute_fetchall(
            "INSERT INTO inbox (person_id, question, source, asked_at, details)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (person_id, question, source, utc_now(), details),
        )
        forwarded = group is not None and await _forward(conn, inbox_id, group)
    return Asked(inbox_id, forwarded)


async def _forward(conn, inbox_id: int, group: tuple[str, str]) -> bool:
    """Queue one stored question to the staff group if its asker is under the hourly limit."""
    now = datetime.now(UTC)
    [(person_id, question, details)] = await conn.execute_fetchall(
        "SELECT person_id, question, details FROM inbox WHERE id = ?", (inbox_id,)
    )
    hour_ago = (now - timedelta(hours=1)).isoformat(timespec="milliseconds")
    [(recent,)] = await conn.execute_fetchall(
        "SELECT count(*) FROM inbox WHERE person_id = ? AND forwarded_at > ?",
        (person_id, hour_ago),
    )
    if recent >= MAX_FORWARDS_PER_HOUR:
        return False
    await conn.execute("UPDATE inbox SET forwarded_at = ? WHERE id = ?", (utc_now(), inbox_id))
    await enqueue(
        conn,
        person_id=person_id,
        text_key="inbox_forward",
        dedupe_key=f"inbox:{inbox_id}",
        due=now,
        values={**json.loads(details), "tag": tag(inbox_id), "question": question},
        destination=group,
    )
    return True


async def forward_held(db: Database, group: tuple[str, str] | None) -> int:
    """Send on questions held back by the hourly limit, as far as the limit now allows."""
    if group is None:
        return 0
    held = await db.fetchall(
        "SELECT id FROM inbox WHERE forwarded_at IS NULL AND question != '' AND asked_at > ?"
        " ORDER BY id LIMIT 50",
        ((datetime.now(UTC) - HELD_FOR).isoformat(timespec="milliseconds"),),
    )
    sent = 0
    for row in held:
        async with db.write() as conn:
            sent += await _forward(conn, row["id"], group)
    return sent


@dataclass(frozen=True)
class Answered:
    person_id: int
    name: str
    outcome: str = "queued"  # or "erased" (they deleted their data), "repeat" (seen before)


async def answer(
    db: Database, inbox_id: int, text: str, answered_by: str, update_key: str | None = None
) -> Answered | None:
    """Store a staff reply and queue it to the villager; None when there is no such question.
    An identity number in it is masked; the phone numbers an officer gives (the office's
    callback number) are the answer, and stay."""
    text = without_nik(text)
    async with db.write() as conn:
        rows = list(
            await conn.execute_fetchall(
                "SELECT i.person_id, i.question, coalesce(p.full_name, p.display_name),"
                " p.erased_at FROM inbox i JOIN people p ON p.id = i.person_id WHERE i.id = ?",
                (inbox_id,),
            )
        )
        if not rows:
            return None
        person_id, question, name, erased_at = rows[0]
        if erased_at:
            return Answered(person_id, "", "erased")
        inserted = await conn.execute_fetchall(
            "INSERT INTO inbox_answers (inbox_id, answer, answered_by, answered_at, update_key)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (inbox_id, text, answered_by[:100], utc_now(), update_key),
        )
        if not inserted:
            return Answered(person_id, name, "repeat")
        [(answer_id,)] = inserted
        await enqueue(
            conn,
            person_id=person_id,
            text_key="officer_answer",
            dedupe_key=f"inbox-answer:{answer_id}",
            due=datetime.now(UTC),
            values={"question": _short(question), "answer": text},
        )
    return Answered(person_id, name)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def open_questions(db: Database) -> int:
    """Questions stored in the inbox that no officer has answered yet."""
    row = await db.fetchone(
        "SELECT count(*) FROM inbox i WHERE NOT EXISTS"
        " (SELECT 1 FROM inbox_answers a WHERE a.inbox_id = i.id)"
    )
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class OpenQuestion:
    tag: str
    name: str
    village: str
    question: str
    asked_at: str


async def open_question_list(db: Database, limit: int = 20) -> list[OpenQuestion]:
    """Questions to officers with no answer yet, oldest first."""
    rows = await db.fetchall(
        "SELECT i.id, coalesce(p.full_name, p.display_name) AS name,"
        " coalesce(p.village, '') AS village, i.question, i.asked_at FROM inbox i"
        " JOIN people p ON p.id = i.person_id WHERE NOT EXISTS"
        " (SELECT 1 FROM inbox_answers a WHERE a.inbox_id = i.id) AND i.question != ''"
        " ORDER BY i.id LIMIT ?",
        (limit,),
    )
    return [
        OpenQuestion(tag(r["id"]), r["name"], r["village"], r["question"], r["asked_at"])
        for r in rows
    ]
