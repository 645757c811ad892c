"""The sessions: the list, upcoming and past, with seats as a bar; creating, changing
(rescheduling) and cancelling one, with the forms accepting dates as people write them."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, Page, lang_of, render
from bot.console.words import words
from bot.domain import audit, sessions
from bot.domain.accounts import Account
from bot.domain.sessions import Session, SessionError
from bot.support.dates import typed_clock, typed_day, typed_moment, when


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


# -- creating, changing and cancelling a session ------------------------------------------------

FIELDS = ("title_id", "title_en", "village", "place", "day", "start", "end", "capacity",
          "description")  # fmt: skip


@dataclass(frozen=True)
class Parsed:
    """A session form read: the values the domain takes, or the problems per field."""

    values: dict[str, object]
    problems: dict[str, str]


def _clock_text(moment: datetime, timezone: tzinfo) -> str:
    return moment.astimezone(timezone).strftime("%H.%M")


def form_of(session: Session, timezone: tzinfo) -> dict[str, str]:
    """A session as its edit form shows it."""
    return {
        "title_id": session.title["id"], "title_en": session.title["en"],
        "village": session.village, "place": session.place,
        "day": session.starts_at.astimezone(timezone).strftime("%Y-%m-%d"),
        "start": _clock_text(session.starts_at, timezone),
        "end": _clock_text(session.ends_at, timezone),
        "capacity": str(session.capacity), "description": session.description,
    }  # fmt: skip


def parse_form(form: dict[str, str], timezone: tzinfo, lang: str) -> Parsed:
    """The form as people fill it: the day from the picker or typed ("14/12/2026", "14
    Desember 2026", even "14 Desember 2026 jam 9" with the time), times as "09.00" or "9"."""
    w, problems = words(lang), {}
    for name in ("title_id", "village", "place"):
        if not form.get(name, "").strip():
            problems[name] = w["form_required"]
    moment = typed_moment(form.get("day", ""), timezone)
    day = moment.date() if moment else typed_day(form.get("day", ""))
    start = typed_clock(form.get("start", "")) or (moment.timetz() if moment else None)
    end = typed_clock(form.get("end", ""))
    if day is None:
        problems["day"] = w["form_day"]
    if start is None:
        problems["start"] = w["form_clock"]
    if end is None:
        problems["end"] = w["form_clock"]
    capacity = form.get("capacity", "").strip()
    if not capacity.isdigit() or int(capacity) < 1:
        problems["capacity"] = w["form_capacity"]
    if problems:
        return Parsed({}, problems)
    assert day is not None and start is not None and end is not None
    starts = datetime.combine(day, start.replace(tzinfo=None), tzinfo=timezone)
    ends = datetime.combine(day, end, tzinfo=timezone)
    if ends <= starts:
        return Parsed({}, {"end": w["form_end_before_start"]})
    if starts <= datetime.now(UTC):
        return Parsed({}, {"day": w["form_in_past"]})
    values = {
        "title_id": form["title_id"].strip(),
        "title_en": form.get("title_en", "").strip() or form["title_id"].strip(),
        "village": form["village"].strip(), "place": form["place"].strip(),
        "starts": starts, "ends": ends, "capacity": int(capacity),
        "description": form.get("description", "").strip(),
    }  # fmt: skip
    return Parsed(values, {})


def follow_start(before: dict[str, str], form: dict[str, str]) -> dict[str, str]:
    """A new start with the end left as it was: the end moves with it (the length stays)."""
    if form.get("end") != before.get("end"):
        return form
    if (form.get("day"), form.get("start")) == (before.get("day"), before.get("start")):
        return form
    old_start, old_end = typed_clock(before["start"]), typed_clock(before["end"])
    new_start = typed_clock(form.get("start", ""))
    if not (old_start and old_end and new_start):
        return form  # the form's own checks say what is wrong
    length = datetime.combine(date.min, old_end) - datetime.combine(date.min, old_start)
    end = datetime.combine(date.min, new_start) + length
    return {**form, "end": end.strftime("%H.%M")}


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, ""))[:2000] for name in FIELDS}


async def new_session_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    return render(templates, request, "session_form.html", account=account, form={},
                  problems={}, session=None, told=0)  # fmt: skip


async def create(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    form = await _fields(request)
    parsed = parse_form(form, console.timezone, lang_of(request))
    if parsed.problems:
        return render(templates, request, "session_form.html", 400, account=account, form=form,
                      problems=parsed.problems, session=None, told=0)  # fmt: skip
    session = await sessions.create_session(console.db, **parsed.values)  # type: ignore[arg-type]
    await audit.record(console.db, f"console:{account.name}", "console_session_add", session.code)
    return RedirectResponse(f"/sesi/{session.code}", status_code=303)


SessionPage = Callable[[Console, Jinja2Templates, Request, Account, Session], Awaitable[Response]]


def about_session(shown: SessionPage) -> Page:
    """A page about the session in the path (/sesi/{code}/...): 404 when there is none."""

    @functools.wraps(shown)
    async def handler(
        console: Console, templates: Jinja2Templates, request: Request, account: Account
    ) -> Response:
        session = await sessions.get_session(console.db, request.path_params["code"])
        if session is None:
            return render(templates, request, "message.html", 404, account=account, key="not_found")
        return await shown(console, templates, request, account, session)

    return handler


@about_session
async def edit_page(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    return render(templates, request, "session_form.html", account=account,
                  form=form_of(session, console.timezone), problems={}, session=session,
                  told=session.confirmed + session.waitlisted)  # fmt: skip


@about_session
async def edit(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    """A change; a new time is a reschedule: everyone registered or waiting is told, and
    their reminders move (bot/domain/sessions.py, as from the chat and the command line)."""
    form = follow_start(form_of(session, console.timezone), await _fields(request))
    parsed = parse_form(form, console.timezone, lang_of(request))
    if not parsed.problems:
        try:
            await sessions.edit_session(console.db, session.code, **parsed.values)
        except SessionError as exc:
            parsed = Parsed({}, {"day": str(exc)})
    if parsed.problems:
        return render(templates, request, "session_form.html", 400, account=account, form=form,
                      problems=parsed.problems, session=session,
                      told=session.confirmed + session.waitlisted)  # fmt: skip
    await audit.record(console.db, f"console:{account.name}", "console_session_edit", session.code)
    return RedirectResponse(f"/sesi/{session.code}", status_code=303)


@about_session
async def cancel_page(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    return render(templates, request, "cancel.html", account=account,
                  row=session_row(session, lang_of(request), console.timezone),
                  told=session.confirmed + session.waitlisted)  # fmt: skip


@about_session
async def cancel(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    """Cancelled once confirmed on the page before; everyone registered or waiting is told."""
    if session.status != "cancelled":
        await sessions.cancel_session(console.db, session.code)
        await audit.record(
            console.db, f"console:{account.name}", "console_session_cancel", session.code
        )
    return RedirectResponse("/sesi", status_code=303)
