"""Sign-in for the console: session tokens, the cookie, cross-site refusal, and a limit on
sign-in attempts per account and per address."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "desabot_console"
WINDOW_SECONDS = 15 * 60
MAX_PER_ACCOUNT = 5  # failed sign-ins in the window, then that account waits...
MAX_PER_ADDRESS = 20  # ...or everyone from that address (a guesser trying many names)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token: a stolen copy of the file signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def over_https(request: Request) -> bool:
    """Behind the TLS proxy the request arrives as http; the proxy says how it came."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def cross_site(request: Request) -> bool:
    """A state-changing request sent from another site's page (the cookie is SameSite=Lax;
    this is the second lock). Browsers say so in Sec-Fetch-Site, or by an Origin that is not
    this host."""
    if request.method not in UNSAFE:
        return False
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser's cross-site form: those send an Origin
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return origin == "null" or urlsplit(origin).netloc != host.split(",")[0].strip()


class SignInGuard:
    """Failed sign-ins counted in a sliding window, per account name and per address."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def wait_minutes(self, name: str, address: str) -> int:
        """0 when a sign-in may be tried now; else the minutes until it may."""
        now = self.clock()
        waits = [
            self._wait(("account", name.lower()), MAX_PER_ACCOUNT, now),
            self._wait(("address", address), MAX_PER_ADDRESS, now),
        ]
        longest = max(waits)
        return math.ceil(longest / 60) if longest > 0 else 0

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        for key in (("account", name.lower()), ("address", address)):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # forget the quiet ones: memory stays flat
            self._failures = {
                k: v for k, v in self._failures.items() if v[-1] > now - WINDOW_SECONDS
            }

    def succeeded(self, name: str) -> None:
        self._failures.pop(("account", name.lower()), None)

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return times[-limit] + WINDOW_SECONDS - now


MAX_BODY = 6_000_000  # the largest form: a 5 MB picture and two texts


def too_large(request: Request) -> bool:
    """A request body over MAX_BODY, or one sent without saying its length (chunked):
    refused before it is read, so nobody fills the server's memory or disk with one."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    length = request.headers.get("content-length")
    if length is None:
        return "chunked" in request.headers.get("transfer-encoding", "").lower()
    return not length.isdigit() or int(length) > MAX_BODY
