"""Telegram channel: the only module that imports python-telegram-bot.

Updates come in by long polling, the bot owning the getUpdates offset: it asks for the next
updates (which tells Telegram the last ones arrived) only once the last ones are stored in the
intake table (bot/channels/intake.py); in webhook mode its own server (bot/channels/webhook.py)
answers Telegram only after storing. Each Update becomes a neutral Incoming whose id names the
bot (a new token's update ids start again). The replies are rendered as plain text
HTML-escaped (so a villager's "<" or "&" never breaks a message), split at 4096 characters on
line boundaries, buttons as an inline keyboard on the last part; they go through the outbox,
so one Telegram refuses for a moment is sent again, from the part that failed. An
announcement's picture goes first (sendPhoto), with the text as its caption when it fits in
1,024 characters; it is uploaded once, and sent by Telegram's file id after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import html
import json
import logging
import re
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application
from tornado.httputil import HTTPHeaders

from bot.channels import webhook
from bot.channels.base import Core, Delivery, Prepared, SetupError
from bot.channels.intake import Intake, arrival
from bot.config import (
    TOKEN_ENV,
    WEBHOOK_SECRET_ENV,
    Config,
    TelegramConfig,
    WebhookLimits,
    secret,
)
from bot.core.messages import Button, Incoming, Kind, Picture, Reply, fits_caption, split_text
from bot.core.pipeline import Taken
from bot.delivery.worker import DeliveryError
from bot.domain.outbox import Due
from bot.domain.store import DatabaseError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Updates handled at once: villagers do not wait for each other, while each chat's own
# messages are still handled one after another, in order (ChatOrder).
MAX_CONCURRENT_UPDATES = 4
STARTUP_RETRY_MAX_SECONDS = 60
POLL_RETRY_MAX_SECONDS = 30
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPLOAD_SECONDS = 120.0  # 5 MB on a slow uplink (python-telegram-bot's default: 20)
# Telegram's words for a picture it will not take, as against a chat it cannot send to
PICTURE_REFUSALS = ("photo_", "image_", "file is too big", "wrong file identifier")


def incoming_from_update(
    update: Update, staff_group: int | None = None, bot_id: int | None = None
) -> Incoming | None:
    """The neutral message for an update, or None for updates that need no reply.

    In the staff group, only replies to the bot's own messages (answers to forwarded
    questions) count; the rest of the group's chatter is not the bot's business.
    """
    query = update.callback_query
    if query is not None:
        return Incoming(
            channel=CHANNEL,
            user_id=str(query.from_user.id),
            kind=Kind.BUTTON,
            text=query.data or "",
            display_name=query.from_user.full_name,
            language_hint=query.from_user.language_code,
            update_id=f"{bot_id}:{update.update_id}",
        )
    message = update.message
    if message is None or message.from_user is None:
        return None  # edits, channel posts, ...
    if message.chat.type != "private":
        return _staff_group_reply(update, message, staff_group, bot_id)
    user = message.from_user
    common = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "display_name": user.full_name,
        "language_hint": user.language_code,
        "update_id": f"{bot_id}:{update.update_id}",
    }
    if message.text is not None:
        command = _command_name(message)
        if command is not None:
            return Incoming(kind=Kind.COMMAND, text=command, **common)
        return Incoming(kind=Kind.TEXT, text=message.text, **common)
    contact = message.contact
    if contact is not None and contact.user_id == user.id:  # their own number, via the button
        return Incoming(kind=Kind.CONTACT, text=contact.phone_number, **common)
    attachment = message.effective_attachment
    if not attachment:
        return None  # a service message: pinned message, auto-delete timer, ...
    media = "photo" if isinstance(attachment, tuple | list) else type(attachment).__name__.lower()
    return Incoming(kind=Kind.OTHER, media=media, text=message.caption or "", **common)


def _staff_group_reply(
    update: Update, message: Message, staff_group: int | None, bot_id: int | None
) -> Incoming | None:
    replied = message.reply_to_message
    if message.chat.id != staff_group:
        # how an admin finds the id for telegram.staff_group_id: write in the group, read here
        log.info("event=group_message_ignored chat_id=%s", message.chat.id)
        return None
    if replied is None:
        return None
    if replied.from_user is None or replied.from_user.id != bot_id:
        return None
    user = message.from_user
    assert user is not None
    return Incoming(
        channel=CHANNEL,
        user_id=str(user.id),
        kind=Kind.TEXT if message.text is not None else Kind.OTHER,
        text=message.text or "",
        display_name=user.full_name,
        language_hint=user.language_code,
        group=str(message.chat.id),
        reply_to=replied.text or replied.caption or "",
        update_id=f"{bot_id}:{update.update_id}",
    )


def _command_name(message: Message) -> str | None:
    """ "/Peserta@desabot_bot K7QA" → "peserta K7QA"; None when the text is no command."""
    entities = message.entities or ()
    if not any(e.type == "bot_command" and e.offset == 0 for e in entities):
        return None
    word, _, rest = (message.text or "").partition(" ")
    return f"{word[1:].split('@', 1)[0].lower()} {rest.strip()}".strip()


@functools.lru_cache(maxsize=1024)
def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    """The inline keyboard for a reply's buttons; menus repeat, so keyboards are cached."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in buttons]
    )


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def render(reply: Reply) -> list[tuple[str, Markup | None]]:
    """A reply as Telegram messages: (HTML text, keyboard) pairs, the keyboard on the last."""
    parts: list[tuple[str, Markup | None]] = [
        (html.escape(chunk, quote=False), None) for chunk in split_text(reply.text)
    ]
    markup: Markup | None = None
    if reply.buttons:
        markup = keyboard(reply.buttons)
    elif reply.share_contact:
        share, skip = reply.share_contact
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(share, request_contact=True)], [KeyboardButton(skip)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    elif reply.remove_keyboard:
        markup = ReplyKeyboardRemove()
    parts[-1] = (parts[-1][0], markup)
    return parts


@dataclass(frozen=True)
class Photo:
    """A message part: the picture, with its caption (HTML) and keyboard when they fit."""

    picture: Picture
    caption: str = ""
    markup: Markup | None = None


def with_picture(reply: Reply, parts: list[tuple[str, Markup | None]]) -> list:
    """The picture first: the whole text as its caption when it fits, else before the text."""
    assert reply.picture is not None
    if len(parts) == 1 and fits_caption(reply.text)[CHANNEL]:
        return [Photo(reply.picture, *parts[0])]
    return [Photo(reply.picture), *parts]


@dataclass(frozen=True)
class TelegramSecrets:
    token: str
    webhook_secret: str | None = None


def prepare(config: Config) -> Prepared | None:
    """Telegram runs when its bot token is in the environment; in webhook mode it also
    needs the webhook secret."""
    token = secret(TOKEN_ENV)
    if not token:
        return None
    webhook_secret = secret(WEBHOOK_SECRET_ENV)
    bad_secret = webhook_secret is not None and not WEBHOOK_SECRET.fullmatch(webhook_secret)
    if bad_secret or (config.telegram.mode == "webhook" and not webhook_secret):
        raise SetupError(
            f"{config.path}: telegram.mode is webhook: set {WEBHOOK_SECRET_ENV} "
            "to 1-256 characters A-Z, a-z, 0-9, _ and -"
        )
    secrets = TelegramSecrets(token, webhook_secret)

    def build(core: Core) -> TelegramChannel:
        return TelegramChannel(core, config.telegram, secrets, core.texts.commands, config.webhooks)

    return Prepared((token, webhook_secret or ""), build)


class TelegramChannel:
    def __init__(
        self,
        core: Core,
        config: TelegramConfig,
        secrets: TelegramSecrets,
        commands: dict[str, dict[str, str]],
        limits: WebhookLimits | None = None,
    ) -> None:
        self.core = core
        self.config = config
        self.secrets = secrets
        self.commands = commands
        self.staff_commands = core.texts.staff_commands
        self.limits = limits or WebhookLimits()
        self.application = self._build_application()
        self.delivery = Delivery(core, CHANNEL, self.deliver, config.delivery_per_second)
        self.intake = Intake(core, CHANNEL, self._deliver_taken, MAX_CONCURRENT_UPDATES)
        self._polling: asyncio.Task | None = None
        self._server: webhook.BoundedServer | None = None
        self._answering: set[asyncio.Task] = set()
        # picture id → Telegram's file id for it, once uploaded (one upload at a time)
        self._photo_ids: dict[int, str] = {}
        self._refused: set[int] = set()  # pictures Telegram would not take
        self._uploading = asyncio.Lock()

    def _build_application(self) -> Application:
        # no Updater: the bot reads updates itself, so it decides when they are acknowledged
        return (
            Application.builder()
            .token(self.secrets.token)
            .base_url(self.config.api_base_url)
            .base_file_url(self.config.api_base_url.removesuffix("/bot") + "/file/bot")
            .rate_limiter(
                AIORateLimiter(overall_max_rate=self.config.max_messages_per_second, max_retries=3)
            )
            .get_updates_read_timeout(self.config.poll_timeout + 10)
            .updater(None)
            .build()
        )

    @property
    def bot_id(self) -> int:
        return self.application.bot.id

    # -- in ------------------------------------------------------------------------------------

    async def _store(self, updates: list[Update]) -> None:
        """Store the updates that need handling (raises DatabaseError if they could not be);
        then stop the spinner of the buttons tapped."""
        await self.intake.store([arrival(m) for m in map(self._incoming, updates) if m])
        for update in updates:
            if update.callback_query is not None:
                self._answer(update.callback_query.answer())

    def _incoming(self, update: Update) -> Incoming | None:
        """An update the bot cannot read is logged (its id only) and let go: kept, it would
        stop every update after it."""
        try:
            return incoming_from_update(update, self.config.staff_group_id, self.bot_id)
        except Exception as exc:  # whatever it is: one update must not stop all the others
            log.error("event=update_unreadable update_id=%s error=%s", update.update_id, type(exc))
            return None

    def _answer(self, awaitable) -> None:
        task = asyncio.create_task(_quietly(awaitable))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _poll(self) -> None:
        """getUpdates with the offset moved past an update only once it is stored: Telegram
        keeps what the bot has not confirmed, so a crash loses nothing. Network trouble and
        a second bot polling with the same token are retried with backoff; a full disk too,
        without confirming anything meanwhile."""
        bot = self.application.bot
        offset: int | None = None
        delay = 1.0
        while True:
            if self.intake.full:  # a flood: Telegram keeps the rest a while
                await asyncio.sleep(0.2)
                continue
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=self.config.poll_timeout,
                    allowed_updates=Update.ALL_TYPES,
                )
                if updates:
                    await self._store(list(updates))
                    offset = updates[-1].update_id + 1
                delay = 1.0
            except InvalidToken:
                log.error("event=polling_stopped reason=invalid_token")
                raise
            except (NetworkError, Conflict, DatabaseError) as exc:
                log.warning("event=polling_error error=%r wait_seconds=%.0f", str(exc), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, POLL_RETRY_MAX_SECONDS)

    def _webhook_headers(self, headers: HTTPHeaders) -> str | None:
        offered = headers.get(SECRET_HEADER)
        if offered is None:
            return "no_secret_token"
        expected = self.secrets.webhook_secret or ""
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            return "wrong_secret_token"
        return None

    async def _webhook_body(self, body: bytes, headers: HTTPHeaders) -> webhook.Answer:
        """A webhook POST whose secret token was right: 200 only once it is stored (a 5xx
        and Telegram sends it again)."""
        try:
            update = Update.de_json(json.loads(body), self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return 400, "bad_update"
        try:
            await self._store([update])
        except DatabaseError as exc:
            log.error("event=database_failed step=intake error=%r", str(exc))
            return 503, None
        return 200, None

    # -- out -----------------------------------------------------------------------------------

    async def _deliver_taken(self, taken: Taken, chat: str) -> None:
        """What handling an update gave: queued replies sent now (through the outbox, so a
        refusal is retried), direct ones (the staff group) as they are."""
        await self.delivery.send_now(taken.queued)
        for reply in taken.direct:
            await self.send(int(chat), reply)

    def _messages(self, reply: Reply) -> list:
        parts: list = list(render(reply))
        if reply.picture:
            parts = with_picture(reply, parts)
        if reply.document:
            parts.append(reply.document)
        return parts

    async def _transmit(self, chat_id: int, reply: Reply, skip: int = 0) -> None:
        """The reply's messages (and file) to one chat, from part ``skip`` on; Telegram errors
        are raised, with the number of parts sent before in ``parts_sent``."""
        bot = self.application.bot
        for number, part in enumerate(self._messages(reply)[skip:]):
            try:
                if isinstance(part, Photo):
                    await self._send_photo(chat_id, part)
                elif isinstance(part[1], bytes):
                    await bot.send_document(chat_id, InputFile(part[1], filename=part[0]))
                else:
                    await bot.send_message(
                        chat_id, part[0], parse_mode=ParseMode.HTML, reply_markup=part[1]
                    )
            except TelegramError as exc:
                exc.parts_sent = number  # type: ignore[attr-defined]
                raise

    async def _send_photo(self, chat_id: int, part: Photo) -> None:
        """The picture by its file id once Telegram has it, uploaded (once) before that; one
        Telegram refuses (or that was deleted) leaves the words to go alone."""
        picture = part.picture
        if picture.id in self._photo_ids:
            try:
                await self._photo(chat_id, self._photo_ids[picture.id], part)
                return
            except BadRequest as exc:
                if not _about_the_picture(exc):
                    raise
                self._photo_ids.pop(picture.id, None)  # Telegram forgot it: upload again
        async with self._uploading:
            if picture.id in self._photo_ids:  # uploaded meanwhile, for someone else
                await self._photo(chat_id, self._photo_ids[picture.id], part)
                return
            data = None if picture.id in self._refused else await self.core.picture(picture.id)
            if data is not None:
                try:
                    upload = InputFile(data, filename=picture.file_name or "picture")
                    sent = await self._photo(chat_id, upload, part)
                    self._photo_ids[picture.id] = sent.photo[-1].file_id
                    return
                except BadRequest as exc:
                    if not _about_the_picture(exc):
                        raise
                    log.error("event=picture_refused picture=%s error=%r", picture.id, exc.message)
                    self._refused.add(picture.id)
        if part.caption:
            bot = self.application.bot
            await bot.send_message(
                chat_id, part.caption, parse_mode=ParseMode.HTML, reply_markup=part.markup
            )

    async def _photo(self, chat_id: int, photo: str | InputFile, part: Photo) -> Message:
        return await self.application.bot.send_photo(
            chat_id,
            photo,
            caption=part.caption or None,
            parse_mode=ParseMode.HTML,
            reply_markup=part.markup,
            write_timeout=UPLOAD_SECONDS,
        )

    async def send(self, chat_id: int, reply: Reply) -> None:
        """Send one reply now (the staff group); a refusal by Telegram is logged, not raised."""
        try:
            await self._transmit(chat_id, reply)
        except Forbidden:
            log.info("event=send_refused reason=blocked chat=%s", chat_id)
        except BadRequest as exc:
            log.error(
                "event=send_refused reason=bad_request chat=%s error=%r", chat_id, exc.message
            )
        except TelegramError as exc:
            log.warning("event=send_failed chat=%s error=%r", chat_id, str(exc))

    async def deliver(self, due: Due, reply: Reply) -> None:
        """Send an outbox row (from the part a last attempt stopped at); Telegram's refusals
        become DeliveryErrors the worker sorts."""
        try:
            await self._transmit(int(due.channel_user_id), reply, due.parts_sent)
        except Forbidden as exc:
            raise DeliveryError("blocked", exc.message) from None
        except BadRequest as exc:
            raise DeliveryError("rejected", exc.message) from None
        except RetryAfter as exc:
            raise DeliveryError(
                "retry", exc.message, _seconds(exc.retry_after), _parts(exc)
            ) from None
        except NetworkError as exc:  # includes TimedOut
            raise DeliveryError("retry", str(exc), None, _parts(exc)) from None

    async def register_commands(self) -> None:
        """The command menu in the Telegram app, per language; Indonesian is the default.
        Each staff member's own chat gets the staff commands too."""
        bot = self.application.bot
        for lang, commands in self.commands.items():
            listing = [BotCommand(name, description) for name, description in commands.items()]
            await bot.set_my_commands(listing, scope=BotCommandScopeDefault(), language_code=lang)
        default = self.commands.get("id") or next(iter(self.commands.values()))
        await bot.set_my_commands([BotCommand(n, d) for n, d in default.items()])
        for staff_id in self.config.staff_ids:
            await self._staff_commands(staff_id)

    async def _staff_commands(self, staff_id: int) -> None:
        """A staff member who never wrote to the bot has no chat yet ("chat not found"): their
        menu comes at the next start after they did."""
        bot = self.application.bot
        scope = BotCommandScopeChat(staff_id)
        try:
            for lang, commands in self.commands.items():
                both = {**commands, **self.staff_commands.get(lang, {})}
                listing = [BotCommand(name, description) for name, description in both.items()]
                await bot.set_my_commands(listing, scope=scope, language_code=lang)
                if lang == "id":
                    await bot.set_my_commands(listing, scope=scope)
        except BadRequest as exc:
            log.info("event=staff_commands_skipped staff=%s error=%r", staff_id, exc.message)

    # -- running -------------------------------------------------------------------------------

    async def _connect(self) -> None:
        """getMe and the command list; a network failure is retried with backoff, forever.

        A rejected token is not retried: InvalidToken reaches the caller.
        """
        delay = 1.0
        while True:
            try:
                await self.application.initialize()
                await self.register_commands()
                return
            except InvalidToken:
                raise
            except NetworkError as exc:  # TimedOut is a NetworkError too
                log.warning("event=startup_retry error=%r wait_seconds=%.0f", str(exc), delay)
                await self.application.shutdown()
                await asyncio.sleep(delay)
                delay = min(delay * 2, STARTUP_RETRY_MAX_SECONDS)

    async def start(self) -> None:
        await self._connect()
        await self.application.start()
        await self.delivery.start()
        self.intake.start()  # what a crash left waiting is handled first
        bot = self.application.bot
        if self.config.mode == "webhook":
            hook = self.config.webhook
            endpoint = webhook.Endpoint(CHANNEL, self._webhook_headers, self._webhook_body)
            self._server = webhook.serve(endpoint, hook.path, self.limits, hook.listen, hook.port)
            await bot.set_webhook(
                hook.public_url,
                secret_token=self.secrets.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await bot.delete_webhook()  # getUpdates is refused while a webhook is set
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")
        log.info("event=telegram_started mode=%s", self.config.mode)

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, InvalidToken):
                await self._polling
            self._polling = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        await self.intake.stop()
        await self.delivery.stop()
        if self._answering:
            await asyncio.gather(*list(self._answering), return_exceptions=True)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        log.info("event=telegram_stopped")

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (SIGTERM/SIGINT in the CLI), even while still starting;
        polling that stops for good (a revoked token) stops the bot."""
        starting = asyncio.create_task(self.start())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a start-up failure is raised here
                waits = {stopping} | ({self._polling} if self._polling else set())
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if self._polling is not None and self._polling.done():
                    self._polling.result()
        finally:
            for task in (starting, stopping):
                task.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await self.stop()


def _about_the_picture(exc: BadRequest) -> bool:
    return any(words in exc.message.lower() for words in PICTURE_REFUSALS)


def _parts(exc: Exception) -> int:
    return getattr(exc, "parts_sent", 0)


def _seconds(value: object) -> float:
    """RetryAfter.retry_after: seconds now, a timedelta in PTB's next major version."""
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except TelegramError as exc:
        log.info("event=callback_answer_failed error=%r", str(exc))
