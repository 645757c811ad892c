"""Villagers and announcements for tests of the broadcast machinery."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.channels.registry import reachable_channels
from bot.domain import broadcasts
from bot.domain.broadcasts import Audience, QuietHours
from bot.domain.people import set_village, touch_person

WITA = ZoneInfo("Asia/Makassar")
NIGHT = QuietHours(WITA, 21, 7)
NEVER_QUIET = QuietHours(WITA, 0, 0)
REACHABLE = reachable_channels()  # Telegram and WhatsApp, not the terminal


async def villager(db, n: int, village: str | None = None, channel: str = "telegram") -> int:
    person = await touch_person(db, channel, str(n), f"Warga {n}", "id")
    if village:
        await set_village(db, person.id, village)
    return person.id


async def announce(db, audience: Audience, send_at: datetime | None = None, sender=None):
    return await broadcasts.create_broadcast(
        db,
        text_id="Ada sesi paspor hari Sabtu.",
        text_en="Passport session on Saturday.",
        office="bp3mi",
        audience=audience,
        send_at=send_at or datetime.now(UTC),
        created_by="test",
        sender_id=sender,
    )
