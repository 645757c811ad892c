"""The programme at a glance: villagers per village, sign-ups and attendance per session,
questions per topic this week, questions waiting for an officer, delivery per announcement;
as tables, with bars drawn in SVG by the page itself (no chart library, no internet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


@dataclass(frozen=True)
class Bar:
    """One row of a chart: its label, its figures in words, and the bar's length (0-100)."""

    label: str
    figures: str
    percent: int


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _week_start(now: datetime, console: Console) -> datetime:
    local = now.astimezone(console.timezone)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0)
    return monday.replace(microsecond=0)


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
    asked = await stats.questions(console.db, _week_start(now, console), TOP_TOPICS)
    top = max((n for _, n in asked.topics), default=0)
    topics = [
        Bar(console.topics.get(topic or "", topic or "–"), str(n), _percent(n, top))
        for topic, n in asked.topics
    ]
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
        waiting=await inbox.open_questions(console.db),
    )  # fmt: skip
