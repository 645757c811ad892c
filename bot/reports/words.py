"""The documents' words (bot/reports/words.yaml), Indonesian first, English second; read
once, when first imported."""

from __future__ import annotations

from pathlib import Path

import yaml

LANGUAGES = ("id", "en")
WORDS: dict[str, dict[str, str]] = yaml.safe_load(
    (Path(__file__).with_name("words.yaml")).read_text(encoding="utf-8")
)


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])
