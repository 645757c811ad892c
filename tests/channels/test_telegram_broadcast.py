"""Announcements and the officer inbox end to end on Telegram: python-telegram-bot, the stand-in
Bot API server (which enforces Telegram's rules), the delivery worker and a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from auxil.channels import buttons, running_telegram
from auxil.fake_bot_api import FakeBotApi
from bot.channels.telegram import TelegramChannel
from bot.domain import broadcasts

TOKEN = "123456:broadcast-test"
STAFF = 555
GROUP = -1009876543210
VILLAGERS = [2001, 2002, 2003, 2004, 2005]


@pytest.fixture
def fake() -> FakeBotApi:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def channel(make_config, fake) -> AsyncIterator[TelegramChannel]:
    config = make_config(
        telegram={
            "api_base_url": fake.base_url,
            "poll_timeout": 1,
            "staff_ids": [STAFF, 777],
            "staff_group_id": GROUP,
            "max_messages_per_second": 200,
            "delivery_per_second": 100,
        }
    )
    async with running_telegram(config, TOKEN) as channel:
        yield channel
    assert not fake.internal_errors


async def step(fake: FakeBotApi, chat: int, count: int) -> dict:
    """Wait for the bot's ``count``-th message in ``chat``; return it."""
    await fake.wait_for(lambda f: len(f.sent(chat)) >= count, timeout=10)
    return fake.sent(chat)[count - 1]


async def test_staff_announce_in_telegram_and_every_subscribed_villager_gets_it_once(channel, fake):
    for n, user in enumerate(VILLAGERS):
        fake.push_text(user, "/start")
        await step(fake, user, 1)
        if n < 3:  # three of them live in Sibowi
            fake.push_callback(user, "sub:v:1")
            await step(fake, user, 2)
    fake.push_text(VILLAGERS[1], "BERHENTI")  # does not want announcements
    await step(fake, VILLAGERS[1], 3)
    fake.blocked.add(VILLAGERS[2])  # has blocked the bot since

    sent = 0

    async def staff_says(push) -> dict:
        nonlocal sent
        push()
        sent = len(fake.sent(STAFF)) + 1
        return await step(fake, STAFF, sent)

    await staff_says(lambda: fake.push_text(STAFF, "/umumkan"))
    await staff_says(lambda: fake.push_text(STAFF, "Waspada calo <paspor> & visa palsu!"))
    await staff_says(lambda: fake.push_callback(STAFF, "st:bc:skip_en"))
    await staff_says(lambda: fake.push_callback(STAFF, "st:bc:v:1"))
    await staff_says(lambda: fake.push_callback(STAFF, "st:bc:next"))
    fake.push_callback(STAFF, "st:bc:o:imigrasi")
    confirm = await step(fake, STAFF, sent + 2)
    preview = fake.sent(STAFF)[sent]
    assert "Penerima: 2 orang (Desa Sibowi)" in confirm["visible_text"]
    assert buttons(preview) == ["st:bc:pv", "st:bc:pv"]
    fake.fail_next_with_429(1)  # Telegram's flood limit on the way: waited out, not lost
    fake.push_callback(STAFF, "st:bc:send", message_id=confirm["message_id"])

    await fake.wait_for(lambda f: len(f.sent(VILLAGERS[0])) >= 3, timeout=15)
    got = fake.sent(VILLAGERS[0])[2]
    # exactly the preview staff saw, HTML-escaped so Telegram accepted it
    assert got["visible_text"] == preview["visible_text"]
    assert got["visible_text"].startswith("📢 Pengumuman dari Kantor Imigrasi Kelas I TPI Palu")
    assert "Waspada calo <paspor> & visa palsu!" in got["visible_text"]
    assert buttons(got) == ["sub:off", "menu"]

    await fake.wait_for(
        lambda f: any(m["visible_text"].startswith("📊") for m in f.sent(STAFF)), timeout=15
    )
    [done] = [m["visible_text"] for m in fake.sent(STAFF) if m["visible_text"].startswith("📊")]
    assert "Penerima: 2" in done and "Terkirim: 1" in done and "Gagal (bot diblokir): 1" in done
    db = channel.core.db
    blocked = await db.fetchone(
        "SELECT active FROM people WHERE channel_user_id = ?", (str(VILLAGERS[2]),)
    )
    assert blocked[0] == 0
    for quiet in (VILLAGERS[1], VILLAGERS[3], VILLAGERS[4]):
        assert not any("Pengumuman dari" in m["visible_text"] for m in fake.sent(quiet))
    assert [m["visible_text"].count("Waspada") for m in fake.sent(VILLAGERS[0])].count(1) == 1
    [made] = await broadcasts.recent_broadcasts(db)
    assert made.status == "done"


