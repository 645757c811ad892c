"""WhatsApp channel (WhatsApp Cloud API): a webhook server in, a thin Graph API client out.

A thin client over httpx rather than a library such as pywa: the bot needs four calls' worth
of the API (send text, interactive, template; read the webhook), wants every error code sorted
its own way (the 24-hour window, the pair rate limit) and must run against a local stand-in in
tests, which a base URL from config gives for free.

In: the webhook (bot/channels/webhook.py: size, time and connection limits) answers Meta's GET
verification and checks every POST's X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the
app secret, compared in constant time; 403 otherwise) before parsing it. Its messages are
stored in the intake table before the 200 (a 503 if they could not be, and Meta sends them
again), then handled from there, each chat in order (bot/channels/intake.py); statuses are
recorded before the 200 too. A message delivered twice (same phone number id and message id)
is acted on once. Replies go through the outbox: one refused for a moment (rate limit,
network) is sent again, from the part that failed.

Out: text split at 4096; the core's buttons as reply buttons (at most 3, titles at most 20)
or, when there are more or longer ones, a list (at most 10 rows a message). Messages queued in
the outbox go out free-form within 24 hours of the person's last message, and as the approved
template named in config outside it; without one they are parked with the reason. An
announcement's picture is uploaded once (POST /<phone number id>/media) and sent by its media
id: an image message with the text as its caption when it fits in 1,024 characters (the
buttons after it), outside the window the ``broadcast_picture`` template with the picture as
its header (or, without that template, ``broadcast`` with the text alone).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
import tornado.web
from aiolimiter import AsyncLimiter
from tornado.httputil import HTTPHeaders

from bot.channels import webhook
from bot.channels.base import Core, Delivery, Prepared, SetupError
from bot.channels.intake import Intake, arrival
from bot.config import (
    WHATSAPP_APP_SECRET_ENV,
    WHATSAPP_TOKEN_ENV,
    WHATSAPP_VERIFY_TOKEN_ENV,
    Config,
    Template,
    WebhookLimits,
    WhatsAppConfig,
    secret,
)
from bot.core.messages import (
    MAX_TEXT,
    Button,
    Incoming,
    Kind,
    Picture,
    Reply,
    fits_caption,
    split_text,
)
from bot.core.pipeline import Taken
from bot.delivery.worker import DeliveryError
from bot.domain import conversations, message_log, outbox, people
from bot.domain.outbox import Due
from bot.domain.store import DatabaseError

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
MAX_BODY = 1024  # an interactive message's body text
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
WINDOW = timedelta(hours=24)  # free-form messages only this long after the person's last one
SHARE_CONTACT = "wa:contact"  # the "use this number" button of the phone question
SKIP = "wa:skip"  # its "Lewati" button
# what a villager may send, and how it is taken (the README's table of inbound types)
IGNORED_TYPES = {"reaction", "system", "ephemeral", "edit", "revoke"}  # nothing to answer
CAPTIONED = {"image", "video", "document"}  # with a caption: the caption is the question
MEDIA_TYPES = {"image", "video", "audio", "document", "sticker", "location", "contacts",
               "order", "unsupported"}  # fmt: skip  # the kind reply: "please type"
# files sent as documents, by extension (WhatsApp's document types)
DOCUMENT_TYPES = {
    "txt": "text/plain", "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}  # fmt: skip
SCOPED_ID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")  # a business-scoped user id
TEMPLATE_ONLY = "_template"  # set on an outbox row WhatsApp refused free-form (131047)
MAX_CONCURRENT = 4
SLOW_DOWN_SECONDS = 60  # after a rate-limit error, half the rate for this long
# Graph API error codes
OUTSIDE_WINDOW = 131047
OLD_OUTSIDE_WINDOW = 470  # the same, as older API versions said it
RATE_LIMITED = 130429
PAIR_RATE_LIMITED = 131056
# temporary refusals, whatever their HTTP status: seconds to wait before trying again
RETRY_LATER = {
    RATE_LIMITED: 5.0, PAIR_RATE_LIMITED: 60.0, 4: 60.0, 80007: 60.0, 131048: 300.0,
    131049: 3600.0, 131000: 30.0, 133004: 30.0, 190: 300.0,
}  # fmt: skip
SLOWING_CODES = {RATE_LIMITED, PAIR_RATE_LIMITED, 4, 80007}
# a template's whole body may hold 1024 characters: an announcement's text gets most of it
PARAMETER_LIMIT = dict.fromkeys(("title", "when", "place", "village", "booking", "office"), 120)
PARAMETER_LIMIT.update(name=60, text=600, question=120, answer=600)


# -- signatures and webhook payloads -------------------------------------------------------


SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256: "sha256=" + HMAC-SHA256(app secret, raw body), in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@dataclass(frozen=True)
class Status:
    """What WhatsApp later says of a message it accepted: sent, delivered, read or failed."""

    message_id: str
    status: str
    error: str = ""
    code: int | None = None


@dataclass
class Inbound:
    messages: list[Incoming] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    # what was deliberately not acted on, as (message type or "other_number", why), to log
    ignored: list[tuple[str, str]] = field(default_factory=list)
    written_at: dict[str, int] = field(default_factory=dict)  # update id → Meta's timestamp


def parse_webhook(payload: object, phone_number_id: str = "") -> Inbound:
    """The messages and statuses of one webhook POST; ValueError if it is not one. A
    message's id is prefixed with the phone number id it was sent to (the payload's, or
    ``phone_number_id``). Every number of a business account posts to the same webhook: what
    was sent to another number than ``phone_number_id`` is not ours to answer or record.
    Each sender's messages come in the order they were written (their timestamps)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise ValueError("not a WhatsApp webhook payload: no entry list")
    inbound = Inbound()
    messages: list[tuple[dict, dict, str]] = []  # (message, names, the number it came to)
    for entry in payload["entry"]:
        for change in _dicts(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            number = str(number or phone_number_id)
            if phone_number_id and number != phone_number_id:
                count = len(_dicts(value.get("messages"))) + len(_dicts(value.get("statuses")))
                inbound.ignored += [("other_number", number)] * count
                continue
            names = _names(value)
            messages += [(m, names, number) for m in _dicts(value.get("messages"))]
            for status in _dicts(value.get("statuses")):
                inbound.statuses.append(_status(status))
    if all(_timestamp(m) for m, _, _ in messages):  # Meta always gives one; else as sent
        messages.sort(key=lambda item: _timestamp(item[0]))  # across entries and changes
    for message, names, number in messages:
        incoming = _incoming(message, names, number, inbound.ignored)
        if incoming is not None:
            inbound.messages.append(incoming)
            if _timestamp(message) and incoming.update_id:
                inbound.written_at[incoming.update_id] = _timestamp(message)
    return inbound


def _names(value: dict) -> dict[str, str]:
    """Profile names by phone number and by business-scoped user id."""
    names = {}
    for contact in _dicts(value.get("contacts")):
        name = str((contact.get("profile") or {}).get("name") or "")
        for key in ("wa_id", "user_id"):
            if isinstance(contact.get(key), str):
                names[contact[key]] = name
    return names


def _timestamp(message: dict) -> int:
    stamp = str(message.get("timestamp", ""))
    return int(stamp) if stamp.isdigit() else 0


def _dicts(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def sender_of(message: dict) -> str | None:
    """Who wrote: their phone number (digits), or, for someone who has a WhatsApp username and
    shows no number, their business-scoped user id ("ID.1349120865..."): kept and answered
    alike (bot/channels/whatsapp.py sends to either)."""
    phone, scoped = message.get("from"), message.get("from_user_id")
    if isinstance(phone, str) and phone.isdigit():
        return phone
    if isinstance(scoped, str) and SCOPED_ID.fullmatch(scoped):
        return scoped
    return None


def _incoming(message: dict, names: dict, number: str, ignored: list) -> Incoming | None:
    sender, message_id, kind = sender_of(message), message.get("id"), message.get("type")
    kind = str(kind or "unknown")
    if sender is None or not isinstance(message_id, str):
        ignored.append((kind, "no sender or id"))
        return None
    common = {
        "channel": CHANNEL,
        "user_id": sender,
        "display_name": names.get(sender, ""),
        "update_id": f"{number}:{message_id}",
    }
    if kind == "text":
        return _typed(str((message.get("text") or {}).get("body", "")), common)
    if kind == "interactive":
        return _interactive_reply(message.get("interactive") or {}, common, ignored)
    if kind == "button":  # a template's quick-reply button: its words, as if typed
        return _typed(str((message.get("button") or {}).get("text", "")), common)
    if kind == "request_welcome":  # the person opened the chat for the first time
        return Incoming(kind=Kind.COMMAND, text="start", **common)
    if kind in IGNORED_TYPES:
        ignored.append((kind, "nothing to answer"))
        return None
    caption = (message.get(kind) or {}).get("caption") if kind in CAPTIONED else None
    if isinstance(caption, str) and caption.strip():  # "ini lowongan dari fb, resmi ga?"
        return Incoming(kind=Kind.TEXT, text=caption, media=kind, **common)
    if kind not in MEDIA_TYPES:
        ignored.append((kind, "a type this bot does not know: answered with the kind reply"))
    return Incoming(kind=Kind.OTHER, media=kind, **common)


def _interactive_reply(interactive: dict, common: dict, ignored: list) -> Incoming | None:
    """A reply to the buttons or list the bot sent; other interactive replies (a flow's, a
    call permission's) answer nothing the bot asked, so they are let be."""
    kind = interactive.get("type")
    reply = interactive.get(kind) if kind in ("button_reply", "list_reply") else None
    if not isinstance(reply, dict):
        ignored.append((f"interactive:{kind}", "not a reply to the bot's buttons"))
        return None
    action = str(reply.get("id", ""))
    if action == SHARE_CONTACT and common["user_id"].isdigit():
        # "use this number": WhatsApp already knows it (a username user shows none)
        return Incoming(kind=Kind.CONTACT, text=f"+{common['user_id']}", **common)
    if action in (SKIP, SHARE_CONTACT):  # "Lewati": as if the word was typed
        return Incoming(kind=Kind.TEXT, text=str(reply.get("title", "")), **common)
    return Incoming(kind=Kind.BUTTON, text=action, **common)


def _typed(body: str, common: dict) -> Incoming:
    word = body.strip()
    if word.startswith("/") and len(word) > 1:  # typed like a Telegram command
        return Incoming(kind=Kind.COMMAND, text=word[1:].lower(), **common)
    if word.lower() == "menu":  # no command menu on WhatsApp: the word does it
        return Incoming(kind=Kind.COMMAND, text="menu", **common)
    return Incoming(kind=Kind.TEXT, text=body, **common)


def _status(status: dict) -> Status:
    errors = _dicts(status.get("errors"))
    code = errors[0].get("code") if errors else None
    error = f"{code}: {errors[0].get('title', '')}" if errors else ""
    return Status(str(status.get("id", "")), str(status.get("status", "")), error, code)


# -- rendering ----------------------------------------------------------------------------------


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def render(
    reply: Reply,
    choose: str,
    list_button: str,
    media_id: str | None = None,
    document_id: str | None = None,
) -> list[dict]:
    """A reply as Graph API message bodies (without "to"). ``choose``: a body for buttons
    whose text went out before; ``list_button``: the label that opens a list; ``media_id``:
    the uploaded picture of ``reply.picture`` (without one the picture is left out);
    ``document_id``: the uploaded ``reply.document`` (without one a text file goes as
    messages, another is left out)."""
    if reply.picture is not None:
        return _with_picture(replace(reply, picture=None), choose, list_button, media_id)
    buttons = _unique(reply.flat_buttons())
    if reply.share_contact:
        share, skip = reply.share_contact
        buttons = [Button(share, SHARE_CONTACT), Button(skip, SKIP)]
    parts = split_text(reply.text)
    if reply.document and document_id:  # the text, the file, then the buttons
        document = {"type": "document",
                    "document": {"id": document_id, "filename": reply.document[0]}}  # fmt: skip
        after = render(Reply(choose, reply.buttons), choose, list_button) if buttons else []
        return [*(_text(p) for p in parts), document, *after]
    if reply.document and reply.document[0].endswith(".txt"):
        # a text file (what /datasaya keeps) as messages: no media upload needed
        file_parts = split_text(reply.document[1].decode("utf-8", "replace"))
        if not buttons:
            return [_text(part) for part in parts + file_parts]
        return [
            *(_text(p) for p in parts + file_parts),
            *render(Reply(choose, reply.buttons), choose, list_button),
        ]
    if not buttons:
        return [_text(part) for part in parts]
    body = parts[-1] if len(parts[-1]) <= MAX_BODY else None
    messages = [_text(part) for part in (parts[:-1] if body else parts)]
    body = body or choose
    titles = [_short(b.label, MAX_BUTTON_TITLE) for b in buttons]
    if len(buttons) <= MAX_BUTTONS and len(set(titles)) == len(titles):
        # up to three: reply buttons, one tap each (titles cut to 20 if need be)
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": b.action, "title": title}}
                for b, title in zip(buttons, titles, strict=True)
            ]
        }
        messages.append(_interactive("button", body, action))
        return messages
    for start in range(0, len(buttons), MAX_ROWS):
        rows = [_row(b) for b in buttons[start : start + MAX_ROWS]]
        action = {
            "button": _short(list_button, MAX_BUTTON_TITLE),
            "sections": [{"rows": rows}],
        }
        messages.append(_interactive("list", body if start == 0 else choose, action))
    return messages


