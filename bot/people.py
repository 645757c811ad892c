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
    is_new: bool


async def touch_person(
    db: Database, channel: str, channel_user_id: str, display_name: str, lang: str
) -> Person:
    """Find or create the person, refreshing name and last-seen time.

    ``lang`` is only used for a new person: after that the remembered choice wins.
    """
    now = utc_now()
    name = display_name[:NAME_LIMIT]
    async with db.write() as conn:
        cursor = await conn.execute(
            "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at,"
            " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, channel_user_id) DO UPDATE SET"
            " display_name = CASE WHEN excluded.display_name = '' THEN display_name"
            " ELSE excluded.display_name END, last_seen_at = excluded.last_seen_at"
            " RETURNING id, display_name, lang, created_at",
            (channel, channel_user_id, name, lang, now, now),
        )
        row = await cursor.fetchone()
        await cursor.close()
    assert row is not None
    return Person(
        id=row["id"],
        channel=channel,
        channel_user_id=channel_user_id,
        display_name=row["display_name"],
        lang=row["lang"],
        is_new=row["created_at"] == now,
    )


async def set_language(db: Database, person_id: int, lang: str) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))
