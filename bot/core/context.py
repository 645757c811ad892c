"""What a handler is given and what it gives back.

``Env``: the services every feature may use (database, texts, FAQ, settings), the same for
every message. ``Ctx``: one message being handled — who sent it, their flow state, and the
helpers that turn text keys into replies in their language. ``Outcome``: the replies and what
was done (``Handled``), which the pipeline logs. ``Outgoing``: the same helpers for a message
the delivery worker sends later (a reminder, an announcement), with no person in front of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.content.faq import Faq
from bot.content.matcher import Matcher
from bot.content.texts import Texts
from bot.core.actions import Action, MainMenu
from bot.core.messages import Button, Incoming, Reply
from bot.domain import people
from bot.domain.broadcasts import QuietHours
from bot.domain.people import Person
from bot.domain.reminders import ReminderPolicy
from bot.domain.sessions import Session
from bot.domain.store import Database

WITA = ZoneInfo("Asia/Makassar")
Rows = tuple[tuple[Button, ...], ...]


@dataclass
class Settings:
    """What features read from config.yaml, set once at start (tests change staff_ids)."""

    default_language: str = "id"
    timezone: tzinfo = WITA
    villages: tuple[str, ...] = ()
    menu_topics: tuple[str, ...] = ()
    staff_ids: frozenset[tuple[str, str]] = frozenset()  # (channel, user id) pairs
    staff_group: tuple[str, str] | None = None  # (channel, chat id) where officers answer
    console_inbox: bool = False  # officers answer in the staff console (it has accounts)
    policy: ReminderPolicy = field(default_factory=lambda: ReminderPolicy(WITA))
    quiet: QuietHours = field(default_factory=lambda: QuietHours(WITA))
    retention_days: int = 180
    messages_per_minute: int = 20
    # channels with a delivery worker: only people on these can be reached later
    reachable_channels: tuple[str, ...] = ()
    # channels whose user ids may appear in the log (on WhatsApp an id is a phone number)
    loggable_ids: frozenset[str] = frozenset()

    @property
    def officer_inbox(self) -> bool:
        """Questions can go to an officer: in the staff group, or in the console."""
        return self.staff_group is not None or self.console_inbox


@dataclass
class Env:
    """The services handlers use. ``memory``: per-feature caches of what is built from the
    content, each feature under its own name; emptied when the content changes
    (``use_faq``)."""

    db: Database
    texts: Texts
    faq: Faq
    matcher: Matcher
    settings: Settings
    memory: dict[str, dict[Any, Any]] = field(default_factory=dict)

    def remembered(self, feature: str) -> dict[Any, Any]:
        return self.memory.setdefault(feature, {})

    def use_faq(self, faq: Faq, matcher: Matcher) -> None:
        """The FAQ as edited or taught since: answers built from the old one are forgotten."""
        self.faq, self.matcher = faq, matcher
        self.memory.clear()


@dataclass(frozen=True)
class Handled:
    """What was done with one message, for the log and for staff statistics."""

    action: str
    faq_id: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class Outcome:
    replies: list[Reply]
    handled: Handled
    standalone: bool = False  # nothing is to be added to these replies (no first-contact note)


def outcome(action: str, *replies: Reply, standalone: bool = False) -> Outcome:
    return Outcome(list(replies), Handled(action), standalone)


class Navigator(Protocol):
    """What replies need of the router (bot/core/router.py): other features' actions by
    name, the menu, and running a named action or command."""

    def known(self, name: str) -> str: ...

    def label_of(self, name: str) -> str: ...

    def menu_entries(self, settings: Settings) -> list[str]: ...

    async def run_action(self, ctx: Ctx, name: str) -> Outcome: ...

    async def run_command(self, ctx: Ctx, name: str) -> Outcome: ...

    def render(
        self,
        env: Env,
        text_key: str,
        lang: str,
        values: dict[str, str],
        session: Session | None = None,
    ) -> Reply | None: ...


class Stale(Exception):
    """Raised by a handler whose button no longer applies (a session gone, a list changed):
    the router answers with the stale-button reply, as for a forged one."""


class Speaker:
    """Texts and buttons in one language."""

    def __init__(self, env: Env, router: Navigator, lang: str) -> None:
        self.env, self.router, self.lang = env, router, lang

    @property
    def db(self) -> Database:
        return self.env.db

    @property
    def settings(self) -> Settings:
        return self.env.settings

    def t(self, key: str, **values: str) -> str:
        return self.env.texts.get(self.lang, key, **values)

    def button(self, key: str, action: Action | str, **values: str) -> Button:
        """A button labelled with text ``key``; ``action`` typed, or another feature's
        action by name (which must exist: a typo fails here, not for a villager)."""
        payload = action.pack() if isinstance(action, Action) else self.router.known(action)
        return Button(self.t(key, **values), payload)

    def row(self, key: str, action: Action | str, **values: str) -> tuple[Button]:
        return (self.button(key, action, **values),)

    def link(self, name: str) -> tuple[Button]:
        """A row with one button to another feature's action, labelled as that feature
        labels it (``label=`` on the action)."""
        return (Button(self.t(self.router.label_of(name)), name),)

    def back(self) -> tuple[Button]:
        """The "Main menu" row under almost every reply."""
        return self.link(MainMenu.prefix)

    def menu(self) -> Rows:
        """The main menu: the entries features registered, in their order."""
        return tuple(self.link(name) for name in self.router.menu_entries(self.settings))

    def office_name(self, office: str) -> str:
        return self.env.texts.office_values.get(f"{office}.name", office)


class Ctx(Speaker):
    """One incoming message being handled."""

    def __init__(self, env: Env, router: Navigator, message: Incoming, person: Person) -> None:
        super().__init__(env, router, person.lang)
        self.message = message
        self.person = person
        self.owner: str | None = None  # the feature handling it, set by the router
        self.action: Action | None = None  # a button press, unpacked (None: forged or stale)
        self.is_staff = (message.channel, message.user_id) in env.settings.staff_ids

    def switch_language(self, lang: str) -> None:
        self.person = replace(self.person, lang=lang)
        self.lang = lang

    # -- flow state: where a person is in a multi-step chat, owned by one feature ----------

    @property
    def flow(self) -> dict | None:
        """The person's flow state if the handling feature owns it, else None."""
        state = self.person.flow
        return state if state and state.get("owner") == self.owner else None

    async def set_flow(self, state: dict | None) -> None:
        """Keep ``state`` (under this feature's name) in the database: a restart resumes it."""
        assert self.owner is not None
        stored = {**state, "owner": self.owner} if state is not None else None
        await people.set_flow(self.db, self.person.id, stored)
        self.person = replace(self.person, flow=stored)

    async def leave_flow(self) -> None:
        """Whatever flow the person was in ends (what was kept in it goes with it)."""
        if self.person.flow:
            await people.set_flow(self.db, self.person.id, None)
            self.person = replace(self.person, flow=None)

    # -- replies -----------------------------------------------------------------------------

    def notice(self, key: str, **values: str) -> Outcome:
        """A short explanation followed by the main menu: never silence, never a dead end."""
        return outcome(key, Reply(self.t(key, **values), self.menu()))

    async def go(self, name: str) -> Outcome:
        """What pressing another feature's (field-less) action ``name`` would answer."""
        return await self.router.run_action(self, name)

    async def run_command(self, name: str) -> Outcome:
        """What the command ``/name`` would answer (without leaving the person's flow)."""
        return await self.router.run_command(self, name)


class GroupChat(Speaker):
    """A message in the staff group (officers, not villagers: no person, no flow)."""

    def __init__(self, env: Env, router: Navigator, message: Incoming) -> None:
        super().__init__(env, router, env.settings.default_language)
        self.message = message


class Outgoing(Speaker):
    """A message the delivery worker sends later, rendered in its reader's language, with
    the session it is about as it is now (reminders and notices)."""

    def __init__(
        self,
        env: Env,
        router: Navigator,
        lang: str,
        text_key: str,
        values: dict[str, str],
        session: Session | None = None,
    ) -> None:
        super().__init__(env, router, lang)
        self.text_key = text_key
        self.values = values
        self.session = session

    def text(self) -> str:
        return self.t(self.text_key, **self.values)
