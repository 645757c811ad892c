"""Staff tools in the chat: sessions created, rescheduled and cancelled by guided steps ending
in a confirm button, attendee lists as a CSV file, check-in at the door by booking code.

Staff are recognised by channel and numeric user id from config.yaml, never by name; to anyone
else these commands do not exist (they get the reply to any unknown command). Half-done steps
live in people.flow like a villager's sign-up, so a restart loses nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import sessions, stats
from bot.dates import when
from bot.message_log import Handled
from bot.messages import Button, Incoming, Kind, Reply
from bot.people import Person, set_flow
from bot.staff_broadcast import BroadcastSteps

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

STAFF_COMMANDS = (
    "sesi", "sesi_baru", "peserta", "hadir", "ubah_sesi", "batal_sesi",
    "umumkan", "pengumuman", "statistik", "belum_terjawab",
)  # fmt: skip
MAX_SEATS = 10_000
NEW_STEPS = ("title", "village", "place", "start", "end", "capacity")


class StaffTools:
    def __init__(self, conversation: Conversation) -> None:
        self.c = conversation
        self.broadcast = BroadcastSteps(self)

    def _t(self, person: Person, key: str, **values: str) -> str:
        return self.c._t(person, key, **values)

    def _out(self, text: str, action: str, buttons=(), document=None) -> Outcome:
        from bot.conversation import Outcome

        return Outcome([Reply(text, tuple(buttons), document=document)], Handled(f"staff_{action}"))

    def _example(self) -> str:
        """A date a week ahead at 09:00, in the format staff must type."""
        week = datetime.now(self.c.timezone) + timedelta(days=7)
        return week.strftime("%Y-%m-%d 09:00")

    async def command(self, person: Person, name: str, argument: str) -> Outcome:
        await set_flow(self.c.db, person.id, None)
        if name == "sesi":
            return await self._list(person)
        if name == "sesi_baru":
            return await self._step(person, {"staff": "new", "step": "title", "draft": {}})
        if name == "umumkan":
            return await self.broadcast.start(person)
        if name == "pengumuman":
            return await self.broadcast.listing(person)
        if name == "statistik":
            report = await stats.report(self.c.db, self.c.texts, person.lang, self.c)
            return self._out(report, "stats")
        if name == "belum_terjawab":
            report = await stats.unanswered_report(self.c.db, self.c.texts, person.lang, self.c)
            return self._out(report, "unanswered")
        if not sessions.normalise_code(argument):
            return self._out(self._t(person, "staff_help"), "help")
        if name == "peserta":
            return await self._attendees(person, argument)
        if name == "hadir":
            return await self._check_in(person, argument)
        session = await sessions.get_session(self.c.db, argument)
        if session is None or session.status == "cancelled":
            code = sessions.normalise_code(argument)
            return self._out(self._t(person, "staff_unknown_session", code=code), "unknown")
        if name == "batal_sesi":
            buttons = [
                (Button(self._t(person, "button_yes_cancel"), f"st:cancel:{session.code}"),),
                (Button(self._t(person, "button_no"), "st:discard"),),
            ]
            text = self._t(
                person, "staff_cancel_confirm", code=session.code, title=session.title["id"]
            )
            return self._out(text, "cancel_ask", buttons)
        flow = {"staff": "move", "step": "start", "code": session.code, "draft": {}}
        return await self._step(person, flow)

    async def _list(self, person: Person) -> Outcome:
        upcoming = await sessions.upcoming_sessions(self.c.db)
        if not upcoming:
            return self._out(self._t(person, "staff_no_sessions"), "list")
        lines = [self._t(person, "staff_sessions_header")]
        buttons = []
        for s in upcoming:
            lines.append(
                self._t(
                    person,
                    "staff_session_line",
                    code=s.code,
                    when=when(s.starts_at, s.ends_at, self.c.timezone, person.lang),
                    title=s.title[person.lang],
                    place=s.place,
                    village=s.village,
                    confirmed=str(s.confirmed),
                    capacity=str(s.capacity),
                    waitlisted=str(s.waitlisted),
                )
            )
            buttons.append(
                (
                    Button(
                        self._t(person, "button_staff_attendees", code=s.code), f"st:att:{s.code}"
                    ),
                    Button(self._t(person, "button_staff_cancel", code=s.code), f"st:ask:{s.code}"),
                )
            )
        return self._out("\n\n".join(lines), "list", buttons)

    async def _attendees(self, person: Person, code: str) -> Outcome:
        try:
            rows = await sessions.attendees(self.c.db, code)
        except sessions.SessionError:
            text = self._t(person, "staff_unknown_session", code=sessions.normalise_code(code))
            return self._out(text, "unknown")
        code = sessions.normalise_code(code)
        count = {status: sum(r.status == status for r in rows) for status in sessions.ACTIVE}
        text = self._t(
            person,
            "staff_attendees",
            code=code,
            confirmed=str(count["confirmed"]),
            waitlisted=str(count["waitlisted"]),
            attended=str(count["attended"]),
        )
        document = (f"peserta-{code}.csv", sessions.attendees_csv(rows).encode("utf-8"))
        return self._out(text, "attendees", document=document)

    async def _check_in(self, person: Person, booking: str) -> Outcome:
        code = sessions.normalise_code(booking)
        try:
            registration = await sessions.check_in(self.c.db, code)
        except sessions.SessionError as exc:
            if exc.reason == "unknown_booking":
                return self._out(self._t(person, "staff_unknown_booking", code=code), "unknown")
            row = await self.c.db.fetchone(
                "SELECT status FROM registrations WHERE booking_code = ?", (code,)
            )
            status = row["status"] if row else "?"
            return self._out(
                self._t(person, "staff_not_confirmed", code=code, status=status), "checkin_refused"
            )
        row = await self.c.db.fetchone(
            "SELECT coalesce(p.full_name, p.display_name) AS name FROM registrations r"
            " JOIN people p ON p.id = r.person_id WHERE r.booking_code = ?",
            (registration.booking_code,),
        )
        name = row["name"] if row else ""
        return self._out(self._t(person, "staff_checked_in", booking=code, name=name), "checkin")

    # -- guided steps ---------------------------------------------------------------------

    async def _step(self, person: Person, flow: dict, problem: str = "") -> Outcome:
        await set_flow(self.c.db, person.id, flow)
        step = flow["step"]
        note = f"{problem}\n\n" if problem else ""
        if step == "confirm":
            return self._confirm(person, flow, note)
        values = {"timezone": self._zone(), "example": self._example()}
        text = note + self._t(person, f"staff_ask_{step}", **values)
        buttons = []
        if step == "village":
            buttons = [(Button(v, f"st:vil:{i}"),) for i, v in enumerate(self.c.villages)]
            buttons.append((Button(self._t(person, "button_village_other"), "st:vil:other"),))
        return self._out(text, f"ask_{step}", buttons)

    def _zone(self) -> str:
        return datetime.now(self.c.timezone).tzname() or str(self.c.timezone)

    def _confirm(self, person: Person, flow: dict, note: str) -> Outcome:
        draft = flow["draft"]
        starts = datetime.fromisoformat(draft["start"])
        ends = datetime.fromisoformat(draft["end"])
        text = note + self._t(
            person,
            "staff_confirm",
            title=draft.get("title", ""),
            when=when(starts, ends, self.c.timezone, person.lang),
            place=draft.get("place", ""),
            village=draft.get("village", ""),
            capacity=str(draft.get("capacity", "")),
        )
        buttons = [
            (Button(self._t(person, "button_save"), "st:save"),),
            (Button(self._t(person, "button_discard"), "st:discard"),),
        ]
        return self._out(text, "confirm", buttons)

    async def answer(self, person: Person, message: Incoming) -> Outcome | None:
        """Typed input during a staff flow; None when it is not part of one."""
        flow = person.flow or {}
        if not flow.get("staff") or message.kind is not Kind.TEXT:
            return None
        if flow["staff"] == "announce":
            return await self.broadcast.answer(person, flow, message)
        text = " ".join(message.text.split())
        step, draft = flow["step"], dict(flow["draft"])
        if step in ("title", "village_other", "place"):
            if not text:
                return await self._step(person, flow)
            draft["village" if step == "village_other" else step] = text[:100]
        elif step in ("start", "end"):
            try:
                moment = sessions.parse_local(text, self.c.timezone, step)
            except sessions.SessionError:
                problem = self._t(person, "staff_bad_date", example=self._example())
                return await self._step(person, flow, problem)
            draft[step] = moment.isoformat()
        elif step == "capacity":
            if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= MAX_SEATS:
                return await self._step(person, flow, self._t(person, "staff_bad_capacity"))
            draft["capacity"] = int(text)
        else:
            return None
        return await self._step(person, {**flow, "draft": draft, "step": self._after(flow, step)})

    def _after(self, flow: dict, step: str) -> str:
        if flow["staff"] == "move":
            return {"start": "end", "end": "confirm"}[step]
        if step == "village_other":
            return "place"
        following = NEW_STEPS.index(step) + 1
        return NEW_STEPS[following] if following < len(NEW_STEPS) else "confirm"

    async def button(self, person: Person, action: str, argument: str) -> Outcome | None:
        flow = person.flow or {}
        if action == "bc":
            return await self.broadcast.button(person, flow, argument)
        if action in ("att", "ask", "cancel") and not sessions.normalise_code(argument):
            return self._out(self._t(person, "staff_help"), "help")
        if action == "att":
            return await self._attendees(person, argument)
        if action == "ask":
            return await self.command(person, "batal_sesi", argument)
        if action == "cancel":
            return await self._cancel(person, argument)
        if action == "discard":
            await set_flow(self.c.db, person.id, None)
            return self._out(self._t(person, "staff_discarded"), "discarded")
        if action == "vil" and flow.get("step") == "village":
            if argument == "other":
                return await self._step(person, {**flow, "step": "village_other"})
            if re.fullmatch(r"[0-9]{1,3}", argument) and int(argument) < len(self.c.villages):
                draft = {**flow["draft"], "village": self.c.villages[int(argument)]}
                return await self._step(person, {**flow, "draft": draft, "step": "place"})
        if action == "save" and flow.get("step") == "confirm":
            return await self._save(person, flow)
        return None

    async def _save(self, person: Person, flow: dict) -> Outcome:
        draft = flow["draft"]
        starts = datetime.fromisoformat(draft["start"])
        ends = datetime.fromisoformat(draft["end"])
        try:
            if flow["staff"] == "move":
                before = await self._registrants(flow["code"])
                session = await sessions.edit_session(
                    self.c.db, flow["code"], starts=starts, ends=ends, policy=self.c.policy
                )
            else:
                session = await sessions.create_session(
                    self.c.db,
                    title_id=draft["title"],
                    title_en=draft["title"],
                    village=draft["village"],
                    place=draft["place"],
                    starts=starts,
                    ends=ends,
                    capacity=draft["capacity"],
                )
        except sessions.SessionError as exc:
            key = (
                f"staff_{exc.reason}"
                if exc.reason in ("bad_times", "in_past")
                else "staff_bad_date"
            )
            problem = self._t(person, key, example=self._example())
            return await self._step(person, {**flow, "step": "start"}, problem)
        await set_flow(self.c.db, person.id, None)
        if flow["staff"] == "move":
            text = self._t(
                person,
                "staff_moved",
                code=session.code,
                when=when(session.starts_at, session.ends_at, self.c.timezone, person.lang),
                count=str(before),
            )
            return self._out(text, "moved")
        return self._out(self._t(person, "staff_saved", code=session.code), "created")

    async def _registrants(self, code: str) -> int:
        session = await sessions.get_session(self.c.db, code)
        return (session.confirmed + session.waitlisted) if session else 0

    async def _cancel(self, person: Person, code: str) -> Outcome:
        count = await self._registrants(code)
        try:
            session = await sessions.cancel_session(self.c.db, code)
        except sessions.SessionError:
            text = self._t(person, "staff_unknown_session", code=sessions.normalise_code(code))
            return self._out(text, "unknown")
        return self._out(
            self._t(person, "staff_cancelled", code=session.code, count=str(count)), "cancelled"
        )
