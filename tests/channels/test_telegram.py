"""End to end on Telegram: python-telegram-bot talking HTTP to the stand-in Bot API server.

Updates go in through getUpdates (or the webhook); the assertions are on the calls the bot
really makes, which the stand-in checks against Telegram's rules.
"""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import openpyxl
import pytest

from auxil.channels import buttons, free_port, running_telegram
from auxil.fake_bot_api import FakeBotApi, html_visible_text
from auxil.sessions import a_session
from bot.app import open_app
from bot.channels.telegram import TelegramChannel, TelegramSecrets
from bot.reports.files import XLSX_TYPE
from bot.support.logs import setup_logging
from conftest import REPO

TOKEN = "123456:SECRET-token-never-logged"
MENU = ["ask", "sessions", "registrations", "contact", "subs", "language"]


@pytest.fixture
def fake() -> FakeBotApi:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def channel(make_config, fake) -> AsyncIterator[TelegramChannel]:
    config = make_config(telegram={"api_base_url": fake.base_url, "poll_timeout": 1})
    async with running_telegram(config, TOKEN) as channel:
        yield channel
    assert not fake.internal_errors


async def replies_to(fake: FakeBotApi, chat_id: int, count: int) -> list[dict]:
    await fake.wait_for(lambda f: len(f.sent(chat_id)) >= count)
    return fake.sent(chat_id)


async def test_start_welcomes_with_menu_and_registers_commands_in_both_languages(channel, fake):
    fake.push_text(1001, "/start", first_name="Budi")
    [welcome] = await replies_to(fake, 1001, 1)
    assert welcome["parse_mode"] == "HTML"
    assert "Halo Budi!" in welcome["visible_text"]
    assert "BP3MI Sulawesi Tengah" in welcome["visible_text"]
    assert buttons(welcome) == MENU
    id_commands = [c["command"] for c in fake.my_commands("id")]
    en_commands = [c["command"] for c in fake.my_commands("en")]
    assert id_commands == ["start", "menu", "bahasa", "bantuan", "datasaya", "hapusdata"]
    assert en_commands == ["start", "menu", "language", "help", "mydata", "deletedata"]
    assert [c["command"] for c in fake.my_commands("")] == id_commands
    assert not fake.errors


async def test_buttons_are_answered_and_lead_on(channel, fake):
    fake.push_text(1002, "/start")
    await replies_to(fake, 1002, 1)
    fake.push_callback(1002, "contact")
    _, contact = await replies_to(fake, 1002, 2)
    assert "0-800-1000" in contact["visible_text"]
    assert len(fake.callback_answers) == 1  # the spinner on the button stops
    fake.push_callback(1002, "menu")
    *_, menu = await replies_to(fake, 1002, 3)
    assert buttons(menu) == MENU


async def test_language_comes_from_telegram_and_can_be_switched(channel, fake):
    fake.push_text(1003, "/start", first_name="Ann", language_code="en")
    [welcome] = await replies_to(fake, 1003, 1)
    assert welcome["visible_text"].startswith("Hello Ann!")
    fake.push_callback(1003, "lang:id", language_code="en")
    _, switched = await replies_to(fake, 1003, 2)
    assert "Bahasa Indonesia" in switched["visible_text"]
    fake.push_text(1003, "/menu", language_code="en")
    *_, menu = await replies_to(fake, 1003, 3)
    assert menu["visible_text"].startswith("Menu utama")


async def test_a_question_gets_the_faq_answer(channel, fake):
    fake.push_text(1004, "biaya paspor")
    [answer] = await replies_to(fake, 1004, 1)
    assert "Rp950.000" in answer["visible_text"]
    assert "menu" in buttons(answer)


@pytest.mark.parametrize("push", ["sticker", "photo", "voice", "location", "document"])
async def test_anything_but_text_gets_a_kind_reply(channel, fake, push):
    getattr(fake, f"push_{push}")(1005)
    [reply] = await replies_to(fake, 1005, 1)
    assert "tulisan" in reply["visible_text"]
    assert buttons(reply) == MENU


