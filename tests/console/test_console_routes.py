"""The staff console's pages and permissions, through the real ASGI app on a real SQLite
file: each role, signed out, a disabled account, an expired session, a cross-site POST, too
many wrong passwords. (The browser tests drive the same pages in Chromium.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, client, sign_in
from auxil.sessions import a_session
from bot.console.security import COOKIE, MAX_PER_ACCOUNT, token_digest
from bot.console.web import build
from bot.domain import accounts
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
async def console(db):
    await accounts.add_account(db, "rina.admin", "admin", hash_password(PASSWORD))
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    return build(db, WITA, session_hours=12)


async def test_signed_out_every_page_leads_to_the_sign_in_page(console):
    async with client(console) as browser:
        for path in ("/", "/sesi", "/akun"):
            answer = await browser.get(path, follow_redirects=True)
            assert answer.status_code == 200 and 'name="password"' in answer.text, path
        assert (await browser.get("/sesi")).headers["location"] == "/masuk?next=/sesi"


async def test_signing_in_sets_a_safe_cookie_and_goes_where_asked(console):
    async with client(console) as browser:
        answer = await browser.post(
            "/masuk?next=/akun", data={"name": "rina.admin", "password": PASSWORD}
        )
    assert answer.status_code == 303 and answer.headers["location"] == "/akun"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    async with client(console, **{"X-Forwarded-Proto": "https"}) as browser:
        answer = await browser.post("/masuk", data={"name": "budi", "password": PASSWORD})
    assert "secure" in answer.headers["set-cookie"].lower()  # served over https: Secure


async def test_a_wrong_password_or_name_says_so_in_words(console):
    async with client(console) as browser:
        wrong = await browser.post("/masuk", data={"name": "budi", "password": "salah sekali"})
        nobody = await browser.post("/masuk", data={"name": "siapa", "password": PASSWORD})
    for answer in (wrong, nobody):
        assert answer.status_code == 401
        assert "Nama akun atau kata sandi salah." in answer.text
        assert COOKIE not in answer.headers.get("set-cookie", "")


async def test_an_officer_sees_sessions_but_not_the_accounts(console, db):
    await a_session(db, "Sosialisasi paspor", "Passport talk")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        listing = await browser.get("/sesi")
        refused = await browser.get("/akun")
    assert listing.status_code == 200 and "Sosialisasi paspor" in listing.text
    assert "WITA" in listing.text and "0/" in listing.text  # when, and the seats
    assert refused.status_code == 403 and "hanya untuk admin" in refused.text
    assert 'href="/akun"' not in listing.text  # not offered either


async def test_an_admin_sees_the_accounts(console):
    async with client(console) as browser:
        await sign_in(browser, "rina.admin")
        page = await browser.get("/akun")
    assert page.status_code == 200 and "budi" in page.text and "petugas" in page.text


async def test_a_disabled_account_is_signed_out_at_once_and_cannot_sign_in(console, db):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        assert (await browser.get("/sesi")).status_code == 200
        await accounts.disable(db, "budi")
        assert (await browser.get("/sesi")).status_code == 303
        again = await browser.post("/masuk", data={"name": "budi", "password": PASSWORD})
    assert again.status_code == 401


async def test_an_expired_session_asks_to_sign_in_again(console, db):
    [budi] = [a for a in await accounts.accounts(db) if a.name == "budi"]
    await accounts.start_session(
        db, budi.id, token_digest("old-token"), datetime.now(UTC) - timedelta(minutes=1)
    )
    async with client(console) as browser:
        browser.cookies.set(COOKIE, "old-token")
        assert (await browser.get("/sesi")).status_code == 303


async def test_signing_out_ends_the_session_and_a_new_sign_in_gets_a_new_token(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        first = browser.cookies[COOKIE]
        await browser.post("/masuk", data={"name": "budi", "password": PASSWORD})
        assert browser.cookies[COOKIE] != first
        token = browser.cookies[COOKIE]
        await browser.post("/keluar")
    async with client(console) as stranger:  # someone who copied the cookie before
        stranger.cookies.set(COOKIE, token)
        assert (await stranger.get("/sesi")).status_code == 303


async def test_a_post_from_another_site_is_refused(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        for headers in (
            {"Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "null"},
        ):
            answer = await browser.post("/keluar", headers=headers)
            assert answer.status_code == 403, headers
        assert (await browser.get("/sesi")).status_code == 200  # still signed in
        same = await browser.post("/keluar", headers={"Origin": "http://console.test"})
    assert same.status_code == 303


async def test_too_many_wrong_passwords_make_the_account_wait(console):
    async with client(console) as browser:
        for _ in range(MAX_PER_ACCOUNT):
            await browser.post("/masuk", data={"name": "budi", "password": "salah sekali"})
        blocked = await browser.post("/masuk", data={"name": "budi", "password": PASSWORD})
        other = await browser.post("/masuk", data={"name": "rina.admin", "password": PASSWORD})
    assert blocked.status_code == 429 and "menit" in blocked.text
    assert other.status_code == 303  # another account is not punished for it


async def test_pages_switch_to_english_and_carry_the_security_headers(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        await browser.post("/bahasa", data={"lang": "en", "back": "/sesi"})
        page = await browser.get("/sesi")
    assert "Upcoming sessions" in page.text and '<html lang="en">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
