"""Configuration: config.yaml read once at start, validated into typed, frozen objects.

Every error names the file, the line, the key and what was expected. Secrets never live in the
file: they come from environment variables (see SECRET_ENV).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.support import yamlfile
from bot.support.yamlfile import LineDict, Problem

LANGUAGES = ("id", "en")
# The two offices behind the bot, with the names villagers know them by (both sourced).
DEFAULT_OFFICE_NAMES = {
    "bp3mi": "BP3MI Sulawesi Tengah",
    "imigrasi": "Kantor Imigrasi Kelas I TPI Palu",
}
OFFICE_FIELDS = ("name", "address", "phone", "whatsapp", "hours")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
WHATSAPP_TOKEN_ENV = "WHATSAPP_ACCESS_TOKEN"
WHATSAPP_APP_SECRET_ENV = "WHATSAPP_APP_SECRET"
WHATSAPP_VERIFY_TOKEN_ENV = "WHATSAPP_VERIFY_TOKEN"

_MISSING: Any = object()


class ConfigError(Problem):
    """A configuration problem; printed as one line and the process exits non-zero."""


@dataclass(frozen=True)
class Office:
    name: str
    address: str = ""
    phone: str = ""
    whatsapp: str = ""
    hours: str = ""


@dataclass(frozen=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "telegram"
    public_url: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    api_base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    poll_timeout: int = 10
    max_messages_per_second: int = 30
    delivery_per_second: int = 25
    staff_ids: tuple[int, ...] = ()
    staff_group_id: int | None = None
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp message template, for messages outside the 24-hour window."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()  # the values filling {{1}}, {{2}}, ... in order
    header: str = ""  # "image": its header is a picture (the announcement's)
    body: str = ""  # the approved text, as Meta shows it ("Pengumuman dari {{1}}: {{2}}")

    def filled(self, values: dict[str, str]) -> str:
        """The body as the person reads it (for the console's preview); "" without one."""
        text = self.body
        for number, name in enumerate(self.parameters, start=1):
            text = text.replace(f"{{{{{number}}}}}", values.get(name, ""))
        return text


@dataclass(frozen=True)
class WhatsAppConfig:
    enabled: bool = False
    api_base_url: str = "https://graph.facebook.com/v21.0"
    phone_number_id: str = ""
    messages_per_second: int = 60
    listen: str = "127.0.0.1"
    port: int = 8444
    path: str = "whatsapp"
    # text key → language ("id", "en"; ANY_LANGUAGE for one template for all) → template
    templates: dict[str, dict[str, Template]] = field(default_factory=dict)
    # the messaging tier: people a conversation may be started with in 24 hours (None: any)
    daily_new_conversations: int | None = 250
    # staff on WhatsApp, by phone number in international form without "+" (6281234567890)
    staff_numbers: tuple[str, ...] = ()

    def template_for(
        self, text_key: str, picture: bool = False, lang: str = "id"
    ) -> Template | None:
        """The template a queued message goes as outside the 24-hour window, in the person's
        language (else the Indonesian one): an announcement with a picture as
        ``broadcast_picture`` when there is one."""
        if picture and text_key == "broadcast" and PICTURE_TEMPLATE in self.templates:
            text_key = PICTURE_TEMPLATE
        by_language = self.templates.get(text_key, {})
        return by_language.get(lang) or by_language.get("id") or by_language.get(ANY_LANGUAGE)


@dataclass(frozen=True)
class WebhookLimits:
    """What any webhook server (Telegram in webhook mode, WhatsApp) accepts."""

    max_body_bytes: int = 1024 * 1024  # a larger POST is answered 413 before it is read
    max_connections: int = 256  # open at once; beyond it the oldest is closed
    timeout_seconds: int = 10  # to send a request's headers, and again its body


@dataclass(frozen=True)
class ConsoleConfig:
    """The staff console (bot/console/): a web workplace for the office."""

    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = 8445
    session_hours: int = 12  # signed in for this long, then sign in again


@dataclass(frozen=True)
class BroadcastConfig:
    office: str = "bp3mi"  # who announcements are from unless staff choose
    quiet_start_hour: int = 21  # local time; nothing announced from here...
    quiet_end_hour: int = 7  # ...until here (equal hours: no quiet time)


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    timezone: ZoneInfo
    default_language: str
    faq_dir: Path
    texts_dir: Path
    log_level: str
    faq_threshold: float
    menu_topics: tuple[str, ...]
    villages: tuple[str, ...]
    reminder_hour: int
    reminder_before_minutes: int
    offices: dict[str, Office]
    telegram: TelegramConfig
    broadcasts: BroadcastConfig = field(default_factory=BroadcastConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    retention_days: int = 180  # message texts older than this are erased every day
    messages_per_minute: int = 20  # more from one person: one notice, then silence
    webhooks: WebhookLimits = field(default_factory=WebhookLimits)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)

    def staff_members(self) -> frozenset[tuple[str, str]]:
        """The staff as (channel, user id) pairs, as the people table names them."""
        on_telegram = {("telegram", str(i)) for i in self.telegram.staff_ids}
        return frozenset(on_telegram | {("whatsapp", n) for n in self.whatsapp.staff_numbers})

    def office_values(self) -> dict[str, str]:
        """Placeholder values such as ``bp3mi.phone``; unset values are left out."""
        values = {}
        for key, office in self.offices.items():
            for name in OFFICE_FIELDS:
                value = getattr(office, name).strip()
                if value:
                    values[f"{key}.{name}"] = value
        return values

    def office_placeholders(self) -> set[str]:
        """Every ``{office.field}`` placeholder an answer may use, set or not."""
        return {f"{office}.{name}" for office in self.offices for name in OFFICE_FIELDS}

    def unset_office_values(self) -> list[str]:
        return [
            f"offices.{key}.{name}"
            for key, office in self.offices.items()
            for name in OFFICE_FIELDS
            if not getattr(office, name).strip()
        ]


class _Section:
    """Reads one mapping of the file, remembering which keys were used."""

    def __init__(self, file: Path, data: Any, prefix: str, line: int) -> None:
        if data is None:
            data = LineDict()
            data.line, data.key_lines = line, {}
        if not isinstance(data, dict):
            raise ConfigError(file, line, f"{prefix or 'top level'}: expected a mapping of keys")
        self.file, self.data, self.prefix = file, data, prefix
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _line(self, key: str) -> int:
        return self.data.line_of(key) if isinstance(self.data, LineDict) else 0

    def error(self, key: str, expected: str, got: Any = _MISSING) -> ConfigError:
        detail = "" if got is _MISSING else f", got {got!r}"
        return ConfigError(
            self.file, self._line(key), f"{self._key(key)}: expected {expected}{detail}"
        )

    def _get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "a value (this key is required)")
        return default

    def section(self, key: str) -> _Section:
        self.used.add(key)
        return _Section(self.file, self.data.get(key), self._key(key), self._line(key))

    def string(self, key: str, default: Any = _MISSING, *, required: bool = False) -> str:
        value = self._get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(key, "text", value)
        if required and not value.strip():
            raise self.error(key, "non-empty text", value)
        return value.strip()

    def integer(self, key: str, default: Any, *, minimum: int, maximum: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"a whole number from {minimum} to {maximum}", value)
        if not minimum <= value <= maximum:
            raise self.error(key, f"a whole number from {minimum} to {maximum}", value)
        return value

    def number(self, key: str, default: Any, *, minimum: float, maximum: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"a number from {minimum} to {maximum}", value)
        if not minimum <= value <= maximum:
            raise self.error(key, f"a number from {minimum} to {maximum}", value)
        return float(value)

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if value not in options:
            raise self.error(key, "one of " + ", ".join(f'"{o}"' for o in options), value)
        return value

    def id_list(self, key: str) -> tuple[int, ...]:
        """Numeric user ids (never user names, which anyone can change)."""
        value = self._get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise self.error(key, "a list of numeric Telegram user ids such as [123456789]", value)
        return tuple(value)

    def word_list(self, key: str, default: tuple[str, ...], expected: str) -> tuple[str, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, expected, value)
        return tuple(value)

    def path(self, key: str, default: str, base: Path) -> Path:
        value = self.string(key, default, required=True)
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path)

    def finish(self) -> None:
        """Unknown keys are usually typos: report the first one."""
        for key in self.data:
            if key not in self.used:
                known = ", ".join(sorted(self.used))
                raise ConfigError(
                    self.file,
                    self._line(key),
                    f"{self._key(str(key))}: unknown key; expected one of {known}",
                )