BAD_INPUTS = [
    " ",
    "x" * 20_000,
    "😀🙏🏽😭",
    "\u200b\u200d\u2060",
    "\u202eتجربة\u200f paspor",
    "<b>",
    "&",
    "a < b & c > d",
    "'; DROP TABLE people;--",
    "/",
    "/start@desabot_test_bot",
    "/HAPUS semua",
]


async def test_bad_input_never_crashes_or_breaks_a_message(channel, fake):
    for number, text in enumerate(BAD_INPUTS):
        fake.push_text(2000 + number, text, first_name="<Budi & Ani>")
    for number in range(len(BAD_INPUTS)):
        await replies_to(fake, 2000 + number, 1)
    assert not fake.errors, fake.describe()
    for message in fake.sent():
        assert message["visible_text"].strip()
        assert message["reply_markup"], "every reply leads somewhere"
    # the first name is shown as typed, escaped on the wire
    welcome = fake.sent(2010)[0]
    assert "Halo <Budi & Ani>!" in welcome["visible_text"]
    assert "&lt;Budi &amp; Ani&gt;" in welcome["text"]


async def test_a_long_reply_is_split_at_4096_on_line_boundaries(make_config, fake, tmp_path):
    faq_dir = tmp_path / "faq"
    shutil.copytree(REPO / "faq" / "language", faq_dir / "language")
    steps = [f"{n}. Langkah ke-{n}: datang ke kantor & bawa dokumen <asli>." for n in range(1, 80)]
    while len("\n".join(steps)) > 4080:  # an answer just under the limit; the title pushes it over
        steps.pop()
    steps.append("Akhir" + "." * (4090 - len("\n".join(steps)) - 6))
    lines = "\n".join(steps)
    examples = "\n".join(f"    - contoh pertanyaan panjang {n}" for n in range(8))
    (faq_dir / "uji.yaml").write_text(
        "- id: panjang\n  title: {id: Panjang, en: Long}\n"
        "  answer:\n    id: |\n"
        + "\n".join(f"      {line}" for line in lines.split("\n"))
        + "\n    en: Long.\n"
        f"  examples:\n{examples}\n  sources: [uji]\n  reviewed: 2026-11-28\n",
        encoding="utf-8",
    )
    config = make_config(
        telegram={"api_base_url": fake.base_url, "poll_timeout": 1},
        faq_dir=str(faq_dir),
        faq={"menu_topics": ["panjang"]},
    )
    async with open_app(config) as app:
        bot = TelegramChannel(app, config.telegram, TelegramSecrets(TOKEN), {"id": {"start": "x"}})
        await bot.start()
        try:
            fake.push_text(3001, "/start")
            await replies_to(fake, 3001, 1)
            fake.push_callback(3001, "faq:panjang")
            _, first, second = await replies_to(fake, 3001, 3)
        finally:
            await bot.stop()
    assert not fake.errors, fake.describe()
    assert len(first["visible_text"]) <= 4096 and len(second["visible_text"]) <= 4096
    assert first["reply_markup"] is None and buttons(second) == [
        "fb:up:panjang",
        "fb:down:panjang",
        "menu",
    ]
    assert first["visible_text"].endswith("<asli>.")  # cut between lines, not inside one
    assert second["visible_text"].startswith("Akhir.")
    sent_text = first["visible_text"] + "\n" + second["visible_text"]
    assert sent_text == "Panjang\n\n" + lines + "\n\nApakah jawaban ini membantu?"


async def test_one_chat_is_answered_in_order_while_chats_run_concurrently(channel, fake):
    for text in ["/menu", "biaya paspor", "/bantuan", "/bahasa", "/start"]:
        fake.push_text(8001, text)
        fake.push_text(8002, text)
    for chat in (8001, 8002):
        replies = await replies_to(fake, chat, 5)
        firsts = [r["visible_text"].split("\n")[0] for r in replies]
        assert firsts[0].startswith("Menu utama")
        assert firsts[1] == "Biaya paspor"
        assert firsts[2].startswith("Cara memakai")
        assert firsts[3].startswith("Pilih bahasa")
        assert "Saya desabot" in replies[4]["visible_text"]


