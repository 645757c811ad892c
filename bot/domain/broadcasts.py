"""Announcements (broadcasts): written once by staff, delivered once to every recipient.

A broadcast is a row with its text, audience and send time. When it is due, one transaction
turns it into one outbox row per recipient (dedupe key ``bc:<broadcast>:<person>``), so a
crash or a second worker can never queue anyone twice, and the delivery worker does the rest
at the configured rate. The audience is resolved at send time: someone who joined or stopped
announcements after the broadcast was written is treated as they are then. Only people on a
channel that can reach them later (one with a delivery worker: ``channels``) are counted.

Quiet hours: no announcement goes out at night (default 21.00–07.00 local); rows that come due
then wait for the morning. Reminders and session notices are not announcements and are sent
when due.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from bot.domain.outbox import enqueue, iso
from bot.domain.people import WANTS_ANNOUNCEMENTS
from bot.domain.sessions import get_session, get_session_by_id
from bot.domain.store import Database, utc_now

MAX_TEXT = 3000  # characters; a phone screen or two. Longer texts are split by the channel.
STATUS_NAMES = ("queued", "sent", "failed", "skipped", "parked")
# outbox status → what staff see per recipient
RECIPIENT_STATUS = {
    "pending": "queued",
    "sending": "queued",
    "sent": "sent",
    "failed": "failed",
    "dropped": "skipped",
    "parked": "parked",
}


class BroadcastError(ValueError):
    """A broadcast that cannot be made or changed; the message says why, in plain words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class QuietHours:
    """Local hours during which announcements wait; start == end means never quiet."""

    timezone: tzinfo
    start_hour: int = 21
    end_hour: int = 7

    def until(self, moment: datetime) -> datetime | None:
        """The end of the quiet time ``moment`` falls in, or None when it is not quiet."""
        if self.start_hour == self.end_hour:
            return None
        local = moment.astimezone(self.timezone)
        hour = local.hour
        if self.start_hour < self.end_hour:
            quiet = self.start_hour <= hour < self.end_hour
        else:  # wraps midnight: 21..24 and 0..7
            quiet = hour >= self.start_hour or hour < self.end_hour
        if not quiet:
            return None
        day = local.date() if hour < self.end_hour else local.date() + timedelta(days=1)
        return datetime.combine(day, time(self.end_hour), self.timezone)

    def describe(self) -> str:
        return f"{self.start_hour:02d}.00–{self.end_hour:02d}.00"


@dataclass(frozen=True)
class Audience:
    """Who a broadcast is for: everyone subscribed, some villages, or a session's registrants."""

    kind: str  # "all" | "village" | "session"
    villages: tuple[str, ...] = ()
    session_id: int | None = None
    session_code: str = ""

    def encode(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "villages": list(self.villages),
                "session_id": self.session_id,
                "session_code": self.session_code,
            },
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, text: str) -> Audience:
        data = json.loads(text)
        return cls(data["kind"], tuple(data["villages"]), data["session_id"], data["session_code"])

    def describe(self) -> str:
        if self.kind == "village":
            return "village:" + ",".join(self.villages)
        if self.kind == "session":
            return f"session:{self.session_code}"
        return "all"

    def where(self, channels: tuple[str, ...]) -> tuple[str, list[object]]:
        """SQL over ``people p`` selecting subscribed members of the audience reachable on
        ``channels``."""
        marks = ", ".join("?" for _ in channels)
        sql = f"p.channel IN ({marks}) AND {WANTS_ANNOUNCEMENTS} AND p.active = 1"
        params: list[object] = list(channels)
        if self.kind == "village":
            marks = ", ".join("?" for _ in self.villages)
            sql += f" AND lower(p.village) IN ({marks})"
            params += [v.lower() for v in self.villages]
        elif self.kind == "session":
            sql += (
                " AND p.id IN (SELECT person_id FROM registrations WHERE session_id = ?"
                " AND status != 'cancelled')"
            )
            params.append(self.session_id)
        return sql, params


