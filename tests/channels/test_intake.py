"""Durable intake on Telegram (python-telegram-bot against the stand-in Bot API, a real SQLite
file): what a crash left waiting is handled first, in order; a webhook is answered only once
the update is stored; a new bot token is not muted by the old one's update ids; a reply
Telegram refuses for a while is sent later, a long one from the part that failed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from auxil.channels import TOKEN, free_port, running_telegram
from auxil.fake_bot_api import FakeBotApi
from bot.app import open_app
from bot.channels.intake import arrival
from bot.core.messages import Incoming, Kind, Reply, reply_to_text, update_key
from bot.domain import intake, outbox
from bot.domain.people import touch_person

CHAT = 4242


@pytest.fixture
def fake():
    with FakeBotApi() as server:
        yield server


def telegram_config(make_config, fake: FakeBotApi, **telegram):
    return make_config(telegram={"api_base_url": fake.base_url, "poll_timeout": 1, **telegram})


async def texts_to(fake: FakeBotApi, chat: int, count: int, timeout: float = 10) -> list[str]:
    await fake.wait_for(lambda f: len(f.sent(chat)) >= count, timeout=timeout)
    return [m["visible_text"] for m in fake.sent(chat)]


async def test_updates_a_crash_left_waiting_are_handled_first_and_in_order(make_config, fake):
    config = telegram_config(make_config, fake)
    async with open_app(config) as app:  # stored, never handled: the bot died
        words = [("command", "start"), ("command", "bahasa"), ("text", "berapa biaya paspor")]
        await intake.store(
            app.db,
            "telegram",
            [
                arrival(
                    Incoming("telegram", str(CHAT), Kind(kind), text, "Rina", update_id=f"1:{n}")
                )
                for n, (kind, text) in enumerate(words)
            ],
        )
    async with running_telegram(config, TOKEN) as bot:
        said = await texts_to(fake, CHAT, 3)
        waiting = await intake.count_waiting(bot.core.db, "telegram")
    assert said[0].startswith("Halo Rina") and "bahasa" in said[1].lower()
    assert "paspor" in said[2].lower()
    assert waiting == 0


async def test_a_new_bot_token_is_not_muted_by_the_old_bots_update_ids(make_config, fake):
    config = telegram_config(make_config, fake)
    async with running_telegram(config, "111:old-bot"):
        fake.push_text(CHAT, "/start")
        await texts_to(fake, CHAT, 1)
    with FakeBotApi() as other:  # a new bot: its update ids start again at 1
        config = telegram_config(make_config, other)
        async with running_telegram(config, "222:new-bot"):
            other.push_text(CHAT, "/start")
            [welcome] = await texts_to(other, CHAT, 1)
    assert welcome.startswith("Halo")


async def test_a_webhook_update_is_stored_before_telegram_gets_its_200(make_config, fake):
    port = free_port()
    hook = {"port": port, "path": "hook", "public_url": "https://bot.example.org/hook"}
    config = telegram_config(make_config, fake, mode="webhook", webhook=hook)
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1, "date": 1764300000, "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Rina"}, "text": "halo",
        },
    }  # fmt: skip
    async with running_telegram(config, TOKEN, webhook_secret="s3cret") as bot:
        url = f"http://127.0.0.1:{port}/hook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        async with httpx.AsyncClient() as client:
            answer = await client.post(url, json=update, headers=headers)
            key = update_key(Incoming("telegram", "", Kind.TEXT, update_id=f"{bot.bot_id}:77"))
            row = await bot.core.db.fetchone(
                "SELECT count(*) FROM intake WHERE update_key = ?", (key,)
            )
            refused = await client.post(
                url, content=b"x" * 200_000, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}
            )
        await texts_to(fake, CHAT, 1)
    assert answer.status_code == 200 and row[0] == 1
    assert refused.status_code == 403


async def test_a_reply_telegram_refuses_for_a_while_arrives_once_later(make_config, fake):
    config = telegram_config(make_config, fake)
    async with running_telegram(config, TOKEN) as bot:
        fake.fail_next_with_429(5)  # more than python-telegram-bot retries on its own
        fake.push_text(CHAT, "/start")
        [welcome] = await texts_to(fake, CHAT, 1, timeout=20)
        for _ in range(100):  # deliveries are recorded a few at a time, within 20 ms
            row = await bot.core.db.fetchone(
                "SELECT status, attempts FROM outbox WHERE text_key = 'reply'"
            )
            if row["status"] == "sent":
                break
            await asyncio.sleep(0.02)
    assert welcome.startswith("Halo")
    assert row["status"] == "sent" and row["attempts"] >= 2  # queued again, not dropped


async def test_a_long_reply_refused_at_its_second_part_resumes_there(make_config, fake):
    config = telegram_config(make_config, fake)
    first, second = "satu " * 700, "dua " * 700  # two messages: over 4,096 characters
    async with running_telegram(config, TOKEN) as bot:
        db = bot.core.db
        person = await touch_person(db, "telegram", str(CHAT), "Budi", "id")
        fake.fail_next_with_429(5, after=1)  # the first part goes, the second is refused
        words = [reply_to_text(Reply(f"{first}\n{second}"))]
        [due] = await db.in_one_trip(
            lambda raw: outbox.queue_replies(raw, person.id, 1, words, ("telegram", str(CHAT)))
        )
        await bot.delivery.send_now([due])
        said = await texts_to(fake, CHAT, 2, timeout=20)
    assert len(said) == 2, "a part was sent twice"
    assert said[0].startswith("satu") and said[1].startswith("dua")


async def test_after_hapusdata_on_telegram_no_file_holds_what_was_erased(make_config, fake):
    """Through the intake and the outbox too: what the villager wrote waited in the intake
    table and their replies in the outbox; after /hapusdata neither the database file nor
    its -wal holds their name or their words (grep the bytes)."""
    config = telegram_config(make_config, fake)
    name = {"first_name": "Zulaikha", "last_name": "Qwertyuiop"}  # in every update she sends
    async with running_telegram(config, TOKEN) as bot:
        fake.push_text(CHAT, "/start", **name)
        fake.push_text(CHAT, "kalimat rahasia unik tentang agen gelap", **name)
        await texts_to(fake, CHAT, 2)
        fake.push_text(CHAT, "/hapusdata", **name)
        await texts_to(fake, CHAT, 3)
        fake.push_callback(CHAT, "erase:yes")
        said = await texts_to(fake, CHAT, 4)
        for _ in range(100):  # the last reply's delivery is recorded within 20 ms
            left = await bot.core.db.fetchone(
                "SELECT count(*) FROM outbox WHERE status = 'sending' OR values_json != '{}'"
            )
            if not left[0]:
                break
            await asyncio.sleep(0.02)
        assert not left[0], "a reply's words were still kept"
        database = bot.core.db.path
        for path in (database, database.with_name(database.name + "-wal")):
            data = path.read_bytes() if path.exists() else b""
            for erased in (b"Zulaikha", b"Qwertyuiop", b"agen gelap", b"rahasia"):
                assert erased not in data, f"{path.name} still holds {erased!r}"
    assert "dihapus" in said[3].lower()


async def test_an_update_with_broken_unicode_is_answered_and_stops_nothing(make_config, fake):
    config = telegram_config(make_config, fake)
    async with running_telegram(config, TOKEN):
        fake.push_text(CHAT, "halo \ud83d kak")  # half an emoji: not valid UTF-8 as it is
        fake.push_text(CHAT + 1, "/start")
        [answer] = await texts_to(fake, CHAT, 1)
        [welcome] = await texts_to(fake, CHAT + 1, 1)
    assert answer and welcome.startswith("Halo")


async def test_while_the_database_fails_the_villager_hears_so_and_is_answered_after(
    make_config, fake, monkeypatch
):
    from bot.domain import people
    from bot.domain.store import DatabaseError

    real = people.touch_person
    calls = []

    async def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # another process held the database too long, once
            raise DatabaseError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(people, "touch_person", locked_once)
    config = telegram_config(make_config, fake)
    async with running_telegram(config, TOKEN) as bot:
        fake.push_text(CHAT, "/start", first_name="Rina")
        sorry, welcome = await texts_to(fake, CHAT, 2)
        logged = await bot.core.db.fetchall("SELECT action FROM messages")
        waiting = await intake.count_waiting(bot.core.db, "telegram")
    assert "maaf" in sorry.lower() and welcome.startswith("Halo Rina")
    assert len(logged) == 1 and waiting == 0  # handled once, after all


async def test_a_reply_waiting_for_a_retry_is_not_overtaken_by_the_next(make_config, fake):
    config = telegram_config(make_config, fake)
    async with running_telegram(config, TOKEN):
        fake.fail_next_with_429(5)  # the first reply waits for a retry...
        fake.push_text(CHAT, "/start", first_name="Rina")
        fake.push_text(CHAT, "/bahasa", first_name="Rina")  # ...and the second behind it
        first, second = await texts_to(fake, CHAT, 2, timeout=20)
    assert first.startswith("Halo Rina") and "bahasa" in second.lower()
