"""The WhatsApp conformance set (tests/channels/whatsapp_conformance/, written from Meta's
documented webhook examples): each payload parsed into the messages and statuses it should
give, then every one of them posted, signed, to the real webhook of a running WhatsApp
channel: whoever wrote something the bot answers gets an answer on the stand-in Graph API
(a username user by their business-scoped user id), and what is let be (another number of
the same business, a reaction, an edit...) is neither answered nor stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from auxil.fake_graph_api import FakeGraphApi
from auxil.whatsapp import post, running_whatsapp
from bot.channels.whatsapp import parse_webhook
from bot.core.messages import Kind

HERE = Path(__file__).with_name("whatsapp_conformance")
CASES = sorted(HERE.glob("*.json"))
OURS = "1234567890"


@pytest.fixture
def graph():
    with FakeGraphApi() as server:
        yield server


@pytest.fixture
async def whatsapp(make_config, graph):
    async with running_whatsapp(make_config, graph) as channel:
        yield channel


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def messages_of(payload: dict) -> list[dict]:
    return [m for e in payload.get("entry") or [] for c in e.get("changes") or []
            for m in (c.get("value") or {}).get("messages") or []]  # fmt: skip


def expected(message: dict) -> tuple | None:
    """What the bot should make of one message: (user, kind, text, from a picture's caption)."""
    handling, text = message["handling"], message.get("text", "")
    if handling == "ignored":
        return None
    if handling == "template_button" and text.strip().lower() == "menu":
        return (message["user"], Kind.COMMAND, "menu", False)
    return {
        "answer_text": (message["user"], Kind.TEXT, text, False),
        "template_button": (message["user"], Kind.TEXT, text, False),
        "answer_caption": (message["user"], Kind.TEXT, text, True),
        "button": (message["user"], Kind.BUTTON, message.get("button", ""), False),
        "kind_reply": (message["user"], Kind.OTHER, "", True),
        "welcome": (message["user"], Kind.COMMAND, "start", False),
    }[handling]


def test_the_set_covers_every_decided_behaviour():
    handlings = {m["handling"] for c in CASES for m in load(c)["expect"]["messages"]}
    assert len(CASES) >= 40
    assert handlings == {"answer_text", "button", "template_button", "answer_caption",
                         "kind_reply", "welcome", "ignored"}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_each_payload_gives_the_messages_and_statuses_it_should(case):
    fixture = load(case)
    inbound = parse_webhook(fixture["payload"], OURS)
    got = [(m.user_id, m.kind, m.text, bool(m.media)) for m in inbound.messages]
    written = {m["id"]: int(m["timestamp"]) for m in messages_of(fixture["payload"])}
    in_order = sorted(fixture["expect"]["messages"], key=lambda m: written.get(m["id"], 0))
    want = [e for e in map(expected, in_order) if e is not None]
    assert got == want, fixture["about"]  # in the order they were written
    statuses = [(s.message_id, s.status, s.code) for s in inbound.statuses]
    assert statuses == [(s["id"], s["status"], s["code"]) for s in fixture["expect"]["statuses"]]
    ignored = [m for m in fixture["expect"]["messages"] if m["handling"] == "ignored"]
    assert len(inbound.ignored) >= len(ignored)  # each one logged


def own_senders(fixture: dict, number: int) -> tuple[dict, dict[str, str]]:
    """The fixture's payload with its senders made its own (the set reuses a few numbers),
    and the handling of each: "answered" when any of their messages is answered."""
    text = json.dumps(fixture["payload"])
    handled: dict[str, str] = {}
    for message in fixture["expect"]["messages"]:
        user = message["user"]
        own = f"ID.{number:03d}{user[3:]}" if "." in user else f"62{number:03d}{user[-9:]}"
        text = text.replace(f'"{user}"', f'"{own}"')
        if handled.get(own) != "answered":
            handled[own] = "let_be" if message["handling"] == "ignored" else "answered"
    return json.loads(text), handled


async def test_through_the_real_webhook_the_answered_are_answered_and_the_rest_let_be(
    whatsapp, graph
):
    senders: dict[str, str] = {}
    for number, case in enumerate(CASES):
        payload, handled = own_senders(load(case), number)
        senders.update(handled)
        assert await post(whatsapp, payload) == 200, case.name
    answered = [user for user, how in senders.items() if how == "answered"]
    let_be = [user for user, how in senders.items() if how == "let_be"]
    for _ in range(750):
        if all(graph.sent(user) for user in answered):
            break
        await asyncio.sleep(0.02)
    assert [user for user in answered if not graph.sent(user)] == []
    await asyncio.sleep(0.5)  # time enough for a wrong answer to go out
    assert len(let_be) >= 10 and [user for user in let_be if graph.sent(user)] == []
    db = whatsapp.core.db
    stored = {r[0] for r in await db.fetchall("SELECT channel_user_id FROM people")}
    assert not stored & set(let_be)  # not even kept as a villager
    assert graph.errors == []  # every answer was one WhatsApp takes
