"""The console as an app: its routes, the guard every request passes (security headers;
state-changing requests from another site refused), signing in and out, the language, and the
accounts page (admins only)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta, tzinfo

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.console import announce, audit_log, faq_pages, glance, inbox, schedule, teach
from bot.console.base import (
    HERE,
    KEEP,
    KEEP_ACTION,
    LANG_COOKIE,
    Console,
    Programme,
    current_account,
    lang_of,
    page,
    render,
)
from bot.console.door import (
    attendance_page,
    check_in,
    download,
    download_by_village,
    download_sheet,
    walk_in,
)
from bot.console.schedule import sessions_page
from bot.console.security import (
    COOKIE,
    cross_site,
    new_token,
    over_https,
    token_digest,
    too_large,
)
from bot.console.words import LANGUAGES, words
from bot.domain import accounts, audit
from bot.domain.accounts import Account
from bot.domain.store import Database
from bot.support.passwords import hash_password, needs_rehash, password_matches

log = logging.getLogger(__name__)

# a page of its own: no other site may frame it, scripts and styles only from here
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@functools.cache
def _dummy_hash() -> str:
    """Checked against an unknown name too, so a wrong name takes as long as a wrong
    password (made at the first sign-in: a tenth of a second no command should wait for)."""
    return hash_password("not a password anybody has")


Handler = Callable[[Request], Awaitable[Response]]


def build(
    db: Database, timezone: tzinfo, session_hours: int, programme: Programme | None = None
) -> Starlette:
    """The console as an ASGI app, on the bot's database; ``programme``: what it needs
    besides (bot/console/base.py)."""
    given = programme or Programme()
    console = Console(db, timezone, session_hours,
                      **{f.name: getattr(given, f.name) for f in fields(given)})  # fmt: skip
    templates = Jinja2Templates(directory=HERE / "templates")
    routes = [
        Route("/", _home),
        Route("/masuk", functools.partial(sign_in_page, templates), methods=["GET"]),
        Route("/masuk", functools.partial(sign_in, console, templates), methods=["POST"]),
        Route("/keluar", functools.partial(sign_out, console), methods=["POST"]),
        Route("/bahasa", choose_language, methods=["POST"]),
        Route("/sesi", page(console, templates, sessions_page)),
        Route("/sesi/baru", page(console, templates, schedule.new_session_page)),
        Route("/sesi/baru", page(console, templates, schedule.create), methods=["POST"]),
        Route("/sesi/{code}/ubah", page(console, templates, schedule.edit_page)),
        Route("/sesi/{code}/ubah", page(console, templates, schedule.edit), methods=["POST"]),
        Route("/sesi/{code}/batal", page(console, templates, schedule.cancel_page)),
        Route("/sesi/{code}/batal", page(console, templates, schedule.cancel), methods=["POST"]),
        Route("/sesi/{code}", page(console, templates, attendance_page)),
        Route("/sesi/{code}/hadir", page(console, templates, check_in), methods=["POST"]),
        Route("/sesi/{code}/tamu", page(console, templates, walk_in), methods=["POST"]),
        Route("/sesi/{code}/peserta.{kind:str}", page(console, templates, download)),
        Route("/sesi/{code}/daftar-hadir.pdf", page(console, templates, download_sheet)),
        Route("/tanya", page(console, templates, inbox.inbox_page)),
        Route("/tanya/jumlah", page(console, templates, inbox.open_count)),
        Route("/tanya/{id:int}", page(console, templates, inbox.question_page)),
        Route("/tanya/{id:int}/ambil", page(console, templates, inbox.take), methods=["POST"]),
        Route("/tanya/{id:int}/lepas", page(console, templates, inbox.release), methods=["POST"]),
        Route("/tanya/{id:int}/jawab", page(console, templates, inbox.answer), methods=["POST"]),
        Route("/pengumuman", page(console, templates, announce.list_page)),
        Route("/pengumuman/baru", page(console, templates, announce.compose_page)),
        Route("/pengumuman/baru", page(console, templates, announce.compose), methods=["POST"]),
        Route("/pengumuman/{id:int}", page(console, templates, announce.report_page)),
        Route("/pengumuman/gambar/{id:int}", page(console, templates, announce.picture_file)),
        Route("/pengumuman/{id:int}/penerima.csv", page(console, templates, announce.report_csv)),
        Route(
            "/pengumuman/{id:int}/batal",
            page(console, templates, announce.cancel),
            methods=["POST"],
        ),
        Route("/faq", page(console, templates, faq_pages.faq_list)),
        Route("/faq/{id:str}", page(console, templates, faq_pages.topic_page)),
        Route("/faq/{id:str}", page(console, templates, faq_pages.save), methods=["POST"]),
        Route("/faq/{id:str}/periksa", page(console, templates, faq_pages.check), methods=["POST"]),
        Route(
            "/faq/{id:str}/pulihkan", page(console, templates, faq_pages.restore), methods=["POST"]
        ),
        Route("/ajari", page(console, templates, teach.teach_page)),
        Route("/ajari", page(console, templates, teach.teach), methods=["POST"]),
        Route("/ajari/{id:int}/hapus", page(console, templates, teach.forget), methods=["POST"]),
        Route("/ringkasan", page(console, templates, glance.glance_page)),
        Route(
            "/ringkasan/peserta-per-desa.{kind:str}",
            page(console, templates, download_by_village),
        ),
        Route("/akun", page(console, templates, accounts_page, admin=True)),
        Route("/audit", page(console, templates, audit_log.audit_page, admin=True)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(BaseHTTPMiddleware, dispatch=_guard),
        Middleware(GZipMiddleware, minimum_size=1000),  # slow, metered connections
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console, app.state.templates = console, templates
    return app


async def _guard(request: Request, call_next) -> Response:
    """Every response: the security headers. Every state-changing request from another
    site's page, or larger than any form of the console: refused before any handler runs."""
    if cross_site(request):
        log.warning("event=console_refused reason=cross_site path=%s", request.url.path)
        response: Response = Response(words(lang_of(request))["refused"], status_code=403)
    elif too_large(request):
        log.warning("event=console_refused reason=too_large path=%s", request.url.path)
        response = Response(words(lang_of(request))["too_large"], status_code=413)
    else:
        response = await call_next(request)
    response.headers.update(HEADERS)
    return response


