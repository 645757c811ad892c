"""A local stand-in for the Telegram Bot API HTTP server, for desabot's tests.

``FakeBotApi`` serves ``http://127.0.0.1:<ephemeral port>/bot<token>/<method>`` from a daemon
thread (standard library; Pillow reads photos), so a real python-telegram-bot ``Bot`` or
``Application`` built with ``.base_url(fake.base_url)`` and ``.base_file_url(fake.base_file_url)``
talks to it exactly as it would talk to api.telegram.org.  Any token is accepted and recorded
in ``tokens_seen``.

Implemented methods: getMe, getUpdates (offset confirmation, long poll capped at
``long_poll_cap`` seconds, early return on push), setWebhook, deleteWebhook, getWebhookInfo,
setMyCommands, getMyCommands, deleteMyCommands, sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendDocument, sendPhoto, sendChatAction,
deleteMessage, getFile (+ file download), close, logOut.  Anything else answers 404 "Not
Found" (which PTB raises as ``InvalidToken``, or ``EndPointNotFound`` from ``do_api_request``).

What it enforces, answering ``{"ok": false, "error_code": N, "description": ...}`` with HTTP
status N and Telegram's own wording where it is known:

* text (sendMessage, editMessageText): 1..4096 UTF-16 code units after entity parsing and
  Telegram's trimming of leading/trailing spaces and newlines; "message text is empty" for a
  missing/empty text, "text must be non-empty" for whitespace-only, "message is too long".
  Captions: at most 1024 ("message caption is too long").
* sendPhoto: an upload of at most 10 MB that is a picture Telegram can read
  ("IMAGE_PROCESS_FAILED"; read with Pillow), width + height at most 10,000 and a side at most
  20 times the other ("PHOTO_INVALID_DIMENSIONS"); or the file id of a photo sent before
  ("wrong file identifier/HTTP URL specified"). The answer holds the sizes Telegram makes
  (each side at most 90, 320, 800, 1280), each with its own file id.
* parse_mode HTML is parsed like tdlib does (tags b strong i em u ins s strike del span
  class="tg-spoiler" tg-spoiler a code pre blockquote [expandable] tg-emoji; entities &lt; &gt;
  &amp; &quot; &#NNN; &#xHH;): unsupported/unclosed/mismatched tags or a bare '<' give
  "can't parse entities: ...".  Stricter than Telegram on purpose: an '&' in text that does not
  start an entity is rejected too (Telegram keeps it literally, but it almost always means
  unescaped user content).  Markdown/MarkdownV2 are rejected as unsupported by the stand-in.
* reply_markup: valid JSON; inline buttons need a non-empty text and exactly one action,
  callback_data 1..64 UTF-8 bytes ("BUTTON_DATA_INVALID"), url buttons a valid URL; reply
  keyboard buttons need text; at most 100 buttons ("REPLY_MARKUP_TOO_LONG").
* chat_id: a non-zero integer ("chat not found"; with ``require_known_chat`` only chats that
  pushed an update or were added to ``known_chats``); ids in ``blocked`` get 403
  "Forbidden: bot was blocked by the user".
* flood control for message sends (send* except sendChatAction): ``fail_next_with_429(n)``,
  ``max_sends_per_second`` (sliding 1 s window over all chats) and ``per_chat_limit`` (the same
  per chat) answer 429 with ``parameters.retry_after`` (PTB raises ``RetryAfter``).
* editing: "message to edit not found", "message can't be edited" (user messages), "message is
  not modified: ..."; deleteMessage: "message to delete not found"; answerCallbackQuery: unknown
  or already answered ids get "query is too old ...".

Tests push updates with ``push_text``/``push_callback``/``push_sticker``/... and inspect
``calls``, ``sent()``, ``errors``; ``wait_until``/``wait_for`` poll for a condition.
``html_visible_text`` is usable on its own to check what a user would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import itertools
import json
import re
import socket
import string
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
BUTTON_LIMIT = 100
COMMANDS_LIMIT = 100
CALLBACK_ANSWER_LIMIT = 200

BOT_FIRST_NAME = "Desabot"
BOT_USERNAME = "desabot_test_bot"
DEFAULT_BOT_ID = 7_000_000_001

JSON = dict[str, Any]

# --------------------------------------------------------------------------------------------
# HTML parse mode (a port of tdlib's parse_html, see td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "span", "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = frozenset(" \t\r\n\v\f")
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


class HtmlParseError(ValueError):
    """Text is not valid Telegram HTML; the message is the reason Telegram would give."""


@dataclass
class ParsedText:
    """Visible text plus Telegram MessageEntity dicts (offsets in UTF-16 code units)."""

    text: str
    entities: list[JSON] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    out_index: int


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _decode_entity(src: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting with '&' at ``pos``: (character, next position) or None.

    Like tdlib: the ';' is optional, only four named entities exist, numeric ones must be
    non-zero, below U+10FFFF and short.
    """
    end = pos + 1
    if src.startswith("#", end):
        end += 1
        digits = string.digits
        base = 10
        if src.startswith("x", end):
            end += 1
            digits, base = string.hexdigits, 16
        start = end
        while end < len(src) and src[end] in digits:
            end += 1
        code = int(src[start:end], base) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < len(src) and src[end] in string.ascii_letters:
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None
        char = named
    if src.startswith(";", end):
        end += 1
    return char, end


