"""The documents' words (bot/reports/words.yaml), Indonesian first, English second; read
once, when first imported."""

from __future__ import annotations

from pathlib import Path

import yaml

LANGUAGES = ("id", "en")


def load(path: Path) -> dict[str, dict[str, str]]:
    """A words file: each language's words by key (the console's uses this too)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


WORDS = load(Path(__file__).with_name("words.yaml"))


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])
