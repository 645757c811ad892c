"""Attacks on the WhatsApp webhook of a real `desabot run` process, on loopback.

    .venv/bin/python bench/webhook_attack.py [--tree PATH] [--only big,slow,slow1024]

Each attack gets a fresh bot process (its code from --tree, default this checkout), a fresh
SQLite file and the stand-in Graph API (tests/auxil/fake_graph_api.py):

- quiet: no attack, the signed messages alone (the reference).
- big: one 99 MB POST (unsigned garbage with a Content-Length), then 20 concurrent 20 MB
  POSTs; the bot's VmRSS polled every 50 ms, before and during; each POST's answer (status
  or connection error) and its time.
- slow, slow1024: 1,100 connections each sending part of a request header, then one byte
  every 5 s, for 30 s; how many of them the bot closed and when, its open files, its log
  growth and any "Too many open files". The bot inherits this process's open-file limit
  (raised to the hard limit); slow1024 starts it with a soft limit of 1024, systemd's default.

During each attack a real signed WhatsApp text message is POSTed every second, each from a
new number (so flood control plays no part): its HTTP answer time and the time until the
stand-in Graph API receives the bot's first reply to that number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests")]  # the helpers speak HTTP and SQLite only

from auxil.fake_graph_api import FakeGraphApi  # noqa: E402
from auxil.whatsapp import SECRETS, envelope, sign, text  # noqa: E402
from conftest import write_config  # noqa: E402

MB = 1024 * 1024
QUESTION = "berapa biaya paspor"
PROBE_TIMEOUT = 10.0  # seconds for one signed POST
REPLY_WAIT = 30.0  # seconds after an attack for the last replies
SLOW_CONNECTIONS = 1100
SLOW_SECONDS = 30.0
SLOW_INTERVAL = 5.0
SLOW_START = b"POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
BIG_TIMEOUT = 60.0  # seconds for one big POST


# -- the stand-in Graph API, timed ----------------------------------------------------------


class TimedGraphApi(FakeGraphApi):
    """FakeGraphApi noting when the first message to each number was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at: dict[str, float] = {}

    def handle(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        status, answer = super().handle(path, headers, raw)
        if status == 200:
            to = answer["contacts"][0]["input"]
            with self._lock:
                self.first_at.setdefault(to, time.monotonic())
        return status, answer


# -- the bot process --------------------------------------------------------------------------


@dataclass
class Bot:
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_size(self) -> int:
        return self.log.stat().st_size


def start_bot(tree: Path, folder: Path, graph: FakeGraphApi, port: int, nofile: int | None) -> Bot:
    config = write_config(
        folder,
        faq_dir=str(tree / "faq"),
        texts_dir=str(tree / "texts"),
        whatsapp={
            "enabled": True,
            "api_base_url": graph.base_url,
            "phone_number_id": graph.phone_number_id,
            "messages_per_second": 1000,
            "port": port,
        },
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "WHATSAPP_ACCESS_TOKEN": SECRETS.access_token,
        "WHATSAPP_APP_SECRET": SECRETS.app_secret,
        "WHATSAPP_VERIFY_TOKEN": SECRETS.verify_token,
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)

    def limit() -> None:
        if nofile is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    log = folder / "bot.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=folder,  # not the checkout: an editable install must not shadow --tree
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=limit,
            start_new_session=True,
        )
    bot = Bot(process, log)
    wait_listening(bot, port)
    return bot


