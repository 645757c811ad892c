"""Flood control: someone sending more than a set number of messages a minute gets one polite
notice, and what they send after it is dropped without a reply until the minute has passed.
It protects the bot, the database and the officers' inbox from a stuck key or a script.

Kept in memory: a restart forgets the counts, which only ever lets someone through sooner.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

WINDOW_SECONDS = 60.0
PRUNE_EVERY = 1000  # calls between sweeps of people who have gone quiet


class Verdict(Enum):
    OK = "ok"
    NOTICE = "notice"  # just went over the limit: tell them once
    DROP = "drop"  # over the limit and already told: no reply


class FloodGuard:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._told: set[tuple[str, str]] = set()
        self._calls = 0

    def check(self, who: tuple[str, str]) -> Verdict:
        now = self.clock()
        self._calls += 1
        if self._calls % PRUNE_EVERY == 0:
            self._prune(now)
        times = self._seen.setdefault(who, deque())
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        times.append(now)  # dropped messages count too: a script that keeps on stays out
        if len(times) <= self.per_minute:
            self._told.discard(who)
            return Verdict.OK
        if who in self._told:
            return Verdict.DROP
        self._told.add(who)
        return Verdict.NOTICE

    def _prune(self, now: float) -> None:
        """Forget people with nothing in the window, so memory stays flat."""
        quiet = [k for k, t in self._seen.items() if not t or t[-1] <= now - WINDOW_SECONDS]
        for key in quiet:
            del self._seen[key]
            self._told.discard(key)
