"""The villager's side of sessions: the schedule, signing up, their registrations, cancelling.

The first sign-up asks, one message at a time, for a name, the village, an optional phone
number and consent; the step reached is kept in the database (people.flow), so a restart in
the middle loses nothing. After that, signing up takes one tap (menu → schedule → Daftar), or
one message for weak signal: "DAFTAR <session code>"; "BATAL <booking code>" cancels.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import sessions
from bot.dates import when
from bot.message_log import Handled
from bot.messages import Button, Incoming, Kind, Reply
from bot.people import Person, set_flow, update_profile
from bot.store import utc_now

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

MAX_LISTED = 8  # sessions shown at once: a long schedule is hard to read on a small screen
BUTTON_TITLE = 28  # characters of a session title on its button
_COMMAND = re.compile(r"^\s*(daftar|batal)\s+([0-9a-z\- ]{3,12})\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .,'\-]){1,59}$")  # letters, no digits
_SKIP_WORDS = {"lewati", "skip", "tidak", "no", "-"}
EXIT_WORDS = {"batal", "menu", "cancel", "keluar", "stop", "berhenti"}
SESSIONS = ("button_sessions", "sessions")
MINE = ("button_registrations", "registrations")


def parse_command(text: str) -> tuple[str, str] | None:
    """ "daftar k7qa" → ("daftar", "K7QA"); None when the text is something else."""
    found = _COMMAND.match(text)
    return (found.group(1).lower(), sessions.normalise_code(found.group(2))) if found else None


def phone_number(text: str) -> str | None:
    """An Indonesian or international phone number as digits with a leading +, or None."""
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    return f"+{digits}" if digits.isdigit() and 9 <= len(digits) <= 15 else None


class SignUp:
    def __init__(self, conversation: Conversation) -> None:
        self.c = conversation

    # -- what the villager sees -----------------------------------------------------------

    def _t(self, person: Person, key: str, **values: str) -> str:
        return self.c._t(person, key, **values)

    def _nav(self, person: Person, *buttons: tuple[str, str]) -> tuple[tuple[Button, ...], ...]:
        """Rows of (text key, action) buttons, then "Main menu"."""
        rows = tuple(self.c._button_for(person, key, action) for key, action in buttons)
        return (*rows, self.c._back_to_menu(person))

    def _when(self, person: Person, session: sessions.Session) -> str:
        return when(session.starts_at, session.ends_at, self.c.timezone, person.lang)

    def _outcome(self, replies: list[Reply], action: str) -> Outcome:
        from bot.conversation import Outcome

        return Outcome(replies, Handled(action))

    async def schedule(self, person: Person, note: str = "") -> Outcome:
        upcoming = (await sessions.upcoming_sessions(self.c.db))[:MAX_LISTED]
        if not upcoming:
            buttons = (
                self.c._button_for(person, "button_contact", "contact"),
                self.c._back_to_menu(person),
            )
            text = "\n\n".join(filter(None, [note, self._t(person, "sessions_none")]))
            return self._outcome([Reply(text, buttons)], "sessions")
        entries = [self._entry(person, s) for s in upcoming]
        footer = self._t(person, "sessions_footer", example=upcoming[0].code)
        text = "\n\n".join(
            filter(None, [note, self._t(person, "sessions_header"), *entries, footer])
        )
        buttons = tuple(
            (
                Button(
                    self._t(person, "button_register", title=_short(s.title[person.lang])),
                    f"reg:{s.code}",
                ),
            )
            for s in upcoming
        )
        return self._outcome([Reply(text, (*buttons, self.c._back_to_menu(person)))], "sessions")

    def _register_label(self, person: Person, session: sessions.Session) -> str:
        return self._t(person, "button_register", title=_short(session.title[person.lang]))

    def _entry(self, person: Person, session: sessions.Session) -> str:
        key = "session_entry" if session.seats_left else "session_entry_full"
        return self._t(
            person,
            key,
            title=session.title[person.lang],
            when=self._when(person, session),
            place=session.place,
            village=session.village,
            seats=str(session.seats_left),
            code=session.code,
        )

    async def registrations(self, person: Person) -> Outcome:
        bookings = await sessions.bookings_of(self.c.db, person.id)
        if not bookings:
            reply = Reply(self._t(person, "registrations_none"), self._nav(person, SESSIONS))
            return self._outcome([reply], "registrations")
        entries, buttons = [], []
        for session, booking in bookings:
            position = str(booking.waitlist_position or "")
            entries.append(
                self._t(
                    person,
                    "registration_entry",
                    title=session.title[person.lang],
                    when=self._when(person, session),
                    status=self._t(person, f"status_{booking.status}", position=position),
                    booking=booking.booking_code,
                )
            )
            if booking.status != "attended":
                label = self._t(person, "button_cancel_booking", booking=booking.booking_code)
                buttons.append((Button(label, f"cxl:{booking.booking_code}"),))
        text = "\n\n".join([self._t(person, "registrations_header"), *entries])
        reply = Reply(text, (*buttons, self.c._back_to_menu(person)))
        return self._outcome([reply], "registrations")

    # -- signing up -----------------------------------------------------------------------

    async def start(self, person: Person, code: str) -> Outcome:
        """A tap on "Daftar", or "DAFTAR <code>": sign up now, or first ask for the profile."""
        session = await sessions.get_session(self.c.db, code)
        if session is None:
            note = self._t(person, "unknown_session", code=sessions.normalise_code(code))
            return await self.schedule(person, note)
        if person.has_profile:
            return await self._register(person, session.code)
        # what they answer stays in the flow, and reaches their profile only with consent
        flow = {"step": "name", "session": session.code, "answers": {}, "started": utc_now()}
        if person.full_name:
            flow["step"] = "village"
            flow["answers"] = {"full_name": person.full_name}
        await set_flow(self.c.db, person.id, flow)
        return self._ask(person, flow["step"])

    def _ask(self, person: Person, step: str) -> Outcome:
        if step == "name":
            return self._outcome([Reply(self._t(person, "ask_name"))], "signup_ask_name")
        if step == "village":
            villages = tuple((Button(v, f"vil:{i}"),) for i, v in enumerate(self.c.villages))
            other = self.c._button_for(person, "button_village_other", "vil:other")
            text = self._t(person, "ask_village", name=person.full_name or person.display_name)
            return self._outcome([Reply(text, (*villages, other))], "signup_ask_village")
        if step == "village_other":
            return self._outcome(
                [Reply(self._t(person, "ask_village_other"))], "signup_ask_village"
            )
        if step == "phone":
            reply = Reply(
                self._t(person, "ask_phone"),
                share_contact=(
                    self._t(person, "button_share_phone"),
                    self._t(person, "button_skip"),
                ),
            )
            return self._outcome([reply], "signup_ask_phone")
        buttons = (
            self.c._button_for(person, "button_agree", "consent:yes"),
            self.c._button_for(person, "button_disagree", "consent:no"),
        )
        text = self._t(person, "consent", days=str(self.c.privacy.retention_days))
        return self._outcome([Reply(text, buttons)], "signup_ask_consent")

    async def answer(self, person: Person, message: Incoming) -> Outcome | None:
        """A message while a sign-up is in progress; None when it is not part of the flow."""
        flow = person.flow or {}
        step = flow.get("step")
        if message.kind is Kind.TEXT and (
            parse_command(message.text) or message.text.strip().lower() in EXIT_WORDS
        ):
            await set_flow(self.c.db, person.id, None)  # they changed their mind: leave the flow
            if parse_command(message.text):
                return None  # DAFTAR / BATAL is handled as usual
            return self._outcome(
                [Reply(self._t(person, "menu"), self.c._menu_buttons(person))], "menu"
            )
        if step == "name" and message.kind is Kind.TEXT:
            name = " ".join(message.text.split())
            if not _NAME.match(name):
                return self._outcome([Reply(self._t(person, "name_invalid"))], "signup_bad_name")
            return await self._next(person, flow, "village", full_name=name)
        if step in ("village", "village_other") and message.kind is Kind.TEXT:
            # typed instead of pressed (easier on some phones): a known village is written as
            # configured, anything else is taken as the name of their village
            village = " ".join(message.text.split())[:60]
            if not re.search(r"[^\W\d_]", village):
                return self._ask(person, step)
            known = {v.lower(): v for v in self.c.villages}
            village = known.get(village.lower(), village)
            return await self._next(person, flow, "phone", village=village)
        if step == "phone" and message.kind in (Kind.TEXT, Kind.CONTACT):
            return await self._phone(person, flow, message)
        return None

    async def button(self, person: Person, name: str, argument: str) -> Outcome | None:
        flow = person.flow or {}
        if name in ("reg", "cxl") and not sessions.normalise_code(argument):
            return None  # a button without a code: stale or forged
        if name == "reg":
            return await self.start(person, argument)
        if name == "cxl":
            return await self.cancel(person, argument)
        if name == "vil" and flow.get("step") in ("village", "village_other"):
            if argument == "other":
                return await self._next(person, flow, "village_other")
            if re.fullmatch(r"[0-9]{1,3}", argument) and int(argument) < len(self.c.villages):
                village = self.c.villages[int(argument)]
                return await self._next(person, flow, "phone", village=village)
        if name == "consent" and flow.get("step") == "consent" and argument in ("yes", "no"):
            await set_flow(self.c.db, person.id, None)  # their answers go with the flow...
            if argument == "no":
                reply = Reply(self._t(person, "consent_declined"), self.c._menu_buttons(person))
                return self._outcome([reply], "signup_declined")
            answers = flow.get("answers") or {}  # ...or, with consent, into their profile
            profile = {k: answers.get(k) for k in ("full_name", "village", "phone")}
            await update_profile(self.c.db, person.id, **profile, consent_at=utc_now())
            return await self._register(replace(person, **profile), flow["session"])
        return None

    async def _phone(self, person: Person, flow: dict, message: Incoming) -> Outcome:
        text = message.text.strip()
        skip_words = _SKIP_WORDS | {self._t(person, "button_skip").lower()}
        if message.kind is Kind.TEXT and text.lower() in skip_words:
            phone = None
        else:
            phone = phone_number(text)
            if phone is None:
                return self._outcome([Reply(self._t(person, "phone_invalid"))], "signup_bad_phone")
        outcome = await self._next(person, flow, "consent", phone=phone)
        noted = Reply(self._t(person, "phone_noted"), remove_keyboard=True)
        return self._outcome([noted, *outcome.replies], outcome.handled.action)

    async def _next(self, person: Person, flow: dict, step: str, **answers: str | None) -> Outcome:
        """On to the next question, keeping the answers given so far in the flow."""
        flow = {**flow, "step": step, "answers": {**flow.get("answers", {}), **answers}}
        await set_flow(self.c.db, person.id, flow)
        known = {k: v for k, v in flow["answers"].items() if k in ("full_name", "village")}
        return self._ask(replace(person, flow=flow, **known), step)

    async def _register(self, person: Person, code: str) -> Outcome:
        try:
            registration = await sessions.register(self.c.db, code, person.id, policy=self.c.policy)
        except sessions.SessionError as exc:
            key = "unknown_session" if exc.reason == "unknown_session" else "session_closed"
            return await self.schedule(person, self._t(person, key, code=code))
        session = await sessions.get_session(self.c.db, code)
        assert session is not None
        values = {
            "title": session.title[person.lang],
            "when": self._when(person, session),
            "place": session.place,
            "village": session.village,
            "booking": registration.booking_code,
            "position": str(registration.waitlist_position or ""),
        }
        if registration.already:
            key = "already_registered"
        else:
            key = "registered" if registration.status == "confirmed" else "waitlisted"
        text = self._t(person, key, **values)
        overlap = await self._overlap(person, session)
        if overlap:
            text += "\n\n" + self._t(person, "overlap_warning", other=overlap)
        return self._outcome(
            [Reply(text, self._nav(person, MINE))], f"signup_{registration.status}"
        )

    async def _overlap(self, person: Person, session: sessions.Session) -> str:
        """The title of another active booking whose time overlaps this session's, if any."""
        row = await self.c.db.fetchone(
            "SELECT s.title_id, s.title_en FROM registrations r JOIN sessions s"
            " ON s.id = r.session_id WHERE r.person_id = ? AND r.status != 'cancelled'"
            " AND s.status = 'scheduled' AND s.id != ? AND s.starts_at < ? AND s.ends_at > ?",
            (
                person.id,
                session.id,
                session.ends_at.isoformat(timespec="seconds"),
                session.starts_at.isoformat(timespec="seconds"),
            ),
        )
        if row is None:
            return ""
        return row["title_en"] if person.lang == "en" else row["title_id"]

    async def cancel(self, person: Person, booking: str) -> Outcome:
        try:
            cancelled, _ = await sessions.cancel_registration(
                self.c.db, booking, person.id, self.c.policy
            )
        except sessions.SessionError:
            code = sessions.normalise_code(booking)
            reply = Reply(
                self._t(person, "unknown_booking", code=code),
                (
                    self.c._button_for(person, "button_registrations", "registrations"),
                    self.c._back_to_menu(person),
                ),
            )
            return self._outcome([reply], "cancel_unknown")
        text = self._t(person, "booking_cancelled", booking=cancelled.booking_code)
        buttons = (
            self.c._button_for(person, "button_sessions", "sessions"),
            self.c._back_to_menu(person),
        )
        return self._outcome([Reply(text, buttons)], "cancel_booking")


def _short(title: str) -> str:
    return title if len(title) <= BUTTON_TITLE else title[: BUTTON_TITLE - 1].rstrip() + "…"
