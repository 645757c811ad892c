"""The assembled bot: content and database opened from a validated Config, the features on
the router, the message pipeline, and the rendering and housekeeping the delivery workers
use. Channels (bot/channels/) are handed an App; the CLI builds one per command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from bot.channels.registry import CHANNELS, reachable_channels
from bot.config import Config
from bot.content.faq import Faq, load_faq, read_out_of_scope, with_examples
from bot.content.matcher import Matcher
from bot.content.normalise import load_lexicon
from bot.content.texts import Texts, load_texts
from bot.core.context import Env, Settings, Speaker
from bot.core.messages import Incoming, Reply, incoming_from_text
from bot.core.pipeline import Pipeline, Taken
from bot.core.router import Router
from bot.delivery.housekeeping import housekeeping
from bot.delivery.render import OutboxRenderer
from bot.domain import accounts, people, pictures, teaching
from bot.domain.broadcasts import QuietHours
from bot.domain.outbox import Due
from bot.domain.reminders import ReminderPolicy
from bot.domain.store import Database
from bot.features import FEATURES
from bot.support.yamlfile import Problem

log = logging.getLogger(__name__)


def menu_topic_problems(config: Config, faq: Faq) -> list[Problem]:
    """faq.menu_topics must name existing topics."""
    return [
        Problem(config.path, None, f"faq.menu_topics: {topic_id!r} is not an FAQ topic id")
        for topic_id in config.menu_topics
        if topic_id not in faq.topics
    ]


def reminder_policy(config: Config) -> ReminderPolicy:
    return ReminderPolicy(
        timezone=config.timezone,
        day_before_hour=config.reminder_hour,
        before_start=timedelta(minutes=config.reminder_before_minutes),
    )


def build_matcher(config: Config, faq: Faq) -> Matcher:
    """The matcher exactly as the bot uses it: lexicon, threshold and out-of-scope list."""
    return Matcher(
        faq, load_lexicon(config.faq_dir), config.faq_threshold, read_out_of_scope(config.faq_dir)
    )


class LiveFaq:
    """The FAQ and its matcher as they are now: the files as last saved (an answer edited in
    the console) and the examples officers taught (bot/domain/teaching.py) merged in. Whoever
    asks ``current`` (the bot between delivery batches, the console's pages) gets them within
    seconds of a change, in this process or another one on the same files and database."""

    def __init__(
        self, config: Config, faq: Faq, db: Database, matcher: Matcher, env: Env | None = None
    ) -> None:
        self.config, self.faq, self.db, self.env = config, faq, db, env
        self.matcher = matcher  # the FAQ's own until marks are read
        self._version: tuple[int, str] = (0, "")
        self._files = faq_files(config.faq_dir)

    @property
    def directory(self) -> Path:
        return self.config.faq_dir

    @property
    def placeholders(self) -> set[str]:
        return self.config.office_placeholders()

    async def current(self) -> Matcher:
        """The matcher with every mark and the files as saved; the bot's (``env``) changes
        with it, so a change made in this process's console is used at the next message."""
        version, files = await teaching.version(self.db), faq_files(self.config.faq_dir)
        if (version, files) == (self._version, self._files):
            return self.matcher
        if files != self._files:
            self._files = files
            self.faq = await asyncio.to_thread(self._reloaded)  # parsing: off the loop
        extra = await teaching.examples(self.db)
        # about 0.1 s for the bundled FAQ: off the event loop
        self.matcher = await asyncio.to_thread(
            build_matcher, self.config, with_examples(self.faq, extra)
        )
        self._version = version
        if self.env is not None:
            self.env.use_faq(self.faq, self.matcher)
        return self.matcher

    def _reloaded(self) -> Faq:
        """The files as saved; a file broken by hand keeps the FAQ as it was (and says so)."""
        try:
            faq = load_faq(self.config.faq_dir, self.config.office_placeholders())
        except Problem as exc:
            log.error("event=faq_reload_failed problem=%r", str(exc))
            return self.faq
        log.info("event=faq_reloaded topics=%d", len(faq.topics))
        return faq


def faq_files(directory: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What tells that an FAQ file changed: each file's name, inode (a saved file is a new
    one), modification time and size."""
    found = []
    for path in sorted(directory.glob("*.yaml")):
        with contextlib.suppress(OSError):
            stat = path.stat()
            found.append((path.name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def settings_from(config: Config) -> Settings:
    group = config.telegram.staff_group_id
    return Settings(
        default_language=config.default_language,
        timezone=config.timezone,
        villages=config.villages,
        menu_topics=config.menu_topics,
        staff_ids=config.staff_members(),
        staff_group=("telegram", str(group)) if group else None,
        policy=reminder_policy(config),
        quiet=QuietHours(
            config.timezone,
            config.broadcasts.quiet_start_hour,
            config.broadcasts.quiet_end_hour,
        ),
        retention_days=config.retention_days,
        messages_per_minute=config.messages_per_minute,
        reachable_channels=reachable_channels(),
        loggable_ids=frozenset(e.name for e in CHANNELS if not e.ids_are_phone_numbers),
    )


def build_router() -> Router:
    return Router(FEATURES)


class App:
    """What a channel is handed: the pipeline's entry point, and what its delivery worker
    needs (the database, the renderer of queued messages, the housekeeping between
    batches)."""

    def __init__(self, env: Env, router: Router, taught: LiveFaq | None = None) -> None:
        self.env, self.router, self.taught = env, router, taught
        self.pipeline = Pipeline(env, router)
        self.renderer = OutboxRenderer(env, router)

    @property
    def db(self) -> Database:
        return self.env.db

    @property
    def texts(self) -> Texts:
        return self.env.texts

    @property
    def settings(self) -> Settings:
        return self.env.settings

    async def handle(self, message: Incoming) -> list[Reply]:
        return await self.pipeline.handle(message)

    async def take(self, intake_id: int, payload: str) -> Taken:
        """Handle an update stored in the intake table (``payload``: its Incoming as text)."""
        return await self.pipeline.take(incoming_from_text(payload), intake_id)

    async def render_due(self, due: Due) -> Reply | None:
        return await self.renderer.render(due)

    async def template_values(self, due: Due) -> dict[str, str]:
        return await self.renderer.template_values(due)

    async def picture(self, picture_id: int) -> bytes | None:
        return await pictures.data_of(self.env.db, picture_id)

    async def housekeeping(self, now: datetime) -> None:
        await self.learn()
        await housekeeping(self.env, self.renderer, now)

    async def learn(self) -> None:
        """Answer with what officers taught since, in a console served apart too (a cheap
        check when nothing changed)."""
        if self.taught is not None:
            await self.taught.current()

    def broadcast_preview(self, text: str, office: str, lang: str) -> Reply:
        return self.renderer.preview(text, office, lang)

    def speaker(self, lang: str | None = None) -> Speaker:
        """Texts in ``lang`` (default: the configured one), for the command line."""
        return Speaker(self.env, self.router, lang or self.settings.default_language)

    async def use_language(self, channel: str, user_id: str, name: str, lang: str) -> None:
        """Set a person's language up front (the terminal chat's --lang option)."""
        staff = (channel, user_id) in self.settings.staff_ids
        person = await people.touch_person(self.db, channel, user_id, name, lang, staff=staff)
        if person.lang != lang:
            await people.set_language(self.db, person.id, lang)


@asynccontextmanager
async def open_app(config: Config) -> AsyncIterator[App]:
    """Load content (failing fast on a bad file) and open the database for one run."""
    texts = load_texts(config.texts_dir, config.office_values())
    faq = load_faq(config.faq_dir, config.office_placeholders())
    for problem in menu_topic_problems(config, faq):
        raise problem
    matcher = build_matcher(config, faq)
    router = build_router()
    db = await Database.open(config.database)
    try:
        settings = settings_from(config)
        await people.mark_staff(db, settings.staff_ids)
        # the console is where officers answer once it is served here or has accounts (it
        # may be served apart, by `desabot console`)
        settings.console_inbox = config.console.enabled or bool(await accounts.accounts(db))
        env = Env(db, texts, faq, matcher, settings)
        taught = LiveFaq(config, faq, db, matcher, env)
        await taught.current()
        yield App(env, router, taught)
    finally:
        await db.close()