class _HtmlParser:
    """Single-use parser; ``parse()`` returns the visible text and entities."""

    def __init__(self, source: str, *, strict_ampersand: bool) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []
        self.strict_ampersand = strict_ampersand

    # -- helpers -------------------------------------------------------------------------------

    def _ch(self) -> str:
        """Current character, "" at the end (tdlib's NUL terminator)."""
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def _at_space(self) -> bool:
        """tdlib's is_space: the end of input counts as a space."""
        char = self._ch()
        return char == "" or char in _SPACES

    def _skip_spaces(self) -> None:
        while self._ch() in _SPACES:
            self.pos += 1

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8", "surrogatepass"))

    def _emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    # -- top level -----------------------------------------------------------------------------

    def parse(self) -> ParsedText:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                self._entity()
            elif char == "<":
                self._tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.stack:
            name = self.stack[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        text = _join_surrogates("".join(self.out))
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return ParsedText(text, self.entities)

    def _entity(self) -> None:
        decoded = _decode_entity(self.src, self.pos)
        if decoded is not None:
            char, self.pos = decoded
            self._emit(char)
            return
        if self.strict_ampersand:
            raise HtmlParseError(
                f"Character '&' at byte offset {self._byte_offset(self.pos)} does not start an "
                "HTML entity; escape it as &amp; (the stand-in is stricter than Telegram here)"
            )
        self._emit("&")
        self.pos += 1

    def _tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self._ch() == "/":
            self._end_tag(begin)
        else:
            self._start_tag(begin)
        self.pos += 1  # past '>'

    # -- start tags ----------------------------------------------------------------------------

    def _start_tag(self, begin: int) -> None:
        offset = self._byte_offset(begin)
        while not self._at_space() and self._ch() != ">":
            self.pos += 1
        if self._ch() == "":
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        name = self.src[begin + 1 : self.pos].lower()
        if name not in _SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        argument = ""
        while self._ch() != ">":
            self._skip_spaces()
            if self._ch() == ">":
                break
            attribute, value = self._attribute(name, offset)
            argument = _tag_argument(name, attribute, value, argument)
        if name == "span" and argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        self.stack.append(_OpenTag(name, argument, self.utf16, len(self.out)))

    def _attribute(self, tag: str, offset: int) -> tuple[str, str]:
        start = self.pos
        while not self._at_space() and self._ch() not in ("=", ">"):
            self.pos += 1
        attribute = self.src[start : self.pos]
        if not attribute:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        self._skip_spaces()
        if self._ch() != "=":
            if tag == "blockquote" and attribute.lower() == "expandable":
                return "expandable", ""
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {offset}'
            )
        self.pos += 1
        self._skip_spaces()
        if self._ch() == "":
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {offset}')
        value = self._quoted_value() if self._ch() in ("'", '"') else self._name_token()
        if self._ch() == "":
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        return attribute, value

    def _name_token(self) -> str:
        start = self.pos
        while self._ch() and (self._ch() in string.ascii_letters + string.digits + ".-"):
            self.pos += 1
        if not self._at_space() and self._ch() != ">":
            raise HtmlParseError(
                f"Unexpected end of name token at byte offset {self._byte_offset(start)}"
            )
        return self.src[start : self.pos].lower()

    def _quoted_value(self) -> str:
        quote = self._ch()
        self.pos += 1
        chars: list[str] = []
        while self._ch() not in (quote, ""):
            decoded = _decode_entity(self.src, self.pos) if self._ch() == "&" else None
            if decoded is not None:
                char, self.pos = decoded
                chars.append(char)
                continue
            chars.append(self._ch())
            self.pos += 1
        if self._ch() == quote:
            self.pos += 1
        return "".join(chars)

    # -- end tags ------------------------------------------------------------------------------

    def _end_tag(self, begin: int) -> None:
        offset = self._byte_offset(begin)
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
        while not self._at_space() and self._ch() != ">":
            self.pos += 1
        end_name = self.src[begin + 2 : self.pos].lower()
        self._skip_spaces()
        if self._ch() != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
        open_tag = self.stack[-1]
        if end_name and end_name != open_tag.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{open_tag.name}>", '
                f'found "</{end_name}>"'
            )
        self.stack.pop()
        if self.utf16 > open_tag.utf16_offset:
            self._close_entity(open_tag)

    def _close_entity(self, tag: _OpenTag) -> None:
        entity: JSON = {
            "offset": tag.utf16_offset,
            "length": self.utf16 - tag.utf16_offset,
        }
        last = self.entities[-1] if self.entities else None
        same_span = (
            last is not None
            and last["offset"] == entity["offset"]
            and last["length"] == entity["length"]
        )
        if tag.name in _SIMPLE_ENTITY_TYPES:
            entity["type"] = _SIMPLE_ENTITY_TYPES[tag.name]
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or not 0 < int(tag.argument) < 2**63:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            url = tag.argument or "".join(self.out[tag.out_index :])
            if url_problem(url) is not None:
                return  # Telegram silently drops links it cannot use
            entity.update(type="text_link", url=url)
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.argument else "blockquote"
        elif tag.name == "pre":
            if same_span and last is not None and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        else:  # code
            if same_span and last is not None and last["type"] == "pre" and tag.argument:
                last["language"] = tag.argument
                return
            entity["type"] = "code"
            if tag.argument:
                entity["language"] = tag.argument  # dropped at the end unless inside <pre>
        self.entities.append(entity)


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    """The one attribute tdlib keeps per tag (href, language, spoiler class, emoji id...)."""
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "expandable"
    return current


def _join_surrogates(text: str) -> str:
    """Combine surrogate pairs produced by numeric entities; reject unpaired halves."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if any("\ud800" <= char <= "\udfff" for char in joined):
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    return joined


def parse_html(text: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse Telegram HTML into visible text + entities; raise HtmlParseError when Telegram
    (or, for a stray '&' with ``strict_ampersand``, the stand-in) would refuse it.

    The text is returned untrimmed; see ``html_visible_text`` for what a user sees.
    """
    parsed = _HtmlParser(text, strict_ampersand=strict_ampersand).parse()
    for entity in parsed.entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return parsed


def html_visible_text(text: str) -> str:
    """What a user sees for ``text`` sent with parse_mode HTML: tags removed, entities decoded,
    leading/trailing spaces and newlines trimmed.  Raises ValueError (HtmlParseError) with the
    reason on bad HTML."""
    return finalize_text(parse_html(text)).text


