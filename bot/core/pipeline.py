"""The message pipeline: one Incoming in, the replies out. Knows no feature and no platform.

Every message passes the same steps, in this order, each a method below:
1. ``clean``: broken Unicode repaired, so anything can be stored and sent;
   (a message in a group chat goes to the features' group handlers instead, and stops here)
2. ``flood_guard``: too many typed messages a minute get one notice saying when replies
   resume, then silence for typed messages (buttons and commands have a far higher ceiling);
3. ``find_person``: who wrote (made on first contact), and whether this very message was
   handled before (the platform delivered it twice: no reply);
4. ``route``: the router's first matching handler (bot/core/router.py), behind a safety net
   so a bug still gets the villager an apology;
5. ``first_contact``: a note a feature adds to the first reply a person gets;
6. ``log``: the message and what was done with it (``Handled``), for staff statistics. For
   an update from the intake table (``take``), the same transaction queues the replies in
   the outbox and marks the update handled: it is handled once, and no reply is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from bot.config import LANGUAGES
from bot.core.context import Ctx, Env, Handled, Outcome
from bot.core.flood import FloodGuard, Verdict
from bot.core.messages import Incoming, Kind, Reply, cleaned, reply_to_text, update_key
from bot.core.router import Router
from bot.domain import intake, outbox, people
from bot.domain.message_log import LogLine, log_message, record_message
from bot.domain.outbox import Due
from bot.domain.people import Person
from bot.domain.store import DatabaseError

log = logging.getLogger(__name__)


def language_from_hint(hint: str | None, default: str) -> str:
    """Telegram's language_code ("en", "en-GB", "id") → a language the bot speaks."""
    code = (hint or "").split("-")[0].lower()
    return code if code in LANGUAGES else default


@dataclass(frozen=True)
class Taken:
    """What handling an update gave: replies queued in the outbox and claimed, for the
    channel to send now (``queued``), and replies to send as they are (``direct``: in a group
    chat, or an apology when the database failed). ``recorded``: logged and marked handled."""

    queued: list[Due] = field(default_factory=list)
    direct: list[Reply] = field(default_factory=list)
    recorded: bool = False
    # the database failed: ``direct`` holds an apology, and the update is to be tried again
    retry: bool = False


