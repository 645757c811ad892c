"""Figures for staff: who the bot reaches, what villagers ask, how announcements went. The
staff reports feature (/statistik, `desabot stats`) puts them in words."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain.people import VILLAGER
from bot.domain.store import Database

_ANSWERED = "('faq_answer', 'faq_button')"
_ASKED = "('faq_answer', 'faq_button', 'faq_declined')"


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
    """Villagers on ``channels`` (those that can be reached), per village, most first;
    staff are not counted."""
    marks = ", ".join("?" for _ in channels)
    rows = await db.fetchall(
        "SELECT coalesce(nullif(p.village, ''), '') AS village, count(*) AS n,"
        " sum(p.active) AS active, sum(p.subscribed) AS subscribed FROM people p"
        f" WHERE p.channel IN ({marks}) AND {VILLAGER} GROUP BY 1 ORDER BY n DESC, village",
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
    """Villagers' questions since ``since``: how many the FAQ answered and declined, the top
    topics. Staff trying the bot out are not counted."""
    rows = await db.fetchall(
        "SELECT m.action, m.faq_id, count(*) AS n FROM messages m"
        f" JOIN people p ON p.id = m.person_id WHERE m.action IN {_ASKED}"
        f" AND m.received_at >= ? AND {VILLAGER} GROUP BY m.action, m.faq_id",
        (_iso(since),),
    )
    per_topic: Counter[str] = Counter()
    for row in rows:
        if row["action"] != "faq_declined":
            per_topic[row["faq_id"]] += row["n"]
    declined = sum(r["n"] for r in rows if r["action"] == "faq_declined")
    ranked = sorted(per_topic.items(), key=lambda item: (-item[1], item[0] or ""))
    return Questions(per_topic.total(), declined, ranked[:top])


@dataclass(frozen=True)
class TopicWeeks:
    weeks: list[date]  # the Monday of each week (local time), oldest first
    topics: list[tuple[str, list[int]]]  # (FAQ topic id, answers per week), most asked first


def week_start(moment: datetime, timezone: tzinfo) -> datetime:
    """Monday 00:00 local time of the week ``moment`` is in."""
    local = moment.astimezone(timezone).date()
    return datetime.combine(local - timedelta(days=local.weekday()), time(), timezone)


async def topics_by_week(
    db: Database, now: datetime, timezone: tzinfo, weeks: int, top: int
) -> TopicWeeks:
    """Villagers' answered questions per FAQ topic in each of the last ``weeks`` weeks
    (this one included). Days are cut at local midnight with today's offset: the bot's zone,
    WITA, has no daylight saving."""
    this_week = week_start(now, timezone)
    first = this_week - timedelta(weeks=weeks - 1)
    mondays = [(this_week - timedelta(weeks=k)).date() for k in range(weeks - 1, -1, -1)]
    offset = now.astimezone(timezone).utcoffset() or timedelta()
    rows = await db.fetchall(
        "SELECT date(m.received_at, ?) AS day, m.faq_id, count(*) AS n FROM messages m"
        f" JOIN people p ON p.id = m.person_id WHERE m.action IN {_ANSWERED}"
        f" AND m.received_at >= ? AND {VILLAGER} GROUP BY day, m.faq_id",
        (f"{int(offset.total_seconds()):+d} seconds", _iso(first)),
    )
    counts: dict[str, list[int]] = {}
    for row in rows:
        week = (date.fromisoformat(row["day"]) - mondays[0]).days // 7
        if 0 <= week < weeks:
            counts.setdefault(row["faq_id"] or "", [0] * weeks)[week] += row["n"]
    ranked = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    return TopicWeeks(mondays, ranked[:top])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
