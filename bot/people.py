"""People: one row per person per channel, keyed by channel + the channel's user id."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import Database, utc_now

NAME_LIMIT = 128  # display names are for staff lists; Telegram allows 64 + 64


@dataclass(frozen=True)
class Person:
    id: int
    channel: str
    channel_user_id: str
    display_name: str
    lang: str


async def touch_person(
    db: Database, channel: str, channel_user_id: str, display_name: str, lang: str
) -> Person:
    """Find the person, or create them with ``lang``; keep their display name current.

    A known person costs one read: after the first message the remembered language wins, and
    when they were last seen is in the message log, not here.
    """
    name = display_name[:NAME_LIMIT]
    row = await db.fetchone(
        "SELECT id, display_name, lang FROM people WHERE channel = ? AND channel_user_id = ?",
        (channel, channel_user_id),
    )
    if row is None:
        rows = await db.write_one(
            "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, channel_user_id)"
            " DO UPDATE SET display_name = display_name RETURNING id, display_name, lang",
            (channel, channel_user_id, name, lang, utc_now()),
        )
        row = rows[0]
    elif name and name != row["display_name"]:
        await db.write_one("UPDATE people SET display_name = ? WHERE id = ?", (name, row["id"]))
    return Person(
        id=row["id"],
        channel=channel,
        channel_user_id=channel_user_id,
        display_name=name or row["display_name"],
        lang=row["lang"],
    )


async def set_language(db: Database, person_id: int, lang: str) -> None:
    await db.write_one("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))
