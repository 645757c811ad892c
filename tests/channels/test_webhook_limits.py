"""Attacks on the WhatsApp webhook of a real `desabot run`, on loopback, each bounded in time
and count: bodies too large are refused before they are read, slow and idle connections are
closed, a crowd of them does not shut a real signed message out, and the bot's memory stays
bounded. (How fast and how much, with the old code beside it: bench/webhook_attack.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from auxil.channels import free_port
from auxil.fake_graph_api import FakeGraphApi
from auxil.processes import wait_until
from auxil.whatsapp import SECRETS, envelope, sign, text
from conftest import write_config

TIMEOUT = 2  # webhooks.timeout_seconds in these tests
CAP = 32  # webhooks.max_connections
MB = 1024 * 1024


class Bot:
    def __init__(
        self, process: subprocess.Popen, port: int, graph: FakeGraphApi, log: Path
    ) -> None:
        self.process, self.port, self.graph, self.log = process, port, graph, log
        self.path = "/whatsapp"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def signed_message(self, phone: str, words: str = "berapa biaya paspor") -> int:
        body = json.dumps(envelope([text(words, phone)])).encode()
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        return httpx.post(self.url, content=body, headers=headers, timeout=10).status_code


@pytest.fixture(scope="module")
def bot(tmp_path_factory) -> Iterator[Bot]:
    folder = tmp_path_factory.mktemp("webhook")
    port = free_port()
    with FakeGraphApi() as graph:
        config = write_config(
            folder,
            database=str(folder / "bot.sqlite3"),
            whatsapp={
                "enabled": True,
                "api_base_url": graph.base_url,
                "phone_number_id": graph.phone_number_id,
                "port": port,
            },
            webhooks={"timeout_seconds": TIMEOUT, "max_connections": CAP},
        )
        env = {
            **os.environ,
            "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
            "WHATSAPP_APP_SECRET": SECRETS.app_secret,
            "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
            env=env,
        )
        bot = Bot(process, port, graph, folder / "stderr.log")
        try:
            wait_until(lambda: _accepts(port), 30, "the webhook server")
            yield bot
        finally:
            process.terminate()
            process.wait(timeout=30)
        log = (folder / "stderr.log").read_text()
        assert "Too many open files" not in log
        assert len(log) < 200_000, "refusals must not fill the log"


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _closed(sock: socket.socket) -> bool:
    """Closed by the server: a byte cannot be sent, or the socket reads as ended."""
    try:
        sock.sendall(b"X")
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1024) == b""
    except OSError:
        return True


def _headers_only(bot: Bot, headers: dict[str, str]) -> bytes:
    """A POST's request line and headers, no body: what the server answers before reading it."""
    lines = [f"POST {bot.path} HTTP/1.1", f"Host: 127.0.0.1:{bot.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", bot.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock.recv(200)


def test_a_body_declared_too_large_is_refused_before_a_byte_of_it_is_sent(bot):
    sig = "sha256=" + "0" * 64
    answer = _headers_only(bot, {"Content-Length": str(99 * MB), "X-Hub-Signature-256": sig})
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_post_without_a_signature_is_refused_before_its_body_is_read(bot):
    answer = _headers_only(bot, {"Content-Length": str(MB // 2)})
    assert answer.startswith(b"HTTP/1.1 403")


def test_a_content_length_that_is_no_number_is_refused(bot):
    for length in ("-1", "12abc", "\u00b2"):
        answer = _headers_only(bot, {"Content-Length": length.encode().decode("unicode_escape")})
        assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400")), (length, answer)


def test_a_chunked_body_is_cut_off_at_the_limit(bot):
    """Answered as soon as it passes the limit, before its end: the end never comes here, so a
    bot waiting to read the rest would not answer at all. (Counting what the client could
    send instead measures the kernel's socket buffers, up to tens of MB on loopback.)"""
    sig = "sha256=" + "0" * 64
    head = (
        f"POST {bot.path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        f"X-Hub-Signature-256: {sig}\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for _ in range(MB // (64 * 1024) + 2):  # just past 1 MB, and no final chunk
                sock.sendall(chunk)
        except OSError:
            pass  # closed by the bot already
        try:
            answer = sock.recv(200)  # socket.timeout here: the bot was still reading
        except ConnectionResetError:
            answer = b""  # closed by the bot without a word: cut off too
    assert answer.startswith(b"HTTP/1.1 413") or answer == b""


async def test_big_bodies_at_once_leave_memory_bounded_and_real_messages_answered(bot):
    async def big(n: int) -> object:
        body = os.urandom(20 * MB)
        headers = {"X-Hub-Signature-256": sign(body)}  # even signed: too large
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                return (await client.post(bot.url, content=body, headers=headers)).status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    results = await asyncio.gather(*(big(n) for n in range(20)))
    assert all(r in (413, "RemoteProtocolError", "WriteError", "ReadError") for r in results)
    assert bot.peak_rss_mb() < 150
    assert await asyncio.to_thread(bot.signed_message, "6281399000001") == 200
    await _answered(bot, "6281399000001")


async def _answered(bot: Bot, phone: str) -> None:
    for _ in range(200):
        if bot.graph.sent(phone):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {phone}")


def test_slow_connections_are_closed_and_a_crowd_of_them_does_not_shut_out_meta(bot):
    slow = []
    for _ in range(CAP * 4):  # four times the cap, each trickling a header
        sock = socket.create_connection(("127.0.0.1", bot.port), timeout=5)
        sock.sendall(f"POST {bot.path} HTTP/1.1\r\nHost: x\r\n".encode())
        slow.append(sock)
    assert bot.signed_message("6281399000002") == 200  # evicts the oldest, gets in
    wait_until(lambda: bot.graph.sent("6281399000002"), 10, "the reply")
    open_ones = set(slow)
    deadline = time.monotonic() + TIMEOUT + 8
    while open_ones and time.monotonic() < deadline:
        time.sleep(0.5)
        for sock in list(open_ones):  # a byte every half second does not keep it open
            if _closed(sock):
                open_ones.discard(sock)
    for sock in slow:
        sock.close()
    assert not open_ones, f"{len(open_ones)} slow connections were never closed"


def test_a_flood_of_badly_signed_posts_writes_one_log_line_not_one_each(bot):
    body = json.dumps(envelope([text("halo", "6281399000003")])).encode()
    wrong = {"X-Hub-Signature-256": "sha256=" + "ab" * 32}
    with httpx.Client(timeout=10) as client:
        answers = {
            client.post(bot.url, content=body, headers=wrong).status_code for _ in range(300)
        }
        other = client.put(bot.url, content=b"x" * 1000).status_code
    assert answers == {403} and other == 405
    wait_until(lambda: "reason=signature" in bot.log.read_text(), 5, "the refusal's line")
    lines = [line for line in bot.log.read_text().splitlines() if "reason=signature" in line]
    assert len(lines) == 1 and "level=WARNING" in lines[0]
    assert "webhook_failed" not in bot.log.read_text()  # the PUT was a refusal, not an error
    assert not bot.graph.sent("6281399000003")
