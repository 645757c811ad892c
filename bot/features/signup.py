"""The villager's side of sessions: the schedule, signing up, their registrations, cancelling,
and the reminders and notices they get later.

The first sign-up asks, one message at a time, for a name, the village, an optional phone
number and consent; the step reached is kept in the database (the person's flow), so a
restart in the middle loses nothing, and the answers reach the profile only with consent.
After that, signing up takes one tap (menu → schedule → Daftar), or one message for weak
signal: "DAFTAR <session code>"; "BATAL <booking code>" cancels. Both work at any moment,
even in the middle of another flow, which they end.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from babel.dates import format_datetime

from bot.core.actions import Action
from bot.core.context import Ctx, Outcome, Outgoing, Rows, Stale, outcome
from bot.core.feature import Feature, Priority, exit_word
from bot.core.messages import Button, Kind, Reply
from bot.domain import people, registrations, sessions
from bot.domain.people import Person
from bot.domain.sessions import Session
from bot.domain.store import utc_now
from bot.support.dates import when

feature = Feature(
    "signup",
    texts=(
        "button_sessions", "button_registrations", "sessions_none", "registrations_none",
        "sessions_header", "session_entry", "session_entry_full", "sessions_footer",
        "button_register", "ask_name", "name_invalid", "ask_village", "ask_phone",
        "button_share_phone", "phone_invalid", "phone_noted", "consent", "button_agree",
        "button_disagree", "consent_declined", "registered", "waitlisted",
        "already_registered", "overlap_warning", "registrations_header", "registration_entry",
        "button_cancel_booking", "cancel_ask", "button_cancel_yes", "booking_cancelled",
        "unknown_session", "session_closed",
        "unknown_booking", "reminder_day_before", "reminder_soon", "notice_promoted",
        "notice_session_changed", "notice_session_cancelled",
        # words other features say too
        "button_skip", "button_village_other", "ask_village_other", "status_confirmed",
        "status_waitlisted", "status_attended", "status_cancelled",
    ),
    # a name, village or phone typed here is personal data: kept out of the message log
    private_steps=("name", "village", "village_other", "phone"),
    links=("contact",),
)  # fmt: skip

MAX_LISTED = 8  # sessions shown at once: a long schedule is hard to read on a small screen
BUTTON_TITLE = 28  # characters of a session title on its button
_CODE = r"([0-9a-z\- ]{3,12})"
_DAFTAR = re.compile(rf"^\s*daftar\s+{_CODE}\s*$", re.IGNORECASE)
_BATAL = re.compile(rf"^\s*batal\s+{_CODE}\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .,'\-]){1,59}$")  # letters, no digits
_SKIP_WORDS = {"lewati", "skip", "tidak", "no", "-"}
VILLAGE_STEPS = ("village", "village_other")


class Sessions(Action, prefix="sessions", label="button_sessions"):
    pass


class Registrations(Action, prefix="registrations", label="button_registrations"):
    pass


class Register(Action, prefix="reg"):
    code: str


class CancelBooking(Action, prefix="cxl"):
    """ "Batalkan ..." under a registration: asks first."""

    booking: str


class CancelConfirmed(Action, prefix="cxl:yes"):
    """ "Ya, batalkan" under that question: the booking is cancelled."""

    booking: str


class Village(Action, prefix="vil"):
    index: int  # in config.yaml's villages


class OtherVillage(Action, prefix="vil:other"):
    pass


class Consent(Action, prefix="consent"):
    answer: Literal["yes", "no"]


feature.menu_entry(Sessions, order=20)
feature.menu_entry(Registrations, order=30)


def daftar_code(text: str) -> str | None:
    """ "daftar k7qa" → "K7QA": the session code of a typed sign-up; else None."""
    found = _DAFTAR.match(text)
    return sessions.normalise_code(found.group(1)) if found else None


def batal_code(text: str) -> str | None:
    """ "BATAL hh-wa2c" → "HHWA2C": the booking code of a typed cancellation; else None."""
    found = _BATAL.match(text)
    return sessions.normalise_code(found.group(1)) if found else None


def parse_command(text: str) -> tuple[str, str] | None:
    """ "daftar k7qa" → ("daftar", "K7QA"); None when the text is something else."""
    for word, find in (("daftar", daftar_code), ("batal", batal_code)):
        code = find(text)
        if code is not None:
            return word, code
    return None


def phone_number(text: str) -> str | None:
    """An Indonesian or international phone number as digits with a leading +, or None."""
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    return f"+{digits}" if digits.isdigit() and 9 <= len(digits) <= 15 else None


def _when(ctx: Ctx | Outgoing, session: Session) -> str:
    return when(session.starts_at, session.ends_at, ctx.settings.timezone, ctx.lang)


def _day(ctx: Ctx | Outgoing, session: Session) -> str:
    """ "Sab 12/12": the day on a button, short enough for WhatsApp's."""
    local = session.starts_at.astimezone(ctx.settings.timezone)
    return format_datetime(local, "EEE d/M", locale=ctx.lang)


