"""The intake table: a repeat is stored once, handled rows keep only their key, and row ids
are never reused (replies are keyed on them) even after old keys are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import intake
from bot.domain.intake import Arrival


async def test_a_repeat_is_stored_once_and_a_handled_row_keeps_only_its_key(db):
    first = Arrival("telegram:a", "42", '{"text": "rahasia"}')
    assert await intake.store(db, "telegram", [first, first]) == 1
    assert await intake.store(db, "telegram", [first]) == 0
    [row] = await intake.waiting(db, "telegram", 0, 10)
    await intake.handled(db, row.id)
    kept = await db.fetchone("SELECT update_key, chat, payload FROM intake")
    assert tuple(kept) == ("telegram:a", "", None)
    assert await intake.waiting(db, "telegram", 0, 10) == []


async def test_ids_are_not_reused_after_old_keys_are_forgotten(db):
    await intake.store(db, "telegram", [Arrival("telegram:a", "42", "{}")])
    [old] = await intake.waiting(db, "telegram", 0, 10)
    await intake.handled(db, old.id)
    assert await intake.forget_handled(db, datetime.now(UTC) + timedelta(days=30)) == 1
    await intake.store(db, "telegram", [Arrival("telegram:b", "42", "{}")])
    [new] = await intake.waiting(db, "telegram", 0, 10)
    assert new.id > old.id


async def test_updates_waiting_together_come_in_the_order_they_were_written(db):
    from bot.domain.intake import Arrival, store, waiting

    # Meta's POSTs out of order: the later message's first; a chat without timestamps after
    await store(db, "whatsapp", [Arrival("wa:B", "62812", "jam berapa?", 1764300100)])
    await store(db, "whatsapp", [Arrival("wa:A", "62812", "halo", 1764300050)])
    await store(db, "whatsapp", [Arrival("wa:C", "62899", "pagi", None)])
    rows = await waiting(db, "whatsapp", 0, 10)
    assert [r.payload for r in rows if r.chat == "62812"] == ["halo", "jam berapa?"]
    assert {r.payload for r in rows} == {"halo", "jam berapa?", "pagi"}
    later = await waiting(db, "whatsapp", max(r.id for r in rows), 10)
    assert later == []  # none taken twice
