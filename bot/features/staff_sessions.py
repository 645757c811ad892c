"""Staff tools for sessions in the chat: sessions created and rescheduled by guided steps
ending in a confirm button, cancelled after a confirm, the registrants as the console's Excel
file (bot/reports), check-in at the door by booking code.

Staff are recognised by channel and numeric user id from config.yaml, never by name; to anyone
else these commands do not exist (they get the reply to any unknown command). Half-done steps
live in the person's flow like a villager's sign-up, so a restart loses nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.actions import Action
from bot.core.context import Ctx, Outcome, Stale, outcome
from bot.core.feature import Feature, exit_word
from bot.core.messages import Button, Reply
from bot.domain import registrations, sessions
from bot.reports import files
from bot.support.dates import clock_of, example_time, typed_clock, when, zone_name

feature = Feature(
    "staff_sessions",
    staff=True,
    texts=(
        "staff_help", "staff_ask_title", "staff_ask_village", "staff_ask_village_other",
        "staff_ask_place", "staff_ask_start", "staff_ask_end", "staff_ask_capacity",
        "staff_confirm", "staff_saved", "staff_discarded", "staff_bad_times", "staff_in_past",
        "staff_bad_capacity", "staff_unknown_session", "staff_unknown_booking",
        "staff_already_here", "staff_checkin_waiting", "staff_checkin_cancelled",
        "staff_checkin_session_cancelled",
        "staff_sessions_header", "staff_session_line",
        "staff_no_sessions", "button_staff_attendees", "button_staff_cancel", "button_save",
        "button_discard", "button_yes_cancel", "staff_attendees", "staff_checked_in",
        "staff_cancel_confirm", "staff_cancelled", "staff_moved", "staff_bad_date",
        "button_no", "button_same_length",
    ),
    borrows=("button_village_other",),
    private_steps=("village", "village_other"),  # as typed, like a villager's village
)  # fmt: skip

MAX_SEATS = 10_000
NEW_STEPS = ("title", "village", "place", "start", "end", "capacity")
TYPED_STEPS = ("title", "village", "village_other", "place", "start", "end", "capacity")


class Attendees(Action, prefix="st:att"):
    code: str


class AskCancel(Action, prefix="st:ask"):
    code: str


class CancelSession(Action, prefix="st:cancel"):
    code: str


class Discard(Action, prefix="st:discard", label="button_discard"):
    """Throw away whatever a staff member was writing (a session, an announcement)."""


class StaffVillage(Action, prefix="st:vil"):
    index: int  # in config.yaml's villages


class StaffOtherVillage(Action, prefix="st:vil:other"):
    pass


class Save(Action, prefix="st:save"):
    pass


class SameLength(Action, prefix="st:len"):
    """A rescheduled session ends as much later as it starts (the length stays)."""


def _out(text: str, action: str, buttons=(), document=None) -> Outcome:
    return outcome(f"staff_{action}", Reply(text, tuple(buttons), document=document))


def _example(ctx: Ctx) -> str:
    return example_time(ctx.settings.timezone)


def _help(ctx: Ctx) -> Outcome:
    return _out(ctx.t("staff_help"), "help")


def _unknown_session(ctx: Ctx, code: str) -> Outcome:
    text = ctx.t("staff_unknown_session", code=sessions.normalise_code(code))
    return _out(text, "unknown")


# -- lists, attendees, check-in ------------------------------------------------------------


@feature.command("sesi")
async def listing(ctx: Ctx, argument: str) -> Outcome:
    upcoming = await sessions.upcoming_sessions(ctx.db)
    if not upcoming:
        return _out(ctx.t("staff_no_sessions"), "list")
    lines = [ctx.t("staff_sessions_header")]
    buttons = []
    for s in upcoming:
        lines.append(
            ctx.t(
                "staff_session_line",
                code=s.code,
                when=when(s.starts_at, s.ends_at, ctx.settings.timezone, ctx.lang),
                title=s.title[ctx.lang],
                place=s.place,
                village=s.village,
                confirmed=str(s.confirmed),
                capacity=str(s.capacity),
                waitlisted=str(s.waitlisted),
            )
        )
        buttons.append(
            (
                ctx.button("button_staff_attendees", Attendees(s.code), code=s.code),
                ctx.button("button_staff_cancel", AskCancel(s.code), code=s.code),
            )
        )
    return _out("\n\n".join(lines), "list", buttons)


@feature.command("peserta")
async def attendees_command(ctx: Ctx, argument: str) -> Outcome:
    if not sessions.normalise_code(argument):
        return _help(ctx)
    return await _attendees(ctx, argument)


@feature.action(Attendees)
async def attendees_button(ctx: Ctx, action: Attendees) -> Outcome:
    if not sessions.normalise_code(action.code):
        return _help(ctx)
    return await _attendees(ctx, action.code)


async def _attendees(ctx: Ctx, code: str) -> Outcome:
    try:
        rows = await registrations.attendees(ctx.db, code)
    except sessions.SessionError:
        return _unknown_session(ctx, code)
    code = sessions.normalise_code(code)
    count = {status: sum(r.status == status for r in rows) for status in registrations.ACTIVE}
    text = ctx.t(
        "staff_attendees",
        code=code,
        confirmed=str(count["confirmed"]),
        waitlisted=str(count["waitlisted"]),
        attended=str(count["attended"]),
    )
    session = await sessions.require(ctx.db, code)
    sheet = files.registrants_xlsx(session, rows, ctx.lang, ctx.settings.timezone)
    document = (files.file_name(session, "peserta", "xlsx", ctx.settings.timezone), sheet)
    return _out(text, "attendees", document=document)


@feature.command("hadir")
async def check_in(ctx: Ctx, argument: str) -> Outcome:
    """/hadir CODE at the door; /hadir CODE masuk lets someone in from the waiting list."""
    words = argument.split()
    admit = len(words) > 1 and words[-1].lower() in ADMIT_WORDS
    code = sessions.normalise_code(" ".join(words[:-1] if admit else words))  # "UV9 4KD" too
    if not code:
        return _help(ctx)
    found = await registrations.find_booking(ctx.db, code)
    if found is None:
        return _out(ctx.t("staff_unknown_booking", code=code), "unknown")
    refused = found.session_cancelled or found.status not in ("confirmed", "waitlisted")
    if refused or (found.status == "waitlisted" and not admit):
        return _out(_not_checked_in(ctx, found), "checkin_refused")
    try:
        await registrations.check_in(ctx.db, code, admit=admit)
    except sessions.SessionError:  # checked in from the console a moment ago
        found = await registrations.find_booking(ctx.db, code) or found
        return _out(_not_checked_in(ctx, found), "checkin_refused")
    done = "admitted" if found.status == "waitlisted" else "checkin"  # the audit tells them
    return _out(ctx.t("staff_checked_in", booking=code, name=found.name), done)


ADMIT_WORDS = ("masuk", "admit", "terima")


def _not_checked_in(ctx: Ctx, found: registrations.Attendee) -> str:
    """Why a booking is not checked in, in words: here already, waiting, or cancelled."""
    values = {"code": found.booking_code, "name": found.name}
    if found.session_cancelled:
        return ctx.t("staff_checkin_session_cancelled", **values)
    if found.status == "attended":
        at = clock_of(found.checked_in_at, ctx.settings.timezone)
        return ctx.t("staff_already_here", at=at, **values)
    if found.status == "waitlisted":
        return ctx.t("staff_checkin_waiting", place=str(found.waitlist_position or ""), **values)
    return ctx.t("staff_checkin_cancelled", **values)


# -- cancelling a session ------------------------------------------------------------------


@feature.command("batal_sesi")
async def cancel_command(ctx: Ctx, argument: str) -> Outcome:
    if not sessions.normalise_code(argument):
        return _help(ctx)
    return await _ask_cancel(ctx, argument)


@feature.action(AskCancel)
async def cancel_asked(ctx: Ctx, action: AskCancel) -> Outcome:
    if not sessions.normalise_code(action.code):
        return _help(ctx)
    await ctx.leave_flow()  # as /batal_sesi does: a draft in progress is dropped
    return await _ask_cancel(ctx, action.code)


async def _ask_cancel(ctx: Ctx, code: str) -> Outcome:
    session = await sessions.get_session(ctx.db, code)
    if session is None or session.status == "cancelled":
        return _unknown_session(ctx, code)
    buttons = [
        (ctx.button("button_yes_cancel", CancelSession(session.code)),),
        (ctx.button("button_no", Discard()),),
    ]
    text = ctx.t("staff_cancel_confirm", code=session.code, title=session.title["id"])
    return _out(text, "cancel_ask", buttons)


@feature.action(CancelSession)
async def cancel_session(ctx: Ctx, action: CancelSession) -> Outcome:
    if not sessions.normalise_code(action.code):
        return _help(ctx)
    count = await _registrants(ctx, action.code)
    try:
        session = await sessions.cancel_session(ctx.db, action.code)
    except sessions.SessionError:
        return _unknown_session(ctx, action.code)
    text = ctx.t("staff_cancelled", code=session.code, count=str(count))
    return _out(text, "cancelled")


async def _registrants(ctx: Ctx, code: str) -> int:
    session = await sessions.get_session(ctx.db, code)
    return (session.confirmed + session.waitlisted) if session else 0


@feature.action(Discard)
async def discard(ctx: Ctx, action: Discard) -> Outcome:
    await ctx.leave_flow()
    return _out(ctx.t("staff_discarded"), "discarded")


# -- guided steps: a new session, or new times for one -------------------------------------


@feature.command("sesi_baru")
async def new_session(ctx: Ctx, argument: str) -> Outcome:
    return await _step(ctx, {"mode": "new", "step": "title", "draft": {}})


@feature.command("ubah_sesi")
async def move_session(ctx: Ctx, argument: str) -> Outcome:
    if not sessions.normalise_code(argument):
        return _help(ctx)
    session = await sessions.get_session(ctx.db, argument)
    if session is None or session.status == "cancelled":
        return _unknown_session(ctx, argument)
    return await _step(ctx, {"mode": "move", "step": "start", "code": session.code, "draft": {}})


async def _step(ctx: Ctx, state: dict, problem: str = "") -> Outcome:
    await ctx.set_flow(state)
    step = state["step"]
    note = f"{problem}\n\n" if problem else ""
    if step == "confirm":
        return _confirm(ctx, state, note)
    values = {"timezone": zone_name(ctx.settings.timezone), "example": _example(ctx)}
    text = note + ctx.t(f"staff_ask_{step}", **values)
    buttons = []
    if step == "end" and state["mode"] == "move":
        buttons = [row for row in [await _same_length(ctx, state)] if row]
    if step == "village":
        villages = ctx.settings.villages
        buttons = [(Button(v, StaffVillage(i).pack()),) for i, v in enumerate(villages)]
        buttons.append((ctx.button("button_village_other", StaffOtherVillage()),))
    return _out(text, f"ask_{step}", buttons)


def _confirm(ctx: Ctx, state: dict, note: str) -> Outcome:
    draft = state["draft"]
    starts = datetime.fromisoformat(draft["start"])
    ends = datetime.fromisoformat(draft["end"])
    text = note + ctx.t(
        "staff_confirm",
        title=draft.get("title", ""),
        when=when(starts, ends, ctx.settings.timezone, ctx.lang),
        place=draft.get("place", ""),
        village=draft.get("village", ""),
        capacity=str(draft.get("capacity", "")),
    )
    buttons = [(ctx.button("button_save", Save()),), (ctx.button("button_discard", Discard()),)]
    return _out(text, "confirm", buttons)


@feature.step("village", "confirm", find=exit_word, what="batal, menu, cancel, keluar")
async def leave(ctx: Ctx) -> Outcome:
    """Typed where a button is asked for: the draft is dropped, the main menu."""
    await ctx.leave_flow()
    return await ctx.go("menu")


@feature.step(*TYPED_STEPS)
async def typed(ctx: Ctx) -> Outcome:
    """What staff type at a step: a title, a village (typed instead of pressed), a place, a
    date and time, a number of seats."""
    state = ctx.flow or {}
    text = " ".join(ctx.message.text.split())
    step, draft = state["step"], dict(state["draft"])
    if step in ("title", "village", "village_other", "place"):
        if not text or (step.startswith("village") and not re.search(r"[^\W\d_]", text)):
            return await _step(ctx, state)  # nothing, or no village without a letter: again
        if step.startswith("village"):  # a configured village as configured
            known = {v.lower(): v for v in ctx.settings.villages}
            draft["village"] = known.get(text.lower(), text[:100])
        else:
            draft[step] = text[:100]
    elif step in ("start", "end"):
        moment = _typed_time(ctx, text, step, draft)
        if moment is None:
            return await _step(ctx, state, ctx.t("staff_bad_date", example=_example(ctx)))
        draft[step] = moment.isoformat()
    elif not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= MAX_SEATS:
        return await _step(ctx, state, ctx.t("staff_bad_capacity"))
    else:
        draft["capacity"] = int(text)
    return await _step(ctx, {**state, "draft": draft, "step": _after(state, step)})


def _typed_time(ctx: Ctx, text: str, step: str, draft: dict) -> datetime | None:
    """A day and time as staff write them ("14/12/2026 09.00", "14 Desember 2026 jam 9");
    for the end, a time alone ("12.00") is on the start's day."""
    zone = ctx.settings.timezone
    try:
        return sessions.parse_local(text, zone, step)
    except sessions.SessionError:
        clock = typed_clock(text, zone_name(zone))
        if step != "end" or clock is None or "start" not in draft:
            return None
        day = datetime.fromisoformat(draft["start"]).astimezone(zone).date()
        return datetime.combine(day, clock, tzinfo=zone)


