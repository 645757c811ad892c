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
        console = build(app.db, app.settings.timezone, 12, shown.office, shown.topics,
                        shown.channels, shown.content)  # fmt: skip
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
