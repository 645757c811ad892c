"""`desabot staff ...` and the console served by `desabot run` and `desabot console`: real
processes, a real database file, a real HTTP sign-in."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys

import httpx
import pytest

from auxil.channels import free_port
from auxil.fake_bot_api import FakeBotApi
from auxil.processes import desabot, wait_until
from conftest import write_config

PASSWORD = "kata sandi yang panjang"


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path, console={"port": free_port()})


def test_accounts_are_made_listed_disabled_and_given_new_passwords(config, tmp_path):
    made = desabot(config, "staff", "add", "rina.bp3mi", "--role", "admin")
    assert made.returncode == 0, made.stderr
    generated = re.search(r"shown only now, give it to the person\): (\S+)", made.stdout)
    assert generated and len(generated.group(1)) >= 16
    chosen = desabot(config, "staff", "add", "budi", "--role", "officer", "--password-stdin",
                     stdin=PASSWORD + "\n")  # fmt: skip
    assert chosen.returncode == 0 and "shown only now" not in chosen.stdout
    weak = desabot(config, "staff", "add", "sari", "--role", "officer", "--password-stdin",
                   stdin="pendek\n")  # fmt: skip
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
    twice = desabot(config, "staff", "add", "BUDI", "--role", "admin")
    assert twice.returncode == 1 and "already an account named" in twice.stderr
    assert desabot(config, "staff", "disable", "budi").returncode == 0
    assert desabot(config, "staff", "password", "rina.bp3mi").returncode == 0
    listing = desabot(config, "staff", "list").stdout
    assert re.search(r"budi\s+officer\s+disabled", listing)
    assert re.search(r"rina\.bp3mi\s+admin\s+active", listing)
    unknown = desabot(config, "staff", "disable", "nobody")
    assert unknown.returncode == 1 and "no account named 'nobody'" in unknown.stderr
    with sqlite3.connect(tmp_path / "desabot.sqlite3") as conn:
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM staff_accounts")]
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD not in "".join(hashes) and generated.group(1) not in "".join(hashes)
    assert actions == [
        "console_account_add", "console_account_add", "console_account_disable",
        "console_account_password",
    ]  # fmt: skip


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def _sign_in(port: int) -> httpx.Response:
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as browser:
        answer = browser.post("/masuk", data={"name": "budi", "password": PASSWORD})
        return browser.get(answer.headers["location"]) if answer.status_code == 303 else answer


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/masuk", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("alone", [True, False], ids=["desabot console", "desabot run"])
def test_the_console_is_served_and_an_officer_signs_in(tmp_path, alone):
    port = free_port()
    with FakeBotApi() as fake:
        config = write_config(
            tmp_path,
            console={"enabled": True, "port": port},
            telegram={"api_base_url": fake.base_url, "poll_timeout": 1},
        )
        desabot(config, "staff", "add", "budi", "--role", "officer", "--password-stdin",
                stdin=PASSWORD + "\n")  # fmt: skip
        command = ["console"] if alone else ["run"]
        process = _serve([*command, "--config", str(config)], {"TELEGRAM_BOT_TOKEN": "1:abc"})
        try:
            wait_until(lambda: _up(port), 30, "the console")
            page = _sign_in(port)
        finally:
            _stop(process)
    assert page.status_code == 200 and "Sesi mendatang" in page.text
