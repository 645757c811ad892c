"""WhatsApp's messaging tier: how many people a business may start a conversation with (a
template, outside the 24-hour window) in a rolling 24 hours: 250 at first, then 2,000,
10,000, 100,000 or unlimited, shared by all the business's numbers. The delivery worker asks
before each such template whether the person is within the limit (someone already reached in
the last 24 hours always is) and records each one sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.outbox import iso
from bot.domain.store import Database

WINDOW = timedelta(hours=24)
KEPT = timedelta(days=3)
TIER_WAIT = "daily limit of new WhatsApp conversations"  # an outbox row's reason, as stored


@dataclass(frozen=True)
class Room:
    """Where the tier stands now: the people reached in the last 24 hours, the limit, and when
    the next one may be reached when there is no room (None: there is room)."""

    used: int
    limit: int | None
    next_free: datetime | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def days_to_send(waiting: int, limit: int) -> int:
    """About how many days ``waiting`` people take at ``limit`` new ones a day."""
    return -(-waiting // limit)


async def room(db: Database, limit: int | None, now: datetime | None = None) -> Room:
    now = now or datetime.now(UTC)
    since = iso(now - WINDOW)
    row = await db.fetchone(
        "SELECT count(DISTINCT person_id) FROM conversations_started WHERE started_at > ?",
        (since,),
    )
    used = int(row[0]) if row else 0
    if limit is None or used < limit:
        return Room(used, limit, None)
    # a place frees when someone's last start leaves the window
    oldest = await db.fetchone(
        "SELECT min(last) FROM (SELECT max(started_at) AS last FROM conversations_started"
        " WHERE started_at > ? GROUP BY person_id)",
        (since,),
    )
    frees = datetime.fromisoformat(oldest[0]) + WINDOW if oldest and oldest[0] else now
    return Room(used, limit, frees)


async def reached_lately(db: Database, person_id: int, now: datetime | None = None) -> bool:
    """Already counted in the last 24 hours: another template to them costs no place."""
    since = iso((now or datetime.now(UTC)) - WINDOW)
    row = await db.fetchone(
        "SELECT 1 FROM conversations_started WHERE person_id = ? AND started_at > ? LIMIT 1",
        (person_id, since),
    )
    return row is not None


async def started(db: Database, person_id: int, now: datetime | None = None) -> int:
    """A place taken (before the template is sent, so two sends cannot take the last one)."""
    rows = await db.write_one(
        "INSERT INTO conversations_started (person_id, started_at) VALUES (?, ?) RETURNING id",
        (person_id, iso(now or datetime.now(UTC))),
    )
    return int(rows[0][0])


async def give_back(db: Database, place: int) -> None:
    await db.write_one("DELETE FROM conversations_started WHERE id = ?", (place,))


async def accepted(db: Database, place: int, platform_id: str) -> None:
    """The template that took the place was accepted, under WhatsApp's message id."""
    await db.write_one(
        "UPDATE conversations_started SET platform_id = ? WHERE id = ?", (platform_id, place)
    )


async def not_delivered(db: Database, platform_id: str) -> None:
    """WhatsApp failed the template after accepting it: nobody was reached, so its place is
    free again (Meta counts the people messages were delivered to)."""
    await db.write_one("DELETE FROM conversations_started WHERE platform_id = ?", (platform_id,))


async def turn(db: Database, limit: int, position: int, now: datetime | None = None) -> datetime:
    """When the ``position``-th person waiting (0: the first) may be reached: the places free
    one by one as the people of the last 24 hours leave the window, and then again a day on."""
    now = now or datetime.now(UTC)
    rows = await db.fetchall(
        "SELECT max(started_at) AS last FROM conversations_started WHERE started_at > ?"
        " GROUP BY person_id ORDER BY last",
        (iso(now - WINDOW),),
    )
    frees = [datetime.fromisoformat(r["last"]) + WINDOW for r in rows][: max(limit, 1)] or [now]
    days, index = divmod(position, len(frees))
    return frees[index] + days * WINDOW


async def waiting_ahead(db: Database, outbox_id: int, reminders_only: bool) -> int:
    """Rows held for the tier before this one (a reminder counts only reminders ahead: it
    takes a freed place before any announcement)."""
    kind = " AND broadcast_id IS NULL" if reminders_only else ""
    row = await db.fetchone(
        "SELECT count(*) FROM outbox WHERE status = 'pending' AND last_error LIKE ?"
        f" AND id < ?{kind}",
        (TIER_WAIT + "%", outbox_id),
    )
    return int(row[0]) if row else 0


async def forget_old(db: Database, now: datetime) -> None:
    await db.write_one("DELETE FROM conversations_started WHERE started_at < ?", (iso(now - KEPT),))


async def held_for_tier(db: Database, broadcast_id: int) -> int:
    """An announcement's recipients waiting for a place in the tier."""
    row = await db.fetchone(
        "SELECT count(*) FROM outbox WHERE broadcast_id = ? AND status = 'pending'"
        " AND last_error LIKE ?",
        (broadcast_id, TIER_WAIT + "%"),
    )
    return int(row[0]) if row else 0
