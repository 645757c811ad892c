"""Teaching the bot: the questions the FAQ could not answer, most frequent first and grouped
when they say nearly the same (the same words once normalised), each with the topics the
matcher found closest; an officer marks "this means topic X" (one more example of X for the
matcher, in use within seconds: bot/app.py's LiveFaq) or "needs a new topic" (a list
for the admin). The answers villagers disliked (👎) beside them, and every mark, removable."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, not_found, render
from bot.console.words import words
from bot.content.matcher import OUT_OF_SCOPE, Matcher
from bot.domain import audit, feedback, teaching
from bot.domain.accounts import Account
from bot.support.dates import moment_of

ASKED = 300  # distinct declined wordings read; grouped, the page shows the first GROUPS
GROUPS = 40
SUGGESTIONS = 3
WORDINGS = 5  # taught together when a group is marked


@dataclass
class Group:
    """Declined wordings that say the same, with how often and the closest topics."""

    wordings: list[str]
    times: int
    last: str
    closest: list[tuple[str, str, int]]  # (topic id, title, score in percent)


def _closest(matcher: Matcher, question: str, titles: dict[str, str]) -> list:
    ranked = [(t, s) for t, s in matcher.scores(question) if t != OUT_OF_SCOPE and t in titles]
    return [(t, titles[t], round(100 * s)) for t, s in ranked[:SUGGESTIONS]]


async def _groups(console: Console, matcher: Matcher, lang: str) -> list[Group]:
    marked = {t.question for t in await teaching.everything(console.db)}
    groups: dict[str, Group] = {}
    for asked in await feedback.unanswered_questions(console.db, ASKED):
        if teaching.key(asked.text) in marked:
            continue
        same = " ".join(sorted(set(matcher.normaliser.tokens(asked.text)))) or asked.text
        group = groups.get(same)
        if group is None:
            closest = _closest(matcher, asked.text, console.titles())
            last = moment_of(asked.last_asked, console.timezone, lang)
            groups[same] = Group([asked.text], asked.times, last, closest)
        else:
            group.wordings.append(asked.text)
            group.times += asked.times
    return sorted(groups.values(), key=lambda g: -g.times)[:GROUPS]


async def teach_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    if console.content is None:
        return not_found(templates, request, account)
    lang, matcher = lang_of(request), await console.content.current()
    marks = await teaching.everything(console.db)
    disliked = [
        (d, console.titles().get(d.faq_id or "", d.faq_id or "–"),
         _closest(matcher, d.text, console.titles()))
        for d in await feedback.disliked_answers(console.db, GROUPS)
    ]  # fmt: skip
    return render(
        templates, request, "teach.html", account=account,
        groups=await _groups(console, matcher, lang), disliked=disliked,
        taught=[m for m in marks if m.topic_id], new_topics=[m for m in marks if not m.topic_id],
        topics=sorted(console.titles().items(), key=lambda item: item[1]),
        note=_note(request, matcher, console, lang),
        when=lambda stamp: moment_of(stamp, console.timezone, lang),
    )  # fmt: skip


def _note(request: Request, matcher: Matcher, console: Console, lang: str) -> str:
    """After a mark: what the bot now does with that question, said plainly."""
    question = request.query_params.get("diajarkan", "")
    if not question:
        return ""
    w, decided = words(lang), matcher.match(question)
    if decided.topic_id is None:
        return w["teach_new_topic_noted"].format(question=question)
    title = console.titles().get(decided.topic_id, decided.topic_id)
    return w["teach_done"].format(question=question, title=title, score=round(100 * decided.score))


async def teach(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """Mark a group of wordings: as meaning a topic, or as needing a new one ("")."""
    form = await request.form()
    wordings = [str(q) for q in form.getlist("question") if str(q).strip()][:WORDINGS]
    # a suggestion's button (or "needs a new topic": "") names the topic; "Simpan" the list's
    topic = str(form["topic"]) if "topic" in form else str(form.get("other", ""))
    if (
        not wordings
        or (topic and topic not in console.titles())
        or ("topic" not in form and not topic)
    ):
        return RedirectResponse("/ajari", status_code=303)
    for question in wordings:
        await teaching.teach(console.db, question, topic or None, f"{account.name} (konsol)")
    action = "console_teach" if topic else "console_teach_new_topic"
    await audit.record(console.db, f"console:{account.name}", action, f"{topic} {wordings[0]}")
    if console.content is not None:
        await console.content.current()  # rebuilt now: the note below shows the new decision
    query = urlencode({"diajarkan": wordings[0]})
    return RedirectResponse(f"/ajari?{query}", status_code=303)


async def forget(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    gone = await teaching.forget(console.db, request.path_params["id"])
    if gone is not None:
        detail = f"{gone.topic_id or '-'} {gone.question}"
        await audit.record(console.db, f"console:{account.name}", "console_teach_remove", detail)
    return RedirectResponse("/ajari", status_code=303)