def finalize_text(parsed: ParsedText) -> ParsedText:
    """Apply Telegram's clean-up to visible text: drop '\\r' and U+2028..U+202E, turn other
    control characters into spaces, trim spaces/newlines at both ends, fix entity offsets."""
    mapping: list[int] = []  # old UTF-16 offset -> new UTF-16 offset
    kept: list[str] = []
    new_offset = 0
    for char in parsed.text:
        units = 2 if ord(char) > 0xFFFF else 1
        mapping.extend([new_offset] * units)
        if char == "\r" or "\u2028" <= char <= "\u202e":
            continue
        kept.append(" " if ord(char) < 32 and char != "\n" else char)
        new_offset += units
    mapping.append(new_offset)
    cleaned = "".join(kept)
    left_trimmed = cleaned.lstrip(" \n")
    lead = len(cleaned) - len(left_trimmed)  # trimmed characters are all single code units
    final = left_trimmed.rstrip(" \n")
    total = utf16_len(final)
    entities = []
    for entity in parsed.entities:
        start = mapping[min(entity["offset"], len(mapping) - 1)] - lead
        end = mapping[min(entity["offset"] + entity["length"], len(mapping) - 1)] - lead
        start, end = max(start, 0), min(end, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(final, entities)


# --------------------------------------------------------------------------------------------
# Errors and validation helpers
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def url_problem(url: str) -> str | None:
    """None if Telegram would accept ``url`` for a link/button, else its complaint."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None if parts.hostname else "URL host is empty"
    if scheme in ("tg", "ton"):
        return None
    if "://" in url:
        return "Unsupported URL protocol"
    host = url.split("/", 1)[0]
    if not host:
        return "URL host is empty"
    return None if "." in host.strip(".") else "Wrong HTTP URL"


def render_text(
    raw: str | None, parse_mode: str | None, entities: Any = None, *, strict_ampersand: bool = True
) -> ParsedText:
    """Apply parse_mode to ``raw`` (no length checks); raise ApiError like Telegram."""
    mode = (parse_mode or "").lower()
    if not mode:
        given = entities if isinstance(entities, list) else []
        return finalize_text(ParsedText(raw or "", copy.deepcopy(given)))
    if mode == "html":
        try:
            return finalize_text(parse_html(raw or "", strict_ampersand=strict_ampersand))
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if mode in ("markdown", "markdownv2"):
        raise bad_request(
            f"can't parse entities: parse_mode {parse_mode} is unsupported in the stand-in "
            "(desabot sends HTML)"
        )
    raise bad_request("unsupported parse_mode")


def render_message_text(params: JSON, *, strict_ampersand: bool = True) -> ParsedText:
    """The text of sendMessage/editMessageText params as Telegram would store it."""
    raw = params.get("text")
    if raw is None or raw == "":
        raise bad_request("message text is empty")
    rendered = render_text(
        raw, params.get("parse_mode"), params.get("entities"), strict_ampersand=strict_ampersand
    )
    if not rendered.text:
        raise bad_request("text must be non-empty")
    if utf16_len(rendered.text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return rendered


def render_caption(params: JSON, *, strict_ampersand: bool = True) -> ParsedText:
    """The caption of media-sending params as Telegram would store it."""
    rendered = render_text(
        params.get("caption"),
        params.get("parse_mode"),
        params.get("caption_entities"),
        strict_ampersand=strict_ampersand,
    )
    if utf16_len(rendered.text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return rendered


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_KEYBOARD_FLAGS = ("resize_keyboard", "one_time_keyboard", "selective", "is_persistent")


def validate_reply_markup(markup: Any) -> None:
    """Raise ApiError unless ``markup`` (decoded JSON) is a reply markup Telegram accepts."""
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_rows(markup["inline_keyboard"], "inline_keyboard", _validate_inline_button)
    elif "keyboard" in markup:
        _validate_rows(markup["keyboard"], "keyboard", _validate_keyboard_button)
        _require_bools(markup, _KEYBOARD_FLAGS)
    elif "remove_keyboard" in markup:
        _require_bools(markup, ("remove_keyboard", "selective"))
    elif "force_reply" in markup:
        _require_bools(markup, ("force_reply", "selective"))
    else:
        raise bad_request("can't parse reply keyboard markup JSON object")


def _require_bools(obj: JSON, names: tuple[str, ...]) -> None:
    for name in names:
        if name in obj and not isinstance(obj[name], bool):
            raise bad_request(f'field "{name}" must be of type Boolean')


def _validate_rows(rows: Any, name: str, check_button: Callable[[Any], None]) -> None:
    if not isinstance(rows, list):
        raise bad_request(f'field "{name}" must be of type Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(f'field "{name}" must be an Array of Arrays')
        for button in row:
            check_button(button)
            count += 1
    if count > BUTTON_LIMIT:
        raise bad_request("REPLY_MARKUP_TOO_LONG")


def _validate_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise bad_request(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if button.get("callback_data") == "":
        actions.remove("callback_data")  # Telegram treats an empty callback_data as absent
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + f"exactly one action field is allowed, got {actions}")
    _validate_inline_action(actions[0], button[actions[0]])


def _validate_inline_action(action: str, value: Any) -> None:
    if action == "callback_data":
        if not isinstance(value, str) or len(value.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        problem = url_problem(value) if isinstance(value, str) else "Wrong HTTP URL"
        if problem:
            raise bad_request(f"inline keyboard button URL '{value}' is invalid: {problem}")
    elif action == "web_app":
        url = value.get("url", "") if isinstance(value, dict) else ""
        if not str(url).startswith("https://"):
            raise bad_request(
                f"inline keyboard button Web App URL '{url}' is invalid: "
                "Only HTTPS links are allowed"
            )
    elif action == "copy_text":
        text = value.get("text", "") if isinstance(value, dict) else ""
        if not isinstance(text, str) or not 1 <= len(text) <= 256:
            raise bad_request("BUTTON_COPY_TEXT_INVALID")
    elif action in ("pay", "callback_game"):
        raise bad_request("BUTTON_TYPE_INVALID")


def _validate_keyboard_button(button: Any) -> None:
    if isinstance(button, str):
        text: Any = button
    elif isinstance(button, dict):
        if "text" not in button:
            raise bad_request("can't parse keyboard button: Can't find field \"text\"")
        text = button["text"]
    else:
        raise bad_request("can't parse keyboard button: KeyboardButton must be an Object")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")


_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SCOPE_FIELDS = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}


def validate_commands(commands: Any) -> list[JSON]:
    if not isinstance(commands, list):
        raise bad_request('field "commands" must be of type Array')
    if len(commands) > COMMANDS_LIMIT:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        name, description = command.get("command", ""), command.get("description", "")
        if not name:
            raise bad_request("command must be non-empty")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not description:
            raise bad_request("command description must be non-empty")
        if not isinstance(description, str) or len(description) > 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


def validate_scope(scope: Any) -> JSON:
    if scope is None:
        return {"type": "default"}
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
    if scope.get("type") not in _SCOPE_FIELDS:
        raise bad_request("can't parse BotCommandScope: Unsupported type specified")
    for name in _SCOPE_FIELDS[scope["type"]]:
        if name not in scope:
            raise bad_request(f"can't parse BotCommandScope: Can't find field \"{name}\"")
    return scope


# --------------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------------

_INT_PARAMS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "user_id", "reply_to_message_id",
        "message_thread_id", "cache_time", "max_connections", "from_chat_id",
    }
)  # fmt: skip
_FLOAT_PARAMS = frozenset({"timeout", "latitude", "longitude"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification", "protect_content", "drop_pending_updates", "show_alert",
        "disable_web_page_preview", "allow_sending_without_reply", "allow_paid_broadcast",
        "disable_content_type_detection", "revoke", "has_spoiler", "show_caption_above_media",
    }
)  # fmt: skip
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "commands", "scope", "allowed_updates", "entities", "caption_entities",
        "link_preview_options", "reply_parameters", "media", "results", "permissions",
    }
)  # fmt: skip


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str


def _add_caption(fields: JSON, caption: ParsedText, markup: Any) -> None:
    """A media message's caption, its entities and an inline keyboard, as Telegram echoes them."""
    if caption.text:
        fields["caption"] = caption.text
    if caption.entities:
        fields["caption_entities"] = caption.entities
    if markup is not None and "inline_keyboard" in markup:
        fields["reply_markup"] = markup


def _coerce(name: str, value: Any) -> Any:
    """Turn form strings into what the Bot API reads them as (ints, bools, JSON)."""
    if not isinstance(value, str):
        return value
    if name in _INT_PARAMS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _FLOAT_PARAMS:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if name in _BOOL_PARAMS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _decode_params(raw: dict[str, Any]) -> tuple[JSON, set[str]]:
    """Coerce scalar params and JSON-decode nested ones; return (params, undecodable names)."""
    params: JSON = {}
    bad_json: set[str] = set()
    for name, value in raw.items():
        if name in _JSON_PARAMS and isinstance(value, str):
            try:
                params[name] = json.loads(value)
            except ValueError:
                params[name] = value
                bad_json.add(name)
            continue
        params[name] = _coerce(name, value)
    return params, bad_json


_DISPOSITION_PARAM = re.compile(r';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Minimal multipart/form-data parser (what httpx sends for PTB uploads)."""
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = dict(_DISPOSITION_PARAM.findall(headers.get("content-disposition", "")))
        name = disposition.get("name", "").replace("%22", '"')
        content = content.removesuffix(b"\r\n")
        if "filename" in disposition:
            files[name] = UploadedFile(
                filename=disposition["filename"].replace("%22", '"'),
                content=content,
                mime_type=headers.get("content-type", "application/octet-stream"),
            )
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def decode_body(
    content_type: str, body: bytes, query: str
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Raw params (query string + form/multipart/JSON body) and uploaded files."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        fields, files = _parse_multipart(body, match.group(1) if match else "")
        raw.update(fields)
    elif media_type == "application/json" and body.strip():
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            raw.update(decoded)
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return raw, files


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class ApiCall:
    """One request as it arrived.  Unpacks as ``method, params = call``.

    ``status`` is the HTTP status answered (None while a long poll is still waiting) and
    ``description`` the error description for rejected calls.
    """

    method: str
    params: JSON
    token: str
    status: int | None = None
    description: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params))

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK


@dataclass
class _StoredMessage:
    message: JSON
    from_bot: bool
    raw_text: str | None = None
    parse_mode: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class _Profile:
    first_name: str = "Budi"
    language_code: str | None = "id"
    last_name: str | None = None
    username: str | None = None


@dataclass
class _Request:
    method: str
    token: str
    params: JSON
    files: dict[str, UploadedFile]


_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_DEFAULT_UPDATE_TYPES_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")


def _is_counted_send(method: str) -> bool:
    """Methods subject to flood control in the stand-in: message sends, not chat actions."""
    lowered = method.lower()
    return lowered.startswith("send") and lowered != "sendchataction"


def _command_entities(text: str) -> list[JSON]:
    match = _BOT_COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi:
    """Stand-in Bot API server; see the module docstring.  Use as ``with FakeBotApi() as fake``.

    Tunables (plain attributes, set them any time): ``blocked`` (chat ids answering 403),
    ``known_chats`` / ``require_known_chat``, ``max_sends_per_second``, ``per_chat_limit``,
    ``long_poll_cap`` (seconds), ``strict_ampersand``, ``allowed_tokens`` (None = any token).
    """

    def __init__(self) -> None:
        self.blocked: set[int] = set()
        self.known_chats: set[int] = set()
        self.require_known_chat = False
        self.max_sends_per_second: int | None = None
        self.per_chat_limit: int | None = None
        self.long_poll_cap = 1.0
        self.strict_ampersand = True
        self.allowed_tokens: set[str] | None = None

        self._lock = threading.RLock()
        self._updates_changed = threading.Condition(self._lock)
        self._server: _FakeHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._calls: list[ApiCall] = []
        self._sent: list[JSON] = []
        self._tokens: set[str] = set()
        self._updates: deque[JSON] = deque()
        self._dropped_updates: list[JSON] = []
        self._allowed_updates: list[str] | None = None
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self._files: dict[str, _StoredFile] = {}
        self._profiles: dict[int, _Profile] = {}
        self._open_callbacks: dict[str, JSON] = {}
        self._callback_answers: list[JSON] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook: JSON = {}
        self._forced_429 = 0
        self._forced_retry_after = 1
        self._forced_after = 0
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int, deque[float]] = {}
        self._internal_errors: list[str] = []
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._photos: dict[str, tuple[bytes, list[JSON]]] = {}  # file id → (content, sizes)
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._handlers: dict[str, Callable[[_Request], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action,
            "deletemessage": self._delete_message,
            "getfile": self._get_file,
            "close": lambda request: True,
            "logout": lambda request: True,
        }

    # ---------------------------------------------------------------- lifecycle

    def start(self, port: int = 0) -> FakeBotApi:
        """Serve on ``port`` (0: any free one). stop() then start(old port) simulates an
        outage: everything recorded so far is kept."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already running")
        self._stopping = False
        self._server = _FakeHttpServer(self, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # also how long stop() waits
            name="FakeBotApi",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._lock:
            self._stopping = True
            self._updates_changed.notify_all()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` / ``Bot(base_file_url=...)``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---------------------------------------------------------------- knobs

    def fail_next_with_429(self, n: int = 1, retry_after: int = 1, after: int = 0) -> None:
        """Answer the next ``n`` message sends with 429 Too Many Requests, once ``after``
        more sends have been accepted (the second part of a long message, say)."""
        if retry_after < 1:
            raise ValueError("retry_after must be >= 1 (PTB ignores a retry_after of 0)")
        with self._lock:
            self._forced_429 = n
            self._forced_retry_after = retry_after
            self._forced_after = after

    # ---------------------------------------------------------------- pushing updates

    def push_update(self, raw: JSON) -> JSON:
        """Queue a raw update dict (``update_id`` is assigned when missing) and return it."""
        with self._lock:
            update = dict(raw)
            if "update_id" in update:
                next_id = max(int(update["update_id"]) + 1, next(self._update_ids))
                self._update_ids = itertools.count(next_id)
            else:
                update["update_id"] = next(self._update_ids)
            chat = (update.get("message") or {}).get("chat") or {}
            if isinstance(chat.get("id"), int):
                self.known_chats.add(chat["id"])
            self._updates.append(update)
            self._updates_changed.notify_all()
            return copy.deepcopy(update)

    def push_text(
        self,
        user_id: int,
        text: str,
        first_name: str = "Budi",
        language_code: str | None = "id",
        last_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """A private text message from ``user_id``; a leading /command gets its entity."""
        with self._lock:
            self._profiles[user_id] = _Profile(first_name, language_code, last_name, username)
            fields: JSON = {"text": text}
            entities = _command_entities(text)
            if entities:
                fields["entities"] = entities
            return self._push_user_message(user_id, fields)

    def push_message(self, user_id: int, **fields: Any) -> JSON:
        """A private message from ``user_id`` with arbitrary Message fields (sticker=..., ...)."""
        with self._lock:
            return self._push_user_message(user_id, fields)

    def push_sticker(self, user_id: int, emoji: str = "👍") -> JSON:
        file_id, unique_id = self._register_file("stickers", "webp", b"RIFF\x00\x00\x00\x00WEBP")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 12,
        }
        return self.push_message(user_id, sticker=sticker)

    def push_photo(self, user_id: int, caption: str | None = None) -> JSON:
        sizes = []
        for width in (90, 320, 800):
            file_id, unique_id = self._register_file("photos", "jpg", b"\xff\xd8\xff\xd9")
            size = {"file_id": file_id, "file_unique_id": unique_id, "file_size": 4}
            sizes.append({**size, "width": width, "height": width * 3 // 4})
        fields: JSON = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user_id, **fields)

    def push_voice(self, user_id: int, duration: int = 3) -> JSON:
        file_id, unique_id = self._register_file("voice", "oga", b"OggS\x00stand-in")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 13,
        }
        return self.push_message(user_id, voice=voice)

    def push_location(
        self, user_id: int, latitude: float = -0.8917, longitude: float = 119.8707
    ) -> JSON:
        return self.push_message(user_id, location={"latitude": latitude, "longitude": longitude})

    def push_document(
        self,
        user_id: int,
        file_name: str = "dokumen.pdf",
        mime_type: str = "application/pdf",
        content: bytes = b"%PDF-1.4 stand-in",
        caption: str | None = None,
    ) -> JSON:
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        file_id, unique_id = self._register_file("documents", extension, content)
        document = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        fields: JSON = {"document": document}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user_id, **fields)

    def push_contact(
        self,
        user_id: int,
        phone_number: str = "+6281234567890",
        first_name: str | None = None,
        contact_user_id: int | None = None,
    ) -> JSON:
        """A shared contact; by default the sender's own (as with request_contact buttons)."""
        with self._lock:
            profile = self._profiles.get(user_id, _Profile())
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or profile.first_name,
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return self.push_message(user_id, contact=contact)

    def push_callback(
        self,
        user_id: int,
        data: str,
        message_id: int | None = None,
        language_code: str | None = "id",
    ) -> JSON:
        """A button press on a bot message in ``user_id``'s chat (``message_id`` or the last
        one the bot sent there)."""
        with self._lock:
            stored = self._bot_message_for_callback(user_id, message_id)
            profile = self._profiles.setdefault(user_id, _Profile())
            user = self._user_dict(user_id, profile)
            if language_code is not None:
                user["language_code"] = language_code
            query_id = str(next(self._callback_ids))
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(stored.message),
                "chat_instance": f"{user_id}0001",
                "data": data,
            }
            self._open_callbacks[query_id] = query
            return self.push_update({"callback_query": query})

    def push_group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        first_name: str = "Petugas",
    ) -> JSON:
        """A text message by ``user_id`` in the group ``chat_id`` (negative), optionally a
        reply to a stored message of that group (as Telegram sends it: the replied message
        nested in ``reply_to_message``)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            profile = self._profiles.setdefault(user_id, _Profile(first_name))
            message: JSON = {
                "message_id": next(self._message_ids),
                "from": self._user_dict(user_id, profile),
                "chat": self._chat_dict(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            if reply_to_message_id is not None:
                replied = self._messages.get((chat_id, reply_to_message_id))
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
                nested = copy.deepcopy(replied.message)
                nested.pop("reply_to_message", None)
                message["reply_to_message"] = nested
            self._messages[(chat_id, message["message_id"])] = _StoredMessage(
                message, from_bot=False
            )
            return self.push_update({"message": copy.deepcopy(message)})

    # ---------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[ApiCall]:
        """Every request in arrival order (rejected ones included)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Calls of one method (case-insensitive)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    @property
    def errors(self) -> list[ApiCall]:
        """Rejected calls (answered with a non-200 status)."""
        return [call for call in self.calls if call.status not in (None, HTTPStatus.OK)]

    @property
    def tokens_seen(self) -> set[str]:
        with self._lock:
            return set(self._tokens)

    @property
    def internal_errors(self) -> list[str]:
        """Crashes inside the stand-in itself (answered 500); should stay empty."""
        with self._lock:
            return list(self._internal_errors)

    @property
    def callback_answers(self) -> list[JSON]:
        """Params of successful answerCallbackQuery calls."""
        with self._lock:
            return copy.deepcopy(self._callback_answers)

    def sent(self, chat_id: int | None = None) -> list[JSON]:
        """Successful sends and edits, oldest first: dicts with method, chat_id, message_id,
        text (as sent; a document's caption), visible_text, parse_mode, reply_markup, entities,
        caption, document ({filename, content, mime_type} or None), photo ({content,
        by_file_id, sizes}: sendPhoto only), date."""
        with self._lock:
            records = [r for r in self._sent if chat_id is None or r["chat_id"] == chat_id]
            return copy.deepcopy(records)

    def last_sent(self, chat_id: int | None = None) -> JSON:
        records = self.sent(chat_id)
        if not records:
            raise AssertionError(f"nothing was sent to chat {chat_id}\n{self.describe()}")
        return records[-1]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """Current state of a message (after edits) as Telegram would return it."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            return copy.deepcopy(stored.message) if stored else None

    def my_commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """Commands stored by setMyCommands for that scope (default scope) and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def describe(self, last: int = 20) -> str:
        """A human-readable dump for assertion messages."""
        with self._lock:
            calls = self._calls[-last:]
            lines = [
                f"FakeBotApi: {len(self._calls)} calls, {len(self._sent)} sent, "
                f"{len(self._updates)} pending updates, {len(self._dropped_updates)} updates "
                f"dropped by allowed_updates, internal errors: {self._internal_errors or 'none'}",
                f"last {len(calls)} calls:",
            ]
            for call in calls:
                params = json.dumps(call.params, ensure_ascii=False, default=repr)
                params = params if len(params) <= 300 else params[:297] + "..."
                outcome = f"{call.status}" + (f" {call.description}" if call.description else "")
                lines.append(f"  {call.method} {params} -> {outcome}")
            return "\n".join(lines)

    def wait_until(self, predicate: Callable[[FakeBotApi], Any], timeout: float = 5.0) -> None:
        """Block until ``predicate(self)`` is truthy, or raise AssertionError with a dump."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.describe()}")
            time.sleep(0.01)

    async def wait_for(self, predicate: Callable[[FakeBotApi], Any], timeout: float = 5.0) -> None:
        """Async ``wait_until`` (yields to the event loop while polling)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.describe()}")
            await asyncio.sleep(0.01)

    # ---------------------------------------------------------------- HTTP entry point

    def handle_http(
        self, verb: str, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request: (status, content type, body)."""
        api = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", path)
        if api:
            status, payload = self._api_request(
                api.group(2), api.group(1), content_type, body, query
            )
            return status, "application/json", json.dumps(payload).encode("utf-8")
        download = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if download and verb == "GET":
            content = self._file_content(download.group(2))
            if content is not None:
                return 200, "application/octet-stream", content
        payload = ApiError(404, "Not Found").payload()
        return 404, "application/json", json.dumps(payload).encode("utf-8")

    def _api_request(
        self, method: str, token: str, content_type: str, body: bytes, query: str
    ) -> tuple[int, JSON]:
        call = ApiCall(method=method, params={}, token=token)
        with self._lock:
            self._tokens.add(token)
            self._calls.append(call)
        try:
            try:
                raw, files = decode_body(content_type, body, query)
            except ValueError as exc:  # includes bad JSON and bad UTF-8
                raise bad_request(f"can't parse request body: {exc}") from None
            params, bad_json = _decode_params(raw)
            params.update(files)
            call.params = params
            result = self._dispatch(_Request(method, token, params, files), bad_json)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, payload = exc.status, exc.payload()
        except Exception as exc:  # a bug in the stand-in: surface it, never hang the client
            status = 500
            description = f"Internal Server Error: stand-in crashed in {method}: {exc!r}"
            payload = ApiError(500, description).payload()
            with self._lock:
                self._internal_errors.append(description)
        with self._lock:
            call.status = status
            call.description = payload.get("description")
        return status, payload

    def _dispatch(self, request: _Request, bad_json: set[str]) -> Any:
        if self.allowed_tokens is not None and request.token not in self.allowed_tokens:
            raise ApiError(401, "Unauthorized")
        handler = self._handlers.get(request.method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        if "reply_markup" in bad_json:
            raise bad_request("can't parse reply keyboard markup JSON object")
        if bad_json:
            raise bad_request(f"can't parse JSON object in field {sorted(bad_json)[0]}")
        with self._lock:
            counted = _is_counted_send(request.method)
            if counted:
                self._check_flood(request.params.get("chat_id"))
            result = handler(request)
            if counted:
                self._note_send(request.params.get("chat_id"))
            return result

    # ---------------------------------------------------------------- flood control

    def _check_flood(self, chat_id: Any) -> None:
        if self._forced_429 > 0 and self._forced_after > 0:
            self._forced_after -= 1
        elif self._forced_429 > 0:
            self._forced_429 -= 1
            raise too_many_requests(self._forced_retry_after)
        now = time.monotonic()
        _prune(self._send_times, now)
        limit = self.max_sends_per_second
        if limit is not None and len(self._send_times) >= limit:
            raise too_many_requests(1)
        if self.per_chat_limit is not None and isinstance(chat_id, int):
            times = self._chat_send_times.setdefault(chat_id, deque())
            _prune(times, now)
            if len(times) >= self.per_chat_limit:
                raise too_many_requests(1)

    def _note_send(self, chat_id: Any) -> None:
        now = time.monotonic()
        self._send_times.append(now)
        if isinstance(chat_id, int):
            self._chat_send_times.setdefault(chat_id, deque()).append(now)

    # ---------------------------------------------------------------- shared helpers

    def _chat_id(self, params: JSON) -> int:
        """Validate the chat_id param like Telegram: empty, unknown, blocked."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if not isinstance(raw, int) or isinstance(raw, bool) or raw == 0:
            raise bad_request("chat not found")
        if self.require_known_chat and raw not in self.known_chats:
            raise bad_request("chat not found")
        if raw in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return raw

    def _reply_markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        validate_reply_markup(markup)
        return markup

    def _bot_user(self, token: str) -> JSON:
        prefix = token.split(":", 1)[0]
        return {
            "id": int(prefix) if prefix.isdigit() else DEFAULT_BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def _user_dict(self, user_id: int, profile: _Profile) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": profile.first_name}
        if profile.last_name:
            user["last_name"] = profile.last_name
        if profile.username:
            user["username"] = profile.username
        if profile.language_code:
            user["language_code"] = profile.language_code
        return user

    def _chat_dict(self, chat_id: int) -> JSON:
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": "Desabot test group"}
        profile = self._profiles.get(chat_id, _Profile())
        chat: JSON = {"id": chat_id, "type": "private", "first_name": profile.first_name}
        if profile.last_name:
            chat["last_name"] = profile.last_name
        if profile.username:
            chat["username"] = profile.username
        return chat

    def _push_user_message(self, user_id: int, fields: JSON) -> JSON:
        profile = self._profiles.setdefault(user_id, _Profile())
        message = {
            "message_id": next(self._message_ids),
            "from": self._user_dict(user_id, profile),
            "chat": self._chat_dict(user_id),
            "date": int(time.time()),
            **fields,
        }
        self._messages[(user_id, message["message_id"])] = _StoredMessage(message, from_bot=False)
        return self.push_update({"message": copy.deepcopy(message)})

    def _bot_message_for_callback(self, chat_id: int, message_id: int | None) -> _StoredMessage:
        if message_id is not None:
            stored = self._messages.get((chat_id, message_id))
            if stored is None or not stored.from_bot:
                raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
            return stored
        candidates = [
            stored
            for (chat, _), stored in self._messages.items()
            if chat == chat_id and stored.from_bot
        ]
        if not candidates:
            raise ValueError(f"the bot sent nothing to chat {chat_id} yet; nothing to press")
        return max(candidates, key=lambda stored: stored.message["message_id"])

    def _register_file(self, folder: str, extension: str, content: bytes) -> tuple[str, str]:
        with self._lock:
            number = next(self._file_ids)
            stored = _StoredFile(
                file_id=f"STAND-IN-{folder.upper()}-{number:06d}",
                file_unique_id=f"U{number:08d}",
                file_path=f"{folder}/file_{number}.{extension}",
                content=content,
            )
            self._files[stored.file_id] = stored
            return stored.file_id, stored.file_unique_id

    def _file_content(self, file_path: str) -> bytes | None:
        with self._lock:
            for stored in self._files.values():
                if stored.file_path == file_path:
                    return stored.content
        return None

    def _store_bot_message(self, request: _Request, chat_id: int, fields: JSON) -> JSON:
        message = {
            "message_id": next(self._message_ids),
            "from": self._bot_user(request.token),
            "chat": self._chat_dict(chat_id),
            "date": int(time.time()),
            **fields,
        }
        self._messages[(chat_id, message["message_id"])] = _StoredMessage(
            message,
            from_bot=True,
            raw_text=request.params.get("text", request.params.get("caption")),
            parse_mode=request.params.get("parse_mode"),
        )
        return message

    def _record_sent(self, request: _Request, message: JSON, **extra: Any) -> None:
        params = request.params
        record = {
            "method": request.method,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "text": params.get("text", params.get("caption", "")),
            "visible_text": message.get("text", message.get("caption", "")),
            "parse_mode": params.get("parse_mode"),
            "reply_markup": params.get("reply_markup"),
            "entities": message.get("entities", message.get("caption_entities", [])),
            "caption": params.get("caption"),
            "document": None,
            "date": message["date"],
        }
        record.update(extra)
        self._sent.append(copy.deepcopy(record))

    def _reply_to(self, params: JSON, chat_id: int) -> JSON | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = reply.get("allow_sending_without_reply")
            if message_id is None:
                raise bad_request('can\'t find field "message_id"')
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow_missing = params.get("allow_sending_without_reply")
        else:
            return None
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        replied = copy.deepcopy(stored.message)
        replied.pop("reply_to_message", None)
        return replied

    def _find_editable(self, params: JSON) -> _StoredMessage:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return stored

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str | None) -> tuple[str, str]:
        scope_key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return scope_key, language_code or ""

    # ---------------------------------------------------------------- method handlers

    def _get_me(self, request: _Request) -> JSON:
        return {
            **self._bot_user(request.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, request: _Request) -> list[JSON]:
        params = request.params
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"] or None
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = timeout if isinstance(timeout, int | float) else 0
        wait = min(max(float(timeout), 0.0), self.long_poll_cap)
        deadline = time.monotonic() + wait
        self._confirm_updates(params.get("offset"))
        while not self._deliverable() and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._updates_changed.wait(remaining)
        return copy.deepcopy(list(itertools.islice(self._updates, limit)))

    def _confirm_updates(self, offset: Any) -> None:
        if not isinstance(offset, int):
            return
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def _deliverable(self) -> bool:
        """Drop queued updates of types the bot did not ask for; True if any remain."""
        kept: deque[JSON] = deque()
        for update in self._updates:
            kind = next((key for key in update if key != "update_id"), "")
            allowed = (
                kind in self._allowed_updates
                if self._allowed_updates is not None
                else kind not in _DEFAULT_UPDATE_TYPES_EXCLUDED
            )
            (kept if allowed else self._dropped_updates).append(update)
        self._updates = kept
        return bool(kept)

    def _set_webhook(self, request: _Request) -> bool:
        url = request.params.get("url", "")
        if url and not str(url).lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if request.params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {"url": url} if url else {}
        return True

    def _delete_webhook(self, request: _Request) -> bool:
        if request.params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def _get_webhook_info(self, request: _Request) -> JSON:
        return {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _set_my_commands(self, request: _Request) -> bool:
        params = request.params
        commands = validate_commands(params.get("commands"))
        scope = validate_scope(params.get("scope"))
        self._commands[self._commands_key(scope, params.get("language_code"))] = commands
        return True

    def _get_my_commands(self, request: _Request) -> list[JSON]:
        params = request.params
        scope = validate_scope(params.get("scope"))
        key = self._commands_key(scope, params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, request: _Request) -> bool:
        params = request.params
        scope = validate_scope(params.get("scope"))
        self._commands.pop(self._commands_key(scope, params.get("language_code")), None)
        return True

    def _send_message(self, request: _Request) -> JSON:
        params = request.params
        rendered = render_message_text(params, strict_ampersand=self.strict_ampersand)
        markup = self._reply_markup(params)
        chat_id = self._chat_id(params)
        fields: JSON = {"text": rendered.text}
        if rendered.entities:
            fields["entities"] = rendered.entities
        if markup is not None and "inline_keyboard" in markup:
            fields["reply_markup"] = markup  # Telegram echoes only inline keyboards
        replied = self._reply_to(params, chat_id)
        if replied is not None:
            fields["reply_to_message"] = replied
        message = self._store_bot_message(request, chat_id, fields)
        self._record_sent(request, message)
        return message

    def _edit_message_text(self, request: _Request) -> JSON | bool:
        params = request.params
        rendered = render_message_text(params, strict_ampersand=self.strict_ampersand)
        markup = self._reply_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("REPLY_MARKUP_INVALID")
        if params.get("inline_message_id"):
            return True
        stored = self._find_editable(params)
        message = stored.message
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        new_entities = rendered.entities or None
        if (
            message["text"] == rendered.text
            and message.get("entities") == new_entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(_NOT_MODIFIED)
        message["text"] = rendered.text
        _set_or_drop(message, "entities", new_entities)
        _set_or_drop(message, "reply_markup", markup)  # editing without markup removes it
        message["edit_date"] = int(time.time())
        stored.raw_text, stored.parse_mode = params.get("text"), params.get("parse_mode")
        self._record_sent(request, message)
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, request: _Request) -> JSON | bool:
        params = request.params
        markup = self._reply_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("REPLY_MARKUP_INVALID")
        if params.get("inline_message_id"):
            return True
        stored = self._find_editable(params)
        message = stored.message
        if message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        self._record_sent(
            request, message, text=stored.raw_text or "", parse_mode=stored.parse_mode
        )
        return copy.deepcopy(message)

    def _answer_callback_query(self, request: _Request) -> bool:
        params = request.params
        query_id = str(params.get("callback_query_id", ""))
        if not query_id:
            raise bad_request("query_id is empty")  # stand-in wording
        if len(str(params.get("text", ""))) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        if self._open_callbacks.pop(query_id, None) is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._callback_answers.append(copy.deepcopy(params))
        return True

    def _send_document(self, request: _Request) -> JSON:
        params = request.params
        caption = render_caption(params, strict_ampersand=self.strict_ampersand)
        markup = self._reply_markup(params)
        document = params.get("document")
        if document is None or document == "":
            raise bad_request("there is no document in the request")
        chat_id = self._chat_id(params)
        if isinstance(document, UploadedFile):
            upload = document
        else:  # a file_id or URL string
            name = str(document).rsplit("/", 1)[-1] or "document"
            upload = UploadedFile(name, b"", "application/octet-stream")
        extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
        file_id, unique_id = self._register_file("documents", extension, upload.content)
        fields: JSON = {
            "document": {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_name": upload.filename,
                "mime_type": upload.mime_type,
                "file_size": len(upload.content),
            }
        }
        _add_caption(fields, caption, markup)
        message = self._store_bot_message(request, chat_id, fields)
        document_record = {
            "filename": upload.filename,
            "content": upload.content,
            "mime_type": upload.mime_type,
        }
        self._record_sent(request, message, document=document_record)
        return message

    def _send_photo(self, request: _Request) -> JSON:
        params = request.params
        caption = render_caption(params, strict_ampersand=self.strict_ampersand)
        markup = self._reply_markup(params)
        photo = params.get("photo")
        if photo is None or photo == "":
            raise bad_request("there is no photo in the request")
        chat_id = self._chat_id(params)
        if isinstance(photo, UploadedFile):
            content, by_file_id = photo.content, False
            sizes = self._photo_sizes(content)
        else:
            with self._lock:
                known = self._photos.get(str(photo))
            if known is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            content, sizes, by_file_id = known[0], known[1], True
        fields: JSON = {"photo": sizes}
        _add_caption(fields, caption, markup)
        message = self._store_bot_message(request, chat_id, fields)
        record = {"content": content, "by_file_id": by_file_id, "sizes": sizes}
        self._record_sent(request, message, photo=record)
        return message

    def _photo_sizes(self, content: bytes) -> list[JSON]:
        """What Telegram makes of an uploaded photo: a few sizes, the largest last."""
        if len(content) > 10 * 1024 * 1024:
            raise bad_request("file is too big")
        try:
            from PIL import Image

            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                image.load()
        except Exception:  # whatever Pillow cannot read, Telegram cannot either
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        sizes = []
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height))
            file_id, unique_id = self._register_file("photos", "jpg", content)
            sizes.append({
                "file_id": file_id, "file_unique_id": unique_id, "file_size": len(content),
                "width": max(1, round(width * scale)), "height": max(1, round(height * scale)),
            })  # fmt: skip
            if scale == 1.0:
                break
        with self._lock:
            for size in sizes:
                self._photos[size["file_id"]] = (content, sizes)
        return sizes

    def _send_chat_action(self, request: _Request) -> bool:
        params = request.params
        action = params.get("action")
        if not action:
            raise bad_request("action is empty")  # stand-in wording
        self._chat_id(params)
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _delete_message(self, request: _Request) -> bool:
        params = request.params
        chat_id = self._chat_id(params)
        key = (chat_id, params.get("message_id"))
        if self._messages.pop(key, None) is None:  # type: ignore[arg-type]
            raise bad_request("message to delete not found")
        return True

    def _get_file(self, request: _Request) -> JSON:
        stored = self._files.get(str(request.params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


def _prune(times: deque[float], now: float) -> None:
    while times and now - times[0] >= 1.0:
        times.popleft()


def _set_or_drop(obj: JSON, key: str, value: Any) -> None:
    if value is None:
        obj.pop(key, None)
    else:
        obj[key] = value


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    timeout = 30  # idle keep-alive connections end eventually
    wbufsize = -1  # buffer the response; handle_one_request() flushes it in one go
    server: _FakeHttpServer

    def setup(self) -> None:
        super().setup()
        # small request/response pairs: without this, Nagle + delayed ACK add ~40 ms each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        status, content_type, payload = self.server.fake.handle_http(
            self.command, url.path, url.query, self.headers.get("Content-Type", ""), body
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)  # buffered (wbufsize): headers and body leave together

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _FakeHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeBotApi, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Cut keep-alive connections so their handler threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients hanging up mid-poll is normal; other errors are recorded."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # ConnectionResetError, BrokenPipeError, timeouts
            return
        with self.fake._lock:
            self.fake._internal_errors.append("".join(traceback.format_exception(exc)))