async def test_a_429_is_waited_out_and_the_reply_still_arrives(channel, fake):
    fake.fail_next_with_429(1, retry_after=1)
    fake.push_text(4001, "/menu")
    [reply] = await replies_to(fake, 4001, 1)
    assert buttons(reply) == MENU
    assert [c.status for c in fake.calls_to("sendMessage")][:2] == [429, 200]


async def test_a_user_who_blocked_the_bot_does_not_stop_it(channel, fake):
    fake.blocked.add(4002)
    fake.push_text(4002, "/start")
    fake.push_text(4003, "/start")
    await replies_to(fake, 4003, 1)
    assert [c.status for c in fake.calls_to("sendMessage") if c.params["chat_id"] == 4002] == [403]


async def test_group_chatter_is_ignored(channel, fake):
    fake.push_message(5001, chat={"id": -100, "type": "group", "title": "Staf"}, text="halo")
    fake.push_text(5002, "/menu")
    await replies_to(fake, 5002, 1)
    assert fake.sent(-100) == []


async def test_neither_the_token_nor_phone_numbers_reach_the_log(make_config, fake):
    """A full run at DEBUG, the worst case (the libraries would log request URLs, update
    bodies and SQL parameters): sign-up with a shared and a typed phone number, questions
    with an identity number, staff. Neither the token nor a name, a phone number, an NIK or
    what anyone wrote reaches the log, at any level."""
    stream = io.StringIO()
    handler = setup_logging("DEBUG", secrets=[TOKEN], stream=stream)
    try:
        logging.getLogger("httpx").setLevel(logging.DEBUG)
        config = make_config(
            telegram={"api_base_url": fake.base_url, "poll_timeout": 1, "staff_ids": [6099]}
        )
        async with open_app(config) as app:
            bot = TelegramChannel(app, config.telegram, TelegramSecrets(TOKEN), app.texts.commands)
            await bot.start()
            session = await a_session(app.db)
            for user, step in ((6001, "contact"), (6002, "typed")):
                fake.push_text(user, "/start")
                await replies_to(fake, user, 1)
                fake.push_callback(user, f"reg:{session.code}")
                await replies_to(fake, user, 2)
                fake.push_text(user, "Siti Aminah")
                await replies_to(fake, user, 3)
                fake.push_callback(user, "vil:0")
                await replies_to(fake, user, 4)
                if step == "contact":
                    fake.push_contact(user, "+6281234567890")
                else:
                    fake.push_text(user, "0813-9876-5432")
                await replies_to(fake, user, 6)
                fake.push_callback(user, "consent:yes")
                await replies_to(fake, user, 7)
                fake.push_text(user, "biaya paspor, HP saya 081298765432 NIK 7271012345678901")
                await replies_to(fake, user, 8)
            fake.push_text(6099, f"/peserta {session.code}")
            await replies_to(fake, 6099, 1)
            await bot.stop()
    finally:
        logging.getLogger().removeHandler(handler)
    log = stream.getvalue()
    assert "event=telegram_started" in log and "event=telegram_stopped" in log
    assert "Siti" not in log and "Aminah" not in log  # no name, at DEBUG either
    assert "biaya paspor" not in log and "7271012345678901" not in log  # no text, no NIK
    assert "Calling Bot API endpoint" not in log  # the library's DEBUG lines are held back
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # ... nor the token
    for digits in ("81234567890", "8139876543", "81298765432"):
        assert digits not in log.replace("-", "").replace(" ", "")  # ... and phone numbers
    phones = await_phones(config)
    assert phones == {"+6281234567890", "+6281398765432"}  # they were kept where they belong
    assert fake.tokens_seen == {TOKEN}


def await_phones(config) -> set[str]:
    import sqlite3

    with sqlite3.connect(config.database) as conn:
        return {r[0] for r in conn.execute("SELECT phone FROM people WHERE phone IS NOT NULL")}


