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
    starts: datetime | None = None,
    hours: float = 2,
) -> Session:
    """A session (three days ahead, two hours long, unless told)."""
    starts = starts or datetime.now(UTC) + timedelta(days=3)
    return await create_session(
        db, title_id=title, title_en=title_en, village=village, place="Balai desa",
        starts=starts, ends=starts + timedelta(hours=hours), capacity=capacity,
    )  # fmt: skip
