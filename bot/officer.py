"""Handing a villager over to an officer, in the chat: "Tanya petugas", declined questions
forwarded to the staff group, and officers' replies in that group (see bot/inbox.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import inbox
from bot.message_log import Handled
from bot.messages import Incoming, Kind, Reply
from bot.people import Person, set_flow

if TYPE_CHECKING:
    from bot.conversation import Conversation, Outcome

# A declined message this short ("ok", "hmm") is chatter, not a question for an officer.
MIN_FORWARD_WORDS = 2


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

    async def forward_declined(self, person: Person, question: str) -> str | None:
        """Forward a question the FAQ declined; the text key to tell the villager, or None."""
        if not self.available or len(question.split()) < MIN_FORWARD_WORDS:
            return None
        asked = await self.forward(person, question, "declined")
        return "faq_declined_forwarded" if asked.forwarded else None

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

    async def group_message(self, person: Person, message: Incoming) -> Outcome:
        """A reply in the staff group to a forwarded question: the answer for the villager."""
        lang = self.c.default_language
        inbox_id = inbox.tag_in(message.reply_to)
        if inbox_id is None:
            return self._group_note(lang, "officer_reply_unknown", "officer_reply_unknown")
        if message.kind is not Kind.TEXT or not message.text.strip():
            return self._group_note(lang, "officer_reply_not_text", "officer_reply_not_text")
        by = f"{person.display_name} ({message.channel}:{message.user_id})"
        answered = await inbox.answer(self.c.db, inbox_id, message.text.strip(), by)
        if answered is None:
            return self._group_note(lang, "officer_reply_unknown", "officer_reply_unknown")
        text = self.c.texts.get(
            lang, "officer_reply_sent", tag=inbox.tag(inbox_id), name=answered.name
        )
        return self._outcome([Reply(text)], "officer_reply")

    def _group_note(self, lang: str, key: str, action: str) -> Outcome:
        return self._outcome([Reply(self.c.texts.get(lang, key))], action)
