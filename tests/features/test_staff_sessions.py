"""Staff tools in the chat: guided session creation with a confirm step, lists, CSV, check-in,
reschedule and cancel; invisible to villagers."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import openpyxl
import pytest

from auxil.chat import STAFF, actions, talker
from bot.core.messages import Kind, Reply
from bot.domain import sessions
from bot.domain.people import touch_person, update_profile
from bot.domain.registrations import cancel_registration, register
from bot.domain.sessions import get_session, upcoming_sessions

say = talker(user=STAFF, name="Petugas")


def local(app, days: int, hour: int) -> str:
    day = datetime.now(app.settings.timezone) + timedelta(days=days)
    return day.strftime(f"%Y-%m-%d {hour:02d}:00")


async def draft(app, capacity: str) -> Reply:
    """Go through /sesi_baru up to the seats question; the reply to ``capacity``."""
    await say(app, Kind.COMMAND, "sesi_baru")
    await say(app, Kind.TEXT, "Sosialisasi migrasi aman")
    await say(app, Kind.BUTTON, "st:vil:0")
    await say(app, Kind.TEXT, "Balai desa")
    await say(app, Kind.TEXT, local(app, 4, 9))
    await say(app, Kind.TEXT, local(app, 4, 12))
    [reply] = await say(app, Kind.TEXT, capacity)
    return reply


async def create(app, capacity: str = "2") -> str:
    confirm = await draft(app, capacity)
    assert actions(confirm) == ["st:save", "st:discard"]
    [saved] = await say(app, Kind.BUTTON, "st:save")
    return saved.text.split("Kode sesi: ")[1].split()[0]


async def test_staff_create_a_session_step_by_step_ending_in_a_confirm(staffed):
    [ask] = await say(staffed, Kind.COMMAND, "sesi_baru")
    assert "judul" in ask.text
    await say(staffed, Kind.TEXT, "Hari layanan paspor")
    await say(staffed, Kind.BUTTON, "st:vil:other")
    await say(staffed, Kind.TEXT, "Kalukubula")
    [ask_start] = await say(staffed, Kind.TEXT, "Kantor desa")
    assert "WITA" in ask_start.text
    [again] = await say(staffed, Kind.TEXT, "besok pagi")
    assert "tidak bisa dibaca" in again.text
    await say(staffed, Kind.TEXT, local(staffed, 2, 9))
    await say(staffed, Kind.TEXT, local(staffed, 2, 15))
    [again] = await say(staffed, Kind.TEXT, "0")
    assert "1 atau lebih" in again.text
    [confirm] = await say(staffed, Kind.TEXT, "40")
    assert "Hari layanan paspor" in confirm.text and "Kursi: 40" in confirm.text
    assert await upcoming_sessions(staffed.db) == []  # nothing stored before the confirm
    [saved] = await say(staffed, Kind.BUTTON, "st:save")
    code = saved.text.split("Kode sesi: ")[1].split()[0]
    session = await get_session(staffed.db, code)
    assert (session.village, session.place, session.capacity) == ("Kalukubula", "Kantor desa", 40)


async def test_an_end_before_the_start_is_caught_at_the_confirm(staffed):
    await say(staffed, Kind.COMMAND, "sesi_baru")
    for text in ["Judul", "Tempat"]:
        if text == "Tempat":
            await say(staffed, Kind.BUTTON, "st:vil:1")
        await say(staffed, Kind.TEXT, text)
    await say(staffed, Kind.TEXT, local(staffed, 3, 12))
    await say(staffed, Kind.TEXT, local(staffed, 3, 9))
    await say(staffed, Kind.TEXT, "10")
    [problem] = await say(staffed, Kind.BUTTON, "st:save")
    assert "harus sesudah waktu mulai" in problem.text
    assert await upcoming_sessions(staffed.db) == []


async def test_list_attendees_csv_check_in_reschedule_and_cancel(staffed):
    code = await create(staffed)
    await say(staffed, Kind.BUTTON, f"reg:{code}", user="1")
    await say(staffed, Kind.TEXT, "Ani Lestari", user="1")
    await say(staffed, Kind.BUTTON, "vil:2", user="1")
    await say(staffed, Kind.TEXT, "Lewati", user="1")
    [done] = await say(staffed, Kind.BUTTON, "consent:yes", user="1")
    booking = done.text.split("Kode booking Anda: ")[1].split()[0]

    [listing] = await say(staffed, Kind.COMMAND, "sesi")
    assert code in listing.text and "1/2 kursi terisi, 0 menunggu" in listing.text
    assert f"st:att:{code}" in actions(listing)

    [people] = await say(staffed, Kind.COMMAND, f"peserta {code.lower()}")
    name, content = people.document
    assert name.startswith(f"peserta-{code}-") and name.endswith(".xlsx")  # the console's file
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert ("Sesi", "Sosialisasi migrasi aman") in [r[:2] for r in rows]
    assert rows[-1][1:6] == ("Ani Lestari", "Pesaku", None, booking, "terdaftar"), rows[-1]

    [checked] = await say(staffed, Kind.COMMAND, f"hadir {booking}")
    assert "dicatat hadir: Ani Lestari" in checked.text
    [twice] = await say(staffed, Kind.COMMAND, f"hadir {booking}")
    assert "Ani Lestari" in twice.text and "sudah hadir sejak pukul" in twice.text  # in words

    await say(staffed, Kind.COMMAND, f"ubah_sesi {code}")
    await say(staffed, Kind.TEXT, local(staffed, 6, 13))
    [confirm] = await say(staffed, Kind.TEXT, local(staffed, 6, 16))
    assert actions(confirm) == ["st:save", "st:discard"]
    [moved] = await say(staffed, Kind.BUTTON, "st:save")
    assert "diubah" in moved.text
    [ask] = await say(staffed, Kind.COMMAND, f"batal_sesi {code}")
    assert actions(ask) == [f"st:cancel:{code}", "st:discard"]
    [cancelled] = await say(staffed, Kind.BUTTON, f"st:cancel:{code}")
    assert "dibatalkan" in cancelled.text
    assert (await get_session(staffed.db, code)).status == "cancelled"


async def test_villagers_cannot_use_staff_commands_or_buttons(staffed):
    code = await create(staffed)
    for command in ["sesi", "sesi_baru", f"peserta {code}", f"batal_sesi {code}"]:
        [reply] = await say(staffed, Kind.COMMAND, command, user="99")
        assert "tidak saya kenal" in reply.text  # the same as any unknown command
    [reply] = await say(staffed, Kind.BUTTON, f"st:cancel:{code}", user="99")
    assert "tidak berlaku" in reply.text
    assert (await get_session(staffed.db, code)).status == "scheduled"


async def test_unknown_codes_are_named(staffed):
    [reply] = await say(staffed, Kind.COMMAND, "peserta QQQQ")
    assert '"QQQQ"' in reply.text
    [reply] = await say(staffed, Kind.COMMAND, "hadir ZZZZZZ")
    assert '"ZZZZZZ"' in reply.text
    [reply] = await say(staffed, Kind.COMMAND, "batal_sesi QQQQ")
    assert '"QQQQ"' in reply.text
    [reply] = await say(staffed, Kind.COMMAND, "peserta")
    assert "/sesi_baru" in reply.text  # no code: the list of staff commands


@pytest.mark.parametrize("capacity", ["²", "99999999999999999999999999", "-3"])
async def test_odd_capacities_are_asked_again_not_crashed_on(staffed, capacity):
    reply = await draft(staffed, capacity)
    assert "1 atau lebih" in reply.text


async def test_forged_staff_buttons_do_not_crash(staffed):
    for forged in ["st:cancel:", "st:att:", "st:vil:²", "st:save", "st:nothing"]:
        replies = await say(staffed, Kind.BUTTON, forged)
        assert not any("ada gangguan" in r.text for r in replies)


@pytest.mark.parametrize("word", ["batal", "menu", "cancel", "keluar"])
async def test_an_exit_word_where_a_button_is_asked_drops_the_draft(staffed, word):
    """As before the redesign: typed at a step that asks for a button (the village, the
    confirmation), these words leave the draft for the main menu."""
    await draft(staffed, "3")  # at the confirmation
    [menu] = await say(staffed, Kind.TEXT, word)
    assert menu.text.startswith("Menu utama")
    row = await staffed.db.fetchone("SELECT flow FROM people WHERE channel_user_id = ?", (STAFF,))
    assert row["flow"] is None
    assert not await upcoming_sessions(staffed.db)


async def test_a_village_typed_instead_of_pressed_is_taken(staffed):
    """Before, a village typed at that step sent the staff member into a villager's sign-up
    (the next question was their phone number)."""
    await say(staffed, Kind.COMMAND, "sesi_baru")
    await say(staffed, Kind.TEXT, "Sosialisasi migrasi aman")
    [place] = await say(staffed, Kind.TEXT, "sibowi")
    assert "tempat" in place.text.lower()
    await say(staffed, Kind.TEXT, "Balai desa")
    await say(staffed, Kind.TEXT, local(staffed, 4, 9))
    await say(staffed, Kind.TEXT, local(staffed, 4, 12))
    [confirm] = await say(staffed, Kind.TEXT, "5")
    assert "Sibowi" in confirm.text  # written as configured
    logged = await staffed.db.fetchall("SELECT text FROM messages WHERE text LIKE '%ibowi%'")
    assert not logged  # a village typed at that step stays out of the message log, as before


async def test_a_button_with_an_empty_code_gets_the_help_and_keeps_the_draft(staffed):
    await say(staffed, Kind.COMMAND, "sesi_baru")
    await say(staffed, Kind.TEXT, "Sosialisasi migrasi aman")
    for payload in ("st:att:--", "st:ask:--", "st:cancel:--"):
        [reply] = await say(staffed, Kind.BUTTON, payload)
        assert "/sesi_baru" in reply.text  # the staff help lists the commands
        row = await staffed.db.fetchone(
            "SELECT flow FROM people WHERE channel_user_id = ?", (STAFF,)
        )
        assert '"step": "village"' in row["flow"], payload
    [again] = await say(staffed, Kind.TEXT, "12345")  # a village has letters
    assert "desa" in again.text.lower() and actions(again)[0] == "st:vil:0"


async def test_bantuan_lists_the_staff_commands_for_staff_only(staffed):
    [staff_help] = await say(staffed, Kind.COMMAND, "bantuan")
    [villager_help] = await say(staffed, Kind.COMMAND, "bantuan", user="7001")
    assert "Cara memakai bot ini" in staff_help.text and "/sesi_baru" in staff_help.text
    assert "/hadir KODE-BOOKING" in staff_help.text
    assert "Cara memakai bot ini" in villager_help.text and "/sesi" not in villager_help.text


async def test_dates_typed_the_indonesian_way_and_an_end_given_as_a_time_alone(staffed):
    day = datetime.now(staffed.settings.timezone) + timedelta(days=5)
    await say(staffed, Kind.COMMAND, "sesi_baru")
    await say(staffed, Kind.TEXT, "Sosialisasi")
    await say(staffed, Kind.BUTTON, "st:vil:0")
    [ask_start] = await say(staffed, Kind.TEXT, "Balai desa")
    assert f"/{day.year} 09.00" in ask_start.text  # the example is written the same way
    await say(staffed, Kind.TEXT, f"{day.day} Desember {day.year} jam 9" if day.month == 12
              else day.strftime("%d/%m/%Y 09.00"))  # fmt: skip
    await say(staffed, Kind.TEXT, "11.30")  # the end: on the start's day
    [confirm] = await say(staffed, Kind.TEXT, "20")
    assert "09.00–11.30 WITA" in confirm.text


async def test_a_reschedule_keeps_the_length_with_one_tap(staffed):
    code = await create(staffed)  # 09.00-12.00
    await say(staffed, Kind.COMMAND, f"ubah_sesi {code}")
    later = datetime.now(staffed.settings.timezone) + timedelta(days=6)
    [ask_end] = await say(staffed, Kind.TEXT, later.strftime("%d/%m/%Y 13.30"))
    assert [b.label for row in ask_end.buttons for b in row] == ["⏱ Selesai 16.30 (lama sama)"]
    [confirm] = await say(staffed, Kind.BUTTON, actions(ask_end)[0])
    assert "13.30–16.30 WITA" in confirm.text
    await say(staffed, Kind.BUTTON, "st:save")
    session = await get_session(staffed.db, code)
    assert session.ends_at - session.starts_at == timedelta(hours=3)


async def test_a_second_check_in_a_waiting_one_and_a_cancelled_one_are_said_in_words(staffed):
    code = await create(staffed, capacity="1")
    bookings = []
    for user in ("1", "2", "3"):
        person = await touch_person(staffed.db, "telegram", user, f"Warga {user}", "id")
        await update_profile(staffed.db, person.id, full_name=f"Warga {user}", consent_at="x")
        bookings.append((await register(staffed.db, code, person.id)).booking_code)
    await cancel_registration(staffed.db, bookings[2], person.id)
    [cancelled] = await say(staffed, Kind.COMMAND, f"hadir {bookings[2]}")
    assert f"Booking {bookings[2]} (Warga 3) sudah dibatalkan" in cancelled.text
    [waiting] = await say(staffed, Kind.COMMAND, f"hadir {bookings[1]}")
    assert "Warga 2" in waiting.text and "masih di daftar tunggu (no. 1)" in waiting.text
    assert f"/hadir {bookings[1]} masuk" in waiting.text  # how to let them in anyway
    [admitted] = await say(staffed, Kind.COMMAND, f"hadir {bookings[1]} masuk")
    assert "dicatat hadir: Warga 2" in admitted.text
    [again] = await say(staffed, Kind.COMMAND, f"hadir {bookings[1]}")
    assert "sudah hadir sejak pukul" in again.text and "attended" not in again.text


async def test_check_in_by_a_code_typed_with_a_space_and_never_into_a_cancelled_session(staffed):
    code = await create(staffed, capacity="3")
    person = await touch_person(staffed.db, "telegram", "1", "Warga 1", "id")
    await update_profile(staffed.db, person.id, full_name="Warga 1", consent_at="x")
    booking = (await register(staffed.db, code, person.id)).booking_code
    other = await touch_person(staffed.db, "telegram", "2", "Warga 2", "id")
    cancelled = (await register(staffed.db, code, other.id)).booking_code
    await cancel_registration(staffed.db, cancelled, other.id)
    [people] = await say(staffed, Kind.COMMAND, f"peserta {code}")
    sheet = openpyxl.load_workbook(io.BytesIO(people.document[1])).active
    names = [row[1].value for row in sheet.iter_rows()]
    assert "Warga 1" in names and "Warga 2" not in names  # as the console's file: no cancelled
    [checked] = await say(staffed, Kind.COMMAND, f"hadir {booking[:3]} {booking[3:].lower()}")
    assert "dicatat hadir: Warga 1" in checked.text
    await sessions.cancel_session(staffed.db, code)
    third = await touch_person(staffed.db, "telegram", "3", "Warga 3", "id")
    await staffed.db.write_one(  # a booking that was confirmed when the session was called off
        "INSERT INTO registrations (session_id, person_id, booking_code, status, created_at,"
        " updated_at) SELECT id, ?, 'QQQ444', 'confirmed', 'x', 'x' FROM sessions",
        (third.id,),
    )
    [refused] = await say(staffed, Kind.COMMAND, "hadir QQQ444")
    assert "Sesi untuk booking QQQ444 (Warga 3) sudah dibatalkan" in refused.text


async def test_no_same_length_button_when_the_end_would_fall_on_the_next_day(staffed):
    code = await create(staffed)  # 09.00-12.00
    await say(staffed, Kind.COMMAND, f"ubah_sesi {code}")
    late = datetime.now(staffed.settings.timezone) + timedelta(days=6)
    [ask_end] = await say(staffed, Kind.TEXT, late.strftime("%d/%m/%Y 22.30"))
    assert ask_end.buttons == ()  # 01.30 the next day: the end is typed, not guessed
