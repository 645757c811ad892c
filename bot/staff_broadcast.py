"""Staff write an announcement in the chat, in guided steps:

text (Indonesian) → text in English or skip → audience (everyone, villages, a session's
registrants) → office → preview exactly as villagers will see it, with the number of
recipients → send now, or at a chosen time. The draft lives in people.flow, so a restart in
the middle loses nothing. ``/pengumuman`` lists recent announcements with their delivery
figures and a cancel button while they are still going out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import broadcasts, sessions
from bot.broadcasts import Audience, BroadcastError
from bot.messages import Button, Incoming, Kind, Reply
from bot.people import Person, set_flow

if TYPE_CHECKING:
    from bot.conversation import Outcome
    from bot.staff import StaffTools

LISTED = 8  # announcements in /pengumuman
MAX_VILLAGE_BUTTONS = 60  # Telegram allows 100 buttons in one message
PREVIEW_CHARS = 80


class BroadcastSteps:
    def __init__(self, staff: StaffTools) -> None:
        self.staff = staff
        self.c = staff.c

    def _t(self, person: Person, key: str, **values: str) -> str:
        return self.c._t(person, key, **values)

    def _button(self, person: Person, key: str, action: str, **values: str) -> Button:
        return Button(self._t(person, key, **values), action)

    async def start(self, person: Person) -> Outcome:
        return await self._step(person, {"staff": "announce", "step": "text", "draft": {}})

    async def _step(self, person: Person, flow: dict, problem: str = "") -> Outcome:
        await set_flow(self.c.db, person.id, flow)
        step, draft = flow["step"], flow["draft"]
        note = f"{problem}\n\n" if problem else ""
        buttons: list[tuple[Button, ...]] = []
        if step == "text":
            text = self._t(person, "staff_bc_ask_text", max=str(broadcasts.MAX_TEXT))
        elif step == "text_en":
            text = self._t(person, "staff_bc_ask_text_en")
            buttons.append((self._button(person, "button_skip", "st:bc:skip_en"),))
        elif step == "audience":
            text = self._t(person, "staff_bc_ask_audience")
            buttons = await self._audience_buttons(person, draft)
        elif step == "session":
            text = self._t(person, "staff_bc_ask_session")
            for s in (await sessions.upcoming_sessions(self.c.db))[:LISTED]:
                label = f"{s.code} · {s.title['id'][:40]}"
                buttons.append((Button(label, f"st:bc:s:{s.code}"),))
        elif step == "office":
            text = self._t(person, "staff_bc_ask_office")
            for key in ("bp3mi", "imigrasi"):
                name = self.c.texts.office_values.get(f"{key}.name", key)
                buttons.append((Button(name[:60], f"st:bc:o:{key}"),))
        elif step == "at":
            text = self._t(
                person,
                "staff_bc_ask_time",
                timezone=self.staff._zone(),
                example=self.staff._example(),
            )
        else:
            return await self._preview(person, flow, note)
        buttons.append((self._button(person, "button_discard", "st:discard"),))
        return self.staff._out(note + text, f"bc_{step}", buttons)

    async def _audience_buttons(self, person: Person, draft: dict) -> list[tuple[Button, ...]]:
        chosen = set(draft.get("villages", []))
        rows = [(self._button(person, "button_bc_all", "st:bc:all"),)]
        villages = await broadcasts.villages_in_use(self.c.db, self.c.villages)
        for index, village in enumerate(villages[:MAX_VILLAGE_BUTTONS]):
            mark = "✅ " if village in chosen else ""
            rows.append((Button(f"{mark}{village}"[:60], f"st:bc:v:{index}"),))
        rows.append((self._button(person, "button_bc_session", "st:bc:sessions"),))
        if chosen:
            label = self._button(person, "button_bc_next", "st:bc:next", count=str(len(chosen)))
            rows.append((label,))
        return rows

    def _audience(self, draft: dict) -> Audience:
        return Audience.decode(draft["audience"])

    def describe(self, person: Person, audience: Audience) -> str:
        if audience.kind == "village":
            return self._t(person, "audience_villages", villages=", ".join(audience.villages))
        if audience.kind == "session":
            return self._t(person, "audience_session", code=audience.session_code)
        return self._t(person, "audience_all")

    async def _preview(self, person: Person, flow: dict, note: str) -> Outcome:
        from bot.conversation import Outcome
        from bot.message_log import Handled

        draft = flow["draft"]
        audience = self._audience(draft)
        count = await broadcasts.count_recipients(self.c.db, audience)
        send_at = datetime.fromisoformat(draft["at"]) if draft.get("at") else None
        moment = send_at or datetime.now(UTC)
        when = (
            broadcasts.local_time(send_at, self.c.timezone)
            if send_at
            else self._t(person, "staff_bc_now")
        )
        confirm = self._t(
            person,
            "staff_bc_confirm",
            count=str(count),
            audience=self.describe(person, audience),
            when=when,
            quiet=self._quiet_note(person, moment),
        )
        if not count:
            confirm += "\n\n" + self._t(person, "staff_bc_no_recipients")
        buttons = [
            (self._button(person, "button_send_now", "st:bc:send"),),
            (self._button(person, "button_schedule", "st:bc:later"),),
            (self._button(person, "button_discard", "st:discard"),),
        ]
        if send_at:
            buttons[0] = (self._button(person, "button_send_scheduled", "st:bc:send"),)
        previews = [self.c.broadcast_preview(draft["text_id"], draft["office"], "id", True)]
        if draft.get("text_en"):  # what villagers who use English get
            previews.append(self.c.broadcast_preview(draft["text_en"], draft["office"], "en", True))
        reply = Reply(note + confirm, tuple(buttons))
        return Outcome([*previews, reply], Handled("staff_bc_preview"))

    async def answer(self, person: Person, flow: dict, message: Incoming) -> Outcome | None:
        """Typed input: the texts, or the time to send."""
        if message.kind is not Kind.TEXT:
            return None
        step, draft = flow["step"], dict(flow["draft"])
        if step in ("text", "text_en"):
            try:
                text = broadcasts.check_text(message.text)
            except BroadcastError as exc:
                problem = self._t(
                    person,
                    f"staff_bc_{exc.reason}",
                    length=str(len(message.text.strip())),
                    max=str(broadcasts.MAX_TEXT),
                )
                return await self._step(person, flow, problem)
            draft["text_id" if step == "text" else "text_en"] = text
            following = "text_en" if step == "text" else "audience"
            return await self._step(person, {**flow, "draft": draft, "step": following})
        if step == "at":
            try:
                moment = sessions.parse_local(message.text, self.c.timezone, "time")
            except sessions.SessionError:
                problem = self._t(person, "staff_bad_date", example=self.staff._example())
                return await self._step(person, flow, problem)
            if moment < datetime.now(UTC) - timedelta(minutes=1):
                return await self._step(person, flow, self._t(person, "staff_bc_in_past"))
            draft["at"] = moment.isoformat()
            return await self._step(person, {**flow, "draft": draft, "step": "confirm"})
        return None

    async def button(self, person: Person, flow: dict, argument: str) -> Outcome | None:
        """st:bc:<argument> while writing an announcement (cancel buttons need no flow)."""
        if argument == "pv":  # a button of the preview: a sample only
            return self.staff._out(self._t(person, "staff_bc_preview_button"), "bc_sample")
        if argument.startswith("x:"):
            return self._confirm_cancel(person, argument[2:])
        if argument.startswith("xx:"):
            return await self.cancel(person, argument[3:])
        if flow.get("staff") != "announce":
            return None
        step, draft = flow["step"], dict(flow["draft"])
        action, _, value = argument.partition(":")
        if action == "skip_en" and step == "text_en":
            return await self._step(person, {**flow, "step": "audience"})
        if step == "audience" and action in ("all", "v", "next", "sessions"):
            return await self._choose_audience(person, flow, draft, action, value)
        if action == "s" and step == "session":
            session = await sessions.get_session(self.c.db, value)
            if session is None or session.status == "cancelled":
                return await self._step(person, flow)
            audience = Audience("session", session_id=session.id, session_code=session.code)
            draft["audience"] = audience.encode()
            return await self._step(person, {**flow, "draft": draft, "step": "office"})
        if action == "o" and step == "office" and value in ("bp3mi", "imigrasi"):
            draft["office"] = value
            return await self._step(person, {**flow, "draft": draft, "step": "confirm"})
        if action == "later" and step == "confirm":
            return await self._step(person, {**flow, "step": "at"})
        if action == "send" and step == "confirm":
            return await self._send(person, flow)
        return None

    async def _choose_audience(
        self, person: Person, flow: dict, draft: dict, action: str, value: str
    ) -> Outcome | None:
        if action == "sessions":
            return await self._step(person, {**flow, "step": "session"})
        if action == "all":
            draft["audience"] = Audience("all").encode()
            return await self._step(person, {**flow, "draft": draft, "step": "office"})
        if action == "next" and draft.get("villages"):
            draft["audience"] = Audience("village", tuple(draft["villages"])).encode()
            return await self._step(person, {**flow, "draft": draft, "step": "office"})
        villages = await broadcasts.villages_in_use(self.c.db, self.c.villages)
        if action == "v" and value.isdigit() and int(value) < len(villages):
            chosen = list(draft.get("villages", []))
            village = villages[int(value)]
            chosen.remove(village) if village in chosen else chosen.append(village)
            draft["villages"] = chosen
            return await self._step(person, {**flow, "draft": draft})
        return None

    async def _send(self, person: Person, flow: dict) -> Outcome:
        draft = flow["draft"]
        send_at = datetime.fromisoformat(draft["at"]) if draft.get("at") else datetime.now(UTC)
        audience = self._audience(draft)
        count = await broadcasts.count_recipients(self.c.db, audience)
        broadcast = await broadcasts.create_broadcast(
            self.c.db,
            text_id=draft["text_id"],
            text_en=draft.get("text_en", ""),
            office=draft["office"],
            audience=audience,
            send_at=send_at,
            created_by=f"{person.channel}:{person.channel_user_id} {person.display_name}",
            sender_id=person.id,
        )
        await set_flow(self.c.db, person.id, None)
        text = self._t(
            person,
            "staff_bc_queued",
            id=str(broadcast.id),
            count=str(count),
            when=broadcasts.local_time(send_at, self.c.timezone),
            quiet=self._quiet_note(person, send_at),
        )
        return self.staff._out(text, "bc_queued")

    def _quiet_note(self, person: Person, moment: datetime) -> str:
        morning = self.c.quiet.until(moment)
        if morning is None:
            return ""
        return self._t(
            person,
            "staff_bc_quiet_note",
            hours=self.c.quiet.describe(),
            morning=broadcasts.local_time(morning, self.c.timezone),
        )

    def _confirm_cancel(self, person: Person, value: str) -> Outcome:
        broadcast_id = broadcasts.parse_id(value)
        if broadcast_id is None:
            return self.staff._out(self._t(person, "staff_help"), "help")
        buttons = [
            (self._button(person, "button_bc_yes_cancel", f"st:bc:xx:{broadcast_id}"),),
            (self._button(person, "button_no", "st:discard"),),
        ]
        text = self._t(person, "staff_bc_cancel_confirm", id=str(broadcast_id))
        return self.staff._out(text, "bc_cancel_ask", buttons)

    async def listing(self, person: Person) -> Outcome:
        recent = await broadcasts.recent_broadcasts(self.c.db, LISTED)
        if not recent:
            return self.staff._out(self._t(person, "staff_bc_none"), "bc_list")
        lines = [self._t(person, "staff_bc_list_header")]
        buttons = []
        for b in recent:
            counts = await broadcasts.summary(self.c.db, b.id)
            text = " ".join(b.text["id"].split())
            lines.append(
                self._t(
                    person,
                    "staff_bc_line",
                    id=str(b.id),
                    status=self._t(person, f"bc_status_{b.status}"),
                    when=broadcasts.local_time(b.send_at, self.c.timezone),
                    audience=self.describe(person, b.audience),
                    total=str(b.recipients if b.recipients is not None else "–"),
                    preview=text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else ""),
                    **{k: str(v) for k, v in counts.items()},
                )
            )
            if b.status in ("scheduled", "sending"):
                label = self._t(person, "button_bc_cancel", id=str(b.id))
                buttons.append((Button(label, f"st:bc:x:{b.id}"),))
        return self.staff._out("\n\n".join(lines), "bc_list", buttons)

    async def cancel(self, person: Person, value: str) -> Outcome:
        broadcast_id = broadcasts.parse_id(value)
        if broadcast_id is None:
            return self.staff._out(self._t(person, "staff_help"), "help")
        try:
            withdrawn = await broadcasts.cancel_broadcast(self.c.db, broadcast_id)
        except BroadcastError as exc:
            found = await broadcasts.get_broadcast(self.c.db, broadcast_id)
            if exc.reason == "unknown_broadcast" or found is None:
                text = self._t(person, "staff_bc_unknown", id=str(broadcast_id))
            else:
                status = self._t(person, f"bc_status_{found.status}")
                text = self._t(
                    person, "staff_bc_cannot_cancel", id=str(broadcast_id), status=status
                )
            return self.staff._out(text, "bc_cancel_refused")
        text = self._t(person, "staff_bc_cancelled", id=str(broadcast_id), count=str(withdrawn))
        return self.staff._out(text, "bc_cancelled")