def _short(title: str) -> str:
    return title if len(title) <= BUTTON_TITLE else title[: BUTTON_TITLE - 1].rstrip() + "…"


# -- the schedule and the villager's registrations ------------------------------------------


@feature.action(Sessions)
async def schedule_button(ctx: Ctx, action: Sessions) -> Outcome:
    return await schedule(ctx)


async def schedule(ctx: Ctx, note: str = "") -> Outcome:
    upcoming = (await sessions.upcoming_sessions(ctx.db))[:MAX_LISTED]
    if not upcoming:
        text = "\n\n".join(filter(None, [note, ctx.t("sessions_none")]))
        return outcome("sessions", Reply(text, (ctx.link("contact"), ctx.back())))
    entries = [_entry(ctx, s) for s in upcoming]
    footer = ctx.t("sessions_footer", example=upcoming[0].code)
    text = "\n\n".join(filter(None, [note, ctx.t("sessions_header"), *entries, footer]))
    buttons = tuple(
        ctx.row("button_register", Register(s.code), title=_short(s.title[ctx.lang]))
        for s in upcoming
    )
    return outcome("sessions", Reply(text, (*buttons, ctx.back())))


def _entry(ctx: Ctx, session: Session) -> str:
    key = "session_entry" if session.seats_left else "session_entry_full"
    return ctx.t(
        key,
        title=session.title[ctx.lang],
        when=_when(ctx, session),
        place=session.place,
        village=session.village,
        seats=str(session.seats_left),
        code=session.code,
        description=session.description,  # "bring your KTP and KK": a line only when set
    )


@feature.action(Registrations)
async def my_registrations(ctx: Ctx, action: Registrations) -> Outcome:
    bookings = await registrations.bookings_of(ctx.db, ctx.person.id)
    if not bookings:
        reply = Reply(ctx.t("registrations_none"), (ctx.link("sessions"), ctx.back()))
        return outcome("registrations", reply)
    entries, buttons = [], []
    for session, booking in bookings:
        position = str(booking.waitlist_position or "")
        entries.append(
            ctx.t(
                "registration_entry",
                title=session.title[ctx.lang],
                when=_when(ctx, session),
                status=ctx.t(f"status_{booking.status}", position=position),
                booking=booking.booking_code,
            )
        )
        if booking.status != "attended":  # the button names the session, not only the code
            title = f"{_short(session.title[ctx.lang])}, {_day(ctx, session)}"
            buttons.append(
                ctx.row("button_cancel_booking", CancelBooking(booking.booking_code), title=title)
            )
    text = "\n\n".join([ctx.t("registrations_header"), *entries])
    return outcome("registrations", Reply(text, (*buttons, ctx.back())))


# -- signing up -------------------------------------------------------------------------------


@feature.action(Register, keeps_flow=True)
async def register_button(ctx: Ctx, action: Register) -> Outcome:
    if not sessions.normalise_code(action.code):
        raise Stale
    return await start(ctx, action.code)


@feature.text(daftar_code, priority=Priority.GLOBAL, leaves_flow=True, what="DAFTAR <code>")
async def register_by_word(ctx: Ctx, code: str) -> Outcome:
    """ "DAFTAR <session code>", typed: signed up (or asked for the profile first)."""
    return await start(ctx, code)


async def start(ctx: Ctx, code: str) -> Outcome:
    """A tap on "Daftar", or "DAFTAR <code>": sign up now, or first ask for the profile."""
    session = await sessions.get_session(ctx.db, code)
    if session is None:
        note = ctx.t("unknown_session", code=sessions.normalise_code(code))
        return await schedule(ctx, note)
    if ctx.person.has_profile:
        return await _register(ctx, ctx.person, session.code)
    # what they answer stays in the flow, and reaches their profile only with consent
    state = {"step": "name", "session": session.code, "answers": {}, "started": utc_now()}
    if ctx.person.full_name:
        state["step"] = "village"
        state["answers"] = {"full_name": ctx.person.full_name}
    await ctx.set_flow(state)
    return _ask(ctx, state["step"])


