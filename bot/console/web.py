"""The console's pages: sign-in, sessions, accounts. Each page says who may see it; the
server enforces it (an officer runs sessions, attendance and exports; only an admin sees the
accounts), and every state-changing request from another site is refused."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.console import files
from bot.console.security import (
    COOKIE,
    SignInGuard,
    cross_site,
    new_token,
    over_https,
    token_digest,
)
from bot.console.words import LANGUAGES, words
from bot.domain import accounts, audit, registrations, sessions
from bot.domain.accounts import Account
from bot.domain.registrations import Attendee
from bot.domain.sessions import Session, SessionError
from bot.domain.store import Database
from bot.support.dates import when
from bot.support.passwords import hash_password, needs_rehash, password_matches

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANG_COOKIE = "desabot_lang"
# a page of its own: no other site may frame it, scripts and styles only from here
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# checked against an unknown name too, so a wrong name takes as long as a wrong password
_DUMMY_HASH = hash_password("not a password anybody has")


@dataclass
class Console:
    db: Database
    timezone: tzinfo
    session_hours: int
    office: str = ""  # who runs the programme, on top of the attendance sheet
    guard: SignInGuard = field(default_factory=SignInGuard)


Handler = Callable[[Request], Awaitable[Response]]


def build(db: Database, timezone: tzinfo, session_hours: int, office: str = "") -> Starlette:
    """The console as an ASGI app, on the bot's database."""
    console = Console(db, timezone, session_hours, office)
    templates = Jinja2Templates(directory=HERE / "templates")
    routes = [
        Route("/", _home),
        Route("/masuk", functools.partial(sign_in_page, templates), methods=["GET"]),
        Route("/masuk", functools.partial(sign_in, console, templates), methods=["POST"]),
        Route("/keluar", functools.partial(sign_out, console), methods=["POST"]),
        Route("/bahasa", choose_language, methods=["POST"]),
        Route("/sesi", page(console, templates, sessions_page)),
        Route("/sesi/{code}", page(console, templates, attendance_page)),
        Route("/sesi/{code}/hadir", page(console, templates, check_in), methods=["POST"]),
        Route("/sesi/{code}/tamu", page(console, templates, walk_in), methods=["POST"]),
        Route("/sesi/{code}/peserta.{kind:str}", page(console, templates, download)),
        Route("/sesi/{code}/daftar-hadir.pdf", page(console, templates, download_sheet)),
        Route("/akun", page(console, templates, accounts_page, admin=True)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=_guard)])
    app.state.console, app.state.templates = console, templates
    return app


async def _guard(request: Request, call_next) -> Response:
    """Every response: the security headers. Every state-changing request from another
    site's page: refused before any handler runs."""
    if cross_site(request):
        log.warning("event=console_refused reason=cross_site path=%s", request.url.path)
        response: Response = Response(words(_lang(request))["refused"], status_code=403)
    else:
        response = await call_next(request)
    response.headers.update(HEADERS)
    return response


def _lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "id")
    return lang if lang in LANGUAGES else "id"


def _render(
    templates: Jinja2Templates, request: Request, template: str, status: int = 200, **values
) -> Response:
    lang = _lang(request)
    context = {"w": words(lang), "lang": lang, "account": None, **values}
    return templates.TemplateResponse(request, template, context, status_code=status)


async def _home(request: Request) -> Response:
    return RedirectResponse("/sesi", status_code=303)


# -- signing in and out -------------------------------------------------------------------------


async def current_account(console: Console, request: Request) -> Account | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return await accounts.session_account(console.db, token_digest(token), datetime.now(UTC))


def page(
    console: Console,
    templates: Jinja2Templates,
    render: Callable[[Console, Jinja2Templates, Request, Account], Awaitable[Response]],
    admin: bool = False,
) -> Handler:
    """A page for those signed in (an admin, when ``admin``); others go to the sign-in page,
    or are told the page is for admins."""

    async def handler(request: Request) -> Response:
        account = await current_account(console, request)
        if account is None:
            return RedirectResponse(f"/masuk?next={request.url.path}", status_code=303)
        if admin and not account.is_admin:
            return _render(
                templates, request, "message.html", 403, account=account, key="admin_only"
            )
        return await render(console, templates, request, account)

    return handler


async def sign_in_page(templates: Jinja2Templates, request: Request) -> Response:
    return _render(templates, request, "signin.html", error=None, name="")


