"""How a feature registers with the router: its handlers, texts, commands and flow steps.

A feature module makes one ``Feature`` and decorates its handlers::

    feature = Feature("signup", texts=("ask_name", ...), private_steps=("name",))

    @feature.command("start")                # /start: handler(ctx, argument)
    @feature.action(Register)                # a button packed from Register: handler(ctx, action)
    @feature.action(Consent, steps=("consent",))  # ... only while its flow is at that step
    @feature.text(BATAL.match, group=Group.GLOBAL)  # typed text a test recognises
    @feature.step("name")                    # what is typed at a step of its own flow

and lists itself in bot/features/__init__.py. ``Group`` is the order handlers are tried in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from bot.core.actions import Action
from bot.core.context import Ctx, InGroup, Outcome, Outgoing, Settings
from bot.core.messages import Kind, Reply


class Group(IntEnum):
    """The order handlers are tried in. First match wins."""

    STAFF = 1  # staff features (only for staff ids): commands, buttons, guided steps
    GLOBAL = 2  # words that work anywhere, even mid-flow, and end the flow: BERHENTI, MULAI,
    #             DAFTAR <code>, BATAL <code>
    FLOW = 3  # the typed answer to the step of the flow the person is in
    DEFAULT = 4  # commands, buttons and typed text patterns
    FALLBACK = 5  # typed text nothing else took: a question for the FAQ


# Text keys the core itself says, and words several features share (each other key belongs
# to exactly one feature, channel or the delivery worker: tests/features/test_texts_owned.py).
CORE_TEXTS = ("error_sorry", "flood_notice", "stale_button", "unknown_command", "not_text")
COMMON_TEXTS = (
    "button_menu", "button_no", "button_skip", "button_village_other", "ask_village_other",
    "button_language_id", "button_language_en", "status_confirmed", "status_waitlisted",
    "status_attended", "status_cancelled", "bc_status_scheduled", "bc_status_sending",
    "bc_status_done", "bc_status_cancelled", "staff_bad_date",
)  # fmt: skip

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])
Match = Callable[[Ctx], tuple | None]  # the handler's extra arguments, or None: not this one
Renderer = Callable[[Outgoing], Reply | None]
GroupHandler = Callable[[InGroup], Awaitable[list[Reply] | None]]
FirstContact = Callable[[Ctx, Outcome], Awaitable[str | None]]


@dataclass(frozen=True)
class Route:
    feature: Feature
    group: Group
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
    """One feature's handlers, text keys, commands and flow steps. ``staff``: only staff ids
    reach it; its handlers come first (Group.STAFF) and every outcome is audited.
    ``private_steps``: flow steps whose typed answer is personal data, kept out of the log."""

    name: str
    texts: tuple[str, ...] = ()
    private_steps: tuple[str, ...] = ()
    staff: bool = False
    routes: list[Route] = field(default_factory=list)
    actions: list[type[Action]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    menu: list[MenuEntry] = field(default_factory=list)
    renderers: dict[str, Renderer] = field(default_factory=dict)
    group_handlers: list[GroupHandler] = field(default_factory=list)
    first_contact_hooks: list[FirstContact] = field(default_factory=list)

    def _group(self, default: Group, group: Group | None) -> Group:
        return Group.STAFF if self.staff else (group or default)

    def _add(
        self,
        group: Group,
        kinds: tuple[Kind, ...],
        match: Match,
        leaves: bool,
        what: str,
        action: type[Action] | None = None,
        commands: tuple[str, ...] = (),
    ) -> Callable[[H], H]:
        def register(handler: H) -> H:
            route = Route(self, group, kinds, match, handler, leaves, what, action, commands)
            self.routes.append(route)
            return handler

        return register

    def command(self, *names: str) -> Callable[[H], H]:
        """``handler(ctx, argument)`` for ``/name argument``; it ends the person's flow."""
        wanted = frozenset(names)
        self.commands.extend(names)

        def match(ctx: Ctx) -> tuple | None:
            name, _, argument = ctx.message.text.partition(" ")
            return (argument.strip(),) if name.lower() in wanted else None

        what = " ".join(f"/{n}" for n in names)
        group = self._group(Group.DEFAULT, None)
        return self._add(group, (Kind.COMMAND,), match, True, what, commands=tuple(names))

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
        group = self._group(Group.DEFAULT, None)
        return self._add(group, (Kind.BUTTON,), match, not keeps, action.prefix, action)

    def text(
        self,
        when: Callable[[str], Any] | None = None,
        *,
        group: Group | None = None,
        leaves_flow: bool = False,
        what: str = "",
    ) -> Callable[[H], H]:
        """Typed text: ``handler(ctx, found)`` where ``found = when(text)`` is not None (a
        regex's ``.match`` will do), or ``handler(ctx)`` for any text when ``when`` is None."""

        def match(ctx: Ctx) -> tuple | None:
            if when is None:
                return ()
            found = when(ctx.message.text)
            return None if found is None else (found,)

        label = f"text {what or getattr(when, '__name__', 'any')}"
        chosen = self._group(Group.DEFAULT, group)
        return self._add(chosen, (Kind.TEXT,), match, leaves_flow, label)

    def step(
        self, *steps: str, kinds: tuple[Kind, ...] = (Kind.TEXT,), when=None, what: str = ""
    ) -> Callable[[H], H]:
        """``handler(ctx)`` for what the person types while this feature's flow is at one of
        ``steps`` (any step when none are named). ``when(text)`` may narrow it further."""
        at = frozenset(steps)

        def match(ctx: Ctx) -> tuple | None:
            step = step_of(ctx, self)
            if step is None or (at and step not in at):
                return None
            if when is not None and not when(ctx.message.text):
                return None
            return ()

        label = f"step {'|'.join(steps) or '*'}" + (f" ({what})" if what else "")
        return self._add(self._group(Group.FLOW, None), kinds, match, False, label)

    def menu_entry(
        self, action: type[Action], order: int, visible: Callable[[Settings], bool] | None = None
    ) -> None:
        """A main-menu button for a field-less action with a ``label``, at ``order``."""
        self.menu.append(MenuEntry(action, order, visible))

    def outbox(self, *text_keys: str) -> Callable[[Renderer], Renderer]:
        """How queued messages with these text keys are rendered when they are sent."""

        def register(renderer: Renderer) -> Renderer:
            for key in text_keys:
                self.renderers[key] = renderer
            return renderer

        return register

    def in_group(self) -> Callable[[GroupHandler], GroupHandler]:
        """A handler for messages in group chats (it decides which groups are its own)."""

        def register(handler: GroupHandler) -> GroupHandler:
            self.group_handlers.append(handler)
            return handler

        return register

    def first_contact(self) -> Callable[[FirstContact], FirstContact]:
        """Called after a reply: a note to add to it, or None."""

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
