"""People: one row per person per channel, keyed by channel + the channel's user id."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.store import Database, utc_now

NAME_LIMIT = 128  # display names are for staff lists; Telegram allows 64 + 64
# SQL over ``people p``: they want announcements (staff only once they asked, with MULAI)
WANTS_ANNOUNCEMENTS = "(p.subscribed = 1 AND (p.staff = 0 OR p.announcements_chosen = 1))"
# SQL over ``people p``: counted in the programme's figures (staff are not villagers)
VILLAGER = "p.staff = 0"


@dataclass(frozen=True)
class Person:
    id: int
    channel: str
    channel_user_id: str
    display_name: str
    lang: str
    full_name: str | None = None
    village: str | None = None
    phone: str | None = None
    consent_at: str | None = None
    flow: dict | None = None
    subscribed: bool = True  # wants announcements (BERHENTI / MULAI)
    told: bool = True  # has been told that announcements come and how to stop them
    staff: bool = False  # in telegram.staff_ids: not a villager in the figures
    chose: bool = False  # typed MULAI or BERHENTI (or tapped its button) at least once
    repeated: bool = False  # the message being handled was handled before (same update id)

    @property
    def gets_announcements(self) -> bool:
        """Villagers get them until they stop them; staff only once they asked (MULAI)."""
        return self.subscribed and (self.chose or not self.staff)

    @property
    def has_profile(self) -> bool:
        """Gave a name and village and agreed to their keeping (first sign-up done)."""
        return bool(self.full_name and self.village and self.consent_at)


async def touch_person(
    db: Database,
    channel: str,
    channel_user_id: str,
    display_name: str,
    lang: str,
    update_key: str | None = None,
    staff: bool = False,
) -> Person:
    """Find the person, or create them with ``lang``; keep their display name current.

    A known person costs one read: after the first message the remembered language wins, and
    when they were last seen is in the message log, not here. Someone marked inactive (they
    had blocked the bot) is active again as soon as they write. ``staff``: whether they
    are in telegram.staff_ids now (the row follows, for the figures and the audiences).
    """
    name = display_name[:NAME_LIMIT]
    # one trip also tells whether this very message was handled before (a platform's repeat
    # within a day; update ids are reused after long silences)
    row = await db.fetchone(
        f"SELECT {_COLUMNS}, EXISTS (SELECT 1 FROM messages WHERE update_key = ?"
        " AND received_at > ?) AS repeated FROM people WHERE channel = ? AND channel_user_id = ?",
        (update_key, _day_ago(), channel, channel_user_id),
    )
    if row is None:
        rows = await db.write_one(
            "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at, staff)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, channel_user_id)"
            f" DO UPDATE SET display_name = display_name RETURNING {_COLUMNS}",
            (channel, channel_user_id, name, lang, utc_now(), int(staff)),
        )
        row = rows[0]
    else:
        stale = (name and name != row["display_name"]) or bool(row["staff"]) != staff
        if stale or not row["active"]:
            await db.write_one(
                "UPDATE people SET display_name = ?, active = 1, staff = ? WHERE id = ?",
                (name or row["display_name"], int(staff), row["id"]),
            )
    return Person(
        id=row["id"],
        channel=channel,
        channel_user_id=channel_user_id,
        display_name=name or row["display_name"],
        lang=row["lang"],
        full_name=row["full_name"],
        village=row["village"],
        phone=row["phone"],
        consent_at=row["consent_at"],
        flow=json.loads(row["flow"]) if row["flow"] else None,
        subscribed=bool(row["subscribed"]),
        told=bool(row["announcements_told"]),
        staff=staff,
        chose=bool(row["announcements_chosen"]),
        repeated=bool(update_key) and bool(dict(row).get("repeated")),
    )


def _day_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")


_COLUMNS = (
    "id, display_name, lang, full_name, village, phone, consent_at, flow, subscribed, active,"
    " announcements_told, staff, announcements_chosen"
)
PROFILE_FIELDS = ("full_name", "village", "phone", "consent_at")


async def update_profile(db: Database, person_id: int, **fields: str | None) -> None:
    """Save what the villager gave during the first sign-up (name, village, phone, consent)."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    assert not unknown, unknown
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await db.write_one(
        f"UPDATE people SET {assignments} WHERE id = ?", (*fields.values(), person_id)
    )


async def set_flow(db: Database, person_id: int, flow: dict | None) -> None:
    """Where the person is in a multi-step chat; kept in the database so a restart resumes it."""
    value = json.dumps(flow) if flow else None
    await db.write_one("UPDATE people SET flow = ? WHERE id = ?", (value, person_id))


async def mark_told(db: Database, person_id: int) -> None:
    await db.write_one("UPDATE people SET announcements_told = 1 WHERE id = ?", (person_id,))


async def set_subscribed(db: Database, person_id: int, subscribed: bool) -> None:
    """Their own choice (MULAI / BERHENTI): from now on it holds for staff too."""
    await db.write_one(
        "UPDATE people SET subscribed = ?, announcements_chosen = 1 WHERE id = ?",
        (int(subscribed), person_id),
    )


async def mark_staff(db: Database, members: Iterable[tuple[str, str]]) -> None:
    """Who is staff now ((channel, user id) pairs from the config): those rows marked, every
    other unmarked, so one taken off telegram.staff_ids counts as a villager again."""
    members = list(members)
    async with db.write() as conn:
        # an erased staff member's row lost its user id: it stays marked, never a villager
        await conn.execute("UPDATE people SET staff = 0 WHERE staff = 1 AND erased_at IS NULL")
        await conn.executemany(
            "UPDATE people SET staff = 1 WHERE channel = ? AND channel_user_id = ?", members
        )


async def set_village(db: Database, person_id: int, village: str) -> None:
    await db.write_one("UPDATE people SET village = ? WHERE id = ?", (village, person_id))


async def set_language(db: Database, person_id: int, lang: str) -> None:
    await db.write_one("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))


async def mark_inactive(db: Database, person_id: int) -> None:
    """They blocked the bot: no announcements until they write again."""
    await db.write_one("UPDATE people SET active = 0 WHERE id = ?", (person_id,))


async def language_of(db: Database, channel: str, channel_user_id: str) -> str | None:
    row = await db.fetchone(
        "SELECT lang FROM people WHERE channel = ? AND channel_user_id = ?",
        (channel, channel_user_id),
    )
    return row["lang"] if row else None


async def name_of(db: Database, person_id: int) -> str | None:
    """The name they gave at sign-up, else their chat name; None for nobody."""
    row = await db.fetchone(
        "SELECT coalesce(full_name, display_name) AS name FROM people WHERE id = ?",
        (person_id,),
    )
    return row["name"] if row else None


async def id_on_channel(db: Database, channel: str, channel_user_id: str) -> int | None:
    row = await db.fetchone(
        "SELECT id FROM people WHERE channel = ? AND channel_user_id = ?",
        (channel, channel_user_id.strip()),
    )
    return row["id"] if row else None
