"""An announcement's picture from the console, and the preview on both platforms: uploaded and
checked with the preview (refused in words, the texts kept), shown as villagers will see it on
Telegram and on WhatsApp inside the 24-hour window and outside it as the template that will be
used, then sent with the announcement without choosing it again."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auxil.console import PASSWORD, client, sign_in
from auxil.pictures import picture
from bot.cli.console import programme
from bot.console.web import build
from bot.domain import accounts, audit, broadcasts
from bot.domain.message_log import LogLine, log_message
from bot.domain.people import set_village, touch_person
from bot.support.passwords import hash_password

TEMPLATES = {
    "broadcast": {"name": "pengumuman_desa", "parameters": ["office", "text"],
                  "body": "Pengumuman dari {{1}}: {{2}} (balas BERHENTI untuk berhenti)"},
    "broadcast_picture": {
        "name": "pengumuman_gambar", "header": "image", "parameters": ["office", "text"],
    },
}  # fmt: skip
FORM = {"text_id": "Sosialisasi paspor Sabtu jam 9 di balai desa.", "kind": "village",
        "village": "Sibowi", "office": "bp3mi", "when": "now"}  # fmt: skip


@pytest.fixture
def config(make_config, request):
    """WhatsApp on, with TEMPLATES; a test may give other whatsapp settings."""
    whatsapp = {"enabled": True, "phone_number_id": "1234567890", "templates": TEMPLATES}
    return make_config(whatsapp={**whatsapp, **getattr(request, "param", {})})


async def villager(app, user: str, channel: str, wrote_hours_ago: float | None) -> None:
    person = await touch_person(app.db, channel, user, f"Warga {user}", "id")
    await set_village(app.db, person.id, "Sibowi")
    if wrote_hours_ago is not None:
        await log_message(app.db, LogLine(person.id, "text", "halo", "id", "faq"))
        then = datetime.now(UTC) - timedelta(hours=wrote_hours_ago)
        await app.db.write_one(
            "UPDATE messages SET received_at = ? WHERE person_id = ?",
            (then.isoformat(timespec="milliseconds"), person.id),
        )


@pytest.fixture
async def console(app):
    await accounts.add_account(app.db, "budi", "officer", hash_password(PASSWORD))
    await villager(app, "701", "telegram", None)
    await villager(app, "6285200000001", "whatsapp", 2)  # inside the window
    await villager(app, "6285200000002", "whatsapp", 30)  # outside it
    await villager(app, "6285200000003", "whatsapp", None)  # never wrote since the upgrade
    shown = programme(app.taught.config, app)
    return build(
        app.db, app.settings.timezone, 12, replace(shown, channels=("telegram", "whatsapp"))
    )


def upload(data: bytes, name: str = "poster.png", kind: str = "image/png") -> dict:
    return {"picture": (name, data, kind)}


async def test_a_picture_is_previewed_on_both_platforms_and_sent_without_choosing_it_again(
    app, console
):
    poster = picture("PNG", (640, 480))
    async with client(console) as browser:
        await sign_in(browser, "budi")
        form = await browser.get("/pengumuman/baru")
        preview = await browser.post(
            "/pengumuman/baru", data={**FORM, "step": "preview"}, files=upload(poster)
        )
        [picture_id] = await app.db.fetchall("SELECT id FROM pictures")
        picture_url = f"/pengumuman/gambar/{picture_id[0]}"
        shown = await browser.get(picture_url)
        sent = await browser.post(
            "/pengumuman/baru",
            data={**FORM, "step": "send", "picture_id": str(picture_id[0])},
            files={"picture": ("", b"", "application/octet-stream")},  # nothing chosen again
        )
        report = await browser.get(sent.headers["location"])
    async with client(console) as stranger:
        refused = await stranger.get(picture_url)
    page = html.unescape(preview.text)
    assert 'enctype="multipart/form-data"' in form.text and 'type="file"' in form.text
    assert preview.status_code == 200
    assert f'name="picture_id" value="{picture_id[0]}"' in preview.text  # kept for sending
    assert preview.text.count(picture_url) >= 4  # kept, on Telegram, WhatsApp, the template
    assert "poster.png · 640×480 piksel" in preview.text
    assert "Di Telegram" in preview.text and "Di WhatsApp" in preview.text
    assert "telegram: 1" in preview.text and "whatsapp: 3" in preview.text
    assert "1 penerima menulis ke bot dalam 24 jam terakhir" in preview.text
    assert "Di luar jendela 24 jam (2 penerima)" in preview.text
    assert 'Template "pengumuman_gambar" (bahasa id)' in page
    assert "Sosialisasi paspor Sabtu jam 9 di balai desa." in page.split("pengumuman_gambar")[1]
    assert page.count("🔕 Berhenti terima pengumuman") == 2  # its buttons, on both platforms
    assert shown.status_code == 200 and shown.content == poster
    assert shown.headers["content-type"] == "image/png"
    assert refused.status_code in (302, 303) and "image" not in refused.headers.get(
        "content-type", ""
    )
    [made] = await broadcasts.recent_broadcasts(app.db)
    assert made.picture_id == picture_id[0]
    assert picture_url in report.text
    [line] = await audit.search(app.db, audit.Filter(action="console_broadcast_send"))
    assert f"picture={picture_id[0]}" in line.detail


@pytest.mark.parametrize(
    ("data", "name", "kind", "words"),
    [
        (
            b"Surat undangan, bukan gambar",
            "undangan.png",
            "image/png",
            "bukan gambar JPEG atau PNG",
        ),
        (b"\xff\xd8" + bytes(5_100_000), "besar.jpg", "image/jpeg", "Gambar terlalu besar"),
        (picture("PNG", (2100, 100)), "spanduk.png", "image/png", "lebar + tinggi"),
    ],
    ids=["not-a-picture", "over-5-MB", "too-thin"],
)
async def test_a_picture_that_would_be_refused_is_refused_in_words_with_the_text_kept(
    app, console, data, name, kind, words
):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        answer = await browser.post(
            "/pengumuman/baru", data={**FORM, "step": "preview"}, files=upload(data, name, kind)
        )
    assert answer.status_code == 400 and words in answer.text
    assert FORM["text_id"] in answer.text  # nothing typed is lost
    assert await app.db.fetchall("SELECT id FROM pictures") == []


async def test_a_previewed_picture_deleted_since_is_said_not_silently_left_out(app, console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        gone = await browser.post(
            "/pengumuman/baru", data={**FORM, "step": "send", "picture_id": "424242"}
        )
        odd = await browser.post("/pengumuman/baru", data={**FORM, "picture_id": "²"})
    assert gone.status_code == 400 and "sudah tidak ada" in gone.text
    assert odd.status_code == 400
    assert await broadcasts.recent_broadcasts(app.db) == []


async def test_a_body_larger_than_any_form_is_refused_before_it_is_read(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        answer = await browser.post(
            "/pengumuman/baru", data=FORM, files=upload(bytes(6_100_000), "huge.png")
        )
    assert answer.status_code == 413 and "paling besar 5 MB" in answer.text


@pytest.mark.parametrize("config", [{"templates": {}}], indirect=True)
async def test_without_a_template_the_preview_says_who_will_not_get_it(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        preview = await browser.post("/pengumuman/baru", data={**FORM, "step": "preview"})
    page = html.unescape(preview.text)
    assert 'Belum ada template "broadcast" di config.yaml: 2 penerima ini' in page


async def test_a_template_with_its_approved_text_is_previewed_as_it_reads(console):
    async with client(console) as browser:
        await sign_in(browser, "budi")
        preview = await browser.post("/pengumuman/baru", data={**FORM, "step": "preview"})
    page = html.unescape(preview.text)
    assert 'Template "pengumuman_desa"' in page  # no picture: the text-only one
    assert "(balas BERHENTI untuk berhenti)" in page and f": {FORM['text_id']}" in page


@pytest.mark.parametrize("config", [{"daily_new_conversations": 1}], indirect=True)
async def test_the_preview_says_how_many_wait_for_whatsapps_daily_limit(app, console):
    from bot.domain import conversations

    person = await app.db.fetchone("SELECT id FROM people WHERE channel_user_id = '701'")
    await conversations.started(app.db, person[0])  # the day's one place is taken
    async with client(console) as browser:
        await sign_in(browser, "budi")
        preview = await browser.post("/pengumuman/baru", data={**FORM, "step": "preview"})
    page = html.unescape(preview.text)
    assert "percakapan baru dengan 1 orang per 24 jam; sisa sekarang 0" in page
    assert "2 penerima menunggu giliran dan menerimanya dalam sekitar 2 hari" in page
