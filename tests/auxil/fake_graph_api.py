"""A local stand-in for the WhatsApp Cloud API (Graph API) messages endpoint, for tests.

``FakeGraphApi`` serves ``POST /<version>/<phone number id>/messages`` on 127.0.0.1 from a
daemon thread (standard library; Pillow reads uploads) and enforces what the real API does
for the messages the bot sends, answering ``{"error": {"code": N, "message": ...}}`` with
HTTP 400 otherwise:

* a Bearer token (401, code 190, without one); messaging_product "whatsapp"; "to" a phone
  number (digits, a leading "+" allowed), or "recipient" a business-scoped user id;
* text: body 1..4096 characters;
* interactive: a text header and a footer of 1..60 if given; "button": body 1..1024, 1..3
  reply buttons, titles 1..20 and unique, ids 1..256, unique, no space at either end;
  "list": body 1..4096, button label 1..20, 1..10 sections (each titled, up to 24, when there
  are several), 1..10 rows in all, row title 1..24, description up to 72, ids 1..200, unique,
  no space at either end;
* template: a name and a language code; only templates listed in ``templates`` exist (132001);
  a parameter may not be empty or hold a newline, a tab or five spaces in a row (132018); a
  template in ``image_templates`` needs a header component with an uploaded image, any other
  refuses one (132012); one in ``parameter_counts`` needs exactly that many body parameters
  (132000);
* media: ``POST /<version>/<phone number id>/media`` (multipart: messaging_product, type,
  file) takes a JPEG or PNG of at most 5 MB whose content is what its type says (read with
  Pillow; 131053 otherwise) and answers its id; image messages need such an id (131009 for an
  unknown one) and a caption of at most 1024 characters; documents (text, PDF, Excel, at most
  100 MB) go as document messages by their id with a filename. ``media`` holds the uploads;
* the 24-hour window: a free-form (non-template) message to a number in ``outside_window``
  is accepted, and then, as WhatsApp does, reported failed with 131047 in a signed status
  callback to ``status_webhook`` ((url, app secret)); without one it is refused at once;
* ``fail_next(code, n)`` answers the next n sends with an error code
  (130429 rate limit, 131056 pair rate limit, ...); ``fail_later[to] = code`` accepts the next
  message to ``to`` and reports it failed with ``code`` in a status callback, as Meta may.

Tests read ``sent(to)`` (the request bodies accepted) and ``errors``.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from auxil.fake_bot_api import _parse_multipart

JSON = dict[str, Any]
ERROR_TITLES = {
    100: "Invalid parameter",
    131009: "Parameter value is not valid",
    131053: "Media upload error",
    132012: "Parameter format does not match format in the created template",
    130429: "Rate limit hit",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132001: "Template name does not exist in the translation",
    132018: "There was an issue with the parameters in your template",
    190: "Invalid OAuth access token",
}


class GraphApiError(Exception):
    def __init__(self, code: int, detail: str = "", status: int = 400) -> None:
        super().__init__(detail or ERROR_TITLES.get(code, "error"))
        self.code, self.status = code, status


def _require(condition: bool, detail: str) -> None:
    if not condition:
        raise GraphApiError(100, detail)


MAX_MEDIA = 5 * 1024 * 1024
MEDIA_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


DOCUMENTS = {"text/plain", "application/pdf",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
MAX_DOCUMENT = 100 * 1024 * 1024


def check_media(fields: dict[str, str], files: dict) -> tuple[str, bytes]:
    """An upload as Meta checks it: (its type, its bytes)."""
    _require(fields.get("messaging_product") == "whatsapp", "messaging_product is required")
    upload = files.get("file")
    _require(upload is not None, "The parameter file is required")
    media_type = fields.get("type") or upload.mime_type
    if media_type in DOCUMENTS and upload.mime_type == media_type:
        if not upload.content or len(upload.content) > MAX_DOCUMENT:
            raise GraphApiError(131053, f"document size {len(upload.content)}")
        return media_type, upload.content
    if media_type not in MEDIA_FORMATS or upload.mime_type != media_type:
        raise GraphApiError(131053, f"Unsupported file type {media_type!r}")
    if not upload.content or len(upload.content) > MAX_MEDIA:
        raise GraphApiError(131053, f"file size {len(upload.content)} outside 1..{MAX_MEDIA}")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(upload.content)) as image:
            found = image.format
    except Exception:  # anything Pillow cannot read
        found = None
    if found != MEDIA_FORMATS[media_type]:
        raise GraphApiError(131053, f"the file is not a {media_type}")
    return media_type, upload.content


def check_message(
    body: JSON,
    templates: set[str],
    media: dict | None = None,
    image_templates: frozenset = frozenset(),
    parameter_counts: dict[str, int] | None = None,
) -> None:
    media = media if media is not None else {}
    _require(body.get("messaging_product") == "whatsapp", "messaging_product must be whatsapp")
    to, recipient = body.get("to"), body.get("recipient")
    if to is not None or recipient is None:
        _require(re.fullmatch(r"\+?[0-9]{5,20}", str(to or "")) is not None, "to: a phone number")
    else:  # a business-scoped user id: "CC." and up to 128 letters and digits
        _require(re.fullmatch(r"[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}", str(recipient)) is not None,
                 "recipient must be a business-scoped user id")  # fmt: skip
    kind = body.get("type")
    if kind == "text":
        text = (body.get("text") or {}).get("body", "")
        _require(isinstance(text, str) and 1 <= len(text) <= 4096, "text body 1..4096")
    elif kind == "interactive":
        _check_interactive(body.get("interactive") or {})
    elif kind == "document":
        document = body.get("document") or {}
        _require(set(document) <= {"id", "filename", "caption"}, "document: an id, a filename")
        known = media.get(document.get("id"))
        if known is None or known[0] not in DOCUMENTS:
            raise GraphApiError(131009, f"unknown document id {document.get('id')!r}")
        _require(1 <= len(document.get("filename", "")) <= 240, "document filename")
    elif kind == "image":
        image = body.get("image") or {}
        _check_image(image, media)
        _require(len(image.get("caption", "")) <= 1024, "image caption up to 1024")
    elif kind == "template":
        template = body.get("template") or {}
        _require(bool(template.get("name")), "template name")
        _require(bool((template.get("language") or {}).get("code")), "template language")
        if template["name"] not in templates:
            raise GraphApiError(132001)
        components = template.get("components") or []
        headers = [c for c in components if c.get("type") == "header"]
        if (template["name"] in image_templates) != bool(headers):
            raise GraphApiError(132012, "header: an image for an image template, else none")
        for header in headers:
            [parameter] = header.get("parameters") or [{}]
            _require(parameter.get("type") == "image", "header parameter type image")
            _check_image(parameter.get("image") or {}, media)
        bodies = [c for c in components if c.get("type") == "body"]
        given = sum(len(c.get("parameters") or []) for c in bodies)
        wanted = (parameter_counts or {}).get(template["name"])
        if wanted is not None and given != wanted:
            raise GraphApiError(132000, f"{given} parameters; the template has {wanted}")
        for component in bodies:
            for parameter in component.get("parameters") or []:
                value = parameter.get("text", "")
                if not value or "\n" in value or "\t" in value or "     " in value:
                    raise GraphApiError(132018, "template parameter: no newlines, tabs, empty")
    else:
        raise GraphApiError(100, f"unsupported type {kind!r}")


def _check_image(image: JSON, media: dict) -> None:
    _require(set(image) <= {"id", "caption"}, "image: an uploaded media id (and a caption)")
    if image.get("id") not in media or media[image["id"]][0] not in MEDIA_FORMATS:
        raise GraphApiError(131009, f"unknown media id {image.get('id')!r}")


def _check_interactive(interactive: JSON) -> None:
    kind = interactive.get("type")
    body = (interactive.get("body") or {}).get("text", "")
    longest = 4096 if kind == "list" else 1024
    _require(isinstance(body, str) and 1 <= len(body) <= longest, f"body 1..{longest}")
    header, footer = interactive.get("header"), interactive.get("footer")
    if header is not None:
        _require(header.get("type") == "text" and 1 <= len(header.get("text", "")) <= 60,
                 "header: text of 1..60")  # fmt: skip
    if footer is not None:
        _require(1 <= len(footer.get("text", "")) <= 60, "footer text 1..60")
    action = interactive.get("action") or {}
    if kind == "button":
        buttons = action.get("buttons") or []
        _require(1 <= len(buttons) <= 3, "1..3 buttons")
        for button in buttons:
            reply = button.get("reply") or {}
            _require(button.get("type") == "reply", "button type reply")
            _require(1 <= len(reply.get("title", "")) <= 20, "button title 1..20")
            _check_id(reply.get("id", ""), 256)
        titles = [b["reply"]["title"] for b in buttons]
        _require(len(set(titles)) == len(titles), "button titles must be unique")
        ids = [b["reply"]["id"] for b in buttons]
        _require(len(set(ids)) == len(ids), "button ids must be unique")
    elif kind == "list":
        _require(1 <= len(action.get("button", "")) <= 20, "list button 1..20")
        sections = action.get("sections") or []
        _require(1 <= len(sections) <= 10, "1..10 sections")
        for section in sections:
            title = section.get("title")
            _require(len(sections) == 1 or bool(title), "several sections: each needs a title")
            _require(title is None or len(title) <= 24, "section title up to 24")
        rows = [row for section in sections for row in section.get("rows") or []]
        _require(1 <= len(rows) <= 10, "1..10 rows")
        for row in rows:
            _require(1 <= len(row.get("title", "")) <= 24, "row title 1..24")
            _require(len(row.get("description", "")) <= 72, "row description up to 72")
            _check_id(row.get("id", ""), 200)
        ids = [row["id"] for row in rows]
        _require(len(set(ids)) == len(ids), "row ids must be unique")
    else:
        raise GraphApiError(100, "interactive type must be button or list")


def _check_id(value: str, longest: int) -> None:
    _require(1 <= len(value) <= longest and value == value.strip(), f"id 1..{longest}, no spaces")


class FakeGraphApi:
    def __init__(self, version: str = "v21.0", phone_number_id: str = "1234567890") -> None:
        self.version, self.phone_number_id = version, phone_number_id
        self.outside_window: set[str] = set()
        self.fail_later: dict[str, int] = {}  # to → a code its next message is failed with
        self.parameter_counts: dict[str, int] = {}  # template → how many body parameters
        self.status_webhook: tuple[str, str] | None = None  # (url, app secret)
        self.templates: set[str] = set()
        self.image_templates: set[str] = set()  # among templates: those with an image header
        self.media: dict[str, tuple[str, bytes]] = {}  # media id → (type, content)
        self.errors: list[JSON] = []
        self._sent: list[JSON] = []
        self._forced: list[int] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """For whatsapp.api_base_url (the phone number id and /messages are appended)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.version}"

    def start(self) -> FakeGraphApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the standard library names it so
                length = int(self.headers.get("Content-Length", "0"))
                status, answer = fake.handle(self.path, self.headers, self.rfile.read(length))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGraphApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, code: int, n: int = 1) -> None:
        with self._lock:
            self._forced += [code] * n

    def sent(self, to: str | None = None) -> list[JSON]:
        with self._lock:
            return [m for m in self._sent if to in (None, m.get("to"), m.get("recipient"))]

    def _report_failed(self, message_id: str, to: str, code: int = 131047) -> None:
        import hashlib
        import hmac
        import urllib.request

        assert self.status_webhook is not None
        url, secret = self.status_webhook
        status = {
            "id": message_id, "status": "failed", "recipient_id": to,
            "errors": [{"code": code, "title": ERROR_TITLES.get(code, "error")}],
        }  # fmt: skip
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp", "statuses": [status]}}]}],
        }  # fmt: skip
        data = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            url, data, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        )
        urllib.request.urlopen(request, timeout=10).close()

    def _upload(self, headers, raw: bytes) -> JSON:
        match = re.search(r"boundary=\"?([^\";]+)", headers.get("Content-Type") or "")
        _require(match is not None, "a multipart/form-data body")
        media_type, content = check_media(*_parse_multipart(raw, match.group(1)))
        with self._lock:
            media_id = str(9_000_000_000 + next(self._ids))
            self.media[media_id] = (media_type, content)
        return {"id": media_id}

    def handle(self, path: str, headers, raw: bytes) -> tuple[int, JSON]:
        try:
            base = f"/{self.version}/{self.phone_number_id}"
            if path not in (f"{base}/messages", f"{base}/media"):
                raise GraphApiError(100, f"unknown path {path}", HTTPStatus.NOT_FOUND)
            if not (headers.get("Authorization") or "").startswith("Bearer "):
                raise GraphApiError(190, status=HTTPStatus.UNAUTHORIZED)
            if path.endswith("/media"):
                return 200, self._upload(headers, raw)
            body = json.loads(raw)
            with self._lock:
                if self._forced:
                    raise GraphApiError(self._forced.pop(0))
                check_message(body, self.templates, self.media, frozenset(self.image_templates),
                              self.parameter_counts)  # fmt: skip
                who = body.get("to") or body.get("recipient")
                code = self.fail_later.pop(who, None)
                if code is None and body["type"] != "template" and who in self.outside_window:
                    code = 131047
                if code is not None and self.status_webhook is None:
                    raise GraphApiError(code)
                message_id = f"wamid.TEST{next(self._ids)}"
                if code is None:
                    self._sent.append({**body, "id": message_id})
            if code is not None:  # accepted now, refused a moment later in a status callback
                threading.Timer(0.1, self._report_failed, (message_id, who, code)).start()
            contact = {"input": who, ("wa_id" if body.get("to") else "user_id"): who}
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": message_id}],
            }
        except GraphApiError as exc:
            error = {"message": str(exc), "type": "OAuthException", "code": exc.code}
            with self._lock:
                self.errors.append(error)
            return int(exc.status), {"error": error}
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": {"message": f"bad request: {exc}", "code": 100}}
