"""Announcements in the chat: villagers stop and restart them and set their village; staff
write one in guided steps, see it exactly as villagers will, and follow its delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auxil.chat import actions, talker
from auxil.sessions import a_session
from bot.app import App
from bot.core.messages import Kind
from bot.domain import broadcasts
from bot.domain.outbox import Due

say = talker(channel="telegram", name="Budi")

STAFF = "555"


@pytest.fixture
def staffed(app: App) -> App:
    app.settings.staff_ids = frozenset({("telegram", STAFF)})
    return app


async def person(app, user: str = "42"):
    return await app.db.fetchone(
        "SELECT subscribed, village, active, flow FROM people WHERE channel_user_id = ?", (user,)
    )


async def test_first_contact_says_announcements_come_and_how_to_stop_them_once(app):
    [first] = await say(app, Kind.TEXT, "berapa biaya paspor")
    assert "Rp" in first.text  # the answer itself comes first
    assert first.text.rstrip().endswith("Ketik BERHENTI kapan saja.")
    [second] = await say(app, Kind.TEXT, "berapa biaya paspor")
    assert "BERHENTI" not in second.text


async def test_who_starts_with_berhenti_is_not_told_to_type_berhenti(app):
    [first] = await say(app, Kind.TEXT, "BERHENTI")
    assert "tidak akan menerima pengumuman lagi" in first.text
    assert "Ketik BERHENTI kapan saja" not in first.text
    [later] = await say(app, Kind.TEXT, "berapa biaya paspor")
    assert "Ketik BERHENTI kapan saja" not in later.text  # told once, in other words


async def test_people_from_before_announcements_existed_are_told_once(app):
    await say(app, Kind.TEXT, "halo")
    await app.db.write_one("UPDATE people SET announcements_told = 0")  # as migrated
    [reply] = await say(app, Kind.TEXT, "berapa biaya paspor")
    assert "Ketik BERHENTI kapan saja" in reply.text


@pytest.mark.parametrize("word", ["BERHENTI", "stop", "Stop!", " berhenti. "])
async def test_berhenti_stops_announcements_and_mulai_starts_them_again(app, word):
    await say(app, Kind.COMMAND, "start")
    [stopped] = await say(app, Kind.TEXT, word)
    assert "tidak akan menerima pengumuman lagi" in stopped.text
    assert "Pengingat untuk sesi" in stopped.text  # reminders are not announcements
    assert (await person(app))["subscribed"] == 0
    [started] = await say(app, Kind.TEXT, "mulai")
    assert "akan menerima pengumuman lagi" in started.text
    assert (await person(app))["subscribed"] == 1


async def test_english_speakers_use_stop_and_start(app):
    await say(app, Kind.COMMAND, "start", language_hint="en")
    [stopped] = await say(app, Kind.TEXT, "STOP")
    assert "will not receive announcements" in stopped.text
    [started] = await say(app, Kind.TEXT, "start")
    assert "receive announcements again" in started.text


async def test_berhenti_in_the_middle_of_a_sign_up_also_leaves_it(app):
    session = await a_session(app.db)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    assert (await person(app))["flow"]
    await say(app, Kind.TEXT, "berhenti")
    row = await person(app)
    assert row["subscribed"] == 0 and row["flow"] is None


async def test_the_announcements_screen_toggles_and_sets_the_village(app):
    [screen] = await say(app, Kind.BUTTON, "subs")
    assert "Desa Anda belum diatur" in screen.text
    assert actions(screen) == ["sub:off", "sub:village", "menu"]
    [off] = await say(app, Kind.BUTTON, "sub:off")
    assert actions(off)[0] == "sub:on" and "Anda tidak menerima pengumuman" in off.text
    [ask] = await say(app, Kind.BUTTON, "sub:village")
    assert actions(ask)[:2] == ["sub:v:0", "sub:v:1"] and "sub:v:other" in actions(ask)
    [chosen] = await say(app, Kind.BUTTON, "sub:v:1")
    assert "Desa Anda sekarang: Sibowi" in chosen.text
    await say(app, Kind.BUTTON, "sub:v:other")
    [typed] = await say(app, Kind.TEXT, "  Desa   Tondo ")
    assert "Desa Anda sekarang: Desa Tondo" in typed.text
    assert (await person(app))["village"] == "Desa Tondo"
    [stale] = await say(app, Kind.BUTTON, "sub:v:99")
    assert "tombol" in stale.text.lower()  # an old or forged button: the stale-button notice


async def test_the_village_set_in_the_menu_puts_them_in_that_villages_audience(app):
    await say(app, Kind.BUTTON, "sub:v:2")  # Pesaku
    audience = await broadcasts.parse_audience(app.db, "village:pesaku", ())
    assert await broadcasts.count_recipients(app.db, audience, app.settings.reachable_channels) == 1


async def test_an_announcement_names_its_office_and_falls_back_to_indonesian(app):
    broadcast = await broadcasts.create_broadcast(
        app.db, text_id="Hati-hati calo!", office="imigrasi",
        audience=broadcasts.Audience("all"), send_at=datetime.now(UTC), created_by="t",
    )  # fmt: skip
    for lang, heading in (("id", "Pengumuman dari"), ("en", "Announcement from")):
        due = Due(1, 1, "42", lang, None, "broadcast", {}, 0, broadcast_id=broadcast.id)
        reply = await app.render_due(due)
        assert reply.text.startswith(f"📢 {heading} Kantor Imigrasi Kelas I TPI Palu")
        assert "Hati-hati calo!" in reply.text
        assert actions(reply) == ["sub:off", "menu"]  # one tap to stop them


# -- staff --------------------------------------------------------------------------------------


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
    assert (await person(staffed, STAFF))["subscribed"] == 1  # the sample did not unsubscribe
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


async def test_staff_statistics_count_people_questions_sessions_and_announcements(staffed):
    await say(staffed, Kind.BUTTON, "sub:v:1", user="1")
    await say(staffed, Kind.BUTTON, "sub:v:1", user="2")
    await say(staffed, Kind.TEXT, "berhenti", user="2")
    await say(staffed, Kind.TEXT, "berapa biaya paspor", user="1")
    await say(staffed, Kind.TEXT, "siapa juara piala dunia tahun lalu", user="1")
    await staffed.db.write_one("UPDATE people SET active = 0 WHERE channel_user_id = '2'")
    session = await a_session(staffed.db)
    await say(staffed, Kind.COMMAND, "start", user=STAFF)
    [report] = await say(staffed, Kind.COMMAND, "statistik", user=STAFF)
    assert "Warga: 3 (2 aktif, 1 memblokir bot, 1 berhenti pengumuman)" in report.text
    assert "• Sibowi: 2 (1 memblokir bot)" in report.text
    assert "1 dijawab FAQ, 1 tidak terjawab" in report.text
    assert f"• {session.code} " in report.text and "0/5 kursi (0%)" in report.text
    [unanswered] = await say(staffed, Kind.COMMAND, "belum_terjawab", user=STAFF)
    assert "1× siapa juara piala dunia tahun lalu" in unanswered.text