async def test_webhook_mode_checks_the_secret_token_header(make_config, fake):
    port = free_port()
    config = make_config(
        telegram={
            "api_base_url": fake.base_url,
            "mode": "webhook",
            "webhook": {"port": port, "path": "hook", "public_url": "https://bot.example.org/hook"},
        }
    )
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1764300000,
            "chat": {"id": 7001, "type": "private"},
            "from": {"id": 7001, "is_bot": False, "first_name": "Rina", "language_code": "id"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    stream = io.StringIO()
    handler = setup_logging("INFO", secrets=[TOKEN, "s3cret-Header"], stream=stream)
    async with open_app(config) as app:
        bot = TelegramChannel(
            app,
            config.telegram,
            TelegramSecrets(TOKEN, "s3cret-Header"),
            app.texts.commands,
        )
        await bot.start()
        try:
            [set_webhook] = fake.calls_to("setWebhook")
            assert set_webhook.params["url"] == "https://bot.example.org/hook"
            assert set_webhook.params["secret_token"] == "s3cret-Header"
            url = f"http://127.0.0.1:{port}/hook"
            async with httpx.AsyncClient() as client:
                missing = await client.post(url, json=update)
                wrong = await client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
                )
                right = await client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Header"}
                )
            assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
            [welcome] = await replies_to(fake, 7001, 1)
            assert "Halo Rina!" in welcome["visible_text"]
        finally:
            await bot.stop()
            logging.getLogger().removeHandler(handler)
    log = stream.getvalue()
    rejected = [line for line in log.splitlines() if "event=webhook_rejected" in line]
    assert len(rejected) == 2 and all("level=WARNING" in line for line in rejected)
    assert "reason=no_secret_token" in rejected[0] and "reason=wrong_secret_token" in rejected[1]
    assert "Rina" not in log and "guess" not in log  # neither the body nor the offered token


def test_only_the_telegram_channel_imports_python_telegram_bot():
    code = (
        "import sys, bot.cli, bot.app, bot.channels.console, bot.channels.whatsapp\n"
        "assert not [m for m in sys.modules if m == 'telegram' or m.startswith('telegram.')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    sources = [
        p
        for p in (REPO / "bot").rglob("*.py")
        if "import telegram" in p.read_text() or "from telegram" in p.read_text()
    ]
    assert [p.name for p in sources] == ["telegram.py"]


def test_html_visible_text_agrees_with_the_escaping():
    import html

    raw = "a < b & <i>c</i>"
    assert html_visible_text(html.escape(raw, quote=False)) == raw


async def test_service_messages_get_no_reply(channel, fake):
    fake.push_message(
        9001, pinned_message={"message_id": 1, "date": 0, "chat": {"id": 9001, "type": "private"}}
    )
    fake.push_text(9001, "/menu")
    [reply] = await replies_to(fake, 9001, 1)
    assert buttons(reply) == MENU  # the only reply is to /menu


async def test_signing_up_on_telegram_with_the_share_contact_button(channel, fake):

    session = await a_session(channel.core.db)
    user = 9100
    fake.push_text(user, "/start")
    await replies_to(fake, user, 1)
    fake.push_callback(user, "sessions")
    *_, schedule = await replies_to(fake, user, 2)
    assert f"reg:{session.code}" in buttons(schedule)
    fake.push_callback(user, f"reg:{session.code}")
    await replies_to(fake, user, 3)
    fake.push_text(user, "Siti Aminah")
    await replies_to(fake, user, 4)
    fake.push_callback(user, "vil:1")
    *_, ask_phone = await replies_to(fake, user, 5)
    [[share], [skip]] = ask_phone["reply_markup"]["keyboard"]
    assert share["request_contact"] is True and skip["text"] == "Lewati"
    fake.push_contact(user, phone_number="+6281299990000")
    *_, noted, consent = await replies_to(fake, user, 7)
    assert noted["reply_markup"] == {"remove_keyboard": True}
    assert buttons(consent) == ["consent:yes", "consent:no"]
    fake.push_callback(user, "consent:yes")
    *_, done = await replies_to(fake, user, 8)
    assert done["visible_text"].startswith("✅ Anda terdaftar di: Sosialisasi migrasi aman")
    assert not fake.errors, fake.describe()
    row = await channel.core.db.fetchone(
        "SELECT full_name, village, phone FROM people WHERE channel_user_id = ?", (str(user),)
    )
    assert tuple(row) == ("Siti Aminah", "Sibowi", "+6281299990000")


