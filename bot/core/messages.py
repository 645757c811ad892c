"""The neutral messages that pass between channels and the core.

A channel turns its platform's payload into an ``Incoming`` and renders the core's ``Reply``
objects its own way (Telegram inline keyboards, numbered choices in the terminal, ...).
Reply text is plain text: each channel escapes it for its platform.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum

from bot.core.actions import check_payload
from bot.support.limits import MAX_TEXT


class Kind(StrEnum):
    TEXT = "text"  # something the person typed
    COMMAND = "command"  # /start, /menu, ...: text holds the command name without the slash
    BUTTON = "button"  # a button press: text holds the button's packed action (actions.py)
    CONTACT = "contact"  # the person shared their own phone number: text holds it
    OTHER = "other"  # sticker, photo, voice, ...: media names what it was


@dataclass(frozen=True)
class Incoming:
    channel: str
    user_id: str
    kind: Kind
    text: str = ""
    display_name: str = ""
    language_hint: str | None = None
    media: str = ""
    # A message in a group chat (the staff group) instead of a private chat: the group's id,
    # and the text of the bot's message it replies to (a forwarded question)
    group: str | None = None
    reply_to: str = ""
    # the platform's id of this update or message: one delivered twice is acted on once
    update_id: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    action: str  # a packed action ("reg:K7QA"), the payload the channel sends back

    def __post_init__(self) -> None:
        check_payload(self.action)


MAX_CAPTION = 1024  # a picture's caption, on Telegram (UTF-16 units) and WhatsApp (characters)


def fits_caption(text: str) -> dict[str, bool]:
    """Whether the text can go as a picture's caption, per platform (else it follows)."""
    return {"telegram": text_length(text) <= MAX_CAPTION, "whatsapp": len(text) <= MAX_CAPTION}


@dataclass(frozen=True)
class Picture:
    """A picture sent first, with the text as its caption when it fits. The channel loads its
    bytes once (``Core.picture``) and sends the platform's id for it after that."""

    id: int
    media_type: str  # image/jpeg or image/png
    file_name: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    # (share label, skip label): ask for the person's phone number with the platform's own
    # share-contact button where it has one; typing a number or the skip word works anywhere
    share_contact: tuple[str, str] | None = None
    remove_keyboard: bool = False  # take away a share-contact keyboard shown before
    document: tuple[str, bytes] | None = None  # (file name, content) sent after the text
    picture: Picture | None = None  # an announcement's

    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


def text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji may count as two."""
    return len(text.encode("utf-16-le")) // 2


def _cut_point(line: str, limit: int) -> int:
    """Index of the longest prefix of ``line`` within ``limit``, preferring a space to cut at."""
    end = 0
    units = 0
    for index, char in enumerate(line):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        end = index + 1
    space = line.rfind(" ", 0, end + 1)
    return space if space > 0 else max(end, 1)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into chunks of at most ``limit`` units, at line boundaries if possible.

    A single line longer than the limit is cut at the last space before it, or hard if none.
    """
    if len(text) * 2 <= limit or text_length(text) <= limit:
        return [text] if text.strip() else [text[:limit]]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if text_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while text_length(line) > limit:
            cut = _cut_point(line, limit)
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        current = line
    if current.strip() or not chunks:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()] or [text[:limit]]


def valid_unicode(text: str) -> str:
    """Replace unpaired surrogates (broken input) so the text can be stored and sent."""
    return text.encode("utf-8", "replace").decode("utf-8")


def cleaned(message: Incoming) -> Incoming:
    """The message with broken Unicode repaired: before it is stored, or handled."""
    return replace(
        message,
        text=valid_unicode(message.text),
        display_name=valid_unicode(message.display_name),
        reply_to=valid_unicode(message.reply_to),
    )


def update_key(message: Incoming) -> str | None:
    """How a message delivered twice is known: the channel and a digest of its update id
    (which names the bot or phone number). A digest, because a WhatsApp message id carries
    the sender's phone number, and the key outlives the message."""
    if not message.update_id:
        return None
    digest = hashlib.blake2b(message.update_id.encode(), digest_size=16).hexdigest()
    return f"{message.channel}:{digest}"


# -- as text: an Incoming waits in the intake table, a Reply in the outbox ---------------------


_INCOMING_FIELDS = tuple(f.name for f in fields(Incoming))


def incoming_to_text(message: Incoming) -> str:
    # by hand, not dataclasses.asdict: that deep-copies, on the path of every message
    return json.dumps({name: getattr(message, name) for name in _INCOMING_FIELDS})


def incoming_from_text(text: str) -> Incoming:
    data = json.loads(text)
    return Incoming(**{**data, "kind": Kind(data["kind"])})


def reply_to_text(reply: Reply) -> str:
    data: dict = {"text": reply.text}
    if reply.buttons:
        data["buttons"] = [[[b.label, b.action] for b in row] for row in reply.buttons]
    if reply.share_contact:
        data["share_contact"] = list(reply.share_contact)
    if reply.remove_keyboard:
        data["remove_keyboard"] = True
    if reply.document:
        name, content = reply.document
        data["document"] = [name, base64.b64encode(content).decode("ascii")]
    return json.dumps(data, ensure_ascii=False)


def reply_from_text(text: str) -> Reply:
    data = json.loads(text)
    document = data.get("document")
    share = data.get("share_contact")
    return Reply(
        data["text"],
        tuple(
            tuple(Button(label, action) for label, action in row) for row in data.get("buttons", ())
        ),
        share_contact=(share[0], share[1]) if share else None,
        remove_keyboard=bool(data.get("remove_keyboard")),
        document=(document[0], base64.b64decode(document[1])) if document else None,
    )
