"""The FAQ in the console: a change checked as `desabot check` does (and refused with the
reason beside the field), saved into its file without touching any other line, answered by
the running bot at once, and undone with one click."""

from __future__ import annotations

import shutil

import pytest

from auxil.chat import talker
from auxil.console import PASSWORD, client, sign_in
from bot.app import open_app
from bot.cli.console import programme
from bot.console.web import build
from bot.core.messages import Kind
from bot.domain import accounts
from bot.support.passwords import hash_password
from conftest import REPO

say = talker(channel="telegram", name="Wati")
NEW_LINE = "Mulai 1 Januari 2027 biaya berubah (uji coba konsol)."


@pytest.fixture
async def running(make_config, tmp_path):
    """The bot on its own copy of the FAQ (the console writes to it), and its console."""
    faq = tmp_path / "faq"
    shutil.copytree(REPO / "faq", faq)
    async with open_app(make_config(faq_dir=str(faq))) as app:
        await accounts.add_account(app.db, "budi", "officer", hash_password(PASSWORD))
        shown = programme(app.taught.config, app)
        console = build(app.db, app.settings.timezone, 12, shown)
        yield app, console, faq


def form_of(topic, **changes: str) -> dict[str, str]:
    data = {f"title_{lang}": text for lang, text in topic.title.items()}
    data |= {f"answer_{lang}": text for lang, text in topic.answer.items()}
    return data | {"sources": "\n".join(topic.sources)} | changes


async def test_a_wrong_placeholder_is_refused_with_the_reason_and_nothing_is_written(running):
    app, console, faq = running
    topic = app.env.faq.topics["paspor-biaya"]
    before = (faq / "paspor.yaml").read_text(encoding="utf-8")
    broken = form_of(topic, answer_id=topic.answer["id"] + "\nHubungi {bp3mi.telepon}.")
    async with client(console) as browser:
        await sign_in(browser, "budi")
        live = await browser.post("/faq/paspor-biaya/periksa", data=broken)
        refused = await browser.post("/faq/paspor-biaya", data=broken)
        no_sources = await browser.post("/faq/paspor-biaya", data=form_of(topic, sources=" "))
    assert "{bp3mi.telepon} tidak dikenal (Bahasa Indonesia)" in live.text  # while typing
    assert 'id="problems-answer"' in live.text and "<html" not in live.text
    assert refused.status_code == 400 and "{bp3mi.telepon} tidak dikenal" in refused.text
    assert "{bp3mi.telepon}" in refused.text.split("<textarea")[1]  # the draft is not lost
    assert no_sources.status_code == 400 and "paling sedikit satu sumber" in no_sources.text
    assert (faq / "paspor.yaml").read_text(encoding="utf-8") == before


async def test_a_saved_answer_is_given_at_once_and_one_click_restores_the_old_one(running):
    app, console, faq = running
    topic = app.env.faq.topics["paspor-biaya"]
    before = (faq / "paspor.yaml").read_text(encoding="utf-8")
    [old] = await say(app, Kind.TEXT, "berapa biaya paspor")
    edited = form_of(topic, answer_id=topic.answer["id"] + "\n" + NEW_LINE)
    async with client(console) as browser:
        await sign_in(browser, "budi")
        saved = await browser.post("/faq/paspor-biaya", data=edited)
        page = await browser.get(saved.headers["location"])
        [new] = await say(app, Kind.TEXT, "berapa biaya paspor", user="43")  # no restart
        after = (faq / "paspor.yaml").read_text(encoding="utf-8")
        restored = await browser.post("/faq/paspor-biaya/pulihkan")
        [again] = await say(app, Kind.TEXT, "berapa biaya paspor", user="44")
    assert saved.status_code == 303 and "Bot sudah menjawab dengan teks baru" in page.text
    assert NEW_LINE not in old.text and NEW_LINE in new.text and NEW_LINE not in again.text
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed[0].strip() == NEW_LINE and all("reviewed:" in c for c in changed[1:])
    assert len(after.splitlines()) == len(before.splitlines()) + 1  # nothing else moved
    assert restored.status_code == 303
    assert NEW_LINE not in (faq / "paspor.yaml").read_text(encoding="utf-8")
    actions = [r[0] for r in await app.db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["console_faq_edit", "console_faq_restore"]


async def test_odd_answers_are_saved_as_typed_or_refused_in_words(running):
    app, console, _faq = running
    topic = app.env.faq.topics["paspor-biaya"]
    async with client(console) as browser:
        await sign_in(browser, "budi")
        hashed = await browser.post("/faq/paspor-biaya", data=form_of(
            topic, answer_id="Biaya:\r\n#1 Rp 350.000"))  # fmt: skip
        replaced = await browser.post("/faq/paspor-biaya", data=form_of(
            app.env.faq.topics["paspor-biaya"], answer_id="Teks baru saja."))  # fmt: skip
        emptied = await browser.post("/faq/paspor-biaya", data=form_of(topic, answer_en=""))
        blank = await browser.post("/faq/paspor-biaya", data=form_of(topic, answer_en=" \r\n "))
    assert hashed.status_code == 303 and replaced.status_code == 303
    # a "#" line of an answer is text: replaced with the rest, not left behind as a comment
    assert app.env.faq.topics["paspor-biaya"].answer["id"] == "Teks baru saja."
    for refused in (emptied, blank):
        assert refused.status_code == 400 and "Isi teks English" in refused.text


async def test_a_save_on_top_of_someone_elses_is_refused_and_windows_lines_stay(running):
    app, console, faq = running
    paspor = faq / "paspor.yaml"
    paspor.write_bytes(paspor.read_bytes().replace(b"\n", b"\r\n"))  # edited on Windows
    await app.taught.current()
    topic = app.env.faq.topics["paspor-biaya"]
    async with client(console) as sari, client(console) as budi:
        await sign_in(sari, "budi")
        await sign_in(budi, "budi")
        opened = await budi.get("/faq/paspor-biaya")
        base = opened.text.split('name="base" value="')[1].split('"')[0]
        first = await sari.post("/faq/paspor-biaya", data=form_of(
            topic, base=base, answer_id=topic.answer["id"] + "\n" + NEW_LINE))  # fmt: skip
        second = await budi.post("/faq/paspor-biaya", data=form_of(
            topic, base=base, title_en="Passport costs"))  # fmt: skip
    assert first.status_code == 303
    assert second.status_code == 409 and "baru saja diubah orang lain" in second.text
    assert NEW_LINE in app.env.faq.topics["paspor-biaya"].answer["id"]  # not overwritten
    raw = paspor.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # every line still ends as it did


async def test_a_folder_the_bot_may_not_write_is_said_in_words(running, monkeypatch):
    from bot.console import faq_pages

    app, console, _faq = running

    def read_only(path, text):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(faq_pages, "write_atomically", read_only)
    topic = app.env.faq.topics["paspor-biaya"]
    async with client(console) as browser:
        await sign_in(browser, "budi")
        answer = await browser.post("/faq/paspor-biaya", data=form_of(topic, title_en="Fees"))
    assert answer.status_code == 503 and "bot tidak boleh menulis ke folder" in answer.text
    assert app.env.faq.topics["paspor-biaya"].title["en"] != "Fees"
