"""The sessions: the list, upcoming and past, with seats as a bar; creating, changing
(rescheduling) and cancelling one, with the forms accepting dates as people write them."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, Page, lang_of, not_found, render
from bot.console.words import words
from bot.domain import audit, sessions
from bot.domain.accounts import Account
from bot.domain.registrations import attendees
from bot.domain.sessions import Session, SessionError
from bot.support.dates import typed_clock, typed_day, typed_moment, when, zone_name


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


def parse_form(
    form: dict[str, str], timezone: tzinfo, lang: str, end_follows: bool = False
) -> Parsed:
    """The form as people fill it: the day from the picker or typed ("14/12/2026", "14
    Desember 2026", even "14 Desember 2026 jam 9" with the time), times as "09.00" or "9".
    ``end_follows``: the end is left to move with the start (values["ends"] is None)."""
    w, problems = words(lang), {}
    for name in ("title_id", "village", "place"):
        if not form.get(name, "").strip():
            problems[name] = w["form_required"]
    moment = typed_moment(form.get("day", ""), timezone)
    day = moment.date() if moment else typed_day(form.get("day", ""))
    zone = zone_name(timezone)
    start = typed_clock(form.get("start", ""), zone) or (moment.timetz() if moment else None)
    end = None if end_follows else typed_clock(form.get("end", ""), zone)
    if day is None:
        problems["day"] = w["form_day"]
    if start is None:
        problems["start"] = w["form_clock"]
    if end is None and not end_follows:
        problems["end"] = w["form_clock"]
    capacity = form.get("capacity", "").strip()
    if not capacity.isdigit() or int(capacity) < 1:
        problems["capacity"] = w["form_capacity"]
    if problems:
        return Parsed({}, problems)
    assert day is not None and start is not None
    starts = datetime.combine(day, start.replace(tzinfo=None), tzinfo=timezone)
    ends = datetime.combine(day, end, tzinfo=timezone) if end else None
    if ends and ends <= starts:
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


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name, ""))[:2000] for name in FIELDS}


def _form_page(
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    form: dict[str, str],
    session: Session | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The session form, new or about ``session`` (saying how many a new time tells)."""
    told = session.confirmed + session.waitlisted if session else 0
    return render(templates, request, "session_form.html", status, account=account, form=form,
                  problems=problems or {}, session=session, told=told)  # fmt: skip


async def new_session_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    return _form_page(templates, request, account, {})


async def create(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    form = await _fields(request)
    parsed = parse_form(form, console.timezone, lang_of(request))
    if parsed.problems:
        return _form_page(templates, request, account, form, None, parsed.problems, 400)
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
            return not_found(templates, request, account)
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
    return _form_page(templates, request, account, form_of(session, console.timezone), session)


@about_session
async def edit(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    """A change; a new time is a reschedule: a preview first names who will be told, then
    everyone registered or waiting is told and their reminders move (bot/domain/sessions.py,
    as from the chat and the command line). An end left as it was moves with the start."""
    form, lang = await _fields(request), lang_of(request)
    before = form_of(session, console.timezone)
    moved = (form["day"], form["start"]) != (before["day"], before["start"])
    parsed = parse_form(form, console.timezone, lang, moved and form["end"] == before["end"])
    step = (await request.form()).get("step")
    if parsed.problems or step == "back":
        status = 400 if parsed.problems else 200
        return _form_page(templates, request, account, form, session, parsed.problems, status)
    times = sessions.new_times(session, parsed.values["starts"], parsed.values["ends"])
    if session.status == "cancelled" or _days_apart(*times, console.timezone):
        key = "form_cancelled" if session.status == "cancelled" else "form_end_next_day"
        field = "day" if session.status == "cancelled" else "end"
        return _form_page(templates, request, account, form, session,
                          {field: words(lang)[key]}, 400)  # fmt: skip
    told = [a for a in await attendees(console.db, session.code) if a.status in TOLD]
    if times != (session.starts_at, session.ends_at) and told and step != "confirm":
        return render(templates, request, "reschedule.html", account=account, form=form,
                      session=session, told=told,
                      before=when(session.starts_at, session.ends_at, console.timezone, lang),
                      after=when(*times, console.timezone, lang))  # fmt: skip
    try:
        await sessions.edit_session(console.db, session.code, **parsed.values)
    except SessionError as exc:
        field, key = REFUSALS.get(exc.reason, ("day", "form_in_past"))
        return _form_page(templates, request, account, form, session,
                          {field: words(lang)[key]}, 400)  # fmt: skip
    await audit.record(console.db, f"console:{account.name}", "console_session_edit", session.code)
    return RedirectResponse(f"/sesi/{session.code}", status_code=303)


def _days_apart(starts: datetime, ends: datetime, timezone: tzinfo) -> bool:
    """The form has one day: a moved end that would fall on the next day must be typed."""
    return starts.astimezone(timezone).date() != ends.astimezone(timezone).date()


TOLD = ("confirmed", "waitlisted")  # who a change of time is sent to (bot/domain/reminders.py)
# the domain's refusals as the form's problems: (field, words key)
REFUSALS = {
    "bad_times": ("end", "form_end_before_start"),
    "in_past": ("day", "form_in_past"),
    "bad_capacity": ("capacity", "form_capacity"),
    "cancelled": ("day", "form_cancelled"),
}


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