async def test_a_due_reminder_is_delivered_by_the_running_bot(channel, fake):
    from bot.domain.registrations import register

    db = channel.core.db
    session = await a_session(db, "Hari layanan paspor", "Passport service day")
    fake.push_text(9200, "/start", language_code="en")
    await replies_to(fake, 9200, 1)
    row = await db.fetchone("SELECT id FROM people WHERE channel_user_id = '9200'")
    booking = await register(db, session.code, row["id"])
    await db.write_one("UPDATE outbox SET due_at = '2000-01-01T00:00:00+00:00'")  # time passes
    _, first, second = await replies_to(fake, 9200, 3)
    texts = sorted([first["visible_text"], second["visible_text"]])
    assert texts[0].startswith("🔔 Reminder: tomorrow you attend Passport service day")
    assert texts[1].startswith("🔔 Starting soon: Passport service day")
    assert all(f"Booking code: {booking.booking_code}" in t for t in texts)
    assert "WITA" in texts[0]
    for _ in range(100):  # deliveries are recorded a few at a time, within 20 ms
        sent = await db.fetchall("SELECT status FROM outbox WHERE text_key != 'reply'")
        if all(r["status"] == "sent" for r in sent):
            break
        await asyncio.sleep(0.01)
    assert [r["status"] for r in sent] == ["sent", "sent"]


async def test_a_cli_cancellation_reaches_villagers_through_the_running_bot(
    channel, fake, tmp_path
):
    import asyncio
    import subprocess
    import sys

    from bot.domain.registrations import register

    db = channel.core.db
    session = await a_session(db)
    fake.push_text(9300, "/start")
    await replies_to(fake, 9300, 1)
    row = await db.fetchone("SELECT id FROM people WHERE channel_user_id = '9300'")
    await register(db, session.code, row["id"])
    config = tmp_path / "config.yaml"
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sessions", "cancel", session.code, "--config", str(config),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await cli.communicate()
    assert cli.returncode == 0, stderr.decode()
    _, notice = await replies_to(fake, 9300, 2)  # the worker polls every 2 seconds
    assert notice["visible_text"].startswith(
        "📢 Maaf, sesi ini dibatalkan: Sosialisasi migrasi aman"
    )


async def test_staff_get_the_attendee_list_as_an_excel_document(make_config, fake):

    config = make_config(
        telegram={"api_base_url": fake.base_url, "poll_timeout": 1, "staff_ids": [9400]}
    )
    async with open_app(config) as app:
        bot = TelegramChannel(app, config.telegram, TelegramSecrets(TOKEN), app.texts.commands)
        await bot.start()
        try:
            session = await a_session(app.db)
            fake.push_text(9400, f"/peserta {session.code}")
            fake.push_text(9401, f"/peserta {session.code}")  # not staff
            await fake.wait_for(lambda f: f.sent(9400) and f.sent(9401))
            await fake.wait_for(lambda f: any(m["document"] for m in f.sent(9400)))
        finally:
            await bot.stop()
    document = next(m["document"] for m in fake.sent(9400) if m["document"])
    day = session.starts_at.astimezone(config.timezone).strftime("%Y-%m-%d")  # its local day
    assert document["filename"] == f"peserta-{session.code}-{day}.xlsx"
    assert document["mime_type"] == XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(document["content"])).active
    assert (sheet["A1"].value, sheet["B1"].value) == ("Sesi", session.title["id"])
    assert "tidak saya kenal" in fake.sent(9401)[0]["visible_text"]
    assert not fake.errors, fake.describe()


async def test_staff_get_their_own_command_menu_and_villagers_do_not(make_config, fake):
    config = make_config(
        telegram={"api_base_url": fake.base_url, "poll_timeout": 1, "staff_ids": [4242]}
    )
    async with running_telegram(config, TOKEN):
        chat = {"type": "chat", "chat_id": 4242}
        staff_id = [c["command"] for c in fake.my_commands("id", scope=chat)]
        staff_en = [c["command"] for c in fake.my_commands("en", scope=chat)]
        everyone = [c["command"] for c in fake.my_commands("id")]
    assert {"start", "menu", "sesi", "sesi_baru", "hadir", "umumkan"} <= set(staff_id)
    assert {"language", "help", "sesi", "hadir"} <= set(staff_en)  # English names, and theirs
    assert "sesi" not in everyone and "start" in everyone