def _with_picture(reply: Reply, choose: str, list_button: str, media_id: str | None) -> list[dict]:
    """The picture first, the text as its caption when it fits (then the buttons alone)."""
    rest = render(reply, choose, list_button)
    if media_id is None:
        return rest
    if not fits_caption(reply.text)[CHANNEL] or reply.document or not reply.text.strip():
        return [_image(media_id), *rest]
    image = _image(media_id, reply.text)
    if not reply.buttons:
        return [image]
    return [image, *render(Reply(choose, reply.buttons), choose, list_button)]


def _image(media_id: str, caption: str = "") -> dict:
    image = {"id": media_id, **({"caption": caption} if caption else {})}
    return {"type": "image", "image": image}


def _unique(buttons: list[Button]) -> list[Button]:
    """WhatsApp refuses two buttons with one id in a message: keep the first."""
    seen: set[str] = set()
    return [b for b in buttons if not (b.action in seen or seen.add(b.action))]


def _row(button: Button) -> dict:
    row = {"id": button.action, "title": _short(button.label, MAX_ROW_TITLE)}
    if len(button.label) > MAX_ROW_TITLE:
        row["description"] = _short(button.label, MAX_ROW_DESCRIPTION)
    return row


def _text(body: str) -> dict:
    return {"type": "text", "text": {"body": body[:MAX_TEXT], "preview_url": False}}


