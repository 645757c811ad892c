"""Village sessions: what staff schedule and villagers sign up for.

Capacity is enforced inside one write transaction (BEGIN IMMEDIATE): the count of confirmed
seats and the new registration are read and written with no other writer in between, so the
last seat goes to exactly one person and everyone after them is waitlisted in arrival order
(registration id order). Codes avoid look-alike characters (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.outbox import ReminderPolicy, drop_pending, enqueue
from bot.store import Database, utc_now

CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
SESSION_CODE_LENGTH = 4
BOOKING_CODE_LENGTH = 6
LOCAL_FORMAT = "%Y-%m-%d %H:%M"
ACTIVE = ("confirmed", "waitlisted", "attended")
DEFAULT_POLICY = ReminderPolicy(timezone=ZoneInfo("Asia/Makassar"))


class SessionError(ValueError):
    """A request that cannot be done; ``reason`` names it for villagers' texts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Session:
    id: int
    code: str
    title: dict[str, str]
    village: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    description: str
    status: str
    confirmed: int
    waitlisted: int

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)


@dataclass(frozen=True)
class Registration:
    id: int
    session_code: str
    booking_code: str
    status: str
    waitlist_position: int | None = None
    already: bool = False  # the person was registered before this request


def new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str:
    """What a villager typed ("s7k-2", " S7K2 ") as a code to look up."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def parse_local(text: str, timezone: tzinfo, field: str) -> datetime:
    """ "2026-12-05 09:00" in the configured time zone → an aware datetime."""
    try:
        naive = datetime.strptime(text.strip(), LOCAL_FORMAT)
    except ValueError:
        raise SessionError(
            "bad_date", f"{field}: expected a date and time as YYYY-MM-DD HH:MM, got {text!r}"
        ) from None
    return naive.replace(tzinfo=timezone)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _validate(starts: datetime, ends: datetime, capacity: int, now: datetime) -> None:
    if capacity < 1:
        raise SessionError("bad_capacity", f"capacity: expected 1 or more seats, got {capacity}")
    if ends <= starts:
        raise SessionError("bad_times", "end: the session must end after it starts")
    if starts <= now:
        raise SessionError("in_past", "start: the session must start in the future")


_SESSION_COLUMNS = (
    "s.id, s.code, s.title_id, s.title_en, s.village, s.place, s.starts_at, s.ends_at,"
    " s.capacity, s.description, s.status,"
    " (SELECT count(*) FROM registrations r WHERE r.session_id = s.id"
    "  AND r.status IN ('confirmed', 'attended')) AS confirmed,"
    " (SELECT count(*) FROM registrations r WHERE r.session_id = s.id"
    "  AND r.status = 'waitlisted') AS waitlisted"
)


# where a registration stands on its session's waiting list (arrival order = id order)
_POSITION = (
    "(SELECT count(*) FROM registrations w WHERE w.session_id = r.session_id"
    " AND w.status = 'waitlisted' AND w.id <= r.id) AS position"
)


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        code=row["code"],
        title={"id": row["title_id"], "en": row["title_en"]},
        village=row["village"],
        place=row["place"],
        starts_at=datetime.fromisoformat(row["starts_at"]),
        ends_at=datetime.fromisoformat(row["ends_at"]),
        capacity=row["capacity"],
        description=row["description"],
        status=row["status"],
        confirmed=row["confirmed"],
        waitlisted=row["waitlisted"],
    )


async def create_session(
    db: Database,
    *,
    title_id: str,
    title_en: str,
    village: str,
    place: str,
    starts: datetime,
    ends: datetime,
    capacity: int,
    description: str = "",
    now: datetime | None = None,
) -> Session:
    _validate(starts, ends, capacity, now or datetime.now(UTC))
    for name, value in (("title", title_id), ("village", village), ("place", place)):
        if not value.strip():
            raise SessionError("missing", f"{name}: expected text, got nothing")
    async with db.write() as conn:
        while True:
            code = new_code(SESSION_CODE_LENGTH)
            rows = await conn.execute_fetchall("SELECT 1 FROM sessions WHERE code = ?", (code,))
            if not rows:
                break
        stamp = utc_now()
        await conn.execute(
            "INSERT INTO sessions (code, title_id, title_en, village, place, starts_at, ends_at,"
            " capacity, description, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                code,
                title_id.strip(),
                (title_en or title_id).strip(),
                village.strip(),
                place.strip(),
                _utc(starts),
                _utc(ends),
                capacity,
                description.strip(),
                stamp,
                stamp,
            ),
        )
    session = await get_session(db, code)
    assert session is not None
    return session


async def get_session(db: Database, code: str) -> Session | None:
    row = await db.fetchone(
        f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE s.code = ?", (normalise_code(code),)
    )
    return _session(row) if row else None


async def get_session_by_id(db: Database, session_id: int) -> Session | None:
    row = await db.fetchone(
        f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE s.id = ?", (session_id,)
    )
    return _session(row) if row else None


async def upcoming_sessions(db: Database, now: datetime | None = None) -> list[Session]:
    """Scheduled sessions that have not started, soonest first."""
    rows = await db.fetchall(
        f"SELECT {_SESSION_COLUMNS} FROM sessions s"
        " WHERE s.status = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at, s.id",
        (_utc(now or datetime.now(UTC)),),
    )
    return [_session(row) for row in rows]


async def all_sessions(db: Database) -> list[Session]:
    rows = await db.fetchall(f"SELECT {_SESSION_COLUMNS} FROM sessions s ORDER BY s.starts_at")
    return [_session(row) for row in rows]


async def edit_session(
    db: Database,
    code: str,
    *,
    now: datetime | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
    **changes: object,
) -> Session:
    """Change title, village, place, times (a reschedule), capacity or description.

    More seats confirm waitlisted people in arrival order; fewer seats never unseat anyone.
    """
    code = (await _require(db, code)).code
    now = now or datetime.now(UTC)
    async with db.write() as conn:
        # read under the write lock: the CLI and the chat may edit the same session at once
        [row] = await conn.execute_fetchall(
            f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE s.code = ?", (code,)
        )
        session = _session(row)
        if session.status == "cancelled":
            raise SessionError("cancelled", f"session {session.code} is cancelled")
        starts = _given(changes, "starts", session.starts_at)
        ends = _given(changes, "ends", session.ends_at)
        capacity = _given(changes, "capacity", session.capacity)
        assert isinstance(starts, datetime) and isinstance(ends, datetime)
        assert isinstance(capacity, int)
        _validate(starts, ends, capacity, now)
        rescheduled = (starts, ends) != (session.starts_at, session.ends_at)
        columns = {
            "title_id": _given(changes, "title_id", session.title["id"]),
            "title_en": _given(changes, "title_en", session.title["en"]),
            "village": _given(changes, "village", session.village),
            "place": _given(changes, "place", session.place),
            "description": _given(changes, "description", session.description),
            "starts_at": _utc(starts),
            "ends_at": _utc(ends),
            "capacity": capacity,
        }
        version = utc_now()  # every edit is a new version: its notices and reminders are new
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await conn.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE id = ?",
            (*columns.values(), version, session.id),
        )
        if rescheduled:
            await _reschedule_reminders(conn, session.id, starts, now, policy, version)
            await _notify_registrants(conn, session.id, "notice_session_changed", version, starts)
        await _fill_free_seats(conn, session.id, capacity, now, policy)
    edited = await get_session(db, session.code)
    assert edited is not None
    return edited


def _given(changes: dict[str, object], key: str, current: object) -> object:
    """A changed value, or the current one when the change leaves it out (None or "")."""
    value = changes.get(key)
    return current if value is None or value == "" else value


async def _reschedule_reminders(
    conn, session_id: int, starts: datetime, now: datetime, policy: ReminderPolicy, version: str
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'dropped', last_error = 'rescheduled'"
        " WHERE session_id = ? AND status = 'pending' AND text_key LIKE 'reminder%'",
        (session_id,),
    )
    confirmed = await conn.execute_fetchall(
        "SELECT id, person_id FROM registrations WHERE session_id = ? AND status = 'confirmed'",
        (session_id,),
    )
    for row in confirmed:
        await _schedule_reminders(
            conn, row["id"], row["person_id"], session_id, starts, now, policy, version
        )


async def cancel_session(db: Database, code: str) -> Session:
    session = await _require(db, code)
    async with db.write() as conn:
        await conn.execute(
            "UPDATE sessions SET status = 'cancelled', updated_at = ? WHERE id = ?",
            (utc_now(), session.id),
        )
        await conn.execute(
            "UPDATE outbox SET status = 'dropped', last_error = 'session cancelled'"
            " WHERE session_id = ? AND status = 'pending'",
            (session.id,),
        )
        await _notify_registrants(conn, session.id, "notice_session_cancelled", "x", None)
    cancelled = await get_session(db, session.code)
    assert cancelled is not None
    return cancelled


async def _require(db: Database, code: str) -> Session:
    session = await get_session(db, code)
    if session is None:
        raise SessionError("unknown_session", f"no session with code {normalise_code(code)!r}")
    return session


async def register(
    db: Database,
    code: str,
    person_id: int,
    now: datetime | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
) -> Registration:
    """Sign a person up: a seat if one is free, else the waitlist. A repeat changes nothing."""
    session = await _require(db, code)
    async with db.write() as conn:
        # read the session again inside the transaction: staff may have just changed it
        [current] = await conn.execute_fetchall(
            "SELECT status, starts_at, capacity, updated_at FROM sessions WHERE id = ?",
            (session.id,),
        )
        if current["status"] == "cancelled":
            raise SessionError("cancelled", f"session {session.code} is cancelled")
        now = now or datetime.now(UTC)
        starts = datetime.fromisoformat(current["starts_at"])
        if starts <= now:
            raise SessionError("in_past", f"session {session.code} has already started")
        existing = await conn.execute_fetchall(
            "SELECT id FROM registrations WHERE session_id = ? AND person_id = ?"
            " AND status != 'cancelled'",
            (session.id, person_id),
        )
        if existing:
            registration_id, already = existing[0]["id"], True
        else:
            [(taken,)] = await conn.execute_fetchall(
                "SELECT count(*) FROM registrations WHERE session_id = ?"
                " AND status IN ('confirmed', 'attended')",
                (session.id,),
            )
            status = "confirmed" if taken < current["capacity"] else "waitlisted"
            registration_id = await _insert_registration(conn, session.id, person_id, status)
            already = False
            if status == "confirmed":
                await _schedule_reminders(
                    conn,
                    registration_id,
                    person_id,
                    session.id,
                    starts,
                    now,
                    policy,
                    current["updated_at"],
                )
    return await _registration(db, registration_id, already)


async def _schedule_reminders(
    conn,
    registration_id: int,
    person_id: int,
    session_id: int,
    starts: datetime,
    now: datetime,
    policy: ReminderPolicy,
    version: str,
) -> None:
    """Queue the day-before and the shortly-before reminders that are still ahead.

    ``version`` is the session's updated_at: a reschedule queues new rows, never reuses
    the keys of reminders it withdrew."""
    for text_key, due in policy.times(starts):
        if due <= now:
            continue  # signed up after that moment: no "tomorrow" reminder an hour before
        await enqueue(
            conn,
            person_id=person_id,
            session_id=session_id,
            text_key=text_key,
            dedupe_key=f"reg:{registration_id}:{text_key}:{version}",
            due=due,
            expires=starts,
        )


async def _notify_registrants(
    conn, session_id: int, text_key: str, stamp: str, expires: datetime | None
) -> None:
    """Tell everyone registered or waiting about a change to their session, now."""
    rows = await conn.execute_fetchall(
        "SELECT id, person_id, booking_code FROM registrations WHERE session_id = ?"
        " AND status IN ('confirmed', 'waitlisted')",
        (session_id,),
    )
    for row in rows:
        await enqueue(
            conn,
            person_id=row["person_id"],
            session_id=session_id,
            text_key=text_key,
            dedupe_key=f"{text_key}:{session_id}:{stamp}:{row['id']}",
            due=datetime.now(UTC),
            expires=expires,
            values={"booking": row["booking_code"]},
        )


async def _insert_registration(conn, session_id: int, person_id: int, status: str) -> int:
    stamp = utc_now()
    while True:
        try:
            cursor = await conn.execute(
                "INSERT INTO registrations (session_id, person_id, booking_code, status,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, person_id, new_code(BOOKING_CODE_LENGTH), status, stamp, stamp),
            )
            return cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            if "booking_code" not in str(exc):
                raise  # only a clash of random codes is retried


async def _registration(db: Database, registration_id: int, already: bool = False) -> Registration:
    row = await db.fetchone(
        f"SELECT r.id, r.booking_code, r.status, s.code, {_POSITION}"
        " FROM registrations r JOIN sessions s ON s.id = r.session_id WHERE r.id = ?",
        (registration_id,),
    )
    assert row is not None
    return _as_registration(row, already)


def _as_registration(row: sqlite3.Row, already: bool = False) -> Registration:
    position = row["position"] if row["status"] == "waitlisted" else None
    return Registration(
        row["id"], row["code"], row["booking_code"], row["status"], position, already
    )


async def bookings_of(db: Database, person_id: int) -> list[tuple[Session, Registration]]:
    """A person's active bookings for sessions still to come, soonest first (one query)."""
    rows = await db.fetchall(
        f"SELECT {_SESSION_COLUMNS}, r.id AS registration_id, r.booking_code,"
        f" r.status AS booking_status, {_POSITION} FROM registrations r"
        " JOIN sessions s ON s.id = r.session_id WHERE r.person_id = ?"
        " AND r.status != 'cancelled' AND s.status = 'scheduled' AND s.starts_at > ?"
        " ORDER BY s.starts_at",
        (person_id, _utc(datetime.now(UTC))),
    )
    return [
        (
            _session(row),
            Registration(
                row["registration_id"],
                row["code"],
                row["booking_code"],
                row["booking_status"],
                row["position"] if row["booking_status"] == "waitlisted" else None,
            ),
        )
        for row in rows
    ]