async def parse_audience(db: Database, spec: str, known_villages: tuple[str, ...]) -> Audience:
    """ "all", "village:Tondo,Lasoani" or "session:K7QA" (a session code or number)."""
    kind, _, value = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "all" and not value:
        return Audience("all")
    if kind == "village" and value.strip():
        names = tuple(dict.fromkeys(" ".join(v.split()) for v in value.split(",") if v.strip()))
        return Audience("village", await _known(db, names, known_villages))
    if kind == "session" and value.strip():
        value = value.strip()
        # a code first: codes can be all digits ("3479"); a row number only when no code fits
        session = await get_session(db, value)
        if session is None and value.isdigit():
            session = await get_session_by_id(db, int(value))
        if session is None or session.status == "cancelled":
            raise BroadcastError("unknown_session", f"no scheduled session {value!r}")
        return Audience("session", session_id=session.id, session_code=session.code)
    raise BroadcastError(
        "bad_audience",
        f'audience {spec!r}: expected "all", "village:NAME[,NAME...]" or "session:CODE"',
    )


async def villages_in_use(db: Database, configured: tuple[str, ...]) -> list[str]:
    """Configured villages, then any other village people gave, in a stable order."""
    rows = await db.fetchall(
        "SELECT DISTINCT village FROM people WHERE village IS NOT NULL AND village != ''"
        " ORDER BY village"
    )
    seen = {v.lower() for v in configured}
    return [*configured, *(r["village"] for r in rows if r["village"].lower() not in seen)]


async def _known(db: Database, names: tuple[str, ...], configured: tuple[str, ...]) -> tuple:
    """Village names as written in config (case ignored); an unknown one is a typo."""
    known = {v.lower(): v for v in await villages_in_use(db, configured)}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        listing = ", ".join(known.values()) or "(none yet)"
        raise BroadcastError(
            "unknown_village", f"unknown village {unknown[0]!r}; known villages: {listing}"
        )
    return tuple(known[n.lower()] for n in names)


async def count_recipients(db: Database, audience: Audience, channels: tuple[str, ...]) -> int:
    where, params = audience.where(channels)
    row = await db.fetchone(f"SELECT count(*) FROM people p WHERE {where}", params)
    return int(row[0]) if row else 0


async def count_written_since(
    db: Database, audience: Audience, channel: str, since: datetime
) -> int:
    """Recipients on ``channel`` who last wrote after ``since``: on WhatsApp, those inside
    the 24-hour window, who get the announcement as it is, not as a template."""
    where, params = audience.where((channel,))
    row = await db.fetchone(
        f"SELECT count(*) FROM people p WHERE {where} AND EXISTS (SELECT 1 FROM messages m"
        " WHERE m.person_id = p.id AND m.received_at > ?)",
        [*params, since.astimezone(UTC).isoformat(timespec="milliseconds")],
    )
    return int(row[0]) if row else 0


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise BroadcastError("empty_text", "the announcement text is empty")
    if len(text) > MAX_TEXT:
        raise BroadcastError(
            "text_too_long", f"the text has {len(text)} characters; at most {MAX_TEXT}"
        )
    return text


@dataclass(frozen=True)
class Broadcast:
    id: int
    text: dict[str, str]
    office: str
    audience: Audience
    send_at: datetime
    status: str
    recipients: int | None
    created_by: str
    created_at: str
    finished_at: str | None
    picture_id: int | None = None  # bot/domain/pictures.py


_COLUMNS = (
    "id, text_id, text_en, office, audience, send_at, status, recipients, created_by,"
    " created_at, finished_at, picture_id"
)


