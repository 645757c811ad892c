"""Attacks on the WhatsApp webhook of a real `desabot run` process, on loopback.

    .venv/bin/python bench/webhook_attack.py [--tree PATH] [--only quiet,big,slow,slow1024]

Each attack gets a fresh bot process (its code from --tree, default this checkout, run from
a temporary folder with PYTHONPATH=tree), a fresh SQLite file and the stand-in Graph API
(tests/auxil/fake_graph_api.py):

- quiet: no attack for 10 s, the signed messages alone (the reference).
- big: a 99 MB POST (unsigned garbage with a Content-Length), then waves of 20 concurrent
  20 MB POSTs; each phase repeated for at least 5 s so that signed messages meet it. The
  bot's VmRSS polled every 50 ms; each POST's answer (status or connection error) and time.
- slow, slow1024: 1,100 connections each sending part of a request header, then one byte
  every 5 s, for 30 s; how many of them the bot closed and when, its open files, its log
  growth and any "Too many open files". The bot inherits this process's open-file limit
  (raised to the hard limit); slow1024 starts it with a soft limit of 1024, systemd's default.

Throughout, a real signed WhatsApp text message is POSTed every second, each from a new
number (so flood control plays no part): its HTTP answer time, and the time until the
stand-in Graph API accepts the bot's first reply to that number.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import select
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
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests")]  # the helpers speak HTTP and SQLite only

from auxil.fake_graph_api import FakeGraphApi  # noqa: E402
from auxil.whatsapp import SECRETS, envelope, sign, text  # noqa: E402
from conftest import write_config  # noqa: E402

MB = 1024 * 1024
QUESTION = "berapa biaya paspor"
PROBE_TIMEOUT = 10.0  # seconds for one signed POST
REPLY_WAIT = 30.0  # seconds after an attack for the last replies
SLOW_LIMIT = 2.0  # a signed message answered or replied to later than this is listed
BIG_TIMEOUT = 60.0  # seconds for one big POST
BIG_PHASE = 5.0  # each big-body phase lasts at least this long...
BIG_WAVES = 5000  # ...but has at most this many waves
SLOW_CONNECTIONS = 1100
SLOW_SECONDS = 30.0
SLOW_INTERVAL = 5.0
SLOW_START = b"POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
GARBAGE = random.Random(7).randbytes(MB)

Figures = dict[str, str]
Phase = tuple[str, float, float]  # name, start, end (monotonic)


# -- the stand-in Graph API, timed ----------------------------------------------------------


class TimedGraphApi(FakeGraphApi):
    """FakeGraphApi noting when it accepted the first message to each number."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at: dict[str, float] = {}

    def handle(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        status, answer = super().handle(path, headers, raw)
        if status == 200:
            with self._lock:
                self.first_at.setdefault(answer["contacts"][0]["input"], time.monotonic())
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


def bot_env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.update(
        WHATSAPP_ACCESS_TOKEN=SECRETS.access_token,
        WHATSAPP_APP_SECRET=SECRETS.app_secret,
        WHATSAPP_VERIFY_TOKEN=SECRETS.verify_token,
    )
    env.pop("TELEGRAM_BOT_TOKEN", None)  # WhatsApp alone
    return env


def bot_code(tree: Path) -> str:
    """Where the bot process imports `bot` from: a check that --tree is what runs."""
    result = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=tempfile.gettempdir(),
        env=bot_env(tree),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


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

    def limit() -> None:  # in the child, before exec
        if nofile is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    log = folder / "bot.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=folder,  # not the checkout: the editable install must not shadow --tree
            env=bot_env(tree),
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
    stop_bot(bot)
    raise SystemExit(f"the bot did not listen on {port} within {seconds} s:\n{tail(bot.log)}")


def stop_bot(bot: Bot) -> str:
    """SIGTERM, then SIGKILL after 30 s; how it ended."""
    if bot.process.poll() is not None:
        return f"had exited ({bot.process.returncode})"
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    try:
        code = bot.process.wait(timeout=30)
        return f"exit {code} {time.monotonic() - started:.1f} s after SIGTERM"
    except subprocess.TimeoutExpired:
        bot.process.kill()
        bot.process.wait(timeout=10)
        return "killed: no exit within 30 s of SIGTERM"


def tail(path: Path, lines: int = 12) -> str:
    data = path.read_bytes()[-20000:].decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- watching the bot: memory and open files ------------------------------------------------


class Watcher(threading.Thread):
    """Polls the bot's VmRSS and open files every 50 ms: samples of (time, MB, files)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            try:
                rss = rss_mb(self.pid)
                files = len(os.listdir(f"/proc/{self.pid}/fd"))
            except (OSError, ValueError):
                return  # the bot is gone
            self.samples.append((time.monotonic(), rss, files))

    def peak(self, start: float, end: float) -> tuple[float, int]:
        inside = [s for s in self.samples if start <= s[0] <= end] or [(0.0, 0.0, 0)]
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
    outcome: str = "no answer yet"


class Prober:
    """A signed WhatsApp text POSTed every second, each from a new number, each in its own
    thread so that a slow answer does not delay the next."""

    def __init__(self, url: str, graph: TimedGraphApi) -> None:
        self.url, self.graph = url, graph
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._numbers = itertools.count(6281500000001)

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._loop, daemon=True))
        self._threads[0].start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=PROBE_TIMEOUT + 5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            probe = Probe(str(next(self._numbers)), time.monotonic())
            self.probes.append(probe)
            thread = threading.Thread(target=self._post, args=(probe,), daemon=True)
            self._threads.append(thread)
            thread.start()
            self._stop.wait(1.0)

    def _post(self, probe: Probe) -> None:
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

    def reply_delay(self, probe: Probe) -> float | None:
        at = self.graph.first_at.get(probe.phone)
        return None if at is None else at - probe.sent_at

    def summary(self, start: float, end: float) -> Figures:
        """The signed messages sent between ``start`` and ``end``."""
        probes = [p for p in self.probes if start <= p.sent_at <= end]
        answers = [p.answered_at - p.sent_at for p in probes if p.answered_at]
        replies = [d for p in probes if (d := self.reply_delay(p)) is not None]
        outcomes = Counter(p.outcome for p in probes)
        return {
            "signed: answers": ", ".join(f"{k} x{v}" for k, v in outcomes.most_common()) or "-",
            "signed: answer s median/max": spread(answers),
            "signed: reply s median/max": f"{spread(replies)} ({len(replies)} of "
            f"{len(probes)} replied to)",
            f"signed: failed or over {SLOW_LIMIT:g} s": self.slow(probes, start),
        }

    def slow(self, probes: list[Probe], start: float) -> str:
        """Signed messages not answered 200, or answered or replied to after more than
        SLOW_LIMIT, or never."""
        lines = []
        for probe in probes:
            answer = probe.answered_at - probe.sent_at if probe.answered_at else None
            reply = self.reply_delay(probe)
            late = answer is None or answer > SLOW_LIMIT or reply is None or reply > SLOW_LIMIT
            if late or probe.outcome != "200":
                lines.append(
                    f"at {probe.sent_at - start:.0f} s: {probe.outcome} after "
                    f"{seconds(answer)}, reply after {seconds(reply)}"
                )
        return "; ".join(lines) or "none"


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} / {max(values):.3f}"


# -- attack a: big bodies ---------------------------------------------------------------------


def big_post(port: int, size: int) -> tuple[str, float]:
    """One unsigned POST of ``size`` bytes of garbage: (how it was answered, seconds)."""
    started = time.monotonic()
    head = (
        "POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=BIG_TIMEOUT) as sock:
            sock.sendall(head)
            early = send_body(sock, size, started)
            return (early or read_status(sock)), time.monotonic() - started
    except OSError as exc:
        return type(exc).__name__, time.monotonic() - started


def send_body(sock: socket.socket, size: int, started: float) -> str | None:
    """Sends the body, 1 MB at a time, unless the server answers or hangs up first: how it
    did then, else None."""
    sent = 0
    while sent < size:
        if time.monotonic() - started > BIG_TIMEOUT:
            return "client timeout"
        if select.select([sock], [], [], 0)[0]:
            return f"{read_status(sock)} after {sent // MB} MB sent"
        try:
            sock.sendall(memoryview(GARBAGE)[: min(size - sent, MB)])
        except OSError as exc:  # an answer may have come before the reset
            status = read_status(sock)
            status = status if status.isdigit() else "no answer seen"
            return f"{type(exc).__name__} ({status}) after {sent // MB} MB sent"
        sent += min(size - sent, MB)
    return None


def read_status(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except OSError as exc:
        return type(exc).__name__
    if not data:
        return "closed, no answer"
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line.split(" ", 2)[1] if line.startswith("HTTP/") else f"not HTTP {line[:30]!r}"


def wave(port: int, count: int, size: int) -> list[tuple[str, float]]:
    """``count`` POSTs of ``size`` bytes at once."""
    results: list[tuple[str, float]] = [("client gave up", BIG_TIMEOUT)] * count

    def post(n: int) -> None:
        results[n] = big_post(port, size)

    threads = [threading.Thread(target=post, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BIG_TIMEOUT + 10)
    return results


def repeated(port: int, count: int, size: int) -> tuple[list[tuple[str, float]], int]:
    """Waves of ``count`` POSTs one after another for at least BIG_PHASE s (at most
    BIG_WAVES waves): the results and the number of waves."""
    results: list[tuple[str, float]] = []
    waves, start = 0, time.monotonic()
    while time.monotonic() - start < BIG_PHASE and waves < BIG_WAVES:
        results += wave(port, count, size)
        waves += 1
    return results, waves


def attack_big(port: int, watcher: Watcher, bot: Bot) -> tuple[Figures, list[Phase]]:
    figures = {"baseline RSS MB": f"{rss_mb(watcher.pid):.0f}"}
    phases = []
    for name, count, size in (("99 MB", 1, 99 * MB), ("20 x 20 MB", 20, 20 * MB)):
        start = time.monotonic()
        results, waves = repeated(port, count, size)
        end = time.monotonic()
        phases.append((name, start, end))
        answers = Counter(outcome for outcome, _ in results)
        figures[f"{name}: POSTs (waves)"] = f"{len(results)} ({waves})"
        figures[f"{name}: first answer"] = f"{results[0][0]} in {results[0][1]:.2f} s"
        figures[f"{name}: answers"] = ", ".join(f"{k} x{v}" for k, v in answers.most_common())
        figures[f"{name}: POST s median/max"] = spread([t for _, t in results])
        figures[f"{name}: peak RSS MB"] = f"{watcher.peak(start, end + 0.1)[0]:.0f}"
    time.sleep(1.0)  # memory once the bodies are dropped
    figures["RSS MB 1 s after"] = f"{rss_mb(watcher.pid):.0f}"
    return figures, phases


# -- attack b: slow connections ---------------------------------------------------------------


Closings = dict[socket.socket, tuple[float, str]]  # socket -> (seconds since start, how)


class SlowClients:
    """Connections that send part of a request header, then a byte every SLOW_INTERVAL s.
    One counts as closed by the bot when it turns readable (an answer, EOF) or a send fails."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.errors: Counter = Counter()
        self.closed: Closings = {}
        self.selector = selectors.DefaultSelector()
        self.start = time.monotonic()

    def open(self, port: int, count: int) -> None:
        for _ in range(count):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(SLOW_START)
                sock.setblocking(False)
            except OSError as exc:
                self.errors[type(exc).__name__] += 1
                continue
            self.sockets.append(sock)
            self.selector.register(sock, selectors.EVENT_READ)
            self.watch(0)

    def watch(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout=timeout):
            self.note(key.fileobj, closing(key.fileobj))

    def note(self, sock: socket.socket, how: str) -> None:
        self.closed[sock] = (time.monotonic() - self.start, how)
        self.selector.unregister(sock)

    def trickle(self, until: float) -> None:
        next_byte = self.start + SLOW_INTERVAL
        while (now := time.monotonic()) < until:
            self.watch(min(0.1, max(0.0, next_byte - now)))
            if time.monotonic() < next_byte:
                continue
            next_byte += SLOW_INTERVAL
            for sock in [s for s in self.sockets if s not in self.closed]:
                try:
                    sock.send(b"x")
                except OSError as exc:
                    self.note(sock, type(exc).__name__)

    def close(self) -> None:
        self.selector.close()
        for sock in self.sockets:
            sock.close()


def closing(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except OSError as exc:
        return type(exc).__name__
    if not data:
        return "EOF"
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line.split(" ", 2)[1] if line.startswith("HTTP/") else "data"


def by_second(closed: Closings) -> str:
    """Closings by whole second since the attack started, e.g. "0 s: 844, 10 s: 256"."""
    counts = Counter(int(t) for t, _ in closed.values())
    return ", ".join(f"{s} s: {n}" for s, n in sorted(counts.items())) or "none"


def attack_slow(port: int, watcher: Watcher, bot: Bot) -> tuple[Figures, list[Phase]]:
    clients = SlowClients()
    try:
        clients.open(port, SLOW_CONNECTIONS)
        opened = time.monotonic() - clients.start
        clients.trickle(clients.start + SLOW_SECONDS)
    finally:
        clients.close()
    end = time.monotonic()
    hows = Counter(how for _, how in clients.closed.values())
    failed = f" (failed: {dict(clients.errors)})" if clients.errors else ""
    figures = {
        "connections opened": f"{len(clients.sockets)} in {opened:.1f} s{failed}",
        "closed by the bot": f"{len(clients.closed)} ("
        + ", ".join(f"{k} x{v}" for k, v in hows.most_common())
        + ")",
        "closed at (s since start: n)": by_second(clients.closed),
        "bot's peak open files": str(watcher.peak(clients.start, end)[1]),
    }
    return figures, [("slow", clients.start, end)]


# -- a run ------------------------------------------------------------------------------------


def attack_quiet(port: int, watcher: Watcher, bot: Bot) -> tuple[Figures, list[Phase]]:
    start = time.monotonic()
    time.sleep(10.0)
    return {}, [("quiet", start, time.monotonic())]


Attack = Callable[[int, Watcher, Bot], tuple[Figures, list[Phase]]]
ATTACKS: dict[str, tuple[Attack, int | None]] = {
    # name: (attack, the bot's soft open-file limit; None: this process's)
    "quiet": (attack_quiet, None),
    "big": (attack_big, None),
    "slow": (attack_slow, None),
    "slow1024": (attack_slow, 1024),
}


def run_attack(tree: Path, name: str) -> tuple[Figures, str]:
    """One attack on a fresh bot: its figures and the tail of what it logged meanwhile."""
    attack, nofile = ATTACKS[name]
    port = free_port()
    with tempfile.TemporaryDirectory() as folder, TimedGraphApi() as graph:
        bot = start_bot(tree, Path(folder), graph, port, nofile)
        watcher = Watcher(bot.pid)
        watcher.start()
        prober = Prober(f"http://127.0.0.1:{port}/whatsapp", graph)
        try:
            time.sleep(1.0)
            log_before = bot.log_size()
            probing = time.monotonic()
            prober.start()
            figures, phases = attack(port, watcher, bot)
            phases[0] = (phases[0][0], probing, phases[0][2])  # the attack starts at once
            prober.stop()
            logged = bot.log.read_bytes()[log_before:]
            prober.wait_replies()
            for phase, start, end in phases:
                summary = prober.summary(start, end)
                figures.update({f"{phase}: {k}": v for k, v in summary.items()})
            lines, emfile = logged.count(b"\n"), logged.count(b"Too many open files")
            figures["log growth"] = f"{len(logged):,} bytes, {lines:,} lines"
            figures['"Too many open files"'] = f"{emfile:,} times"
            alive = bot.process.poll() is None
            figures["bot alive after"] = "yes" if alive else f"no ({bot.process.returncode})"
        finally:
            watcher.done.set()
            ended = stop_bot(bot)
        figures["stopping"] = ended
        shown = logged.decode("utf-8", "replace").splitlines()
        return figures, "\n".join(line[:300] for line in shown[-12:])


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def print_table(name: str, figures: Figures, log: str) -> None:
    print(f"\n== {name}")
    for key, value in figures.items():
        print(f"  {key:38s} {value}")
    if log:
        print("  the bot's log meanwhile, last lines:")
        print("\n".join(f"    {line}" for line in log.splitlines()))
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose bot runs")
    parser.add_argument("--only", default=",".join(ATTACKS), help="attacks, comma-separated")
    args = parser.parse_args()
    raise_nofile()
    tree = args.tree.resolve()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"tree {tree} (bot code {bot_code(tree)}); open-file limit here {limit}", flush=True)
    for name in args.only.split(","):
        figures, log = run_attack(tree, name)
        print_table(name, figures, log)


if __name__ == "__main__":
    main()