async def cancel_registration(
    db: Database,
    booking_code: str,
    person_id: int | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
) -> tuple[Registration, Registration | None]:
    """Cancel by booking code; a freed seat goes to the first person waiting.

    Returns the cancelled registration and the promoted one, if any. With ``person_id`` only
    that person's own booking can be cancelled (villagers); without it, any (staff).
    """
    code = normalise_code(booking_code)
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT id, session_id, person_id, status FROM registrations WHERE booking_code = ?",
            (code,),
        )
        if not rows or (person_id is not None and rows[0]["person_id"] != person_id):
            raise SessionError("unknown_booking", f"no booking with code {code!r}")
        row = rows[0]
        if row["status"] == "cancelled":
            raise SessionError("already_cancelled", f"booking {code} is already cancelled")
        [session_row] = await conn.execute_fetchall(
            "SELECT status, starts_at FROM sessions WHERE id = ?", (row["session_id"],)
        )
        started = datetime.fromisoformat(session_row["starts_at"]) <= datetime.now(UTC)
        if session_row["status"] != "scheduled" or started:
            raise SessionError(
                "session_closed", f"booking {code}: its session is over or cancelled"
            )
        await conn.execute(
            "UPDATE registrations SET status = 'cancelled', updated_at = ? WHERE id = ?",
            (utc_now(), row["id"]),
        )
        await drop_pending(conn, f"reg:{row['id']}:")
        promoted_ids = []
        if row["status"] == "confirmed":
            capacity_rows = await conn.execute_fetchall(
                "SELECT capacity FROM sessions WHERE id = ?", (row["session_id"],)
            )
            promoted_ids = await _fill_free_seats(
                conn, row["session_id"], capacity_rows[0][0], datetime.now(UTC), policy
            )
    cancelled = await _registration(db, row["id"])
    promoted = await _registration(db, promoted_ids[0]) if promoted_ids else None
    return cancelled, promoted


