"""Announcements for villagers: they are told once that announcements come, stop and restart
them, set their village, and get each one naming its office."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auxil.chat import actions, person_row, talker
from auxil.sessions import a_session
from bot.core.messages import Kind
from bot.domain import broadcasts
from bot.domain.outbox import Due

say = talker(channel="telegram", name="Budi")


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
    assert (await person_row(app))["subscribed"] == 0
    [started] = await say(app, Kind.TEXT, "mulai")
    assert "akan menerima pengumuman lagi" in started.text
    assert (await person_row(app))["subscribed"] == 1


async def test_english_speakers_use_stop_and_start(app):
    await say(app, Kind.COMMAND, "start", language_hint="en")
    [stopped] = await say(app, Kind.TEXT, "STOP")
    assert "will not receive announcements" in stopped.text
    [started] = await say(app, Kind.TEXT, "start")
    assert "receive announcements again" in started.text


async def test_berhenti_in_the_middle_of_a_sign_up_also_leaves_it(app):
    session = await a_session(app.db)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    assert (await person_row(app))["flow"]
    await say(app, Kind.TEXT, "berhenti")
    row = await person_row(app)
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
    assert (await person_row(app))["village"] == "Desa Tondo"
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


async def test_staff_get_villager_announcements_only_after_they_ask_for_them(staffed):
    from auxil.chat import STAFF

    await say(staffed, Kind.COMMAND, "start", user=STAFF)
    row = await staffed.db.fetchone("SELECT staff FROM people WHERE channel_user_id = ?", (STAFF,))
    assert row["staff"] == 1  # marked as staff when they wrote
    [screen] = await say(staffed, Kind.BUTTON, "subs", user=STAFF)
    assert "Anda tidak menerima pengumuman" in screen.text and "sub:on" in actions(screen)
    everyone = broadcasts.Audience("all")
    assert await broadcasts.count_recipients(staffed.db, everyone, ("telegram",)) == 0
    [started] = await say(staffed, Kind.TEXT, "MULAI", user=STAFF)
    assert "akan menerima pengumuman" in started.text
    [screen] = await say(staffed, Kind.BUTTON, "subs", user=STAFF)
    assert "Anda menerima pengumuman" in screen.text and "sub:off" in actions(screen)
    assert await broadcasts.count_recipients(staffed.db, everyone, ("telegram",)) == 1
