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
