"""Figures for staff: who the bot reaches, what villagers ask, how announcements went. The
staff reports feature (/statistik, `desabot stats`) puts them in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.store import Database

_ANSWERED = "('faq_answer', 'faq_button')"


@dataclass(frozen=True)
class VillageCount:
    village: str  # "" for people who gave none
    people: int
    inactive: int  # blocked the bot
    stopped: int = 0  # stopped announcements (BERHENTI)


@dataclass(frozen=True)
class Reach:
    total: int
    active: int
    subscribed: int
    villages: list[VillageCount]


async def reach(db: Database, channels: tuple[str, ...]) -> Reach:
    """People on ``channels`` (those that can be reached), per village, most first."""
    marks = ", ".join("?" for _ in channels)
    rows = await db.fetchall(
        "SELECT coalesce(nullif(village, ''), '') AS village, count(*) AS n,"
        " sum(active) AS active, sum(subscribed) AS subscribed FROM people"
        f" WHERE channel IN ({marks}) GROUP BY 1 ORDER BY n DESC, village",
        channels,
    )
    return Reach(
        total=sum(r["n"] for r in rows),
        active=sum(r["active"] for r in rows),
        subscribed=sum(r["subscribed"] for r in rows),
        villages=[
            VillageCount(r["village"], r["n"], r["n"] - r["active"], r["n"] - r["subscribed"])
            for r in rows
        ],
    )


@dataclass(frozen=True)
class Questions:
    answered: int
    declined: int
    topics: list[tuple[str, int]]  # (FAQ topic id, times answered), most first


async def questions(db: Database, since: datetime, top: int) -> Questions:
    """Questions since ``since``: how many the FAQ answered and declined, the top topics."""
    moment = since.astimezone(UTC).isoformat(timespec="milliseconds")
    rows = await db.fetchall(
        f"SELECT faq_id, count(*) AS n FROM messages WHERE action IN {_ANSWERED}"
        " AND received_at >= ? GROUP BY faq_id ORDER BY n DESC, faq_id LIMIT ?",
        (moment, top),
    )
    [declined] = await db.fetchall(
        "SELECT count(*) AS n FROM messages WHERE action = 'faq_declined' AND received_at >= ?",
        (moment,),
    )
    [answered] = await db.fetchall(
        f"SELECT count(*) AS n FROM messages WHERE action IN {_ANSWERED} AND received_at >= ?",
        (moment,),
    )
    return Questions(answered["n"], declined["n"], [(r["faq_id"], r["n"]) for r in rows])
