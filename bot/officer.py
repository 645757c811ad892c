"""Handing a villager over to an officer, in the chat: "Tanya petugas", declined questions
forwarded to the staff group, and officers' replies in that group (see bot/inbox.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import audit, inbox
from bot.message_log import Handled
from bot.messages import Incoming, Kind, Reply
from bot.people import Person, set_flow

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

# "Kirim ke petugas" under a declined question forwards it if it was asked this recently.
DECLINED_FRESH = timedelta(days=1)


class Officer:
    def __init__(self, conversation: Conversation, group: tuple[str, str] | None) -> None:
        self.c = conversation
        self.group = group  # (channel, chat id) of the staff group; None: no inbox

    def _outcome(self, replies: list[Reply], action: str) -> Outcome:
        from bot.conversation import Outcome

        return Outcome(replies, Handled(action))

    @property
    def available(self) -> bool:
        return self.group is not None

    async def prompt(self, person: Person) -> Outcome:
        """The "Tanya petugas" button: the next message goes to an officer."""
        if not self.available:
            return await self.c._contact(person)
        await set_flow(self.c.db, person.id, {"step": "officer"})
        reply = Reply(self.c._t(person, "officer_prompt"), (self.c._back_to_menu(person),))
        return self._outcome([reply], "officer_prompt")

    async def answer(self, person: Person, message: Incoming) -> Outcome | None:
        """The question typed after "Tanya petugas"; None when not asked for."""
        if (person.flow or {}).get("step") != "officer" or message.kind is not Kind.TEXT:
            return None
        question = message.text.strip()
        if not question:
            return None
        await set_flow(self.c.db, person.id, None)
        asked = await self.forward(person, question, "asked")
        key = "inbox_sent" if asked.forwarded else "inbox_limited"
        return self._outcome([self._after(person, key)], f"officer_{key}")

    async def forward_declined(self, person: Person) -> Outcome:
        """ "Kirim ke petugas" under a declined question: that question goes to an officer."""
        if not self.available:
            return await self.c._contact(person)
        row = await self.c.db.fetchone(
            "SELECT text FROM messages WHERE person_id = ? AND action = 'faq_declined'"
            " AND text IS NOT NULL AND received_at > ? ORDER BY id DESC LIMIT 1",
            (person.id, (datetime.now(UTC) - DECLINED_FRESH).isoformat()),
        )
        if row is None or not row["text"].strip():
            return await self.prompt(person)  # too old, or erased: ask them to type it
        asked = await self.forward(person, row["text"].strip(), "declined")
        key = "inbox_sent" if asked.forwarded else "inbox_limited"
        return self._outcome([self._after(person, key)], f"officer_{key}")

    async def forward(self, person: Person, question: str, source: str) -> inbox.Asked:
        values = {
            "name": person.full_name or person.display_name,
            "village": person.village or "",
            "channel": person.channel,
            "language": person.lang,
            "source": self.c.texts.get(self.c.default_language, f"inbox_source_{source}"),
        }
        return await inbox.ask(
            self.c.db,
            person_id=person.id,
            question=question,
            source=source,
            group=self.group,
            values=values,
        )

    def _after(self, person: Person, key: str) -> Reply:
        buttons = (
            self.c._button_for(person, "button_contact", "contact"),
            self.c._back_to_menu(person),
        )
        return Reply(self.c._t(person, key), buttons)

    # -- in the staff group ------------------------------------------------------------------

    def in_staff_group(self, message: Incoming) -> bool:
        return self.group is not None and (message.channel, message.group) == self.group

    async def group_message(self, message: Incoming) -> Outcome:
        """A reply in the staff group to a forwarded question: the answer for the villager."""
        lang = self.c.default_language
        inbox_id = inbox.tag_in(message.reply_to)
        if inbox_id is None:
            return self._group_note(lang, "officer_reply_unknown", "officer_reply_unknown")
        if message.kind is not Kind.TEXT or not message.text.strip():
            return self._group_note(lang, "officer_reply_not_text", "officer_reply_not_text")
        by = f"{message.display_name} ({message.channel}:{message.user_id})"
        key = f"{message.channel}:{message.update_id}" if message.update_id else None
        answered = await inbox.answer(self.c.db, inbox_id, message.text.strip(), by, key)
        if answered is None:
            return self._group_note(lang, "officer_reply_unknown", "officer_reply_unknown")
        if answered.outcome == "repeat":  # Telegram delivered the reply again: done already
            return self._outcome([], "officer_reply_repeat")
        if answered.outcome == "erased":
            return self._group_note(lang, "officer_reply_erased", "officer_reply_erased")
        await audit.record(self.c.db, by, "officer_reply", inbox.tag(inbox_id))
        text = self.c.texts.get(
            lang, "officer_reply_sent", tag=inbox.tag(inbox_id), name=answered.name
        )
        return self._outcome([Reply(text)], "officer_reply")

    def _group_note(self, lang: str, key: str, action: str) -> Outcome:
        return self._outcome([Reply(self.c.texts.get(lang, key))], action)
