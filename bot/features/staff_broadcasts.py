"""Staff write an announcement in the chat, in guided steps:

text (Indonesian) → text in English or skip → audience (everyone, villages, a session's
registrants) → office → preview exactly as villagers will see it, with the number of
recipients → send now, or at a chosen time. The draft lives in the person's flow, so a
restart in the middle loses nothing. ``/pengumuman`` lists recent announcements with their
delivery figures and a cancel button while they are still going out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.core.actions import Action
from bot.core.context import Ctx, Outcome, Stale, outcome
from bot.core.feature import Feature, exit_word
from bot.core.messages import Button, Reply
from bot.domain import broadcasts, sessions
from bot.domain.broadcasts import Audience, BroadcastError
from bot.support.dates import example_time, local_time, zone_name

feature = Feature(
    "staff_broadcasts",
    staff=True,
    texts=(
        "staff_bc_ask_text", "staff_bc_ask_text_en", "staff_bc_ask_audience",
        "staff_bc_ask_session", "staff_bc_ask_office", "staff_bc_ask_time", "staff_bc_now",
        "staff_bc_confirm", "staff_bc_quiet_note", "staff_bc_no_recipients",
        "staff_bc_empty_text", "staff_bc_text_too_long", "staff_bc_queued", "staff_bc_none",
        "staff_bc_list_header", "staff_bc_line", "staff_bc_unknown", "staff_bc_cannot_cancel",
        "staff_bc_cancelled", "staff_bc_in_past", "staff_bc_preview_button",
        "staff_bc_cancel_confirm", "button_bc_yes_cancel", "button_bc_all", "button_bc_session",
        "button_bc_next", "button_send_now", "button_send_scheduled", "button_schedule",
        "button_bc_cancel", "audience_all", "audience_villages", "audience_session",
        "broadcast_done", "bc_status_scheduled", "bc_status_sending", "bc_status_done",
        "bc_status_cancelled",
    ),
    borrows=("button_skip", "staff_bad_date", "button_no"),
    links=("st:discard",),
)  # fmt: skip

LISTED = 8  # announcements in /pengumuman
MAX_VILLAGE_BUTTONS = 60  # Telegram allows 100 buttons in one message
PREVIEW_CHARS = 80
OFFICES = ("bp3mi", "imigrasi")
DISCARD = "st:discard"  # staff sessions' action: throws the draft away


class SkipEnglish(Action, prefix="st:bc:skip_en"):
    pass


class Everyone(Action, prefix="st:bc:all"):
    pass


class ToggleVillage(Action, prefix="st:bc:v"):
    index: int  # in the list of villages in use


class VillagesChosen(Action, prefix="st:bc:next"):
    pass


class ChooseSession(Action, prefix="st:bc:sessions"):
    pass


class SessionChosen(Action, prefix="st:bc:s"):
    code: str


class Office(Action, prefix="st:bc:o"):
    office: Literal["bp3mi", "imigrasi"]


class Later(Action, prefix="st:bc:later"):
    pass


class Send(Action, prefix="st:bc:send"):
    pass


class Sample(Action, prefix="st:bc:pv"):
    """A button of the preview: only says it is a sample."""


class AskCancel(Action, prefix="st:bc:x"):
    broadcast: int


class Cancel(Action, prefix="st:bc:xx"):
    broadcast: int


def _out(text: str, action: str, buttons=()) -> Outcome:
    return outcome(f"staff_{action}", Reply(text, tuple(buttons)))


def _example(ctx: Ctx) -> str:
    return example_time(ctx.settings.timezone)


@feature.command("umumkan")
async def start(ctx: Ctx, argument: str) -> Outcome:
    return await _step(ctx, {"step": "text", "draft": {}})


async def _step(ctx: Ctx, state: dict, problem: str = "") -> Outcome:
    await ctx.set_flow(state)
    step, draft = state["step"], state["draft"]
    note = f"{problem}\n\n" if problem else ""
    buttons: list[tuple[Button, ...]] = []
    if step == "text":
        text = ctx.t("staff_bc_ask_text", max=str(broadcasts.MAX_TEXT))
    elif step == "text_en":
        text = ctx.t("staff_bc_ask_text_en")
        buttons.append(ctx.row("button_skip", SkipEnglish()))
    elif step == "audience":
        text = ctx.t("staff_bc_ask_audience")
        buttons = await _audience_buttons(ctx, draft)
    elif step == "session":
        text = ctx.t("staff_bc_ask_session")
        for s in (await sessions.upcoming_sessions(ctx.db))[:LISTED]:
            label = f"{s.code} · {s.title['id'][:40]}"
            buttons.append((Button(label, SessionChosen(s.code).pack()),))
    elif step == "office":
        text = ctx.t("staff_bc_ask_office")
        for key in OFFICES:
            buttons.append((Button(ctx.office_name(key)[:60], Office(key).pack()),))
    elif step == "at":
        zone = zone_name(ctx.settings.timezone)
        text = ctx.t("staff_bc_ask_time", timezone=zone, example=_example(ctx))
    else:
        return await _preview(ctx, state, note)
    buttons.append(ctx.link(DISCARD))
    return _out(note + text, f"bc_{step}", buttons)


async def _villages(ctx: Ctx) -> list[str]:
    return await broadcasts.villages_in_use(ctx.db, ctx.settings.villages)


async def _audience_buttons(ctx: Ctx, draft: dict) -> list[tuple[Button, ...]]:
    chosen = set(draft.get("villages", []))
    rows = [ctx.row("button_bc_all", Everyone())]
    for index, village in enumerate((await _villages(ctx))[:MAX_VILLAGE_BUTTONS]):
        mark = "✅ " if village in chosen else ""
        rows.append((Button(f"{mark}{village}"[:60], ToggleVillage(index).pack()),))
    rows.append(ctx.row("button_bc_session", ChooseSession()))
    if chosen:
        rows.append(ctx.row("button_bc_next", VillagesChosen(), count=str(len(chosen))))
    return rows


def describe(ctx: Ctx, audience: Audience) -> str:
    if audience.kind == "village":
        return ctx.t("audience_villages", villages=", ".join(audience.villages))
    if audience.kind == "session":
        return ctx.t("audience_session", code=audience.session_code)
    return ctx.t("audience_all")


def preview(ctx: Ctx, text: str, office: str, lang: str) -> Reply:
    """The announcement exactly as villagers get it, its buttons only samples (staff must
    not unsubscribe themselves, or lose the draft, by trying them)."""
    reply = ctx.router.render(ctx.env, "broadcast", lang, {"text": text, "office": office})
    assert reply is not None
    sample = Sample().pack()
    rows = tuple(tuple(replace(b, action=sample) for b in row) for row in reply.buttons)
    return replace(reply, buttons=rows)


async def _preview(ctx: Ctx, state: dict, note: str) -> Outcome:
    draft = state["draft"]
    audience = Audience.decode(draft["audience"])
    count = await broadcasts.count_recipients(ctx.db, audience, ctx.settings.reachable_channels)
    send_at = datetime.fromisoformat(draft["at"]) if draft.get("at") else None
    moment = send_at or datetime.now(UTC)
    at = local_time(send_at, ctx.settings.timezone) if send_at else ctx.t("staff_bc_now")
    confirm = ctx.t(
        "staff_bc_confirm",
        count=str(count),
        audience=describe(ctx, audience),
        when=at,
        quiet=_quiet_note(ctx, moment),
    )
    if not count:
        confirm += "\n\n" + ctx.t("staff_bc_no_recipients")
    send = "button_send_scheduled" if send_at else "button_send_now"
    buttons = [
        ctx.row(send, Send()),
        ctx.row("button_schedule", Later()),
        ctx.link(DISCARD),
    ]
    previews = [preview(ctx, draft["text_id"], draft["office"], "id")]
    if draft.get("text_en"):  # what villagers who use English get
        previews.append(preview(ctx, draft["text_en"], draft["office"], "en"))
    return outcome("staff_bc_preview", *previews, Reply(note + confirm, tuple(buttons)))


@feature.step(
    "audience", "session", "office", "confirm", find=exit_word, what="batal, menu, cancel, keluar"
)
async def leave(ctx: Ctx) -> Outcome:
    """Typed where a button is asked for: the draft is dropped, the main menu."""
    await ctx.leave_flow()
    return await ctx.go("menu")


@feature.step("text", "text_en")
async def text_typed(ctx: Ctx) -> Outcome:
    state = ctx.flow or {}
    step, draft = state["step"], dict(state["draft"])
    try:
        text = broadcasts.check_text(ctx.message.text)
    except BroadcastError as exc:
        problem = ctx.t(
            f"staff_bc_{exc.reason}",
            length=str(len(ctx.message.text.strip())),
            max=str(broadcasts.MAX_TEXT),
        )
        return await _step(ctx, state, problem)
    draft["text_id" if step == "text" else "text_en"] = text
    following = "text_en" if step == "text" else "audience"
    return await _step(ctx, {**state, "draft": draft, "step": following})


@feature.step("at")
async def time_typed(ctx: Ctx) -> Outcome:
    state = ctx.flow or {}
    try:
        moment = sessions.parse_local(ctx.message.text, ctx.settings.timezone, "time")
    except sessions.SessionError:
        return await _step(ctx, state, ctx.t("staff_bad_date", example=_example(ctx)))
    if moment < datetime.now(UTC) - timedelta(minutes=1):
        return await _step(ctx, state, ctx.t("staff_bc_in_past"))
    draft = {**state["draft"], "at": moment.isoformat()}
    return await _step(ctx, {**state, "draft": draft, "step": "confirm"})


@feature.action(SkipEnglish, steps=("text_en",))
async def skip_english(ctx: Ctx, action: SkipEnglish) -> Outcome:
    return await _step(ctx, {**(ctx.flow or {}), "step": "audience"})


@feature.action(ChooseSession, steps=("audience",))
async def choose_session(ctx: Ctx, action: ChooseSession) -> Outcome:
    return await _step(ctx, {**(ctx.flow or {}), "step": "session"})


@feature.action(Everyone, steps=("audience",))
async def everyone(ctx: Ctx, action: Everyone) -> Outcome:
    return await _audience(ctx, Audience("all"))


@feature.action(VillagesChosen, steps=("audience",))
async def villages_chosen(ctx: Ctx, action: VillagesChosen) -> Outcome:
    chosen = (ctx.flow or {})["draft"].get("villages")
    if not chosen:
        raise Stale
    return await _audience(ctx, Audience("village", tuple(chosen)))


@feature.action(ToggleVillage, steps=("audience",))
async def toggle_village(ctx: Ctx, action: ToggleVillage) -> Outcome:
    state = ctx.flow or {}
    villages = await _villages(ctx)
    if action.index >= len(villages):
        raise Stale
    draft = dict(state["draft"])
    chosen = list(draft.get("villages", []))
    village = villages[action.index]
    chosen.remove(village) if village in chosen else chosen.append(village)
    draft["villages"] = chosen
    return await _step(ctx, {**state, "draft": draft})


@feature.action(SessionChosen, steps=("session",))
async def session_chosen(ctx: Ctx, action: SessionChosen) -> Outcome:
    state = ctx.flow or {}
    session = await sessions.get_session(ctx.db, action.code)
    if session is None or session.status == "cancelled":
        return await _step(ctx, state)
    return await _audience(
        ctx, Audience("session", session_id=session.id, session_code=session.code)
    )


async def _audience(ctx: Ctx, audience: Audience) -> Outcome:
    state = ctx.flow or {}
    draft = {**state["draft"], "audience": audience.encode()}
    return await _step(ctx, {**state, "draft": draft, "step": "office"})


@feature.action(Office, steps=("office",))
async def office_chosen(ctx: Ctx, action: Office) -> Outcome:
    state = ctx.flow or {}
    draft = {**state["draft"], "office": action.office}
    return await _step(ctx, {**state, "draft": draft, "step": "confirm"})


@feature.action(Later, steps=("confirm",))
async def later(ctx: Ctx, action: Later) -> Outcome:
    return await _step(ctx, {**(ctx.flow or {}), "step": "at"})


@feature.action(Send, steps=("confirm",))
async def send(ctx: Ctx, action: Send) -> Outcome:
    draft = (ctx.flow or {})["draft"]
    send_at = datetime.fromisoformat(draft["at"]) if draft.get("at") else datetime.now(UTC)
    audience = Audience.decode(draft["audience"])
    count = await broadcasts.count_recipients(ctx.db, audience, ctx.settings.reachable_channels)
    person = ctx.person
    broadcast = await broadcasts.create_broadcast(
        ctx.db,
        text_id=draft["text_id"],
        text_en=draft.get("text_en", ""),
        office=draft["office"],
        audience=audience,
        send_at=send_at,
        created_by=f"{person.channel}:{person.channel_user_id} {person.display_name}",
        sender_id=person.id,
    )
    await ctx.leave_flow()
    text = ctx.t(
        "staff_bc_queued",
        id=str(broadcast.id),
        count=str(count),
        when=local_time(send_at, ctx.settings.timezone),
        quiet=_quiet_note(ctx, send_at),
    )
    return _out(text, "bc_queued")


def _quiet_note(ctx: Ctx, moment: datetime) -> str:
    quiet = ctx.settings.quiet
    morning = quiet.until(moment)
    if morning is None:
        return ""
    return ctx.t(
        "staff_bc_quiet_note",
        hours=quiet.describe(),
        morning=local_time(morning, ctx.settings.timezone),
    )


@feature.action(Sample)
async def sample(ctx: Ctx, action: Sample) -> Outcome:
    return _out(ctx.t("staff_bc_preview_button"), "bc_sample")


# -- the list, and cancelling -------------------------------------------------------------


@feature.command("pengumuman")
async def listing(ctx: Ctx, argument: str) -> Outcome:
    recent = await broadcasts.recent_broadcasts(ctx.db, LISTED)
    if not recent:
        return _out(ctx.t("staff_bc_none"), "bc_list")
    lines = [ctx.t("staff_bc_list_header")]
    buttons = []
    for b in recent:
        counts = await broadcasts.summary(ctx.db, b.id)
        text = " ".join(b.text["id"].split())
        lines.append(
            ctx.t(
                "staff_bc_line",
                id=str(b.id),
                status=ctx.t(f"bc_status_{b.status}"),
                when=local_time(b.send_at, ctx.settings.timezone),
                audience=describe(ctx, b.audience),
                total=str(b.recipients if b.recipients is not None else "–"),
                preview=text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else ""),
                **{k: str(v) for k, v in counts.items()},
            )
        )
        if b.status in ("scheduled", "sending"):
            buttons.append(ctx.row("button_bc_cancel", AskCancel(b.id), id=str(b.id)))
    return _out("\n\n".join(lines), "bc_list", buttons)


@feature.action(AskCancel)
async def ask_cancel(ctx: Ctx, action: AskCancel) -> Outcome:
    buttons = [
        ctx.row("button_bc_yes_cancel", Cancel(action.broadcast)),
        ctx.row("button_no", DISCARD),
    ]
    text = ctx.t("staff_bc_cancel_confirm", id=str(action.broadcast))
    return _out(text, "bc_cancel_ask", buttons)


@feature.action(Cancel)
async def cancel(ctx: Ctx, action: Cancel) -> Outcome:
    broadcast_id = action.broadcast
    try:
        withdrawn = await broadcasts.cancel_broadcast(ctx.db, broadcast_id)
    except BroadcastError as exc:
        found = await broadcasts.get_broadcast(ctx.db, broadcast_id)
        if exc.reason == "unknown_broadcast" or found is None:
            text = ctx.t("staff_bc_unknown", id=str(broadcast_id))
        else:
            status = ctx.t(f"bc_status_{found.status}")
            text = ctx.t("staff_bc_cannot_cancel", id=str(broadcast_id), status=status)
        return _out(text, "bc_cancel_refused")
    text = ctx.t("staff_bc_cancelled", id=str(broadcast_id), count=str(withdrawn))
    return _out(text, "bc_cancelled")
