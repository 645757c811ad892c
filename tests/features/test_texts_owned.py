"""Features own their words: every text key belongs to one feature, the core, or a channel;
a feature module says only its own keys and the few common words the core lists; nothing in
texts/*.yaml is left without an owner."""

from __future__ import annotations

import re

from bot.app import build_router
from bot.channels.registry import CHANNELS
from bot.cli.check import needed_texts
from bot.content.texts import load_texts
from bot.core.feature import COMMON_TEXTS, CORE_TEXTS
from conftest import REPO

# ctx.t("key"), out.t(...), ctx.notice("key"), ctx.row("key", ...), ctx.button("key", ...)
SAID = re.compile(r"""\.(?:t|notice|row|button)\(\s*f?["']([a-z_{}]+)["']""")


def said_in(source: str) -> set[str]:
    return set(SAID.findall(source))


def test_each_feature_module_says_only_its_own_words():
    router = build_router()
    shared = set(COMMON_TEXTS)
    checked = 0
    for feature in router.features:
        path = REPO / "bot" / "features" / f"{feature.name}.py"
        own = set(feature.texts) | shared
        for key in said_in(path.read_text()):
            if "{" in key:  # a family, such as f"staff_ask_{step}"
                prefix = key.split("{")[0]
                assert any(k.startswith(prefix) for k in own), f"{feature.name}: {key}"
            else:
                assert key in own, f"{feature.name} says {key!r}, which is not its own"
            checked += 1
    assert checked > 100, "the scan found too few keys: the pattern is out of date"


def test_the_core_says_only_the_core_texts():
    source = "\n".join(p.read_text() for p in (REPO / "bot" / "core").glob("*.py"))
    said = said_in(source)
    assert said and said <= set(CORE_TEXTS), said - set(CORE_TEXTS)


def test_every_text_has_one_owner_and_none_is_left_over():
    owners = build_router().text_keys()  # raises if two features claim one key
    channel_keys = [key for channel in CHANNELS for key in channel.texts]
    assert not set(owners) & set(channel_keys)
    texts = load_texts(REPO / "texts", {})
    for lang, table in texts.by_language.items():
        assert set(table) == set(needed_texts()), f"{lang}.yaml: keys nobody says, or missing"
