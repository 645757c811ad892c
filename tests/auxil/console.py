"""The staff console in tests: its ASGI app over httpx, a browser's cookies kept."""

from __future__ import annotations

import json

import httpx

from bot.domain import inbox
from bot.domain.people import touch_person, update_profile

PASSWORD = "kata sandi yang panjang"


def client(app, **headers: str) -> httpx.AsyncClient:
    """A browser on the console app (in this event loop, on the test's database)."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://console.test", headers=headers)


async def sign_in(browser: httpx.AsyncClient, name: str) -> None:
    answer = await browser.post("/masuk", data={"name": name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


async def asks(db, user: str, name: str, question: str, channel: str = "whatsapp") -> int:
    person = await touch_person(db, channel, user, name, "id")
    await update_profile(db, person.id, full_name=name, village="Pesaku", consent_at="x")
    asked = await inbox.ask(db, person_id=person.id, question=question, source="asked",
                            group=None, values={})  # fmt: skip
    return asked.inbox_id


async def answers_queued(db) -> list[dict]:
    rows = await db.fetchall("SELECT values_json FROM outbox WHERE text_key = 'officer_answer'")
    return [json.loads(r[0]) for r in rows]
