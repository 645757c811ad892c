"""Abuse resistance: the staff audit log, staff commands invisible to villagers, and a
message delivered twice acted on once (flood control: test_flood.py)."""

from __future__ import annotations

import pytest

from auxil import chat
from bot.core.messages import Incoming, Kind

STAFF = chat.STAFF


def incoming(kind: Kind, text: str, user: str = "42", update_id: str | None = None) -> Incoming:
    return chat.incoming(kind, text, user, channel="telegram", name="Budi", update_id=update_id)


async def test_every_staff_action_is_in_the_audit_log(make_config):
    from bot.app import open_app

    config = make_config(telegram={"staff_ids": [555]})
    async with open_app(config) as c:
        await c.handle(incoming(Kind.COMMAND, "sesi", user=STAFF))
        await c.handle(incoming(Kind.COMMAND, "umumkan", user=STAFF))
        await c.handle(incoming(Kind.TEXT, "Awas calo!", user=STAFF))
        await c.handle(incoming(Kind.COMMAND, "sesi", user="42"))  # a villager: not staff
        rows = await c.db.fetchall("SELECT actor, action, detail, at FROM audit_log ORDER BY id")
        assert [(r[0], r[1], r[2].split(" → ")[0]) for r in rows] == [
            ("telegram:555 Budi", "staff_list", "sesi"),
            ("telegram:555 Budi", "staff_bc_text", "umumkan"),
            ("telegram:555 Budi", "staff_bc_text_en", "Awas calo!"),
        ]
        assert rows[1][2].startswith("umumkan → 📢 Pengumuman baru (1/4)")
        assert all(r[3] for r in rows)  # when


@pytest.mark.parametrize("command", ["sesi", "peserta K7QA", "umumkan", "statistik", "hadir X"])
async def test_a_villager_sending_a_staff_command_gets_the_unknown_command_reply(app, command):
    await app.handle(incoming(Kind.COMMAND, "start"))  # past the first-contact note
    [staff_like] = await app.handle(incoming(Kind.COMMAND, command))
    [unknown] = await app.handle(incoming(Kind.COMMAND, "tidakada"))
    assert staff_like.text == unknown.text


async def test_the_same_update_delivered_twice_is_acted_on_once(app):
    c = app
    first = await c.handle(incoming(Kind.TEXT, "berapa biaya paspor", update_id="900"))
    again = await c.handle(incoming(Kind.TEXT, "berapa biaya paspor", update_id="900"))
    other = await c.handle(incoming(Kind.TEXT, "berapa biaya paspor", update_id="901"))
    assert first and other and again == []
    count = await c.db.fetchone("SELECT count(*) FROM messages")
    assert count[0] == 2


@pytest.mark.parametrize(
    "text",
    [
        "+6281234567890", "6281234567890", "0812-3456-7890", "0812 3456 7890",
        "+62 812 3456 7890", "HP081234567890", "(0812) 3456 7890", "0812/3456/7890",
        "0812–3456–7890", "012-345 6789", "+1 415 555 0100",
    ],
)  # fmt: skip
def test_phone_numbers_never_reach_the_log_however_written(text):
    import logging

    from bot.support.logs import RedactSecrets

    record = logging.LogRecord("t", logging.INFO, "", 0, "event=x text=%r", (text,), None)
    RedactSecrets([]).filter(record)
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits[-7:] not in "".join(ch for ch in record.getMessage() if ch.isdigit())


@pytest.mark.parametrize(
    "text", ["chat=6281234567", "score=0.81234567", "due=2026-11-28T14:35:03", "08.00–16.00"]
)
def test_ids_times_and_figures_stay_readable_in_the_log(text):
    import logging

    from bot.support.logs import RedactSecrets

    record = logging.LogRecord("t", logging.INFO, "", 0, text, None, None)
    RedactSecrets([]).filter(record)
    assert record.getMessage() == text
