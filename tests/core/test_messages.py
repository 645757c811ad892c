"""Splitting long replies into Telegram-sized messages."""

from __future__ import annotations

import pytest

from bot.core.messages import Button, split_text, text_length


def test_short_text_is_one_chunk():
    assert split_text("halo\ndunia") == ["halo\ndunia"]


def test_long_text_is_split_on_line_boundaries():
    lines = [f"{n:04d} " + "a" * 95 for n in range(100)]  # 100 lines of 100 characters
    chunks = split_text("\n".join(lines))
    assert len(chunks) == 3
    assert all(text_length(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == "\n".join(lines)  # nothing lost, no line cut
    assert all(c.startswith(tuple(f"{n:04d}" for n in range(100))) for c in chunks)


def test_a_single_huge_line_is_cut_at_spaces():
    text = " ".join(["kata"] * 3000)  # 14,999 characters, no newline
    chunks = split_text(text)
    assert all(text_length(c) <= 4096 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_a_line_without_spaces_is_cut_hard():
    chunks = split_text("x" * 10_000)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]


def test_emoji_count_as_two_units_like_telegram():
    chunks = split_text("😀" * 3000)
    assert all(text_length(c) <= 4096 for c in chunks)
    assert "".join(chunks) == "😀" * 3000


@pytest.mark.parametrize("action", ["", "x" * 65, "é" * 33])
def test_button_actions_must_fit_telegram_callback_data(action):
    with pytest.raises(ValueError):
        Button("label", action)
