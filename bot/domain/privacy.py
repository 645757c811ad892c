"""What the bot keeps about a person, and forgetting it (UU 27/2022 on personal data).

Erasing a person cancels their bookings (the waitlist moves up), takes them out of every
audience and leaves no text of theirs; the counts behind the statistics stay, without a name.
A daily job erases message texts older than the retention period.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.registrations import active_booking_codes, cancel_registration
from bot.domain.reminders import ReminderPolicy
from bot.domain.sessions import SessionError
from bot.domain.store import Database, utc_now

log = logging.getLogger(__name__)

RETENTION_JOB = "erase_old_texts"
JOB_INTERVAL = timedelta(days=1)
ABANDONED_FLOW = timedelta(days=7)


@dataclass(frozen=True)
class KeptBooking:
    booking_code: str
    status: str
    title: str  # in Indonesian
    starts_at: str  # UTC


@dataclass(frozen=True)
class KeptMessage:
    received_at: str
    kind: str
    text: str | None  # None once erased


@dataclass(frozen=True)
class KeptQuestion:
    tag: str  # "#T12"
    asked_at: str
    question: str
    answers: str  # the officers' answers, " / " between them


@dataclass(frozen=True)
class KeptRating:
    created_at: str
    faq_id: str
    helpful: bool


@dataclass(frozen=True)
class Kept:
    """Everything the database holds about one person (times UTC)."""

    bookings: list[KeptBooking] = field(default_factory=list)
    messages: list[KeptMessage] = field(default_factory=list)
    questions: list[KeptQuestion] = field(default_factory=list)
    ratings: list[KeptRating] = field(default_factory=list)

    @property
    def message_texts(self) -> int:
        """Messages whose text is still kept (not erased)."""
        return sum(1 for m in self.messages if m.text)


async def collect(db: Database, person_id: int) -> Kept:
    """Everything the database holds about one person."""
    bookings = await db.fetchall(
        "SELECT r.booking_code, r.status, s.title_id, s.starts_at FROM registrations r"
        " JOIN sessions s ON s.id = r.session_id WHERE r.person_id = ? ORDER BY r.id",
        (person_id,),
    )
    messages = await db.fetchall(
        "SELECT received_at, kind, text FROM messages WHERE person_id = ? ORDER BY id",
        (person_id,),
    )
    questions = await db.fetchall(
        "SELECT i.id, i.asked_at, i.question, (SELECT group_concat(a.answer, ' / ') FROM"
        " inbox_answers a WHERE a.inbox_id = i.id) AS answers FROM inbox i"
        " WHERE i.person_id = ? ORDER BY i.id",
        (person_id,),
    )
    ratings = await db.fetchall(
        "SELECT created_at, faq_id, helpful FROM feedback WHERE person_id = ?", (person_id,)
    )
    return Kept(
        bookings=[KeptBooking(*row) for row in bookings],
        messages=[KeptMessage(*row) for row in messages],
        questions=[
            KeptQuestion(f"#T{r['id']}", r["asked_at"], r["question"], r["answers"] or "")
            for r in questions
        ],
        ratings=[KeptRating(r[0], r[1], bool(r[2])) for r in ratings],
    )


async def erase_person(db: Database, person_id: int, policy: ReminderPolicy) -> None:
    """Forget a person: bookings cancelled (waitlists promoted), out of every audience, no
    text of theirs kept, their name gone from the audit log (who acted, the action and the
    booking code stay). The anonymous row stays so the counts in the statistics stay; if
    they write again they are someone new. Afterwards the WAL is checkpointed and emptied,
    and with secure_delete on (bot/domain/store.py) no erased string is left in either file."""
    for code in await active_booking_codes(db, person_id):
        # a session cancelled or already started: nothing to give up
        with contextlib.suppress(SessionError):
            await cancel_registration(db, code, person_id, policy)
    async with db.write() as conn:
        await _erase_from_audit(conn, person_id)
        await _erase_from_intake(conn, person_id)
        await conn.execute(
            "UPDATE messages SET text = NULL, update_key = NULL WHERE person_id = ?", (person_id,)
        )
        await conn.execute(
            "UPDATE inbox_answers SET answer = '' WHERE inbox_id IN"
            " (SELECT id FROM inbox WHERE person_id = ?)",
            (person_id,),
        )
        await conn.execute(
            "UPDATE inbox SET question = '', details = '{}' WHERE person_id = ?", (person_id,)
        )
        await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = 'data erased'"
            " WHERE person_id = ? AND status = 'pending'",
            (person_id,),
        )
        await conn.execute("UPDATE outbox SET values_json = '{}' WHERE person_id = ?", (person_id,))
        await conn.execute(
            "UPDATE people SET channel_user_id = 'erased:' || id, display_name = '',"
            " full_name = NULL, village = NULL, phone = NULL, consent_at = NULL, flow = NULL,"
            " subscribed = 0, active = 0, erased_at = ? WHERE id = ?",
            (utc_now(), person_id),
        )
    await db.checkpoint()
    log.info("event=person_erased person=%s", person_id)


async def _erase_from_intake(conn, person_id: int) -> None:
    """What they sent that waits in the intake table (the erasing update itself among it):
    its words and chat go now, before the checkpoint, and it counts as handled."""
    await conn.execute(
        "UPDATE intake SET payload = NULL, chat = '', handled_at = coalesce(handled_at, ?)"
        " WHERE handled_at IS NULL AND (channel, chat) IN"
        " (SELECT channel, channel_user_id FROM people WHERE id = ?)",
        (utc_now(), person_id),
    )


async def _erase_from_audit(conn, person_id: int) -> None:
    """Their name and phone in the audit lines about their bookings (a check-in says who
    came), replaced; the lines stay."""
    [person] = await conn.execute_fetchall(
        "SELECT full_name, display_name, phone FROM people WHERE id = ?", (person_id,)
    )
    codes = await conn.execute_fetchall(
        "SELECT booking_code FROM registrations WHERE person_id = ?", (person_id,)
    )
    words = sorted({w for w in person if w and len(w.strip()) >= 2}, key=len, reverse=True)
    for (code,) in codes:
        for word in words:
            await conn.execute(
                "UPDATE audit_log SET detail = replace(detail, ?, '[erased]')"
                " WHERE instr(detail, ?) > 0 AND instr(detail, ?) > 0",
                (word, code, word),
            )


async def erase_old_texts(db: Database, now: datetime, days: int) -> int:
    """Erase texts older than ``days``: messages, questions and answers, sent outbox values.
    The rows (and so the counts) stay. Returns how many message texts were erased."""
    cutoff = (now - timedelta(days=days)).astimezone(UTC).isoformat(timespec="milliseconds")
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE messages SET text = NULL WHERE received_at < ? AND text IS NOT NULL",
            (cutoff,),
        )
        erased = cursor.rowcount
        await conn.execute(
            "UPDATE inbox_answers SET answer = '' WHERE answered_at < ? AND answer != ''",
            (cutoff,),
        )
        await conn.execute(
            "UPDATE inbox SET question = '', details = '{}' WHERE asked_at < ? AND question != ''",
            (cutoff,),
        )
        await conn.execute(
            "UPDATE outbox SET values_json = '{}' WHERE created_at < ? AND values_json != '{}'"
            " AND status NOT IN ('pending', 'sending')",
            (cutoff,),
        )
        # a sign-up left half done keeps its answers in the flow: gone after a week
        week_ago = (now - ABANDONED_FLOW).astimezone(UTC).isoformat(timespec="milliseconds")
        await conn.execute(
            "UPDATE people SET flow = NULL WHERE flow IS NOT NULL"
            " AND coalesce(json_extract(flow, '$.started'), '') < ?",
            (week_ago,),
        )
    return erased


async def run_retention_if_due(db: Database, now: datetime, days: int) -> bool:
    """The daily retention job; when it last ran is kept in the database (jobs table)."""
    row = await db.fetchone("SELECT last_run FROM jobs WHERE name = ?", (RETENTION_JOB,))
    if row and datetime.fromisoformat(row["last_run"]) > now - JOB_INTERVAL:
        return False
    erased = await erase_old_texts(db, now, days)
    await db.write_one(
        "INSERT INTO jobs (name, last_run) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
        (RETENTION_JOB, now.astimezone(UTC).isoformat(timespec="seconds")),
    )
    log.info("event=retention_done erased_texts=%s older_than_days=%s", erased, days)
    return True
