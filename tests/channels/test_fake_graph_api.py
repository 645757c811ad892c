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


def interactive(kind: str, body: str = "Pilih:", **parts) -> dict:
    return {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, **parts}}


def reply_buttons(*pairs: tuple[str, str]) -> dict:
    return {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]}


def rows(*ids: str) -> list[dict]:
    return [{"id": i, "title": f"Pilihan {i}"} for i in ids]


@pytest.mark.parametrize(
    ("message", "accepted"),
    [
        (reply_buttons(("a", "Ya"), ("b", "Tidak")), True),
        (reply_buttons(("a", "Ya"), ("b", "Ya")), False),  # two buttons read the same
        (reply_buttons((" a", "Ya")), False),  # a space at the start of an id
        (reply_buttons(("a ", "Ya")), False),
    ],
)
def test_reply_buttons_as_meta_checks_them(graph, message, accepted):
    assert send(graph, interactive("button", action=message)).is_success is accepted


def test_lists_headers_and_footers_as_meta_checks_them(graph):
    def listing(sections: list[dict], body: str = "Pilih:", **parts) -> dict:
        action = {"button": "Pilihan", "sections": sections}
        return interactive("list", body, action=action, **parts)

    assert send(graph, listing([{"rows": rows("a", "b")}])).is_success
    assert send(graph, listing([{"rows": rows("a")}], body="x" * 4096)).is_success
    assert not send(graph, listing([{"rows": rows("a")}], body="x" * 4097)).is_success
    two_untitled = [{"rows": rows("a")}, {"rows": rows("b")}]
    assert not send(graph, listing(two_untitled)).is_success
    titled = [{"title": "Paspor", "rows": rows("a")}, {"title": "Kerja", "rows": rows("b")}]
    assert send(graph, listing(titled)).is_success
    assert not send(graph, listing([{"title": "x" * 25, "rows": rows("a")}])).is_success
    header = {"type": "text", "text": "x" * 61}
    assert not send(graph, listing([{"rows": rows("a")}], header=header)).is_success
    assert not send(graph, listing([{"rows": rows("a")}], footer={"text": "x" * 61})).is_success
    long_body = interactive("button", "x" * 1025, action=reply_buttons(("a", "Ya")))
    assert not send(graph, long_body).is_success  # a button message's body: 1,024 at most


def test_numbers_with_a_plus_and_template_parameter_counts(graph):
    plus = {"messaging_product": "whatsapp", "to": "+6281200000001", "type": "text",
            "text": {"body": "Halo"}}  # fmt: skip
    assert httpx.post(
        f"{graph.base_url}/{graph.phone_number_id}/messages", headers=AUTH, json=plus
    ).is_success
    graph.parameter_counts["plain"] = 2

    def template(*values: str) -> dict:
        body = {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}
        spec = {"name": "plain", "language": {"code": "id"}, "components": [body]}
        return {"type": "template", "template": spec}

    assert send(graph, template("BP3MI", "Sesi Sabtu")).is_success
    assert code(send(graph, template("BP3MI"))) == 132000
