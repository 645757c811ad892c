"""The webhook server both channels are posted to (Telegram in webhook mode, WhatsApp): a
Tornado server no request can take the memory or the open files of.

- A body larger than ``max_body_bytes`` is answered 413: from its Content-Length before a
  byte of it is read, or as soon as a chunked one passes the limit. Bodies being read at once
  share a memory budget (BODY_BUDGET bodies' worth, at most PER_CLIENT of them from one
  address); beyond it a request gets 503.
- The endpoint checks the request's headers (Telegram's secret token) before the body is
  read, and the whole body (WhatsApp's signature) before it is parsed.
- A client has ``timeout_seconds`` to send its headers, and again its body; then it is
  closed, however slowly it trickles bytes in.
- At most ``max_connections`` are open per server (and never more than a quarter of the
  process's open-file limit each): a new one beyond it closes the oldest connection that is
  not being answered, so a crowd of idle or slow connections makes room for Telegram's or
  Meta's next request instead of shutting it out.
- Refusals are logged without the body, at most one line per reason a minute, with a count.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders
from tornado.iostream import IOStream

from bot.config import WebhookLimits

log = logging.getLogger(__name__)

BODY_BUDGET = 16  # bodies of the largest size that may be read at once...
PER_CLIENT = 2  # ...and from one address (behind a proxy: its X-Real-Ip / X-Forwarded-For)
REFUSAL_LOG_SECONDS = 60.0
FD_SHARE = 4  # connections may use at most a quarter of the open files
CHUNK = 64 * 1024  # bytes read from a body at a time


# the answer to a whole body: the status, and the reason when it is a refusal (to be logged)
Answer = tuple[int, str | None]


@dataclass(frozen=True)
class Endpoint:
    """What a channel does with requests. ``check_headers``: a reason to refuse (403), or
    None, before the body is read; ``accept``: the answer to a whole body; ``get``: answers
    a GET (Meta's verification) or None for 405."""

    channel: str
    check_headers: Callable[[HTTPHeaders], str | None]
    accept: Callable[[bytes, HTTPHeaders], Awaitable[Answer]]
    get: Callable[[tornado.web.RequestHandler], None] | None = None


class Refusals:
    """Refusals logged one line per reason a minute at most: an attack cannot fill the disk."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}

    def note(self, status: int, reason: str) -> None:
        now = time.monotonic()
        if now - self._last.get(reason, -REFUSAL_LOG_SECONDS) < REFUSAL_LOG_SECONDS:
            self._since[reason] = self._since.get(reason, 0) + 1
            return
        more = self._since.pop(reason, 0)
        self._last[reason] = now
        log.warning(
            "event=webhook_rejected channel=%s status=%s reason=%s%s",
            self.channel,
            status,
            reason,
            f" more_since_last_line={more}" if more else "",
        )


class Budget:
    """Bytes of request bodies held at once, across the server and per client address."""

    def __init__(self, limit: int, per_client: int) -> None:
        self.limit, self.per_client = limit, per_client
        self.used = 0
        self._by_client: dict[str, int] = {}

    def take(self, client: str, size: int) -> bool:
        held = self._by_client.get(client, 0)
        if self.used + size > self.limit or held + size > self.per_client:
            return False
        self.used += size
        self._by_client[client] = held + size
        return True

    def give(self, client: str, size: int) -> None:
        if not size:
            return
        self.used -= size
        left = self._by_client[client] - size
        if left:
            self._by_client[client] = left
        else:
            del self._by_client[client]


class BoundedServer(HTTPServer):
    """An HTTPServer with a cap on open connections: a new one beyond it closes the oldest
    that is not being answered (the oldest of all when every one is)."""

    def initialize(self, *args, max_connections: int = 256, **kwargs) -> None:  # type: ignore[override]
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self._streams: dict[IOStream, None] = {}  # in the order they came
        self.answering: set[IOStream] = set()  # a request being read or answered

    def handle_stream(self, stream: IOStream, address: tuple) -> None:
        if len(self._streams) >= self.max_connections:
            for old in [s for s in self._streams if s.closed()]:
                del self._streams[old]
                self.answering.discard(old)
        while len(self._streams) >= self.max_connections:
            victim = next((s for s in self._streams if s not in self.answering), None)
            victim = victim or next(iter(self._streams))
            del self._streams[victim]
            self.answering.discard(victim)
            victim.close()
        self._streams[stream] = None
        super().handle_stream(stream, address)


@tornado.web.stream_request_body
class _Handler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST")  # anything else: 405 before a body is read

    def initialize(
        self,
        endpoint: Endpoint,
        limits: WebhookLimits,
        budget: Budget,
        refusals: Refusals,
        server: list[BoundedServer],
    ) -> None:
        self.endpoint, self.limits, self.budget, self.refusals = endpoint, limits, budget, refusals
        self.server = server[0]
        self.chunks: list[bytes] = []
        self.size = 0
        self.reading = False  # a POST whose headers passed: its body is wanted

    def prepare(self) -> None:
        if self.request.method != "POST":
            return  # a GET's body, if any, is read and dropped
        length = self.request.headers.get("Content-Length", "")
        if length and (not _whole_number(length) or int(length) > self.limits.max_body_bytes):
            self._refuse(413, "too_large")
            self.request.connection.close()  # not a byte of that body is wanted
            return
        reason = self.endpoint.check_headers(self.request.headers)
        if reason is not None:
            self._refuse(403, reason)
            return
        self.reading = True
        # from here the connection is not the first to go when the cap is reached: a body
        # read whole may already be stored by the time its answer is written
        self.server.answering.add(self.request.connection.stream)

    def data_received(self, chunk: bytes) -> None:
        if not self.reading:
            return
        self.size += len(chunk)
        if self.size > self.limits.max_body_bytes:
            self._refuse_and_close(413, "too_large")
        elif not self.budget.take(self.request.remote_ip, len(chunk)):
            self._refuse_and_close(503, "busy")
        else:
            self.chunks.append(chunk)

    async def post(self) -> None:
        if not self.reading:
            return
        body = b"".join(self.chunks)
        self._release()
        status, reason = await self.endpoint.accept(body, self.request.headers)
        if reason is not None:
            self.refusals.note(status, reason)
        self.set_status(status)

    def get(self) -> None:
        if self.endpoint.get is None:
            self.set_status(405)
            return
        self.endpoint.get(self)

    def _refuse(self, status: int, reason: str) -> None:
        self.reading = False
        self._release()
        self.refusals.note(status, reason)
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()

    def _refuse_and_close(self, status: int, reason: str) -> None:
        """Mid-body: answer, then close, instead of reading the rest for nothing."""
        self._refuse(status, reason)
        self.request.connection.close()

    def _release(self) -> None:
        self.budget.give(self.request.remote_ip, sum(len(c) for c in self.chunks))
        self.chunks = []

    def on_finish(self) -> None:
        self._release()
        self.server.answering.discard(self.request.connection.stream)

    def on_connection_close(self) -> None:
        self._release()

    def log_exception(self, kind, value, traceback) -> None:  # never a request body in the log
        if isinstance(value, tornado.web.HTTPError) and value.status_code < 500:
            self.refusals.note(value.status_code, f"http_{value.status_code}")  # a PUT, say
            return
        log.error("event=webhook_failed channel=%s error=%s", self.endpoint.channel, kind)


def _whole_number(text: str) -> bool:
    """Digits 0-9 only ("²" is a digit to str.isdigit, and int() refuses it)."""
    return text.isascii() and text.isdigit()


def connection_cap(limits: WebhookLimits) -> int:
    """The configured cap, but never more than a share of the open files this process may
    have: the database, the outgoing connections and the logs need theirs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(8, min(limits.max_connections, soft // FD_SHARE))


def serve(
    endpoint: Endpoint, path: str, limits: WebhookLimits, listen: str, port: int
) -> BoundedServer:
    """Start a webhook server for ``endpoint`` at /``path``; stop it with ``.stop()``."""
    server_slot: list[BoundedServer] = []  # the handler's way to the server, once made
    handler_args = {
        "endpoint": endpoint,
        "limits": limits,
        "budget": Budget(BODY_BUDGET * limits.max_body_bytes, PER_CLIENT * limits.max_body_bytes),
        "refusals": Refusals(endpoint.channel),
        "server": server_slot,
    }
    app = tornado.web.Application(
        [(f"/{path}", _Handler, handler_args)],
        log_function=lambda handler: None,  # no access log: refusals are counted instead
    )
    server = BoundedServer(
        app,
        xheaders=True,
        max_connections=connection_cap(limits),
        idle_connection_timeout=limits.timeout_seconds,
        body_timeout=limits.timeout_seconds,
        # a little over the limit, so the handler sees a chunked body cross it and answers
        # 413 itself; Tornado still cuts off (400) one that declares a giant chunk
        max_body_size=limits.max_body_bytes + CHUNK,
        chunk_size=CHUNK,
    )
    server_slot.append(server)
    server.listen(port, address=listen)
    return server