def _interactive(kind: str, body: str, action: dict) -> dict:
    return {
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": body[:MAX_BODY]}, "action": action},
    }


def template_parameter(value: str | None, limit: int = 1024) -> str:
    """WhatsApp refuses a template parameter with a newline, a tab or more than four spaces
    in a row, and an empty one: one line, spaces squeezed, "-" for nothing."""
    lines = [" ".join(line.split()) for line in (value or "").splitlines()]
    text = " · ".join(line for line in lines if line) or "-"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def template_message(
    template: Template, values: dict[str, str], media_id: str | None = None
) -> dict:
    parameters = [
        {"type": "text", "text": template_parameter(values.get(name), PARAMETER_LIMIT[name])}
        for name in template.parameters
    ]
    components = [{"type": "body", "parameters": parameters}] if parameters else []
    if template.header == "image" and media_id:
        header = {"type": "header", "parameters": [{"type": "image", "image": {"id": media_id}}]}
        components.insert(0, header)
    return {
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": components,
        },
    }


# -- the Graph API client ---------------------------------------------------------------------


class GraphError(Exception):
    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"{code or status}: {message}")
        self.status, self.code = status, code


@dataclass(frozen=True)
class WhatsAppSecrets:
    access_token: str
    app_secret: str
    verify_token: str


