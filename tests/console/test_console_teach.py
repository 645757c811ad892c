"""Teaching the bot in the console: a question the FAQ declined, marked as meaning a topic,
is answered with it the next time (a near variant too), by the running bot, without a
restart; a mark can be removed; "needs a new topic" is listed for the admin."""

from __future__ import annotations

import pytest

from auxil.chat import talker
from auxil.console import PASSWORD, client, sign_in
from bot.cli.console import programme
from bot.console.web import build
from bot.core.messages import Kind
from bot.domain import accounts
from bot.support.passwords import hash_password

say = talker(channel="telegram", name="Wati")
STORY = "ada yg nawarin kerja ke luar negri tp disuruh bayar dulu 10 juta, itu aman ga?"
VARIANT = "ada yang nawarin kerja ke luar negeri tapi harus bayar 15 juta dulu, aman gak?"
DECLINED = "Maaf, saya belum bisa menjawab"


@pytest.fixture
async def console(app):
    await accounts.add_account(app.db, "budi", "officer", hash_password(PASSWORD))
    shown = programme(app.taught.config, app)
    return build(app.db, app.settings.timezone, 12, shown)


async def test_a_declined_question_taught_is_answered_next_time_and_a_variant_too(app, console):
    [declined] = await say(app, Kind.TEXT, STORY)
    [also] = await say(app, Kind.TEXT, VARIANT, user="43")
    assert DECLINED in declined.text and DECLINED in also.text
    async with client(console) as browser:
        await sign_in(browser, "budi")
        listed = await browser.get("/ajari")
        marked = await browser.post("/ajari", data={"question": STORY, "other": "tppo-tanda"})
        after = await browser.get(marked.headers["location"])
    assert STORY in listed.text and "ditanyakan 1 kali" in listed.text
    closest = listed.text.split(STORY, 1)[1].split("<select")[0]
    assert 'name="topic" value="pmi-biaya"' in closest  # the closest topics, one tap each
    assert "sekarang dijawab dengan topik" in after.text and "skor" in after.text
    await app.learn()  # what the bot does between deliveries
    [answered] = await say(app, Kind.TEXT, STORY)
    [variant] = await say(app, Kind.TEXT, VARIANT, user="44")
    tppo = app.env.faq.topics["tppo-tanda"].answer["id"][:40]
    assert tppo in answered.text and tppo in variant.text
    [unrelated] = await say(app, Kind.TEXT, "harga beras hari ini berapa", user="45")
    assert DECLINED in unrelated.text  # teaching one question does not stretch the FAQ
    audit = await app.db.fetchone("SELECT actor, action FROM audit_log ORDER BY id DESC")
    assert tuple(audit) == ("console:budi", "console_teach")


async def test_a_mark_can_be_removed_and_a_new_topic_is_listed_for_the_admin(app, console):
    await say(app, Kind.TEXT, STORY)
    await say(app, Kind.TEXT, "apakah bisa kirim uang ke luar negeri lewat pos", user="43")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        await browser.post("/ajari", data={"question": STORY, "topic": "tppo-tanda"})
        await browser.post("/ajari", data={"question": "apakah bisa kirim uang ke luar negeri"
                                           " lewat pos", "topic": ""})  # fmt: skip
        page = await browser.get("/ajari")
        taught = page.text.split("Sudah diajarkan")[1].split("Perlu topik baru (untuk admin)")
        mark = taught[0].split('action="/ajari/')[1].split("/")[0]
        await browser.post(f"/ajari/{mark}/hapus")
        nothing = await browser.post("/ajari", data={"question": STORY, "other": "no-such"})
        cleared = await browser.get("/ajari")
    assert STORY in taught[0] and "lewat pos" in taught[1]
    assert nothing.status_code == 303
    assert STORY in cleared.text.split("Sudah diajarkan")[0]  # back among the unanswered
    await app.learn()
    [again] = await say(app, Kind.TEXT, STORY)
    assert DECLINED in again.text


async def test_a_mark_made_in_a_console_served_apart_reaches_the_bot_at_its_housekeeping(app):
    from datetime import UTC, datetime

    from bot.app import LiveFaq
    from bot.domain import teaching

    apart = LiveFaq(app.taught.config, app.env.faq, app.db, app.taught.matcher)
    await teaching.teach(app.db, STORY, "tppo-tanda", "budi (konsol)")
    assert (await apart.current()).match(STORY).topic_id == "tppo-tanda"  # the console's
    [still] = await say(app, Kind.TEXT, STORY)
    assert DECLINED in still.text  # the bot's own matcher has not looked yet
    await app.housekeeping(datetime.now(UTC))  # between deliveries, every few seconds
    [answered] = await say(app, Kind.TEXT, STORY, user="46")
    assert DECLINED not in answered.text
