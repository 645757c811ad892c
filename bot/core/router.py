"""The router: the features compiled into one table (bot/core/feature.py says how they
register). Each message goes to the first handler that matches, trying handlers priority by
priority (``Priority``) and, within one, in the order they were registered (the order of
bot/features/__init__.py, then of each module). A typed button is unpacked once (the codec,
bot/core/actions.py) and goes to the one handler of its action.

Nothing matched: a command gets "unknown command", a button (forged, stale, or whose
handler raised ``Stale``) the stale-button reply, anything but text "I read text only";
typed text always finds the FAQ's catch-all. ``Router.describe()`` prints the whole table
in the order it is tried (docs/architecture.md shows it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from bot.core.actions import Action, Codec, MainMenu
from bot.core.context import Ctx, Env, GroupChat, Outcome, Outgoing, Settings, Stale
from bot.core.feature import CORE_TEXTS, Feature, Priority, RenderQueued, Route
from bot.core.messages import Incoming, Kind, Reply
from bot.domain import audit
from bot.domain.sessions import Session


class Router:
    """The features, compiled: handlers per message kind in priority order, the action
    codec, the menu, the renderers of queued messages."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features = list(features)
        self.codec = Codec()
        routes: list[Route] = []
        self._actions: dict[type[Action], Route] = {}
        self._commands: dict[str, Route] = {}
        self._renderers: dict[str, RenderQueued] = {}
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
        routes.sort(key=lambda route: route.priority)  # stable: registration order within one
        self._routes = {kind: [r for r in routes if kind in r.kinds] for kind in Kind}
        # what dispatch tries, per kind: a villager skips the staff features, and of the flow
        # steps only those of the feature whose flow they are in are tried
        self._plan = {kind: _plan(self._routes[kind]) for kind in Kind}
        self._menu = sorted((e for f in self.features for e in f.menu), key=lambda e: e.order)
        self._private = {f.name: frozenset(f.private_steps) for f in self.features}
        self._check()

    def _index(self, route: Route) -> None:
        for name in route.commands:
            if name in self._commands:
                raise ValueError(f"/{name} belongs to {self._commands[name].feature.name}")
            self._commands[name] = route
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
        if MainMenu not in self._actions:
            raise ValueError("no feature answers the main menu (MainMenu)")
        for entry in self._menu:
            self.label_of(entry.action.prefix)
        if not any(r.priority is Priority.FALLBACK for r in self._routes[Kind.TEXT]):
            raise ValueError("no feature answers typed text nothing else took (FALLBACK)")
        for feature in self.features:
            for name in feature.links:
                if name.startswith("/"):
                    if name[1:] not in self._commands:
                        raise ValueError(f"{feature.name} links to {name}, which nobody answers")
                else:
                    self.known(name)
        self.text_keys()  # a key claimed twice, or borrowed from nobody, fails here

    # -- what features, the pipeline and `desabot check` ask ----------------------------------

    def known(self, name: str) -> str:
        """``name`` as a payload, if it is a field-less action some feature answers."""
        action = self.codec.get(name)
        if action is None or action.fields:
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
        owners = dict.fromkeys(CORE_TEXTS, "core")
        for feature in self.features:
            for key in feature.texts:
                if key in owners:
                    raise ValueError(f"{key} is {owners[key]}'s and {feature.name}'s")
                owners[key] = feature.name
        for feature in self.features:
            for key in feature.borrows:
                if key not in owners:
                    raise ValueError(f"{feature.name} borrows {key}, which nobody owns")
        return owners

    def commands(self, staff: bool = False) -> list[str]:
        """Command names villagers (or, with ``staff``, staff) can use."""
        return [c for f in self.features if f.staff == staff for c in f.commands]

    def describe(self) -> list[str]:
        """The routing table in the order it is tried, one handler a line."""
        lines = []
        for kind in (Kind.COMMAND, Kind.BUTTON, Kind.TEXT, Kind.CONTACT):
            for route in self._routes[kind]:
                who = f"{route.priority.name:8s} {route.feature.name:16s}"
                lines.append(f"{kind.value:7s} {who} {route.what}")
        return lines

    # -- dispatch -----------------------------------------------------------------------------

    async def dispatch(self, ctx: Ctx) -> Outcome:
        """The first matching handler's outcome; a fallback when none matches."""
        kind = ctx.message.kind
        if kind is Kind.BUTTON:
            ctx.action = self.codec.unpack(ctx.message.text)
        flow = ctx.person.flow
        owner = flow.get("owner") if flow else None
        for staff_only, by_owner, routes in self._plan[kind]:
            if staff_only and not ctx.is_staff:
                continue
            for route in by_owner.get(owner, ()) if by_owner is not None else routes:
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
        """What pressing the field-less action ``name`` answers (``ctx.go``)."""
        action = self.codec.get(self.known(name))
        assert action is not None
        return await self._call(ctx, self._actions[action], action())

    async def run_command(self, ctx: Ctx, name: str) -> Outcome:
        """What ``/name`` answers (``ctx.run_command``), without leaving the flow."""
        return await self._call(ctx, self._commands[name], "")

    async def _call(self, ctx: Ctx, route: Route, argument: object) -> Outcome:
        caller, ctx.owner = ctx.owner, route.feature.name
        try:
            return await route.handler(ctx, argument)
        finally:
            ctx.owner = caller

    async def in_group_chat(self, env: Env, message: Incoming) -> list[Reply]:
        """A group chat message: the first group chat handler's replies (none: not ours)."""
        ctx = GroupChat(env, self, message)
        for feature in self.features:
            for handler in feature.group_chat_handlers:
                replies = await handler(ctx)
                if replies is not None:
                    return replies
        return []

    async def first_contact_note(self, ctx: Ctx, done: Outcome) -> str | None:
        """A note a feature adds to someone's reply (the first one they get)."""
        for feature in self.features:
            for hook in feature.first_contact_hooks:
                ctx.owner = feature.name
                note = await hook(ctx, done)
                if note:
                    return note
        return None


Stage = tuple[bool, dict[str | None, list[Route]] | None, list[Route]]


def _plan(routes: list[Route]) -> list[Stage]:
    """Routes in order, cut where the priority changes: (staff only, the flow steps by the
    feature owning the flow or None, the routes)."""
    stages: list[Stage] = []
    for priority, members in itertools.groupby(routes, key=lambda route: route.priority):
        ordered = list(members)
        staff_only = all(route.feature.staff for route in ordered)
        by_owner = None
        if priority is Priority.FLOW:
            by_owner = {}
            for route in ordered:
                by_owner.setdefault(route.feature.name, []).append(route)
        stages.append((staff_only, by_owner, ordered))
    return stages