def _ask(ctx: Ctx, step: str, name: str = "") -> Outcome:
    if step == "name":
        return outcome("signup_ask_name", Reply(ctx.t("ask_name")))
    if step == "village":
        villages = tuple(
            (Button(v, Village(i).pack()),) for i, v in enumerate(ctx.settings.villages)
        )
        other = ctx.row("button_village_other", OtherVillage())
        text = ctx.t("ask_village", name=name or ctx.person.full_name or ctx.person.display_name)
        return outcome("signup_ask_village", Reply(text, (*villages, other)))
    if step == "village_other":
        return outcome("signup_ask_village", Reply(ctx.t("ask_village_other")))
    if step == "phone":
        share = (ctx.t("button_share_phone"), ctx.t("button_skip"))
        return outcome("signup_ask_phone", Reply(ctx.t("ask_phone"), share_contact=share))
    buttons: Rows = (
        ctx.row("button_agree", Consent("yes")),
        ctx.row("button_disagree", Consent("no")),
    )
    text = ctx.t("consent", days=str(ctx.settings.retention_days))
    return outcome("signup_ask_consent", Reply(text, buttons))


@feature.step(find=exit_word, what="batal, menu, cancel, keluar")
async def leave(ctx: Ctx) -> Outcome:
    """Typed at any question of the sign-up: they changed their mind. The flow ends (what
    they gave goes with it), the main menu."""
    await ctx.leave_flow()
    return await ctx.go("menu")


@feature.step("name")
async def name_given(ctx: Ctx) -> Outcome:
    name = " ".join(ctx.message.text.split())
    if not _NAME.match(name):
        return outcome("signup_bad_name", Reply(ctx.t("name_invalid")))
    return await _next(ctx, "village", full_name=name)


@feature.step(*VILLAGE_STEPS)
async def village_typed(ctx: Ctx) -> Outcome:
    """Typed instead of pressed (easier on some phones): a known village is written as
    configured, anything else is taken as the name of their village."""
    state = ctx.flow or {}
    village = " ".join(ctx.message.text.split())[:60]
    if not re.search(r"[^\W\d_]", village):
        return _ask(ctx, state["step"])
    known = {v.lower(): v for v in ctx.settings.villages}
    return await _next(ctx, "phone", village=known.get(village.lower(), village))


@feature.action(Village, steps=VILLAGE_STEPS)
async def village_pressed(ctx: Ctx, action: Village) -> Outcome:
    if action.index >= len(ctx.settings.villages):
        raise Stale
    return await _next(ctx, "phone", village=ctx.settings.villages[action.index])


@feature.action(OtherVillage, steps=VILLAGE_STEPS)
async def other_village(ctx: Ctx, action: OtherVillage) -> Outcome:
    return await _next(ctx, "village_other")


@feature.step("phone", kinds=(Kind.TEXT, Kind.CONTACT))
async def phone_given(ctx: Ctx) -> Outcome:
    text = ctx.message.text.strip()
    skip_words = _SKIP_WORDS | {ctx.t("button_skip").lower()}
    if ctx.message.kind is Kind.TEXT and text.lower() in skip_words:
        phone = None
    else:
        phone = phone_number(text)
        if phone is None:
            return outcome("signup_bad_phone", Reply(ctx.t("phone_invalid")))
    asked = await _next(ctx, "consent", phone=phone)
    noted = Reply(ctx.t("phone_noted"), remove_keyboard=True)
    return outcome(asked.handled.action, noted, *asked.replies)


@feature.action(Consent, steps=("consent",))
async def consent(ctx: Ctx, action: Consent) -> Outcome:
    state = ctx.flow or {}
    await ctx.leave_flow()  # their answers go with the flow...
    if action.answer == "no":
        return outcome("signup_declined", Reply(ctx.t("consent_declined"), ctx.menu()))
    answers = state.get("answers") or {}  # ...or, with consent, into their profile
    profile = {k: answers.get(k) for k in ("full_name", "village", "phone")}
    await people.update_profile(ctx.db, ctx.person.id, **profile, consent_at=utc_now())
    return await _register(ctx, replace(ctx.person, **profile), state["session"])


async def _next(ctx: Ctx, step: str, **answers: str | None) -> Outcome:
    """On to the next question, keeping the answers given so far in the flow."""
    state = ctx.flow or {}
    state = {**state, "step": step, "answers": {**state.get("answers", {}), **answers}}
    await ctx.set_flow(state)
    return _ask(ctx, step, state["answers"].get("full_name") or "")


