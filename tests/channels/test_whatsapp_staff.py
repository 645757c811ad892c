"""Staff on WhatsApp (whatsapp.staff_numbers): the staff commands work there as on Telegram,
and their files (the registrants' Excel) arrive as documents, through the stand-in Graph
API's media upload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from auxil.fake_graph_api import FakeGraphApi
from auxil.sessions import a_session
from auxil.whatsapp import envelope, post, running_whatsapp, text, wait_for_sent
from bot.channels.whatsapp import WhatsAppChannel

OFFICER, VILLAGER = "6281100000099", "6285200000077"


@pytest.fixture
def graph():
    with FakeGraphApi() as server:
        yield server


@pytest.fixture
async def whatsapp(make_config, graph) -> AsyncIterator[WhatsAppChannel]:
    async with running_whatsapp(make_config, graph, staff_numbers=[f"+{OFFICER}"]) as channel:
        yield channel


async def test_an_officer_on_whatsapp_gets_the_registrants_as_an_excel_document(whatsapp, graph):
    session = await a_session(whatsapp.core.db)
    await post(whatsapp, envelope([text(f"/peserta {session.code}", sender=OFFICER)]))
    await post(whatsapp, envelope([text(f"/peserta {session.code}", sender=VILLAGER)]))
    await wait_for_sent(graph, OFFICER, lambda m: m["type"] == "document")
    [document] = [m for m in graph.sent(OFFICER) if m["type"] == "document"]
    media_type, content = graph.media[document["document"]["id"]]
    assert media_type.endswith("spreadsheetml.sheet") and content.startswith(b"PK")  # xlsx
    assert document["document"]["filename"].startswith(f"peserta-{session.code}")
    await wait_for_sent(graph, VILLAGER, lambda m: True)
    assert all(m["type"] != "document" for m in graph.sent(VILLAGER))  # not for villagers
    assert graph.errors == []


def test_staff_numbers_are_numbers_with_their_country_code(make_config):
    from bot.config import ConfigError

    assert make_config(whatsapp={"staff_numbers": ["+6281100000099"]}).staff_members() >= {
        ("whatsapp", "6281100000099")
    }
    with pytest.raises(ConfigError, match=r"62\.\.\. \(the country code, not a leading 0\)"):
        make_config(whatsapp={"staff_numbers": ["081100000099"]})
