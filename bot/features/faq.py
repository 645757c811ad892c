"""Questions answered from the FAQ (faq/*.yaml): whatever typed text nothing else took, the
"Tanya pertanyaan" starters, answers with related topics, and 👍/👎 on each answer.

An answer the matcher is unsure of offers the close topics to choose from; a question it
cannot answer gets an honest "I don't know" and, when the officer inbox is on, one tap to
send it to an officer. A first "halo kak" (WhatsApp has no /start) gets the welcome.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Literal

from bot.content.faq import Topic as FaqTopic
from bot.content.normalise import MAX_CHARS as MAX_QUESTION_CHARS
from bot.content.texts import fill
from bot.core.actions import Action
from bot.core.context import Ctx, Handled, Outcome, Stale, outcome
from bot.core.feature import Feature, Priority
from bot.core.messages import Button, Reply
from bot.domain.feedback import record_feedback

feature = Feature(
    "faq",
    texts=(
        "button_ask", "ask_prompt", "faq_answer", "faq_declined", "faq_declined_offer",
        "faq_choose", "text_too_long", "faq_helpful", "button_helpful", "button_not_helpful",
        "feedback_thanks", "feedback_sorry", "empty_text",
    ),
    links=("contact", "fwd", "/start"),
)  # fmt: skip

MAX_RELATED = 3
# words of a greeting ("halo kak", "selamat pagi pak", "assalamualaikum"): a first message of
# only these gets the welcome and menu (WhatsApp has no /start)
GREETINGS = {
    "halo", "hallo", "helo", "hai", "hi", "hello", "hey", "p", "ping", "tes", "test", "permisi",
    "selamat", "pagi", "siang", "sore", "malam", "assalamualaikum", "assalamu'alaikum",
    "salam", "shalom", "om", "swastiastu", "kak", "kakak", "pak", "bapak", "bu", "ibu", "mas",
    "mbak", "bang", "min", "admin", "good", "morning", "afternoon", "evening",
}  # fmt: skip


class Ask(Action, prefix="ask", label="button_ask"):
    pass


class Topic(Action, prefix="faq"):
    topic: str


class Feedback(Action, prefix="fb"):
    verdict: Literal["up", "down"]
    topic: str


feature.menu_entry(Ask, order=10)


def is_greeting(text: str) -> bool:
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return bool(words) and all(word in GREETINGS for word in words)


def clean_text(text: str) -> str:
    """Drop invisible format characters (zero-width, direction marks) and outer whitespace."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


@feature.action(Ask)
async def ask_prompt(ctx: Ctx, action: Ask) -> Outcome:
    starters = [ctx.env.faq.get(topic_id) for topic_id in ctx.settings.menu_topics]
    buttons = tuple(_topic_button(ctx, t) for t in starters if t)
    return outcome("ask_prompt", Reply(ctx.t("ask_prompt"), (*buttons, ctx.back())))


@feature.text(priority=Priority.FALLBACK, what="a question for the FAQ")
async def question(ctx: Ctx) -> Outcome:
    text = clean_text(ctx.message.text)
    if not text:
        return ctx.notice("empty_text")
    match = ctx.env.matcher.match(text)
    if match.topic_id is None and not ctx.person.told and is_greeting(text):
        welcome = await ctx.run_command("start")
        return Outcome(welcome.replies, Handled("welcome", None, match.score))
    if match.topic_id is None:
        return declined(ctx, match.score)
    topic = ctx.env.faq.topics[match.topic_id]
    if match.alternatives:
        choices = [topic] + [ctx.env.faq.topics[t] for t, _ in match.alternatives]
        buttons = tuple(_topic_button(ctx, t) for t in choices)
        reply = Reply(ctx.t("faq_choose"), (*buttons, ctx.back()))
        return Outcome([reply], Handled("faq_choose", topic.id, match.score))
    answer = _answer(ctx, topic)
    if len(text) > MAX_QUESTION_CHARS:
        answer = replace(answer, text=f"{ctx.t('text_too_long')}\n\n{answer.text}")
    return Outcome([answer], Handled("faq_answer", topic.id, match.score))


def declined(ctx: Ctx, score: float) -> Outcome:
    """No answer in the FAQ. An officer only when the villager asks (one tap): greetings
    and thanks the FAQ cannot answer are not questions for the staff group."""
    inbox = ctx.settings.officer_inbox
    buttons = (*((ctx.link("fwd"),) if inbox else ()), ctx.link("contact"), ctx.back())
    reply = Reply(ctx.t("faq_declined_offer" if inbox else "faq_declined"), buttons)
    return Outcome([reply], Handled("faq_declined", None, score))


@feature.action(Topic)
async def topic_button(ctx: Ctx, action: Topic) -> Outcome:
    topic = ctx.env.faq.get(action.topic)
    if topic is None:
        raise Stale
    return Outcome([_answer(ctx, topic)], Handled("faq_button", topic.id))


@feature.action(Feedback)
async def feedback(ctx: Ctx, action: Feedback) -> Outcome:
    if action.topic not in ctx.env.faq.topics:
        raise Stale
    helpful = action.verdict == "up"
    await record_feedback(ctx.db, ctx.person.id, action.topic, helpful)
    if helpful:
        reply = Reply(ctx.t("feedback_thanks"), (ctx.back(),))
    else:
        reply = Reply(ctx.t("feedback_sorry"), (ctx.link("contact"), ctx.back()))
    return Outcome([reply], Handled("feedback_up" if helpful else "feedback_down", action.topic))


def _answer(ctx: Ctx, topic: FaqTopic) -> Reply:
    """An answer, built once per topic and language (until the FAQ is edited: Env.use_faq)."""
    answers = ctx.env.remembered(feature.name)
    key = (topic.id, ctx.lang)
    if key not in answers:
        answers[key] = _answer_reply(ctx, topic)
    return answers[key]


def _answer_reply(ctx: Ctx, topic: FaqTopic) -> Reply:
    answer = fill(topic.answer[ctx.lang], ctx.env.texts.office_values)
    text = ctx.t("faq_answer", title=topic.title[ctx.lang], answer=answer)
    text = f"{text}\n\n{ctx.t('faq_helpful')}"
    verdicts = (
        ctx.button("button_helpful", Feedback("up", topic.id)),
        ctx.button("button_not_helpful", Feedback("down", topic.id)),
    )
    faq = ctx.env.faq
    related = [faq.topics[t] for t in topic.related[:MAX_RELATED] if t in faq.topics]
    return Reply(text, (verdicts, *(_topic_button(ctx, t) for t in related), ctx.back()))


def _topic_button(ctx: Ctx, topic: FaqTopic) -> tuple[Button]:
    return (Button(topic.title[ctx.lang], Topic(topic.id).pack()),)
