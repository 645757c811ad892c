"""The conversation core: one Incoming message in, the replies out. Knows no chat platform.

Every message is logged with what the bot did with it (the ``Handled`` action), so staff can
see which questions went unanswered.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from bot import audit, broadcasts, inbox
from bot.broadcasts import QuietHours, get_broadcast
from bot.config import LANGUAGES
from bot.dates import when
from bot.faq import Faq, Topic
from bot.feedback import record_feedback
from bot.flood import FloodGuard, Verdict
from bot.matcher import Matcher
from bot.message_log import Handled, log_message
from bot.messages import Button, Incoming, Kind, Reply
from bot.normalise import MAX_CHARS as MAX_QUESTION_CHARS
from bot.officer import Officer
from bot.outbox import Due, ReminderPolicy
from bot.people import Person, mark_told, set_flow, set_language, touch_person
from bot.privacy import PrivacyTools, run_retention_if_due
from bot.sessions import get_session_by_id
from bot.signup import SignUp, parse_command
from bot.staff import STAFF_COMMANDS, StaffTools
from bot.store import Database
from bot.subscription import Announcements, subscription_word
from bot.texts import Texts, fill

MAX_RELATED = 3
# words of a greeting ("halo kak", "selamat pagi pak", "assalamualaikum"): a first message of
# only these gets the welcome and menu (WhatsApp has no /start)
GREETINGS = {
    "halo", "hallo", "helo", "hai", "hi", "hello", "hey", "p", "ping", "tes", "test", "permisi",
    "selamat", "pagi", "siang", "sore", "malam", "assalamualaikum", "assalamu'alaikum",
    "salam", "shalom", "om", "swastiastu", "kak", "kakak", "pak", "bapak", "bu", "ibu", "mas",
    "mbak", "bang", "min", "admin", "good", "morning", "afternoon", "evening",
}  # fmt: skip


def is_greeting(text: str) -> bool:
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return bool(words) and all(word in GREETINGS for word in words)


# flow steps whose typed answers are personal data, kept out of the message log
PRIVATE_STEPS = ("name", "village", "village_other", "phone", "set_village")
# Command names (both languages' names) → what they do. texts/*.yaml lists them for the
# Telegram menu; `desabot check` makes sure every listed command is one of these.
COMMANDS = {
    "start": "welcome",
    "menu": "menu",
    "bahasa": "language",
    "language": "language",
    "bantuan": "help",
    "help": "help",
    "datasaya": "my_data",
    "mydata": "my_data",
    "hapusdata": "erase",
    "deletedata": "erase",
}
# Every text the core says (keys of texts/*.yaml); `desabot check` makes sure both files
# have them, so a deleted text is reported before the bot runs instead of failing a villager.
TEXT_KEYS = (
    "welcome", "menu", "help", "ask_prompt", "sessions_none", "registrations_none", "contact",
    "language_prompt", "language_set", "not_text", "empty_text", "unknown_command",
    "stale_button", "error_sorry", "text_too_long", "faq_answer", "faq_choose", "faq_declined",
    "faq_helpful", "feedback_thanks", "feedback_sorry", "button_ask", "button_sessions",
    "button_registrations", "button_contact", "button_language", "button_menu",
    "button_language_id", "button_language_en", "button_helpful", "button_not_helpful",
    "sessions_header", "session_entry", "session_entry_full", "sessions_footer",
    "button_register", "ask_name", "name_invalid", "ask_village", "button_village_other",
    "ask_village_other", "ask_phone", "button_share_phone", "button_skip", "phone_invalid",
    "phone_noted", "consent", "button_agree", "button_disagree", "consent_declined",
    "registered", "waitlisted", "already_registered", "overlap_warning",
    "registrations_header", "registration_entry", "status_confirmed", "status_waitlisted",
    "status_attended", "button_cancel_booking", "booking_cancelled", "unknown_session",
    "session_closed", "unknown_booking", "reminder_day_before", "reminder_soon",
    "notice_promoted", "notice_session_changed", "notice_session_cancelled", "staff_help",
    "staff_ask_title", "staff_ask_village", "staff_ask_village_other", "staff_ask_place",
    "staff_ask_start", "staff_ask_end", "staff_ask_capacity", "staff_confirm", "staff_saved",
    "staff_discarded", "staff_bad_date", "staff_bad_times", "staff_in_past",
    "staff_bad_capacity", "staff_unknown_session", "staff_unknown_booking",
    "staff_not_confirmed", "staff_sessions_header", "staff_session_line", "staff_no_sessions",
    "button_staff_attendees", "button_staff_cancel", "button_save", "button_discard",
    "button_yes_cancel", "button_no", "staff_attendees", "staff_checked_in",
    "staff_cancel_confirm", "staff_cancelled", "staff_moved",
    "announcements_first_contact", "subscribed", "unsubscribed", "announcements_on",
    "announcements_off", "announcements_village", "announcements_no_village",
    "button_announcements", "button_stop_announcements", "button_start_announcements",
    "button_set_village", "ask_set_village", "village_set", "broadcast_message", "broadcast_done",
    "button_officer", "button_officer_again", "officer_prompt", "inbox_sent", "inbox_limited",
    "faq_declined_offer", "button_forward_question", "inbox_forward", "inbox_source_asked",
    "inbox_source_declined", "staff_open_questions_header", "staff_open_question_line",
    "staff_bc_in_past", "staff_bc_preview_button", "staff_bc_cancel_confirm",
    "button_bc_yes_cancel", "flood_notice", "mydata", "mydata_booking", "mydata_on", "mydata_off",
    "status_cancelled", "button_erase", "erase_confirm", "button_erase_yes", "erased",
    "whatsapp_choose", "whatsapp_list_button", "officer_reply_erased", "mydata_file",
    "mydata_file_bookings", "mydata_file_questions", "mydata_file_ratings", "mydata_file_messages",
    "officer_answer", "officer_reply_sent", "officer_reply_unknown", "officer_reply_not_text",
    "staff_bc_ask_text", "staff_bc_ask_text_en", "staff_bc_ask_audience", "staff_bc_ask_session",
    "staff_bc_ask_office", "staff_bc_ask_time", "staff_bc_now", "staff_bc_confirm",
    "staff_bc_quiet_note", "staff_bc_no_recipients", "staff_bc_empty_text",
    "staff_bc_text_too_long", "staff_bc_queued", "staff_bc_none", "staff_bc_list_header",
    "staff_bc_line", "staff_bc_unknown", "staff_bc_cannot_cancel", "staff_bc_cancelled",
    "button_bc_all", "button_bc_session", "button_bc_next", "button_send_now",
    "button_send_scheduled", "button_schedule", "button_bc_cancel", "audience_all",
    "audience_villages", "audience_session", "bc_status_scheduled", "bc_status_sending",
    "bc_status_done", "bc_status_cancelled", "stats_header", "stats_people", "stats_no_village",
    "stats_village_line", "stats_questions", "stats_topic_line", "stats_sessions_none",
    "stats_sessions_header", "stats_session_line", "stats_broadcasts_none",
    "stats_broadcasts_header", "stats_broadcast_line", "staff_unanswered_header",
    "staff_unanswered_line", "staff_unanswered_none", "staff_disliked_header",
    "staff_disliked_line",
)  # fmt: skip
log = logging.getLogger(__name__)
WITA = ZoneInfo("Asia/Makassar")


@dataclass(frozen=True)
class Outcome:
    replies: list[Reply]
    handled: Handled


Handler = Callable[[Person], Awaitable[Outcome]]


def language_from_hint(hint: str | None, default: str) -> str:
    """Telegram's language_code ("en", "en-GB", "id") → a language the bot speaks."""
    code = (hint or "").split("-")[0].lower()
    return code if code in LANGUAGES else default


