"""A quiet villager's wait behind a CPU flood, through the Telegram channel of `desabot run`.

    .venv/bin/python bench/cpu_flood.py [--tree PATH] [--rounds 3]

Each round starts a fresh bot process (its code from --tree, default this checkout, run from
a temporary folder with PYTHONPATH=tree) on a fresh SQLite file, against the stand-in Bot
API (tests/auxil/fake_bot_api.py) in this process. Once it has answered a warm-up message:

1. control: a quiet villager asks "berapa biaya paspor" alone; the time from the push until
   the stand-in accepts the reply.
2. flood: 400 updates pushed at once, 200 new accounts x 2 messages of 4,096 characters of
   random made-up lowercase words (new ones each round), then at once another quiet
   villager's question: the time from that push until its reply is accepted, and the time
   from the first push until every one of the 401 updates has had a reply.

The bot runs with telegram.max_messages_per_second and delivery_per_second 1000 (the
stand-in applies no flood limit) and flood.messages_per_minute 20 (2 messages an account:
flood control plays no part). Prints each round, then the medians.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests")]  # the helpers speak HTTP and SQLite only

from auxil.fake_bot_api import FakeBotApi  # noqa: E402
from conftest import write_config  # noqa: E402

TOKEN = "1:bench"
QUESTION = "berapa biaya paspor"
ACCOUNTS = 200
MESSAGES_EACH = 2
LENGTH = 4096
FIRST_ACCOUNT = 50_000
WARM_UP, CONTROL, QUIET = 1_001, 1_002, 1_003
START_TIMEOUT = 60.0
REPLY_TIMEOUT = 600.0  # seconds for the flood's replies


class TimedBotApi(FakeBotApi):
    """FakeBotApi noting when each message was accepted: (chat id, monotonic time)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[tuple[int, float]] = []

    def _record_sent(self, request, message, **extra) -> None:
        super()._record_sent(request, message, **extra)
        self.sent_at.append((message["chat"]["id"], time.monotonic()))

    def first_to(self, chat_id: int) -> float | None:
        return next((t for c, t in list(self.sent_at) if c == chat_id), None)

    def counts(self) -> Counter:
        return Counter(c for c, _ in list(self.sent_at))


def made_up(rng: random.Random, length: int = LENGTH) -> str:
    """``length`` characters of random lowercase words of 3 to 9 letters."""
    words, size = [], 0
    while size < length:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))
        words.append(word)
        size += len(word) + 1
    text = " ".join(words)[:length]
    return text[:-1] + "x" if text.endswith(" ") else text


# -- the bot process --------------------------------------------------------------------------


def start_bot(tree: Path, folder: Path, fake: FakeBotApi) -> subprocess.Popen:
    config = write_config(
        folder,
        faq_dir=str(tree / "faq"),
        texts_dir=str(tree / "texts"),
        telegram={
            "api_base_url": fake.base_url,
            "poll_timeout": 1,
            "max_messages_per_second": 1000,
            "delivery_per_second": 1000,
        },
        flood={"messages_per_minute": 20},
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "TELEGRAM_BOT_TOKEN": TOKEN}
    for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        env.pop(name, None)
    with (folder / "bot.log").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=folder,  # not the checkout: the editable install must not shadow --tree
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def stop_bot(bot: subprocess.Popen) -> None:
    if bot.poll() is None:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for(predicate, seconds: float, bot: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if bot.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            stop_bot(bot)
            raise SystemExit(f"no {what} within {seconds} s (bot exit {bot.poll()}):\n{tail}")
        time.sleep(0.01)


# -- a round ----------------------------------------------------------------------------------


@dataclass
class Round:
    control: float  # s: the quiet villager alone
    quiet: float  # s: the quiet villager behind the flood
    all_replies: float  # s: every one of the 401 updates replied to
    messages: int  # sent in reply to the 401 updates
    cpu: float  # the bot's CPU seconds over the flood
    peak_rss: float
    reply: str  # the start of the quiet villager's reply, as a check


def ask(fake: TimedBotApi, chat: int, bot: subprocess.Popen, log: Path) -> float:
    pushed = time.monotonic()
    fake.push_text(chat, QUESTION)
    wait_for(lambda: fake.first_to(chat) is not None, REPLY_TIMEOUT, bot, log, "reply")
    return fake.first_to(chat) - pushed


def flood(fake: TimedBotApi, seed: int) -> tuple[float, float]:
    """Pushes the 400 heavy updates, then the quiet question: (first push, quiet push)."""
    rng = random.Random(seed)
    texts = [made_up(rng) for _ in range(ACCOUNTS * MESSAGES_EACH)]
    started = time.monotonic()
    for n, words in enumerate(texts):  # every account's first message, then the seconds
        fake.push_text(FIRST_ACCOUNT + n % ACCOUNTS, words)
    quiet = time.monotonic()
    fake.push_text(QUIET, QUESTION)
    return started, quiet


def replied_to_all(fake: TimedBotApi) -> bool:
    counts = fake.counts()
    accounts = range(FIRST_ACCOUNT, FIRST_ACCOUNT + ACCOUNTS)
    return counts[QUIET] >= 1 and all(counts[a] >= MESSAGES_EACH for a in accounts)


def one_round(tree: Path, seed: int) -> Round:
    with tempfile.TemporaryDirectory() as folder, TimedBotApi() as fake:
        log = Path(folder) / "bot.log"
        bot = start_bot(tree, Path(folder), fake)
        try:
            fake.push_text(WARM_UP, "halo")
            wait_for(lambda: fake.first_to(WARM_UP), START_TIMEOUT, bot, log, "warm-up reply")
            control = ask(fake, CONTROL, bot, log)
            cpu_before = cpu_seconds(bot.pid)
            started, quiet_pushed = flood(fake, seed)
            wait_for(lambda: fake.first_to(QUIET), REPLY_TIMEOUT, bot, log, "quiet reply")
            wait_for(lambda: replied_to_all(fake), REPLY_TIMEOUT, bot, log, "flood replies")
            time.sleep(2.0)  # any second message of a reply
            flood_chats = set(range(FIRST_ACCOUNT, FIRST_ACCOUNT + ACCOUNTS)) | {QUIET}
            times = [t for c, t in fake.sent_at if c in flood_chats]
            return Round(
                control=control,
                quiet=fake.first_to(QUIET) - quiet_pushed,
                all_replies=max(times) - started,
                messages=len(times),
                cpu=cpu_seconds(bot.pid) - cpu_before,
                peak_rss=peak_rss_mb(bot.pid),
                reply=fake.sent(QUIET)[0]["visible_text"][:60],
            )
        finally:
            stop_bot(bot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose bot runs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tree = args.tree.resolve()
    print(f"tree {tree}", flush=True)
    rounds = []
    for number in range(1, args.rounds + 1):
        result = one_round(tree, seed=number)
        rounds.append(result)
        print(
            f"round {number}: control {result.control:.3f} s  quiet behind the flood "
            f"{result.quiet:.2f} s  all 401 replied {result.all_replies:.2f} s "
            f"({result.messages} messages)  bot CPU {result.cpu:.1f} s  "
            f"peak RSS {result.peak_rss:.0f} MB\n  quiet villager's reply: {result.reply!r}",
            flush=True,
        )
    print(f"\nmedians over {args.rounds} rounds:")
    for name, unit in (("control", "s"), ("quiet", "s"), ("all_replies", "s"), ("cpu", "s")):
        values = [getattr(r, name) for r in rounds]
        print(f"  {name:12s} {statistics.median(values):8.3f} {unit}  (max {max(values):.3f})")


if __name__ == "__main__":
    main()
