"""config.yaml: validated once; every error names file, line, key and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def test_the_bundled_config_is_valid_and_uses_wita():
    config = load_config(REPO / "config.yaml")
    assert str(config.timezone) == "Asia/Makassar"
    assert config.telegram.mode == "polling"
    assert config.offices["bp3mi"].name == "BP3MI Sulawesi Tengah"
    assert config.database == REPO / "data" / "desabot.sqlite3"


def test_every_key_of_the_bundled_config_has_a_comment():
    lines = (REPO / "config.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if (
            not stripped
            or stripped.startswith("#")
            or (not stripped.endswith(":") and ": " not in stripped)
        ):
            continue
        section_header = stripped.endswith(":") and line == line.lstrip()
        if section_header or stripped.split(":")[0] in {"bp3mi", "imigrasi", "webhook"}:
            continue
        above = lines[number - 1].strip()
        assert above.startswith("#"), f"config.yaml:{number + 1}: {stripped!r} has no comment"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "telegram:\n  mode: poll\n",
            2,
            'telegram.mode: expected one of "polling", "webhook", got \'poll\'',
        ),
        ("timezone: Mars/Base\n", 1, "timezone: expected an IANA time zone name"),
        (
            "faq:\n  threshold: high\n",
            2,
            "faq.threshold: expected a number from 0.0 to 1.0, got 'high'",
        ),
        (
            "telegram:\n  webhook:\n    port: 99999\n",
            3,
            "telegram.webhook.port: expected a whole number",
        ),
        ("databse: x.db\n", 1, "databse: unknown key; expected one of"),
        ("offices:\n  bp3mi:\n    name: ''\n", 3, "offices.bp3mi.name: expected the office's name"),
        (
            "telegram:\n  mode: webhook\n",
            2,
            "telegram.webhook.public_url: expected the public https://",
        ),
        ("telegram:\n  api_base_url: ftp://x\n", 2, "telegram.api_base_url: expected a URL"),
        ("default_language: fr\n", 1, 'default_language: expected one of "id", "en"'),
        ("offices: [1, 2]\n", 1, "offices: expected a mapping of keys"),
        ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
        (
            "telegram:\n  max_messages_per_second: 20\n  delivery_per_second: 25\n",
            3,
            "telegram.delivery_per_second: expected a whole number from 1 to 20, got 25",
        ),
        (
            "telegram:\n  staff_group_id: 12345\n",
            2,
            "telegram.staff_group_id: expected the staff group's numeric chat id",
        ),
        ("broadcasts:\n  office: dinas\n", 2, 'broadcasts.office: expected one of "bp3mi"'),
        ("whatsapp:\n  enabled: yes please\n", 2, "whatsapp.enabled: expected true or false"),
        (
            "whatsapp:\n  enabled: true\n",
            2,
            "whatsapp.phone_number_id: expected the numeric phone number id",
        ),
        (
            "whatsapp:\n  templates:\n    reminder_soon:\n      name: t\n"
            "      parameters: [title, nik]\n",
            5,
            "whatsapp.templates.reminder_soon.parameters: expected values among name, title",
        ),
        (
            "broadcasts:\n  quiet_start_hour: 24\n",
            2,
            "broadcasts.quiet_start_hour: expected a whole number from 0 to 23",
        ),
        ("telegram: {mode: polling\n", 2, "not valid YAML"),
    ],
)
def test_errors_name_file_line_key_and_expectation(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere\.yaml: file not found"):
        load_config(tmp_path / "nothere.yaml")


def test_the_token_is_not_a_config_key(tmp_path):
    with pytest.raises(ConfigError, match=r"telegram\.token: unknown key"):
        load_config(write(tmp_path, "telegram:\n  token: '123:abc'\n"))


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, "database: db/x.sqlite3\nfaq_dir: content\n"))
    assert config.database == tmp_path / "db" / "x.sqlite3"
    assert config.faq_dir == tmp_path / "content"


def run_cli(*args: str, env: dict | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        cwd=REPO,
        env=env,
    )


@pytest.mark.parametrize("command", ["run", "chat"])
def test_a_bad_config_exits_non_zero_with_one_line_and_no_traceback(tmp_path, command):
    path = write(tmp_path, "telegram:\n  mode: poll\n")
    result = run_cli(command, "--config", str(path), env={"TELEGRAM_BOT_TOKEN": "1:x", "PATH": ""})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"{path}:2: telegram.mode" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_a_token_says_which_variable_to_set(tmp_path):
    result = run_cli("run", "--config", str(REPO / "config.yaml"), env={"PATH": ""})
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_list_used_as_a_key_is_reported_not_a_crash(tmp_path):
    path = write(tmp_path, "? [a, b]\n: 1\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:1: a key must be a word"):
        load_config(path)


@pytest.mark.parametrize("before", [True, False], ids=["--config X check", "check --config X"])
@pytest.mark.parametrize("command", [["check"], ["faq", "check"], ["sessions", "list"]])
def test_the_config_file_named_before_or_after_the_command_is_the_one_read(
    tmp_path, before, command
):
    """Run from the repository, whose ./config.yaml is valid: only X has the mistake, so a
    command that ignored X (as `desabot --config X check` once did) would pass."""
    path = write(tmp_path, "telegram:\n  mode: poll\n")
    args = ["--config", str(path), *command] if before else [*command, "--config", str(path)]
    result = run_cli(*args)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert f"{path}:2: telegram.mode" in result.stdout + result.stderr


def test_help_shows_both_places_of_the_config_option():
    top = run_cli("--help").stdout
    sub = run_cli("check", "--help").stdout
    assert "--config CONFIG" in top and "--config CONFIG" in sub
    assert "--config PATH may come before or after the command" in top
