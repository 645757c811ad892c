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
    name: str  # the villager's; for "taken", the officer who holds the question
    # or "erased" (they deleted their data), "repeat" (seen before), "taken" (another
    # officer holds the question)
    outcome: str = "queued"


async def answer(
    db: Database, inbox_id: int, text: str, answered_by: str, update_key: str | None = None
) -> Answered | None:
    """Store a staff reply and queue it to the villager; None when there is no such question.
    The first answer takes the question for its officer; another officer's is refused while
    they hold it. An identity number in it is masked; the phone numbers an officer gives
    (the office's callback number) are the answer, and stay."""
    text = without_nik(text)
    async with db.write() as conn:
        rows = list(
            await conn.execute_fetchall(
                "SELECT i.person_id, i.question, coalesce(p.full_name, p.display_name),"
                " p.erased_at, i.taken_by FROM inbox i JOIN people p ON p.id = i.person_id"
                " WHERE i.id = ?",
                (inbox_id,),
            )
        )
        if not rows:
            return None
        person_id, question, name, erased_at, taken_by = rows[0]
        if erased_at:
            return Answered(person_id, "", "erased")
        if taken_by and not same_officer(taken_by, answered_by[:100]):
            return Answered(person_id, taken_by, "taken")
        await conn.execute(
            "UPDATE inbox SET taken_by = ?, taken_at = ? WHERE id = ? AND taken_by IS NULL",
            (answered_by[:100], utc_now(), inbox_id),
        )
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


def same_officer(holder: str, officer: str) -> bool:
    """Whether ``officer`` is the one holding a question. A Telegram group member is named
    "Ibu Sari (telegram:555)": the id decides, so renaming themselves changes nothing. A
    console account ("budi (konsol)") is its name."""
    if holder == officer:
        return True
    held, _, held_id = holder.rpartition(" (")
    _, _, officer_id = officer.rpartition(" (")
    return bool(held) and ":" in held_id and held_id == officer_id


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def open_questions(db: Database) -> int:
    """Questions stored in the inbox that no officer has answered yet (not counting those
    of people who erased their data: nobody can answer them)."""
    row = await db.fetchone(
        "SELECT count(*) FROM inbox i JOIN people p ON p.id = i.person_id WHERE NOT EXISTS"
        " (SELECT 1 FROM inbox_answers a WHERE a.inbox_id = i.id) AND i.question != ''"
        " AND p.erased_at IS NULL"
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


# -- the console's inbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str  # "" once retention or an erasure removed it
    by: str
    at: str


@dataclass(frozen=True)
class Question:
    """A question to officers as the console shows it: who asked, who holds it, its answers."""

    id: int
    person_id: int
    name: str
    village: str
    lang: str
    channel: str
    question: str
    source: str  # "asked" (Tanya petugas) or "declined" (the FAQ could not answer it)
    asked_at: str
    taken_by: str | None
    taken_at: str | None
    answers: tuple[Reply, ...] = ()

    @property
    def tag(self) -> str:
        return tag(self.id)

    @property
    def is_open(self) -> bool:
        return not self.answers


_QUESTION = (
    "SELECT i.id, i.person_id, coalesce(p.full_name, p.display_name) AS name,"
    " coalesce(p.village, '') AS village, p.lang, p.channel, i.question, i.source, i.asked_at,"
    " i.taken_by, i.taken_at FROM inbox i JOIN people p ON p.id = i.person_id"
)
_ANSWERED = "EXISTS (SELECT 1 FROM inbox_answers a WHERE a.inbox_id = i.id)"


async def questions(
    db: Database, *, answered: bool, newest_first: bool, limit: int = 50, offset: int = 0
) -> list[Question]:
    """Questions waiting for an answer (or answered), oldest or newest first; none of people
    who erased their data."""
    order = "DESC" if newest_first else "ASC"
    rows = await db.fetchall(
        f"{_QUESTION} WHERE i.question != '' AND p.erased_at IS NULL"
        f" AND {'' if answered else 'NOT '}{_ANSWERED}"
        f" ORDER BY i.asked_at {order}, i.id {order} LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return await _with_answers(db, rows)


async def question(db: Database, inbox_id: int) -> Question | None:
    rows = await db.fetchall(
        f"{_QUESTION} WHERE i.id = ? AND i.question != '' AND p.erased_at IS NULL", (inbox_id,)
    )
    found = await _with_answers(db, rows)
    return found[0] if found else None


async def earlier_questions(db: Database, person_id: int, before: int, limit: int = 10):
    """The same villager's questions to officers before this one, newest first."""
    rows = await db.fetchall(
        f"{_QUESTION} WHERE i.person_id = ? AND i.id < ? AND i.question != ''"
        " ORDER BY i.id DESC LIMIT ?",
        (person_id, before, limit),
    )
    return await _with_answers(db, rows)


async def _with_answers(db: Database, rows) -> list[Question]:
    ids = [row["id"] for row in rows]
    answers: dict[int, list[Reply]] = {}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for a in await db.fetchall(
            "SELECT inbox_id, answer, answered_by, answered_at FROM inbox_answers"
            f" WHERE inbox_id IN ({marks}) ORDER BY id",
            ids,
        ):
            answers.setdefault(a["inbox_id"], []).append(
                Reply(a["answer"], a["answered_by"], a["answered_at"])
            )
    return [
        Question(
            row["id"], row["person_id"], row["name"], row["village"], row["lang"],
            row["channel"], row["question"], row["source"], row["asked_at"], row["taken_by"],
            row["taken_at"], tuple(answers.get(row["id"], ())),
        )
        for row in rows
    ]  # fmt: skip


async def take(db: Database, inbox_id: int, officer: str) -> str | None:
    """ "Saya jawab": the question is held for ``officer`` unless another holds it already.
    Returns who holds it now (``officer`` when they got it), None for no such question."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE inbox SET taken_by = ?, taken_at = ? WHERE id = ? AND taken_by IS NULL",
            (officer[:100], utc_now(), inbox_id),
        )
        rows = await conn.execute_fetchall("SELECT taken_by FROM inbox WHERE id = ?", (inbox_id,))
    return rows[0][0] if rows else None


async def release(db: Database, inbox_id: int, officer: str | None) -> bool:
    """Let a question go, so another officer can answer it: its holder does (``officer``),
    or an admin for anyone (None). False when it was not held by them."""
    held = "" if officer is None else " AND taken_by = ?"
    rows = await db.write_one(
        f"UPDATE inbox SET taken_by = NULL, taken_at = NULL WHERE id = ?{held} RETURNING id",
        (inbox_id,) if officer is None else (inbox_id, officer[:100]),
    )
    return bool(rows)