def _after(state: dict, step: str) -> str:
    if state["mode"] == "move":
        return {"start": "end", "end": "confirm"}[step]
    if step == "village_other":
        return "place"
    following = NEW_STEPS.index(step) + 1
    return NEW_STEPS[following] if following < len(NEW_STEPS) else "confirm"


async def _same_end(ctx: Ctx, state: dict) -> datetime | None:
    """The end that keeps a rescheduled session as long as it was; None when it would fall
    on another day (the button would show only a time: that end must be typed)."""
    session = await sessions.require(ctx.db, state["code"])
    starts = datetime.fromisoformat(state["draft"]["start"])
    _, ends = sessions.new_times(session, starts)
    zone = ctx.settings.timezone
    return ends if ends.astimezone(zone).date() == starts.astimezone(zone).date() else None


async def _same_length(ctx: Ctx, state: dict) -> tuple[Button, ...]:
    """At a reschedule's end step: one tap keeps the session as long as it was."""
    ends = await _same_end(ctx, state)
    if ends is None:
        return ()
    clock = ends.astimezone(ctx.settings.timezone).strftime("%H.%M")
    return (ctx.button("button_same_length", SameLength(), clock=clock),)


@feature.action(SameLength, steps=("end",))
async def same_length(ctx: Ctx, action: SameLength) -> Outcome:
    state = ctx.flow or {}
    if state.get("mode") != "move":
        raise Stale
    ends = await _same_end(ctx, state)
    if ends is None:
        return await _step(ctx, state)  # ask for the end to be typed
    draft = {**state["draft"], "end": ends.isoformat()}
    return await _step(ctx, {**state, "draft": draft, "step": "confirm"})


