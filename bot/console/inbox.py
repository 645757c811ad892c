"""The officer inbox: villagers' questions to officers from every channel, open or answered,
oldest or newest first, updating itself; one question with who asked it (their earlier
questions and bookings beside it); taking it ("saya jawab") so that two officers do not
answer it; and the answer, which reaches the villager's own chat through the outbox
(bot/domain/inbox.py, as a reply in the Telegram staff group does)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, not_found, render
from bot.console.words import words
from bot.domain import audit, inbox, registrations
from bot.domain.accounts import Account
from bot.domain.inbox import Question
from bot.support.dates import moment_of, when

PAGE_SIZE = 50
ANSWER_LIMIT = 3000  # characters: a Telegram message holds 4096 with the question around it
CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "console": "terminal"}


def officer(account: Account) -> str:
    """How an officer of the console is named as a question's holder and its answerer."""
    return f"{account.name} (konsol)"


@dataclass(frozen=True)
class Listed:
    question: Question
    asked: str  # "Sabtu, 5 Desember 2026, 09.12 WITA"


def _asked(question: Question, console: Console, lang: str) -> str:
    return moment_of(question.asked_at, console.timezone, lang)


async def inbox_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """The list; asked by htmx every few seconds (HX-Request), only the list itself."""
    answered = request.query_params.get("tampil") == "terjawab"
    newest = request.query_params.get("urut") == "baru"
    found = await inbox.questions(
        console.db, answered=answered, newest_first=newest, limit=PAGE_SIZE
    )
    lang = lang_of(request)
    listed = [Listed(q, _asked(q, console, lang)) for q in found]
    values = dict(account=account, listed=listed, answered=answered, newest=newest,
                  channels=CHANNELS, query=urlencode(request.query_params))  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(templates, request, "inbox_list.html", **values)
    return render(templates, request, "inbox.html", **values)


async def open_count(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """The menu's link with the number of open questions (and the tab's title), for htmx."""
    return render(templates, request, "inbox_link.html", account=account)


async def question_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    found = await inbox.question(console.db, request.path_params["id"])
    if found is None:
        return not_found(templates, request, account)
    return await _shown(console, templates, request, account, found)


async def _shown(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    question: Question,
    note: str = "",
    draft: str = "",
    status: int = 200,
) -> Response:
    lang = lang_of(request)
    earlier = await inbox.earlier_questions(console.db, question.person_id, question.id)
    bookings = [
        (session.title.get(lang) or session.title["id"],
         when(session.starts_at, session.ends_at, console.timezone, lang), booking)
        for session, booking in await registrations.bookings_of(console.db, question.person_id)
    ]  # fmt: skip
    if not note and request.query_params.get("terkirim"):
        note = words(lang)["inbox_sent"].format(name=question.name)
    mine = question.taken_by in (None, officer(account))
    return render(
        templates, request, "question.html", status, account=account, q=question,
        asked=_asked(question, console, lang),
        earlier=[(q, _asked(q, console, lang)) for q in earlier],
        bookings=bookings, channels=CHANNELS, mine=mine, note=note, draft=draft,
        me=officer(account), clock=lambda stamp: moment_of(stamp, console.timezone, lang),
    )  # fmt: skip


async def take(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    inbox_id = request.path_params["id"]
    holder = await inbox.take(console.db, inbox_id, officer(account))
    if holder == officer(account):
        await audit.record(
            console.db, f"console:{account.name}", "console_inbox_take", inbox.tag(inbox_id)
        )
    return RedirectResponse(f"/tanya/{inbox_id}", status_code=303)


async def release(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """The holder lets a question go; an admin can free anyone's."""
    inbox_id = request.path_params["id"]
    holder = None if account.is_admin else officer(account)
    if await inbox.release(console.db, inbox_id, holder):
        await audit.record(
            console.db, f"console:{account.name}", "console_inbox_release", inbox.tag(inbox_id)
        )
    return RedirectResponse(f"/tanya/{inbox_id}", status_code=303)


async def answer(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    inbox_id = request.path_params["id"]
    found = await inbox.question(console.db, inbox_id)
    if found is None:
        return not_found(templates, request, account)
    text = str((await request.form()).get("answer", "")).strip()[:ANSWER_LIMIT]
    w = words(lang_of(request))
    if not text:
        return await _shown(console, templates, request, account, found,
                            note=w["inbox_empty_answer"], status=400)  # fmt: skip
    answered = await inbox.answer(console.db, inbox_id, text, officer(account))
    if answered is None or answered.outcome == "erased":
        return render(templates, request, "message.html", 410, account=account, key="inbox_erased")
    if answered.outcome == "taken":
        note = w["inbox_taken_other"].format(name=answered.name)
        found = await inbox.question(console.db, inbox_id) or found
        return await _shown(console, templates, request, account, found, note=note, draft=text,
                            status=409)  # fmt: skip
    await audit.record(
        console.db, f"console:{account.name}", "console_inbox_answer", inbox.tag(inbox_id)
    )
    return RedirectResponse(f"/tanya/{inbox_id}?terkirim=1", status_code=303)