async def _home(request: Request) -> Response:
    return RedirectResponse("/sesi", status_code=303)


# -- signing in and out -------------------------------------------------------------------------


async def sign_in_page(templates: Jinja2Templates, request: Request) -> Response:
    return render(templates, request, "signin.html", error=None, name="")


async def sign_in(console: Console, templates: Jinja2Templates, request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    address = request.client.host if request.client else "-"
    w = words(lang_of(request))
    # a form kept through the sign-in (base.keep_for_sign_in) is kept through a typo too
    carried = [(key, value) for key, value in form.multi_items() if isinstance(value, str)
               and (key.startswith(KEEP) or key == KEEP_ACTION)]  # fmt: skip
    wait = console.guard.wait_minutes(name, address)
    if wait:
        error = w["too_many"].format(minutes=wait)
        return render(templates, request, "signin.html", 429, error=error, name=name,
                      kept=carried)  # fmt: skip
    found = await accounts.with_password(console.db, name) if name else None
    if not password_matches(found[1] if found else _dummy_hash(), password) or found is None:
        console.guard.failed(name, address)
        log.info("event=console_sign_in_failed")  # no name: it may be a password typed there
        return render(templates, request, "signin.html", 401, error=w["wrong"], name=name,
                      kept=carried)  # fmt: skip
    account, stored = found
    console.guard.succeeded(name)
    if needs_rehash(stored):
        await accounts.set_password(console.db, account.name, hash_password(password))
    action = str(form.get(KEEP_ACTION, ""))
    if action and _own_page(action):  # what was being sent when the sign-in ran out
        kept = [(key.removeprefix(KEEP), value) for key, value in carried
                if key.startswith(KEEP)]  # fmt: skip
        shown = render(templates, request, "resend.html", account=account, action=action,
                       fields=_resent_fields(kept, w))  # fmt: skip
        return await _signed_in(console, request, account, shown)
    return await _signed_in(console, request, account)


OWN_PATH = re.compile(r"/(?!/)[A-Za-z0-9/_.\-]*")  # what this console's paths are made of


def _own_page(target: str) -> bool:
    """A path of this console, never another site: not "//host", nor "/\\host" or "/\thost",
    which browsers read as "//host"."""
    return OWN_PATH.fullmatch(target) is not None


# form fields staff need not see again when sending a kept form: how it was sent, not what
TECHNICAL = {"base", "step", "kind", "when", "picture_id", "no_picture", "topic"}


def _resent_fields(kept: list[tuple[str, str]], w: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, value, label) of a kept form; a label for what staff wrote, "" to keep hidden."""
    fields_shown = []
    for name, value in kept:
        label = ""
        if value.strip() and name not in TECHNICAL:
            base, _, lang = name.rpartition("_")
            label = w.get(name) or w.get(f"bc_{name}") or (
                f"{w.get('faq_' + base, base)} ({w[f'lang_{lang}']})"
                if lang in LANGUAGES and base else w.get(f"inbox_your_{name}", name)
            )  # fmt: skip
        fields_shown.append((name, value, label))
    return fields_shown


async def _signed_in(
    console: Console, request: Request, account: Account, response: Response | None = None
) -> Response:
    """A fresh token at every sign-in (a cookie planted before is worth nothing); then the
    page asked for, or ``response``."""
    token = new_token()
    expires = datetime.now(UTC) + timedelta(hours=console.session_hours)
    await accounts.start_session(console.db, account.id, token_digest(token), expires)
    await audit.record(console.db, f"console:{account.name}", "console_sign_in")
    target = request.query_params.get("next", "/sesi")
    if not _own_page(target):
        target = "/sesi"  # only a page of this console
    response = response or RedirectResponse(target, status_code=303)
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


async def accounts_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    listing = await accounts.accounts(console.db)
    return render(templates, request, "accounts.html", account=account, accounts=listing)
