"""The console's words: its own (bot/console/words.yaml) on top of the documents' words
(bot/reports/words.yaml), which its pages show too. Indonesian first, English second; the
villagers' texts are in texts/*.yaml. Read once, when the console is first imported."""

from __future__ import annotations

from pathlib import Path

from bot.reports import words as documents

LANGUAGES = documents.LANGUAGES
OWN = documents.load(Path(__file__).with_name("words.yaml"))
WORDS = {lang: {**documents.WORDS[lang], **OWN[lang]} for lang in LANGUAGES}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])
