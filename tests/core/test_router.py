"""The router: the priority order is written down and kept (staff → global words → the step
of a flow → commands, buttons and patterns → the FAQ), first match wins, a forged or stale
button gets the stale-button reply, and a new feature is a module plus one line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auxil.chat import STAFF, actions, person_row, talker
from auxil.sessions import a_session
from bot.app import App, build_router, open_app
from bot.content.texts import Texts
from bot.core.actions import Action
from bot.core.context import Ctx, Env, Outcome, outcome
from bot.core.feature import Feature, Priority
from bot.core.messages import Kind, Reply
from bot.core.pipeline import Pipeline
from bot.core.router import Router
from bot.features import FEATURES

say = talker(channel="telegram", name="Budi")
say_plain = talker(channel="test")  # no first-contact note: the terminal cannot be reached
STALE = "tombol itu sudah tidak berlaku"


def test_the_order_handlers_are_tried_in_is_the_written_one():
    assert [p.name for p in sorted(Priority)] == ["STAFF", "GLOBAL", "FLOW", "DEFAULT", "FALLBACK"]
    table = build_router().describe()
    text = [line.split() for line in table if line.startswith("text")]
    groups = [Priority[parts[1]] for parts in text]
    assert [g.name for g in dict.fromkeys(groups)] == [
        "STAFF", "GLOBAL", "FLOW", "FALLBACK",
    ]  # fmt: skip
    commands = {parts[1] for parts in map(str.split, table) if parts[0] == "command"}
    assert commands == {"STAFF", "GLOBAL"}  # a villager's command works anywhere
    # the words that work anywhere come before any flow's step: BERHENTI, DAFTAR, BATAL
    global_words = [" ".join(parts[3:]) for parts in text if parts[1] == "GLOBAL"]
    assert global_words == [
        "text DAFTAR <code>",
        "text BATAL <booking code>",
        "text BERHENTI/MULAI",
    ]
    assert text[-1][2:] == ["faq", "text", "a", "question", "for", "the", "FAQ"]


def toy(name: str, priority: Priority | None, reply: str, staff: bool = False) -> Feature:
    feature = Feature(name, staff=staff)

    @feature.text(lambda text: text if text == "halo" else None, priority=priority)
    async def answer(ctx: Ctx, found: str) -> Outcome:
        return outcome(name, Reply(reply))

    return feature


def with_features(app: App, *extra: Feature, texts: dict[str, str] | None = None) -> Pipeline:
    """The bot's own features and ``extra``, on the app's database."""
    env: Env = app.env
    if texts:
        tables = {lang: {**table, **texts} for lang, table in env.texts.by_language.items()}
        env = replace(env, texts=Texts(tables, env.texts.commands, env.texts.office_values))
    return Pipeline(env, Router((*FEATURES, *extra)))


async def test_first_match_wins_by_group_then_by_registration(app):
    later = toy("later", Priority.DEFAULT, "later")
    first_default = toy("first", Priority.DEFAULT, "first")
    global_word = toy("global", Priority.GLOBAL, "global")
    pipeline = with_features(app, later, first_default, global_word)
    [reply] = await say_plain(pipeline, Kind.TEXT, "halo")
    assert reply.text == "global"
    pipeline = with_features(app, later, first_default)
    [reply] = await say_plain(pipeline, Kind.TEXT, "halo")
    assert reply.text == "later"  # same group: the one registered first


async def test_a_staff_feature_is_tried_first_but_only_for_staff(staffed):
    pipeline = with_features(
        staffed, toy("global", Priority.GLOBAL, "global"), toy("s", None, "staff", staff=True)
    )
    [villager] = await say_plain(pipeline, Kind.TEXT, "halo")
    [staff] = await say_plain(pipeline, Kind.TEXT, "halo", user=STAFF, channel="telegram")
    assert (villager.text, staff.text) == ("global", "staff")


async def test_stop_typed_during_a_sign_up_stops_announcements_not_just_the_sign_up(app):
    """BERHENTI / STOP are global words: the sign-up's own exit words never saw them (they
    were listed there too, dead), and the sign-up ends either way."""
    session = await a_session(app.db)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    await say(app, Kind.TEXT, "Budi Santoso")
    [reply] = await say(app, Kind.TEXT, "stop")
    row = await person_row(app)
    assert row["subscribed"] == 0 and row["flow"] is None
    assert "tidak akan menerima pengumuman" in reply.text
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    [menu] = await say(app, Kind.TEXT, "batal")  # the sign-up's own exit word
    row = await person_row(app)
    assert row["subscribed"] == 0 and row["flow"] is None and menu.text.startswith("Menu utama")


async def test_daftar_typed_while_a_village_is_asked_signs_up_instead(app):
    """Before, "DAFTAR K7QA" typed after "Desa lain" became the person's village."""
    session = await a_session(app.db)
    await say(app, Kind.BUTTON, "sub:v:other")
    [reply] = await say(app, Kind.TEXT, f"DAFTAR {session.code}")
    row = await person_row(app)
    assert row["village"] is None
    assert row["flow"] is not None and '"owner": "signup"' in row["flow"]
    assert "nama lengkap" in reply.text  # the sign-up asks for their name


