"""Handing a villager over to an officer: "Tanya petugas", a declined question forwarded with
one tap, and officers' replies in the staff group coming back to the villager.

Both directions go through the outbox (bot/domain/inbox.py), so a restart or a network
failure loses neither the question nor the answer. Officers answer in the staff group
(config.yaml's telegram.staff_group_id), in the staff console's inbox, or both; with neither
there is no inbox: villagers see the offices' contact details.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from bot.core.actions import Action
from bot.core.context import Ctx, GroupChat, Outcome, Outgoing, outcome
from bot.core.feature import Feature
from bot.core.messages import Kind, Reply
from bot.domain import audit, inbox
from bot.domain.message_log import latest_declined_question

feature = Feature(
    "officer",
    texts=(
        "button_officer", "button_officer_again", "officer_prompt", "inbox_sent",
        "inbox_limited", "button_forward_question", "inbox_forward", "inbox_source_asked",
        "inbox_source_declined", "officer_answer", "officer_reply_sent", "officer_reply_unknown",
        "officer_reply_not_text", "officer_reply_erased", "officer_reply_taken",
    ),
    links=("contact",),
)  # fmt: skip

log = logging.getLogger(__name__)
# "Kirim ke petugas" under a declined question forwards it if it was asked this recently.
DECLINED_FRESH = timedelta(days=1)


class AskOfficer(Action, prefix="officer", label="button_officer"):
    pass


class ForwardDeclined(Action, prefix="fwd", label="button_forward_question"):
    pass


feature.menu_entry(AskOfficer, order=40, visible=lambda settings: settings.officer_inbox)


@feature.action(AskOfficer)
async def prompt(ctx: Ctx, action: AskOfficer | None = None) -> Outcome:
    """The "Tanya petugas" button: the next message goes to an officer."""
    if not ctx.settings.officer_inbox:
        return await ctx.go("contact")
    await ctx.set_flow({"step": "officer"})
    return outcome("officer_prompt", Reply(ctx.t("officer_prompt"), (ctx.back(),)))


@feature.step("officer", find=lambda text: text.strip() or None, what="not blank")
async def question_typed(ctx: Ctx) -> Outcome:
    """The question typed after "Tanya petugas"."""
    await ctx.leave_flow()
    return await _forward(ctx, ctx.message.text.strip(), "asked")


@feature.action(ForwardDeclined)
async def forward_declined(ctx: Ctx, action: ForwardDeclined) -> Outcome:
    """ "Kirim ke petugas" under a declined question: that question goes to an officer."""
    if not ctx.settings.officer_inbox:
        return await ctx.go("contact")
    since = datetime.now(UTC) - DECLINED_FRESH
    question = await latest_declined_question(ctx.db, ctx.person.id, since)
    if not question:
        return await prompt(ctx)  # too old, or erased: ask them to type it
    return await _forward(ctx, question, "declined")


async def _forward(ctx: Ctx, question: str, source: str) -> Outcome:
    person = ctx.person
    values = {
        "name": person.full_name or person.display_name,
        "village": person.village or "",
        "channel": person.channel,
        "language": person.lang,
        "source": ctx.env.texts.get(ctx.settings.default_language, f"inbox_source_{source}"),
    }
    asked = await inbox.ask(
        ctx.db,
        person_id=person.id,
        question=question,
        source=source,
        group=ctx.settings.staff_group,
        values=values,
    )
    # held back by the hourly limit from the staff group; the console lists it at once
    delivered = asked.forwarded or ctx.settings.staff_group is None
    key = "inbox_sent" if delivered else "inbox_limited"
    reply = Reply(ctx.t(key), (ctx.link("contact"), ctx.back()))
    return outcome(f"officer_{key}", reply)


# -- in the staff group --------------------------------------------------------------------


@feature.in_group_chat()
async def staff_reply(ctx: GroupChat) -> list[Reply] | None:
    """A reply in the staff group to a forwarded question: the answer for the villager.
    Messages in other groups are not ours (None). Only staff answer: a reply from a group
    member who is not in telegram.staff_ids is ignored (the log names their id only)."""
    message = ctx.message
    if (message.channel, message.group) != ctx.settings.staff_group:
        return None
    if (message.channel, message.user_id) not in ctx.settings.staff_ids:
        log.warning(
            "event=staff_group_reply_ignored reason=not_staff channel=%s user=%s",
            message.channel,
            message.user_id,
        )
        return []
    inbox_id = inbox.tag_in(message.reply_to)
    if inbox_id is None:
        return [Reply(ctx.t("officer_reply_unknown"))]
    if message.kind is not Kind.TEXT or not message.text.strip():
        return [Reply(ctx.t("officer_reply_not_text"))]
    by = f"{message.display_name} ({message.channel}:{message.user_id})"
    key = f"{message.channel}:{message.update_id}" if message.update_id else None
    answered = await inbox.answer(ctx.db, inbox_id, message.text.strip(), by, key)
    if answered is None:
        return [Reply(ctx.t("officer_reply_unknown"))]
    if answered.outcome == "repeat":  # Telegram delivered the reply again: done already
        return []
    if answered.outcome == "erased":
        return [Reply(ctx.t("officer_reply_erased"))]
    if answered.outcome == "taken":  # another officer holds it (in the console)
        return [Reply(ctx.t("officer_reply_taken", tag=inbox.tag(inbox_id), name=answered.name))]
    await audit.record(ctx.db, by, "officer_reply", inbox.tag(inbox_id))
    tag = inbox.tag(inbox_id)
    return [Reply(ctx.t("officer_reply_sent", tag=tag, name=answered.name))]


@feature.renders("officer_answer")
def officer_answer(out: Outgoing) -> Reply:
    """An officer's answer in the villager's chat, with one tap to ask again."""
    again = (out.row("button_officer_again", AskOfficer()),) if out.settings.officer_inbox else ()
    return Reply(out.text(), (*again, out.back()))
