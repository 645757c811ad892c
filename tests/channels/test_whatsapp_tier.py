"""WhatsApp's messaging tier: conversations (templates outside the 24-hour window) are started
with no more people in a rolling 24 hours than `whatsapp.daily_new_conversations`; the others
wait for a place, reminders before announcements, and staff are told how many wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from auxil.fake_graph_api import FakeGraphApi
from auxil.whatsapp import SECRETS, quiet_villager, running_whatsapp
from bot.channels.whatsapp import WhatsAppChannel
from bot.domain import broadcasts, conversations
from bot.domain.broadcasts import Audience
from bot.domain.conversations import TIER_WAIT

TEMPLATES = {
    "broadcast": {"name": "pengumuman_desa", "parameters": ["office", "text"]},
    "reminder_soon": {"name": "pengingat_sesi", "parameters": ["title", "when"]},
}
PEOPLE = ["6285200001001", "6285200001002", "6285200001003"]


@pytest.fixture
def graph():
    with FakeGraphApi() as server:
        server.templates |= {"pengumuman_desa", "pengingat_sesi"}
        yield server


@pytest.fixture
async def whatsapp(make_config, graph) -> AsyncIterator[WhatsAppChannel]:
    settings = {"templates": TEMPLATES, "daily_new_conversations": 2}
    async with running_whatsapp(make_config, graph, **settings) as channel:
        yield channel


async def announce_to_all(db) -> None:
    await broadcasts.create_broadcast(
        db, text_id="Sesi paspor Sabtu.", office="bp3mi", audience=Audience("all"),
        send_at=datetime.now(UTC), created_by="test",
    )  # fmt: skip


async def test_the_tier_counts_people_not_messages_over_a_rolling_day(db):
    from bot.domain.people import touch_person

    ids = [(await touch_person(db, "whatsapp", p, "W", "id")).id for p in PEOPLE]
    now = datetime.now(UTC)
    await conversations.started(db, ids[0], now - timedelta(hours=30))  # left the window
    await conversations.started(db, ids[1], now - timedelta(hours=20))
    await conversations.started(db, ids[1], now - timedelta(hours=2))  # the same person
    await conversations.started(db, ids[2], now - timedelta(hours=10))
    room = await conversations.room(db, 2, now)
    assert (room.used, room.left) == (2, 0)
    assert room.next_free == (now - timedelta(hours=10)).replace(microsecond=0) + timedelta(
        hours=24
    )  # Nur's place frees first: Budi's last start is later
    assert await conversations.reached_lately(db, ids[1], now)
    assert not await conversations.reached_lately(db, ids[0], now)
    assert (await conversations.room(db, 3, now)).next_free is None
    assert (await conversations.room(db, None, now)).left is None


async def test_no_more_conversations_are_started_than_the_tier_allows(whatsapp, graph):
    db = whatsapp.core.db
    for phone in PEOPLE:
        await quiet_villager(whatsapp, phone, hours_ago=30)
    await announce_to_all(db)
    for _ in range(500):
        rows = await db.fetchall(
            "SELECT status, last_error, due_at FROM outbox WHERE broadcast_id IS NOT NULL"
        )
        if (
            len(rows) == 3
            and all(r["status"] not in ("sending",) for r in rows)
            and (sum(r["status"] == "sent" for r in rows) == 2)
        ):
            break
        await asyncio.sleep(0.02)
    templates = [m for p in PEOPLE for m in graph.sent(p) if m["type"] == "template"]
    assert len(templates) == 2  # the third waits
    [held] = [r for r in rows if r["status"] == "pending"]
    assert held["last_error"].startswith(TIER_WAIT)
    wait = datetime.fromisoformat(held["due_at"]) - datetime.now(UTC)
    assert timedelta(hours=23) < wait <= timedelta(hours=24, minutes=2)  # when a place frees
    [made] = await broadcasts.recent_broadcasts(db)
    assert await conversations.held_for_tier(db, made.id) == 1
    assert made.status == "sending"  # not done while one waits


def test_the_tier_is_a_number_or_unlimited_in_config(make_config):
    from bot.config import ConfigError

    assert make_config().whatsapp.daily_new_conversations == 250  # where every business starts
    unlimited = make_config(whatsapp={"daily_new_conversations": "unlimited"})
    assert unlimited.whatsapp.daily_new_conversations is None
    with pytest.raises(ConfigError) as error:
        make_config(whatsapp={"daily_new_conversations": "banyak"})
    message = str(error.value)
    assert "whatsapp.daily_new_conversations: expected the tier in WhatsApp Manager" in message
    assert "250, 2000, 10000, 100000 or unlimited, got 'banyak'" in message


async def test_each_one_waiting_gets_its_own_turn_and_a_failed_template_frees_its_place(
    whatsapp, graph
):
    from auxil.whatsapp import url

    db = whatsapp.core.db
    graph.status_webhook = (url(whatsapp), SECRETS.app_secret)
    people = [*PEOPLE, "6285200001004", "6285200001005", "6285200001006"]
    for phone in people:
        await quiet_villager(whatsapp, phone, hours_ago=30)
    graph.fail_later[people[0]] = 131026  # accepted, then undeliverable: nobody reached
    await announce_to_all(db)
    for _ in range(500):
        rows = await db.fetchall(
            "SELECT status, last_error, due_at, attempts FROM outbox"
            " WHERE broadcast_id IS NOT NULL ORDER BY id"
        )
        held = [r for r in rows if r["status"] == "pending"]
        if len(rows) == 6 and len(held) == 4 and any(r["status"] == "failed" for r in rows):
            break
        await asyncio.sleep(0.02)
    assert [r["status"] for r in rows].count("sent") == 1
    assert [r["status"] for r in rows].count("failed") == 1  # 131026, in the callback
    turns = sorted(datetime.fromisoformat(r["due_at"]) for r in held)
    # two places free in 24 hours: two go then, the other two a day after, not all at once
    assert turns[1] - turns[0] < timedelta(minutes=2) < timedelta(hours=23) < turns[2] - turns[1]
    assert all(r["attempts"] == 0 for r in held)  # waiting is not a failed attempt
    for _ in range(200):  # the failed template's place is given back
        if (await conversations.room(db, 2)).used == 1:
            break
        await asyncio.sleep(0.02)
    assert (await conversations.room(db, 2)).used == 1


async def test_an_announcement_held_for_the_tier_holds_back_no_reminder(whatsapp, graph):
    from auxil.sessions import a_session
    from auxil.whatsapp import envelope, post, text
    from bot.domain.outbox import enqueue

    db = whatsapp.core.db
    others = [await quiet_villager(whatsapp, p, hours_ago=30) for p in PEOPLE[:2]]
    for person in others:
        await conversations.started(db, person)  # the day's two places are taken
    late = await quiet_villager(whatsapp, PEOPLE[2], hours_ago=30)
    session = await a_session(db)
    soon = datetime.now(UTC) + timedelta(seconds=3)
    async with db.write() as conn:  # her reminder, due in a few seconds
        await enqueue(conn, person_id=late, session_id=session.id, text_key="reminder_soon",
                      dedupe_key="soon:late", due=soon)  # fmt: skip
    await announce_to_all(db)
    for _ in range(500):
        row = await db.fetchone(
            "SELECT status, last_error FROM outbox WHERE person_id = ? AND broadcast_id"
            " IS NOT NULL",
            (late,),
        )
        if row and row["last_error"] and row["last_error"].startswith(TIER_WAIT):
            break
        await asyncio.sleep(0.02)
    assert row["status"] == "pending"  # the announcement waits for a place...
    await post(whatsapp, envelope([text("halo lagi", sender=PEOPLE[2])]))  # ...she writes
    for _ in range(500):
        if any("Sosialisasi" in str(m) for m in graph.sent(PEOPLE[2])):
            break
        await asyncio.sleep(0.02)
    # her reminder goes when due, inside the window she opened, not a day on behind it
    assert any("Sosialisasi" in str(m) for m in graph.sent(PEOPLE[2]))
