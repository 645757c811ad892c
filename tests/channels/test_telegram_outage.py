"""The Bot API unreachable while the bot runs: it keeps retrying with growing waits (at most
30 s between polls) and carries on by itself when the API is back; nothing queued is lost."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

from auxil.channels import running_telegram
from auxil.fake_bot_api import FakeBotApi
from auxil.sessions import a_session
from bot.domain.outbox import enqueue
from bot.domain.people import touch_person

TOKEN = "123456:outage"
# Long enough for several failed polls and sends (the waits cap at 30 s). The minute
# takes too long for every run: DESABOT_OUTAGE_SECONDS=60 runs it that long.
OUTAGE_SECONDS = float(os.environ.get("DESABOT_OUTAGE_SECONDS", "4"))


async def settled(db, seconds: float = 10.0):
    """The outbox row once no attempt is in flight ("sending" lasts one try)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        row = await db.fetchone("SELECT attempts, status FROM outbox WHERE dedupe_key = 'outage'")
        if row["status"] != "sending" or asyncio.get_running_loop().time() > deadline:
            return row
        await asyncio.sleep(0.01)


async def test_the_bot_recovers_by_itself_after_the_api_was_unreachable(make_config):
    fake = FakeBotApi().start()
    try:
        config = make_config(telegram={"api_base_url": fake.base_url, "poll_timeout": 1})
        async with running_telegram(config, TOKEN) as bot:
            fake.push_text(5001, "/start")
            await fake.wait_for(lambda f: f.sent(5001), timeout=10)
            port = fake.port
            fake.stop()  # the API goes away
            db = bot.core.db
            session = await a_session(db)
            person = await touch_person(db, "telegram", "5001", "Budi", "id")
            async with db.write() as conn:  # a notice falls due during the outage
                await enqueue(
                    conn, person_id=person.id, session_id=session.id,
                    text_key="notice_session_changed", dedupe_key="outage",
                    due=datetime.now(UTC),
                )  # fmt: skip
            await asyncio.sleep(OUTAGE_SECONDS)
            # tried and queued again, not given up. Read between two attempts: during one the
            # row is "sending" for a moment (reading it then made this test flaky)
            failed = await settled(db)
            assert failed["attempts"] >= 1 and failed["status"] == "pending"
            fake.start(port)  # back
            fake.push_text(5001, "berapa biaya paspor")
            await fake.wait_for(
                lambda f: any("Rp" in m["visible_text"] for m in f.sent(5001)), timeout=45
            )
            await fake.wait_for(  # sends wait up to 10 minutes, after a long outage
                lambda f: any("berubah" in m["visible_text"] for m in f.sent(5001)),
                timeout=45 + OUTAGE_SECONDS * 2,
            )
    finally:
        fake.stop()


async def test_an_update_delivered_twice_is_answered_once(make_config):
    with FakeBotApi() as fake:
        config = make_config(telegram={"api_base_url": fake.base_url, "poll_timeout": 1})
        async with running_telegram(config, TOKEN):
            update = fake.push_text(5002, "berapa biaya paspor")
            await fake.wait_for(lambda f: f.sent(5002), timeout=10)
            fake.push_update(update)  # Telegram delivers it again (same update_id)
            fake.push_text(5002, "/menu")
            await fake.wait_for(lambda f: len(f.sent(5002)) >= 2, timeout=10)
            await asyncio.sleep(0.3)
        texts = [m["visible_text"] for m in fake.sent(5002)]
        assert len(texts) == 2 and "Rp" in texts[0] and texts[1].startswith("Menu utama")
