"""WhatsApp webhook requests as Meta sends them: signed envelopes of messages and statuses,
and Meta itself, POSTing each message again until it is answered 200."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSecrets

SECRETS = WhatsAppSecrets("EAAG-access-token", "app-secret-123", "verify-me")
VILLAGER = "6281234567890"


def sign(body: bytes, secret: str = SECRETS.app_secret) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(messages=(), statuses=(), name: str = "Wati") -> dict:
    value: dict = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1234567890"}}
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": messages[0]["from"]}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


_ids = itertools.count(1)


def text(body: str, sender: str = VILLAGER) -> dict:
    return {
        "from": sender, "id": f"wamid.IN{next(_ids)}", "timestamp": "1764300000",
        "type": "text", "text": {"body": body},
    }  # fmt: skip


def button(action: str, sender: str = VILLAGER, kind: str = "button_reply") -> dict:
    return {
        "from": sender, "id": f"wamid.IN{next(_ids)}", "timestamp": "1764300000",
        "type": "interactive", "interactive": {"type": kind, kind: {"id": action, "title": "x"}},
    }  # fmt: skip


class Meta:
    """Meta's side of the webhook: one "DAFTAR <code>" from each phone, each POSTed again
    until it is answered 200 (what Meta does; a message answered 200 is never sent again)."""

    def __init__(self, url: str, code: str, phones: list[str]) -> None:
        self.url = url
        self.bodies = {
            phone: json.dumps(envelope([text(f"DAFTAR {code}", phone)])).encode()
            for phone in phones
        }
        self.acknowledged: set[str] = set()
        self._lock = threading.Lock()

    def post(self, phone: str) -> None:
        body = self.bodies[phone]
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError:
            return  # the bot is down: tried again later
        if answer.status_code == 200:
            with self._lock:
                self.acknowledged.add(phone)

    def deliver(self, phones: list[str], workers: int = 50) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(self.post, phones))

    def retry(self, seconds: float = 60) -> None:
        """POST what was not answered 200 again, pass after pass, for up to ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = [p for p in self.bodies if p not in self.acknowledged]
            if not waiting:
                return
            self.deliver(waiting)
            time.sleep(0.5)


def listening(port: int, path: str = "whatsapp") -> bool:
    """Whether the bot's webhook server answers yet."""
    try:
        httpx.get(f"http://127.0.0.1:{port}/{path}", timeout=1)
    except httpx.HTTPError:
        return False
    return True


# -- driving a WhatsAppChannel in the tests' own event loop ---------------------------------


def url(channel: WhatsAppChannel) -> str:
    return f"http://127.0.0.1:{channel.config.port}/{channel.config.path}"


async def post(channel: WhatsAppChannel, payload, signature: str | None = "good") -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature:
        headers["X-Hub-Signature-256"] = signature
    async with httpx.AsyncClient() as client:
        response = await client.post(url(channel), content=body, headers=headers)
    return response.status_code


async def quiet_villager(channel: WhatsAppChannel, wa_id: str, hours_ago: float) -> int:
    """A WhatsApp villager whose last message was ``hours_ago`` hours ago."""
    db = channel.core.db
    await post(channel, envelope([text("halo", sender=wa_id)]))
    for _ in range(250):  # handled and logged
        row = await db.fetchone(
            "SELECT p.id FROM people p JOIN messages m ON m.person_id = p.id"
            " WHERE p.channel_user_id = ?",
            (wa_id,),
        )
        if row:
            break
        await asyncio.sleep(0.02)
    then = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="milliseconds")
    await db.write_one("UPDATE messages SET received_at = ? WHERE person_id = ?", (then, row[0]))
    return row[0]


async def wait_for_sent(graph, to: str, matches, timeout: float = 15) -> None:
    """Until the stand-in has accepted a message to ``to`` that ``matches``."""
    for _ in range(int(timeout / 0.02)):
        if any(matches(m) for m in graph.sent(to)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing matching was sent to {to}")


@contextlib.asynccontextmanager
async def running_whatsapp(make_config, graph, **settings) -> AsyncIterator[WhatsAppChannel]:
    """The WhatsApp channel on the app, talking to the stand-in ``graph``, its webhook on a
    free port; ``settings``: more of config.yaml's whatsapp section."""
    from auxil.channels import free_port
    from bot.app import open_app

    config = make_config(
        whatsapp={"enabled": True, "api_base_url": graph.base_url, "port": free_port(),
                  "phone_number_id": graph.phone_number_id, **settings}
    )  # fmt: skip
    async with open_app(config) as app:
        channel = WhatsAppChannel(app, config.whatsapp, SECRETS)
        await channel.start()
        try:
            yield channel
        finally:
            await channel.stop()
