"""Typed button actions: one codec packs and unpacks every feature's buttons, and the 64-byte
limit lives in it alone."""

from __future__ import annotations

from typing import Literal

import pytest

from bot.app import build_router
from bot.core.actions import MAX_PAYLOAD, Action, Codec


class Pick(Action, prefix="t:pick"):
    index: int


class PickOther(Action, prefix="t:pick:other"):
    pass


class Vote(Action, prefix="t:vote"):
    verdict: Literal["up", "down"]
    topic: str


@pytest.fixture
def codec() -> Codec:
    codec = Codec()
    for action in (Pick, PickOther, Vote):
        codec.register(action)
    return codec


def test_pack_and_unpack_round_trip(codec):
    for action in (Pick(3), PickOther(), Vote("up", "paspor-biaya")):
        assert codec.unpack(action.pack()) == action
    assert Vote("down", "tppo-tanda").pack() == "t:vote:down:tppo-tanda"


def test_the_longest_registered_prefix_wins(codec):
    assert codec.unpack("t:pick:other") == PickOther()
    assert codec.unpack("t:pick:7") == Pick(7)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "t",
        "t:pick",  # a field missing
        "t:pick:",  # an empty field
        "t:pick:seven",  # a word where a number belongs
        "t:pick:-1",
        "t:pick:1234567890",  # more digits than any index
        "t:pick:1:2",  # a field too many
        "t:vote:sideways:paspor",  # not one of the choices
        "t:vote:up:",
        "t:unknown",
        "x:pick:1",
    ],
)
def test_forged_or_stale_payloads_unpack_to_nothing(codec, payload):
    assert codec.unpack(payload) is None


def test_the_limit_is_checked_when_packing():
    assert len(Vote("up", "a" * 50).pack()) == 60
    with pytest.raises(ValueError, match=f"1-{MAX_PAYLOAD} bytes"):
        Vote("up", "é" * 30).pack()  # 60 bytes of é, 68 with the prefix
    with pytest.raises(ValueError, match="cannot pack"):
        Vote("up", "a:b").pack()  # the separator inside a field would change its meaning


def test_two_actions_cannot_share_a_prefix_and_fields_must_be_simple(codec):
    class Again(Action, prefix="t:pick"):
        other: str

    with pytest.raises(ValueError, match="Pick's already"):
        codec.register(Again)

    class Odd(Action, prefix="t:odd"):
        when: float

    with pytest.raises(TypeError, match="str, int or Literal"):
        codec.register(Odd)


def test_every_action_of_the_bot_is_registered_once_and_answered():
    router = build_router()
    prefixes = router.codec.prefixes()
    assert len(prefixes) == len(set(prefixes)) > 40
    # the payloads villagers' phones hold from before the redesign still mean the same
    for payload in ("menu", "reg:K7QA", "fb:up:paspor-biaya", "sub:v:3", "sub:v:other",
                    "st:bc:xx:12", "vil:other", "lang:en", "erase:yes"):  # fmt: skip
        action = router.codec.unpack(payload)
        assert action is not None and action.pack() == payload
