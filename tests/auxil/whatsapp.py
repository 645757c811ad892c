"""WhatsApp webhook requests as Meta sends them: signed envelopes of messages and statuses."""

from __future__ import annotations

import hashlib
import hmac
import itertools

from bot.channels.whatsapp import WhatsAppSecrets

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