def _broadcast(row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        text={"id": row["text_id"], "en": row["text_en"] or row["text_id"]},
        office=row["office"],
        audience=Audience.decode(row["audience"]),
        send_at=datetime.fromisoformat(row["send_at"]),
        status=row["status"],
        recipients=row["recipients"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        picture_id=row["picture_id"],
    )


async def create_broadcast(
    db: Database,
    *,
    text_id: str,
    text_en: str = "",
    office: str,
    audience: Audience,
    send_at: datetime,
    created_by: str,
    sender_id: int | None = None,
    picture_id: int | None = None,
) -> Broadcast:
    text_id = check_text(text_id)
    text_en = check_text(text_en) if text_en.strip() else ""
    rows = await db.write_one(
        "INSERT INTO broadcasts (text_id, text_en, office, audience, send_at, created_by,"
        " sender_id, created_at, picture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        f" (SELECT id FROM pictures WHERE id = ?)) RETURNING {_COLUMNS}",
        (
            text_id,
            text_en,
            office,
            audience.encode(),
            iso(send_at),
            created_by[:100],
            sender_id,
            utc_now(),
            picture_id,
        ),
    )
    return _broadcast(rows[0])


async def get_broadcast(db: Database, broadcast_id: int) -> Broadcast | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
    return _broadcast(row) if row else None


async def recent_broadcasts(db: Database, limit: int = 20) -> list[Broadcast]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [_broadcast(r) for r in rows]


async def cancel_broadcast(db: Database, broadcast_id: int) -> int:
    """Stop a broadcast: nobody still waiting gets it. Returns how many were withdrawn."""
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? WHERE id = ?"
            " AND status IN ('scheduled', 'sending') RETURNING id",
            (utc_now(), broadcast_id),
        )
        if not rows:
            exists = await conn.execute_fetchall(
                "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)
            )
            if not exists:
                raise BroadcastError("unknown_broadcast", f"no broadcast {broadcast_id}")
            status = next(iter(exists))[0]
            raise BroadcastError("finished", f"broadcast {broadcast_id} is already {status}")
        cursor = await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = 'cancelled by staff'"
            " WHERE broadcast_id = ? AND status = 'pending'",
            (broadcast_id,),
        )
        [(taken,)] = await conn.execute_fetchall(
            "SELECT count(*) FROM outbox WHERE broadcast_id = ? AND status = 'sending'",
            (broadcast_id,),
        )
        # rows the worker already took are dropped when their turn comes (within a second or
        # so; the one being sent at this moment may still go out)
        return cursor.rowcount + taken


async def summary(db: Database, broadcast_id: int) -> dict[str, int]:
    """Recipients per status: queued, sent, failed, skipped, parked (all present, maybe 0)."""
    rows = await db.fetchall(
        "SELECT status, count(*) AS n FROM outbox WHERE broadcast_id = ? GROUP BY status",
        (broadcast_id,),
    )
    counts = dict.fromkeys(STATUS_NAMES, 0)
    for row in rows:
        counts[RECIPIENT_STATUS[row["status"]]] += row["n"]
    return counts


@dataclass(frozen=True)
class Recipient:
    name: str
    village: str
    channel: str
    user_id: str
    status: str
    detail: str
    sent_at: str


async def recipients(db: Database, broadcast_id: int) -> list[Recipient]:
    rows = await db.fetchall(
        "SELECT coalesce(p.full_name, p.display_name) AS name, coalesce(p.village, '') AS"
        " village, p.channel, p.channel_user_id, o.status, coalesce(o.last_error, '') AS"
        " detail, coalesce(o.sent_at, '') AS sent_at FROM outbox o JOIN people p ON"
        " p.id = o.person_id WHERE o.broadcast_id = ? ORDER BY o.id",
        (broadcast_id,),
    )
    return [
        Recipient(
            r["name"],
            r["village"],
            r["channel"],
            r["channel_user_id"],
            RECIPIENT_STATUS[r["status"]],
            r["detail"],
            r["sent_at"],
        )
        for r in rows
    ]


# -- what the delivery worker calls between batches ------------------------------------------


async def release_due(
    db: Database, now: datetime, quiet: QuietHours, channels: tuple[str, ...]
) -> list[int]:
    """Turn due broadcasts into one outbox row per recipient on ``channels``; returns their
    ids."""
    due = await db.fetchall(
        "SELECT id FROM broadcasts WHERE status = 'scheduled' AND send_at <= ? ORDER BY id",
        (iso(now),),
    )
    released = []
    for row in due:
        if await _release(db, row["id"], quiet.until(now) or now, channels):
            released.append(row["id"])
    return released