async def _register(ctx: Ctx, person: Person, code: str) -> Outcome:
    try:
        registration = await registrations.register(
            ctx.db, code, person.id, policy=ctx.settings.policy
        )
    except sessions.SessionError as exc:
        key = "unknown_session" if exc.reason == "unknown_session" else "session_closed"
        return await schedule(ctx, ctx.t(key, code=code))
    session = await sessions.get_session(ctx.db, code)
    assert session is not None
    values = {
        "title": session.title[ctx.lang],
        "when": _when(ctx, session),
        "place": session.place,
        "village": session.village,
        "booking": registration.booking_code,
        "position": str(registration.waitlist_position or ""),
        "description": session.description,
    }
    if registration.already:
        key = "already_registered"
    else:
        key = "registered" if registration.status == "confirmed" else "waitlisted"
    text = ctx.t(key, **values)
    other = await registrations.overlapping_title(ctx.db, person.id, session)
    if other:
        text += "\n\n" + ctx.t("overlap_warning", other=other["en" if ctx.lang == "en" else "id"])
    reply = Reply(text, (ctx.link("registrations"), ctx.back()))
    return outcome(f"signup_{registration.status}", reply)


# -- cancelling ---------------------------------------------------------------------------------


@feature.action(CancelBooking, keeps_flow=True)
async def cancel_button(ctx: Ctx, action: CancelBooking) -> Outcome:
    if not sessions.normalise_code(action.booking):
        raise Stale
    return await ask_cancel(ctx, action.booking)


@feature.text(batal_code, priority=Priority.GLOBAL, leaves_flow=True, what="BATAL <booking code>")
async def cancel_by_word(ctx: Ctx, code: str) -> Outcome:
    """ "BATAL <booking code>", typed: asked once, as from the button."""
    return await ask_cancel(ctx, code)


async def _booking(ctx: Ctx, code: str) -> tuple[Session, registrations.Registration] | None:
    """One of the person's own bookings that can still be cancelled."""
    code = sessions.normalise_code(code)
    for session, booking in await registrations.bookings_of(ctx.db, ctx.person.id):
        if booking.booking_code == code and booking.status != "attended":
            return session, booking
    return None


def _unknown(ctx: Ctx, code: str) -> Outcome:
    code = sessions.normalise_code(code)
    reply = Reply(ctx.t("unknown_booking", code=code), (ctx.link("registrations"), ctx.back()))
    return outcome("cancel_unknown", reply)


def _session_values(ctx: Ctx, session: Session) -> dict[str, str]:
    return {
        "title": session.title[ctx.lang], "when": _when(ctx, session),
        "place": session.place, "village": session.village,
    }  # fmt: skip


async def ask_cancel(ctx: Ctx, code: str) -> Outcome:
    """ "Yakin batal ...?": the session named, with its day and place, before anything goes."""
    found = await _booking(ctx, code)
    if found is None:
        return _unknown(ctx, code)
    session, booking = found
    text = ctx.t("cancel_ask", **_session_values(ctx, session))
    buttons = (
        ctx.row("button_cancel_yes", CancelConfirmed(booking.booking_code)),
        ctx.link("registrations"),
    )
    return outcome("cancel_asked", Reply(text, buttons))


@feature.action(CancelConfirmed, keeps_flow=True)
async def cancel_confirmed(ctx: Ctx, action: CancelConfirmed) -> Outcome:
    """Cancelled: the seat goes to the first person waiting; the reply names the session."""
    found = await _booking(ctx, action.booking)
    if found is None:  # cancelled already (a second tap), or not theirs
        return _unknown(ctx, action.booking)
    session, _ = found
    try:
        cancelled, _ = await registrations.cancel_registration(
            ctx.db, action.booking, ctx.person.id, ctx.settings.policy
        )
    except sessions.SessionError:
        return _unknown(ctx, action.booking)
    values = {**_session_values(ctx, session), "booking": cancelled.booking_code}
    text = ctx.t("booking_cancelled", **values)
    return outcome("cancel_booking", Reply(text, (ctx.link("sessions"), ctx.back())))


# -- reminders and notices, rendered when the delivery worker sends them ---------------------


@feature.renders(
    "reminder_day_before", "reminder_soon", "notice_promoted", "notice_session_changed",
    "notice_session_cancelled",
)  # fmt: skip
def session_notice(out: Outgoing) -> Reply | None:
    """A reminder or notice about a session, with the session as it is now."""
    session = out.session
    if session is None:
        return None
    if session.status == "cancelled" and out.text_key != "notice_session_cancelled":
        return None  # a reminder or promotion for a cancelled session: nothing to say
    values = {
        "title": session.title.get(out.lang, session.title["id"]),
        "when": _when(out, session),
        "place": session.place,
        "village": session.village,
        **out.values,
    }
    text = out.t(out.text_key, **values)
    return Reply(text, (out.link("registrations"), out.back()))
