"""The main menu, the language and the FAQ, driven with neutral messages and checked against
the real database."""

from __future__ import annotations

import pytest

from auxil.chat import actions, talker
from bot.app import App
from bot.core.messages import Incoming, Kind
from bot.core.pipeline import language_from_hint
from bot.features.faq import clean_text

say = talker(lang="id")
MENU_ACTIONS = ["ask", "sessions", "registrations", "contact", "subs", "language"]


async def log_rows(app: App) -> list:
    return await app.db.fetchall(
        "SELECT m.kind, m.text, m.lang, m.action, m.faq_id, m.score FROM messages m ORDER BY m.id"
    )


async def test_start_names_both_offices_and_shows_the_main_menu(app):
    [reply] = await say(app, Kind.COMMAND, "start", display_name="Budi")
    assert "Halo Budi" in reply.text
    assert "BP3MI Sulawesi Tengah" in reply.text
    assert "Kantor Imigrasi Kelas I TPI Palu" in reply.text
    assert actions(reply) == MENU_ACTIONS


async def test_menu_comes_back_from_anywhere(app):
    await say(app, Kind.BUTTON, "contact")
    [reply] = await say(app, Kind.COMMAND, "menu")
    assert actions(reply) == MENU_ACTIONS
    [reply] = await say(app, Kind.BUTTON, "menu")
    assert actions(reply) == MENU_ACTIONS


async def test_language_follows_the_hint_on_first_contact_and_is_remembered(app):
    [reply] = await say(app, Kind.COMMAND, "start", user="7", lang="en-GB")
    assert reply.text.startswith("I am desabot")  # no name known: the greeting line is left out
    [reply] = await say(app, Kind.COMMAND, "start", user="8", lang="fr")
    assert "Saya desabot" in reply.text  # unknown language → the default, Indonesian
    # the choice is remembered: a later hint does not override it
    [reply] = await say(app, Kind.COMMAND, "menu", user="7", lang="id")
    assert reply.text.startswith("Main menu")


async def test_language_can_be_switched_by_button_and_command(app):
    [prompt] = await say(app, Kind.COMMAND, "bahasa")
    assert actions(prompt) == ["lang:id", "lang:en"]
    [reply] = await say(app, Kind.BUTTON, "lang:en")
    assert "English" in reply.text
    assert reply.flat_buttons()[0].label == "❓ Ask a question"
    [reply] = await say(app, Kind.COMMAND, "start", display_name="Ani")
    assert reply.text.startswith("Hello Ani!")
    [reply] = await say(app, Kind.BUTTON, "lang:id")
    assert "Bahasa Indonesia" in reply.text
    row = await app.db.fetchone("SELECT lang FROM people WHERE channel_user_id = '42'")
    assert row["lang"] == "id"


@pytest.mark.parametrize("media", ["sticker", "photo", "voice", "location", "document"])
async def test_anything_but_text_gets_a_kind_reply_with_the_menu(app, media):
    [reply] = await say(app, Kind.OTHER, media=media)
    assert "tulisan" in reply.text
    assert actions(reply) == MENU_ACTIONS


async def test_a_faq_question_is_answered_with_its_topic_and_logged(app):
    [reply] = await say(app, Kind.TEXT, "biaya paspor")
    assert "Rp" in reply.text
    assert "menu" in actions(reply)
    [row] = await log_rows(app)
    assert row["action"] == "faq_answer"
    assert row["faq_id"] == "paspor-biaya"
    assert row["score"] > 0
    assert row["lang"] == "id"
    assert row["text"] == "biaya paspor"


async def test_an_out_of_scope_question_is_declined_honestly(app):
    [reply] = await say(app, Kind.TEXT, "resep kue bolu pandan")
    assert "belum bisa menjawab" in reply.text
    assert "0-800-1000" in reply.text
    assert "contact" in actions(reply)
    [row] = await log_rows(app)
    assert (row["action"], row["faq_id"]) == ("faq_declined", None)


async def test_faq_button_shows_the_answer_with_related_topics(app):
    [reply] = await say(app, Kind.BUTTON, "faq:paspor-syarat")
    assert "KTP" in reply.text
    related = [a for a in actions(reply) if a.startswith("faq:")]
    assert 1 <= len(related) <= 3


async def test_ask_button_offers_starter_topics(app):
    [reply] = await say(app, Kind.BUTTON, "ask")
    assert "faq:paspor-syarat" in actions(reply)


async def test_contact_shows_only_configured_office_details(app):
    [reply] = await say(app, Kind.BUTTON, "contact")
    assert "0451-000-TEST" in reply.text  # set in the test config
    assert "Jalan Kartini, Palu" in reply.text
    assert "WhatsApp: \n" not in reply.text + "\n"  # unset values leave no empty line
    assert "0-800-1000" in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "\u200b\u200c\u200d\u2060",  # only zero-width characters
        "\u202e\u200f",  # right-to-left marks
    ],
)
async def test_empty_looking_text_asks_for_a_question(app, text):
    [reply] = await say(app, Kind.TEXT, text)
    assert "kosong" in reply.text
    assert actions(reply) == MENU_ACTIONS