def load_config(path: Path | str) -> Config:
    """Read and validate a config file. Raises ConfigError naming file, line, key, expectation."""
    path = Path(path)
    try:
        data = yamlfile.load(path)
    except Problem as exc:
        raise ConfigError(exc.file, exc.line, exc.message) from None
    top = _Section(path, data, "", 1)
    base = path.resolve().parent
    config = Config(
        path=path,
        database=top.path("database", "data/desabot.sqlite3", base),
        timezone=_timezone(top),
        default_language=top.choice("default_language", LANGUAGES, "id"),
        faq_dir=top.path("faq_dir", "faq", base),
        texts_dir=top.path("texts_dir", "texts", base),
        log_level=top.choice("log_level", LOG_LEVELS, "INFO"),
        **_faq_settings(top),
        offices=_offices(top.section("offices")),
        villages=top.word_list("villages", (), "a list of village names"),
        **_reminders(top.section("reminders")),
        telegram=_telegram(top.section("telegram")),
        broadcasts=_broadcasts(top.section("broadcasts")),
        whatsapp=_whatsapp(top.section("whatsapp")),
        retention_days=_one_integer(top, "privacy", "retention_days", 180, 1, 3650),
        messages_per_minute=_one_integer(top, "flood", "messages_per_minute", 20, 1, 1000),
        webhooks=_webhooks(top.section("webhooks")),
        console=_console(top.section("console")),
    )
    top.finish()
    return config


