"""Flood control as a villager meets it: typed text and photos are limited, taps on the bot's
buttons and commands are not (short of a script's ceiling), and the one notice says when
replies resume. The guard's clock is a stand-in, so a minute passes in no time."""

from __future__ import annotations

import pytest

from auxil import chat
from bot.core.flood import PRUNE_EVERY, TAP_CEILING_FACTOR, FloodGuard, Verdict
from bot.core.messages import Kind, Reply

LIMIT = 20  # flood.messages_per_minute's default, which the app fixture keeps
NOTICE = {"id": "terlalu banyak dalam satu menit", "en": "too many messages in one minute"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.pipeline.flood.clock = clock
    return clock


async def at(app, clock: Clock, seconds: float, kind: Kind, text: str, **options) -> list[Reply]:
    """The replies to one message sent ``seconds`` after the test began."""
    clock.now = 1000.0 + seconds
    return await app.handle(chat.incoming(kind, text, **options))


async def test_a_person_tapping_every_two_seconds_for_three_minutes_always_gets_replies(app, clock):
    taps = [(Kind.BUTTON, "menu"), (Kind.BUTTON, "contact"), (Kind.COMMAND, "menu")]
    for n in range(90):  # 30 a minute, past the limit of 20 within the first minute
        kind, text = taps[n % len(taps)]
        replies = await at(app, clock, 2 * n, kind, text)
        assert replies and NOTICE["id"] not in replies[0].text, f"tap {n} at {2 * n} s"


async def test_a_text_flood_gets_one_notice_then_silence_but_buttons_and_commands_answer(
    app, clock
):
    # 25 questions, one every 2 s: the 21st (at 40 s) is one too many
    replies = [await at(app, clock, 2 * n, Kind.TEXT, "berapa biaya paspor") for n in range(25)]
    assert all(replies[:LIMIT])
    [[notice]] = [r for r in replies if r and NOTICE["id"] in r[0].text]
    assert replies[LIMIT] == [notice]
    # the 2nd question (at 2 s) leaves the minute at 62 s: 22 s after the notice
    assert "dalam 22 detik" in notice.text
    assert replies[LIMIT + 1 :] == [[]] * 4
    [prompt] = await at(app, clock, 49, Kind.COMMAND, "bahasa")
    assert chat.actions(prompt) == ["lang:id", "lang:en"]
    [menu] = await at(app, clock, 50, Kind.BUTTON, "menu")
    assert menu.text.startswith("Menu utama")
    assert await at(app, clock, 51, Kind.COMMAND, "start")
    logged = await app.db.fetchone("SELECT count(*) FROM messages")
    assert logged[0] == LIMIT + 1 + 3  # the dropped questions do not reach the database
    # the silent ones count too (a script that keeps on stays out): the last 20 questions are
    # those from 10 s to 48 s, and the one at 10 s leaves the minute at 70 s
    assert await at(app, clock, 70, Kind.TEXT, "berapa biaya paspor") != []


@pytest.mark.parametrize(("lang", "says"), [("id", "dalam 32 detik"), ("en", "in 32 seconds")])
@pytest.mark.parametrize(("waited", "answered"), [(31, False), (32, True)])
async def test_a_question_sent_when_the_notice_says_is_answered_and_not_a_second_before(
    app, clock, lang, says, waited, answered
):
    # 21 questions, one every 1.5 s: the notice at 30 s; the 2nd (at 1.5 s) leaves the minute
    # at 61.5 s, in 31.5 s, said as 32
    for n in range(LIMIT + 1):
        replies = await at(app, clock, 1.5 * n, Kind.TEXT, "paspor", lang=lang)
    [notice] = replies
    assert NOTICE[lang] in notice.text and says in notice.text
    later = await at(app, clock, 30 + waited, Kind.TEXT, "berapa biaya paspor", lang=lang)
    assert bool(later) is answered


async def test_a_script_sending_a_thousand_taps_a_minute_is_cut_off_at_the_ceiling(app, clock):
    replies = [await at(app, clock, 0.06 * n, Kind.BUTTON, "menu") for n in range(1000)]
    ceiling = TAP_CEILING_FACTOR * LIMIT
    assert all(replies[:ceiling])
    assert replies[ceiling:] == [[]] * (1000 - ceiling)  # no notice either: a script reads none
    assert await at(app, clock, 121, Kind.BUTTON, "menu")  # once it stops, it is answered again


async def test_over_the_limit_typed_questions_never_reach_the_officers(make_config):
    from bot.app import open_app

    config = make_config(flood={"messages_per_minute": 5}, telegram={"staff_group_id": -1001})
    async with open_app(config) as c:
        replies = [await c.handle(chat.incoming(Kind.TEXT, f"pertanyaan {n}")) for n in range(6)]
        assert NOTICE["id"] in replies[-1][0].text
        [prompt] = await c.handle(chat.incoming(Kind.BUTTON, "officer"))  # a tap: answered
        assert prompt.text.startswith("Tulis pertanyaan Anda untuk petugas")
        assert await c.handle(chat.incoming(Kind.TEXT, "tolong bantu saya")) == []
        queued = await c.db.fetchone("SELECT count(*) FROM outbox")
        assert queued[0] == 0


async def test_staff_are_not_flood_limited(make_config):
    from bot.app import open_app

    config = make_config(flood={"messages_per_minute": 2}, telegram={"staff_ids": [555]})
    async with open_app(config) as c:
        for _ in range(5):
            assert await c.handle(chat.incoming(Kind.TEXT, "x", chat.STAFF, channel="telegram"))


def test_a_script_that_keeps_sending_text_stays_out():
    clock = Clock()
    guard = FloodGuard(LIMIT, clock)
    who = ("telegram", "42")
    verdicts = []
    for _ in range(300):  # one message every half second, for two and a half minutes
        verdicts.append(guard.check(who, Kind.TEXT))
        clock.now += 0.5
    assert verdicts.count(Verdict.NOTICE) == 1
    assert verdicts[-1] is Verdict.DROP
    assert guard.check(("telegram", "43"), Kind.TEXT) is Verdict.OK  # others are not affected


def test_people_who_have_gone_quiet_are_forgotten():
    clock = Clock()
    guard = FloodGuard(LIMIT, clock)
    for n in range(3 * PRUNE_EVERY):
        guard.check(("telegram", str(n)), Kind.TEXT)
    assert len(guard) == 3 * PRUNE_EVERY
    clock.now += 61
    for _ in range(PRUNE_EVERY):
        guard.check(("telegram", "still here"), Kind.BUTTON)
    assert len(guard) == 1


def test_a_script_on_buttons_costs_a_bounded_amount_of_memory():
    clock = Clock()
    guard = FloodGuard(LIMIT, clock)
    who = ("telegram", "42")
    for _ in range(10_000):  # in one minute
        guard.check(who, Kind.BUTTON)
        clock.now += 0.006
    assert len(guard._people[who].taps.times) == TAP_CEILING_FACTOR * LIMIT + 1
