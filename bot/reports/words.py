"""The documents' words (bot/reports/words.yaml), Indonesian first, English second; read
once, when first imported."""

from __future__ import annotations

from pathlib import Path

import yaml

LANGUAGES = ("id", "en")


def load(path: Path) -> dict[str, dict[str, str]]:
    """A words file: each language's words by key (the console's uses this too); with
    libyaml's parser where PyYAML has it (ten times faster: every command reads these)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


WORDS = load(Path(__file__).with_name("words.yaml"))


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])
