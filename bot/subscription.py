"""The villager's side of announcements: stop and restart them, and set their village.

BERHENTI / STOP stop announcements and MULAI starts them again, typed at any moment (even in
the middle of a sign-up, which they also end); the "Pengumuman" screen does the same by
button and lets the villager set their village, so village announcements reach them. The
choice is read again when each announcement is sent. Reminders for sessions they signed up
for are not announcements and still arrive.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.message_log import Handled
from bot.messages import Button, Incoming, Kind, Reply
from bot.people import Person, set_flow, set_subscribed, set_village

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

STOP_WORDS = {"berhenti", "stop", "unsubscribe", "berhenti langganan", "stop pengumuman"}
START_WORDS = {"mulai", "start", "subscribe", "mulai langganan", "langganan"}
VILLAGE_LIMIT = 60


def subscription_word(text: str) -> bool | None:
    """True for MULAI, False for BERHENTI, None for anything else (case and marks ignored)."""
    word = " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
    if word in STOP_WORDS:
        return False
    if word in START_WORDS:
        return True
    return None


class Announcements:
    def __init__(self, conversation: Conversation) -> None:
        self.c = conversation

    def _outcome(self, reply: Reply, action: str) -> Outcome:
        from bot.conversation import Outcome

        return Outcome([reply], Handled(action))

    async def by_word(self, person: Person, subscribe: bool) -> Outcome:
        await set_flow(self.c.db, person.id, None)  # BERHENTI also ends a half-done sign-up
        await set_subscribed(self.c.db, person.id, subscribe)
        key = "subscribed" if subscribe else "unsubscribed"
        return self._outcome(Reply(self.c._t(person, key), self.c._menu_buttons(person)), key)

    async def screen(self, person: Person, note: str = "") -> Outcome:
        t = self.c._t
        state = "announcements_on" if person.subscribed else "announcements_off"
        lines = [note, t(person, state)]
        if person.village:
            lines.append(t(person, "announcements_village", village=person.village))
        else:
            lines.append(t(person, "announcements_no_village"))
        toggle = (
            ("button_stop_announcements", "sub:off")
            if person.subscribed
            else ("button_start_announcements", "sub:on")
        )
        buttons = (
            self.c._button_for(person, *toggle),
            self.c._button_for(person, "button_set_village", "sub:village"),
            self.c._back_to_menu(person),
        )
        text = "\n\n".join(line for line in lines if line)
        return self._outcome(Reply(text, buttons), "announcements")

    async def button(self, person: Person, argument: str) -> Outcome | None:
        if argument in ("on", "off"):
            await set_subscribed(self.c.db, person.id, argument == "on")
            key = "subscribed" if argument == "on" else "unsubscribed"
            updated = replace(person, subscribed=argument == "on")
            return await self.screen(updated, self.c._t(person, key))
        if argument == "village":
            return self._ask_village(person)
        if argument == "v:other":
            await set_flow(self.c.db, person.id, {"step": "set_village"})
            reply = Reply(self.c._t(person, "ask_village_other"), (self.c._back_to_menu(person),))
            return self._outcome(reply, "set_village_other")
        index = argument.removeprefix("v:")
        if argument.startswith("v:") and index.isdigit() and int(index) < len(self.c.villages):
            return await self._set(person, self.c.villages[int(index)])
        return None

    def _ask_village(self, person: Person) -> Outcome:
        villages = tuple((Button(v, f"sub:v:{i}"),) for i, v in enumerate(self.c.villages))
        other = self.c._button_for(person, "button_village_other", "sub:v:other")
        reply = Reply(
            self.c._t(person, "ask_set_village"), (*villages, other, self.c._back_to_menu(person))
        )
        return self._outcome(reply, "set_village_ask")

    async def answer(self, person: Person, message: Incoming) -> Outcome | None:
        """The village typed after "Desa lain"; None when not asked for."""
        if (person.flow or {}).get("step") != "set_village" or message.kind is not Kind.TEXT:
            return None
        village = " ".join(message.text.split())[:VILLAGE_LIMIT]
        if not village or not re.search(r"[^\W\d_]", village):
            reply = Reply(self.c._t(person, "ask_village_other"), (self.c._back_to_menu(person),))
            return self._outcome(reply, "set_village_other")
        await set_flow(self.c.db, person.id, None)
        return await self._set(person, village)

    async def _set(self, person: Person, village: str) -> Outcome:
        await set_village(self.c.db, person.id, village)
        note = self.c._t(person, "village_set", village=village)
        return await self.screen(replace(person, village=village, flow=None), note)
