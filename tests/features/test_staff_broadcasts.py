"""Staff write an announcement in the chat in guided steps, see it exactly as villagers will,
schedule or send it, list recent ones and cancel one; villagers cannot."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from auxil.chat import STAFF, actions, person_row, talker
from bot.core.messages import Kind
from bot.domain import broadcasts

say = talker(channel="telegram", name="Budi")


async def test_staff_write_an_announcement_see_the_preview_and_send_it(staffed):
    for n, village in enumerate(("Sibowi", "Sibowi", "Kaleke", "Pesaku")):
        await say(
            staffed, Kind.BUTTON, f"sub:v:{staffed.settings.villages.index(village)}", user=str(n)
        )
    [ask] = await say(staffed, Kind.COMMAND, "umumkan", user=STAFF)
    assert "(1/4)" in ask.text
    [english] = await say(staffed, Kind.TEXT, "Sesi paspor Sabtu jam 9 di balai desa.", user=STAFF)
    assert actions(english)[0] == "st:bc:skip_en"
    [audience] = await say(staffed, Kind.BUTTON, "st:bc:skip_en", user=STAFF)
    assert actions(audience)[0] == "st:bc:all" and "st:bc:sessions" in actions(audience)
    sibowi = f"st:bc:v:{staffed.settings.villages.index('Sibowi')}"
    kaleke = f"st:bc:v:{staffed.settings.villages.index('Kaleke')}"
    await say(staffed, Kind.BUTTON, sibowi, user=STAFF)
    [both] = await say(staffed, Kind.BUTTON, kaleke, user=STAFF)
    labels = [b.label for b in both.flat_buttons()]
    assert "✅ Sibowi" in labels and "✅ Kaleke" in labels and "st:bc:next" in actions(both)
    [office] = await say(staffed, Kind.BUTTON, "st:bc:next", user=STAFF)
    assert actions(office)[:2] == ["st:bc:o:bp3mi", "st:bc:o:imigrasi"]
    preview, confirm = await say(staffed, Kind.BUTTON, "st:bc:o:bp3mi", user=STAFF)
    # the preview is the villagers' message itself, its buttons only samples
    villager_view = staffed.broadcast_preview(
        "Sesi paspor Sabtu jam 9 di balai desa.", "bp3mi", "id"
    )
    assert preview.text == villager_view.text
    assert [b.label for b in preview.flat_buttons()] == [
        b.label for b in villager_view.flat_buttons()
    ]
    assert actions(preview) == ["st:bc:pv", "st:bc:pv"]
    [sample] = await say(staffed, Kind.BUTTON, "st:bc:pv", user=STAFF)
    assert "hanya contoh" in sample.text
    assert (await person_row(staffed, STAFF))["subscribed"] == 1  # the sample did not unsubscribe
    assert "Penerima: 3 orang (Desa Sibowi, Kaleke)" in confirm.text
    assert actions(confirm) == ["st:bc:send", "st:bc:later", "st:discard"]
    [queued] = await say(staffed, Kind.BUTTON, "st:bc:send", user=STAFF)
    assert "Pengumuman #1 masuk antrean untuk 3 penerima" in queued.text
    [made] = await broadcasts.recent_broadcasts(staffed.db)
    assert made.audience.villages == ("Sibowi", "Kaleke") and made.office == "bp3mi"
    assert made.text == {"id": "Sesi paspor Sabtu jam 9 di balai desa."} | {
        "en": "Sesi paspor Sabtu jam 9 di balai desa."
    }


async def test_staff_can_schedule_for_later_and_cancel_from_the_list(staffed):
    await say(staffed, Kind.COMMAND, "umumkan", user=STAFF)
    await say(staffed, Kind.TEXT, "Hari layanan paspor.", user=STAFF)
    await say(staffed, Kind.TEXT, "Passport service day.", user=STAFF)
    await say(staffed, Kind.BUTTON, "st:bc:all", user=STAFF)
    await say(staffed, Kind.BUTTON, "st:bc:o:imigrasi", user=STAFF)
    [when] = await say(staffed, Kind.BUTTON, "st:bc:later", user=STAFF)
    assert "YYYY" not in when.text and "misalnya" in when.text
    [again] = await say(staffed, Kind.TEXT, "besok pagi", user=STAFF)
    assert "tidak bisa dibaca" in again.text
    [past] = await say(staffed, Kind.TEXT, "2020-01-01 10:00", user=STAFF)
    assert "Waktu itu sudah lewat" in past.text
    tomorrow = (datetime.now(staffed.settings.timezone) + timedelta(days=1)).strftime(
        "%Y-%m-%d 10:00"
    )
    indonesian, english, confirm = await say(staffed, Kind.TEXT, tomorrow, user=STAFF)
    assert "Hari layanan paspor." in indonesian.text
    assert english.text.startswith("📢 Announcement from Kantor Imigrasi")
    assert "Passport service day." in english.text
    assert tomorrow in confirm.text and actions(confirm)[0] == "st:bc:send"
    [queued] = await say(staffed, Kind.BUTTON, "st:bc:send", user=STAFF)
    assert f"({tomorrow})" in queued.text
    [listing] = await say(staffed, Kind.COMMAND, "pengumuman", user=STAFF)
    assert "#1 · terjadwal" in listing.text and "Hari layanan paspor." in listing.text
    assert actions(listing) == ["st:bc:x:1"]
    assert [b.label for b in listing.flat_buttons()] == ["🛑 Batalkan #1"]
    [sure] = await say(staffed, Kind.BUTTON, "st:bc:x:1", user=STAFF)
    assert "Batalkan pengumuman #1?" in sure.text
    assert actions(sure) == ["st:bc:xx:1", "st:discard"]
    [cancelled] = await say(staffed, Kind.BUTTON, "st:bc:xx:1", user=STAFF)
    assert "Pengumuman #1 dibatalkan" in cancelled.text
    [refused] = await say(staffed, Kind.BUTTON, "st:bc:xx:1", user=STAFF)
    assert "tidak bisa dibatalkan: sudah dibatalkan" in refused.text


async def test_a_too_long_announcement_is_refused_with_its_length(staffed):
    await say(staffed, Kind.COMMAND, "umumkan", user=STAFF)
    [reply] = await say(staffed, Kind.TEXT, "a" * 3050, user=STAFF)
    assert "3050 karakter; paling banyak 3000" in reply.text and "(1/4)" in reply.text


async def test_villagers_cannot_use_the_staff_announcement_commands(app):
    for command in ("umumkan", "pengumuman", "statistik", "belum_terjawab"):
        [reply] = await say(app, Kind.COMMAND, command)
        assert "tidak saya kenal" in reply.text
    [reply] = await say(app, Kind.BUTTON, "st:bc:x:1")
    assert "tombol" in reply.text.lower()
    assert await broadcasts.recent_broadcasts(app.db) == []


@pytest.mark.parametrize("word", ["batal", "menu", "cancel", "keluar"])
async def test_an_exit_word_where_a_button_is_asked_drops_the_draft(staffed, word):
    """As before the redesign: typed where the draft asks for a button (the audience, the
    office, the confirmation), these words leave it for the main menu."""
    await say(staffed, Kind.COMMAND, "umumkan", user=STAFF)
    await say(staffed, Kind.TEXT, "Sesi paspor Sabtu.", user=STAFF)
    [audience] = await say(staffed, Kind.BUTTON, "st:bc:skip_en", user=STAFF)
    assert actions(audience)[0] == "st:bc:all"
    [menu] = await say(staffed, Kind.TEXT, word, user=STAFF)
    assert menu.text.startswith("Menu utama")
    assert (await person_row(staffed, STAFF))["flow"] is None
