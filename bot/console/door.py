"""At the door: a session's list searched by name or booking code, one tap to check in,
the waiting list and walk-ins let in; and the session's files (Excel, CSV, Daftar Hadir)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, not_found, render
from bot.console.schedule import about_session, session_row
from bot.console.words import words
from bot.domain import audit, registrations, sessions
from bot.domain.accounts import Account
from bot.domain.registrations import Attendee
from bot.domain.sessions import Session, SessionError
from bot.reports import files
from bot.reports.files import XLSX_TYPE
from bot.support.dates import clock_of

# -- attendance at the door ---------------------------------------------------------------------


def _matches(attendee: Attendee, query: str) -> bool:
    query = query.strip().lower()
    return not query or query in attendee.name.lower() or query in attendee.booking_code.lower()


@about_session
async def attendance_page(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    """A session's list at the door: search by name or booking code, one tap to check in."""
    lang, query = lang_of(request), request.query_params.get("q", "")
    everyone = await registrations.attendees(console.db, session.code)
    rows = [
        (a, clock_of(a.checked_in_at, console.timezone))
        for a in everyone
        if a.status != "cancelled" and _matches(a, query)
    ]
    return render(
        templates,
        request,
        "attendance.html",
        account=account,
        row=session_row(session, lang, console.timezone),
        rows=rows,
        query=query,
        note=_note(request, everyone, console.timezone),
    )


def _note(request: Request, everyone: list[Attendee], timezone: tzinfo) -> tuple[str, str] | None:
    """What the last tap did, in words: (kind, text key values) for the template."""
    params = request.query_params
    for kind in ("ok", "already", "refused"):
        booking = params.get(kind)
        if booking:
            found = next((a for a in everyone if a.booking_code == booking), None)
            name = found.name if found else booking
            at = clock_of(found.checked_in_at, timezone) if found else ""
            return kind, words(lang_of(request))[f"checkin_{kind}"].format(name=name, at=at)
    return None


async def check_in(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    code = request.path_params["code"]
    form = await request.form()
    booking = sessions.normalise_code(str(form.get("booking", "")))
    admit = form.get("admit") == "1"
    status = await registrations.booking_status(console.db, booking)
    outcome = "ok"
    if status == "attended":
        outcome = "already"  # a second tap: said in words, nothing changes
    else:
        try:
            await registrations.check_in(console.db, booking, admit=admit)
        except SessionError:
            outcome = "refused"
        else:
            name = await registrations.registrant_name(console.db, booking)
            action = "console_admit" if admit and status == "waitlisted" else "console_checkin"
            await audit.record(console.db, f"console:{account.name}", action, f"{booking} {name}")
    return _back_to_list(code, str(form.get("q", "")), outcome, booking)


async def walk_in(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    code = request.path_params["code"]
    form = await request.form()
    try:
        registration = await registrations.walk_in(
            console.db, code, str(form.get("name", "")), str(form.get("village", ""))
        )
    except SessionError:
        return _back_to_list(code, "", "refused", "")
    booking = registration.booking_code
    name = await registrations.registrant_name(console.db, booking)
    await audit.record(
        console.db, f"console:{account.name}", "console_walk_in", f"{booking} {name}"
    )
    return _back_to_list(code, "", "ok", booking)


def _back_to_list(code: str, query: str, outcome: str, booking: str) -> Response:
    """Post, then redirect: a reload of the page does not check anyone in twice."""
    target = f"/sesi/{quote(code)}?{urlencode({'q': query, outcome: booking or '-'})}"
    return RedirectResponse(target, status_code=303)


# -- files ----------------------------------------------------------------------------------------

KINDS = {
    "xlsx": (files.registrants_xlsx, XLSX_TYPE),
    "csv": (files.registrants_csv, "text/csv; charset=utf-8"),
}


async def _people(console: Console, session: Session) -> list[Attendee]:
    return files.listed(await registrations.attendees(console.db, session.code))


def _file(content: bytes, media_type: str, name: str) -> Response:
    disposition = f'attachment; filename="{name}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


@about_session
async def download(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        return not_found(templates, request, account)
    people = await _people(console, session)
    make, media_type = KINDS[kind]
    content = make(session, people, lang_of(request), console.timezone)
    await audit.record(
        console.db, f"console:{account.name}", f"console_export_{kind}", session.code
    )
    return _file(content, media_type, files.file_name(session, "peserta", kind, console.timezone))


@about_session
async def download_sheet(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    session: Session,
) -> Response:
    people = await _people(console, session)
    content = files.daftar_hadir(session, people, console.office, console.timezone)
    await audit.record(console.db, f"console:{account.name}", "console_export_pdf", session.code)
    return _file(
        content,
        "application/pdf",
        files.file_name(session, "daftar-hadir", "pdf", console.timezone),
    )


BY_VILLAGE = {
    "xlsx": (files.by_village_xlsx, XLSX_TYPE),
    "csv": (files.by_village_csv, "text/csv; charset=utf-8"),
}


async def download_by_village(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """Registrants per village across sessions: who in each village signed up for what."""
    kind = request.path_params["kind"]
    if kind not in BY_VILLAGE:
        return not_found(templates, request, account)
    make, media_type = BY_VILLAGE[kind]
    rows = await registrations.registrants_by_village(console.db)
    content = make(rows, lang_of(request), console.timezone)
    await audit.record(
        console.db, f"console:{account.name}", f"console_export_{kind}", "by_village"
    )
    return _file(
        content, media_type, f"peserta-per-desa-{datetime.now().strftime('%Y-%m-%d')}.{kind}"
    )