class GraphClient:
    def __init__(self, config: WhatsAppConfig, token: str) -> None:
        self.url = f"{config.api_base_url}/{config.phone_number_id}/messages"
        self.media_url = f"{config.api_base_url}/{config.phone_number_id}/media"
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(20.0)
        )

    async def send(self, to: str, message: dict) -> str:
        """Send one message; returns WhatsApp's message id. Raises GraphError or httpx's."""
        # a phone number goes as "to"; a business-scoped user id (a username user) as "recipient"
        whom = {"to": to} if to.isdigit() else {"recipient": to}
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **whom}
        response = await self.http.post(self.url, json={**body, **message})
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code != 200 or "error" in data:
            error = data.get("error") or {}
            raise GraphError(response.status_code, error.get("code"), error.get("message", ""))
        return str(data["messages"][0]["id"])

    async def upload(self, data: bytes, media_type: str, file_name: str) -> str:
        """Upload a picture; returns its media id (WhatsApp keeps it 30 days)."""
        response = await self.http.post(
            self.media_url,
            data={"messaging_product": "whatsapp", "type": media_type},
            files={"file": (file_name, data, media_type)},
            timeout=httpx.Timeout(120.0),  # 5 MB on a slow uplink
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or "id" not in answer:
            error = answer.get("error") or {}
            raise GraphError(response.status_code, error.get("code"), error.get("message", ""))
        return str(answer["id"])

    async def close(self) -> None:
        await self.http.aclose()


# -- the channel --------------------------------------------------------------------------------


def prepare(config: Config) -> Prepared | None:
    """WhatsApp runs when config.yaml enables it; its three secrets come from the
    environment."""
    if not config.whatsapp.enabled:
        return None
    names = (WHATSAPP_TOKEN_ENV, WHATSAPP_APP_SECRET_ENV, WHATSAPP_VERIFY_TOKEN_ENV)
    values = [secret(name) or "" for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise SetupError(f"{config.path}: whatsapp.enabled is true: set " + ", ".join(missing))
    secrets = WhatsAppSecrets(*values)

    def build(core: Core) -> WhatsAppChannel:
        return WhatsAppChannel(core, config.whatsapp, secrets, config.webhooks)

    return Prepared(tuple(values), build)


class WhatsAppChannel:
    def __init__(
        self,
        core: Core,
        config: WhatsAppConfig,
        secrets: WhatsAppSecrets,
        limits: WebhookLimits | None = None,
    ) -> None:
        self.core = core
        self.config = config
        self.secrets = secrets
        self.limits = limits or WebhookLimits()
        self.client = GraphClient(config, secrets.access_token)
        self.limiter = AsyncLimiter(config.messages_per_second, 1)
        self.slow_limiter = AsyncLimiter(max(1, config.messages_per_second // 2), 1)
        self._slow_until = 0.0
        self.intake = Intake(core, CHANNEL, self._deliver_taken, MAX_CONCURRENT)
        self._server: webhook.BoundedServer | None = None
        self.delivery = Delivery(core, CHANNEL, self.deliver, config.messages_per_second)
        # picture id → its media id, once uploaded (one upload at a time)
        self._media_ids: dict[int, str] = {}
        self._refused: set[int] = set()  # pictures WhatsApp would not take
        self._uploading = asyncio.Lock()
        self._tier_lock = asyncio.Lock()  # one place in the messaging tier at a time

    # -- in ------------------------------------------------------------------------------------

    def _verify(self, handler: tornado.web.RequestHandler) -> None:
        """Meta's verification: echo hub.challenge when hub.verify_token is ours."""
        mode = handler.get_query_argument("hub.mode", "")
        token = handler.get_query_argument("hub.verify_token", "")
        verify = self.secrets.verify_token
        if mode == "subscribe" and hmac.compare_digest(token.encode(), verify.encode()):
            handler.write(handler.get_query_argument("hub.challenge", ""))
            return
        log.warning("event=whatsapp_verification_refused")
        handler.set_status(403)

    def _check_headers(self, headers: HTTPHeaders) -> str | None:
        """A POST without a well-formed signature is refused before its body is read."""
        header = headers.get(SIGNATURE_HEADER, "")
        digest = header.removeprefix("sha256=")
        if not header.startswith("sha256=") or len(digest) != 64:
            return "no_signature"
        return None

    async def _accept(self, body: bytes, headers: HTTPHeaders) -> webhook.Answer:
        """A whole POST: its signature checked, then parsed; 200 only once stored."""
        if not signature_ok(body, headers.get(SIGNATURE_HEADER), self.secrets.app_secret):
            return 403, "signature"
        try:
            inbound = parse_webhook(json.loads(body), self.config.phone_number_id)
        except ValueError:  # signed but not a payload we know: say so, do not retry
            return 400, "bad_payload"
        # counted by kind, a line each: never anyone's words or number
        for (kind, why), count in Counter(inbound.ignored).items():
            log.info("event=whatsapp_ignored type=%s count=%s reason=%r", kind, count, why)
        try:
            written = inbound.written_at
            await self.intake.store(
                [arrival(m, written.get(m.update_id)) for m in inbound.messages]
            )
            await self._record_statuses(inbound.statuses)
        except DatabaseError as exc:  # Meta sends it again
            log.error("event=database_failed step=intake error=%r", str(exc))
            return 503, None
        return 200, None

    async def _deliver_taken(self, taken: Taken, chat: str) -> None:
        await self.delivery.send_now(taken.queued)
        for reply in taken.direct:
            await self._send_reply(chat, reply)

    async def _send_reply(self, to: str, reply: Reply) -> None:
        """A reply sent as it is (an apology when the database failed): refusals logged."""
        person_lang = await people.language_of(self.core.db, CHANNEL, to)
        for body in self._render(reply, person_lang or "id"):
            try:
                await self._post(to, body)
            except (GraphError, httpx.HTTPError) as exc:
                log.error("event=whatsapp_send_failed error=%r", str(exc))
                return

    def _render(
        self,
        reply: Reply,
        lang: str,
        media_id: str | None = None,
        document_id: str | None = None,
    ) -> list[dict]:
        texts = self.core.texts
        choose, list_button = (
            texts.get(lang, "whatsapp_choose"),
            texts.get(lang, "whatsapp_list_button"),
        )
        return render(reply, choose, list_button, media_id, document_id)

    async def _document_id(self, document: tuple[str, bytes] | None) -> str | None:
        """A file (the villager's own data, /datasaya) uploaded to be sent as a document;
        None when there is none or WhatsApp will not take it (a text file then goes as
        messages). Each person's file is their own: uploaded each time, never cached."""
        if document is None:
            return None
        name, data = document
        media_type = DOCUMENT_TYPES.get(name.rsplit(".", 1)[-1].lower())
        if media_type is None:
            return None
        try:
            return await self.client.upload(data, media_type, name)
        except GraphError as exc:
            if self._delivery_error(exc).kind == "retry":
                raise
            log.error("event=document_refused error=%r", str(exc))
            return None

    async def _media_id(self, picture: Picture | None) -> str | None:
        """The picture uploaded (the first time it is needed); None: no picture, one deleted,
        or one WhatsApp refused (then the words go alone, and it is not offered again)."""
        if picture is None or picture.id in self._refused:
            return None
        async with self._uploading:
            if picture.id in self._media_ids or picture.id in self._refused:
                return self._media_ids.get(picture.id)
            data = await self.core.picture(picture.id)
            if data is None:
                return None
            name = picture.file_name or "picture"
            try:
                self._media_ids[picture.id] = await self.client.upload(
                    data, picture.media_type, name
                )
            except GraphError as exc:
                if self._delivery_error(exc).kind == "retry":
                    raise  # for a moment: this delivery is tried again later
                log.error("event=picture_refused picture=%s error=%r", picture.id, str(exc))
                self._refused.add(picture.id)
                return None
            return self._media_ids[picture.id]

    async def _record_statuses(self, statuses: list[Status]) -> None:
        """sent, delivered and read are noted on the outbox row. A failure is sorted as the
        same error answered at once would be (WhatsApp reports errors "synchronously, via
        webhook, or both"): outside the window, the row goes again as the template; a
        temporary one, again later; any other marks the row failed, with the code."""
        db = self.core.db
        for status in statuses:
            error = f"whatsapp: {status.error}"
            if status.status in ("sent", "delivered", "read"):
                await outbox.note_receipt(db, status.message_id, status.status)
            elif status.status != "failed":
                continue
            elif status.code in (OUTSIDE_WINDOW, OLD_OUTSIDE_WINDOW):
                # accepted, then refused for the 24-hour window: again, as the template
                await outbox.send_again(db, status.message_id, error, {TEMPLATE_ONLY: "1"})
            elif status.code in RETRY_LATER:
                delay = timedelta(seconds=RETRY_LATER[status.code])
                await outbox.send_again(db, status.message_id, error, {}, delay)
            else:
                await outbox.mark_failed(db, status.message_id, error)
            if status.status == "failed":  # a template that reached nobody takes no place
                await conversations.not_delivered(db, status.message_id)

    # -- out -----------------------------------------------------------------------------------

    async def _post(self, to: str, body: dict) -> str:
        await self.limiter.acquire()
        if time.monotonic() < self._slow_until:  # told to slow down: half the rate a while
            await self.slow_limiter.acquire()
        return await self.client.send(to, body)

    async def deliver(self, due: Due, reply: Reply) -> str | None:
        """An outbox row: free-form inside the 24-hour window, else the configured template."""
        try:
            if not due.values.get(TEMPLATE_ONLY) and await self._window_open(due.person_id):
                media_id = await self._media_id(reply.picture)
                document_id = await self._document_id(reply.document)
                bodies = self._render(reply, due.lang, media_id, document_id)[due.parts_sent :]
                try:
                    return await self._send_all(due.channel_user_id, bodies)
                except GraphError as exc:
                    if exc.code != OUTSIDE_WINDOW or getattr(exc, "parts_sent", 0):
                        raise
            return await self._send_template(due, reply)
        except GraphError as exc:
            raise self._delivery_error(exc) from None
        except httpx.HTTPError as exc:
            parts = getattr(exc, "parts_sent", 0)
            raise DeliveryError("retry", f"network: {exc!r}", None, parts) from None

    async def _send_template(self, due: Due, reply: Reply) -> str:
        """Outside the window: the template for the text key; an announcement's picture as
        the header of the picture template, when there is one and the picture could go."""
        template = self.config.template_for(due.text_key, reply.picture is not None, due.lang)
        media_id = None
        if template is not None and template.header == "image":
            media_id = await self._media_id(reply.picture)
            if media_id is None:  # refused by WhatsApp, or deleted: the words alone
                template = self.config.template_for(due.text_key, lang=due.lang)
        if template is None:
            raise DeliveryError(
                "rejected",
                f"outside WhatsApp's 24-hour window and no template for {due.text_key!r} "
                "in whatsapp.templates",
            )
        values = await self.core.template_values(due)
        message = template_message(template, values, media_id)
        place = await self._place_in_tier(due)
        try:
            platform_id = await self._post(due.channel_user_id, message)
        except (GraphError, httpx.HTTPError):
            if place is not None:  # not started after all: the place is free again
                await conversations.give_back(self.core.db, place)
            raise
        if place is not None:
            await conversations.accepted(self.core.db, place, platform_id)
        return platform_id

    async def _place_in_tier(self, due: Due) -> int | None:
        """A conversation may be started with this person now (WhatsApp's messaging tier):
        the place taken for them, None when none is needed; DeliveryError("held") until one
        frees (a reminder's first: an announcement waits a minute more)."""
        limit, db = self.config.daily_new_conversations, self.core.db
        if limit is None:
            return None
        async with self._tier_lock:
            if await conversations.reached_lately(db, due.person_id):
                return None
            room = await conversations.room(db, limit)
            if room.next_free is None:
                return await conversations.started(db, due.person_id)
        # each waiting one its own turn, as places free one by one (not all at the first)
        ahead = await conversations.waiting_ahead(db, due.id, due.broadcast_id is None)
        turn = await conversations.turn(db, limit, ahead)
        later = 60 if due.broadcast_id else 1  # reminders take a freed place first
        wait = (turn - datetime.now(UTC)).total_seconds() + later
        raise DeliveryError("held", f"{conversations.TIER_WAIT} ({limit})", max(wait, 1))

    async def _send_all(self, to: str, bodies: list[dict]) -> str | None:
        """The messages of one reply in order; an error says how many went out before it."""
        platform_id = None
        for number, body in enumerate(bodies):
            try:
                platform_id = await self._post(to, body)
            except (GraphError, httpx.HTTPError) as exc:
                exc.parts_sent = number  # type: ignore[attr-defined]
                raise
        return platform_id

    def _delivery_error(self, exc: GraphError) -> DeliveryError:
        parts = getattr(exc, "parts_sent", 0)
        if exc.code in RETRY_LATER:
            if exc.code in SLOWING_CODES:
                self._slow_until = time.monotonic() + SLOW_DOWN_SECONDS
            return DeliveryError("retry", str(exc), RETRY_LATER[exc.code], parts)
        if exc.status >= 500 or exc.status in (401, 403, 429):
            return DeliveryError("retry", str(exc), None, parts)
        return DeliveryError("rejected", str(exc))

    async def _window_open(self, person_id: int) -> bool:
        last = await message_log.last_message_at(self.core.db, person_id)
        return last is not None and last > datetime.now(UTC) - WINDOW

    # -- running -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.delivery.start()
        self.intake.start()  # what a crash left waiting is handled first
        endpoint = webhook.Endpoint(CHANNEL, self._check_headers, self._accept, self._verify)
        self._server = webhook.serve(
            endpoint, self.config.path, self.limits, self.config.listen, self.config.port
        )
        log.info("event=whatsapp_started port=%s", self.config.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        await self.intake.stop()
        await self.delivery.stop()
        await self.client.close()
        log.info("event=whatsapp_stopped")

    async def serve(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
