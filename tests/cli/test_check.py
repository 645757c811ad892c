"""`desabot check`: problems as file:line: message, exit 1 on any error."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write_config


def check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_bundled_config_passes_with_a_warning_for_every_unset_office_value():
    result = check(REPO / "config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stdout.splitlines() if ": warning: " in line]
    assert any(
        re.search(r"config\.yaml:\d+: warning: offices\.bp3mi\.phone is not set", w)
        for w in warnings
    )
    assert "0 error(s)" in result.stderr


def test_a_broken_faq_entry_is_reported_with_file_and_line(tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(REPO / "faq", faq)
    first = sorted(faq.glob("*.yaml"))[0]
    text = first.read_text()
    text = text.replace("related: [", "related: [tidak-ada, ", 1)
    first.write_text(text)
    config = write_config(tmp_path, faq_dir=str(faq))
    result = check(config)
    assert result.returncode == 1
    assert re.search(
        rf"{re.escape(str(first))}:\d+: [a-z-]+: related id 'tidak-ada' does not exist",
        result.stdout,
    )


def test_a_line_of_an_answer_indented_too_little_is_reported_not_dropped(tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(REPO / "faq", faq)
    paspor = faq / "paspor.yaml"
    lines = paspor.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.startswith("    en: |")) - 1
    lines.insert(at + 1, "    Telepon kantor: 0451-421234\n")  # 4 spaces instead of 6
    paspor.write_text("".join(lines), encoding="utf-8")
    result = check(write_config(tmp_path, faq_dir=str(faq)))
    assert result.returncode == 1
    assert f"{paspor}:{at + 2}: paspor-syarat: answer: 'Telepon kantor' is not a language" in (
        result.stdout
    )


def test_a_config_error_is_reported_and_fails(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("log_level: LOUD\n")
    result = check(config)
    assert result.returncode == 1
    assert f"{config}:1: log_level: expected one of" in result.stdout
