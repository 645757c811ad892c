"""The sessions: the list, upcoming and past, with seats as a bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, render
from bot.domain import sessions
from bot.domain.accounts import Account
from bot.domain.sessions import Session
from bot.support.dates import when


@dataclass(frozen=True)
class SessionRow:
    """A session as the list shows it: its words, and its seats as a bar (percentages)."""

    session: Session
    title: str
    when: str
    taken_percent: int
    attended_percent: int


def session_row(session: Session, lang: str, timezone: tzinfo) -> SessionRow:
    capacity = max(session.capacity, 1)
    return SessionRow(
        session,
        session.title.get(lang) or session.title["id"],
        when(session.starts_at, session.ends_at, timezone, lang),
        min(100, round(100 * session.confirmed / capacity)),
        min(100, round(100 * session.attended / capacity)),
    )


async def sessions_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    lang, now = lang_of(request), datetime.now(UTC)
    every = await sessions.all_sessions(console.db)
    upcoming = [session_row(s, lang, console.timezone) for s in every if s.ends_at > now]
    past = [session_row(s, lang, console.timezone) for s in reversed(every) if s.ends_at <= now]
    return render(
        templates, request, "sessions.html", account=account, upcoming=upcoming, past=past
    )