def _timezone(top: _Section) -> ZoneInfo:
    name = top.string("timezone", "Asia/Makassar", required=True)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise top.error(
            "timezone", 'an IANA time zone name such as "Asia/Makassar"', name
        ) from None


DEFAULT_MENU_TOPICS = ("paspor-syarat", "paspor-biaya", "pmi-prosedur", "tppo-tanda")


def _faq_settings(top: _Section) -> dict[str, Any]:
    faq = top.section("faq")
    threshold = faq.number("threshold", 0.30, minimum=0.0, maximum=1.0)
    topics = faq.word_list("menu_topics", DEFAULT_MENU_TOPICS, "a list of FAQ topic ids")
    faq.finish()
    return {"faq_threshold": threshold, "menu_topics": topics}


def _reminders(section: _Section) -> dict[str, int]:
    values = {
        "reminder_hour": section.integer("day_before_hour", 9, minimum=0, maximum=23),
        "reminder_before_minutes": section.integer(
            "before_start_minutes", 120, minimum=1, maximum=24 * 60
        ),
    }
    section.finish()
    return values


def _offices(section: _Section) -> dict[str, Office]:
    offices = {}
    for key, default_name in DEFAULT_OFFICE_NAMES.items():
        office = section.section(key)
        values = {name: office.string(name, "") for name in OFFICE_FIELDS}
        values["name"] = office.string("name", default_name)
        if not values["name"]:
            raise office.error("name", "the office's name as villagers know it")
        office.finish()
        offices[key] = Office(**values)
    section.finish()
    return offices


def _telegram(section: _Section) -> TelegramConfig:
    base_url = section.string("api_base_url", TelegramConfig.api_base_url, required=True)
    if not base_url.startswith(("http://", "https://")):
        raise section.error("api_base_url", "a URL starting with http:// or https://", base_url)
    hook = section.section("webhook")
    webhook = WebhookConfig(
        listen=hook.string("listen", WebhookConfig.listen, required=True),
        port=hook.integer("port", WebhookConfig.port, minimum=1, maximum=65535),
        path=hook.string("path", WebhookConfig.path, required=True).strip("/"),
        public_url=hook.string("public_url", ""),
    )
    hook.finish()
    mode = section.choice("mode", ("polling", "webhook"), "polling")
    if mode == "webhook" and not webhook.public_url.startswith("https://"):
        raise hook.error(
            "public_url", "the public https:// address Telegram posts to (telegram.mode is webhook)"
        )
    telegram = TelegramConfig(
        api_base_url=base_url,
        mode=mode,
        poll_timeout=section.integer("poll_timeout", 10, minimum=0, maximum=50),
        max_messages_per_second=section.integer(
            "max_messages_per_second", 30, minimum=1, maximum=1000
        ),
        staff_ids=section.id_list("staff_ids"),
        staff_group_id=_group_id(section),
        webhook=webhook,
    )
    delivery = section.integer(
        "delivery_per_second", 25, minimum=1, maximum=telegram.max_messages_per_second
    )
    section.finish()
    return replace(telegram, delivery_per_second=delivery)


