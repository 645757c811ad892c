"""The staff console in tests: its ASGI app over httpx, a browser's cookies kept."""

from __future__ import annotations

import httpx

PASSWORD = "kata sandi yang panjang"


def client(app, **headers: str) -> httpx.AsyncClient:
    """A browser on the console app (in this event loop, on the test's database)."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://console.test", headers=headers)


async def sign_in(browser: httpx.AsyncClient, name: str) -> None:
    answer = await browser.post("/masuk", data={"name": name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