class Pipeline:
    def __init__(self, env: Env, router: Router) -> None:
        self.env, self.router = env, router
        self.flood = FloodGuard(env.settings.messages_per_minute)

    async def handle(self, message: Incoming) -> list[Reply]:
        """The replies to a message that was not stored first (the terminal chat, tests)."""
        return (await self._run(message, None)).direct

    async def take(self, message: Incoming, intake_id: int) -> Taken:
        """Handle an update from the intake table (bot/domain/intake.py): its log line, its
        replies (claimed in the outbox, to send now) and its mark as handled are written in
        one transaction, so it is handled once and no reply is lost in a crash."""
        taken = await self._run(message, intake_id)
        if not taken.recorded and not taken.retry:  # a group, a repeat, no log line
            await intake.handled(self.env.db, intake_id)
        return taken

    async def _run(self, message: Incoming, intake_id: int | None) -> Taken:
        message = self.clean(message)
        if message.group is not None:
            return Taken(direct=await self.in_group(message))
        verdict = self.flood_guard(message)
        if verdict is Verdict.DROP:
            return Taken()
        lang = language_from_hint(message.language_hint, self.env.settings.default_language)
        try:
            person = await self.find_person(message, lang)
        except DatabaseError as exc:  # a full disk: an apology, not silence
            log.error("event=database_failed step=person error=%r", str(exc))
            return Taken(direct=[Reply(self.env.texts.get(lang, "error_sorry"))], retry=True)
        if person.repeated:  # the platform delivered this message again: acted on already
            log.info("event=duplicate_update_ignored channel=%s", message.channel)
            return Taken()
        ctx = Ctx(self.env, self.router, message, person)
        # a name, village or phone typed during a sign-up is not kept in the message log
        private = self.router.is_private(person.flow) and message.kind in (
            Kind.TEXT,
            Kind.CONTACT,
        )
        done = await self.route(ctx, verdict)
        try:
            note = await self.router.first_contact_note(ctx, done)
            replies = self.first_contact(done.replies, note)
            if intake_id is None:
                await self.log(ctx, person, done, private)
                return Taken(direct=replies)
            queued = await self.log_and_queue(ctx, person, done, private, replies, intake_id)
        except DatabaseError as exc:  # the reply still goes out; the log line says what is wrong
            log.error("event=database_failed step=log error=%r", str(exc))
            # what the update asked for is done: not tried again (take marks it handled)
            return Taken(direct=done.replies)
        return Taken(queued=queued, recorded=True)

    def clean(self, message: Incoming) -> Incoming:
        return cleaned(message)

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
        verdict = self.flood.check((message.channel, message.user_id), message.kind)
        if verdict is Verdict.DROP:
            # an id helps check a complaint; one that is a phone number (WhatsApp) is left out
            who = message.user_id if message.channel in self.env.settings.loggable_ids else "-"
            log.info(
                "event=flood_dropped channel=%s user=%s kind=%s",
                message.channel,
                who,
                message.kind.value,
            )
        return verdict

    async def find_person(self, message: Incoming, lang: str) -> Person:
        key = self.update_key(message)
        staff = (message.channel, message.user_id) in self.env.settings.staff_ids
        return await people.touch_person(
            self.env.db, message.channel, message.user_id, message.display_name, lang, key, staff
        )

    @staticmethod
    def update_key(message: Incoming) -> str | None:
        return update_key(message)

    async def route(self, ctx: Ctx, verdict: Verdict) -> Outcome:
        if verdict is Verdict.NOTICE:
            seconds = self.flood.resumes_in((ctx.message.channel, ctx.message.user_id))
            return Outcome([Reply(ctx.t("flood_notice", seconds=str(seconds)))], Handled("flood"))
        try:
            done = await self.router.dispatch(ctx)
        except Exception:  # a bug must not leave the villager without an answer
            log.exception("event=handling_failed kind=%s", ctx.message.kind.value)
            return Outcome(ctx.notice("error_sorry").replies, Handled("error"))
        if any(not reply.text.strip() for reply in done.replies):  # would be refused (400)
            log.error("event=empty_reply action=%s", done.handled.action)
            return Outcome(ctx.notice("error_sorry").replies, Handled("error"))
        return done

    def _log_line(self, ctx: Ctx, person: Person, done: Outcome, private: bool) -> LogLine:
        message = ctx.message
        return LogLine(
            person.id,
            message.media or message.kind.value,
            "" if private else message.text,
            person.lang,
            done.handled.action,
            done.handled.faq_id,
            done.handled.score,
            self.update_key(message),
        )

    async def log(self, ctx: Ctx, person: Person, done: Outcome, private: bool) -> None:
        await log_message(self.env.db, self._log_line(ctx, person, done, private))

    async def log_and_queue(
        self,
        ctx: Ctx,
        person: Person,
        done: Outcome,
        private: bool,
        replies: list[Reply],
        intake_id: int,
    ) -> list[Due]:
        """The log line, the replies queued and the update marked handled: one transaction,
        in one trip to the database's thread."""
        message = ctx.message
        line = self._log_line(ctx, person, done, private)
        texts = [reply_to_text(reply) for reply in replies]

        def work(raw) -> list[Due]:
            record_message(raw, line)
            queued = outbox.queue_replies(
                raw, person.id, intake_id, texts, (message.channel, message.user_id)
            )
            intake.mark_handled(raw, intake_id)
            return queued

        return await self.env.db.in_one_trip(work)

    @staticmethod
    def first_contact(replies: list[Reply], note: str | None) -> list[Reply]:
        """The note goes in the first reply's message: one message less on a slow phone."""
        if not note or not replies:
            return replies
        first, *rest = replies
        return [replace(first, text=f"{first.text}\n\n{note}"), *rest]
