"""Reminders and notices about a session: when they go out, queued in the outbox in the same
transaction as the registration or change that causes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.domain.outbox import enqueue


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out: the day before at a fixed hour, and a while before the start."""

    timezone: tzinfo
    day_before_hour: int = 9
    before_start: timedelta = timedelta(hours=2)

    def times(self, starts: datetime) -> list[tuple[str, datetime]]:
        local = starts.astimezone(self.timezone)
        day_before = (local - timedelta(days=1)).replace(
            hour=self.day_before_hour, minute=0, second=0, microsecond=0
        )
        return [("reminder_day_before", day_before), ("reminder_soon", starts - self.before_start)]


async def schedule_reminders(
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


async def reschedule_reminders(
    conn, session_id: int, starts: datetime, now: datetime, policy: ReminderPolicy, version: str
) -> None:
    """A session moved: its queued reminders are withdrawn and queued again for the new time."""
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
        await schedule_reminders(
            conn, row["id"], row["person_id"], session_id, starts, now, policy, version
        )


async def notify_registrants(
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
