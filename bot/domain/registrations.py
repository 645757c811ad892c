"""Registrations: villagers signing up for sessions, the waiting list, check-in at the door.

Capacity is enforced inside one write transaction (BEGIN IMMEDIATE): the count of confirmed
seats and the new registration are read and written with no other writer in between, so the
last seat goes to exactly one person and everyone after them is waitlisted in arrival order
(registration id order).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.outbox import drop_pending
from bot.domain.people import VILLAGER
from bot.domain.reminders import ReminderPolicy, schedule_reminders
from bot.domain.sessions import (
    DEFAULT_POLICY,
    SESSION_COLUMNS,
    Session,
    SessionError,
    new_code,
    normalise_code,
    require,
    session_from_row,
    utc_iso,
)
from bot.domain.store import Database, utc_now
from bot.domain.waitlist import fill_free_seats

BOOKING_CODE_LENGTH = 6
ACTIVE = ("confirmed", "waitlisted", "attended")


@dataclass(frozen=True)
class Registration:
    id: int
    session_code: str
    booking_code: str
    status: str
    waitlist_position: int | None = None
    already: bool = False  # the person was registered before this request


# where a registration stands on its session's waiting list (arrival order = id order)
_POSITION = (
    "(SELECT count(*) FROM registrations w WHERE w.session_id = r.session_id"
    " AND w.status = 'waitlisted' AND w.id <= r.id) AS position"
)


async def register(
    db: Database,
    code: str,
    person_id: int,
    now: datetime | None = None,
    policy: ReminderPolicy = DEFAULT_POLICY,
) -> Registration:
    """Sign a person up: a seat if one is free, else the waitlist. A repeat changes nothing."""
    session = await require(db, code)
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
                await schedule_reminders(
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
        f"SELECT {SESSION_COLUMNS}, r.id AS registration_id, r.booking_code,"
        f" r.status AS booking_status, {_POSITION} FROM registrations r"
        " JOIN sessions s ON s.id = r.session_id WHERE r.person_id = ?"
        " AND r.status != 'cancelled' AND s.status = 'scheduled' AND s.starts_at > ?"
        " ORDER BY s.starts_at",
        (person_id, utc_iso(datetime.now(UTC))),
    )
    return [
        (
            session_from_row(row),
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
            promoted_ids = await fill_free_seats(
                conn, row["session_id"], capacity_rows[0][0], datetime.now(UTC), policy
            )
    cancelled = await _registration(db, row["id"])
    promoted = await _registration(db, promoted_ids[0]) if promoted_ids else None
    return cancelled, promoted


async def check_in(db: Database, booking_code: str, admit: bool = False) -> Registration:
    """Mark a confirmed booking as attended at the door, with the time. ``admit``: someone
    on the waiting list is let in too (there is room after all), and recorded as such."""
    code = normalise_code(booking_code)
    async with db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT r.id, r.status, s.status AS session_status FROM registrations r"
            " JOIN sessions s ON s.id = r.session_id WHERE r.booking_code = ?",
            (code,),
        )
        if not rows:
            raise SessionError("unknown_booking", f"no booking with code {code!r}")
        if rows[0]["session_status"] == "cancelled":
            raise SessionError("cancelled", f"booking {code} is for a cancelled session")
        status = rows[0]["status"]
        admitted = "waitlist" if admit and status == "waitlisted" else None
        if status != "confirmed" and admitted is None:
            raise SessionError("not_confirmed", f"booking {code} is {status}, not confirmed")
        now = utc_now()
        await conn.execute(
            "UPDATE registrations SET status = 'attended', updated_at = ?, checked_in_at = ?,"
            " admitted = ? WHERE id = ?",
            (now, now, admitted, rows[0]["id"]),
        )
    return await _registration(db, rows[0]["id"])


async def walk_in(db: Database, code: str, name: str, village: str) -> Registration:
    """Someone who came without a booking, checked in at the door: a person of their own
    (not reachable by chat) with an attended registration, recorded as a walk-in."""
    name, village = " ".join(name.split())[:80], " ".join(village.split())[:60]
    if not name:
        raise SessionError("walk_in_name", "a walk-in needs a name")
    session = await require(db, code)
    now = utc_now()
    async with db.write() as conn:
        [(person_id,)] = await conn.execute_fetchall(
            "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at,"
            " full_name, village, subscribed) VALUES ('walk_in', ?, '', 'id', ?, ?, ?, 0)"
            " RETURNING id",
            (f"walk-in:{new_code(12)}", now, name, village),
        )
        registration_id = await _insert_registration(conn, session.id, person_id, "attended")
        await conn.execute(
            "UPDATE registrations SET checked_in_at = ?, admitted = 'walk_in' WHERE id = ?",
            (now, registration_id),
        )
    return await _registration(db, registration_id)


@dataclass(frozen=True)
class Attendee:
    name: str
    village: str
    phone: str
    booking_code: str
    status: str
    waitlist_position: int | None
    checked_in_at: str | None = None
    admitted: str | None = None  # "waitlist" or "walk_in": came in without a seat
    session_cancelled: bool = False  # the session itself was called off


_ATTENDEE = (
    "SELECT coalesce(p.full_name, p.display_name) AS name, coalesce(p.village, '') AS village,"
    f" coalesce(p.phone, '') AS phone, r.booking_code, r.status, {_POSITION},"
    " r.checked_in_at, r.admitted, s.status = 'cancelled' AS session_cancelled"
    " FROM registrations r JOIN people p ON p.id = r.person_id"
    " JOIN sessions s ON s.id = r.session_id"
)


def _attendee(row: sqlite3.Row) -> Attendee:
    position = row["position"] if row["status"] == "waitlisted" else None
    return Attendee(row["name"], row["village"], row["phone"], row["booking_code"],
                    row["status"], position, row["checked_in_at"], row["admitted"],
                    bool(row["session_cancelled"]))  # fmt: skip


async def attendees(db: Database, code: str) -> list[Attendee]:
    """One row per registration, in arrival order, with waitlist positions; none for people
    who erased their data."""
    session = await require(db, code)
    rows = await db.fetchall(
        f"{_ATTENDEE} WHERE r.session_id = ? AND p.erased_at IS NULL ORDER BY r.id", (session.id,)
    )
    return [_attendee(row) for row in rows]


async def find_booking(db: Database, booking_code: str) -> Attendee | None:
    """One booking as the door list shows it (None for no such code, or an erased person)."""
    row = await db.fetchone(
        f"{_ATTENDEE} WHERE r.booking_code = ? AND p.erased_at IS NULL",
        (normalise_code(booking_code),),
    )
    return _attendee(row) if row else None


async def booking_status(db: Database, booking_code: str) -> str | None:
    row = await db.fetchone(
        "SELECT status FROM registrations WHERE booking_code = ?", (normalise_code(booking_code),)
    )
    return row["status"] if row else None


async def registrant_name(db: Database, booking_code: str) -> str:
    """The name a booking was made in (the one given at sign-up, else the chat name)."""
    row = await db.fetchone(
        "SELECT coalesce(p.full_name, p.display_name) AS name FROM registrations r"
        " JOIN people p ON p.id = r.person_id WHERE r.booking_code = ?",
        (normalise_code(booking_code),),
    )
    return row["name"] if row else ""


async def latest_booking_code(db: Database, session_id: int, person_id: int) -> str:
    """The person's booking code for a session (their latest, if they booked again)."""
    row = await db.fetchone(
        "SELECT booking_code FROM registrations WHERE session_id = ? AND person_id = ?"
        " ORDER BY id DESC LIMIT 1",
        (session_id, person_id),
    )
    return row["booking_code"] if row else ""