def _group_id(section: _Section) -> int | None:
    """The staff group's chat id: negative, as Telegram gives it (0 or empty: no group)."""
    value = section._get("staff_group_id", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value > 0:
        raise section.error(
            "staff_group_id", "the staff group's numeric chat id, such as -1001234567890", value
        )
    return value or None


TEMPLATE_PARAMETERS = (
    "name", "title", "when", "place", "village", "booking", "text", "office", "question", "answer",
)  # fmt: skip
# the messages that can wait in the outbox, and so may need a template on WhatsApp
QUEUED_TEXTS = (
    "reminder_day_before", "reminder_soon", "notice_promoted", "notice_session_changed",
    "notice_session_cancelled", "broadcast", "officer_answer", "broadcast_done",
)  # fmt: skip
# an announcement with a picture, outside the window: a template whose header is an image
PICTURE_TEMPLATE = "broadcast_picture"


def _whatsapp(section: _Section) -> WhatsAppConfig:
    enabled = section._get("enabled", False)
    if not isinstance(enabled, bool):
        raise section.error("enabled", "true or false", enabled)
    base_url = section.string("api_base_url", WhatsAppConfig.api_base_url, required=True)
    if not base_url.startswith(("http://", "https://")):
        raise section.error("api_base_url", "a URL starting with http:// or https://", base_url)
    phone_number_id = section.string("phone_number_id", "")
    if enabled and not phone_number_id.isdigit():
        raise section.error(
            "phone_number_id", "the numeric phone number id from Meta's WhatsApp Manager"
        )
    config = WhatsAppConfig(
        enabled=enabled,
        api_base_url=base_url.rstrip("/"),
        phone_number_id=phone_number_id,
        messages_per_second=section.integer("messages_per_second", 60, minimum=1, maximum=1000),
        listen=section.string("listen", WhatsAppConfig.listen, required=True),
        port=section.integer("port", WhatsAppConfig.port, minimum=1, maximum=65535),
        path=section.string("path", WhatsAppConfig.path, required=True).strip("/"),
        templates=_templates(section.section("templates")),
        daily_new_conversations=_tier(section),
        staff_numbers=_staff_numbers(section),
    )
    section.finish()
    return config


def _staff_numbers(section: _Section) -> tuple[str, ...]:
    value = section._get("staff_numbers", [])
    numbers = [str(v).removeprefix("+") for v in value] if isinstance(value, list) else None
    if numbers is None or not all(n.isdigit() and 8 <= len(n) <= 15 for n in numbers):
        expected = "a list of WhatsApp numbers with their country code, such as [6281234567890]"
        raise section.error("staff_numbers", expected, value)
    if any(n.startswith("0") for n in numbers):
        bad = next(n for n in numbers if n.startswith("0"))
        raise section.error("staff_numbers", "62... (the country code, not a leading 0)", bad)
    return tuple(numbers)


TIERS = (250, 2000, 10_000, 100_000)


def _tier(section: _Section) -> int | None:
    """The tier Meta's WhatsApp Manager shows for the business: 250, 2000, 10000, 100000 or
    unlimited (a number in between is taken: a business may want to stay below its tier)."""
    value = section._get("daily_new_conversations", 250)
    if value == "unlimited":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        expected = "the tier in WhatsApp Manager: " + ", ".join(map(str, TIERS)) + " or unlimited"
        raise section.error("daily_new_conversations", expected, value)
    return value


ANY_LANGUAGE = "*"
PLACEHOLDER = re.compile(r"\{\{\s*([0-9]+)\s*\}\}")


def _templates(section: _Section) -> dict[str, dict[str, Template]]:
    """text key → approved template, e.g. reminder_day_before: {name: pengingat_sesi,
    language: id, parameters: [title, when, place]}; or one per language: broadcast: {id:
    {name: ...}, en: {name: ..., language: en}}."""
    templates = {}
    for key in list(section.data):
        if key not in (*QUEUED_TEXTS, PICTURE_TEMPLATE):
            raise section.error(
                str(key),
                "a message that can be queued: " + ", ".join((*QUEUED_TEXTS, PICTURE_TEMPLATE)),
            )
        entry = section.section(str(key))
        if "name" in entry.data:
            templates[str(key)] = {ANY_LANGUAGE: _template(entry, str(key), "id")}
            continue
        by_language = {}
        for lang in list(entry.data):
            if lang not in LANGUAGES:
                raise entry.error(str(lang), "name: (one template) or one per language: id, en")
            by_language[str(lang)] = _template(entry.section(str(lang)), str(key), str(lang))
        entry.finish()
        templates[str(key)] = by_language
    section.finish()
    return templates


def _template(entry: _Section, key: str, lang: str) -> Template:
    name = entry.string("name", required=True)
    language = entry.string("language", lang, required=True)
    parameters = entry.word_list(
        "parameters", (), "a list of values, each one of " + ", ".join(TEMPLATE_PARAMETERS)
    )
    unknown = [p for p in parameters if p not in TEMPLATE_PARAMETERS]
    if unknown:
        raise entry.error(
            "parameters", "values among " + ", ".join(TEMPLATE_PARAMETERS), unknown[0]
        )
    header = _template_header(entry, key)
    body = entry.string("body", "")
    numbers = sorted({int(n) for n in PLACEHOLDER.findall(body)})
    if body and numbers != list(range(1, len(parameters) + 1)):
        raise entry.error(
            "body",
            f"the approved text with {{{{1}}}}..{{{{{len(parameters)}}}}}, one for each of the"
            f" {len(parameters)} parameters (WhatsApp refuses another count: 132000)",
            body,
        )
    entry.finish()
    return Template(name, language, tuple(parameters), header, body)


def _template_header(entry: _Section, key: str) -> str:
    """Only the picture announcement's template has a header (an image, always)."""
    if key == PICTURE_TEMPLATE:
        return entry.choice("header", ("image",), "image")
    if entry.data.get("header") is not None:
        raise entry.error("header", f"no header (only {PICTURE_TEMPLATE} has one: an image)")
    return ""


def _one_integer(
    top: _Section, name: str, key: str, default: int, minimum: int, maximum: int
) -> int:
    section = top.section(name)
    value = section.integer(key, default, minimum=minimum, maximum=maximum)
    section.finish()
    return value


def _webhooks(section: _Section) -> WebhookLimits:
    limits = WebhookLimits(
        max_body_bytes=section.integer(
            "max_body_bytes", WebhookLimits.max_body_bytes, minimum=4096, maximum=64 * 1024 * 1024
        ),
        max_connections=section.integer(
            "max_connections", WebhookLimits.max_connections, minimum=8, maximum=100_000
        ),
        timeout_seconds=section.integer(
            "timeout_seconds", WebhookLimits.timeout_seconds, minimum=1, maximum=300
        ),
    )
    section.finish()
    return limits


def _console(section: _Section) -> ConsoleConfig:
    enabled = section._get("enabled", False)
    if not isinstance(enabled, bool):
        raise section.error("enabled", "true or false", enabled)
    console = ConsoleConfig(
        enabled=enabled,
        listen=section.string("listen", ConsoleConfig.listen, required=True),
        port=section.integer("port", ConsoleConfig.port, minimum=1, maximum=65535),
        session_hours=section.integer(
            "session_hours", ConsoleConfig.session_hours, minimum=1, maximum=24 * 14
        ),
    )
    section.finish()
    return console


def _broadcasts(section: _Section) -> BroadcastConfig:
    office = section.choice("office", tuple(DEFAULT_OFFICE_NAMES), "bp3mi")
    start = section.integer("quiet_start_hour", 21, minimum=0, maximum=23)
    end = section.integer("quiet_end_hour", 7, minimum=0, maximum=23)
    section.finish()
    return BroadcastConfig(office, start, end)


def secret(name: str) -> str | None:
    """A secret from the environment; never from config.yaml."""
    value = os.environ.get(name, "").strip()
    return value or None