@feature.action(StaffVillage, steps=("village",))
async def village_pressed(ctx: Ctx, action: StaffVillage) -> Outcome:
    if action.index >= len(ctx.settings.villages):
        raise Stale
    state = ctx.flow or {}
    draft = {**state["draft"], "village": ctx.settings.villages[action.index]}
    return await _step(ctx, {**state, "draft": draft, "step": "place"})


@feature.action(StaffOtherVillage, steps=("village",))
async def other_village(ctx: Ctx, action: StaffOtherVillage) -> Outcome:
    return await _step(ctx, {**(ctx.flow or {}), "step": "village_other"})


@feature.action(Save, steps=("confirm",))
async def save(ctx: Ctx, action: Save) -> Outcome:
    state = ctx.flow or {}
    draft = state["draft"]
    starts = datetime.fromisoformat(draft["start"])
    ends = datetime.fromisoformat(draft["end"])
    try:
        if state["mode"] == "move":
            before = await _registrants(ctx, state["code"])
            session = await sessions.edit_session(
                ctx.db, state["code"], starts=starts, ends=ends, policy=ctx.settings.policy
            )
        else:
            session = await sessions.create_session(
                ctx.db,
                title_id=draft["title"],
                title_en=draft["title"],
                village=draft["village"],
                place=draft["place"],
                starts=starts,
                ends=ends,
                capacity=draft["capacity"],
            )
    except sessions.SessionError as exc:
        key = f"staff_{exc.reason}" if exc.reason in ("bad_times", "in_past") else "staff_bad_date"
        problem = ctx.t(key, example=_example(ctx))
        return await _step(ctx, {**state, "step": "start"}, problem)
    await ctx.leave_flow()
    if state["mode"] == "move":
        text = ctx.t(
            "staff_moved",
            code=session.code,
            when=when(session.starts_at, session.ends_at, ctx.settings.timezone, ctx.lang),
            count=str(before),
        )
        return _out(text, "moved")
    return _out(ctx.t("staff_saved", code=session.code), "created")