async def _release(
    db: Database, broadcast_id: int, due_at: datetime, channels: tuple[str, ...]
) -> bool:
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "UPDATE broadcasts SET status = 'sending' WHERE id = ? AND status = 'scheduled'"
            " RETURNING audience",
            (broadcast_id,),
        )
        if not rows:
            return False  # released by another worker, or cancelled meanwhile
        where, params = Audience.decode(next(iter(rows))[0]).where(channels)
        cursor = await conn.execute(
            "INSERT INTO outbox (person_id, text_key, due_at, dedupe_key, created_at,"
            " broadcast_id) SELECT p.id, 'broadcast', ?, 'bc:' || ? || ':' || p.id, ?, ?"
            f" FROM people p WHERE {where} ORDER BY p.id ON CONFLICT (dedupe_key) DO NOTHING",
            (iso(due_at), broadcast_id, utc_now(), broadcast_id, *params),
        )
        await conn.execute(
            "UPDATE broadcasts SET recipients = ? WHERE id = ?", (cursor.rowcount, broadcast_id)
        )
        return True


async def hold_for_quiet_hours(db: Database, now: datetime, quiet: QuietHours) -> None:
    """At night, queued announcements wait for the morning (reminders are not held)."""
    morning = quiet.until(now)
    if morning is None:
        return
    await db.write_one(
        "UPDATE outbox SET due_at = ? WHERE status = 'pending' AND broadcast_id IS NOT NULL"
        " AND due_at < ?",
        (iso(morning), iso(morning)),
    )


async def finish_done(db: Database, now: datetime) -> list[int]:
    """Mark broadcasts with nobody left to send to as done, and tell the sender the result."""
    rows = await db.fetchall(
        "SELECT b.id FROM broadcasts b WHERE b.status = 'sending' AND NOT EXISTS"
        " (SELECT 1 FROM outbox o WHERE o.broadcast_id = b.id"
        " AND o.status IN ('pending', 'sending'))"
    )
    finished = []
    for row in rows:
        counts = await summary(db, row["id"])
        async with db.write() as conn:
            done = await conn.execute_fetchall(
                "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?"
                " AND status = 'sending' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE"
                " o.broadcast_id = broadcasts.id AND o.status IN ('pending', 'sending'))"
                " RETURNING sender_id, recipients",
                (utc_now(), row["id"]),
            )
            if not done:
                continue
            sender_id, total = next(iter(done))
            finished.append(row["id"])
            if sender_id is not None:
                values = {k: str(v) for k, v in counts.items()}
                values.update(id=str(row["id"]), total=str(total or 0))
                await enqueue(
                    conn,
                    person_id=sender_id,
                    text_key="broadcast_done",
                    dedupe_key=f"bcdone:{row['id']}",
                    due=now,
                    values=values,
                )
    return finished


async def sender_of(db: Database, broadcast_id: int) -> tuple[str, str] | None:
    """(channel, user id) of who gets the summary when the broadcast is done, if anyone."""
    row = await db.fetchone(
        "SELECT p.channel, p.channel_user_id FROM broadcasts b JOIN people p"
        " ON p.id = b.sender_id WHERE b.id = ?",
        (broadcast_id,),
    )
    return (row[0], row[1]) if row else None


def parse_id(text: str) -> int | None:
    """ "#12", "12" → 12."""
    found = re.fullmatch(r"\s*#?([0-9]{1,9})\s*", text)
    return int(found.group(1)) if found else None


async def cancelled_among(db: Database, broadcast_ids: set[int]) -> set[int]:
    """Which of these broadcasts have been cancelled."""
    marks = ", ".join("?" for _ in broadcast_ids)
    rows = await db.fetchall(
        f"SELECT id FROM broadcasts WHERE status = 'cancelled' AND id IN ({marks})",
        tuple(broadcast_ids),
    )
    return {row["id"] for row in rows}