async def test_daftar_typed_as_a_question_for_an_officer_signs_up_instead(make_config):
    """Before, "DAFTAR K7QA" typed after "Tanya petugas" went to the staff group as a
    question, and the villager was not signed up."""
    async with open_app(make_config(telegram={"staff_group_id": -100123})) as app:
        session = await a_session(app.db)
        [prompt] = await say(app, Kind.BUTTON, "officer")
        assert "petugas" in prompt.text.lower()
        [reply] = await say(app, Kind.TEXT, f"daftar {session.code.lower()}")
        assert "nama lengkap" in reply.text
        assert (await app.db.fetchone("SELECT count(*) FROM inbox"))[0] == 0


async def test_every_forged_payload_gets_the_stale_button_reply(staffed):
    staffed.pipeline.flood.per_minute = 10**9  # hundreds of presses on purpose
    prefixes = build_router().codec.prefixes()
    for user in ("42", STAFF):
        for prefix in [*prefixes, "nonsense", "menu:extra"]:
            for payload in (f"{prefix}:zz:zz", f"{prefix}:", f"{prefix}:99999"):
                replies = await say(staffed, Kind.BUTTON, payload[:64], user=user)
                stale = [r for r in replies if STALE in r.text]
                if prefix in ("vil", "st:vil", "sub:v", "st:bc:v") and payload.endswith("99999"):
                    assert stale, payload  # a number past the end of the list
                if payload.endswith(":zz:zz"):
                    assert stale, payload


async def test_villagers_never_reach_a_staff_handler(app):
    [command] = await say(app, Kind.COMMAND, "sesi")
    assert "tidak saya kenal" in command.text
    session = await a_session(app.db)
    for payload in (f"st:att:{session.code}", f"st:cancel:{session.code}", "st:discard"):
        [reply] = await say(app, Kind.BUTTON, payload)
        assert STALE in reply.text
    assert (await app.db.fetchone("SELECT count(*) FROM audit_log"))[0] == 0


def test_mistakes_in_putting_features_together_fail_at_start():
    class Twice(Action, prefix="menu"):
        pass

    clash = Feature("clash")

    @clash.action(Twice)
    async def twice(ctx: Ctx, action: Twice) -> Outcome:
        raise AssertionError

    with pytest.raises(ValueError, match="prefix 'menu'"):
        Router((*FEATURES, clash))
    command = Feature("command")

    @command.command("start")
    async def again(ctx: Ctx, argument: str) -> Outcome:
        raise AssertionError

    with pytest.raises(ValueError, match="/start belongs to menu"):
        Router((*FEATURES, command))
    with pytest.raises(LookupError, match="no field-less action 'contct'"):
        build_router().known("contct")


# -- a new feature: one module, one line in bot/features/__init__.py, its texts -----------------

quiz = Feature("quiz", texts=("quiz_question", "button_quiz", "quiz_right"))


class Quiz(Action, prefix="quiz", label="button_quiz"):
    pass


class QuizAnswer(Action, prefix="quiz:a"):
    choice: int


quiz.menu_entry(Quiz, order=65)


@quiz.command("kuis")
async def quiz_command(ctx: Ctx, argument: str) -> Outcome:
    return await ctx.go("quiz")


@quiz.action(Quiz)
async def quiz_start(ctx: Ctx, action: Quiz) -> Outcome:
    buttons = tuple(ctx.row("quiz_right", QuizAnswer(n)) for n in (1, 2))
    return outcome("quiz", Reply(ctx.t("quiz_question"), (*buttons, ctx.back())))


@quiz.action(QuizAnswer)
async def quiz_answer(ctx: Ctx, action: QuizAnswer) -> Outcome:
    return outcome("quiz_answer", Reply(f"{action.choice}"), Reply(ctx.t("menu"), ctx.menu()))


QUIZ_TEXTS = {
    "quiz_question": "Berapa biaya paspor?",
    "button_quiz": "🎲 Kuis",
    "quiz_right": "Ini",
}


async def test_a_new_feature_needs_no_change_to_the_core(app):
    pipeline = with_features(app, quiz, texts=QUIZ_TEXTS)
    [menu] = await say(pipeline, Kind.COMMAND, "menu")
    assert "quiz" in actions(menu)  # its menu entry, at its place
    assert actions(menu).index("quiz") == actions(menu).index("subs") + 1
    [question] = await say(pipeline, Kind.COMMAND, "kuis")
    assert actions(question) == ["quiz:a:1", "quiz:a:2", "menu"]
    replies = await say(pipeline, Kind.BUTTON, "quiz:a:2")
    assert replies[0].text == "2"
    [stale] = await say(pipeline, Kind.BUTTON, "quiz:a:x")
    assert STALE in stale.text
    row = await app.db.fetchone("SELECT action FROM messages ORDER BY id DESC LIMIT 1 OFFSET 1")
    assert row["action"] == "quiz_answer"  # logged like any other feature's
