"""Wires the core together from a validated Config: database, texts, FAQ, matcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.broadcasts import QuietHours
from bot.config import OFFICE_FIELDS, Config
from bot.conversation import Conversation
from bot.faq import Faq, load_faq, read_out_of_scope
from bot.matcher import Matcher
from bot.normalise import load_lexicon
from bot.outbox import ReminderPolicy
from bot.store import Database
from bot.texts import load_texts
from bot.yamlfile import Problem


def office_placeholders(config: Config) -> set[str]:
    """Every ``{office.field}`` placeholder an answer may use, set or not."""
    return {f"{office}.{field}" for office in config.offices for field in OFFICE_FIELDS}


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


def staff_group(config: Config) -> tuple[str, str] | None:
    """Where questions for officers go: the staff group's chat, when one is configured."""
    group = config.telegram.staff_group_id
    return ("telegram", str(group)) if group else None


def build_matcher(config: Config, faq: Faq) -> Matcher:
    """The matcher exactly as the bot uses it: lexicon, threshold and out-of-scope list."""
    return Matcher(
        faq, load_lexicon(config.faq_dir), config.faq_threshold, read_out_of_scope(config.faq_dir)
    )


@asynccontextmanager
async def open_conversation(config: Config) -> AsyncIterator[Conversation]:
    """Load content (failing fast on a bad file) and open the database for one run."""
    texts = load_texts(config.texts_dir, config.office_values())
    faq = load_faq(config.faq_dir, office_placeholders(config))
    for problem in menu_topic_problems(config, faq):
        raise problem
    matcher = build_matcher(config, faq)
    db = await Database.open(config.database)
    try:
        yield Conversation(
            db,
            texts,
            faq,
            matcher,
            config.default_language,
            config.menu_topics,
            config.timezone,
            config.villages,
            reminder_policy(config),
            frozenset(("telegram", str(i)) for i in config.telegram.staff_ids),
            staff_group=staff_group(config),
            quiet=QuietHours(
                config.timezone,
                config.broadcasts.quiet_start_hour,
                config.broadcasts.quiet_end_hour,
            ),
            default_office=config.broadcasts.office,
            retention_days=config.retention_days,
            messages_per_minute=config.messages_per_minute,
        )
    finally:
        await db.close()
