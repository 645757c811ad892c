"""Telegram channel: the only module that imports python-telegram-bot.

It turns each Update into a neutral Incoming, hands it to the core and renders the replies:
plain text HTML-escaped (so a villager's "<" or "&" never breaks a message), split at 4096
characters on line boundaries, buttons as an inline keyboard on the last part. Its delivery
worker sends what the outbox holds for Telegram chats.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import re
from dataclasses import dataclass

from telegram import (
    BotCommand,
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
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)

from bot.channels.base import ChatOrder, Core, Delivery, Prepared, SetupError
from bot.config import TOKEN_ENV, WEBHOOK_SECRET_ENV, Config, TelegramConfig, secret
from bot.core.messages import Button, Incoming, Kind, Reply, split_text
from bot.delivery.worker import DeliveryError
from bot.domain.outbox import Due

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Updates handled at once: villagers do not wait for each other, while each chat's own
# messages are still handled one after another, in order (PerChatUpdateProcessor).
MAX_CONCURRENT_UPDATES = 4
UNLIMITED = 1_000_000
STARTUP_RETRY_MAX_SECONDS = 60
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


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
            update_id=str(update.update_id),
        )
    message = update.message
    if message is None or message.from_user is None:
        return None  # edits, channel posts, ...
    if message.chat.type != "private":
        return _staff_group_reply(message, staff_group, bot_id)
    user = message.from_user
    common = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "display_name": user.full_name,
        "language_hint": user.language_code,
        "update_id": str(update.update_id),
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
    message: Message, staff_group: int | None, bot_id: int | None
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
        update_id=str(message.message_id),
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


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats are handled concurrently; one chat's updates strictly in order
    (ChatOrder, bot/channels/base.py)."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(UNLIMITED)  # PTB's own semaphore would be taken before the chat lock
        self._order = ChatOrder(max_concurrent_updates)

    async def do_process_update(self, update: object, coroutine) -> None:
        async with self._order.turn(_chat_key(update)):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _chat_key(update: object) -> int | None:
    """Whose updates must stay in order: the chat, or the user (a button on an old message)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class WebhookRejections(logging.Filter):
    """python-telegram-bot notes a webhook request without the right secret-token header
    only at DEBUG (with the wrong token in it). Make it one WARNING line, with neither the
    body nor the token offered. The logger's other DEBUG lines (the received updates, with
    what villagers wrote) never pass; INFO and above as the level allows."""

    LOGGER = "telegram.ext.Updater"  # PTB's webhook server logs under this name

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith(("Request did not include the secret", "Request had the wrong")):
            reason = "no_secret_token" if "did not include" in message else "wrong_secret_token"
            record.msg, record.args = f"event=webhook_rejected status=403 reason={reason}", None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            return True
        return record.levelno >= logging.INFO and logging.getLogger().isEnabledFor(record.levelno)

    @classmethod
    def install(cls) -> None:
        logger = logging.getLogger(cls.LOGGER)
        if not any(isinstance(f, cls) for f in logger.filters):
            logger.addFilter(cls())
        logger.setLevel(logging.DEBUG)  # the records must exist for the filter to see them


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
        return TelegramChannel(core, config.telegram, secrets, core.texts.commands)

    return Prepared((token, webhook_secret or ""), build)


class TelegramChannel:
    def __init__(
        self,
        core: Core,
        config: TelegramConfig,
        secrets: TelegramSecrets,
        commands: dict[str, dict[str, str]],
    ) -> None:
        self.core = core
        self.config = config
        self.secrets = secrets
        self.commands = commands
        self.application = self._build_application()
        self.delivery = Delivery(core, CHANNEL, self.deliver, config.delivery_per_second)

    def _build_application(self) -> Application:
        application = (
            Application.builder()
            .token(self.secrets.token)
            .base_url(self.config.api_base_url)
            .base_file_url(self.config.api_base_url.removesuffix("/bot") + "/file/bot")
            .rate_limiter(
                AIORateLimiter(overall_max_rate=self.config.max_messages_per_second, max_retries=3)
            )
            .get_updates_read_timeout(self.config.poll_timeout + 10)
            .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
            .build()
        )
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        return application

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = incoming_from_update(update, self.config.staff_group_id, self.application.bot.id)
        if message is None:
            return
        if update.callback_query is not None:
            await _quietly(update.callback_query.answer())  # stops the button's spinner
        replies = await self.core.handle(message)
        chat_id = update.effective_chat.id if update.effective_chat else int(message.user_id)
        for reply in replies:
            await self.send(chat_id, reply)

    async def _transmit(self, chat_id: int, reply: Reply) -> None:
        """The reply's messages (and file) to one chat; Telegram errors are raised."""
        for text, markup in render(reply):
            await self.application.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        if reply.document:
            name, content = reply.document
            await self.application.bot.send_document(chat_id, InputFile(content, filename=name))

    async def send(self, chat_id: int, reply: Reply) -> None:
        """Send one reply; a refusal by Telegram is logged, not raised."""
        try:
            await self._transmit(chat_id, reply)
        except Forbidden:
            log.info("event=send_refused reason=blocked chat=%s", chat_id)
        except BadRequest as exc:
            log.error(
                "event=send_refused reason=bad_request chat=%s error=%r", chat_id, exc.message
            )

    async def deliver(self, due: Due, reply: Reply) -> None:
        """Send an outbox message; Telegram's refusals become DeliveryErrors the worker sorts."""
        try:
            await self._transmit(int(due.channel_user_id), reply)
        except Forbidden as exc:
            raise DeliveryError("blocked", exc.message) from None
        except BadRequest as exc:
            raise DeliveryError("rejected", exc.message) from None
        except RetryAfter as exc:
            raise DeliveryError("retry", exc.message, _seconds(exc.retry_after)) from None
        except NetworkError as exc:  # includes TimedOut
            raise DeliveryError("retry", str(exc)) from None

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, NetworkError):
            log.warning("event=telegram_network_error error=%r", str(error))
        else:
            log.error("event=update_failed error=%r", error, exc_info=error)

    async def register_commands(self) -> None:
        """The command menu in the Telegram app, per language; Indonesian is the default."""
        bot = self.application.bot
        for lang, commands in self.commands.items():
            listing = [BotCommand(name, description) for name, description in commands.items()]
            await bot.set_my_commands(listing, scope=BotCommandScopeDefault(), language_code=lang)
        default = self.commands.get("id") or next(iter(self.commands.values()))
        await bot.set_my_commands([BotCommand(n, d) for n, d in default.items()])

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
        self.delivery.start()
        updater = self.application.updater
        assert updater is not None
        if self.config.mode == "webhook":
            WebhookRejections.install()
            hook = self.config.webhook
            await updater.start_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path,
                webhook_url=hook.public_url,
                secret_token=self.secrets.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await updater.start_polling(
                timeout=self.config.poll_timeout,
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=-1,
                error_callback=self._polling_error,
            )
        log.info("event=telegram_started mode=%s", self.config.mode)

    def _polling_error(self, error: TelegramError) -> None:
        log.warning("event=polling_error error=%r", str(error))

    async def stop(self) -> None:
        await self.delivery.stop()
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        log.info("event=telegram_stopped")

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (SIGTERM/SIGINT in the CLI), even while still starting."""
        starting = asyncio.create_task(self.start())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a start-up failure is raised here
                await stopping
        finally:
            for task in (starting, stopping):
                task.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await self.stop()


def _seconds(value: object) -> float:
    """RetryAfter.retry_after: seconds now, a timedelta in PTB's next major version."""
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except TelegramError as exc:
        log.info("event=callback_answer_failed error=%r", str(exc))
