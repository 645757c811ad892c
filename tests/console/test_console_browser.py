"""The console in a real browser: Playwright driving Debian's Chromium (headless) against a
real `desabot run` that also answers villagers through the stand-in Bot API. An officer signs
in, creates a session; a villager signs up in Telegram; the officer finds them, checks them in
and downloads the Excel file and the Daftar Hadir. A villager on WhatsApp (the stand-in Graph
API) asks an officer; the question appears in the console's inbox by itself; one officer
takes and answers it (a second cannot), and the answer reaches the villager's WhatsApp.

Without /usr/bin/chromium these tests are skipped with one line saying how to install it;
`.ci/run` installs it and sets DESABOT_REQUIRE_BROWSER=1, so there a missing browser fails."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from auxil.channels import free_port
from auxil.console import PASSWORD
from auxil.fake_bot_api import FakeBotApi
from auxil.fake_graph_api import FakeGraphApi
from auxil.processes import wait_until
from auxil.whatsapp import SECRETS, button, envelope, sign, text
from bot.domain import accounts
from bot.domain.message_log import LogLine, log_message
from bot.domain.people import set_subscribed, set_village, touch_person, update_profile
from bot.domain.store import Database
from bot.support.passwords import hash_password
from conftest import REPO, write_config

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VILLAGER = 81_000
WA_VILLAGER = "6285233334444"  # in Kaleke, on WhatsApp
WA_QUIET = "6285233335555"  # in Kaleke too, silent for longer than WhatsApp's 24 hours
TEMPLATES = {
    "broadcast": {"name": "pengumuman_desa", "parameters": ["office", "text"]},
    "broadcast_picture": {"name": "pengumuman_gambar", "header": "image",
                          "parameters": ["office", "text"]},
}  # fmt: skip
WITA = ZoneInfo("Asia/Makassar")

if not Path(CHROMIUM).exists():
    if os.environ.get("DESABOT_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    pytest.skip(
        "browser tests need Debian's Chromium: sudo apt-get install chromium",
        allow_module_level=True,
    )
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


# a programme some weeks in: villagers in three villages and their questions, week by week
HISTORY = {"Pesaku": 6, "Kaleke": 4, "Sibowi": 2}
ASKED = {"paspor-biaya": (3, 5, 2, 6), "paspor-syarat": (2, 1, 4, 3), "pmi-biaya": (0, 2, 1, 2)}


async def prepare(path: Path) -> None:
    db = await Database.open(path)
    try:
        for name in ("budi", "sari"):
            await accounts.add_account(db, name, "officer", hash_password(PASSWORD))
        person = await touch_person(db, "telegram", str(VILLAGER), "Siti", "id")
        await update_profile(
            db, person.id, full_name="Siti Aminah", village="Pesaku", consent_at="2026-11-30"
        )
        for phone, name in ((WA_VILLAGER, "Wati"), (WA_QUIET, "Nur")):
            person = await touch_person(db, "whatsapp", phone, name, "id")
            await set_village(db, person.id, "Kaleke")
        await _history(db)
    finally:
        await db.close()


async def _history(db: Database) -> None:
    ids = []
    for village, count in HISTORY.items():
        for n in range(count):
            user = str(90_000 + len(ids))  # Telegram ids are numbers
            person = await touch_person(db, "telegram", user, f"Warga {n}", "id")
            await set_village(db, person.id, village)
            ids.append(person.id)
    await set_subscribed(db, ids[1], False)
    for topic, weeks in ASKED.items():
        for weeks_ago, times in enumerate(reversed(weeks)):
            for n in range(times):
                await log_message(db, LogLine(ids[n], "text", "?", "id", "faq_answer", topic))
                await db.write_one(
                    "UPDATE messages SET received_at = ? WHERE id = (SELECT max(id) FROM messages)",
                    ((datetime.now(UTC) - timedelta(weeks=weeks_ago)).isoformat(),),
                )


@dataclass(frozen=True)
class Running:
    """`desabot run` on Telegram and WhatsApp (the two stand-ins) with the console."""

    url: str  # the console
    database: Path
    fake: FakeBotApi
    graph: FakeGraphApi
    webhook: str  # where Meta posts WhatsApp messages

    def sign_ins_run_out(self) -> None:
        with sqlite3.connect(self.database) as db:
            db.execute("UPDATE console_sessions SET expires_at = '2000-01-01T00:00:00+00:00'")

    def whatsapp(self, message: dict) -> None:
        """A villager's WhatsApp message, as Meta posts it (signed)."""
        body = json.dumps(envelope([message], name="Wati")).encode()
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        assert httpx.post(self.webhook, content=body, headers=headers).status_code == 200


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    shutil.copytree(REPO / "faq", folder / "faq")  # the console edits the FAQ: its own copy
    port, webhook_port = free_port(), free_port()
    with FakeBotApi() as fake, FakeGraphApi() as graph:
        config = write_config(
            folder,
            database=str(folder / "bot.sqlite3"),
            faq_dir=str(folder / "faq"),
            console={"enabled": True, "port": port},
            telegram={"api_base_url": fake.base_url, "poll_timeout": 1},
            whatsapp={"enabled": True, "api_base_url": graph.base_url, "templates": TEMPLATES,
                      "phone_number_id": graph.phone_number_id, "port": webhook_port},
        )  # fmt: skip
        graph.templates |= {"pengumuman_desa", "pengumuman_gambar"}
        graph.image_templates.add("pengumuman_gambar")
        asyncio.run(prepare(folder / "bot.sqlite3"))
        secrets = {
            "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
            "WHATSAPP_APP_SECRET": SECRETS.app_secret,
            "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": "1:browser", **secrets},
        )
        try:
            wait_until(lambda: _up(port), 30, "the console")
            webhook = f"http://127.0.0.1:{webhook_port}/whatsapp"
            yield Running(f"http://127.0.0.1:{port}", folder / "bot.sqlite3", fake, graph, webhook)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/masuk", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    """Screenshots for the README, when asked for: DESABOT_SCREENSHOTS=docs/screenshots."""
    folder = os.environ.get("DESABOT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_officer_runs_a_session_from_sign_in_to_the_attendance_sheet(running, browser, tmp_path):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    url, fake = running.url, running.fake
    context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/sesi")
    shot(page, "sign-in")
    page.fill("input[name=name]", "budi")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action^='/masuk'] button")
    page.wait_for_url(f"{url}/sesi")

    page.click("text=Sesi baru")
    day = (datetime.now(WITA) + timedelta(days=10)).strftime("%d/%m/%Y")
    page.fill("input[name=title_id]", "Sosialisasi migrasi aman")
    page.fill("input[name=village]", "Pesaku")
    page.fill("input[name=place]", "Balai desa")
    page.evaluate("document.querySelector('input[name=day]').type = 'text'")  # typed, as on
    page.fill("input[name=day]", day)  # a phone without a date picker
    page.fill("input[name=start]", "09.00")
    page.fill("input[name=end]", "12.00")
    page.fill("input[name=capacity]", "30")
    page.fill("textarea[name=description]", "Bawa KTP dan KK")
    shot(page, "new-session")
    page.click(".session-form button")
    page.wait_for_url(f"{url}/sesi/*")
    code = page.url.rsplit("/", 1)[1]

    fake.push_text(VILLAGER, f"DAFTAR {code}")  # the villager signs up in Telegram
    confirmed = "Anda terdaftar di: Sosialisasi migrasi aman"
    fake.wait_until(lambda f: any(confirmed in m["visible_text"] for m in f.sent(VILLAGER)), 15)

    page.click("text=Ubah sesi")  # an hour later; the end is left as it was
    page.fill("input[name=start]", "10.00")
    page.click(".session-form button")
    assert "Siti Aminah" in page.locator("ul.told").inner_text()  # who will be told
    assert "10.00–13.00 WITA" in page.locator("dd.new").inner_text()  # the end moved along
    shot(page, "reschedule")
    page.click("button:has-text('Ya, ubah jadwal')")
    page.wait_for_url(f"{url}/sesi/{code}")
    moved = "Jadwal sesi berubah: Sosialisasi migrasi aman"
    fake.wait_until(lambda f: any(moved in m["visible_text"] for m in f.sent(VILLAGER)), 15)
    page.reload()
    assert page.locator("td", has_text="Siti Aminah").count() == 1
    page.fill("input[name=q]", "siti")
    page.click("text=Cari")
    page.click("button:has-text('Hadir')")
    assert "Siti Aminah dicatat hadir" in page.locator(".note").inner_text()
    shot(page, "attendance")

    with page.expect_download() as excel:
        page.click("text=Excel")
    sheet = load_workbook(io.BytesIO(Path(excel.value.path()).read_bytes())).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "Siti Aminah" in values and "hadir" in values
    with page.expect_download() as pdf:
        page.click("text=Daftar hadir (PDF")
    text = "".join(p.extract_text() for p in PdfReader(pdf.value.path()).pages)
    assert "DAFTAR HADIR" in text and "Siti Aminah" in text

    page.goto(f"{url}/sesi")
    shot(page, "sessions")
    assert page.locator("text=Sosialisasi migrasi aman").count() == 1
    page.click("text=Ringkasan")
    assert page.locator("h2", has_text="Warga per desa").count() == 1
    assert page.locator("td.label", has_text="Pesaku").count() == 1
    weeks = page.locator("table.weeks tr", has_text="Biaya paspor")
    assert weeks.locator("td.n").all_inner_texts()[-4:] == ["3", "5", "2", "6"]
    shot(page, "glance")
    context.close()


def signed_in(browser, url: str, name: str):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/masuk")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action^='/masuk'] button")
    page.wait_for_url(f"{url}/sesi")
    return context, page


def test_a_whatsapp_villager_asks_and_an_officer_answers_in_the_console(running, browser):
    url, graph, phone = running.url, running.graph, "6285211112222"
    budi, page = signed_in(browser, url, "budi")
    page.click("#inbox-link")
    page.wait_for_url(f"{url}/tanya")
    assert "Tidak ada pertanyaan" in page.locator("#questions").inner_text()

    running.whatsapp(button("officer", phone))  # "Tanya petugas" on WhatsApp
    running.whatsapp(text("Ada yang tawarkan kerja di Malaysia, bayar 10 juta. Resmi?", phone))
    question = page.locator("#questions a", has_text="bayar 10 juta")
    question.wait_for(timeout=20_000)  # the list updates itself: no reload
    assert "(1)" in page.title() and "WhatsApp" in page.locator("#questions").inner_text()
    assert page.locator("#inbox-link .badge").inner_text() == "1"  # the menu says so too
    shot(page, "inbox")
    question.click()
    page.click("button:has-text('Saya jawab')")

    sari, other = signed_in(browser, url, "sari")
    other.goto(page.url)
    assert "Dijawab oleh budi (konsol)" in other.locator(".holder").first.inner_text()
    assert other.locator("textarea[name=answer]").count() == 0  # she cannot answer it too

    page.fill("textarea[name=answer]", "Itu tidak resmi. Hubungi BP3MI di 0451-421234.")
    shot(page, "question")
    page.click("button:has-text('Kirim jawaban')")
    assert "Jawaban masuk antrean" in page.locator(".note").inner_text()
    answered = "Hubungi BP3MI di 0451-421234"
    wait_until(lambda: any(answered in json.dumps(m) for m in graph.sent(phone)), 20, "the answer")
    [delivered] = [m for m in graph.sent(phone) if answered in json.dumps(m)]
    assert "bayar 10 juta" in json.dumps(delivered)  # the question it answers, quoted
    page.goto(f"{url}/tanya")
    assert "(1)" not in page.title()
    budi.close()
    sari.close()


STORY = "ada yg nawarin kerja ke luar negri tp disuruh bayar dulu 10 juta, itu aman ga?"
VARIANT = "ada yang nawarin kerja ke luar negeri tapi harus bayar 15 juta dulu, aman gak?"


def test_an_officer_teaches_the_bot_a_question_it_declined(running, browser):
    fake, villager = running.fake, 82_000
    declined = "belum bisa menjawab"
    fake.push_text(villager, STORY)
    fake.wait_until(lambda f: any(declined in m["visible_text"] for m in f.sent(villager)), 15)
    context, page = signed_in(browser, running.url, "budi")
    page.click("text=Ajari bot")
    card = page.locator("li.card", has_text=STORY)
    shot(page, "teach")
    card.locator("select").select_option("tppo-tanda")  # not among the three closest
    card.locator("button", has_text="Simpan").click()
    assert "sekarang dijawab dengan topik" in page.locator(".note").inner_text()
    answer = "tanda"  # the warning-signs topic's answer names them
    for n, question in enumerate((STORY, VARIANT), start=1):
        fake.push_text(villager + n, question)  # the running bot, not restarted
        fake.wait_until(lambda f, v=villager + n: len(f.sent(v)) >= 1, 15)
        text = fake.sent(villager + n)[-1]["visible_text"]
        assert declined not in text and answer in text.lower(), text
    context.close()


def test_an_officer_fixes_an_answer_the_day_a_fee_changes_and_can_undo_it(running, browser):
    fake, villager = running.fake, 83_000
    new_line = "Mulai 1 Januari 2027 biaya berubah (uji coba konsol)."

    def answer_to(user: int) -> str:
        fake.push_text(user, "berapa biaya paspor")
        fake.wait_until(lambda f: len(f.sent(user)) >= 1, 15)
        return fake.sent(user)[-1]["visible_text"]

    context, page = signed_in(browser, running.url, "budi")
    page.goto(f"{running.url}/faq/paspor-biaya")
    answer = page.locator("textarea[name=answer_id]")
    answer.fill(answer.input_value() + "\nHubungi {bp3mi.telepon}.")
    problem = page.locator("#problems-answer")
    problem.get_by_text("tidak dikenal").wait_for(timeout=10_000)  # while typing, not saved
    page.click(".faq-form button[type=submit]")
    assert "{bp3mi.telepon} tidak dikenal" in page.locator("#problems-answer").inner_text()
    text = page.locator("textarea[name=answer_id]")
    text.fill(text.input_value().replace("Hubungi {bp3mi.telepon}.", new_line))
    wait_until(  # fixed: the reason goes away by itself, as it came
        lambda: not page.locator("#problems-answer").inner_text().strip(), 10, "the check"
    )
    shot(page, "faq-edit")
    running.sign_ins_run_out()  # she took her time: her sign-in ran out meanwhile
    page.click(".faq-form button[type=submit]")
    page.fill("input[name=name]", "budi")  # what she wrote is carried through the sign-in
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action^='/masuk'] button")
    assert new_line in page.locator("textarea[name=answer_id]").input_value()
    page.click("button:has-text('Kirim lagi')")
    assert "Bot sudah menjawab dengan teks baru" in page.locator(".note").inner_text()
    assert new_line in answer_to(villager)  # the running bot, not restarted
    page.click("button:has-text('Pulihkan versi sebelumnya')")
    assert new_line not in answer_to(villager + 1)
    context.close()


def test_an_announcement_with_a_picture_reaches_two_villages_on_both_platforms(running, browser):
    from auxil.pictures import poster as make_poster

    fake, graph = running.fake, running.graph
    running.whatsapp(text("halo", WA_VILLAGER))  # she wrote today: inside the 24-hour window
    wait_until(lambda: graph.sent(WA_VILLAGER), 20, "the WhatsApp villager's answer")
    poster = make_poster(
        "Sosialisasi Paspor", ("Sabtu, 09.00 WITA", "Balai desa", "Bawa KTP dan KK")
    )
    context, page = signed_in(browser, running.url, "budi")
    page.goto(f"{running.url}/pengumuman/baru")
    page.fill("textarea[name=text_id]", "Sesi paspor hari Sabtu jam 9 di balai desa.")
    page.check("input[name=kind][value=village]")
    page.check("input[name=village][value=Pesaku]")
    page.check("input[name=village][value=Kaleke]")
    page.set_input_files(
        "input[name=picture]", {"name": "poster.jpg", "mimeType": "image/jpeg", "buffer": poster}
    )
    page.click("button:has-text('Pratinjau')")
    assert "📢" in page.locator(".bubble .message").first.inner_text()  # as villagers see it
    assert page.locator("img.shown-picture").count() >= 3  # on Telegram and on WhatsApp
    wa = page.locator(".preview p.help", has_text="dalam 24 jam terakhir").inner_text()
    assert wa.startswith("1 penerima")  # Wati; Nur gets the template with the picture:
    assert "pengumuman_gambar" in page.locator(".bubble.template").first.inner_text()
    shot(page, "announce")
    page.click("button[name=step][value=send]")
    page.wait_for_url(f"{running.url}/pengumuman/*")
    sent = "Sesi paspor hari Sabtu jam 9 di balai desa."

    def photo_to(chat: int) -> list[dict]:
        return [m for m in fake.sent(chat) if m["method"] == "sendPhoto" and sent in m["caption"]]

    fake.wait_until(lambda f: photo_to(VILLAGER) and photo_to(90_006), 20)  # Pesaku, Kaleke
    assert photo_to(VILLAGER)[0]["photo"]["content"] == poster
    assert not photo_to(90_010)  # Sibowi was not chosen
    wait_until(
        lambda: any(m["type"] == "image" for m in graph.sent(WA_VILLAGER)), 20, "the picture"
    )
    [image] = [m for m in graph.sent(WA_VILLAGER) if m["type"] == "image"]
    assert sent in image["image"]["caption"]
    assert graph.media[image["image"]["id"]] == ("image/jpeg", poster)
    wait_until(lambda: graph.sent(WA_QUIET), 20, "the template")
    [template] = graph.sent(WA_QUIET)
    [header, body] = template["template"]["components"]
    assert header["parameters"][0]["image"]["id"] == image["image"]["id"]  # uploaded once
    assert sent in body["parameters"][1]["text"]
    page.locator("td", has_text="terkirim").first.wait_for(timeout=20_000)  # by itself
    assert page.locator("td", has_text="Siti Aminah").count() == 1
    assert page.locator("img.shown-picture").count() == 1
    shot(page, "announcement")
    context.close()


def test_a_signed_out_browser_only_sees_the_sign_in_page(running, browser):
    url = running.url
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/sesi/ABCD/peserta.xlsx")
    assert page.url.startswith(f"{url}/masuk")
    assert page.locator("input[name=password]").count() == 1
    context.close()


def test_the_browser_is_the_one_ci_installs():
    assert shutil.which("chromium") == CHROMIUM
