"""The officer inbox in the console: questions from every channel listed (open or answered,
updating through htmx), one question with who asked beside it, taking it so that a second
officer cannot answer it, and the answer queued to the villager's own chat."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from auxil.console import PASSWORD, answers_queued, asks, client, sign_in
from auxil.sessions import a_session
from bot.console.web import build
from bot.domain import accounts, inbox
from bot.domain.privacy import erase_person
from bot.domain.registrations import register
from bot.domain.sessions import DEFAULT_POLICY
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
async def console(db):
    for name, role in (("rina", "admin"), ("budi", "officer"), ("sari", "officer")):
        await accounts.add_account(db, name, role, hash_password(PASSWORD))
    return build(db, WITA, session_hours=12)


async def test_questions_from_every_channel_wait_in_the_list_with_who_asked(console, db):
    first = await asks(db, "6281234567890", "Siti", "LPK di Palu ini resmi?")
    await asks(db, "42", "Budi Warga", "Kapan sesi paspor berikutnya?", channel="telegram")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        oldest = await browser.get("/tanya")
        newest = await browser.get("/tanya?urut=baru")
        poll = await browser.get("/tanya", headers={"HX-Request": "true"})
        badge = await browser.get("/tanya/jumlah", headers={"HX-Request": "true"})
        shown = await browser.get(f"/tanya/{first}")
    assert oldest.status_code == 200
    text = oldest.text
    assert text.index("LPK di Palu") < text.index("Kapan sesi paspor")  # oldest first
    assert newest.text.index("Kapan sesi paspor") < newest.text.index("LPK di Palu")
    assert "Siti · Pesaku · WhatsApp" in text and "Budi Warga · Pesaku · Telegram" in text
    assert "<title>(2) Konsol petugas desabot</title>" in text  # the tab says how many
    assert "<html" not in poll.text and "LPK di Palu" in poll.text  # only the list
    assert "<title>(2) Konsol petugas desabot</title>" in poll.text
    assert 'hx-swap-oob="true">Tanya petugas <b class="badge">2</b>' in poll.text  # the menu too
    assert '<b class="badge">2</b>' in badge.text and "<html" not in badge.text
    assert "6281234567890" not in shown.text  # a WhatsApp id is a phone number: not shown
    assert "Saya jawab" in shown.text and "Bahasa Indonesia" in shown.text


async def test_an_answer_reaches_the_villager_and_keeps_the_phone_number(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Nomor kantor BP3MI berapa?")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        empty = await browser.post(f"/tanya/{asked}/jawab", data={"answer": "   "})
        sent = await browser.post(f"/tanya/{asked}/jawab", data={"answer": "Telepon 0451-123"})
        after = await browser.get(sent.headers["location"])
        still_open = await browser.get("/tanya")
        answered = await browser.get("/tanya?tampil=terjawab")
    assert empty.status_code == 400 and "Tulis jawabannya dulu" in empty.text
    assert sent.status_code == 303
    assert "Jawaban masuk antrean" in after.text and "Telepon 0451-123" in after.text
    [values] = await answers_queued(db)
    assert values["answer"] == "Telepon 0451-123"  # the number an officer gives stays
    assert "Nomor kantor BP3MI" not in still_open.text and "Nomor kantor BP3MI" in answered.text
    audit = await db.fetchone("SELECT actor, action, detail FROM audit_log ORDER BY id DESC")
    assert tuple(audit) == ("console:budi", "console_inbox_answer", f"#T{asked}")


async def test_a_taken_question_cannot_be_answered_by_a_second_officer(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Berapa biaya paspor?")
    async with client(console) as budi, client(console) as sari:
        await sign_in(budi, "budi")
        await sign_in(sari, "sari")
        await budi.post(f"/tanya/{asked}/ambil")
        seen = await sari.get(f"/tanya/{asked}")
        refused = await sari.post(f"/tanya/{asked}/jawab", data={"answer": "Rp 350.000"})
        not_hers = await sari.post(f"/tanya/{asked}/lepas")
        listed = await sari.get("/tanya")
        await budi.post(f"/tanya/{asked}/jawab", data={"answer": "Lihat imigrasi.go.id"})
    assert "Dijawab oleh budi (konsol)" in seen.text and 'name="answer"' not in seen.text
    assert refused.status_code == 409 and "budi (konsol) sedang menjawab" in refused.text
    assert "Rp 350.000" in refused.text  # her draft is kept on the page, not lost
    assert not_hers.status_code == 303
    assert "Dijawab oleh budi (konsol)" in listed.text
    assert [v["answer"] for v in await answers_queued(db)] == ["Lihat imigrasi.go.id"]


async def test_the_holder_or_an_admin_lets_a_question_go(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Syarat paspor anak?")
    async with client(console) as budi, client(console) as rina:
        await sign_in(budi, "budi")
        await sign_in(rina, "rina")
        await budi.post(f"/tanya/{asked}/ambil")
        await rina.post(f"/tanya/{asked}/lepas")  # an admin frees it
        freed = (await inbox.question(db, asked)).taken_by
        await rina.post(f"/tanya/{asked}/ambil")
        await budi.post(f"/tanya/{asked}/lepas")  # not his any more: nothing happens
        held = (await inbox.question(db, asked)).taken_by
    assert freed is None and held == "rina (konsol)"


async def test_beside_a_question_its_asker_s_earlier_questions_and_bookings(console, db):
    session = await a_session(db, "Sosialisasi paspor")
    earlier = await asks(db, "6281234567890", "Siti", "Pertanyaan pertama saya")
    person = (await inbox.question(db, earlier)).person_id
    await register(db, session.code, person)
    later = await asks(db, "6281234567890", "Siti", "Pertanyaan kedua saya")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        shown = await browser.get(f"/tanya/{later}")
    aside = shown.text.split("<aside", 1)[1]
    assert f"#T{earlier}" in aside and "Pertanyaan pertama saya" in aside
    assert "Sosialisasi paspor" in aside and "terdaftar" in aside


async def test_erased_people_and_signed_out_polls(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Hapus saya nanti")
    person = (await inbox.question(db, asked)).person_id
    await erase_person(db, person, DEFAULT_POLICY)
    async with client(console) as browser:
        polled = await browser.get("/tanya", headers={"HX-Request": "true"})
        await sign_in(browser, "budi")
        listed = await browser.get("/tanya")
        shown = await browser.get(f"/tanya/{asked}")
        answered = await browser.post(f"/tanya/{asked}/jawab", data={"answer": "x"})
    assert polled.status_code == 286  # htmx stops polling; no sign-in page inside the list
    assert polled.headers["HX-Reswap"] == "none"  # and the list stays as it was
    assert "Hapus saya nanti" not in listed.text and "(1)" not in listed.text
    assert shown.status_code == 404 and answered.status_code == 404
    assert await answers_queued(db) == []


async def test_a_cross_site_answer_is_refused(console, db):
    asked = await asks(db, "6281234567890", "Siti", "Apa saja syaratnya?")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        forged = await browser.post(
            f"/tanya/{asked}/jawab", data={"answer": "klik link ini"},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )  # fmt: skip
    assert forged.status_code == 403 and await answers_queued(db) == []
