"""Wires the core together from a validated Config: database, texts, FAQ, matcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Config
from bot.conversation import Conversation
from bot.faq import Faq, load_faq, read_out_of_scope
from bot.matcher import Matcher
from bot.normalise import load_lexicon
from bot.store import Database
from bot.texts import load_texts


def office_placeholders(config: Config) -> set[str]:
    """Every ``{office.field}`` placeholder an answer may use, set or not."""
    return {key.removeprefix("offices.") for key in config.unset_office_values()} | set(
        config.office_values()
    )


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
    matcher = build_matcher(config, faq)
    db = await Database.open(config.database)
    try:
        yield Conversation(db, texts, faq, matcher, config.default_language)
    finally:
        await db.close()
