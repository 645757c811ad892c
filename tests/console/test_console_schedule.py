"""Sessions from the console: created with dates typed as people write them, rescheduled (the
end moves with the start; everyone registered is told through the outbox, as from the chat),
cancelled after a confirmation (everyone told); bad input is said per field, in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, client, sign_in
from auxil.sessions import a_session
from bot.console.web import build
from bot.domain import accounts
from bot.domain.people import touch_person, update_profile
from bot.domain.registrations import register
from bot.domain.sessions import cancel_session, get_session
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
async def app(db):
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    return build(db, WITA, session_hours=12)


def next_year() -> int:
    return datetime.now(WITA).year + 1


FORM = {
    "title_id": "Sosialisasi paspor", "title_en": "", "village": "Pesaku",
    "place": "Balai desa", "start": "9", "end": "12.00", "capacity": "30",
    "description": "Bawa KTP dan KK",
}  # fmt: skip


@pytest.mark.parametrize("typed", ["14/12/{y}", "14 Desember {y}", "{y}-12-14"])
async def test_a_session_is_created_with_the_date_as_people_type_it(app, db, typed):
    async with client(app) as browser:
        await sign_in(browser, "budi")
        made = await browser.post("/sesi/baru", data={**FORM, "day": typed.format(y=next_year())})
        assert made.status_code == 303
        code = made.headers["location"].rsplit("/", 1)[1]
        page = await browser.get(made.headers["location"])
    session = await get_session(db, code)
    assert session.starts_at == datetime(next_year(), 12, 14, 9, tzinfo=WITA)
    assert session.ends_at == datetime(next_year(), 12, 14, 12, tzinfo=WITA)
    assert session.title == {"id": "Sosialisasi paspor", "en": "Sosialisasi paspor"}
    assert session.description == "Bawa KTP dan KK" and session.capacity == 30
    assert "Sosialisasi paspor" in page.text and "WITA" in page.text
    [line] = await db.fetchall("SELECT actor, detail FROM audit_log WHERE action LIKE '%add'")
    assert tuple(line) == ("console:budi", code)


async def test_bad_input_is_said_per_field_and_nothing_is_stored(app, db):
    async with client(app) as browser:
        await sign_in(browser, "budi")
        answer = await browser.post(
            "/sesi/baru",
            data={**FORM, "title_id": " ", "day": "besok", "end": "jam", "capacity": "0"},
        )
        backwards = await browser.post(
            "/sesi/baru", data={**FORM, "day": f"14/12/{next_year()}", "start": "13", "end": "9"}
        )
    assert answer.status_code == 400
    for said in ("Wajib diisi.", "Tanggal tidak terbaca.", "Jam tidak terbaca.", "jumlah kursi"):
        assert said in answer.text
    assert 'value="Balai desa"' in answer.text  # what was typed stays in the form
    assert "Jam selesai harus sesudah jam mulai." in backwards.text
    assert not await db.fetchall("SELECT 1 FROM sessions")


async def villager_booked(db, code: str) -> None:
    person = await touch_person(db, "telegram", "700", "Siti", "id")
    await update_profile(db, person.id, full_name="Siti", village="Pesaku", consent_at="x")
    await register(db, code, person.id)


async def test_rescheduling_previews_who_is_told_then_moves_the_end_and_tells_them(app, db):
    day = (datetime.now(WITA) + timedelta(days=5)).date()
    starts = datetime.combine(day, datetime.min.time(), tzinfo=WITA).replace(hour=9)
    session = await a_session(db, starts=starts, hours=3)
    await villager_booked(db, session.code)
    new_day = (starts + timedelta(days=2)).astimezone(WITA)
    old_end = (starts + timedelta(hours=3)).astimezone(WITA).strftime("%H.%M")
    data = {**FORM, "title_id": session.title["id"], "village": session.village,
            "place": session.place, "capacity": "5", "day": new_day.strftime("%d/%m/%Y"),
            "start": "08.00", "end": old_end}  # fmt: skip
    page = f"/sesi/{session.code}/ubah"
    async with client(app) as browser:
        await sign_in(browser, "budi")
        form = await browser.get(page)
        assert "1 orang (terdaftar dan menunggu) diberi tahu" in form.text  # who will be told
        preview = await browser.post(page, data=data)
        back = await browser.post(page, data={**data, "step": "back"})
        unchanged = await get_session(db, session.code)
        confirmed = await browser.post(page, data={**data, "step": "confirm"})
    assert preview.status_code == 200
    assert "1 orang akan diberi tahu" in preview.text and "Siti · Pesaku" in preview.text
    assert f"{new_day.day} " in preview.text and "08.00–11.00 WITA" in preview.text  # new end
    assert back.status_code == 200 and 'value="08.00"' in back.text  # the form as typed
    assert unchanged.starts_at == session.starts_at  # nothing changed before the confirm
    assert confirmed.status_code == 303
    moved = await get_session(db, session.code)
    assert moved.starts_at.astimezone(WITA).strftime("%d %H.%M") == new_day.strftime("%d 08.00")
    assert moved.ends_at - moved.starts_at == timedelta(hours=3)  # the end moved with it
    notices = await db.fetchall("SELECT 1 FROM outbox WHERE text_key = 'notice_session_changed'")
    assert len(notices) == 1


async def test_a_new_time_with_nobody_registered_is_saved_without_a_preview(app, db):
    session = await a_session(db, hours=2)
    later = (session.starts_at + timedelta(days=1)).astimezone(WITA)
    data = {**FORM, "title_id": "Sosialisasi", "village": "Pesaku", "place": "Balai",
            "capacity": "5", "day": later.strftime("%Y-%m-%d"), "start": "14.00",
            "end": "13.00"}  # fmt: skip
    async with client(app) as browser:
        await sign_in(browser, "budi")
        refused = await browser.post(f"/sesi/{session.code}/ubah", data=data)
        saved = await browser.post(f"/sesi/{session.code}/ubah", data={**data, "end": "16.30"})
    assert refused.status_code == 400 and "Jam selesai harus sesudah jam mulai" in refused.text
    assert saved.status_code == 303
    moved = await get_session(db, session.code)
    assert moved.ends_at.astimezone(WITA).strftime("%H.%M") == "16.30"


async def test_cancelling_asks_first_then_tells_everyone(app, db):
    session = await a_session(db)
    await villager_booked(db, session.code)
    async with client(app) as browser:
        await sign_in(browser, "budi")
        asked = await browser.get(f"/sesi/{session.code}/batal")
        assert "Yakin membatalkan sesi ini? 1 orang" in asked.text
        assert (await get_session(db, session.code)).status == "scheduled"  # not yet
        done = await browser.post(f"/sesi/{session.code}/batal")
        listing = await browser.get("/sesi")
    assert done.status_code == 303
    assert (await get_session(db, session.code)).status == "cancelled"
    assert "dibatalkan" in listing.text
    notices = await db.fetchall("SELECT 1 FROM outbox WHERE text_key = 'notice_session_cancelled'")
    assert len(notices) == 1


async def test_an_end_pushed_past_midnight_or_a_cancelled_session_is_refused_in_words(app, db):
    day = (datetime.now(WITA) + timedelta(days=5)).date()
    evening = datetime.combine(day, datetime.min.time(), tzinfo=WITA).replace(hour=20)
    session = await a_session(db, starts=evening, hours=3)  # 20.00-23.00
    data = {**FORM, "title_id": "Sosialisasi", "village": "Pesaku", "place": "Balai",
            "capacity": "5", "day": day.strftime("%Y-%m-%d"), "start": "22.00",
            "end": "23.00"}  # fmt: skip
    async with client(app) as browser:
        await sign_in(browser, "budi")
        late = await browser.post(f"/sesi/{session.code}/ubah", data=data)
        await cancel_session(db, session.code)
        await villager_booked_anyway(db, session.id)
        gone = await browser.post(f"/sesi/{session.code}/ubah", data={**data, "start": "19.00"})
    assert late.status_code == 400 and "jatuh di hari berikutnya" in late.text
    assert (await get_session(db, session.code)).starts_at == session.starts_at
    assert gone.status_code == 400 and "sudah dibatalkan" in gone.text
    assert "akan diberi tahu" not in gone.text  # no preview promising to tell anyone


async def villager_booked_anyway(db, session_id: int) -> None:
    person = await touch_person(db, "telegram", "701", "Ani", "id")
    await db.write_one(
        "INSERT INTO registrations (session_id, person_id, booking_code, status, created_at,"
        " updated_at) VALUES (?, ?, 'QQQ777', 'confirmed', 'x', 'x')",
        (session_id, person.id),
    )
