"""Announcements from the console: composed, previewed as villagers will get them with the
recipients per channel, sent (or refused in words), then followed per recipient, exported and
cancelled; through the same domain calls as the chat's /umumkan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auxil.console import PASSWORD, client, sign_in
from bot.cli.console import programme
from bot.console.web import build
from bot.domain import accounts, broadcasts
from bot.domain.people import set_village, touch_person
from bot.support.passwords import hash_password


@pytest.fixture
async def console(app):
    await accounts.add_account(app.db, "budi", "officer", hash_password(PASSWORD))
    for n, village in enumerate(["Sibowi", "Sibowi", "Kaleke"]):
        person = await touch_person(app.db, "telegram", str(700 + n), f"Warga {n}", "id")
        await set_village(app.db, person.id, village)
    shown = programme(app.taught.config, app)
    assert shown.quiet == ""  # the tests' config has no quiet hours: no note
    return build(app.db, app.settings.timezone, 12,
                 replace(shown, channels=("telegram",), quiet="21.00–07.00"))  # fmt: skip


FORM = {"text_id": "Sesi paspor hari Sabtu jam 9 di balai desa.", "kind": "village",
        "village": "Sibowi", "office": "bp3mi", "when": "now"}  # fmt: skip


async def test_a_preview_shows_the_message_and_who_gets_it_before_anything_is_sent(app, console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        form = await browser.get("/pengumuman/baru")
        empty = await browser.post("/pengumuman/baru", data={**FORM, "text_id": " "})
        nowhere = await browser.post("/pengumuman/baru", data={**FORM, "village": ""})
        past = await browser.post(
            "/pengumuman/baru", data={**FORM, "when": "later", "day": "1/1/2020", "time": "09.00"}
        )
        preview = await browser.post("/pengumuman/baru", data={**FORM, "step": "preview"})
    assert "Sibowi" in form.text and "Kaleke" in form.text  # the villages people gave
    assert "Jam tenang 21.00–07.00 WITA" in form.text
    assert empty.status_code == 400 and "Tulis teks pengumumannya" in empty.text
    assert nowhere.status_code == 400 and "Pilih paling sedikit satu desa" in nowhere.text
    assert past.status_code == 400 and "Waktu itu sudah lewat" in past.text
    assert "2 penerima saat ini" in preview.text and "telegram: 2" in preview.text
    villagers_see = app.broadcast_preview(FORM["text_id"], "bp3mi", "id").text
    assert villagers_see.split("\n")[0] in preview.text  # "📢 Pengumuman dari ..."
    assert await broadcasts.recent_broadcasts(app.db) == []  # nothing sent by a preview


async def test_sent_then_followed_per_recipient_exported_and_cancelled(app, console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        later = (datetime.now(app.settings.timezone) + timedelta(days=2)).strftime("%d/%m/%Y")
        scheduled = await browser.post(
            "/pengumuman/baru",
            data={**FORM, "step": "send", "when": "later", "day": later, "time": "10.00"},
        )
        sent = await browser.post("/pengumuman/baru", data={**FORM, "step": "send"})
        await app.housekeeping(datetime.now(UTC))  # the bot queues it for each recipient
        report = await browser.get(sent.headers["location"])
        waiting = await browser.get(sent.headers["location"] + "?status=queued")
        polled = await browser.get(sent.headers["location"], headers={"HX-Request": "true"})
        exported = await browser.get(sent.headers["location"] + "/penerima.csv")
        first = scheduled.headers["location"]
        cancelled = await browser.post(first + "/batal")
        listing = await browser.get("/pengumuman")
    assert scheduled.status_code == 303 and sent.status_code == 303
    assert report.text.count("<td>Warga ") == 2 and "Warga 2" not in report.text  # Kaleke's
    assert "menunggu" in waiting.text and "<html" not in polled.text
    content = exported.content.decode("utf-8")
    assert content.startswith("\ufeff") and "Nama,Desa,Saluran,Status" in content
    assert cancelled.status_code == 303
    [newer, older] = await broadcasts.recent_broadcasts(app.db)
    assert older.status == "cancelled" and newer.status in ("sending", "done", "scheduled")
    assert "dibatalkan" in listing.text
    actions = [r[0] for r in await app.db.fetchall("SELECT action FROM audit_log")]
    assert actions.count("console_broadcast_send") == 2 and "console_broadcast_cancel" in actions


@pytest.mark.parametrize(
    ("status", "detail", "words"),
    [
        ("failed", "blocked: Forbidden: bot was blocked by the user", "memblokir bot"),
        ("skipped", "stopped announcements", "berhenti menerima pengumuman"),
        ("failed", "whatsapp: 131026: Message undeliverable", "tidak bisa menerima pesan WhatsApp"),
        ("queued", "network: ConnectError('timed out')", "dicoba lagi (network: ConnectError"),
        ("parked", "Bad Request: chat not found", "ditolak (Bad Request: chat not found)"),
        ("sent", "", ""),
    ],
)
def test_why_a_recipient_has_not_got_it_is_said_in_words(status, detail, words):
    from bot.console.announce import reason_words

    said = reason_words(status, detail, "id")
    assert words in said if words else said == ""