async def overlapping_title(db: Database, person_id: int, session: Session) -> dict[str, str]:
    """The title (per language) of another active booking of the person's whose time
    overlaps ``session``'s; empty when there is none."""
    row = await db.fetchone(
        "SELECT s.title_id, s.title_en FROM registrations r JOIN sessions s"
        " ON s.id = r.session_id WHERE r.person_id = ? AND r.status != 'cancelled'"
        " AND s.status = 'scheduled' AND s.id != ? AND s.starts_at < ? AND s.ends_at > ?",
        (
            person_id,
            session.id,
            session.ends_at.isoformat(timespec="seconds"),
            session.starts_at.isoformat(timespec="seconds"),
        ),
    )
    return {"id": row["title_id"], "en": row["title_en"]} if row else {}


async def active_booking_codes(db: Database, person_id: int) -> list[str]:
    """A person's bookings still confirmed or waiting."""
    rows = await db.fetchall(
        "SELECT booking_code FROM registrations WHERE person_id = ? AND status IN"
        " ('confirmed', 'waitlisted')",
        (person_id,),
    )
    return [row["booking_code"] for row in rows]


@dataclass(frozen=True)
class VillageRegistrant:
    """One registration, for the list of registrants per village across sessions."""

    village: str
    name: str
    phone: str
    session_title: str
    starts_at: str
    attendee: Attendee


async def registrants_by_village(db: Database) -> list[VillageRegistrant]:
    """Every registration not cancelled, of villagers (not staff) who have not erased their
    data, by village, then name, then session time."""
    rows = await db.fetchall(
        "SELECT coalesce(p.full_name, p.display_name) AS name, coalesce(p.village, '') AS village,"
        f" coalesce(p.phone, '') AS phone, r.booking_code, r.status, {_POSITION},"
        " r.checked_in_at, r.admitted, s.title_id, s.starts_at"
        " FROM registrations r JOIN people p ON p.id = r.person_id"
        " JOIN sessions s ON s.id = r.session_id"
        f" WHERE r.status != 'cancelled' AND p.erased_at IS NULL AND {VILLAGER}"
        " ORDER BY lower(coalesce(p.village, '')), lower(name), s.starts_at",
    )
    return [
        VillageRegistrant(
            row["village"], row["name"], row["phone"], row["title_id"], row["starts_at"],
            Attendee(
                row["name"], row["village"], row["phone"], row["booking_code"], row["status"],
                row["position"] if row["status"] == "waitlisted" else None,
                row["checked_in_at"], row["admitted"],
            ),
        )
        for row in rows
    ]  # fmt: skip
