"""How a feature registers with the router: its handlers, texts, commands and flow steps.

A feature module makes one ``Feature`` and decorates its handlers::

    feature = Feature("signup", texts=("ask_name", ...), private_steps=("name",),
                      links=("contact", "menu"))

    @feature.command("start")              # /start: handler(ctx, argument)
    @feature.action(Register)              # a button packed from Register: handler(ctx, action)
    @feature.action(Consent, steps=("consent",))  # ... only while its flow is at that step
    @feature.text(find_code, priority=Priority.GLOBAL)  # typed text a function recognises
    @feature.step("name")                  # what is typed at a step of its own flow

and lists itself in bot/features/__init__.py. ``Priority`` is the order handlers are tried in.
A feature says which other features' actions and commands it leads to (``links``: "contact",
"/start"), which of their words it says too (``borrows``), and never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from bot.core.actions import Action
from bot.core.context import Ctx, GroupChat, Outcome, Outgoing, Settings
from bot.core.messages import Kind, Reply


class Priority(IntEnum):
    """The order handlers are tried in. First match wins; within one priority, the order
    of registration."""

    STAFF = 1  # staff features (only for staff ids): commands, buttons, guided steps
    GLOBAL = 2  # what works anywhere, even in the middle of a flow, and ends it: the
    #             villagers' commands (/menu, /start, ...) and their global words
    FLOW = 3  # the typed answer to the step of the flow the person is in
    DEFAULT = 4  # buttons and typed text patterns
    FALLBACK = 5  # typed text nothing else took


# Typed during a guided step that asks for a button or a confirmation (or any step of the
# sign-up): the person leaves the flow for the main menu. BERHENTI / STOP are global words
# instead (they stop announcements, and end the flow too).
EXIT_WORDS = frozenset({"batal", "menu", "cancel", "keluar"})


def exit_word(text: str) -> bool | None:
    """True for a word that leaves a guided step, else None (a ``find`` for steps)."""
    return text.strip().lower() in EXIT_WORDS or None


# Text keys the core itself says (every other key belongs to one feature or channel, and
# features that say another's key borrow it: tests/features/test_texts_owned.py).
CORE_TEXTS = (
    "error_sorry", "flood_notice", "stale_button", "unknown_command", "not_text", "button_menu",
)  # fmt: skip

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])
Match = Callable[[Ctx], tuple | None]  # the handler's extra arguments, or None: not this one
Find = Callable[[str], Any]  # a value when the text is one it recognises, else None
RenderQueued = Callable[[Outgoing], Reply | None]
GroupChatHandler = Callable[[GroupChat], Awaitable[list[Reply] | None]]
FirstContact = Callable[[Ctx, Outcome], Awaitable[str | None]]


@dataclass(frozen=True)
class Route:
    feature: Feature
    priority: Priority
    kinds: tuple[Kind, ...]
    match: Match
    handler: Callable[..., Awaitable[Outcome]]
    leaves_flow: bool
    what: str  # for describe(): "/start", "reg", "text BATAL", "step name"
    action: type[Action] | None = None  # the button action it answers
    commands: tuple[str, ...] = ()  # the command names it answers


@dataclass(frozen=True)
class MenuEntry:
    action: type[Action]
    order: int
    visible: Callable[[Settings], bool] | None = None


@dataclass(eq=False)
class Feature:
    """One feature's handlers, text keys, commands and flow steps.

    ``staff``: only staff ids reach it; its handlers come first (Priority.STAFF) and every
    outcome is audited. ``private_steps``: flow steps whose typed answer is personal data,
    kept out of the message log. ``links``: the other features' field-less actions and
    commands ("/start") it leads to; the router checks at start that they exist.
    ``borrows``: other features' text keys it says too (a shared word such as "Lewati")."""

    name: str
    texts: tuple[str, ...] = ()
    private_steps: tuple[str, ...] = ()
    staff: bool = False
    links: tuple[str, ...] = ()
    borrows: tuple[str, ...] = ()
    routes: list[Route] = field(default_factory=list)
    actions: list[type[Action]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    menu: list[MenuEntry] = field(default_factory=list)
    renderers: dict[str, RenderQueued] = field(default_factory=dict)
    group_chat_handlers: list[GroupChatHandler] = field(default_factory=list)
    first_contact_hooks: list[FirstContact] = field(default_factory=list)

    def _priority(self, default: Priority, chosen: Priority | None = None) -> Priority:
        return Priority.STAFF if self.staff else (chosen or default)

    def _add(
        self,
        priority: Priority,
        kinds: tuple[Kind, ...],
        match: Match,
        leaves: bool,
        what: str,
        action: type[Action] | None = None,
        commands: tuple[str, ...] = (),
    ) -> Callable[[H], H]:
        def register(handler: H) -> H:
            route = Route(self, priority, kinds, match, handler, leaves, what, action, commands)
            self.routes.append(route)
            return handler

        return register

    def command(self, *names: str) -> Callable[[H], H]:
        """``handler(ctx, argument)`` for ``/name argument``. A villager's command works
        anywhere (Priority.GLOBAL) and ends the person's flow."""
        wanted = frozenset(names)
        self.commands.extend(names)

        def match(ctx: Ctx) -> tuple | None:
            name, _, argument = ctx.message.text.partition(" ")
            return (argument.strip(),) if name.lower() in wanted else None

        what = " ".join(f"/{n}" for n in names)
        priority = self._priority(Priority.GLOBAL)
        return self._add(priority, (Kind.COMMAND,), match, True, what, commands=tuple(names))

    def action(
        self, action: type[Action], *, steps: Iterable[str] = (), keeps_flow: bool | None = None
    ) -> Callable[[H], H]:
        """``handler(ctx, action)`` for a press of a button packed from ``action``. With
        ``steps``: only while this feature's flow is at one of them (else: stale button).
        A villager's button press ends their flow unless it belongs to it."""
        self.actions.append(action)
        at = frozenset(steps)

        def match(ctx: Ctx) -> tuple | None:
            pressed = ctx.action
            if type(pressed) is not action:
                return None
            if at and step_of(ctx, self) not in at:
                return None
            return (pressed,)

        keeps = keeps_flow if keeps_flow is not None else (self.staff or bool(at))
        priority = self._priority(Priority.DEFAULT)
        return self._add(priority, (Kind.BUTTON,), match, not keeps, action.prefix, action)

    def text(
        self,
        find: Find | None = None,
        *,
        priority: Priority | None = None,
        leaves_flow: bool = False,
        what: str = "",
    ) -> Callable[[H], H]:
        """Typed text: ``handler(ctx, found)`` where ``found = find(text)`` is not None (a
        regex's ``.match`` will do), or ``handler(ctx)`` for any text when ``find`` is
        None."""

        def match(ctx: Ctx) -> tuple | None:
            if find is None:
                return ()
            found = find(ctx.message.text)
            return None if found is None else (found,)

        label = f"text {what or getattr(find, '__name__', 'any')}"
        chosen = self._priority(Priority.DEFAULT, priority)
        return self._add(chosen, (Kind.TEXT,), match, leaves_flow, label)

    def step(
        self,
        *steps: str,
        kinds: tuple[Kind, ...] = (Kind.TEXT,),
        find: Find | None = None,
        what: str = "",
    ) -> Callable[[H], H]:
        """``handler(ctx)`` for what the person types while this feature's flow is at one of
        ``steps`` (any step when none are named); with ``find``, only text it recognises
        (not None), as for ``text``."""
        at = frozenset(steps)

        def match(ctx: Ctx) -> tuple | None:
            step = step_of(ctx, self)
            if step is None or (at and step not in at):
                return None
            if find is not None and find(ctx.message.text) is None:
                return None
            return ()

        label = f"step {'|'.join(steps) or '*'}" + (f" ({what})" if what else "")
        return self._add(self._priority(Priority.FLOW), kinds, match, False, label)

    def menu_entry(
        self, action: type[Action], order: int, visible: Callable[[Settings], bool] | None = None
    ) -> None:
        """A main-menu button for a field-less action with a ``label``, at ``order``."""
        self.menu.append(MenuEntry(action, order, visible))

    def renders(self, *text_keys: str) -> Callable[[RenderQueued], RenderQueued]:
        """How queued messages (outbox rows) with these text keys look when they are sent."""

        def register(renderer: RenderQueued) -> RenderQueued:
            for key in text_keys:
                self.renderers[key] = renderer
            return renderer

        return register

    def in_group_chat(self) -> Callable[[GroupChatHandler], GroupChatHandler]:
        """A handler for messages in group chats (it decides which groups are its own, and
        returns None for the others)."""

        def register(handler: GroupChatHandler) -> GroupChatHandler:
            self.group_chat_handlers.append(handler)
            return handler

        return register

    def first_contact(self) -> Callable[[FirstContact], FirstContact]:
        """Called after every reply: a note to add to it, or None."""

        def register(hook: FirstContact) -> FirstContact:
            self.first_contact_hooks.append(hook)
            return hook

        return register


def step_of(ctx: Ctx, feature: Feature) -> str | None:
    """The step of the person's flow if ``feature`` owns it."""
    state = ctx.person.flow
    if not state or state.get("owner") != feature.name:
        return None
    return str(state.get("step", ""))
