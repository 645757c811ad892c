"""A session for tests that need one to exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.sessions import Session, create_session


async def a_session(
    db,
    title: str = "Sosialisasi migrasi aman",
    title_en: str = "Safe migration",
    capacity: int = 5,
    village: str = "Kaleke",
) -> Session:
    """A session three days ahead, two hours long."""
    starts = datetime.now(UTC) + timedelta(days=3)
    return await create_session(
        db, title_id=title, title_en=title_en, village=village, place="Balai desa",
        starts=starts, ends=starts + timedelta(hours=2), capacity=capacity,
    )  # fmt: skip