async def test_an_announcement_queued_elsewhere_is_picked_up_by_the_running_bot(channel, fake):
    fake.push_text(VILLAGERS[0], "/start")
    await step(fake, VILLAGERS[0], 1)
    db = channel.core.db
    from datetime import UTC, datetime

    await broadcasts.create_broadcast(
        db, text_id="Hari layanan paspor di kantor desa.", office="bp3mi",
        audience=broadcasts.Audience("all"), send_at=datetime.now(UTC), created_by="cli",
    )  # fmt: skip
    message = await step(fake, VILLAGERS[0], 2)
    assert "Hari layanan paspor di kantor desa." in message["visible_text"]


async def ask_an_officer(fake, villager: int, name: str, question: str) -> tuple[dict, dict]:
    """/start, "Tanya petugas", the question: what the villager is told, and the forward the
    staff group gets (which can be the group's first message only)."""
    fake.push_text(villager, "/start", first_name=name)
    await step(fake, villager, 1)
    fake.push_callback(villager, "officer")
    await step(fake, villager, 2)
    fake.push_text(villager, question, first_name=name)
    told = await step(fake, villager, 3)
    return told, await step(fake, GROUP, 1)


async def test_a_question_goes_to_the_staff_group_and_the_reply_comes_back(channel, fake):
    villager = VILLAGERS[0]
    told, forward = await ask_an_officer(
        fake, villager, "Wati", "Apakah PT Maju Jaya di Palu resmi?"
    )
    assert "diteruskan ke petugas" in told["visible_text"]
    assert "#T1" in forward["visible_text"] and "👤 Wati" in forward["visible_text"]
    assert "Apakah PT Maju Jaya di Palu resmi?" in forward["visible_text"]

    chatter = fake.push_group_message(GROUP, 777, "Sudah ada yang cek #T1?")  # chatter
    fake.push_group_message(  # a reply to an officer, not to the bot: #T1 or not, ignored
        GROUP, 778, "Belum, nanti saya cek.", reply_to_message_id=chatter["message"]["message_id"]
    )
    fake.push_group_message(
        GROUP, 777, "Cek di siskop2mi dulu & jangan bayar di muka.",
        reply_to_message_id=forward["message_id"],
    )  # fmt: skip
    ack = await step(fake, GROUP, 2)
    assert ack["visible_text"] == "✅ Jawaban #T1 akan dikirim ke Wati."
    answer = await step(fake, villager, 4)
    assert answer["visible_text"].endswith("Cek di siskop2mi dulu & jangan bayar di muka.")
    assert buttons(answer) == ["officer", "menu"]
    assert len(fake.sent(GROUP)) == 2  # the chatter got no reply
    answers = await channel.core.db.fetchall("SELECT answer FROM inbox_answers")
    assert [a[0] for a in answers] == ["Cek di siskop2mi dulu & jangan bayar di muka."]


