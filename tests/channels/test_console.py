"""The terminal chat, driven through its stdin and stdout as a real subprocess."""

from __future__ import annotations

import subprocess
import sys

from conftest import write_config


def chat(config, stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_piped_chat_greets_answers_presses_numbers_and_exits_at_end_of_input(tmp_path):
    config = write_config(tmp_path)
    result = chat(config, "biaya paspor\n/menu\n4\n", "--name", "Siti")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("bot> Halo Siti!")
    assert "[1] ❓ Tanya pertanyaan" in out
    assert "Rp" in out  # the fee answer
    assert "0-800-1000" in out  # choice 4 of the menu: contact an officer
    assert result.stderr == ""


def test_language_option_and_user_id_are_remembered_in_the_database(tmp_path):
    config = write_config(tmp_path)
    first = chat(config, "", "--lang", "en", "--user-id", "staff-1")
    assert "I am desabot" in first.stdout
    again = chat(config, "", "--user-id", "staff-1")
    assert "I am desabot" in again.stdout  # remembered without --lang
    other = chat(config, "", "--user-id", "staff-2")
    assert "Saya desabot" in other.stdout


def test_numbers_out_of_range_are_treated_as_text_and_get_a_reply(tmp_path):
    config = write_config(tmp_path)
    result = chat(config, "99\n/menu\n6\n2\n")
    assert result.returncode == 0
    assert result.stdout.count("bot> ") == 5  # the greeting and one reply per line
    assert "[2] English" in result.stdout  # 6 = language
    assert "I will use English" in result.stdout  # 2 = English


def test_empty_input_just_greets_and_exits(tmp_path):
    result = chat(write_config(tmp_path), "")
    assert result.returncode == 0
    assert result.stdout.count("bot> ") == 1
