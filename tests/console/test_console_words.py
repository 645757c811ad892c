"""The console's and the documents' words: every key in both languages with the same
placeholders, and every word a page or a document asks for is there (a missing one would be
a 500 in front of an office worker, or a KeyError in a download)."""

from __future__ import annotations

import re
import string

import pytest

from bot.console import words as console_words
from bot.reports import words as document_words
from conftest import REPO

TEMPLATES = REPO / "bot" / "console" / "templates"
ASKED = re.compile(r"\bw\.(\w+)|\bw\[\"(\w+)\"\]|words\([^)]*\)\[\"(\w+)\"\]")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    "own", [console_words.OWN, document_words.WORDS], ids=["console", "documents"]
)
def test_both_languages_have_the_same_words_and_placeholders(own):
    assert set(own["id"]) == set(own["en"])
    for key, text in own["id"].items():
        assert placeholders(text) == placeholders(own["en"][key]), key


def test_every_word_a_page_or_a_document_asks_for_exists():
    sources = [*TEMPLATES.glob("*.html"), *(REPO / "bot" / "console").glob("*.py")]
    sources += (REPO / "bot" / "reports").glob("*.py")
    asked = {
        key
        for path in sources
        for found in ASKED.finditer(path.read_text(encoding="utf-8"))
        for key in found.groups()
        if key
    }
    assert len(asked) > 50  # the pattern finds them: it is not looking at nothing
    missing = asked - set(console_words.WORDS["id"]) - {"get"}
    assert not missing
