"""The programme at a glance: villagers per village, sign-ups and attendance per session,
questions per topic this week and week by week, questions waiting for an officer, delivery
per announcement; as tables, with bars drawn in SVG by the page itself (no chart library,
no internet). Staff are not counted as villagers (bot/domain/stats.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, render
from bot.domain import broadcasts, inbox, sessions, stats
from bot.domain.accounts import Account
from bot.support.dates import when

TOP_TOPICS = 10
RECENT_SESSIONS = 12
RECENT_BROADCASTS = 8
WEEKS = 8


@dataclass(frozen=True)
class Bar:
    """One row of a chart: its label, its figures in words, and the bar's length (0-100)."""

    label: str
    figures: str
    percent: int


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


@dataclass(frozen=True)
class TopicRow:
    """A topic's answers in each of the last weeks, and the same as columns of a small
    chart (x, y and height of each, in a 0-100 by 0-20 box)."""

    label: str
    counts: list[int]
    columns: list[tuple[int, int, int]]


@dataclass(frozen=True)
class Weeks:
    heads: list[str]  # "30/11": the Monday each week starts
    rows: list[TopicRow]


def weeks_of(weekly: stats.TopicWeeks, titles: dict[str, str]) -> Weeks:
    most = max((n for _, counts in weekly.topics for n in counts), default=0)
    width = 100 // max(len(weekly.weeks), 1)
    rows = []
    for topic, counts in weekly.topics:
        heights = [round(20 * n / most) if most else 0 for n in counts]
        columns = [(i * width + 1, 20 - h, h) for i, h in enumerate(heights)]
        rows.append(TopicRow(titles.get(topic, topic or "–"), counts, columns))
    return Weeks([monday.strftime("%d/%m") for monday in weekly.weeks], rows)


async def glance_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    lang, now, tz = lang_of(request), datetime.now(UTC), console.timezone
    reach = await stats.reach(console.db, console.channels)
    most = max((v.people for v in reach.villages), default=0)
    villages = [
        Bar(v.village or "–", f"{v.people} · {v.stopped} · {v.inactive}", _percent(v.people, most))
        for v in reach.villages
    ]
    past = [s for s in await sessions.all_sessions(console.db) if s.ends_at <= now]
    attendance = [
        Bar(
            f"{s.title.get(lang) or s.title['id']} · {when(s.starts_at, s.ends_at, tz, lang)}",
            f"{s.attended}/{s.confirmed}",
            _percent(s.attended, s.confirmed),
        )
        for s in reversed(past[-RECENT_SESSIONS:])
    ]
    asked = await stats.questions(console.db, stats.week_start(now, tz), TOP_TOPICS)
    top = max((n for _, n in asked.topics), default=0)
    topics = [
        Bar(console.titles().get(topic or "", topic or "–"), str(n), _percent(n, top))
        for topic, n in asked.topics
    ]
    weekly = await stats.topics_by_week(console.db, now, tz, WEEKS, TOP_TOPICS)
    deliveries = []
    for broadcast in await broadcasts.recent_broadcasts(console.db, RECENT_BROADCASTS):
        counts = await broadcasts.summary(console.db, broadcast.id)
        total = sum(counts.values())
        text = broadcast.text.get(lang) or broadcast.text["id"]
        label = f"#{broadcast.id} {text[:60]}"
        deliveries.append(
            Bar(label, f"{counts.get('sent', 0)}/{total}", _percent(counts.get("sent", 0), total))
        )
    return render(
        templates, request, "glance.html", account=account, reach=reach, villages=villages,
        attendance=attendance, asked=asked, topics=topics, deliveries=deliveries,
        weeks=weeks_of(weekly, console.titles()),
        waiting=await inbox.open_questions(console.db),
    )  # fmt: skip
