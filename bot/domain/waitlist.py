"""The waiting list: a freed or added seat goes to the first person waiting."""

from __future__ import annotations

from datetime import datetime

from bot.domain.outbox import enqueue
from bot.domain.reminders import ReminderPolicy, schedule_reminders
from bot.domain.store import utc_now


async def fill_free_seats(
    conn, session_id: int, capacity: int, now: datetime, policy: ReminderPolicy
) -> list[int]:
    """Confirm waitlisted people, first come first served, while seats are free; each is
    told at once and gets the reminders a confirmed person gets. Returns their ids."""
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
        await schedule_reminders(
            conn, row["id"], row["person_id"], session_id, starts, now, policy, row["updated_at"]
        )
    return [row["id"] for row in waiting]
