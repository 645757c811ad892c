"""`desabot run` as a real process: start-up failures are one clear line, never the token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from auxil.fake_bot_api import FakeBotApi
from conftest import write_config

TOKEN = "987654:REVOKED-token-must-not-leak"


def start_bot(config, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_rejected_token_stops_with_one_line_and_no_token(tmp_path):
    with FakeBotApi() as fake:
        fake.allowed_tokens = {"1:the-real-one"}
        config = write_config(tmp_path, telegram={"api_base_url": fake.base_url})
        bot = start_bot(config)
        _, stderr = bot.communicate(timeout=60)
    assert bot.returncode == 3
    lines = [line for line in stderr.splitlines() if not line.startswith("20")]  # log lines
    assert len(lines) == 1, stderr
    assert lines[0].startswith("desabot: cannot run the bot:")
    assert "Traceback" not in stderr
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr


def test_an_unreachable_bot_api_is_retried_and_sigterm_stops_cleanly(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path, telegram={"api_base_url": f"http://127.0.0.1:{port}/bot"})
    bot = start_bot(config)
    time.sleep(4)
    assert bot.poll() is None, "the bot gave up instead of retrying"
    bot.send_signal(signal.SIGTERM)
    _, stderr = bot.communicate(timeout=30)
    assert bot.returncode == 0, stderr
    assert stderr.count("event=startup_retry") >= 2
    assert TOKEN not in stderr and "Traceback" not in stderr


def test_a_malformed_webhook_secret_is_refused_before_start(tmp_path):
    config = write_config(tmp_path)
    bot = start_bot(config, {"TELEGRAM_WEBHOOK_SECRET": "has spaces & symbols!"})
    _, stderr = bot.communicate(timeout=60)
    assert bot.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in stderr and "Traceback" not in stderr
