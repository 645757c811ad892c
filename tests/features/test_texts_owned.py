"""Features own their words and say where they lead: every text key belongs to one feature,
the core or a channel; a feature module says only its own keys and those it borrows; it
leads only to actions and commands it declares in ``links``; nothing in texts/*.yaml is left
without an owner."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bot.app import build_router
from bot.channels.registry import CHANNELS
from bot.cli.check import needed_texts
from bot.content.texts import load_texts
from bot.core.actions import MainMenu
from bot.core.feature import CORE_TEXTS, Feature
from bot.core.router import Router
from bot.features import FEATURES
from conftest import REPO

# ctx.t("key"), out.t(...), ctx.notice("key"), ctx.row("key", ...), ctx.button("key", ...)
SAID = re.compile(r"""\.(?:t|notice|row|button)\(\s*f?["']([a-z_{}.]+)["']""")
# ctx.link("contact"), ctx.go("menu"), ctx.run_command("start"), ctx.row(key, "st:discard")
LED_TO = re.compile(
    r"""\.(?:link|go)\(\s*["']([a-z:_]+)["']|\.run_command\(\s*["']([a-z_]+)["']"""
    r"""|\.(?:row|button)\([^()]*?,\s*([A-Z_]+|["'][a-z:_]+["'])\s*[,)]"""
)


def source_of(feature: Feature) -> str:
    """The code of the module (or modules) a feature's handlers live in."""
    files = {Path(sys.modules[route.handler.__module__].__file__) for route in feature.routes}
    return "\n".join(path.read_text() for path in sorted(files))


def said_in(source: str) -> set[str]:
    return set(SAID.findall(source))


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_each_feature_says_only_its_own_and_its_borrowed_words(feature):
    own = set(feature.texts) | set(feature.borrows)
    said = said_in(source_of(feature))
    assert said, "the scan found no keys: the pattern is out of date"
    for key in said:
        if "{" in key:  # a family, such as f"staff_ask_{step}"
            prefix = key.split("{")[0]
            assert any(k.startswith(prefix) for k in own), f"{feature.name}: {key}"
        else:
            assert key in own, f"{feature.name} says {key!r}: declare it in texts or borrows"
    unused = {k for k in feature.borrows if k not in said and not any(
        "{" in s and k.startswith(s.split("{")[0]) for s in said
    )}  # fmt: skip
    assert not unused, f"{feature.name} borrows {unused} and never says them"


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_each_feature_leads_only_where_it_declares(feature):
    source = source_of(feature)
    constants = dict(re.findall(r"""^([A-Z_]+) = ["']([a-z:_]+)["']""", source, re.M))
    own = {action.prefix for action in feature.actions} | {MainMenu.prefix}
    for found in LED_TO.finditer(source):
        target, command, argument = found.groups()
        if command:
            assert f"/{command}" in feature.links, f"{feature.name}: /{command} not in links"
            continue
        if argument:  # a constant naming another feature's action, or the name itself
            quoted = argument[0] in "\"'"
            target = argument.strip("\"'") if quoted else constants.get(argument, "")
            if not target:
                continue
        assert target in own or target in feature.links, f"{feature.name} leads to {target!r}"


def test_a_link_to_nothing_fails_at_start():
    lost = Feature("lost", links=("nowhere",))
    with pytest.raises(LookupError, match="nowhere"):
        Router((*FEATURES, lost))
    lost = Feature("lost", links=("/nowhere",))
    with pytest.raises(ValueError, match="/nowhere"):
        Router((*FEATURES, lost))
    greedy = Feature("greedy", texts=("welcome",))
    with pytest.raises(ValueError, match="welcome is menu's and greedy's"):
        Router((*FEATURES, greedy))
    borrower = Feature("borrower", borrows=("no_such_text",))
    with pytest.raises(ValueError, match="borrows no_such_text"):
        Router((*FEATURES, borrower))


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
