"""The stand-in Graph API refuses pictures and image messages the way Meta documents."""

from __future__ import annotations

import httpx
import pytest

from auxil.fake_graph_api import FakeGraphApi
from auxil.pictures import picture

AUTH = {"Authorization": "Bearer test"}


@pytest.fixture
def graph():
    with FakeGraphApi() as server:
        server.templates |= {"plain", "with_image"}
        server.image_templates.add("with_image")
        yield server


def upload(graph, content: bytes, media_type: str, declared: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{graph.base_url}/{graph.phone_number_id}/media", headers=AUTH,
        data={"messaging_product": "whatsapp", "type": declared or media_type},
        files={"file": ("f", content, media_type)},
    )  # fmt: skip


def send(graph, message: dict) -> httpx.Response:
    body = {"messaging_product": "whatsapp", "to": "6281200000001", **message}
    return httpx.post(f"{graph.base_url}/{graph.phone_number_id}/messages", headers=AUTH, json=body)


def code(response: httpx.Response) -> int:
    return response.json()["error"]["code"]


def test_uploads_are_jpeg_or_png_up_to_5_mb_and_what_their_type_says(graph):
    good = upload(graph, picture("PNG"), "image/png")
    assert good.status_code == 200 and good.json()["id"] in graph.media
    assert code(upload(graph, picture("JPEG"), "image/png")) == 131053  # a JPEG called PNG
    assert code(upload(graph, picture("GIF", mode="P"), "image/gif")) == 131053
    assert code(upload(graph, b"\xff\xd8" + bytes(5 * 1024 * 1024), "image/jpeg")) == 131053
    assert code(upload(graph, picture(), "image/jpeg", declared="image/png")) == 131053


def test_image_messages_and_image_headers_need_an_uploaded_id(graph):
    media_id = upload(graph, picture(), "image/jpeg").json()["id"]
    assert send(graph, {"type": "image", "image": {"id": media_id, "caption": "Hai"}}).is_success
    assert code(send(graph, {"type": "image", "image": {"id": "123"}})) == 131009
    long = {"type": "image", "image": {"id": media_id, "caption": "x" * 1025}}
    assert code(send(graph, long)) == 100
    header = {"type": "header", "parameters": [{"type": "image", "image": {"id": media_id}}]}

    def template(name: str, *components) -> dict:
        spec = {"name": name, "language": {"code": "id"}, "components": list(components)}
        return {"type": "template", "template": spec}

    assert send(graph, template("with_image", header)).is_success
    assert code(send(graph, template("with_image"))) == 132012  # its header is missing
    assert code(send(graph, template("plain", header))) == 132012  # it has none
