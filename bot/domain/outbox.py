"""The durable outbox: every message the bot sends later, as rows.

A row is written in the same transaction as the change that causes it (a sign-up schedules
its reminders, a cancellation its promotion notice), with a due time, an expiry (a session
reminder is worthless once the session has started) and a dedupe key, so retrying the change
never queues a message twice. The delivery worker (bot/delivery/worker.py) claims due rows
(pending → sending), sends them and marks them sent; a crash between the two leaves them
"sending", and the next start sends them again: at most the rows in flight at the crash can
arrive twice, none is lost. The queries the worker and the channels need are here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.people import WANTS_ANNOUNCEMENTS
from bot.domain.store import Database, utc_now

REPLY = "reply"  # the text key of a reply to a message: its words are in values_json
# A row goes to its own chat (outbox.channel/chat), or else to its person's.
_DESTINATION = "coalesce(o.channel, p.channel)"
_CHAT = "coalesce(o.chat, p.channel_user_id)"


RECEIPTS = ("sent", "delivered", "read")  # in the order WhatsApp reports them


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def enqueue(
    conn,
    *,
    person_id: int,
    text_key: str,
    dedupe_key: str,
    due: datetime,
    session_id: int | None = None,
    expires: datetime | None = None,
    values: dict[str, str] | None = None,
    destination: tuple[str, str] | None = None,
) -> None:
    """Queue one message; a second row with the same dedupe key is ignored.

    It goes to the person's chat, or to ``destination`` (channel, chat id) when the message is
    about the person but meant for someone else (a question forwarded to the staff group).
    """
    channel, chat = destination or (None, None)
    await conn.execute(
        "INSERT INTO outbox (person_id, session_id, text_key, values_json, due_at, expires_at,"
        " dedupe_key, created_at, channel, chat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        (
            person_id,
            session_id,
            text_key,
            json.dumps(values or {}),
            iso(due),
            iso(expires) if expires else None,
            dedupe_key,
            utc_now(),
            channel,
            chat,
        ),
    )


def queue_replies(
    raw, person_id: int, intake_id: int, replies: list[str], chat: tuple[str, str]
) -> list[Due]:
    """The replies to one incoming update (each a Reply as text, bot/core/messages.py), queued
    in the transaction that marks it handled (run in the database's thread, ``in_one_trip``)
    and claimed ("sending") for the channel to send at once, unless an earlier message to the
    person waits for a retry: then they wait behind it, and the worker sends them in order.
    If sending fails for a moment, or the bot stops, the delivery worker sends them.
    ``chat``: where the update came from, which is the person's own chat unless they have
    just erased their data (their row no longer knows it)."""
    [(own_chat, lang)] = raw.execute(
        "SELECT channel_user_id, lang FROM people WHERE id = ?", (person_id,)
    ).fetchall()
    channel, chat_id = (None, None) if chat[1] == own_chat else chat
    [(waiting_until,)] = raw.execute(
        "SELECT max(due_at) FROM outbox WHERE person_id = ? AND status = 'pending'"
        " AND chat IS NULL AND attempts > 0",
        (person_id,),
    ).fetchall()
    status = "pending" if waiting_until else "sending"
    now, due = utc_now(), waiting_until or iso(datetime.now(UTC))
    queued = []
    for number, payload in enumerate(replies):
        rows = raw.execute(
            "INSERT INTO outbox (person_id, text_key, values_json, due_at, dedupe_key,"
            " created_at, channel, chat, status, attempts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (person_id, REPLY, json.dumps({REPLY: payload}), due,
             f"reply:{intake_id}:{number}", now, channel, chat_id, status, int(not waiting_until)),
        ).fetchall()  # fmt: skip
        queued += [(row[0], payload) for row in rows]
    if waiting_until:
        return []
    return [
        Due(row_id, person_id, chat[1], lang, None, REPLY, {REPLY: payload}, 1)
        for row_id, payload in queued
    ]


async def drop_pending(conn, dedupe_prefix: str) -> None:
    """Withdraw queued messages that no longer apply (a cancelled booking's reminders)."""
    await conn.execute(
        "UPDATE outbox SET status = 'dropped', last_error = 'withdrawn'"
        " WHERE status = 'pending' AND dedupe_key LIKE ?",
        (dedupe_prefix.replace("%", "") + "%",),
    )


@dataclass(frozen=True)
class Due:
    id: int
    person_id: int
    channel_user_id: str  # the chat it goes to: the person's, or the staff group's
    lang: str
    session_id: int | None
    text_key: str
    values: dict[str, str]
    attempts: int
    broadcast_id: int | None = None
    to_person: bool = True  # False: about the person, sent elsewhere (the staff group)
    parts_sent: int = 0  # of a message sent in parts: those the platform already accepted


@dataclass(frozen=True)
class Candidate:
    """A due row before it is claimed, with what decides whether it is still wanted."""

    due: Due
    expires_at: str | None
    subscribed: bool  # its person still wants announcements
    active: bool  # its person has not blocked the bot


async def recover(db: Database, channel: str) -> None:
    """Rows left "sending" by a crash go back to the queue (they may arrive twice)."""
    await db.write_one(
        "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND id IN"
        " (SELECT o.id FROM outbox o JOIN people p ON p.id = o.person_id"
        f" WHERE o.status = 'sending' AND {_DESTINATION} = ?)",
        (channel,),
    )


async def due_rows(
    db: Database, channel: str, now: datetime, broadcasts: bool, limit: int, busy: set[str]
) -> list[Candidate]:
    """Pending rows due by ``now`` for ``channel``, oldest first: direct messages, or (with
    ``broadcasts``) announcements; none for the chats in ``busy``. The partial indexes
    outbox_due_direct / outbox_due_broadcast serve these."""
    kind = "IS NOT NULL" if broadcasts else "IS NULL"
    skip = f" AND {_CHAT} NOT IN ({', '.join('?' for _ in busy)})" if busy else ""
    rows = await db.fetchall(
        f"SELECT o.id, o.person_id, {_CHAT} AS chat, p.lang,"
        " o.session_id, o.text_key, o.values_json, o.attempts, o.expires_at,"
        " o.broadcast_id, o.chat IS NULL AS to_person, o.parts_sent, p.active,"
        f" {WANTS_ANNOUNCEMENTS} AS subscribed"
        " FROM outbox o JOIN people p ON p.id = o.person_id"
        f" WHERE o.status = 'pending' AND o.broadcast_id {kind} AND o.due_at <= ?"
        f" AND {_DESTINATION} = ?{skip} ORDER BY o.due_at, o.id LIMIT ?",
        (iso(now), channel, *busy, limit),
    )
    return [
        Candidate(_due(r), r["expires_at"], bool(r["subscribed"]), bool(r["active"])) for r in rows
    ]


async def claim(db: Database, candidates: list[Candidate]) -> list[Due]:
    """pending → sending in one write; rows another worker took meanwhile are left out."""
    if not candidates:
        return []
    marks = ", ".join("?" for _ in candidates)
    claimed = await db.write_one(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1"
        f" WHERE status = 'pending' AND id IN ({marks}) RETURNING id",
        [c.due.id for c in candidates],
    )
    ours = {r["id"] for r in claimed}
    return [c.due for c in candidates if c.due.id in ours]


def _due(r) -> Due:
    return Due(
        id=r["id"],
        person_id=r["person_id"],
        channel_user_id=r["chat"],
        lang=r["lang"],
        session_id=r["session_id"],
        text_key=r["text_key"],
        values=json.loads(r["values_json"]),
        attempts=r["attempts"],
        broadcast_id=r["broadcast_id"],
        to_person=bool(r["to_person"]),
        parts_sent=r["parts_sent"],
    )


async def finish(db: Database, outbox_id: int, status: str, error: str | None) -> None:
    """A row is done with: sent, failed, dropped (no longer wanted) or parked (refused). A
    reply's words (perhaps a /datasaya export) are not kept once it is done with."""
    await db.write_one(
        "UPDATE outbox SET status = ?, last_error = ?, sent_at = ?,"
        f" values_json = CASE text_key WHEN '{REPLY}' THEN '{{}}' ELSE values_json END,"
        f" chat = CASE text_key WHEN '{REPLY}' THEN NULL ELSE chat END WHERE id = ?",
        (status, error, utc_now() if status == "sent" else None, outbox_id),
    )


async def retry_at(
    db: Database, outbox_id: int, when: str, error: str, parts_sent: int | None = None
) -> None:
    """Back to the queue until ``when``; ``parts_sent``: the parts already delivered, which
    the next attempt skips."""
    await db.write_one(
        "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?,"
        " parts_sent = coalesce(?, parts_sent) WHERE id = ?",
        (when, error, parts_sent, outbox_id),
    )


async def postpone(db: Database, failed: Due, rest: list[Due], when: str) -> None:
    """A row waits for a retry: the rows claimed with it go back to the queue (their attempt
    not counted), and nothing queued later for the same person goes out before it."""
    if rest:
        marks = ", ".join("?" for _ in rest)
        await db.write_one(
            "UPDATE outbox SET status = 'pending', due_at = ?, attempts = attempts - 1"
            f" WHERE id IN ({marks}) AND status = 'sending'",
            (when, *(item.id for item in rest)),
        )
    if failed.to_person:
        await db.write_one(
            "UPDATE outbox SET due_at = ? WHERE person_id = ? AND status = 'pending'"
            " AND chat IS NULL AND due_at < ? AND id != ?",
            (when, failed.person_id, when, failed.id),
        )


async def mark_sent(db: Database, sent: list[tuple[int, str | None]]) -> None:
    """Rows the platform accepted, with its message id where it gave one: one write."""
    if not sent:
        return
    ids = [row_id for row_id, _ in sent]
    marks = ", ".join("?" for _ in ids)
    named = [(row_id, platform_id) for row_id, platform_id in sent if platform_id]
    cases = " ".join("WHEN ? THEN ?" for _ in named)
    platform = f"CASE id {cases} ELSE platform_id END" if named else "platform_id"
    # a reply's words are kept only until they went out
    await db.write_one(
        f"UPDATE outbox SET status = 'sent', last_error = NULL, sent_at = ?,"
        f" platform_id = {platform}, values_json = CASE text_key WHEN '{REPLY}' THEN '{{}}'"
        f" ELSE values_json END, chat = CASE text_key WHEN '{REPLY}' THEN NULL ELSE chat END"
        f" WHERE id IN ({marks})",
        (utc_now(), *(v for pair in named for v in pair), *ids),
    )


# -- what a platform says later of a message it accepted (WhatsApp status callbacks) ----------


CALLBACK_ATTEMPTS = 8  # a row failed this often (claims counted) is not sent again


async def send_again(
    db: Database,
    platform_id: str,
    error: str,
    values: dict[str, str],
    delay: timedelta | None = None,
) -> None:
    """Accepted, then refused: the row goes back to the queue (after ``delay``), ``values``
    added to it; failed instead when it was tried often enough, or when it is a reply,
    whose words are not kept once they went out."""
    patch = ", ".join("?, ?" for _ in values)
    new_values = f"json_set(values_json, {patch})" if values else "values_json"
    await db.write_one(
        "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?,"
        f" values_json = {new_values} WHERE platform_id = ? AND status = 'sent'"
        f" AND text_key != '{REPLY}' AND attempts < ?",
        (
            iso(datetime.now(UTC) + (delay or timedelta(0))),
            error,
            *(v for key, value in values.items() for v in (f"$.{key}", value)),
            platform_id,
            CALLBACK_ATTEMPTS,
        ),
    )
    await mark_failed(db, platform_id, error)  # what was not sent again


async def hold(db: Database, outbox_id: int, when: str, error: str) -> None:
    """Not allowed yet (WhatsApp's daily limit): back to the queue until ``when``, the
    attempt not counted, for it was not one."""
    await db.write_one(
        "UPDATE outbox SET status = 'pending', due_at = ?, last_error = ?,"
        " attempts = max(attempts - 1, 0) WHERE id = ?",
        (when, error, outbox_id),
    )


async def person_of(db: Database, platform_id: str) -> int | None:
    row = await db.fetchone("SELECT person_id FROM outbox WHERE platform_id = ?", (platform_id,))
    return int(row[0]) if row else None


async def mark_failed(db: Database, platform_id: str, error: str) -> None:
    """Refused for good after it was accepted (a row sent again since is left alone)."""
    await db.write_one(
        "UPDATE outbox SET status = 'failed', receipt = 'failed', last_error = ?"
        " WHERE platform_id = ? AND status = 'sent'",
        (error, platform_id),
    )


async def note_receipt(db: Database, platform_id: str, receipt: str) -> None:
    """sent, then delivered, then read: a late "sent" or "delivered" never overwrites what
    came after it (callbacks do not always arrive in order)."""
    before = RECEIPTS[: RECEIPTS.index(receipt)] or ("",)
    marks = ", ".join("?" for _ in before)
    await db.write_one(
        "UPDATE outbox SET receipt = ? WHERE platform_id = ? AND (receipt IS NULL"
        f" OR receipt IN ({marks}))",
        (receipt, platform_id, *before),
    )