def clean_text(text: str) -> str:
    """Drop invisible format characters (zero-width, direction marks) and outer whitespace."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def valid_unicode(text: str) -> str:
    """Replace unpaired surrogates (broken input) so the text can be stored and sent."""
    return text.encode("utf-8", "replace").decode("utf-8")


class Conversation:
    def __init__(
        self,
        db: Database,
        texts: Texts,
        faq: Faq,
        matcher: Matcher,
        default_language: str,
        menu_topics: tuple[str, ...] = (),
        timezone: tzinfo = WITA,
        villages: tuple[str, ...] = (),
        policy: ReminderPolicy | None = None,
        staff_ids: frozenset[tuple[str, str]] = frozenset(),
        staff_group: tuple[str, str] | None = None,
        quiet: QuietHours | None = None,
        default_office: str = "bp3mi",
        retention_days: int = 180,
        messages_per_minute: int = 20,
    ) -> None:
        self.db = db
        self.texts = texts
        self.faq = faq
        self.matcher = matcher
        self.default_language = default_language
        self.menu_topics = menu_topics
        self.timezone = timezone
        self.villages = villages
        self.policy = policy or ReminderPolicy(timezone)
        self.signup = SignUp(self)
        self.staff = StaffTools(self)
        self.staff_ids = staff_ids  # (channel, user id) pairs from config.yaml
        self.officer = Officer(self, staff_group)
        self.announcements = Announcements(self)
        self.quiet = quiet or QuietHours(timezone)
        self.default_office = default_office
        self.privacy = PrivacyTools(self, retention_days)
        self.flood = FloodGuard(messages_per_minute)
        self._answers: dict[tuple[str, str], Reply] = {}
        # announcements as sent, per (broadcast, language); None once it was cancelled
        self._broadcast_replies: dict[tuple[int, str], Reply | None] = {}
        actions: dict[str, Handler] = {
            "welcome": self._welcome,
            "menu": self._menu,
            "language": self._language_prompt,
            "help": self._help,
            "my_data": self.privacy.my_data,
            "erase": self.privacy.ask_erase,
        }
        self._commands = {name: actions[action] for name, action in COMMANDS.items()}
        self._buttons: dict[str, Handler] = {
            "menu": self._menu,
            "ask": self._ask_prompt,
            "sessions": self.signup.schedule,
            "registrations": self.signup.registrations,
            "contact": self._contact,
            "language": self._language_prompt,
            "officer": self.officer.prompt,
            "fwd": self.officer.forward_declined,
            "subs": self.announcements.screen,
        }

    async def handle(self, message: Incoming) -> list[Reply]:
        message = replace(
            message,
            text=valid_unicode(message.text),
            display_name=valid_unicode(message.display_name),
        )
        if message.group is not None:
            return await self._in_group(message)
        update_key = f"{message.channel}:{message.update_id}" if message.update_id else None
        verdict = (
            Verdict.OK
            if self._is_staff(message)
            else self.flood.check((message.channel, message.user_id))
        )
        if verdict is Verdict.DROP:
            # the Telegram id helps check a complaint; a WhatsApp id is a phone number: left out
            who = message.user_id if message.channel == "telegram" else "-"
            log.info("event=flood_dropped channel=%s user=%s", message.channel, who)
            return []
        lang = language_from_hint(message.language_hint, self.default_language)
        try:
            person = await touch_person(
                self.db, message.channel, message.user_id, message.display_name, lang, update_key
            )
        except sqlite3.Error as exc:  # a full disk: an apology, not silence
            log.error("event=database_failed step=person error=%r", str(exc))
            return [Reply(self.texts.get(lang, "error_sorry"))]
        if person.repeated:  # the platform delivered this message again: acted on already
            log.info("event=duplicate_update_ignored channel=%s", message.channel)
            return []
        # a name, village or phone typed during a sign-up is not kept in the message log
        private = (person.flow or {}).get("step") in PRIVATE_STEPS and message.kind in (
            Kind.TEXT,
            Kind.CONTACT,
        )
        try:
            if verdict is Verdict.NOTICE:
                outcome = Outcome([Reply(self._t(person, "flood_notice"))], Handled("flood"))
            else:
                outcome = await self._dispatch(person, message)
        except Exception:  # a bug must not leave the villager without an answer
            log.exception("event=handling_failed kind=%s", message.kind.value)
            outcome = self._notice(person, "error_sorry")
            outcome = Outcome(outcome.replies, Handled("error"))
        if any(not reply.text.strip() for reply in outcome.replies):  # would be refused (400)
            log.error("event=empty_reply action=%s", outcome.handled.action)
            outcome = Outcome(self._notice(person, "error_sorry").replies, Handled("error"))
        kind = message.media or message.kind.value
        try:
            await log_message(
                self.db,
                person.id,
                kind,
                "" if private else message.text,
                person.lang,
                outcome.handled,
                update_key,
            )
            tell = await self._tell_about_announcements(person, message, outcome)
        except sqlite3.Error as exc:  # the reply still goes out; the log line says what is wrong
            log.error("event=database_failed step=log error=%r", str(exc))
            return outcome.replies
        if tell:
            # first contact: say that announcements come, and how to stop them (in the same
            # message: one message less on a slow phone)
            first, *rest = outcome.replies
            notice = self._t(person, "announcements_first_contact")
            return [replace(first, text=f"{first.text}\n\n{notice}"), *rest]
        return outcome.replies

    async def _tell_about_announcements(
        self, person: Person, message: Incoming, outcome: Outcome
    ) -> bool:
        """Whether this reply is the moment to say announcements will come (once a person)."""
        if person.told or message.channel not in broadcasts.DELIVERY_CHANNELS:
            return False
        if self._is_staff(message):
            return False
        await mark_told(self.db, person.id)
        # who just typed BERHENTI or MULAI has been told already, in other words
        return outcome.handled.action not in ("subscribed", "unsubscribed", "erased")

    async def _in_group(self, message: Incoming) -> list[Reply]:
        """The staff group: only replies to forwarded questions matter. Group members are
        officers, not villagers: no person is made for them and nothing goes to the log."""
        if not self.officer.in_staff_group(message):
            return []  # other groups: the bot only listens to villagers in private chats
        try:
            outcome = await self.officer.group_message(message)
        except Exception:
            log.exception("event=group_message_failed")
            return [Reply(self.texts.get(self.default_language, "error_sorry"))]
        return outcome.replies

    async def render_due(self, due: Due) -> Reply | None:
        """An outbox row as the message to send now, in the reader's language; None: drop it."""
        if due.broadcast_id is not None:
            return await self._broadcast_reply(due.broadcast_id, due.lang)
        if due.session_id is not None:
            return await self._session_notice(due)
        if not due.to_person:  # about a villager, for the staff group
            return Reply(self.texts.get(self.default_language, due.text_key, **due.values))
        text = self.texts.get(due.lang, due.text_key, **due.values)
        if due.text_key == "officer_answer":
            person = Person(due.person_id, "", due.channel_user_id, "", due.lang)
            buttons = [self._back_to_menu(person)]
            if self.officer.available:
                buttons.insert(0, self._button_for(person, "button_officer_again", "officer"))
            return Reply(text, tuple(buttons))
        return Reply(text)

    async def housekeeping(self, now: datetime) -> None:
        """Between delivery batches: release due announcements, hold them at night, and
        close finished ones (telling their sender)."""
        await broadcasts.release_due(self.db, now, self.quiet)
        await broadcasts.hold_for_quiet_hours(self.db, now, self.quiet)
        await broadcasts.finish_done(self.db, now)
        await self._forget_cancelled_broadcasts()
        await inbox.forward_held(self.db, self.officer.group)
        await run_retention_if_due(self.db, now, self.privacy.retention_days)

    async def _forget_cancelled_broadcasts(self) -> None:
        """A broadcast cancelled (maybe from the command line) while its messages are being
        sent: the ones already taken from the queue are not sent either."""
        cached = {broadcast_id for broadcast_id, _ in self._broadcast_replies}
        if not cached:
            return
        marks = ", ".join("?" for _ in cached)
        rows = await self.db.fetchall(
            f"SELECT id FROM broadcasts WHERE status = 'cancelled' AND id IN ({marks})",
            tuple(cached),
        )
        cancelled = {row["id"] for row in rows}
        for key in [k for k in self._broadcast_replies if k[0] in cancelled]:
            self._broadcast_replies[key] = None

    async def _broadcast_reply(self, broadcast_id: int, lang: str) -> Reply | None:
        """An announcement as villagers see it, naming the office it comes from."""
        key = (broadcast_id, lang)
        if key not in self._broadcast_replies:
            broadcast = await get_broadcast(self.db, broadcast_id)
            if broadcast is None or broadcast.status == "cancelled":
                return None
            if len(self._broadcast_replies) > 64:  # only the few broadcasts being sent matter
                self._broadcast_replies = {
                    k: v for k, v in self._broadcast_replies.items() if v is None
                }
            self._broadcast_replies[key] = self.broadcast_preview(
                broadcast.text.get(lang) or broadcast.text["id"], broadcast.office, lang
            )
        return self._broadcast_replies[key]

    def broadcast_preview(self, text: str, office: str, lang: str, sample: bool = False) -> Reply:
        """An announcement as villagers get it. ``sample``: the same buttons, which only say
        what they are (staff previewing must not unsubscribe themselves or lose the draft)."""
        office_name = self.texts.office_values.get(f"{office}.name", office)
        body = self.texts.get(lang, "broadcast_message", office=office_name, text=text)
        person = Person(0, "", "", "", lang)
        stop, menu = ("st:bc:pv", "st:bc:pv") if sample else ("sub:off", "menu")
        buttons = (
            self._button_for(person, "button_stop_announcements", stop),
            self._button_for(person, "button_menu", menu),
        )
        return Reply(body, buttons)

    async def due_values(self, due: Due) -> dict[str, str]:
        """The values a template's parameters are taken from (WhatsApp, outside the 24-hour
        window): the session's title, time and place, the announcement's text and office."""
        values = {"name": "", **due.values}
        if due.session_id is not None:
            session = await get_session_by_id(self.db, due.session_id)
            if session is not None:
                values.update(
                    title=session.title.get(due.lang, session.title["id"]),
                    when=when(session.starts_at, session.ends_at, self.timezone, due.lang),
                    place=session.place,
                    village=session.village,
                )
                booking = await self.db.fetchone(
                    "SELECT booking_code FROM registrations WHERE session_id = ? AND person_id = ?"
                    " ORDER BY id DESC LIMIT 1",
                    (session.id, due.person_id),
                )
                values["booking"] = booking["booking_code"] if booking else ""
        if due.broadcast_id is not None:
            broadcast = await get_broadcast(self.db, due.broadcast_id)
            if broadcast is not None:
                values["text"] = broadcast.text.get(due.lang) or broadcast.text["id"]
                office = self.texts.office_values.get(f"{broadcast.office}.name", "")
                values["office"] = office
        person = await self.db.fetchone(
            "SELECT coalesce(full_name, display_name) AS name FROM people WHERE id = ?",
            (due.person_id,),
        )
        if person is not None:
            values["name"] = person["name"]
        return values

    async def _session_notice(self, due: Due) -> Reply | None:
        """A reminder or notice about a session, with the session as it is now."""
        session = await get_session_by_id(self.db, due.session_id) if due.session_id else None
        if session is None:
            return None
        if session.status == "cancelled" and due.text_key != "notice_session_cancelled":
            return None  # a reminder or promotion for a cancelled session: nothing to say
        booking = await self.db.fetchone(
            "SELECT booking_code FROM registrations WHERE session_id = ? AND person_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (session.id, due.person_id),
        )
        values = {
            "booking": booking["booking_code"] if booking else "",
            "title": session.title.get(due.lang, session.title["id"]),
            "when": when(session.starts_at, session.ends_at, self.timezone, due.lang),
            "place": session.place,
            "village": session.village,
            **due.values,
        }
        text = self.texts.get(due.lang, due.text_key, **values)
        labels = (("button_registrations", "registrations"), ("button_menu", "menu"))
        buttons = tuple((Button(self.texts.get(due.lang, key), action),) for key, action in labels)
        return Reply(text, buttons)

    async def use_language(self, channel: str, user_id: str, name: str, lang: str) -> None:
        """Set a person's language up front (the terminal chat's --lang option)."""
        person = await touch_person(self.db, channel, user_id, name, lang)
        if person.lang != lang:
            await set_language(self.db, person.id, lang)

    def _is_staff(self, message: Incoming) -> bool:
        return (message.channel, message.user_id) in self.staff_ids

    async def _dispatch(self, person: Person, message: Incoming) -> Outcome:
        if self._is_staff(message):
            outcome = await self._staff(person, message)
            if outcome is not None:
                actor = f"{message.channel}:{message.user_id} {message.display_name}".strip()
                # what they sent, and what came of it (the first line of the answer)
                result = outcome.replies[-1].text.split("\n", 1)[0] if outcome.replies else ""
                detail = f"{message.text} → {result}"
                await audit.record(self.db, actor, outcome.handled.action, detail)
                return outcome
        if message.kind is Kind.TEXT and (wanted := subscription_word(message.text)) is not None:
            return await self.announcements.by_word(person, wanted)
        if person.flow and message.kind in (Kind.TEXT, Kind.CONTACT):
            for step in (self.officer.answer, self.announcements.answer, self.signup.answer):
                outcome = await step(person, message)
                if outcome is not None:
                    return outcome
        if message.kind is Kind.COMMAND:
            await self._leave_flow(person)
            handler = self._commands.get(message.text.partition(" ")[0].lower())
            return await handler(person) if handler else self._notice(person, "unknown_command")
        if message.kind is Kind.BUTTON:
            return await self._button(person, message.text)
        if message.kind is Kind.TEXT:
            command = parse_command(message.text)
            if command and command[0] == "daftar":
                return await self.signup.start(person, command[1])
            if command:
                return await self.signup.cancel(person, command[1])
            return await self._question(person, message.text)
        return self._notice(person, "not_text")

    async def _staff(self, person: Person, message: Incoming) -> Outcome | None:
        """Staff commands, buttons and guided steps; None for anything a villager could send."""
        if message.kind is Kind.COMMAND:
            name, _, argument = message.text.partition(" ")
            if name.lower() in STAFF_COMMANDS:
                return await self.staff.command(person, name.lower(), argument.strip())
            return None
        if message.kind is Kind.BUTTON and message.text.startswith("st:"):
            _, action, argument = [*message.text.split(":", 2), "", ""][:3]
            return await self.staff.button(person, action, argument)
        return await self.staff.answer(person, message)

    async def _leave_flow(self, person: Person) -> None:
        """A command or a menu button ends a half-done sign-up (what was given is kept)."""
        if person.flow:
            await set_flow(self.db, person.id, None)

    async def _button(self, person: Person, action: str) -> Outcome:
        name, _, argument = action.partition(":")
        signed = await self.signup.button(person, name, argument)
        if signed is not None:
            return signed
        await self._leave_flow(person)
        if name in self._buttons and not argument:
            return await self._buttons[name](person)
        if name == "erase" and argument in ("ask", "yes"):
            erase = self.privacy.erase if argument == "yes" else self.privacy.ask_erase
            return await erase(person)
        if name == "sub" and (chosen := await self.announcements.button(person, argument)):
            return chosen
        if name == "lang" and argument in LANGUAGES:
            return await self._set_language(person, argument)
        if name == "faq" and (topic := self.faq.get(argument)):
            return self._answer(person, topic, Handled("faq_button", topic.id))
        verdict, _, topic_id = argument.partition(":")
        if name == "fb" and verdict in ("up", "down") and topic_id in self.faq.topics:
            return await self._feedback(person, topic_id, verdict == "up")
        return self._notice(person, "stale_button")

    # -- replies built from texts ------------------------------------------------------------

    def _t(self, person: Person, key: str, **values: str) -> str:
        return self.texts.get(person.lang, key, **values)

    def _button_for(self, person: Person, key: str, action: str) -> tuple[Button]:
        return (Button(self._t(person, key), action),)

    def _menu_buttons(self, person: Person) -> tuple[tuple[Button, ...], ...]:
        officer = (
            (self._button_for(person, "button_officer", "officer"),)
            if self.officer.available
            else ()
        )
        return (
            self._button_for(person, "button_ask", "ask"),
            self._button_for(person, "button_sessions", "sessions"),
            self._button_for(person, "button_registrations", "registrations"),
            *officer,
            self._button_for(person, "button_contact", "contact"),
            self._button_for(person, "button_announcements", "subs"),
            self._button_for(person, "button_language", "language"),
        )

    def _back_to_menu(self, person: Person) -> tuple[Button]:
        return self._button_for(person, "button_menu", "menu")

    def _topic_button(self, person: Person, topic: Topic) -> tuple[Button]:
        return (Button(topic.title[person.lang], f"faq:{topic.id}"),)

    def _notice(self, person: Person, key: str) -> Outcome:
        """A short explanation followed by the main menu: never silence, never a dead end."""
        return Outcome([Reply(self._t(person, key), self._menu_buttons(person))], Handled(key))

    # -- handlers -----------------------------------------------------------------------------

    async def _welcome(self, person: Person) -> Outcome:
        text = self._t(person, "welcome", name=person.display_name)
        return Outcome([Reply(text, self._menu_buttons(person))], Handled("welcome"))

    async def _menu(self, person: Person) -> Outcome:
        return self._notice(person, "menu")

    async def _help(self, person: Person) -> Outcome:
        return self._notice(person, "help")

    async def _ask_prompt(self, person: Person) -> Outcome:
        starters = [self.faq.get(topic_id) for topic_id in self.menu_topics]
        buttons = tuple(self._topic_button(person, t) for t in starters if t)
        reply = Reply(self._t(person, "ask_prompt"), (*buttons, self._back_to_menu(person)))
        return Outcome([reply], Handled("ask_prompt"))

    async def _contact(self, person: Person) -> Outcome:
        reply = Reply(self._t(person, "contact"), (self._back_to_menu(person),))
        return Outcome([reply], Handled("contact"))

    async def _language_prompt(self, person: Person) -> Outcome:
        buttons = tuple(
            self._button_for(person, f"button_language_{lang}", f"lang:{lang}")
            for lang in LANGUAGES
        )
        reply = Reply(self._t(person, "language_prompt"), buttons)
        return Outcome([reply], Handled("language_prompt"))

    async def _set_language(self, person: Person, lang: str) -> Outcome:
        await set_language(self.db, person.id, lang)
        switched = replace(person, lang=lang)
        reply = Reply(self._t(switched, "language_set"), self._menu_buttons(switched))
        return Outcome([reply], Handled(f"language_set:{lang}"))

    # -- questions ---------------------------------------------------------------------------

    async def _question(self, person: Person, raw: str) -> Outcome:
        text = clean_text(raw)
        if not text:
            return self._notice(person, "empty_text")
        match = self.matcher.match(text)
        if match.topic_id is None and not person.told and is_greeting(text):
            # a first "halo kak" (WhatsApp has no /start): the welcome and menu, not an apology
            welcome = await self._welcome(person)
            return Outcome(welcome.replies, Handled("welcome", None, match.score))
        if match.topic_id is None:
            # an officer only when the villager asks (one tap): greetings and thanks that the
            # FAQ cannot answer are not questions for the staff group
            key = "faq_declined_offer" if self.officer.available else "faq_declined"
            offer = (
                (self._button_for(person, "button_forward_question", "fwd"),)
                if self.officer.available
                else ()
            )
            buttons = (
                *offer,
                self._button_for(person, "button_contact", "contact"),
                self._back_to_menu(person),
            )
            reply = Reply(self._t(person, key), buttons)
            return Outcome([reply], Handled("faq_declined", None, match.score))
        topic = self.faq.topics[match.topic_id]
        if match.alternatives:
            choices = [topic] + [self.faq.topics[t] for t, _ in match.alternatives]
            buttons = tuple(self._topic_button(person, t) for t in choices)
            reply = Reply(self._t(person, "faq_choose"), (*buttons, self._back_to_menu(person)))
            return Outcome([reply], Handled("faq_choose", topic.id, match.score))
        outcome = self._answer(person, topic, Handled("faq_answer", topic.id, match.score))
        if len(text) > MAX_QUESTION_CHARS:
            first = outcome.replies[0]
            note = self._t(person, "text_too_long")
            outcome.replies[0] = Reply(f"{note}\n\n{first.text}", first.buttons)
        return outcome

    def _answer(self, person: Person, topic: Topic, handled: Handled) -> Outcome:
        key = (topic.id, person.lang)
        if key not in self._answers:  # content is fixed while the bot runs: build each once
            self._answers[key] = self._answer_reply(person, topic)
        return Outcome([self._answers[key]], handled)

    def _answer_reply(self, person: Person, topic: Topic) -> Reply:
        answer = fill(topic.answer[person.lang], self.texts.office_values)
        text = self._t(person, "faq_answer", title=topic.title[person.lang], answer=answer)
        text = f"{text}\n\n{self._t(person, 'faq_helpful')}"
        verdicts = (
            Button(self._t(person, "button_helpful"), f"fb:up:{topic.id}"),
            Button(self._t(person, "button_not_helpful"), f"fb:down:{topic.id}"),
        )
        related = [self.faq.topics[t] for t in topic.related[:MAX_RELATED] if t in self.faq.topics]
        buttons = (
            verdicts,
            *(self._topic_button(person, t) for t in related),
            self._back_to_menu(person),
        )
        return Reply(text, buttons)

    async def _feedback(self, person: Person, topic_id: str, helpful: bool) -> Outcome:
        await record_feedback(self.db, person.id, topic_id, helpful)
        if helpful:
            reply = Reply(self._t(person, "feedback_thanks"), (self._back_to_menu(person),))
        else:
            buttons = (
                self._button_for(person, "button_contact", "contact"),
                self._back_to_menu(person),
            )
            reply = Reply(self._t(person, "feedback_sorry"), buttons)
        return Outcome([reply], Handled("feedback_up" if helpful else "feedback_down", topic_id))
