"""The villager's side of announcements: receiving them, stopping and restarting them, and
setting their village so village announcements reach them.

BERHENTI / STOP stop announcements and MULAI starts them again, typed at any moment (even in
the middle of a sign-up, which they also end); the "Pengumuman" screen does the same by
button. The choice is read again when each announcement is sent. Reminders for sessions they
signed up for are not announcements and still arrive. The first reply a person gets on a
channel that can reach them later says announcements will come, and how to stop them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.actions import Action
from bot.core.context import Ctx, Outcome, Outgoing, Stale, outcome
from bot.core.feature import Feature, Priority
from bot.core.messages import Button, Reply
from bot.domain import people

feature = Feature(
    "announcements",
    texts=(
        "announcements_first_contact", "subscribed", "unsubscribed", "announcements_on",
        "announcements_off", "announcements_village", "announcements_no_village",
        "button_announcements", "button_stop_announcements", "button_start_announcements",
        "button_set_village", "ask_set_village", "village_set", "broadcast_message",
    ),
    private_steps=("set_village",),  # the village typed after "Desa lain"
    borrows=("button_village_other", "ask_village_other"),
)  # fmt: skip

STOP_WORDS = {"berhenti", "stop", "unsubscribe", "berhenti langganan", "stop pengumuman"}
START_WORDS = {"mulai", "start", "subscribe", "mulai langganan", "langganan"}
VILLAGE_LIMIT = 60


class Screen(Action, prefix="subs", label="button_announcements"):
    pass


class Subscribe(Action, prefix="sub:on"):
    pass


class Unsubscribe(Action, prefix="sub:off", label="button_stop_announcements"):
    pass


class AskVillage(Action, prefix="sub:village"):
    pass


class SetVillage(Action, prefix="sub:v"):
    index: int  # in config.yaml's villages


class OtherVillage(Action, prefix="sub:v:other"):
    pass


feature.menu_entry(Screen, order=60)


def subscription_word(text: str) -> bool | None:
    """True for MULAI, False for BERHENTI, None for anything else (case and marks ignored)."""
    word = " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
    if word in STOP_WORDS:
        return False
    if word in START_WORDS:
        return True
    return None


@feature.text(subscription_word, priority=Priority.GLOBAL, leaves_flow=True, what="BERHENTI/MULAI")
async def by_word(ctx: Ctx, subscribe: bool) -> Outcome:
    """BERHENTI or MULAI, typed anywhere (it also ends a half-done sign-up)."""
    await people.set_subscribed(ctx.db, ctx.person.id, subscribe)
    key = "subscribed" if subscribe else "unsubscribed"
    # no first-contact note: this reply says it already, in other words
    return outcome(key, Reply(ctx.t(key), ctx.menu()), standalone=True)


@feature.action(Screen)
async def screen_button(ctx: Ctx, action: Screen) -> Outcome:
    return screen(ctx)


def screen(ctx: Ctx, note: str = "") -> Outcome:
    person = ctx.person
    lines = [note, ctx.t("announcements_on" if person.gets_announcements else "announcements_off")]
    if person.village:
        lines.append(ctx.t("announcements_village", village=person.village))
    else:
        lines.append(ctx.t("announcements_no_village"))
    toggle = (
        ctx.row("button_stop_announcements", Unsubscribe())
        if person.gets_announcements
        else ctx.row("button_start_announcements", Subscribe())
    )
    buttons = (toggle, ctx.row("button_set_village", AskVillage()), ctx.back())
    text = "\n\n".join(line for line in lines if line)
    return outcome("announcements", Reply(text, buttons))


@feature.action(Subscribe)
async def subscribe(ctx: Ctx, action: Subscribe) -> Outcome:
    return await _toggle(ctx, True)


@feature.action(Unsubscribe)
async def unsubscribe(ctx: Ctx, action: Unsubscribe) -> Outcome:
    return await _toggle(ctx, False)


async def _toggle(ctx: Ctx, on: bool) -> Outcome:
    await people.set_subscribed(ctx.db, ctx.person.id, on)
    note = ctx.t("subscribed" if on else "unsubscribed")
    ctx.person = replace(ctx.person, subscribed=on, chose=True)
    return screen(ctx, note)


@feature.action(AskVillage)
async def ask_village(ctx: Ctx, action: AskVillage) -> Outcome:
    villages = tuple(
        (Button(v, SetVillage(i).pack()),) for i, v in enumerate(ctx.settings.villages)
    )
    other = ctx.row("button_village_other", OtherVillage())
    reply = Reply(ctx.t("ask_set_village"), (*villages, other, ctx.back()))
    return outcome("set_village_ask", reply)


@feature.action(OtherVillage)
async def other_village(ctx: Ctx, action: OtherVillage) -> Outcome:
    await ctx.set_flow({"step": "set_village"})
    return outcome("set_village_other", Reply(ctx.t("ask_village_other"), (ctx.back(),)))


@feature.action(SetVillage)
async def set_village(ctx: Ctx, action: SetVillage) -> Outcome:
    if action.index >= len(ctx.settings.villages):
        raise Stale
    return await _set(ctx, ctx.settings.villages[action.index])


@feature.step("set_village")
async def village_typed(ctx: Ctx) -> Outcome:
    """The village typed after "Desa lain"."""
    village = " ".join(ctx.message.text.split())[:VILLAGE_LIMIT]
    if not village or not re.search(r"[^\W\d_]", village):
        return outcome("set_village_other", Reply(ctx.t("ask_village_other"), (ctx.back(),)))
    await ctx.leave_flow()
    return await _set(ctx, village)


async def _set(ctx: Ctx, village: str) -> Outcome:
    await people.set_village(ctx.db, ctx.person.id, village)
    ctx.person = replace(ctx.person, village=village, flow=None)
    return screen(ctx, ctx.t("village_set", village=village))


@feature.first_contact()
async def first_contact(ctx: Ctx, done: Outcome) -> str | None:
    """Said once a person, in their first reply on a channel that can reach them later:
    announcements come, and this is how to stop them."""
    person = ctx.person
    if person.told or ctx.message.channel not in ctx.settings.reachable_channels:
        return None
    if ctx.is_staff:
        return None
    await people.mark_told(ctx.db, person.id)
    if done.standalone:  # BERHENTI or MULAI answered, data erased: nothing to add
        return None
    return ctx.t("announcements_first_contact")


@feature.renders("broadcast")
def announcement(out: Outgoing) -> Reply:
    """An announcement as villagers get it, naming the office it comes from, with one tap to
    stop them (values: its ``text`` and ``office``)."""
    office = out.office_name(out.values["office"])
    body = out.t("broadcast_message", office=office, text=out.values["text"])
    return Reply(body, (out.row("button_stop_announcements", Unsubscribe()), out.back()))
