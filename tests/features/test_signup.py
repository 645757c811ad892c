"""Villagers signing up by chat: the schedule, the first-time profile, codes, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auxil.chat import actions, talker
from bot.core.messages import Kind, Reply
from bot.domain.sessions import create_session, get_session
from bot.features.signup import parse_command, phone_number

say = talker(user="7", name="Budi", lang="id")

SOON = datetime.now(UTC) + timedelta(days=5)


async def add_session(app, capacity=2, starts=SOON, title="Sosialisasi migrasi aman"):
    return await create_session(
        app.db,
        title_id=title,
        title_en="Safe migration talk",
        village="Langaleso",
        place="Balai desa",
        starts=starts,
        ends=starts + timedelta(hours=3),
        capacity=capacity,
    )


async def first_signup(app, code: str, user: str = "7") -> list[Reply]:
    """Tap Daftar, then name, village, skip the phone, agree."""
    await say(app, Kind.BUTTON, f"reg:{code}", user)
    await say(app, Kind.TEXT, "Budi Santoso", user)
    await say(app, Kind.BUTTON, "vil:0", user)
    await say(app, Kind.TEXT, "Lewati", user)
    return await say(app, Kind.BUTTON, "consent:yes", user)


async def test_the_schedule_lists_sessions_soonest_first_with_date_place_and_seats(app):
    later = await add_session(app, starts=SOON + timedelta(days=2), title="Hari paspor")
    sooner = await add_session(app, capacity=30)
    [reply] = await say(app, Kind.BUTTON, "sessions")
    assert reply.text.index(sooner.code) < reply.text.index(later.code)
    assert "WITA" in reply.text and "Balai desa, Desa Langaleso" in reply.text
    assert "Kursi tersisa: 30" in reply.text
    assert actions(reply)[:2] == [f"reg:{sooner.code}", f"reg:{later.code}"]
    day = SOON.astimezone(app.settings.timezone)
    weekday = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"][day.weekday()]
    assert f"{weekday}, {day.day} " in reply.text


async def test_first_signup_asks_name_village_phone_consent_then_gives_a_booking_code(app):
    session = await add_session(app)
    [ask_name] = await say(app, Kind.BUTTON, f"reg:{session.code}")
    assert "nama lengkap" in ask_name.text
    [ask_village] = await say(app, Kind.TEXT, "Budi Santoso")
    assert actions(ask_village) == [f"vil:{i}" for i in range(5)] + ["vil:other"]
    [ask_phone] = await say(app, Kind.BUTTON, "vil:other")
    assert "desa" in ask_phone.text.lower()
    [ask_phone] = await say(app, Kind.TEXT, "Desa Kalukubula")
    assert ask_phone.share_contact == ("📱 Kirim nomor HP", "Lewati")
    [bad] = await say(app, Kind.TEXT, "nomor saya rahasia")
    assert "tidak jelas" in bad.text
    noted, consent = await say(app, Kind.TEXT, "0812-3456-7890")
    assert noted.remove_keyboard
    assert "Yang disimpan: nama, desa, dan nomor HP" in consent.text
    assert actions(consent) == ["consent:yes", "consent:no"]
    [done] = await say(app, Kind.BUTTON, "consent:yes")
    assert done.text.startswith("✅ Anda terdaftar di: Sosialisasi migrasi aman")
    person = await app.db.fetchone("SELECT * FROM people WHERE channel_user_id = '7'")
    assert (person["full_name"], person["village"], person["phone"]) == (
        "Budi Santoso",
        "Desa Kalukubula",
        "+6281234567890",
    )
    assert person["consent_at"] and person["flow"] is None


async def test_after_the_first_time_one_tap_signs_up(app):
    first = await add_session(app)
    second = await add_session(app, starts=SOON + timedelta(days=1), title="Hari paspor")
    await first_signup(app, first.code)
    [done] = await say(app, Kind.BUTTON, f"reg:{second.code}")
    assert done.text.startswith("✅ Anda terdaftar di: Hari paspor")
    [again] = await say(app, Kind.BUTTON, f"reg:{second.code}")
    assert "sudah terdaftar" in again.text
    assert (await get_session(app.db, second.code)).confirmed == 1


async def test_full_session_waitlists_and_overlap_is_warned(app):
    full = await add_session(app, capacity=1)
    overlapping = await add_session(app, starts=SOON + timedelta(hours=1), title="Hari paspor")
    await first_signup(app, full.code, user="1")
    [waiting] = await first_signup(app, full.code, user="2")
    assert "daftar tunggu nomor 1" in waiting.text
    [warned] = await say(app, Kind.BUTTON, f"reg:{overlapping.code}", user="2")
    assert "bertabrakan" in warned.text and "Sosialisasi migrasi aman" in warned.text


async def test_daftar_and_batal_in_one_message(app):
    session = await add_session(app)
    await first_signup(app, session.code)
    other = await add_session(app, starts=SOON + timedelta(days=3), title="Hari paspor")
    [done] = await say(app, Kind.TEXT, f"daftar {other.code.lower()}")
    booking = done.text.split("Kode booking Anda: ")[1].split()[0]
    [mine] = await say(app, Kind.BUTTON, "registrations")
    assert booking in mine.text and f"cxl:{booking}" in actions(mine)
    labels = [b.label for b in mine.flat_buttons() if b.action == f"cxl:{booking}"]
    assert labels and labels[0].startswith("❌ Batalkan: Hari paspor, ")  # the session, its day
    [asked] = await say(app, Kind.TEXT, f"BATAL {booking}")  # asked once, nothing gone yet
    assert asked.text.startswith("Yakin batal ikut sesi ini?") and "Hari paspor" in asked.text
    assert "Balai desa" in asked.text and actions(asked)[0] == f"cxl:yes:{booking}"
    [still] = await say(app, Kind.BUTTON, "registrations")
    assert f"cxl:{booking}" in actions(still)
    [cancelled] = await say(app, Kind.BUTTON, f"cxl:yes:{booking}")
    assert "Pendaftaran Anda sudah dibatalkan" in cancelled.text
    assert "Hari paspor" in cancelled.text and "WITA" in cancelled.text
    assert booking in cancelled.text
    [again] = await say(app, Kind.BUTTON, f"cxl:yes:{booking}")  # a second tap
    assert "tidak ada di pendaftaran Anda" in again.text
    [unknown] = await say(app, Kind.TEXT, "BATAL QQQQQQ")
    assert '"QQQQQQ" tidak ada' in unknown.text
    [unknown] = await say(app, Kind.TEXT, "DAFTAR QQQQ")
    assert '"QQQQ" tidak ada' in unknown.text


async def test_declining_consent_keeps_nothing_and_registers_nothing(app):
    session = await add_session(app)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    await say(app, Kind.TEXT, "Budi Santoso")
    await say(app, Kind.BUTTON, "vil:1")
    await say(app, Kind.TEXT, "081234567890")
    [declined] = await say(app, Kind.BUTTON, "consent:no")
    assert "tidak disimpan" in declined.text
    person = await app.db.fetchone("SELECT * FROM people WHERE channel_user_id = '7'")
    assert (person["full_name"], person["village"], person["phone"], person["flow"]) == (None,) * 4
    assert (await get_session(app.db, session.code)).confirmed == 0


async def test_a_menu_command_leaves_a_half_done_signup_and_questions_work_again(app):
    session = await add_session(app)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    [menu] = await say(app, Kind.COMMAND, "menu")
    assert menu.text.startswith("Menu utama")
    [answer] = await say(app, Kind.TEXT, "biaya paspor")
    assert "Rp" in answer.text


async def test_an_invalid_name_is_asked_again(app):
    session = await add_session(app)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    for bad in ["12345", "<b>", "x" * 80]:
        [reply] = await say(app, Kind.TEXT, bad)
        assert "tidak bisa saya pakai" in reply.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0812-3456-7890", "+6281234567890"), ("+62 812 345 678", "+62812345678"), ("12", None)],
)
def test_phone_numbers(text, expected):
    assert phone_number(text) == expected


def test_commands_in_one_message():
    assert parse_command("daftar k7qa") == ("daftar", "K7QA")
    assert parse_command("  BATAL  ab-cd3e ") == ("batal", "ABCD3E")
    assert parse_command("daftar sesi besok dong ya") is None
    assert parse_command("biaya paspor") is None


async def test_the_registrants_file_has_name_village_code_and_waitlist_place_in_words(app):
    import csv
    import io

    from bot.domain.registrations import attendees
    from bot.reports.files import registrants_csv

    session = await add_session(app, capacity=1)
    [done] = await first_signup(app, session.code, user="1")
    booking = done.text.split("Kode booking Anda: ")[1].split()[0]
    await first_signup(app, session.code, user="2")
    people = await attendees(app.db, session.code)
    content = registrants_csv(session, people, "id", app.settings.timezone).decode("utf-8-sig")
    *_, header, first, second = list(csv.reader(io.StringIO(content)))
    assert header == ["No", "Nama", "Desa", "No. HP", "Kode booking", "Status", "Waktu hadir"]
    assert first == ["1", "Budi Santoso", "Langaleso", "", booking, "terdaftar", ""]
    assert second[5] == "daftar tunggu no. 1"


@pytest.mark.parametrize("forged", ["vil:²", "vil:999", "vil:-1", "reg:", "cxl:", "consent:maybe"])
async def test_forged_button_data_gets_a_sensible_reply(app, forged):
    session = await add_session(app)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    await say(app, Kind.TEXT, "Budi Santoso")
    replies = await say(app, Kind.BUTTON, forged)
    assert not any("ada gangguan" in r.text for r in replies)  # not the crash apology


async def test_a_villager_can_back_out_of_the_name_question(app):
    session = await add_session(app)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    [menu] = await say(app, Kind.TEXT, "Batal")
    assert menu.text.startswith("Menu utama")
    person = await app.db.fetchone("SELECT full_name, flow FROM people")
    assert (person["full_name"], person["flow"]) == (None, None)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    [other] = await say(app, Kind.TEXT, f"DAFTAR {session.code}")
    assert "nama lengkap" in other.text  # the command restarts the sign-up, not a name "Daftar"


async def test_what_to_bring_is_in_the_schedule_and_the_confirmation_when_set(app):
    plain = await add_session(app, title="Hari paspor")
    bring = await create_session(
        app.db, title_id="Sosialisasi PMI", title_en="Migrant work talk", village="Pesaku",
        place="Balai desa", starts=SOON + timedelta(days=2),
        ends=SOON + timedelta(days=2, hours=2), capacity=5, description="Bawa KTP dan KK",
    )  # fmt: skip
    *_, schedule = await say(app, Kind.BUTTON, "sessions")
    assert schedule.text.count("ℹ️ Bawa KTP dan KK") == 1  # only the session that has one
    [done] = await first_signup(app, bring.code)
    assert "ℹ️ Bawa KTP dan KK" in done.text
    [other] = await say(app, Kind.TEXT, f"DAFTAR {plain.code}")
    assert "ℹ️" not in other.text  # no empty line where there is nothing to bring
