"""What the bot keeps about a person, and forgetting it (UU 27/2022 on personal data).

/datasaya shows a person everything kept about them (and sends it as a file). /hapusdata,
after a confirm button, erases it: their bookings are cancelled (the waitlist moves up), they
leave every audience, and no text of theirs stays in the log; the counts behind the
statistics stay, without a name. Separately, a daily job erases message texts older than
``privacy.retention_days`` (default 180).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import sessions
from bot.message_log import Handled
from bot.messages import Reply
from bot.people import Person
from bot.store import Database, utc_now

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

log = logging.getLogger(__name__)

RETENTION_JOB = "erase_old_texts"
JOB_INTERVAL = timedelta(days=1)
ABANDONED_FLOW = timedelta(days=7)


def _local_date(stamp: str | None, timezone) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(timezone).strftime("%Y-%m-%d")


class PrivacyTools:
    def __init__(self, conversation: Conversation, retention_days: int) -> None:
        self.c = conversation
        self.retention_days = retention_days

    def _outcome(self, replies: list[Reply], action: str) -> Outcome:
        from bot.conversation import Outcome

        return Outcome(replies, Handled(action))

    async def my_data(self, person: Person) -> Outcome:
        t = self.c._t
        data = await collect(self.c.db, person.id)
        dash = "–"
        positions = {
            booking.booking_code: str(booking.waitlist_position or "")
            for _, booking in await sessions.bookings_of(self.c.db, person.id)
        }
        bookings = [
            t(
                person,
                "mydata_booking",
                code=b["booking_code"],
                title=b["title"],
                status=t(
                    person,
                    f"status_{b['status']}",
                    position=positions.get(b["booking_code"]) or "?",
                ),
            )
            for b in data["bookings"]
        ]
        text = t(
            person,
            "mydata",
            full_name=person.full_name or dash,
            display_name=person.display_name or dash,
            village=person.village or dash,
            phone=person.phone or dash,
            consent=_local_date(person.consent_at, self.c.timezone) or dash,
            language=t(person, f"button_language_{person.lang}"),
            announcements=t(person, "mydata_on" if person.subscribed else "mydata_off"),
            bookings="\n".join(bookings) or dash,
            messages=str(data["message_count"]),
            texts=str(data["message_texts"]),
            questions=str(len(data["questions"])),
            days=str(self.retention_days),
        )
        content = render_document(person, data, self.c.texts, person.lang)
        document = (f"data-saya-{person.id}.txt", content.encode("utf-8"))
        buttons = (
            self.c._button_for(person, "button_erase", "erase:ask"),
            self.c._back_to_menu(person),
        )
        return self._outcome([Reply(text, buttons, document=document)], "mydata")

    async def ask_erase(self, person: Person) -> Outcome:
        buttons = (
            self.c._button_for(person, "button_erase_yes", "erase:yes"),
            self.c._button_for(person, "button_no", "menu"),
        )
        return self._outcome([Reply(self.c._t(person, "erase_confirm"), buttons)], "erase_ask")

    async def erase(self, person: Person) -> Outcome:
        await erase_person(self.c.db, person.id, self.c.policy)
        # said in their language, with no menu: everything they had here is gone
        return self._outcome([Reply(self.c._t(person, "erased"))], "erased")


async def collect(db: Database, person_id: int) -> dict:
    """Everything the database holds about one person."""
    bookings = await db.fetchall(
        "SELECT r.booking_code, r.status, r.created_at, s.title_id AS title, s.starts_at"
        " FROM registrations r JOIN sessions s ON s.id = r.session_id WHERE r.person_id = ?"
        " ORDER BY r.id",
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
    feedback = await db.fetchall(
        "SELECT faq_id, helpful, created_at FROM feedback WHERE person_id = ?", (person_id,)
    )
    return {
        "bookings": [dict(r) for r in bookings],
        "messages": [dict(r) for r in messages],
        "message_count": len(messages),
        "message_texts": sum(1 for m in messages if m["text"]),
        "questions": [dict(r) for r in questions],
        "feedback": [dict(r) for r in feedback],
    }


def render_document(person: Person, data: dict, texts, lang: str) -> str:
    """The plain-text file /datasaya sends: every field and every stored text (times UTC)."""
    fields = texts.get(
        lang,
        "mydata_file",
        channel=person.channel,
        id=person.channel_user_id,
        full_name=person.full_name or "-",
        display_name=person.display_name or "-",
        village=person.village or "-",
        phone=person.phone or "-",
        consent=person.consent_at or "-",
        language=person.lang,
        announcements=texts.get(lang, "mydata_on" if person.subscribed else "mydata_off"),
    )
    lines = [fields, "", texts.get(lang, "mydata_file_bookings")]
    lines += [
        f"  {b['booking_code']}  {b['status']}  {b['title']}  {b['starts_at']}"
        for b in data["bookings"]
    ]
    lines += ["", texts.get(lang, "mydata_file_questions")]
    lines += [
        f"  #T{q['id']}  {q['asked_at']}  {q['question']}  → {q['answers'] or ''}"
        for q in data["questions"]
    ]
    lines += ["", texts.get(lang, "mydata_file_ratings")]
    lines += [
        f"  {f['created_at']}  {f['faq_id']}  {'👍' if f['helpful'] else '👎'}"
        for f in data["feedback"]
    ]
    lines += ["", texts.get(lang, "mydata_file_messages")]
    lines += [f"  {m['received_at']}  {m['kind']}  {m['text'] or ''}" for m in data["messages"]]
    return "\n".join(lines) + "\n"


async def erase_person(db: Database, person_id: int, policy) -> None:
    """Forget a person: bookings cancelled (waitlists promoted), out of every audience, no
    text of theirs kept. The anonymous row stays so the counts in the statistics stay; if
    they write again they are someone new."""
    active = await db.fetchall(
        "SELECT booking_code FROM registrations WHERE person_id = ? AND status IN"
        " ('confirmed', 'waitlisted')",
        (person_id,),
    )
    for row in active:
        # a session cancelled or already started: nothing to give up
        with contextlib.suppress(sessions.SessionError):
            await sessions.cancel_registration(db, row["booking_code"], person_id, policy)
    async with db.write() as conn:
        await conn.execute("UPDATE messages SET text = NULL WHERE person_id = ?", (person_id,))
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
    log.info("event=person_erased person=%s", person_id)


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