@pytest.mark.parametrize(
    "text",
    [
        "x" * 20_000,
        "😀😀😀🙏",
        "<b>paspor</b>",
        "AT&T &amp; <script>",
        "'; DROP TABLE people;--",
        "\u202ebiaya paspor\u202c",
        "paspor\u200b hilang",
    ],
)
async def test_strange_text_gets_a_sensible_reply_and_loses_nothing(app, text):
    replies = await say(app, Kind.TEXT, text)
    assert replies[0].buttons, "every reply leads somewhere"
    tables = await app.db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    assert {"people", "messages"} <= {row["name"] for row in tables}
    [row] = await log_rows(app)
    assert row["text"] == text[:4096]


async def test_a_very_long_question_is_answered_with_a_note(app):
    [reply] = await say(app, Kind.TEXT, "berapa biaya bikin paspor? " * 800)
    assert "sangat panjang" in reply.text


async def test_unknown_command_and_stale_button_lead_back_to_the_menu(app):
    [reply] = await say(app, Kind.COMMAND, "hapusdatabase")
    assert "tidak saya kenal" in reply.text
    assert actions(reply) == MENU_ACTIONS
    for action in ["faq:tidak-ada", "lang:fr", "menu:extra", "zzz"]:
        [reply] = await say(app, Kind.BUTTON, action)
        assert "tidak berlaku" in reply.text
        assert actions(reply) == MENU_ACTIONS


async def test_every_message_is_logged_with_time_language_and_action(app):
    await say(app, Kind.COMMAND, "start")
    await say(app, Kind.BUTTON, "lang:en")
    await say(app, Kind.OTHER, media="sticker")
    rows = await app.db.fetchall("SELECT * FROM messages ORDER BY id")
    assert [(r["kind"], r["action"], r["lang"]) for r in rows] == [
        ("command", "welcome", "id"),
        ("button", "language_set:en", "id"),
        ("sticker", "not_text", "en"),  # what it was, not just "other"
    ]
    assert all(r["received_at"].endswith("+00:00") for r in rows)


async def test_people_are_keyed_by_channel_and_user_id(app):
    await say(app, Kind.COMMAND, "start", user="1")
    await app.handle(Incoming(channel="other", user_id="1", kind=Kind.COMMAND, text="start"))
    await say(app, Kind.COMMAND, "menu", user="1")
    rows = await app.db.fetchall("SELECT channel, channel_user_id FROM people")
    assert sorted(tuple(r) for r in rows) == [("other", "1"), ("test", "1")]


def test_language_from_hint():
    assert language_from_hint("en-US", "id") == "en"
    assert language_from_hint("id", "en") == "id"
    assert language_from_hint(None, "id") == "id"
    assert language_from_hint("ms", "id") == "id"


def test_clean_text_drops_invisible_characters():
    assert clean_text("\u200bpaspor\u200d \u202e") == "paspor"


async def test_an_answer_asks_whether_it_helped_and_stores_the_verdict(app):
    [answer] = await say(app, Kind.TEXT, "paspor ilang gmn")
    assert answer.text.endswith("Apakah jawaban ini membantu?")
    assert actions(answer)[:2] == ["fb:up:paspor-hilang", "fb:down:paspor-hilang"]
    [sorry] = await say(app, Kind.BUTTON, "fb:down:paspor-hilang")
    assert "contact" in actions(sorry)  # a way to reach an officer
    [thanks] = await say(app, Kind.BUTTON, "fb:up:paspor-hilang")  # changed their mind
    assert "Terima kasih" in thanks.text
    rows = await app.db.fetchall(
        "SELECT f.helpful, m.text FROM feedback f JOIN messages m ON m.id = f.message_id"
    )
    assert [(r["helpful"], r["text"]) for r in rows] == [(1, "paspor ilang gmn")]


async def test_a_declined_question_offers_an_officer_not_a_guess(app):
    [reply] = await say(app, Kind.TEXT, "harga pupuk urea skrg brp")
    assert "belum bisa menjawab" in reply.text
    assert actions(reply) == ["contact", "menu"]


async def test_close_topics_are_offered_as_choices(app):
    matcher = app.env.matcher
    candidates = ["paspor", "biaya", "syarat", "daftar"]
    ambiguous = next(q for q in candidates if matcher.match(q).alternatives)
    [reply] = await say(app, Kind.TEXT, ambiguous)
    assert reply.text.startswith("Maksud Anda")
    topics = [a for a in actions(reply) if a.startswith("faq:")]
    assert len(topics) >= 2


async def test_broken_unicode_in_text_and_name_is_stored_and_answered(app):
    replies = await say(app, Kind.TEXT, "biaya \ud83d paspor", display_name="Bu\udcffdi")
    assert replies[0].buttons
    [row] = await log_rows(app)
    assert row["text"] == "biaya ? paspor"
