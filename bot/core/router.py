"""The router: features register handlers on it, and each message goes to the first that
matches, trying handlers group by group (``Group``) and, within a group, in the order they
were registered (the order of ``bot/features/__init__.py``, then of each module).

A handler is registered for one of:
- a command (``/start``): ``@feature.command("start")``;
- a typed button action: ``@feature.action(Register)``, optionally only at some flow steps;
- typed text that a test recognises: ``@feature.text(BATAL.match)``;
- a step of the feature's own flow: ``@feature.step("name")``.

Nothing matched: a command gets "unknown command", a button (forged, stale, or whose
handler raised ``Stale``) the stale-button reply, anything but text "I read text only";
typed text always finds the FAQ's catch-all. ``Router.describe()`` prints the whole table
in the order it is tried (docs/architecture.md shows it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from bot.core.actions import Action, Codec, MainMenu
from bot.core.context import Ctx, Env, Outcome, Outgoing, Settings, Speaker, Stale
from bot.core.messages import Incoming, Kind, Reply
from bot.domain import audit
from bot.domain.sessions import Session

log = logging.getLogger(__name__)


class Group(IntEnum):
    """The order handlers are tried in. First match wins."""

    STAFF = 1  # staff features (only for staff ids): commands, buttons, guided steps
    GLOBAL = 2  # words that work anywhere, even mid-flow, and end the flow: BERHENTI, MULAI,
    #             DAFTAR <code>, BATAL <code>
    FLOW = 3  # the typed answer to the step of the flow the person is in
    DEFAULT = 4  # commands, buttons and typed text patterns
    FALLBACK = 5  # typed text nothing else took: a question for the FAQ


# Text keys the core itself says, and words several features share (each other key belongs
# to exactly one feature, channel or the delivery worker: tests/core/test_texts_owned.py).
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
GroupHandler = Callable[["InGroup"], Awaitable[list[Reply] | None]]
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
    action: type[Action] | None = None


@dataclass(frozen=True)
class MenuEntry:
    action: type[Action]
    order: int
    visible: Callable[[Settings], bool] | None = None


class InGroup(Speaker):
    """A message in the staff group (officers, not villagers: no person, no flow)."""

    def __init__(self, env: Env, router: Router, message: Incoming) -> None:
        super().__init__(env, router, env.settings.default_language)
        self.message = message


@dataclass
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
    ) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.routes.append(Route(self, group, kinds, match, handler, leaves, what, action))
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
        return self._add(self._group(Group.DEFAULT, None), (Kind.COMMAND,), match, True, what)

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
            if at and _step_of(ctx, self) not in at:
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
            step = _step_of(ctx, self)
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


def _step_of(ctx: Ctx, feature: Feature) -> str | None:
    """The step of the person's flow if ``feature`` owns it."""
    state = ctx.person.flow
    if not state or state.get("owner") != feature.name:
        return None
    return str(state.get("step", ""))