async def sign_in(console: Console, templates: Jinja2Templates, request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    address = request.client.host if request.client else "-"
    w = words(_lang(request))
    wait = console.guard.wait_minutes(name, address)
    if wait:
        error = w["too_many"].format(minutes=wait)
        return _render(templates, request, "signin.html", 429, error=error, name=name)
    found = await accounts.with_password(console.db, name) if name else None
    if not password_matches(found[1] if found else _DUMMY_HASH, password) or found is None:
        console.guard.failed(name, address)
        log.info("event=console_sign_in_failed")  # no name: it may be a password typed there
        return _render(templates, request, "signin.html", 401, error=w["wrong"], name=name)
    account, stored = found
    console.guard.succeeded(name)
    if needs_rehash(stored):
        await accounts.set_password(console.db, account.name, hash_password(password))
    return await _signed_in(console, request, account)


async def _signed_in(console: Console, request: Request, account: Account) -> Response:
    """A fresh token at every sign-in (a cookie planted before is worth nothing)."""
    token = new_token()
    expires = datetime.now(UTC) + timedelta(hours=console.session_hours)
    await accounts.start_session(console.db, account.id, token_digest(token), expires)
    await audit.record(console.db, f"console:{account.name}", "console_sign_in")
    target = request.query_params.get("next", "/sesi")
    if not target.startswith("/") or target.startswith("//"):
        target = "/sesi"  # only a page of this console
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=console.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )
    return response


async def sign_out(console: Console, request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        account = await current_account(console, request)
        await accounts.end_session(console.db, token_digest(token))
        if account is not None:
            await audit.record(console.db, f"console:{account.name}", "console_sign_out")
    response = RedirectResponse("/masuk", status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def choose_language(request: Request) -> Response:
    form = await request.form()
    lang = str(form.get("lang", "id"))
    back = str(form.get("back", "/sesi"))
    if not back.startswith("/") or back.startswith("//"):
        back = "/sesi"
    response = RedirectResponse(back, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


# -- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """A session as the list shows it: its words, and its seats as a bar (percentages)."""

    session: Session
    title: str
    when: str
    taken_percent: int
    attended_percent: int


def _row(session: Session, lang: str, timezone: tzinfo) -> SessionRow:
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
    lang, now = _lang(request), datetime.now(UTC)
    every = await sessions.all_sessions(console.db)
    upcoming = [_row(s, lang, console.timezone) for s in every if s.ends_at > now]
    past = [_row(s, lang, console.timezone) for s in reversed(every) if s.ends_at <= now]
    return _render(
        templates, request, "sessions.html", account=account, upcoming=upcoming, past=past
    )


async def accounts_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    listing = await accounts.accounts(console.db)
    return _render(templates, request, "accounts.html", account=account, accounts=listing)


# -- attendance at the door ---------------------------------------------------------------------


def _matches(attendee: Attendee, query: str) -> bool:
    query = query.strip().lower()
    return not query or query in attendee.name.lower() or query in attendee.booking_code.lower()


def _checked_in_at(attendee: Attendee, timezone: tzinfo) -> str:
    if not attendee.checked_in_at:
        return ""
    moment = datetime.fromisoformat(attendee.checked_in_at).astimezone(timezone)
    return moment.strftime("%H.%M")


async def attendance_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """A session's list at the door: search by name or booking code, one tap to check in."""
    code = request.path_params["code"]
    session = await sessions.get_session(console.db, code)
    if session is None:
        return _render(templates, request, "message.html", 404, account=account, key="not_found")
    lang, query = _lang(request), request.query_params.get("q", "")
    everyone = await registrations.attendees(console.db, session.code)
    rows = [
        (a, _checked_in_at(a, console.timezone))
        for a in everyone
        if a.status != "cancelled" and _matches(a, query)
    ]
    return _render(
        templates,
        request,
        "attendance.html",
        account=account,
        row=_row(session, lang, console.timezone),
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
            at = _checked_in_at(found, timezone) if found else ""
            return kind, words(_lang(request))[f"checkin_{kind}"].format(name=name, at=at)
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


async def _people(console: Console, code: str) -> tuple[Session, list[Attendee]] | None:
    session = await sessions.get_session(console.db, code)
    if session is None:
        return None
    everyone = await registrations.attendees(console.db, session.code)
    return session, [a for a in everyone if a.status != "cancelled"]


def _file(content: bytes, media_type: str, name: str) -> Response:
    disposition = f'attachment; filename="{name}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


async def download(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    kind = request.path_params["kind"]
    found = await _people(console, request.path_params["code"])
    if found is None or kind not in KINDS:
        return _render(templates, request, "message.html", 404, account=account, key="not_found")
    session, people = found
    make, media_type = KINDS[kind]
    content = make(session, people, _lang(request), console.timezone)
    await audit.record(
        console.db, f"console:{account.name}", f"console_export_{kind}", session.code
    )
    return _file(content, media_type, files.file_name(session, "peserta", kind))


async def download_sheet(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    found = await _people(console, request.path_params["code"])
    if found is None:
        return _render(templates, request, "message.html", 404, account=account, key="not_found")
    session, people = found
    content = files.daftar_hadir(session, people, console.office, console.timezone)
    await audit.record(console.db, f"console:{account.name}", "console_export_pdf", session.code)
    return _file(content, "application/pdf", files.file_name(session, "daftar-hadir", "pdf"))
