"""Flood control that does not punish a careful person.

What costs is counted: typed text (a question the matcher weighs, perhaps one for an
officer) and photos, stickers and the like. Someone who sends more than a set number of those
a minute gets one notice saying when replies resume, and further costly messages are dropped
without a reply until then. Taps on the bot's own buttons, commands and a shared contact are
not counted against that limit, so /bahasa or the menu still answer; they only meet a much
higher ceiling, against a script. It protects the bot, the database and the officers' inbox
from a stuck key or a script.

Kept in memory: a restart forgets the counts, which only ever lets someone through sooner.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from bot.core.messages import Kind

WINDOW_SECONDS = 60.0
PRUNE_EVERY = 1000  # calls between sweeps of people who have gone quiet
COSTLY = frozenset({Kind.TEXT, Kind.OTHER})
# Buttons and commands cost little, but a script sending them must still be bounded in memory
# and CPU: four times the limit (80 a minute by default) stops it, while a person tapping every
# two seconds (30 a minute) never gets near it.
TAP_CEILING_FACTOR = 4


class Verdict(Enum):
    OK = "ok"
    NOTICE = "notice"  # just went over the limit: tell them once
    DROP = "drop"  # over the limit and already told (or a script on buttons): no reply


@dataclass
class _Window:
    """One sort of a person's messages in the last minute: the newest ``limit + 1`` times at
    most, which is all a verdict or the resume time needs."""

    times: deque[float] = field(default_factory=deque)

    def add(self, now: float, limit: int) -> bool:
        """Count one message at ``now``; whether it is within ``limit``."""
        while self.times and self.times[0] <= now - WINDOW_SECONDS:
            self.times.popleft()
        self.times.append(now)  # dropped messages count too: a script that keeps on stays out
        while len(self.times) > limit + 1:
            self.times.popleft()
        return len(self.times) <= limit

    def resumes_at(self, limit: int) -> float:
        """When one more message is within ``limit``: once all but the newest ``limit - 1``
        have left the window."""
        if len(self.times) < limit:
            return -math.inf
        return self.times[-limit] + WINDOW_SECONDS


@dataclass
class _Person:
    costly: _Window = field(default_factory=_Window)
    taps: _Window = field(default_factory=_Window)
    told: bool = False  # had the notice since going over the limit
    last: float = 0.0


class FloodGuard:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute  # read on each call: tests raise it on a running bot
        self.clock = clock
        self._people: dict[tuple[str, str], _Person] = {}
        self._calls = 0

    def __len__(self) -> int:
        """How many people it remembers."""
        return len(self._people)

    def check(self, who: tuple[str, str], kind: Kind) -> Verdict:
        now = self.clock()
        self._calls += 1
        if self._calls % PRUNE_EVERY == 0:
            self._prune(now)
        person = self._people.setdefault(who, _Person())
        person.last = now
        if kind not in COSTLY:
            within = person.taps.add(now, TAP_CEILING_FACTOR * self.per_minute)
            return Verdict.OK if within else Verdict.DROP
        if person.costly.add(now, self.per_minute):
            person.told = False
            return Verdict.OK
        if person.told:
            return Verdict.DROP
        person.told = True
        return Verdict.NOTICE

    def resumes_in(self, who: tuple[str, str]) -> int:
        """Whole seconds (rounded up, at least 1) until a costly message from ``who`` is
        answered again, if they send none before."""
        person = self._people.get(who)
        resumes_at = person.costly.resumes_at(self.per_minute) if person else -math.inf
        wait = resumes_at - self.clock()
        return math.ceil(wait) if wait > 1 else 1

    def _prune(self, now: float) -> None:
        """Forget people with nothing in the window, so memory stays flat."""
        quiet = [key for key, p in self._people.items() if p.last <= now - WINDOW_SECONDS]
        for key in quiet:
            del self._people[key]
