"""The programme at a glance: villagers per village (stopped, blocked), attendance per past
session, questions per topic this week and week by week, questions waiting for an officer;
staff are not counted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from auxil.console import PASSWORD, client, sign_in
from auxil.sessions import a_session
from bot.console.base import Programme
from bot.console.web import build
from bot.domain import accounts
from bot.domain.message_log import LogLine, log_message
from bot.domain.people import (
    mark_inactive,
    set_subscribed,
    set_village,
    touch_person,
    update_profile,
)
from bot.domain.registrations import check_in, register
from bot.support.passwords import hash_password

WITA = ZoneInfo("Asia/Makassar")


async def test_the_figures_a_programme_is_judged_by(db):
    await accounts.add_account(db, "budi", "officer", hash_password(PASSWORD))
    people = []
    for n, village in enumerate(["Pesaku", "Pesaku", "Kaleke"]):
        person = await touch_person(db, "telegram", str(900 + n), f"Warga {n}", "id")
        await update_profile(db, person.id, full_name=f"Warga {n}", village=village,
                             consent_at="2026-11-30")  # fmt: skip
        people.append(person.id)
    await set_subscribed(db, people[1], False)
    await mark_inactive(db, people[2])
    session = await a_session(db, "Sosialisasi paspor")
    bookings = [await register(db, session.code, person) for person in people[:2]]
    await check_in(db, bookings[0].booking_code)
    began = datetime.now(UTC) - timedelta(days=2)
    await db.write_one(  # the session took place two days ago
        "UPDATE sessions SET starts_at = ?, ends_at = ? WHERE id = ?",
        (began.isoformat(), (began + timedelta(hours=2)).isoformat(), session.id),
    )
    for _ in range(4):
        await log_message(
            db, LogLine(people[0], "text", "biaya?", "id", "faq_answer", "paspor-biaya")
        )
    await db.write_one(  # one of them two weeks ago
        "UPDATE messages SET received_at = ? WHERE id = (SELECT max(id) FROM messages)",
        ((datetime.now(UTC) - timedelta(days=14)).isoformat(timespec="milliseconds"),),
    )
    officer = await touch_person(db, "telegram", "555", "Petugas", "id", staff=True)
    await set_village(db, officer.id, "Pesaku")
    await log_message(  # staff trying the bot out: not a villager's question
        db, LogLine(officer.id, "text", "biaya?", "id", "faq_answer", "paspor-biaya")
    )
    app = build(
        db, WITA, 12, Programme(topics={"paspor-biaya": "Biaya paspor"}, channels=("telegram",))
    )
    async with client(app) as browser:
        await sign_in(browser, "budi")
        page = await browser.get("/ringkasan")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "Pesaku" in text and "2 · 1 · 0" in text and "1 · 0 · 1" in text
    assert "Sosialisasi paspor" in text and "1/2" in text  # one of two came
    assert "Biaya paspor" in text  # the topic by its title, not its id
    assert "<b>3</b><span>warga</span>" in text  # the staff member in Pesaku is not counted
    weeks = text.split('<table class="weeks">')[1].split("</table>")[0]
    assert "Biaya paspor</td>" + "".join(f'<td class="n">{n}</td>' for n in
                                          (0, 0, 0, 0, 0, 1, 0, 3)) in weeks  # fmt: skip
    assert "<svg" in page.text  # drawn by the page: the only script is the console's own htmx
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/htmx.min.js" defer>']
