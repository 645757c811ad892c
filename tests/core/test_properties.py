"""Property-based tests of the core: whatever a villager (or a forged client) sends, no
exception escapes and every reply would be accepted by Telegram."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auxil.fake_bot_api import parse_html, utf16_len
from bot.app import App, open_app
from bot.channels.telegram import render
from bot.core.actions import MAX_PAYLOAD
from bot.core.messages import Incoming, Kind, Reply

STAFF = "555"
EXAMPLES = settings(
    max_examples=150,
    deadline=None,  # a shared machine: time is not the property under test
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# the actions the bot really uses, to steer generated buttons into real handlers
PREFIXES = [
    "", "menu", "ask", "sessions", "registrations", "contact", "language", "officer", "fwd",
    "subs", "sub:", "sub:v:", "lang:", "faq:", "fb:up:", "fb:down:", "reg:", "cxl:", "vil:",
    "consent:", "erase:", "st:", "st:bc:", "st:bc:x:", "st:bc:xx:", "st:vil:", "st:att:",
    "st:cancel:", "st:bc:s:", "st:bc:o:", "st:bc:v:",
]  # fmt: skip
COMMANDS = [
    "start", "menu", "bahasa", "help", "datasaya", "hapusdata", "sesi", "sesi_baru", "peserta",
    "hadir", "ubah_sesi", "batal_sesi", "umumkan", "pengumuman", "statistik", "belum_terjawab",
]  # fmt: skip
texts = st.text(st.characters(codec="utf-8"), max_size=300) | st.text(max_size=5000)


class Failures(logging.Handler):
    """Collects the core's "handling failed" and "empty reply" errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Core:
    """One app on its own event loop, shared by the examples of a test."""

    def __init__(self, config) -> None:
        self.loop = asyncio.new_event_loop()
        self._context = open_app(config)
        self.app: App = self.loop.run_until_complete(self._context.__aenter__())
        self.app.settings.staff_ids = frozenset({("telegram", STAFF)})
        self.app.pipeline.flood.per_minute = 10**9  # the examples come fast on purpose

    def say(self, kind: Kind, text: str, user: str) -> list[Reply]:
        """The replies; a bug caught by the core's safety net (an apology) fails the test."""
        message = Incoming("telegram", user, kind, text, display_name="Budi")
        failures = Failures()
        logging.getLogger("bot.app").addHandler(failures)
        try:
            return self.loop.run_until_complete(self.app.handle(message))
        finally:
            logging.getLogger("bot.app").removeHandler(failures)
            assert not failures.records, failures.records[0].getMessage()

    def close(self) -> None:
        self.loop.run_until_complete(self._context.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture
def core(make_config) -> Iterator[Core]:
    running = Core(make_config(telegram={"staff_ids": [555], "staff_group_id": -1001}))
    yield running
    running.close()


def assert_telegram_accepts(replies: list[Reply]) -> None:
    """What the stand-in Bot API enforces: 1–4096 characters after HTML parsing, non-empty
    after Telegram's trimming, button labels non-empty, callback data 1–64 bytes."""
    for reply in replies:
        for text, _ in render(reply):
            visible = parse_html(text).text
            assert visible.strip(), "Telegram refuses an empty message"
            assert utf16_len(visible) <= 4096
            assert html.unescape(text) == visible  # escaped: no markup sneaks in
        for button in reply.flat_buttons():
            assert button.label.strip()
            assert 1 <= len(button.action.encode("utf-8")) <= MAX_PAYLOAD


@EXAMPLES
@given(text=texts, user=st.sampled_from(["42", "43", STAFF]))
def test_any_text_gets_a_reply_telegram_accepts(core, text, user):
    replies = core.say(Kind.TEXT, text, user)
    assert replies
    assert_telegram_accepts(replies)


@EXAMPLES
@given(
    prefix=st.sampled_from(PREFIXES),
    rest=st.text(max_size=70),
    user=st.sampled_from(["42", STAFF]),
)
def test_any_button_payload_gets_a_reply_telegram_accepts(core, prefix, rest, user):
    replies = core.say(Kind.BUTTON, prefix + rest, user)
    assert replies
    assert_telegram_accepts(replies)


@EXAMPLES
@given(
    name=st.sampled_from(COMMANDS) | st.text(max_size=20),
    argument=st.text(max_size=40),
    user=st.sampled_from(["42", STAFF]),
)
def test_any_command_gets_a_reply_telegram_accepts(core, name, argument, user):
    replies = core.say(Kind.COMMAND, f"{name} {argument}".strip(), user)
    assert replies
    assert_telegram_accepts(replies)


@EXAMPLES
@given(steps=st.lists(st.tuples(st.sampled_from(list(Kind)), texts), min_size=1, max_size=8))
def test_any_sequence_of_messages_keeps_the_bot_answering(core, steps):
    """Flows (sign-up, announcements, officer questions) entered and left in any order."""
    for kind, text in steps:
        if kind is Kind.OTHER:
            continue
        replies = core.say(kind, text, "44")
        assert replies
        assert_telegram_accepts(replies)