async def _fill_free_seats(
    conn, session_id: int, capacity: int, now: datetime, policy: ReminderPolicy
) -> list[int]:
    """Confirm waitlisted people, first come first served, while seats are free; each is
    told at once and gets the reminders a confirmed person gets."""
    [(taken,)] = await conn.execute_fetchall(
        "SELECT count(*) FROM registrations WHERE session_id = ?"
        " AND status IN ('confirmed', 'attended')",
        (session_id,),
    )
    free = capacity - taken
    if free <= 0:
        return []
    waiting = await conn.execute_fetchall(
        "SELECT r.id, r.person_id, r.booking_code, s.starts_at, s.updated_at FROM registrations r"
        " JOIN sessions s ON s.id = r.session_id WHERE r.session_id = ?"
        " AND r.status = 'waitlisted' ORDER BY r.id LIMIT ?",
        (session_id, free),
    )
    for row in waiting:
        await conn.execute(
            "UPDATE registrations SET status = 'confirmed', updated_at = ? WHERE id = ?",
            (utc_now(), row["id"]),
        )
        starts = datetime.fromisoformat(row["starts_at"])
        await enqueue(
            conn,
            person_id=row["person_id"],
            session_id=session_id,
            text_key="notice_promoted",
            dedupe_key=f"reg:{row['id']}:promoted",
            due=now,
            expires=starts,
            values={"booking": row["booking_code"]},
        )
        await _schedule_reminders(
            conn, row["id"], row["person_id"], session_id, starts, now, policy, row["updated_at"]
        )
    return [row["id"] for row in waiting]