class Router:
    """The features, compiled: handlers per message kind in priority order, the action
    codec, the menu, the renderers of queued messages."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features = list(features)
        self.codec = Codec()
        routes: list[Route] = []
        self._actions: dict[type[Action], Route] = {}
        self._commands: dict[str, Route] = {}
        self._renderers: dict[str, Renderer] = {}
        for feature in self.features:
            for action in feature.actions:
                self.codec.register(action)
            for route in feature.routes:
                routes.append(route)
                self._index(route)
            for key, renderer in feature.renderers.items():
                if key in self._renderers:
                    raise ValueError(f"{feature.name}: the text {key!r} has a renderer already")
                self._renderers[key] = renderer
        order = {id(route): n for n, route in enumerate(routes)}
        routes.sort(key=lambda route: (route.group, order[id(route)]))
        self._routes = {kind: [r for r in routes if kind in r.kinds] for kind in Kind}
        self._menu = sorted((e for f in self.features for e in f.menu), key=lambda e: e.order)
        self._private = {f.name: frozenset(f.private_steps) for f in self.features}
        self._check()

    def _index(self, route: Route) -> None:
        if Kind.COMMAND in route.kinds:
            for name in route.feature.commands:
                if name in self._commands and self._commands[name].feature is not route.feature:
                    raise ValueError(f"/{name} belongs to {self._commands[name].feature.name}")
                self._commands.setdefault(name, route)
        if route.action is not None:
            if route.action in self._actions:
                raise ValueError(f"{route.action.__name__} has two handlers")
            self._actions[route.action] = route

    def _check(self) -> None:
        """Mistakes in how features are put together fail at start, not for a villager."""
        for feature in self.features:
            for action in feature.actions:
                if action not in self._actions:
                    raise ValueError(f"{feature.name}: {action.__name__} has no handler")
        self.label_of(MainMenu.prefix)
        if MainMenu not in self._actions:
            raise ValueError("no feature answers the main menu (MainMenu)")
        for entry in self._menu:
            self.label_of(entry.action.prefix)
        if not any(r.group is Group.FALLBACK for r in self._routes[Kind.TEXT]):
            raise ValueError("no feature answers typed text nothing else took (Group.FALLBACK)")

    # -- what features, the pipeline and `desabot check` ask ----------------------------------

    def known(self, name: str) -> str:
        """``name`` as a payload, if it is a field-less action some feature answers."""
        action = self.codec.get(name)
        if action is None or _has_fields(action):
            raise LookupError(f"no field-less action {name!r}")
        return name

    def label_of(self, name: str) -> str:
        action = self.codec.get(self.known(name))
        assert action is not None
        if not action.label:
            raise LookupError(f"action {name!r} has no label to link to it with")
        return action.label

    def menu_entries(self, settings: Settings) -> list[str]:
        return [e.action.prefix for e in self._menu if e.visible is None or e.visible(settings)]

    def is_private(self, flow: dict | None) -> bool:
        """Whether typed answers at this flow step are personal data (kept out of the log)."""
        if not flow:
            return False
        return flow.get("step") in self._private.get(flow.get("owner", ""), ())

    def renderer(self, text_key: str) -> Renderer | None:
        return self._renderers.get(text_key)

    def render(
        self,
        env: Env,
        text_key: str,
        lang: str,
        values: dict[str, str],
        session: Session | None = None,
    ) -> Reply | None:
        """A queued message as it is sent: by the renderer its feature registered, else as
        its text alone. None: nothing to send any more."""
        out = Outgoing(env, self, lang, text_key, values, session)
        renderer = self._renderers.get(text_key)
        return renderer(out) if renderer else Reply(out.text())

    def text_keys(self) -> dict[str, str]:
        """Every text key the bot's features and core need → who owns it."""
        owners = dict.fromkeys((*CORE_TEXTS, *COMMON_TEXTS), "core")
        for feature in self.features:
            for key in feature.texts:
                if key in owners:
                    raise ValueError(f"{key} is {owners[key]}'s and {feature.name}'s")
                owners[key] = feature.name
        return owners

    def commands(self, staff: bool = False) -> list[str]:
        """Command names villagers (or, with ``staff``, staff) can use."""
        return [c for f in self.features if f.staff == staff for c in f.commands]

    def describe(self) -> list[str]:
        """The routing table in the order it is tried, one handler a line."""
        lines = []
        for kind in (Kind.COMMAND, Kind.BUTTON, Kind.TEXT, Kind.CONTACT):
            for route in self._routes[kind]:
                lines.append(
                    f"{kind.value:7s} {route.group.name:8s} {route.feature.name:16s} {route.what}"
                )
        return lines

    # -- dispatch -----------------------------------------------------------------------------

    async def dispatch(self, ctx: Ctx) -> Outcome:
        """The first matching handler's outcome; a fallback when none matches."""
        kind = ctx.message.kind
        if kind is Kind.BUTTON:
            ctx.action = self.codec.unpack(ctx.message.text)
        for route in self._routes[kind]:
            if route.feature.staff and not ctx.is_staff:
                continue
            found = route.match(ctx)
            if found is not None:
                return await self._run(ctx, route, found)
        return await self._fallback(ctx)

    async def _run(self, ctx: Ctx, route: Route, found: tuple) -> Outcome:
        ctx.owner = route.feature.name
        if route.leaves_flow:
            await ctx.leave_flow()
        try:
            done = await route.handler(ctx, *found)
        except Stale:
            return await self._stale(ctx)
        if route.feature.staff:
            await self._audit(ctx, done)
        return done

    async def _fallback(self, ctx: Ctx) -> Outcome:
        kind = ctx.message.kind
        if kind is Kind.BUTTON:
            return await self._stale(ctx)
        if kind is Kind.COMMAND:
            await ctx.leave_flow()
            return ctx.notice("unknown_command")
        return ctx.notice("not_text")

    async def _stale(self, ctx: Ctx) -> Outcome:
        ctx.owner = None
        await ctx.leave_flow()
        return ctx.notice("stale_button")

    async def _audit(self, ctx: Ctx, done: Outcome) -> None:
        """Who among staff did what, and what came of it (the first line of the answer)."""
        message = ctx.message
        actor = f"{message.channel}:{message.user_id} {message.display_name}".strip()
        result = done.replies[-1].text.split("\n", 1)[0] if done.replies else ""
        await audit.record(ctx.db, actor, done.handled.action, f"{message.text} → {result}")

    async def run_action(self, ctx: Ctx, name: str) -> Outcome:
        action = self.codec.get(self.known(name))
        assert action is not None
        route = self._actions[action]
        ctx.owner = route.feature.name
        return await route.handler(ctx, action())

    async def run_command(self, ctx: Ctx, name: str) -> Outcome:
        route = self._commands[name]
        ctx.owner = route.feature.name
        return await route.handler(ctx, "")

    async def in_group(self, env: Env, message: Incoming) -> list[Reply]:
        """A group chat message: the first group handler's replies (none: not our group)."""
        ctx = InGroup(env, self, message)
        for feature in self.features:
            for handler in feature.group_handlers:
                replies = await handler(ctx)
                if replies is not None:
                    return replies
        return []

    async def first_contact_note(self, ctx: Ctx, done: Outcome) -> str | None:
        for feature in self.features:
            for hook in feature.first_contact_hooks:
                ctx.owner = feature.name
                note = await hook(ctx, done)
                if note:
                    return note
        return None


def _has_fields(action: type[Action]) -> bool:
    return bool(getattr(action, "__dataclass_fields__", {}))