def wait_listening(bot: Bot, port: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise SystemExit(f"the bot exited ({bot.process.returncode}):\n{tail(bot.log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the bot did not listen on {port} within {seconds} s:\n{tail(bot.log)}")


def stop_bot(bot: Bot) -> int | None:
    """SIGTERM, then SIGKILL after 30 s; the return code (None if it had to be killed)."""
    if bot.process.poll() is None:
        bot.process.send_signal(signal.SIGTERM)
        try:
            return bot.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.process.kill()
            bot.process.wait(timeout=10)
            return None
    return bot.process.returncode


def tail(path: Path, lines: int = 15) -> str:
    data = path.read_bytes()[-20000:].decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- watching the bot: memory and open files ------------------------------------------------


class Watcher(threading.Thread):
    """Polls the bot's VmRSS and open files every 50 ms; samples are (time, rss MB, fds)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            try:
                rss = rss_mb(self.pid)
                fds = len(os.listdir(f"/proc/{self.pid}/fd"))
            except (OSError, ValueError):
                return  # the bot is gone
            self.samples.append((time.monotonic(), rss, fds))

    def peak(self, start: float, end: float) -> tuple[float, int]:
        inside = [s for s in self.samples if start <= s[0] <= end] or [(0, 0.0, 0)]
        return max(s[1] for s in inside), max(s[2] for s in inside)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError("no VmRSS")


# -- the signed messages ----------------------------------------------------------------------


@dataclass
class Probe:
    phone: str
    sent_at: float
    answered_at: float | None = None
    outcome: str = "pending"


@dataclass
class Prober:
    """A signed WhatsApp text POSTed every second, each from a new number, in its own
    thread so that a slow answer does not delay the next."""

    url: str
    graph: TimedGraphApi
    probes: list[Probe] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _numbers: int = 6281500000000

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._loop, daemon=True))
        self._threads[0].start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=PROBE_TIMEOUT + 5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._numbers += 1
            probe = Probe(str(self._numbers), time.monotonic())
            self.probes.append(probe)
            thread = threading.Thread(target=self._post, args=(probe,), daemon=True)
            self._threads.append(thread)
            thread.start()
            self._stop.wait(1.0)

    def _post(self, probe: Probe) -> None:
        import httpx

        body = json.dumps(envelope([text(QUESTION, probe.phone)])).encode()
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=PROBE_TIMEOUT)
            probe.outcome = str(answer.status_code)
        except httpx.HTTPError as exc:
            probe.outcome = type(exc).__name__
        probe.answered_at = time.monotonic()

    def wait_replies(self, seconds: float = REPLY_WAIT) -> None:
        deadline = time.monotonic() + seconds
        wanted = {p.phone for p in self.probes if p.outcome == "200"}
        while time.monotonic() < deadline and not wanted <= set(self.graph.first_at):
            time.sleep(0.1)

    def summary(self) -> dict[str, str]:
        answers = [p.answered_at - p.sent_at for p in self.probes if p.answered_at]
        replies = [
            self.graph.first_at[p.phone] - p.sent_at
            for p in self.probes
            if p.phone in self.graph.first_at
        ]
        outcomes = Counter(p.outcome for p in self.probes)
        return {
            "signed messages": f"{len(self.probes)} ({', '.join(f'{k} x{v}' for k, v in outcomes.items())})",
            "answer s median/max": spread(answers),
            "reply s median/max": spread(replies),
            "replies received": f"{len(replies)} of {len(self.probes)}",
            "slow answers (> 2 s)": slow_list(self.probes),
        }


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} / {max(values):.3f}"


def slow_list(probes: list[Probe], limit: float = 2.0) -> str:
    slow = [p for p in probes if p.answered_at is None or p.answered_at - p.sent_at > limit]
    if not slow:
        return "none"
    first = probes[0].sent_at
    return ", ".join(
        f"t={p.sent_at - first:.0f}s {p.outcome} "
        + (f"{p.answered_at - p.sent_at:.1f}s" if p.answered_at else "unanswered")
        for p in slow
    )


# -- attack a: big bodies ---------------------------------------------------------------------


GARBAGE = random.Random(7).randbytes(MB)


def big_post(port: int, size: int) -> tuple[str, float]:
    """One unsigned POST of ``size`` bytes of garbage: (how it was answered, seconds)."""
    started = time.monotonic()
    head = (
        f"POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=BIG_TIMEOUT) as sock:
            sock.settimeout(BIG_TIMEOUT)
            sock.sendall(head)
            early = send_body(sock, size, started)
            return (early or read_status(sock)), time.monotonic() - started
    except OSError as exc:
        return type(exc).__name__, time.monotonic() - started


def send_body(sock: socket.socket, size: int, started: float) -> str | None:
    """Sends the body unless the server answers first; its answer then, else None."""
    view, left = memoryview(GARBAGE), size
    while left > 0:
        if time.monotonic() - started > BIG_TIMEOUT:
            return "client timeout"
        readable, _, _ = select_read(sock)
        if readable:
            status = read_status(sock)
            return f"{status} before {size - left} of {size} bytes were sent"
        try:
            sock.sendall(view[: min(left, MB)])
        except OSError as exc:
            return f"{type(exc).__name__} after {size - left} bytes"
        left -= min(left, MB)
    return None


def select_read(sock: socket.socket) -> tuple[list, list, list]:
    import select

    return select.select([sock], [], [], 0)


def read_status(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except OSError as exc:
        return type(exc).__name__
    if not data:
        return "closed without an answer"
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line.split(" ", 2)[1] if line.startswith("HTTP/") else f"garbage {line[:30]!r}"


def attack_big(port: int, watcher: Watcher) -> tuple[dict[str, str], list[str]]:
    baseline = rss_mb(watcher.pid)
    start = time.monotonic()
    one = big_post(port, 99 * MB)
    middle = time.monotonic()
    results: list[tuple[str, float]] = [("", 0.0)] * 20

    def post(n: int) -> None:
        results[n] = big_post(port, 20 * MB)

    threads = [threading.Thread(target=post, args=(n,), daemon=True) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BIG_TIMEOUT + 10)
    end = time.monotonic()
    time.sleep(1.0)  # memory right after, once the bodies are dropped
    peak_one, _ = watcher.peak(start, middle + 0.1)
    peak_many, _ = watcher.peak(middle, end + 0.1)
    counts = Counter(outcome for outcome, _ in results)
    figures = {
        "baseline RSS MB": f"{baseline:.0f}",
        "99 MB POST": f"{one[0]} in {one[1]:.2f} s",
        "peak RSS MB, 99 MB POST": f"{peak_one:.0f}",
        "20 x 20 MB POSTs": ", ".join(f"{k} x{v}" for k, v in counts.items()),
        "20 x 20 MB time s median/max": spread([t for _, t in results]),
        "peak RSS MB, 20 x 20 MB": f"{peak_many:.0f}",
        "RSS MB 1 s after": f"{rss_mb(watcher.pid):.0f}",
    }
    return figures, []


# -- attack b: slow connections ---------------------------------------------------------------


def open_slow(port: int, count: int) -> tuple[list[socket.socket], Counter]:
    sockets, errors = [], Counter()
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(SLOW_START)
            sock.setblocking(False)
            sockets.append(sock)
        except OSError as exc:
            errors[type(exc).__name__] += 1
    return sockets, errors


def trickle(sockets: list[socket.socket], start: float) -> dict[socket.socket, tuple[float, str]]:
    """One byte every SLOW_INTERVAL s on each open socket until SLOW_SECONDS; closings seen
    (readable with an answer or EOF, or a failed send): socket -> (time, how)."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    closed: dict[socket.socket, tuple[float, str]] = {}
    next_byte = start + SLOW_INTERVAL
    while (now := time.monotonic()) < start + SLOW_SECONDS:
        for key, _ in selector.select(timeout=min(0.1, max(0.0, next_byte - now))):
            closed[key.fileobj] = (time.monotonic() - start, closing(key.fileobj))
            selector.unregister(key.fileobj)
        if time.monotonic() >= next_byte:
            next_byte += SLOW_INTERVAL
            for sock in sockets:
                if sock not in closed:
                    try:
                        sock.send(b"x")
                    except OSError as exc:
                        closed[sock] = (time.monotonic() - start, type(exc).__name__)
                        selector.unregister(sock)
    selector.close()
    return closed


def closing(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except OSError as exc:
        return type(exc).__name__
    if not data:
        return "EOF"
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line.split(" ", 2)[1] if line.startswith("HTTP/") else "data"


def when(closed: dict[socket.socket, tuple[float, str]]) -> str:
    """Closings by second since the attack started, e.g. "0s: 844, 10s: 256"."""
    seconds = Counter(int(t) for t, _ in closed.values())
    return ", ".join(f"{s}s: {n}" for s, n in sorted(seconds.items())) or "none"


def attack_slow(port: int, watcher: Watcher, bot: Bot) -> tuple[dict[str, str], list[str]]:
    log_before = bot.log_size()
    start = time.monotonic()
    sockets, errors = open_slow(port, SLOW_CONNECTIONS)
    opened = time.monotonic() - start
    closed = trickle(sockets, start)
    end = time.monotonic()
    for sock in sockets:
        sock.close()
    log_text = bot.log.read_bytes()[log_before:]
    _, peak_fds = watcher.peak(start, end)
    hows = Counter(how for _, how in closed.values())
    figures = {
        "connections opened": f"{len(sockets)} in {opened:.1f} s"
        + (f" (failed: {dict(errors)})" if errors else ""),
        "closed by the bot": f"{len(closed)} ({', '.join(f'{k} x{v}' for k, v in hows.items())})",
        "closed at (s since start: n)": when(closed),
        "bot's peak open files": str(peak_fds),
        "log growth bytes": f"{len(log_text):,}",
        '"Too many open files" lines': str(log_text.count(b"Too many open files")),
    }
    return figures, log_lines(log_text)


def log_lines(data: bytes, lines: int = 12) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()[-lines:]


# -- a run ------------------------------------------------------------------------------------


Attack = Callable[[int, Watcher, Bot], tuple[dict[str, str], list[str]]]
ATTACKS: dict[str, tuple[Attack | None, int | None]] = {
    # name: (attack, the bot's soft open-file limit; None: this process's)
    "quiet": (None, None),
    "big": (lambda port, watcher, bot: attack_big(port, watcher), None),
    "slow": (attack_slow, None),
    "slow1024": (attack_slow, 1024),
}


def run_attack(tree: Path, name: str) -> tuple[dict[str, str], list[str]]:
    attack, nofile = ATTACKS[name]
    port = free_port()
    with tempfile.TemporaryDirectory() as folder, TimedGraphApi() as graph:
        bot = start_bot(tree, Path(folder), graph, port, nofile)
        watcher = Watcher(bot.pid)
        watcher.start()
        prober = Prober(f"http://127.0.0.1:{port}/whatsapp", graph)
        try:
            time.sleep(1.0)
            prober.start()
            figures, lines = attack(port, watcher, bot) if attack else ({}, [])
            if attack is None:
                time.sleep(10.0)
            prober.stop()
            prober.wait_replies()
            figures.update(prober.summary())
            alive = bot.process.poll() is None
            figures["bot alive after"] = "yes" if alive else f"no ({bot.process.returncode})"
        finally:
            watcher.done.set()
            code = stop_bot(bot)
            figures_tail = tail(bot.log)
        figures["stopped (exit code)"] = str(code)
        return figures, lines or figures_tail.splitlines()


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def print_table(tree: Path, name: str, figures: dict[str, str], lines: list[str]) -> None:
    print(f"\n== {tree} :: {name}", flush=True)
    for key, value in figures.items():
        print(f"  {key:32s} {value}")
    if lines:
        print("  log tail:")
        for line in lines:
            print(f"    {line[:300]}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose bot runs")
    parser.add_argument("--only", default=",".join(ATTACKS), help="attacks, comma-separated")
    args = parser.parse_args()
    raise_nofile()
    tree = args.tree.resolve()
    print(f"tree {tree}; open-file limit here {resource.getrlimit(resource.RLIMIT_NOFILE)}")
    for name in args.only.split(","):
        figures, lines = run_attack(tree, name)
        print_table(tree, name, figures, lines)


if __name__ == "__main__":
    main()
