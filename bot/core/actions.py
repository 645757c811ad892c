"""Typed button actions: what a button does, as a prefix and fields packed into one string.

A feature declares each of its buttons as a small class::

    class Register(Action, prefix="reg"):
        code: str

``Register("K7QA").pack()`` is ``"reg:K7QA"``, and the codec turns that string back into
``Register(code="K7QA")``. Fields are ``str`` (non-empty, no ``:``), ``int`` (0-999999999) or
a ``Literal`` of strings. A payload that does not unpack exactly (unknown prefix, wrong
number of fields, a word where a number belongs) is forged or stale: the router answers it
with the stale-button reply. A prefix may have several parts (``"st:bc:x"``); the longest
registered prefix wins, so ``"vil:other"`` and ``"vil:3"`` can be two actions.

The one limit every channel shares is checked here: Telegram's callback data is 1-64 bytes
(WhatsApp allows 256), so no payload may be longer.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, dataclass_transform

MAX_PAYLOAD = 64  # bytes: Telegram's callback_data, the smallest any channel allows
SEPARATOR = ":"
_NUMBER = re.compile(r"[0-9]{1,9}")


def check_payload(payload: str) -> str:
    """A payload every channel accepts, or ValueError: the only place the limit lives."""
    size = len(payload.encode("utf-8"))
    if not 1 <= size <= MAX_PAYLOAD:
        raise ValueError(f"button action must be 1-{MAX_PAYLOAD} bytes: {payload!r}")
    return payload


@dataclass_transform(frozen_default=True)
class Action:
    """Base of every typed button action: a class with ``prefix=`` (how its payload starts)
    and, for actions other features link to by name, ``label=`` (the text key of the
    button's usual label); its annotated attributes are its fields, in order (a subclass of
    an action does not inherit them: each action declares its own). Instances are frozen
    values checked against their fields' types, like frozen dataclasses without generated
    code per class (there are fifty of them)."""

    prefix: ClassVar[str]
    label: ClassVar[str | None]
    fields: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, prefix: str, label: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix or any(not part for part in prefix.split(SEPARATOR)):
            raise ValueError(f"{cls.__name__}: a prefix of non-empty words, got {prefix!r}")
        cls.prefix = prefix
        cls.label = label
        own = inspect.get_annotations(cls)
        cls.fields = tuple(name for name, kind in own.items() if "ClassVar" not in str(kind))
        taken = {"prefix", "label", "fields", "pack"} & set(cls.fields)
        if taken:
            raise ValueError(f"{cls.__name__}: a field may not be called {', '.join(taken)}")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = type(self).fields
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {name!r}")
            values[name] = value
        missing = [name for name in names if name not in values]
        if missing:
            raise TypeError(f"{type(self).__name__}: missing {', '.join(missing)}")
        for name, check in zip(names, _checks(type(self)), strict=True):
            object.__setattr__(self, name, check(values[name]))

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in type(self).fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).fields)
        return f"{type(self).__name__}({shown})"

    def pack(self) -> str:
        values = [_encode(self, name) for name in type(self).fields]
        return check_payload(SEPARATOR.join([self.prefix, *values]))


@functools.cache
def _checks(action: type[Action]) -> tuple[Callable[[Any], Any], ...]:
    """Per field, what a value must be: a wrong one fails where it is made, not later as a
    stale button."""
    hints = typing.get_type_hints(action)
    return tuple(_check(action.__name__, name, hints[name]) for name in action.fields)


def _check(owner: str, name: str, kind: object) -> Callable[[Any], Any]:
    if typing.get_origin(kind) is Literal:
        allowed = typing.get_args(kind)
        expected, ok = f"one of {allowed}", lambda value: value in allowed
    elif kind is int:
        expected, ok = "a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)
    else:
        expected, ok = "text", lambda value: isinstance(value, str)

    def check(value: Any) -> Any:
        if not ok(value):
            raise TypeError(f"{owner}.{name}: expected {expected}, got {value!r}")
        return value

    return check


def _encode(action: Action, name: str) -> str:
    value = getattr(action, name)
    text = str(value)
    if not text or SEPARATOR in text:
        raise ValueError(f"{type(action).__name__}.{name}: cannot pack {value!r}")
    return text


Decoder = Callable[[str], Any]


def _decoder(kind: object) -> Decoder:
    """How one field is read back from its text; raises ValueError on anything else."""
    if kind is int:
        return _number
    if kind is str:
        return _word
    if typing.get_origin(kind) is Literal:
        allowed = typing.get_args(kind)

        def choice(text: str) -> str:
            if text not in allowed:
                raise ValueError(text)
            return text

        return choice
    raise TypeError(f"action fields are str, int or Literal[...], got {kind!r}")


def _number(text: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    return int(text)


def _word(text: str) -> str:
    if not text:
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class _Shape:
    action: type[Action]
    decoders: tuple[Decoder, ...]


class Codec:
    """Every action type the bot knows, by prefix; payload text → action, or None."""

    def __init__(self) -> None:
        self._shapes: dict[str, _Shape] = {}

    def register(self, action: type[Action]) -> None:
        if action.prefix in self._shapes:
            other = self._shapes[action.prefix].action.__name__
            raise ValueError(f"{action.__name__}: prefix {action.prefix!r} is {other}'s already")
        hints = typing.get_type_hints(action)
        decoders = tuple(_decoder(hints[name]) for name in action.fields)
        self._shapes[action.prefix] = _Shape(action, decoders)

    def get(self, prefix: str) -> type[Action] | None:
        shape = self._shapes.get(prefix)
        return shape.action if shape else None

    def unpack(self, payload: str) -> Action | None:
        """The action a payload names; None for one that is forged, stale or misspelt."""
        parts = payload.split(SEPARATOR)
        for cut in range(len(parts), 0, -1):  # the longest registered prefix first
            shape = self._shapes.get(SEPARATOR.join(parts[:cut]))
            if shape is None or len(parts) - cut != len(shape.decoders):
                continue
            try:
                values = [
                    decode(text) for decode, text in zip(shape.decoders, parts[cut:], strict=True)
                ]
            except ValueError:
                return None
            return shape.action(*values)
        return None

    def prefixes(self) -> list[str]:
        return sorted(self._shapes)


class MainMenu(Action, prefix="menu", label="button_menu"):
    """The hub every reply can lead back to; the core shows it after every notice, and a
    feature (bot/features/menu.py) answers it."""
