"""The WhatsApp channel: signed webhook requests in, the stand-in Graph API out, the real core
and a real SQLite file in between."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from auxil.channels import free_port
from auxil.fake_bot_api import FakeBotApi
from auxil.fake_graph_api import FakeGraphApi
from auxil.sessions import a_session
from auxil.whatsapp import (
    SECRETS,
    VILLAGER,
    button,
    envelope,
    post,
    quiet_villager,
    running_whatsapp,
    sign,
    text,
    url,
)
from bot.app import open_app
from bot.channels.telegram import TelegramChannel, TelegramSecrets
from bot.channels.whatsapp import (
    SHARE_CONTACT,
    WhatsAppChannel,
    parse_webhook,
    render,
    signature_ok,
)
from bot.core.messages import Button, Incoming, Kind, Reply, update_key

# -- pure functions -----------------------------------------------------------------------------


def test_the_signature_is_checked_over_the_raw_body():
    body = b'{"entry": []}'
    assert signature_ok(body, sign(body), SECRETS.app_secret)
    assert not signature_ok(body + b" ", sign(body), SECRETS.app_secret)
    assert not signature_ok(body, sign(body, "other-secret"), SECRETS.app_secret)
    assert not signature_ok(body, None, SECRETS.app_secret)
    assert not signature_ok(body, sign(body).removeprefix("sha256="), SECRETS.app_secret)


def test_payloads_become_neutral_messages_and_statuses():
    sticker = {"from": VILLAGER, "id": "wamid.S", "type": "sticker", "sticker": {}}
    template_reply = {
        "from": VILLAGER, "id": "wamid.T", "type": "button",
        "button": {"payload": "menu", "text": "Menu"},
    }  # fmt: skip
    inbound = parse_webhook(
        envelope(
            [text("halo"), text("/datasaya"), button("subs"), button("faq:x", kind="list_reply"),
             button(SHARE_CONTACT), template_reply, sticker],
            [{"id": "wamid.OUT1", "status": "failed",
              "errors": [{"code": 131047, "title": "Re-engagement message"}]}],
        )
    )  # fmt: skip
    kinds = [(m.kind, m.text, m.media) for m in inbound.messages]
    assert kinds == [
        (Kind.TEXT, "halo", ""),
        (Kind.COMMAND, "datasaya", ""),
        (Kind.BUTTON, "subs", ""),
        (Kind.BUTTON, "faq:x", ""),
        (Kind.CONTACT, f"+{VILLAGER}", ""),  # "use this number": WhatsApp knows it
        (Kind.COMMAND, "menu", ""),  # a template's "Menu" button: as if "menu" was typed
        (Kind.OTHER, "", "sticker"),
    ]
    assert all(m.display_name == "Wati" and m.update_id for m in inbound.messages)
    [status] = inbound.statuses
    assert (status.message_id, status.status, status.code) == ("wamid.OUT1", "failed", 131047)


@pytest.mark.parametrize("payload", [[], {"entry": "x"}, {"object": "page"}, "text", None])
def test_what_is_not_a_webhook_payload_is_refused(payload):
    with pytest.raises(ValueError):
        parse_webhook(payload)


def buttons(n: int, label: str = "Pilihan") -> tuple:
    return tuple((Button(f"{label} {i}", f"act:{i}"),) for i in range(n))


def test_buttons_become_reply_buttons_or_lists_within_whatsapps_limits():
    [three] = render(Reply("Pilih", buttons(3)), "Pilih salah satu:", "Pilih")
    assert three["interactive"]["type"] == "button"
    assert len(three["interactive"]["action"]["buttons"]) == 3
    [six] = render(Reply("Menu", buttons(6)), "Pilih salah satu:", "Pilih")
    assert six["interactive"]["type"] == "list"
    assert [r["id"] for r in six["interactive"]["action"]["sections"][0]["rows"]] == [
        f"act:{i}" for i in range(6)
    ]
    long = Reply("Menu", ((Button("📅 Jadwal sesi & daftar sekarang juga", "sessions"),),))
    [one] = render(long, "Pilih salah satu:", "Pilih")
    [title] = [b["reply"]["title"] for b in one["interactive"]["action"]["buttons"]]
    assert len(title) <= 20 and title.startswith("📅 Jadwal")  # still one tap
    five = Reply(
        "Menu", tuple((Button(f"📅 Jadwal sesi nomor {i} di desa", f"s:{i}"),) for i in range(5))
    )
    [listed] = render(five, "Pilih salah satu:", "Pilih")
    row = listed["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) <= 24 and row["description"].startswith("📅 Jadwal sesi nomor 0")
    same = Reply(
        "?",
        (
            (Button("Daftar sesi pagi di balai desa", "a"),),
            (Button("Daftar sesi pagi di balai kota", "b"),),
        ),
    )
    [clash] = render(same, "Pilih salah satu:", "Pilih")
    assert clash["interactive"]["type"] == "list"  # cut titles would be equal: a list instead
    twelve = render(Reply("Banyak", buttons(12)), "Pilih salah satu:", "Pilih")
    assert [len(m["interactive"]["action"]["sections"][0]["rows"]) for m in twelve] == [10, 2]


def test_a_long_text_goes_first_and_the_buttons_follow_with_a_short_body():
    messages = render(Reply("x" * 3000, buttons(2)), "Pilih salah satu:", "Pilih")
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert messages[0]["text"]["body"] == "x" * 3000
    assert messages[-1]["interactive"]["body"]["text"] == "Pilih salah satu:"
    lines = "\n".join(["kalimat panjang " * 12] * 40)  # ~7,700 characters over many lines
    parts = render(Reply(lines, buttons(2)), "Pilih salah satu:", "Pilih")
    assert [m["type"] for m in parts] == ["text", "text", "interactive"]
    assert all(len(m["text"]["body"]) <= 4096 for m in parts[:-1])


def test_the_phone_question_offers_this_number_and_skip():
    [message] = render(Reply("Nomor HP?", share_contact=("📱 Kirim nomor", "Lewati")), "", "")
    ids = [b["reply"]["id"] for b in message["interactive"]["action"]["buttons"]]
    assert ids == [SHARE_CONTACT, "wa:skip"]


# -- the channel, end to end ----------------------------------------------------------------


@pytest.fixture
def graph() -> FakeGraphApi:
    with FakeGraphApi() as server:
        yield server


@pytest.fixture
async def whatsapp(make_config, graph) -> AsyncIterator[WhatsAppChannel]:
    soon = {"reminder_soon": {"name": "pengingat_sesi", "parameters": ["title", "when"]}}
    async with running_whatsapp(make_config, graph, templates=soon) as channel:
        yield channel


async def wait_for(predicate, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def visible(message: dict) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    if message["type"] == "interactive":
        return message["interactive"]["body"]["text"]
    return json.dumps(message["template"])


async def test_meta_verifies_the_webhook_with_our_token_only(whatsapp):
    async with httpx.AsyncClient() as client:
        params = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
        ok = await client.get(url(whatsapp), params=params)
        wrong = await client.get(url(whatsapp), params={**params, "hub.verify_token": "guess"})
    assert (ok.status_code, ok.text) == (200, "42")
    assert wrong.status_code == 403


async def test_unsigned_forged_or_malformed_requests_are_refused_and_not_acted_on(whatsapp, graph):
    payload = envelope([text("berapa biaya paspor")])
    assert await post(whatsapp, payload, signature=None) == 403
    assert await post(whatsapp, payload, signature=sign(b"other body")) == 403
    assert await post(whatsapp, payload, signature="sha1=abc") == 403
    assert await post(whatsapp, b"{not json", signature="good") == 400
    assert await post(whatsapp, {"object": "whatsapp_business_account"}) == 400
    await asyncio.sleep(0.3)
    assert graph.sent() == []


async def test_a_question_on_whatsapp_gets_the_faq_answer_and_buttons(whatsapp, graph):
    assert await post(whatsapp, envelope([text("berapa biaya paspor")])) == 200
    await wait_for(lambda: graph.sent(VILLAGER))
    answer = graph.sent(VILLAGER)
    assert any("Rp" in visible(m) for m in answer)
    assert "Ketik BERHENTI" in visible(answer[-1])  # first contact: announcements and STOP
    assert not graph.errors  # every message within WhatsApp's limits
    assert await post(whatsapp, envelope([button("menu")])) == 200
    await wait_for(lambda: any("Menu utama" in visible(m) for m in graph.sent(VILLAGER)))
    menu = [m for m in graph.sent(VILLAGER) if "Menu utama" in visible(m)][-1]
    assert menu["interactive"]["type"] == "list"  # six choices: a list
    rows = menu["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows][:3] == ["ask", "sessions", "registrations"]


async def test_other_kinds_get_a_kind_reply_and_a_repeat_is_answered_once(whatsapp, graph):
    image = {"from": VILLAGER, "id": "wamid.IMG", "type": "image", "image": {"id": "1"}}
    for _ in range(2):  # Meta retried the same delivery
        assert await post(whatsapp, envelope([image])) == 200
    await wait_for(lambda: graph.sent(VILLAGER))
    await asyncio.sleep(0.3)
    assert len(graph.sent(VILLAGER)) == 1
    assert "ketik" in visible(graph.sent(VILLAGER)[0]).lower()


async def test_status_callbacks_update_the_outbox(whatsapp, graph):
    db = whatsapp.core.db
    await post(whatsapp, envelope([text("halo")]))
    await wait_for(lambda: graph.sent(VILLAGER))  # handled: the person exists
    session = await a_session(db)
    person = await db.fetchone("SELECT id FROM people WHERE channel = 'whatsapp'")
    from bot.domain.outbox import enqueue

    keys = ("a", "b", "c", "d")
    async with db.write() as conn:
        for key in keys:
            await enqueue(
                conn, person_id=person[0], session_id=session.id,
                text_key="notice_session_changed", dedupe_key=key, due=datetime.now(UTC),
            )  # fmt: skip
    await wait_for(lambda: len(graph.sent(VILLAGER)) >= 5)

    async def rows() -> list:
        return await db.fetchall(
            "SELECT platform_id, status, receipt, last_error, due_at FROM outbox"
            " WHERE text_key != 'reply' ORDER BY id"
        )

    for _ in range(100):
        if all(r["platform_id"] for r in await rows()):
            break
        await asyncio.sleep(0.02)
    first, second, third, fourth = (r["platform_id"] for r in await rows())

    def failed(message_id: str, code: int) -> dict:
        return {"id": message_id, "status": "failed", "errors": [{"code": code, "title": "x"}]}

    statuses = [
        {"id": first, "status": "delivered"},
        {"id": first, "status": "read"},
        {"id": first, "status": "sent"},  # late: never overwrites "read"
        failed(second, 131026),  # undeliverable: failed for good
        failed(third, 131049),  # Meta's per-person limit: for a while, so later
        {"id": fourth, "status": "sent"},
    ]
    assert await post(whatsapp, envelope(statuses=statuses)) == 200
    for _ in range(100):
        got = await rows()
        if got[1]["status"] == "failed" and got[2]["status"] == "pending":
            break
        await asyncio.sleep(0.02)
    assert (got[0]["status"], got[0]["receipt"], got[0]["last_error"]) == ("sent", "read", None)
    assert (got[1]["status"], got[1]["receipt"]) == ("failed", "failed")
    assert "131026" in got[1]["last_error"]
    assert got[2]["status"] == "pending" and "131049" in got[2]["last_error"]
    later = datetime.fromisoformat(got[2]["due_at"]) - datetime.now(UTC)
    assert later > timedelta(minutes=50)  # the same wait as the error answered at once
    assert (got[3]["status"], got[3]["receipt"]) == ("sent", "sent")


async def test_the_old_window_code_470_sends_the_template_instead(whatsapp, graph):
    graph.templates.add("pengingat_sesi")
    session = await a_session(whatsapp.core.db)
    person = await quiet_villager(whatsapp, "6285200000009", hours_ago=1)
    await queue(whatsapp, person, "reminder_soon", session)
    row = await outbox_row(whatsapp.core.db, person, "reminder_soon")
    message_id = (
        await whatsapp.core.db.fetchone(
            "SELECT platform_id FROM outbox WHERE person_id = ? AND text_key = 'reminder_soon'",
            (person,),
        )
    )[0]
    assert row["status"] == "sent"
    refused = {"id": message_id, "status": "failed", "errors": [{"code": 470, "title": "x"}]}
    assert await post(whatsapp, envelope(statuses=[refused])) == 200
    await wait_for(lambda: graph.sent("6285200000009")[-1]["type"] == "template")
    assert graph.sent("6285200000009")[-1]["template"]["name"] == "pengingat_sesi"


async def queue(channel, person_id: int, key: str, session) -> None:
    from bot.domain.outbox import enqueue

    async with channel.core.db.write() as conn:
        await enqueue(
            conn, person_id=person_id, session_id=session.id, text_key=key,
            dedupe_key=f"{key}:{person_id}", due=datetime.now(UTC),
        )  # fmt: skip


async def outbox_row(db, person_id: int, key: str):
    for _ in range(250):
        row = await db.fetchone(
            "SELECT status, last_error FROM outbox WHERE person_id = ? AND text_key = ?",
            (person_id, key),
        )
        if row and row["status"] not in ("pending", "sending"):
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"{key} still queued")


async def test_outside_the_24_hour_window_a_template_goes_or_the_message_is_parked(whatsapp, graph):
    graph.templates.add("pengingat_sesi")
    session = await a_session(whatsapp.core.db, title="Sosialisasi paspor")
    person = await quiet_villager(whatsapp, "6285200000001", hours_ago=30)
    sent_before = len(graph.sent("6285200000001"))
    await queue(whatsapp, person, "reminder_soon", session)  # a template is configured
    await queue(whatsapp, person, "notice_promoted", session)  # none is
    db = whatsapp.core.db
    assert (await outbox_row(db, person, "reminder_soon"))["status"] == "sent"
    parked = await outbox_row(db, person, "notice_promoted")
    assert parked["status"] == "parked" and "24-hour window" in parked["last_error"]
    [template] = graph.sent("6285200000001")[sent_before:]
    assert template["type"] == "template"
    assert template["template"]["name"] == "pengingat_sesi"
    parameters = [p["text"] for p in template["template"]["components"][0]["parameters"]]
    assert parameters[0] == "Sosialisasi paspor" and "WITA" in parameters[1]


async def test_whatsapp_saying_the_window_closed_sends_the_template_instead(whatsapp, graph):
    graph.templates.add("pengingat_sesi")
    session = await a_session(whatsapp.core.db)
    person = await quiet_villager(whatsapp, "6285200000002", hours_ago=1)
    graph.outside_window.add("6285200000002")  # WhatsApp knows better: 131047, afterwards
    graph.status_webhook = (url(whatsapp), SECRETS.app_secret)
    await queue(whatsapp, person, "reminder_soon", session)
    db = whatsapp.core.db
    for _ in range(300):
        sent = graph.sent("6285200000002")
        if sent and sent[-1]["type"] == "template":
            break
        await asyncio.sleep(0.02)
    assert sent[-1]["type"] == "template"
    assert [m["type"] for m in sent].count("template") == 1
    assert (await outbox_row(db, person, "reminder_soon"))[0] == "sent"


async def test_rate_limit_errors_are_retried_later(whatsapp, graph):
    session = await a_session(whatsapp.core.db)
    person = await quiet_villager(whatsapp, "6285200000003", hours_ago=1)
    graph.fail_next(130429)
    await queue(whatsapp, person, "notice_promoted", session)
    db = whatsapp.core.db
    for _ in range(250):
        row = await db.fetchone(
            "SELECT status, attempts, due_at, last_error FROM outbox WHERE text_key != 'reply'"
        )
        if row["attempts"] >= 1 and row["status"] == "pending":
            break
        await asyncio.sleep(0.02)
    assert row["status"] == "pending" and "130429" in row["last_error"]
    import time

    assert whatsapp._slow_until > time.monotonic()  # half the rate for a while
    assert datetime.fromisoformat(row["due_at"]) > datetime.now(UTC)  # later, not now


async def test_a_whatsapp_and_a_telegram_villager_in_one_session_are_both_reminded(
    make_config, graph
):
    with FakeBotApi() as telegram_api:
        config = make_config(
            telegram={"api_base_url": telegram_api.base_url, "poll_timeout": 1},
            whatsapp={
                "enabled": True, "api_base_url": graph.base_url,
                "phone_number_id": graph.phone_number_id, "port": free_port(),
            },
        )  # fmt: skip
        async with open_app(config) as app:
            whatsapp = WhatsAppChannel(app, config.whatsapp, SECRETS)
            telegram = TelegramChannel(
                app, config.telegram, TelegramSecrets("1:t"), app.texts.commands
            )
            await whatsapp.start()
            await telegram.start()
            try:
                # the reminder 2 hours before the start falls due a few seconds after both
                # have signed up
                soon = datetime.now(UTC) + timedelta(hours=2, seconds=8)
                from bot.domain.sessions import create_session

                session = await create_session(
                    app.db, title_id="Sosialisasi migrasi aman", title_en="Safe",
                    village="Sibowi", place="Balai desa", starts=soon,
                    ends=soon + timedelta(hours=2), capacity=10,
                )  # fmt: skip
                await post(whatsapp, envelope([text(f"DAFTAR {session.code}")]))
                for step in ("Wati Lestari", "Kaleke", "lewati"):
                    await asyncio.sleep(0.3)
                    await post(whatsapp, envelope([text(step)]))
                await asyncio.sleep(0.3)
                await post(whatsapp, envelope([button("consent:yes")]))
                telegram_api.push_text(7100, f"DAFTAR {session.code}")
                for step in ("Budi Santoso", "Sibowi", "lewati"):
                    await asyncio.sleep(0.3)
                    telegram_api.push_text(7100, step)
                await asyncio.sleep(0.3)
                telegram_api.push_callback(7100, "consent:yes")

                def reminded_on_whatsapp() -> bool:
                    return any("Sebentar lagi" in visible(m) for m in graph.sent(VILLAGER))

                def reminded_on_telegram() -> bool:
                    return any(
                        "Sebentar lagi" in m["visible_text"] for m in telegram_api.sent(7100)
                    )

                await wait_for(lambda: reminded_on_whatsapp() and reminded_on_telegram(), 30)
                registered = await app.db.fetchall(
                    "SELECT p.channel FROM registrations r JOIN people p ON p.id = r.person_id"
                    " WHERE r.status = 'confirmed' ORDER BY p.channel"
                )
                assert [r[0] for r in registered] == ["telegram", "whatsapp"]
            finally:
                await telegram.stop()
                await whatsapp.stop()
    assert not graph.errors


def test_run_with_whatsapp_only_needs_its_three_secrets_and_serves_the_webhook(tmp_path, graph):
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import write_config

    port = free_port()
    config = write_config(
        tmp_path,
        whatsapp={
            "enabled": True, "api_base_url": graph.base_url,
            "phone_number_id": graph.phone_number_id, "port": port,
        },
    )  # fmt: skip
    command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "WHATSAPP"))}
    missing = subprocess.run(
        command, env={**base_env, "WHATSAPP_ACCESS_TOKEN": "x"}, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "set WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN" in missing.stderr
    env = {
        **base_env,
        "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
        "WHATSAPP_APP_SECRET": SECRETS.app_secret,
        "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
    }
    bot = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        params = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "7"}
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/whatsapp", params=params)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the webhook server did not start"
                time.sleep(0.1)
        assert (answer.status_code, answer.text) == (200, "7")
        body = json.dumps(envelope([text("halo")])).encode()
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        assert httpx.post(f"http://127.0.0.1:{port}/whatsapp", content=body, headers=headers)
        deadline = time.monotonic() + 30
        while not graph.sent(VILLAGER):
            assert time.monotonic() < deadline, "no reply reached the Graph API"
            time.sleep(0.05)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=30)
    assert bot.returncode == 0, stderr
    for value in (SECRETS.access_token, SECRETS.app_secret, SECRETS.verify_token, VILLAGER):
        assert value not in stderr


def test_a_text_file_is_sent_as_messages():
    reply = Reply("Data Anda:", document=("data-saya-1.txt", b"baris 1\nbaris 2"))
    messages = render(reply, "Pilih salah satu:", "Pilih")
    assert [m["text"]["body"] for m in messages] == ["Data Anda:", "baris 1\nbaris 2"]


def test_template_parameters_are_one_line_and_never_empty():
    from bot.channels.whatsapp import template_parameter

    assert template_parameter("Sesi paspor\n\nSabtu   jam 9\tdi balai") == (
        "Sesi paspor · Sabtu jam 9 di balai"
    )
    assert template_parameter("") == "-" and template_parameter(None) == "-"


async def test_a_first_hello_gets_the_welcome_and_the_skip_button_works(whatsapp, graph):
    wa = "6285200000009"
    await post(whatsapp, envelope([text("halo kak", sender=wa)]))
    await wait_for(lambda: graph.sent(wa))
    assert "Saya desabot" in visible(graph.sent(wa)[0])  # welcome, not "I cannot answer"
    session = await a_session(whatsapp.core.db)
    steps = [
        text(f"DAFTAR {session.code}", sender=wa), text("Wati Lestari", sender=wa),
        text("Pesaku", sender=wa), button("wa:skip", sender=wa),
    ]  # fmt: skip
    steps[-1]["interactive"]["button_reply"]["title"] = "Lewati"
    for step in steps:
        count = len(graph.sent(wa))
        await post(whatsapp, envelope([step]))
        await wait_for(lambda count=count: len(graph.sent(wa)) > count)
    await asyncio.sleep(0.2)
    assert "Setuju" in json.dumps(graph.sent(wa)[-1], ensure_ascii=False)  # on to consent


def test_reactions_and_system_messages_need_no_reply():
    reaction = {"from": VILLAGER, "id": "wamid.R", "type": "reaction", "reaction": {}}
    welcome = {"from": VILLAGER, "id": "wamid.W", "type": "request_welcome"}
    [start] = parse_webhook(envelope([reaction, welcome])).messages
    assert (start.kind, start.text) == (Kind.COMMAND, "start")


def test_a_template_for_a_message_that_is_never_queued_is_a_config_error(make_config):
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="reminder_son: expected a message that can be queued"):
        make_config(whatsapp={"templates": {"reminder_son": {"name": "x"}}})


def test_templates_per_language_fall_back_to_indonesian_and_bodies_are_counted(make_config):
    from bot.config import ConfigError

    both = {"office": {"name": "pengumuman_desa", "parameters": ["office", "text"],
                       "body": "Pengumuman dari {{1}}:\n{{2}}"}}  # fmt: skip
    config = make_config(whatsapp={"templates": {"broadcast": {
        "id": both["office"],
        "en": {"name": "village_notice", "language": "en", "parameters": ["text"]},
    }, "reminder_soon": {"name": "pengingat_sesi", "parameters": ["title", "when"]}}})  # fmt: skip
    whatsapp = config.whatsapp
    assert whatsapp.template_for("broadcast", lang="en").name == "village_notice"
    assert whatsapp.template_for("broadcast", lang="id").name == "pengumuman_desa"
    assert whatsapp.template_for("broadcast", lang="xx").name == "pengumuman_desa"
    assert whatsapp.template_for("reminder_soon", lang="en").name == "pengingat_sesi"
    filled = whatsapp.template_for("broadcast").filled({"office": "BP3MI", "text": "Sesi Sabtu"})
    assert filled == "Pengumuman dari BP3MI:\nSesi Sabtu"
    wrong = {"name": "x", "parameters": ["office", "text"], "body": "Dari {{1}} saja"}
    with pytest.raises(ConfigError) as error:
        make_config(whatsapp={"templates": {"broadcast": wrong}})
    assert "whatsapp.templates.broadcast.body: expected the approved text with {{1}}..{{2}}" in str(
        error.value
    )
    assert "config.yaml:" in str(error.value)  # the file and its line
    with pytest.raises(ConfigError, match=r"expected name: .one template. or one per language"):
        make_config(whatsapp={"templates": {"broadcast": {"fr": {"name": "x"}}}})


async def test_a_failed_callback_with_any_code_is_sorted_like_the_same_error_at_once(
    whatsapp, graph
):
    graph.status_webhook = (url(whatsapp), SECRETS.app_secret)
    session = await a_session(whatsapp.core.db)
    person = await quiet_villager(whatsapp, "6285200000011", hours_ago=1)
    graph.fail_later["6285200000011"] = 131026  # accepted, then "undeliverable"
    await queue(whatsapp, person, "notice_promoted", session)
    db = whatsapp.core.db
    for _ in range(300):
        row = await outbox_row(db, person, "notice_promoted")
        if row["status"] == "failed":
            break
        await asyncio.sleep(0.02)
    assert row["status"] == "failed" and "131026" in row["last_error"]


async def test_a_reply_whatsapp_refuses_for_a_moment_is_sent_again_not_dropped(whatsapp, graph):
    graph.fail_next(130429)  # the rate limit: try again in a few seconds
    assert await post(whatsapp, envelope([text("berapa biaya paspor")])) == 200
    await wait_for(lambda: graph.sent(VILLAGER), timeout=20)
    [answer] = graph.sent(VILLAGER)
    assert "paspor" in visible(answer).lower()
    row = await whatsapp.core.db.fetchone("SELECT attempts FROM outbox WHERE text_key = 'reply'")
    assert row["attempts"] >= 2


async def test_the_webhook_answers_200_only_once_the_message_is_stored(whatsapp):
    message = text("halo")
    assert await post(whatsapp, envelope([message])) == 200
    sent = Incoming("whatsapp", VILLAGER, Kind.TEXT, update_id=f"1234567890:{message['id']}")
    key = update_key(sent)
    row = await whatsapp.core.db.fetchone("SELECT 1 FROM intake WHERE update_key = ?", (key,))
    assert row is not None  # stored by then, with the phone number id in its key


def test_one_senders_messages_are_taken_in_the_order_they_were_written():
    later, earlier = text("jam berapa?"), text("halo")
    later["timestamp"], earlier["timestamp"] = "1764300100", "1764300050"
    inbound = parse_webhook(envelope([later, earlier]))  # Meta's batch, out of order
    assert [m.text for m in inbound.messages] == ["halo", "jam berapa?"]


def test_a_username_user_is_kept_and_answered_by_their_business_scoped_id():
    scoped = "ID.13491208655302741918"
    message = {"from_user_id": scoped, "id": "wamid.U1", "timestamp": "1764300000",
               "type": "text", "text": {"body": "halo"}}  # fmt: skip
    body = envelope([{**message, "from": VILLAGER}])
    body["entry"][0]["changes"][0]["value"]["messages"] = [message]  # no phone number
    body["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"profile": {"name": "Wati", "username": "wati.desa"}, "user_id": scoped}
    ]
    [incoming] = parse_webhook(body).messages
    assert (incoming.user_id, incoming.display_name) == (scoped, "Wati")
    share = parse_webhook(envelope([button(SHARE_CONTACT)])).messages[0]
    assert share.kind == Kind.CONTACT  # a phone user's "use this number" shares it...
    body = envelope([button(SHARE_CONTACT)])
    [their_share] = body["entry"][0]["changes"][0]["value"]["messages"]
    their_share["from_user_id"] = scoped
    del their_share["from"]
    [theirs] = parse_webhook(body).messages
    assert theirs.kind == Kind.TEXT  # ...a username user has none to share: asked to type it


async def test_a_villagers_own_data_goes_as_a_document_uploaded_for_them(whatsapp, graph):
    await post(whatsapp, envelope([text("halo", sender="6285200000021")], name="Wati Lestari"))
    await wait_for(lambda: graph.sent("6285200000021"))
    await post(whatsapp, envelope([text("/datasaya", sender="6285200000021")]))
    await wait_for(lambda: any(m["type"] == "document" for m in graph.sent("6285200000021")))
    [document] = [m for m in graph.sent("6285200000021") if m["type"] == "document"]
    media_type, content = graph.media[document["document"]["id"]]
    assert media_type == "text/plain" and document["document"]["filename"].endswith(".txt")
    assert "6285200000021" in content.decode("utf-8")  # their own data, in the file
    assert graph.errors == []


async def test_the_webhook_keeps_when_each_message_was_written(whatsapp, graph):
    message = text("halo", sender="6285200000041")
    message["timestamp"] = "1764300777"
    assert await post(whatsapp, envelope([message])) == 200
    rows = await whatsapp.core.db.fetchall("SELECT written_at FROM intake")
    assert 1764300777 in [r[0] for r in rows]  # so messages waiting together go as written


async def test_a_reply_failed_later_in_a_callback_is_recorded_as_failed_not_lost(whatsapp, graph):
    graph.status_webhook = (url(whatsapp), SECRETS.app_secret)
    graph.fail_later["6285200000051"] = 131000  # accepted, then "something went wrong"
    await post(whatsapp, envelope([text("berapa biaya paspor", sender="6285200000051")]))
    db = whatsapp.core.db
    for _ in range(300):
        row = await db.fetchone(
            "SELECT o.status, o.last_error FROM outbox o JOIN people p ON p.id = o.person_id"
            " WHERE p.channel_user_id = '6285200000051' AND o.text_key = 'reply'"
        )
        if row and row["status"] == "failed":
            break
        await asyncio.sleep(0.02)
    # its words are not kept once they went out, so it cannot go again: it says so
    assert row["status"] == "failed" and "131000" in row["last_error"]
