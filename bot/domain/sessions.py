"""Village sessions: what staff schedule and villagers sign up for (bot/domain/registrations.py).

Codes avoid look-alike characters (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G). Every edit is a new
version of the session (updated_at): the notices and reminders it queues are new rows.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.domain.reminders import ReminderPolicy, notify_registrants, reschedule_reminders
from bot.domain.store import Database, utc_now
from bot.domain.waitlist import fill_free_seats
from bot.support.dates import typed_moment

CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
SESSION_CODE_LENGTH = 4
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
    confirmed: int  # seats taken: confirmed, and those already checked in
    waitlisted: int
    attended: int = 0  # checked in at the door

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)


def new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str:
    """What a villager typed ("s7k-2", " S7K2 ") as a code to look up."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def parse_local(text: str, timezone: tzinfo, field: str) -> datetime:
    """A day and time as staff write them ("2026-12-14 09:00", "14/12/2026 09.00", "14
    Desember 2026 jam 9"), in the configured time zone → an aware datetime."""
    moment = typed_moment(text, timezone)
    if moment is None:
        raise SessionError(
            "bad_date",
            f"{field}: expected a date and time such as 2026-12-14 09:00 or 14/12/2026 09.00,"
            f" got {text!r}",
        )
    return moment


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _validate(starts: datetime, ends: datetime, capacity: int, now: datetime) -> None:
    if capacity < 1:
        raise SessionError("bad_capacity", f"capacity: expected 1 or more seats, got {capacity}")
    if ends <= starts:
        raise SessionError("bad_times", "end: the session must end after it starts")
    if starts <= now:
        raise SessionError("in_past", "start: the session must start in the future")


SESSION_COLUMNS = (
    "s.id, s.code, s.title_id, s.title_en, s.village, s.place, s.starts_at, s.ends_at,"
    " s.capacity, s.description, s.status,"
    " (SELECT count(*) FROM registrations r WHERE r.session_id = s.id"
    "  AND r.status IN ('confirmed', 'attended')) AS confirmed,"
    " (SELECT count(*) FROM registrations r WHERE r.session_id = s.id"
    "  AND r.status = 'waitlisted') AS waitlisted,"
    " (SELECT count(*) FROM registrations r WHERE r.session_id = s.id"
    "  AND r.status = 'attended') AS attended"
)


def session_from_row(row: sqlite3.Row) -> Session:
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
        attended=row["attended"],
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
                utc_iso(starts),
                utc_iso(ends),
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
        f"SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.code = ?", (normalise_code(code),)
    )
    return session_from_row(row) if row else None


async def get_session_by_id(db: Database, session_id: int) -> Session | None:
    row = await db.fetchone(
        f"SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?", (session_id,)
    )
    return session_from_row(row) if row else None


async def upcoming_sessions(db: Database, now: datetime | None = None) -> list[Session]:
    """Scheduled sessions that have not started, soonest first."""
    rows = await db.fetchall(
        f"SELECT {SESSION_COLUMNS} FROM sessions s"
        " WHERE s.status = 'scheduled' AND s.starts_at > ? ORDER BY s.starts_at, s.id",
        (utc_iso(now or datetime.now(UTC)),),
    )
    return [session_from_row(row) for row in rows]


async def all_sessions(db: Database) -> list[Session]:
    rows = await db.fetchall(f"SELECT {SESSION_COLUMNS} FROM sessions s ORDER BY s.starts_at")
    return [session_from_row(row) for row in rows]


async def edit_session(
    db: Database,
    code: str,
    *,
    now: datetime | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
    **changes: object,
) -> Session:
    """Change title, village, place, times (a reschedule), capacity or description. A new
    start without a new end moves the end with it.

    More seats confirm waitlisted people in arrival order; fewer seats never unseat anyone.
    """
    code = (await require(db, code)).code
    now = now or datetime.now(UTC)
    async with db.write() as conn:
        # read under the write lock: the CLI and the chat may edit the same session at once
        [row] = await conn.execute_fetchall(
            f"SELECT {SESSION_COLUMNS}, s.updated_at FROM sessions s WHERE s.code = ?", (code,)
        )
        session = session_from_row(row)
        if session.status == "cancelled":
            raise SessionError("cancelled", f"session {session.code} is cancelled")
        starts, ends = new_times(session, changes.get("starts"), changes.get("ends"))
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
            "starts_at": utc_iso(starts),
            "ends_at": utc_iso(ends),
            "capacity": capacity,
        }
        # every edit is a new version: its notices and reminders are new rows
        version = next_version(row["updated_at"])
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await conn.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE id = ?",
            (*columns.values(), version, session.id),
        )
        if rescheduled:
            await reschedule_reminders(conn, session.id, starts, now, policy, version)
            await notify_registrants(conn, session.id, "notice_session_changed", version, starts)
        await fill_free_seats(conn, session.id, capacity, now, policy)
    edited = await get_session(db, session.code)
    assert edited is not None
    return edited


def new_times(
    session: Session, starts: object = None, ends: object = None
) -> tuple[datetime, datetime]:
    """A session's times after an edit: a new start with no new end moves the end with it
    (the length stays); a new end alone keeps the start."""
    start = starts if isinstance(starts, datetime) else session.starts_at
    end = ends if isinstance(ends, datetime) else session.ends_at + (start - session.starts_at)
    return start, end


def next_version(previous: str) -> str:
    """A session's next updated_at: now, but always later than ``previous``. The reminders
    and notices of a version are keyed by it, so two versions within one millisecond (a
    script editing twice) must not share a stamp, or the second's reminders are lost."""
    now = utc_now()
    if now > previous:
        return now
    later = datetime.fromisoformat(previous) + timedelta(milliseconds=1)
    return later.isoformat(timespec="milliseconds")


def _given(changes: dict[str, object], key: str, current: object) -> object:
    """A changed value, or the current one when the change leaves it out (None or "")."""
    value = changes.get(key)
    return current if value is None or value == "" else value


async def cancel_session(db: Database, code: str) -> Session:
    session = await require(db, code)
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
        await notify_registrants(conn, session.id, "notice_session_cancelled", "x", None)
    cancelled = await get_session(db, session.code)
    assert cancelled is not None
    return cancelled


async def require(db: Database, code: str) -> Session:
    """The session with this code, or SessionError("unknown_session")."""
    session = await get_session(db, code)
    if session is None:
        raise SessionError("unknown_session", f"no session with code {normalise_code(code)!r}")
    return session