async def test_only_staff_in_the_group_can_answer_a_villager(channel, fake):
    """A group member who is not in telegram.staff_ids replies to a forwarded question: the
    villager never sees it, the group gets no acknowledgement, the log names the id only."""
    villager = VILLAGERS[1]
    _, forward = await ask_an_officer(fake, villager, "Rina", "Agen minta uang muka, benar?")
    fake.push_group_message(
        GROUP, 778, "Transfer 5 juta ke rekening 123", reply_to_message_id=forward["message_id"]
    )
    fake.push_group_message(
        GROUP, 777, "Jangan bayar apa pun di muka.", reply_to_message_id=forward["message_id"]
    )
    answer = await step(fake, villager, 4)
    assert answer["visible_text"].endswith("Jangan bayar apa pun di muka.")
    await asyncio.sleep(0.3)
    assert all("Transfer" not in m["visible_text"] for m in fake.sent(villager))
    assert len(fake.sent(GROUP)) == 2  # the forward and the staff member's acknowledgement
    answers = await channel.core.db.fetchall("SELECT answer FROM inbox_answers")
    assert [a[0] for a in answers] == ["Jangan bayar apa pun di muka."]


async def test_an_announcement_with_a_picture_is_uploaded_once_and_captioned(channel, fake):
    from datetime import UTC, datetime

    from auxil.pictures import picture
    from bot.domain import pictures

    for villager in VILLAGERS[:3]:
        fake.push_text(villager, "/start")
        await step(fake, villager, 1)
    db = channel.core.db
    poster = picture("JPEG", (800, 600))
    kept = await pictures.save(db, poster, "poster.jpg", "console:admin")
    long_text = "Jadwal layanan paspor keliling. " * 40  # 1,280 characters: no caption
    for text in ("Layanan paspor <keliling> & gratis konsultasi.", long_text):
        await broadcasts.create_broadcast(
            db, text_id=text, office="imigrasi", audience=broadcasts.Audience("all"),
            send_at=datetime.now(UTC), created_by="console:admin", picture_id=kept.id,
        )  # fmt: skip
        await fake.wait_for(
            lambda f, text=text: all(text[:30] in str(f.sent(v)) for v in VILLAGERS[:3]),
            timeout=15,
        )
    photos = [m for m in fake.sent() if m["method"] == "sendPhoto"]
    assert len(photos) == 6 and all(m["photo"]["content"] == poster for m in photos)
    assert [m["photo"]["by_file_id"] for m in photos].count(False) == 1  # one upload in all
    first = [m for m in fake.sent(VILLAGERS[0]) if "Pengumuman" in m["visible_text"]
             or m["method"] == "sendPhoto"]  # fmt: skip
    short, bare, rest = first[0], first[1], first[2:]
    assert short["method"] == "sendPhoto"
    assert "Layanan paspor <keliling> & gratis konsultasi." in short["visible_text"]
    assert buttons(short) == ["sub:off", "menu"]
    assert bare["method"] == "sendPhoto" and bare["visible_text"] == "" and not bare["caption"]
    assert rest and all(m["method"] == "sendMessage" for m in rest)
    assert buttons(rest[-1]) == ["sub:off", "menu"]


async def test_a_picture_telegram_refuses_leaves_the_words_to_go_alone(channel, fake):
    from datetime import UTC, datetime

    for villager in VILLAGERS[:2]:
        fake.push_text(villager, "/start")
        await step(fake, villager, 1)
    db = channel.core.db
    # a picture kept by some other way than the console's check (an older version, a hand
    # edit): Telegram cannot read it
    [(broken,)] = await db.write_one(
        "INSERT INTO pictures (media_type, data, size, width, height, created_by, created_at)"
        " VALUES ('image/png', x'89504e470d0a1a0a00', 9, 10, 10, 'test', '2026-12-01')"
        " RETURNING id"
    )
    await broadcasts.create_broadcast(
        db, text_id="Sesi paspor hari Sabtu.", office="bp3mi", picture_id=broken,
        audience=broadcasts.Audience("all"), send_at=datetime.now(UTC), created_by="test",
    )  # fmt: skip
    for villager in VILLAGERS[:2]:
        got = await step(fake, villager, 2)
        assert got["method"] == "sendMessage" and "Sesi paspor hari Sabtu." in got["visible_text"]
        assert buttons(got) == ["sub:off", "menu"]
    tried = [e for e in fake.errors if "IMAGE_PROCESS_FAILED" in (e.description or "")]
    assert len(tried) == 1  # refused once, not offered again to the next villager
