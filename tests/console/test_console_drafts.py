"""What an officer wrote survives a sign-in that ran out while they wrote it: the form sent
then is not saved, the sign-in page carries it, and once signed in again it is shown to check
and send again; nothing is saved without that second press."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, answers_queued, asks, client, sign_in
from bot.console.web import build
from bot.domain import accounts
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")
ANSWER = "Itu tidak resmi.\nHubungi BP3MI di 0451-421234 & jangan bayar dulu."


@pytest.fixture
async def console(db):
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    return build(db, WITA, session_hours=12)


async def run_out(db) -> None:
    """Every sign-in runs out, as one does while an officer takes their time."""
    await db.write_one("UPDATE console_sessions SET expires_at = '2000-01-01T00:00:00+00:00'")


def hidden_fields(page: str) -> list[tuple[str, str]]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return [(name, html.unescape(value)) for name, value in found]


async def test_an_answer_written_while_the_sign_in_ran_out_is_kept_and_sent_again(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Lowongan ke Malaysia bayar 10 juta, resmi?")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        await run_out(db)
        late = await browser.post(f"/tanya/{asked}/jawab", data={"answer": ANSWER})
        assert await answers_queued(db) == []  # not saved: the sign-in had run out
        kept = hidden_fields(late.text)
        again = await browser.post("/masuk", data={"name": "budi", "password": PASSWORD,
                                                   **dict(kept)})  # fmt: skip
        assert await answers_queued(db) == []  # still not: it is shown to check first
        boxes = re.findall(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', again.text)
        form = [*hidden_fields(again.text), *((n, html.unescape(v)) for n, v in boxes)]
        resent = await browser.post(f"/tanya/{asked}/jawab", data=dict(form))
    assert late.status_code == 401 and "yang Anda tulis tidak hilang" in late.text
    assert ("keep.answer", ANSWER) in kept and ("keep_action", f"/tanya/{asked}/jawab") in kept
    assert again.status_code == 200 and "Kirim lagi yang Anda tulis" in again.text
    assert f'action="/tanya/{asked}/jawab"' in again.text
    assert html.escape(ANSWER, quote=False) in again.text  # in a box, to check and change
    assert "Jawaban untuk warga" in again.text
    assert resent.status_code == 303
    [queued] = await answers_queued(db)
    assert "0451-421234" in queued["answer"]


async def test_a_sign_in_page_sends_nobody_to_another_site(console):
    async with client(console) as browser:
        for target in (
            "//evil.example/",
            "/\\evil.example/",
            "https://evil.example/",
        ):
            answer = await browser.post(
                f"/masuk?next={target}", data={"name": "budi", "password": PASSWORD}
            )
            assert answer.headers["location"] == "/sesi", target
        kept = [
            await browser.post(
                "/masuk", data={"name": "budi", "password": PASSWORD, "keep_action": action}
            )
            for action in ("//evil/x", "/\t/evil/x", "/\\evil/x")  # a browser drops the tab
        ]
    assert all(k.status_code == 303 and k.headers["location"] == "/sesi" for k in kept)


async def test_a_mistyped_password_keeps_the_draft_too(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Paspor saya hilang, bagaimana?")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        await run_out(db)
        late = await browser.post(f"/tanya/{asked}/jawab", data={"answer": ANSWER})
        typo = await browser.post(
            "/masuk", data={"name": "budi", "password": "salah", **dict(hidden_fields(late.text))}
        )
        again = await browser.post(
            "/masuk", data={"name": "budi", "password": PASSWORD, **dict(hidden_fields(typo.text))}
        )
    assert typo.status_code == 401 and ("keep.answer", ANSWER) in hidden_fields(typo.text)
    assert "Kirim lagi yang Anda tulis" in again.text
    assert html.escape(ANSWER, quote=False) in again.text


async def test_a_picture_chosen_when_the_sign_in_ran_out_is_asked_for_again_not_skipped(db):
    from auxil.pictures import picture

    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    console = build(db, WITA, session_hours=12)
    form = {"text_id": "Sesi paspor Sabtu.", "kind": "all", "office": "bp3mi", "step": "send"}
    async with client(console) as browser:
        await sign_in(browser, "budi")
        await run_out(db)
        late = await browser.post(
            "/pengumuman/baru", data=form, files={"picture": ("p.png", picture("PNG"), "image/png")}
        )
    kept = hidden_fields(late.text)
    assert "perlu dipilih lagi" in late.text
    assert ("keep.step", "preview") in kept and ("keep.step", "send") not in kept
    assert await db.fetchall("SELECT id FROM broadcasts") == []
