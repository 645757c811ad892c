"""The message pipeline: one Incoming in, the replies out. Knows no feature and no platform.

Every message passes the same steps, in this order, each a method below:
1. ``clean``: broken Unicode repaired, so anything can be stored and sent;
   (a message in a group chat goes to the features' group handlers instead, and stops here)
2. ``flood_guard``: too many messages a minute get one notice, then silence;
3. ``find_person``: who wrote (made on first contact), and whether this very message was
   handled before (the platform delivered it twice: no reply);
4. ``route``: the router's first matching handler (bot/core/router.py), behind a safety net
   so a bug still gets the villager an apology;
5. ``log``: the message and what was done with it (``Handled``), for staff statistics;
6. ``first_contact``: a note a feature adds to the first reply a person gets.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.config import LANGUAGES
from bot.core.context import Ctx, Env, Handled, Outcome
from bot.core.flood import FloodGuard, Verdict
from bot.core.messages import Incoming, Kind, Reply
from bot.core.router import Router
from bot.domain import people
from bot.domain.message_log import log_message
from bot.domain.people import Person
from bot.domain.store import DatabaseError

log = logging.getLogger(__name__)


def language_from_hint(hint: str | None, default: str) -> str:
    """Telegram's language_code ("en", "en-GB", "id") → a language the bot speaks."""
    code = (hint or "").split("-")[0].lower()
    return code if code in LANGUAGES else default


def valid_unicode(text: str) -> str:
    """Replace unpaired surrogates (broken input) so the text can be stored and sent."""
    return text.encode("utf-8", "replace").decode("utf-8")


class Pipeline:
    def __init__(self, env: Env, router: Router) -> None:
        self.env, self.router = env, router
        self.flood = FloodGuard(env.settings.messages_per_minute)

    async def handle(self, message: Incoming) -> list[Reply]:
        message = self.clean(message)
        if message.group is not None:
            return await self.in_group(message)
        verdict = self.flood_guard(message)
        if verdict is Verdict.DROP:
            return []
        lang = language_from_hint(message.language_hint, self.env.settings.default_language)
        try:
            person = await self.find_person(message, lang)
        except DatabaseError as exc:  # a full disk: an apology, not silence
            log.error("event=database_failed step=person error=%r", str(exc))
            return [Reply(self.env.texts.get(lang, "error_sorry"))]
        if person.repeated:  # the platform delivered this message again: acted on already
            log.info("event=duplicate_update_ignored channel=%s", message.channel)
            return []
        ctx = Ctx(self.env, self.router, message, person)
        # a name, village or phone typed during a sign-up is not kept in the message log
        private = self.router.is_private(person.flow) and message.kind in (
            Kind.TEXT,
            Kind.CONTACT,
        )
        done = await self.route(ctx, verdict)
        try:
            await self.log(ctx, person, done, private)
            note = await self.router.first_contact_note(ctx, done)
        except DatabaseError as exc:  # the reply still goes out; the log line says what is wrong
            log.error("event=database_failed step=log error=%r", str(exc))
            return done.replies
        return self.first_contact(done.replies, note)

    def clean(self, message: Incoming) -> Incoming:
        return replace(
            message,
            text=valid_unicode(message.text),
            display_name=valid_unicode(message.display_name),
        )

    async def in_group(self, message: Incoming) -> list[Reply]:
        """Group chats: only the features' group handlers (the staff group) listen. Group
        members are officers, not villagers: no person is made and nothing is logged."""
        try:
            return await self.router.in_group_chat(self.env, message)
        except Exception:
            log.exception("event=group_message_failed")
            return [Reply(self.env.texts.get(self.env.settings.default_language, "error_sorry"))]

    def flood_guard(self, message: Incoming) -> Verdict:
        if (message.channel, message.user_id) in self.env.settings.staff_ids:
            return Verdict.OK  # staff are never limited
        verdict = self.flood.check((message.channel, message.user_id))
        if verdict is Verdict.DROP:
            # an id helps check a complaint; one that is a phone number (WhatsApp) is left out
            who = message.user_id if message.channel in self.env.settings.loggable_ids else "-"
            log.info("event=flood_dropped channel=%s user=%s", message.channel, who)
        return verdict

    async def find_person(self, message: Incoming, lang: str) -> Person:
        key = self.update_key(message)
        return await people.touch_person(
            self.env.db, message.channel, message.user_id, message.display_name, lang, key
        )

    @staticmethod
    def update_key(message: Incoming) -> str | None:
        return f"{message.channel}:{message.update_id}" if message.update_id else None

    async def route(self, ctx: Ctx, verdict: Verdict) -> Outcome:
        if verdict is Verdict.NOTICE:
            return Outcome([Reply(ctx.t("flood_notice"))], Handled("flood"))
        try:
            done = await self.router.dispatch(ctx)
        except Exception:  # a bug must not leave the villager without an answer
            log.exception("event=handling_failed kind=%s", ctx.message.kind.value)
            return Outcome(ctx.notice("error_sorry").replies, Handled("error"))
        if any(not reply.text.strip() for reply in done.replies):  # would be refused (400)
            log.error("event=empty_reply action=%s", done.handled.action)
            return Outcome(ctx.notice("error_sorry").replies, Handled("error"))
        return done

    async def log(self, ctx: Ctx, person: Person, done: Outcome, private: bool) -> None:
        message = ctx.message
        await log_message(
            self.env.db,
            person.id,
            message.media or message.kind.value,
            "" if private else message.text,
            person.lang,
            done.handled.action,
            done.handled.faq_id,
            done.handled.score,
            self.update_key(message),
        )

    @staticmethod
    def first_contact(replies: list[Reply], note: str | None) -> list[Reply]:
        """The note goes in the first reply's message: one message less on a slow phone."""
        if not note or not replies:
            return replies
        first, *rest = replies
        return [replace(first, text=f"{first.text}\n\n{note}"), *rest]
