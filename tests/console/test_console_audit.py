"""The audit log page: admins only; who did what and when, filtered, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, client, sign_in
from bot.console.web import build
from bot.domain import accounts, audit
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
async def console(db):
    await accounts.add_account(db, "rina", "admin", hash_password(PASSWORD))
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    return build(db, WITA, session_hours=12)


async def test_admins_find_who_did_what_and_officers_cannot_look(console, db):
    await audit.record(db, "cli:root", "sessions_add", "code=K7QA title=Sosialisasi")
    await audit.record(db, "Ibu Sari (telegram:777)", "officer_reply", "#T12")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="milliseconds")
    await db.write_one("UPDATE audit_log SET at = ? WHERE action = 'sessions_add'", (two_days_ago,))
    today = datetime.now(WITA).strftime("%Y-%m-%d")
    async with client(console) as admin, client(console) as officer:
        await sign_in(admin, "rina")
        await sign_in(officer, "budi")
        everything = await admin.get("/audit")
        by_who = await admin.get("/audit", params={"siapa": "sari"})
        by_what = await admin.get("/audit", params={"apa": "sessions_add"})
        by_day = await admin.get("/audit", params={"dari": today, "sampai": today})
        by_words = await admin.get("/audit", params={"isi": "k7qa"})
        refused = await officer.get("/audit")
    rows = lambda page: page.text.split("<tbody>")[1] if "<tbody>" in page.text else ""  # noqa: E731
    assert "officer_reply" in rows(everything) and "sessions_add" in rows(everything)
    assert "console_sign_in" in rows(everything)  # the sign-ins just now
    assert "#T12" in rows(by_who) and "K7QA" not in rows(by_who)
    assert "K7QA" in rows(by_what) and "#T12" not in rows(by_what)
    assert "#T12" in rows(by_day) and "K7QA" not in rows(by_day)  # two days ago: not today
    assert "K7QA" in rows(by_words) and "#T12" not in rows(by_words)
    assert refused.status_code == 403


async def test_a_long_log_is_read_a_page_at_a_time(console, db):
    for n in range(150):
        await audit.record(db, "cli:root", "broadcast_send", f"number {n:03d}")
    async with client(console) as admin:
        await sign_in(admin, "rina")
        first = await admin.get("/audit", params={"apa": "broadcast_send"})
        link = first.text.split('<a href="/audit?')[1].split('"')[0].replace("&amp;", "&")
        second = await admin.get(f"/audit?{link}")
    assert "number 149" in first.text and "number 050" in first.text
    assert "number 049" not in first.text
    assert "number 049" in second.text and "number 000" in second.text
    assert "number 050" not in second.text and "Lebih lama" not in second.text


async def test_odd_filters_are_no_filter_rather_than_an_error(console, db):
    await audit.record(db, "cli:root", "backup", "/var/backups")
    async with client(console) as admin:
        await sign_in(admin, "rina")
        far = await admin.get("/audit", params={"dari": "0001-01-01", "sampai": "9999-12-31"})
        odd = await admin.get("/audit", params={"sebelum": "²"})
    assert far.status_code == 200 and "/var/backups" in far.text
    assert odd.status_code == 200 and "/var/backups" in odd.text