async def check_in(db: Database, booking_code: str) -> Registration:
    """Mark a confirmed booking as attended at the door."""
    code = normalise_code(booking_code)
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT id, status FROM registrations WHERE booking_code = ?", (code,)
        )
        if not rows:
            raise SessionError("unknown_booking", f"no booking with code {code!r}")
        if rows[0]["status"] != "confirmed":
            raise SessionError(
                "not_confirmed", f"booking {code} is {rows[0]['status']}, not confirmed"
            )
        await conn.execute(
            "UPDATE registrations SET status = 'attended', updated_at = ? WHERE id = ?",
            (utc_now(), rows[0]["id"]),
        )
    return await _registration(db, rows[0]["id"])


@dataclass(frozen=True)
class Attendee:
    name: str
    village: str
    phone: str
    booking_code: str
    status: str
    waitlist_position: int | None


async def attendees(db: Database, code: str) -> list[Attendee]:
    """One row per registration, in arrival order, with waitlist positions."""
    session = await _require(db, code)
    rows = await db.fetchall(
        "SELECT coalesce(p.full_name, p.display_name) AS name, coalesce(p.village, '') AS village,"
        f" coalesce(p.phone, '') AS phone, r.booking_code, r.status, {_POSITION}"
        " FROM registrations r JOIN people p ON p.id = r.person_id"
        " WHERE r.session_id = ? ORDER BY r.id",
        (session.id,),
    )
    return [
        Attendee(
            row["name"],
            row["village"],
            row["phone"],
            row["booking_code"],
            row["status"],
            row["position"] if row["status"] == "waitlisted" else None,
        )
        for row in rows
    ]


def attendees_csv(rows: list[Attendee]) -> str:
    """One row per registration: name, village, phone, booking code, status, waitlist place."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "village", "phone", "booking_code", "status", "waitlist_position"])
    for row in rows:
        writer.writerow(
            [
                row.name,
                row.village,
                row.phone,
                row.booking_code,
                row.status,
                row.waitlist_position or "",
            ]
        )
    return buffer.getvalue()
