"""The FAQ in the browser: every topic with its answer in both languages, its sources and its
review date; an editor that checks a change as `desabot check` does, beside each field while
it is typed (htmx) and again when it is saved; saving rewrites the topic in its file
atomically (bot/content/faq_edit.py), keeps what it said before (one click restores it),
writes the audit log, and the running bot answers with the new text at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.config import LANGUAGES
from bot.console.base import Console, lang_of, not_found, render
from bot.console.words import words
from bot.content.faq_edit import Draft, EditRefused, changed_text, file_of, write_atomically
from bot.domain import audit, faq_changes, teaching
from bot.domain.accounts import Account
from bot.support.dates import moment_of
from bot.support.yamlfile import Problem

SOURCES_LIMIT = 20
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shown:
    """A problem as the editor shows it: beside which field, in the reader's words."""

    field: str
    text: str


def in_words(problem: Problem, lang: str, known: set[str]) -> Shown:
    w = words(lang)
    details = dict(problem.details)
    if "lang" in details:
        details["language"] = w.get(f"lang_{details['lang']}", details["lang"])
    if "name" in details:
        details["name"] = "{" + details["name"] + "}"
    details["known"] = ", ".join("{" + k + "}" for k in sorted(known))
    template = w.get(f"faq_problem_{problem.code}")
    text = template.format(**details) if template else problem.message
    return Shown(problem.field or "answer", text)


def _draft(form: FormData) -> Draft:
    sources = [line.strip() for line in str(form.get("sources", "")).splitlines()]
    return Draft(
        {lang: str(form.get(f"title_{lang}", ""))[:200] for lang in LANGUAGES},
        {lang: str(form.get(f"answer_{lang}", ""))[:8000] for lang in LANGUAGES},
        tuple(s for s in sources if s)[:SOURCES_LIMIT],
    )


def digest(draft: Draft) -> str:
    """What the editor was opened on: a save on top of someone else's newer save is refused."""
    text = json.dumps(draft.as_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _today(console: Console) -> dt.date:
    return dt.datetime.now(console.timezone).date()


async def faq_list(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    if console.content is None:
        return not_found(templates, request, account)
    await console.content.current()  # the files as saved, by anyone
    lang, faq = lang_of(request), console.content.faq
    changes = await faq_changes.last_changes(console.db)
    topics = sorted(faq.topics.values(), key=lambda t: (t.group, t.title.get(lang, t.id)))
    return render(templates, request, "faq_list.html", account=account, topics=topics,
                  changes=changes, when=lambda s: moment_of(s, console.timezone, lang))  # fmt: skip


async def topic_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    if console.content is None:
        return not_found(templates, request, account)
    await console.content.current()
    topic = console.content.faq.topics.get(request.path_params["id"])
    if topic is None:
        return not_found(templates, request, account)
    note = words(lang_of(request))["faq_saved"] if request.query_params.get("disimpan") else ""
    return await _editor(console, templates, request, account, topic.id, Draft.of(topic), note=note)


async def _editor(
    console: Console,
    templates: Jinja2Templates,
    request: Request,
    account: Account,
    topic_id: str,
    draft: Draft,
    problems: list[Shown] = (),  # type: ignore[assignment]
    note: str = "",
    status: int = 200,
) -> Response:
    assert console.content is not None
    lang = lang_of(request)
    topic = console.content.faq.topics[topic_id]
    taught = [t for t in await teaching.everything(console.db) if t.topic_id == topic_id]
    return render(
        templates, request, "faq_topic.html", status, account=account, topic=topic,
        draft=draft, problems=problems, note=note, languages=LANGUAGES, taught=taught,
        base=digest(Draft.of(topic)),
        changes=await faq_changes.of_topic(console.db, topic_id),
        placeholders=sorted(console.content.placeholders),
        when=lambda s: moment_of(s, console.timezone, lang),
    )  # fmt: skip


async def _problems(console: Console, topic_id: str, draft: Draft, lang: str) -> list[Shown]:
    assert console.content is not None
    content = console.content
    path = file_of(content.directory, content.faq, topic_id)
    try:  # parsing the file takes tens of milliseconds: not in the bot's event loop
        await asyncio.to_thread(
            changed_text, path, topic_id, draft, _today(console), content.placeholders
        )
    except EditRefused as refused:
        return [in_words(p, lang, content.placeholders) for p in refused.problems]
    return []


async def check(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """While typing (htmx): the problems beside each field, nothing written."""
    topic_id = request.path_params["id"]
    if console.content is None or topic_id not in console.content.faq.topics:
        return Response(status_code=404)
    draft = _draft(await request.form())
    problems = await _problems(console, topic_id, draft, lang_of(request))
    return render(templates, request, "faq_problems.html", account=account, problems=problems,
                  languages=LANGUAGES)  # fmt: skip


async def save(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    topic_id = request.path_params["id"]
    if console.content is None or topic_id not in console.content.faq.topics:
        return not_found(templates, request, account)
    form = await request.form()
    draft, current = _draft(form), Draft.of(console.content.faq.topics[topic_id])
    if form.get("base") and form.get("base") != digest(current):
        # someone saved this topic since the editor was opened: show it, do not overwrite
        note = words(lang_of(request))["faq_changed_meanwhile"]
        return await _editor(console, templates, request, account, topic_id, draft,
                             [Shown("other", note)], status=409)  # fmt: skip
    return await _save(console, templates, request, account, topic_id, draft,
                       "console_faq_edit")  # fmt: skip


async def restore(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """One click: the topic as it was before its last change (itself a change, undoable)."""
    topic_id = request.path_params["id"]
    changes = await faq_changes.of_topic(console.db, topic_id, 1)
    if console.content is None or topic_id not in console.content.faq.topics or not changes:
        return RedirectResponse(f"/faq/{topic_id}", status_code=303)
    previous = Draft.from_dict(changes[0].before)
    return await _save(console, templates, request, account, topic_id, previous,
                       "console_faq_restore")  # fmt: skip


async def _save(console, templates, request, account, topic_id: str, draft: Draft, action: str):
    content, lang = console.content, lang_of(request)
    path = file_of(content.directory, content.faq, topic_id)
    before = Draft.of(content.faq.topics[topic_id])
    try:
        text = await asyncio.to_thread(
            changed_text, path, topic_id, draft, _today(console), content.placeholders
        )
    except EditRefused as refused:
        shown = [in_words(p, lang, content.placeholders) for p in refused.problems]
        return await _editor(console, templates, request, account, topic_id, draft, shown,
                             status=400)  # fmt: skip
    try:
        await asyncio.to_thread(write_atomically, path, text)
    except OSError as exc:  # a folder the bot may not write (see README, Deployment)
        log.error("event=faq_write_failed path=%s error=%r", path, str(exc))
        shown = [Shown("other", words(lang)["faq_cannot_write"].format(folder=path.parent))]
        return await _editor(console, templates, request, account, topic_id, draft, shown,
                             status=503)  # fmt: skip
    after = Draft.of((await _reloaded(console)).topics[topic_id])
    await faq_changes.record(console.db, topic_id, before.as_dict(), after.as_dict(),
                             f"{account.name} (konsol)")  # fmt: skip
    await audit.record(console.db, f"console:{account.name}", action, topic_id)
    return RedirectResponse(f"/faq/{topic_id}?disimpan=1", status_code=303)


async def _reloaded(console: Console):
    """The FAQ as just written: the bot in this process answers with it from now on."""
    assert console.content is not None
    await console.content.current()
    return console.content.faq
