"""`desabot faq match | check | unanswered`, run as real subprocesses."""

from __future__ import annotations

import json
import re
import shutil

from auxil.processes import run_desabot as desabot
from bot.app import open_app
from bot.config import load_config
from bot.core.messages import Incoming, Kind
from conftest import REPO, write_config

QUESTIONS = [
    "brp biaya paspor skrg?",
    "how much does a passport cost",
    "harga pupuk urea",
    "",
    "\u200b",
    "paspor ilang gmn",
]


def test_match_writes_one_json_object_per_line_with_the_bots_decision(tmp_path):
    config = write_config(tmp_path)
    result = desabot("faq", "match", "--config", str(config), stdin="\n".join(QUESTIONS) + "\n")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == QUESTIONS
    assert all(set(r) == {"question", "id", "score", "lang"} for r in records)
    assert all(isinstance(r["score"], float) for r in records)
    assert [r["id"] for r in records] == [
        "paspor-biaya",
        "paspor-biaya",
        None,
        None,
        None,
        "paspor-hilang",
    ]
    assert [r["lang"] for r in records][:2] == ["id", "en"]


async def test_match_makes_exactly_the_decisions_the_bot_makes(tmp_path):
    path = write_config(tmp_path)
    topics = (REPO / "faq" / "topics.tsv").read_text().splitlines()[3:]
    questions = [line.split("\t")[2] for line in topics]
    result = desabot("faq", "match", "--config", str(path), stdin="\n".join(questions) + "\n")
    decided = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    async with open_app(load_config(path)) as app:
        for number, question in enumerate(questions):
            await app.handle(Incoming("test", str(number), Kind.TEXT, question))
        rows = await app.db.fetchall("SELECT faq_id, action FROM messages ORDER BY id")
    answered = [row["faq_id"] if row["action"] != "faq_declined" else None for row in rows]
    assert answered == decided


def test_check_passes_on_the_bundled_faq():
    result = desabot("faq", "check", "--config", str(REPO / "config.yaml"))
    assert result.returncode == 0, result.stdout
    assert "31 topics, 0 problem(s)" in result.stderr


def test_check_names_file_and_line_of_every_problem(tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(REPO / "faq", faq)
    paspor = faq / "paspor.yaml"
    text = paspor.read_text().replace("- id: paspor-lama", "- id: paspor-biaya", 1)
    paspor.write_text(text)
    bot_yaml = faq / "bot.yaml"
    bot_yaml.write_text(bot_yaml.read_text().replace("    en: |", "    eng: |", 1))
    with (faq / "language" / "slang.tsv").open("a") as slang:
        slang.write("Bad Word\tx\n")
    result = desabot("faq", "check", "--config", str(write_config(tmp_path, faq_dir=str(faq))))
    assert result.returncode == 1
    out = result.stdout
    assert re.search(r"paspor\.yaml:\d+: paspor-biaya: duplicate id", out)
    assert re.search(r"topics\.tsv:\d+: paspor-lama: required topic has no FAQ entry", out)
    assert re.search(r"bot\.yaml:\d+: [a-z-]+: answer\.en: missing or empty", out)
    assert re.search(r"slang\.tsv:\d+: 'Bad Word': expected one lower-case word", out)


async def test_unanswered_lists_declined_most_frequent_first_and_disliked_answers(tmp_path):
    path = write_config(tmp_path)
    async with open_app(load_config(path)) as app:
        asked = ["harga pupuk", "Harga pupuk ", "resep kue bolu", "harga pupuk"]
        for user, text in enumerate(asked):
            await app.handle(Incoming("test", str(user), Kind.TEXT, text))
        await app.handle(Incoming("test", "9", Kind.TEXT, "paspor ilang gmn"))
        await app.handle(Incoming("test", "9", Kind.BUTTON, "fb:down:paspor-hilang"))
    result = desabot("faq", "unanswered", "--config", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.match(r"\s+3x\s+harga pupuk", lines[1])
    assert re.match(r"\s+1x\s+resep kue bolu", lines[2])
    assert any(re.match(r"\s+1x\s+paspor ilang gmn\s+→ paspor-hilang", line) for line in lines)
