"""What every console page shares: the console's state, the language of the request, how a
page is rendered, and who may see it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.security import COOKIE, SignInGuard, token_digest
from bot.console.words import LANGUAGES, words
from bot.content.faq import Faq
from bot.content.matcher import Matcher
from bot.domain import accounts, inbox
from bot.domain.accounts import Account
from bot.domain.store import Database

HERE = Path(__file__).parent
LANG_COOKIE = "desabot_lang"
STOP_POLLING = 286  # htmx stops polling on this status (a signed-out page stays as it is)


class Content(Protocol):
    """The FAQ as the bot uses it now, with what officers taught (bot/app.py's LiveFaq)."""

    faq: Faq

    @property
    def directory(self) -> Path: ...

    @property
    def placeholders(self) -> set[str]: ...

    async def current(self) -> Matcher: ...


@dataclass(frozen=True)
class Shown:
    """An announcement as a villager will see it: its text and its buttons' labels."""

    text: str
    buttons: tuple[str, ...] = ()
    captioned: tuple[str, ...] = ()  # the platforms it fits a picture's caption on


@dataclass(frozen=True)
class TemplateShown:
    """The WhatsApp template an announcement goes as outside the 24-hour window."""

    name: str
    language: str
    image_header: bool  # the picture goes as its header
    parameters: tuple[tuple[str, str], ...]  # (which value, as filled in) for {{1}}, {{2}}...
    text: str = ""  # the approved text with the values in it, when config gives it


Preview = Callable[[str, str, str], Shown]  # (text, office key, language)
# (text, office key, language, with a picture) → the template, None when there is none
TemplatePreview = Callable[[str, str, str, bool], TemplateShown | None]


@dataclass(frozen=True)
class Programme:
    """What the console is handed besides the database: who runs the programme (on the
    attendance sheet), the FAQ's titles by topic id, the channels villagers can be reached on,
    the FAQ and its matcher as the bot uses them now (to edit the FAQ and teach the matcher),
    and what composing announcements needs (villages, offices, previews, quiet hours)."""

    office: str = ""
    topics: dict[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ("telegram", "whatsapp")
    content: Content | None = None
    villages: tuple[str, ...] = ()
    offices: dict[str, str] = field(default_factory=dict)
    preview: Preview | None = None
    template: TemplatePreview | None = None
    quiet: str = ""
    tier: int | None = None  # WhatsApp's daily new conversations (None: no limit, no WhatsApp)


@dataclass
class Console:
    db: Database
    timezone: tzinfo
    session_hours: int
    office: str = ""  # who runs the programme, on top of the attendance sheet
    topics: dict[str, str] = field(default_factory=dict)  # FAQ titles by topic id
    channels: tuple[str, ...] = ("telegram", "whatsapp")  # where villagers can be reached
    content: Content | None = None  # the FAQ and matcher, for editing and teaching
    villages: tuple[str, ...] = ()  # config.yaml's, shown first when choosing an audience
    offices: dict[str, str] = field(default_factory=dict)  # who an announcement is from
    preview: Preview | None = None  # an announcement as villagers will get it
    template: TemplatePreview | None = None  # ...and as a WhatsApp template
    quiet: str = ""  # announcements' quiet hours, "21.00–07.00"
    tier: int | None = None  # WhatsApp's daily limit of new conversations
    guard: SignInGuard = field(default_factory=SignInGuard)

    def titles(self) -> dict[str, str]:
        """FAQ titles by topic id, as edited (``topics`` is what they were at start)."""
        if self.content is None:
            return self.topics
        return {tid: t.title["id"] for tid, t in self.content.faq.topics.items()}


Handler = Callable[[Request], Awaitable[Response]]
Page = Callable[[Console, Jinja2Templates, Request, Account], Awaitable[Response]]


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "id")
    return lang if lang in LANGUAGES else "id"


def render(
    templates: Jinja2Templates, request: Request, template: str, status: int = 200, **values
) -> Response:
    lang = lang_of(request)
    waiting = getattr(request.state, "waiting", 0)  # open questions, for the menu and title
    teaches = getattr(request.state, "teaches", False)  # the teaching page is there
    context = {"w": words(lang), "lang": lang, "account": None, "waiting": waiting,
               "console_teaches": teaches, **values}  # fmt: skip
    return templates.TemplateResponse(request, template, context, status_code=status)


def not_found(templates: Jinja2Templates, request: Request, account: Account) -> Response:
    """The page (a session, a question, a topic, an announcement) is not there."""
    return render(templates, request, "message.html", 404, account=account, key="not_found")


async def current_account(console: Console, request: Request) -> Account | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return await accounts.session_account(console.db, token_digest(token), datetime.now(UTC))


KEEP = "keep."  # the sign-in form carries what was being sent, its names so prefixed
KEEP_ACTION = "keep_action"


async def keep_for_sign_in(templates: Jinja2Templates, request: Request) -> Response:
    """A form sent after the sign-in ran out: the sign-in page, carrying what was written
    (not a chosen file), to be sent again once signed in (web.py's sign_in)."""
    form = await request.form(max_files=1, max_fields=200, max_part_size=64 * 1024)
    items = form.multi_items()
    lost_file = any(not isinstance(value, str) and value.filename for _, value in items)
    kept = [(KEEP + name, value) for name, value in items if isinstance(value, str)]
    if lost_file:  # the file must be chosen again: back to the form, never sent without it
        kept = [(n, "preview" if n == f"{KEEP}step" else v) for n, v in kept]
    kept.append((KEEP_ACTION, request.url.path))
    return render(templates, request, "signin.html", 401, error=words(lang_of(request))[
        "expired_kept"], name="", kept=kept, lost_file=lost_file)  # fmt: skip


def page(
    console: Console,
    templates: Jinja2Templates,
    shown: Page,
    admin: bool = False,
) -> Handler:
    """A page for those signed in (an admin, when ``admin``); others go to the sign-in page,
    or are told the page is for admins."""

    async def handler(request: Request) -> Response:
        account = await current_account(console, request)
        if account is None:
            if request.headers.get("HX-Request"):
                # htmx stops polling and swaps nothing: the page stays as it was
                return Response(status_code=STOP_POLLING, headers={"HX-Reswap": "none"})
            if request.method == "POST":  # the sign-in ran out while a form was filled in
                return await keep_for_sign_in(templates, request)
            return RedirectResponse(f"/masuk?next={request.url.path}", status_code=303)
        request.state.waiting = await inbox.open_questions(console.db)
        request.state.teaches = console.content is not None
        if admin and not account.is_admin:
            return render(
                templates, request, "message.html", 403, account=account, key="admin_only"
            )
        return await shown(console, templates, request, account)

    return handler
