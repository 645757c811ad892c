"""Updates per second: a bare python-telegram-bot echo bot vs desabot answering FAQ questions.

Both run side by side against the same local stand-in Bot API server (tests/auxil), each in
its own process so its peak memory (RSS) can be read. The server gets N text updates queued
before the bot starts; the clock runs from the bot's start until it has sent its Nth reply.

    .venv/bin/python bench/chat_throughput.py [--updates 2000] [--rounds 3]

Targets (issue 2): desabot >= 0.5 x the echo bot's updates per second; desabot's peak RSS
< 150 MB. The machine is shared and noisy: compare the ratio, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

TOKEN = "123456:bench"
USERS = 200  # updates come from this many different villagers, round robin


def questions(count: int) -> list[str]:
    """Villager questions: the FAQ's own example questions, cycled."""
    from bot.config import load_config
    from bot.content.faq import load_faq

    config = load_config(REPO / "config.yaml")
    known = {
        f"{o}.{f}"
        for o in config.offices
        for f in ("name", "address", "phone", "whatsapp", "hours")
    }
    faq = load_faq(config.faq_dir, known)
    pool = [example for topic in faq.topics.values() for example in topic.examples]
    return [pool[(n * 7) % len(pool)] for n in range(count)]


# -- the child processes: one bot each ------------------------------------------------------


async def run_echo(base_url: str, expect: int) -> float:
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters

    done = asyncio.Event()
    sent = 0

    async def echo(update: Update, context) -> None:
        nonlocal sent
        await update.message.reply_text(update.message.text)
        sent += 1
        if sent >= expect:
            done.set()

    app = Application.builder().token(TOKEN).base_url(base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    started = time.perf_counter()
    await app.initialize()
    await app.start()
    await app.updater.start_polling(timeout=1)
    await done.wait()
    elapsed = time.perf_counter() - started
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    return elapsed


async def run_desabot(base_url: str, expect: int) -> float:
    import yaml

    from bot.app import open_app
    from bot.channels.telegram import TelegramChannel, TelegramSecrets
    from bot.config import load_config

    done = asyncio.Event()

    class CountingChannel(TelegramChannel):
        sent = 0

        async def _transmit(self, *args, **kwargs):  # every reply, sent directly or queued
            await super()._transmit(*args, **kwargs)
            self.sent += 1
            if self.sent >= expect:
                done.set()

    with tempfile.TemporaryDirectory() as folder:
        data = yaml.safe_load((REPO / "config.yaml").read_text())
        data["database"] = f"{folder}/bench.sqlite3"
        data["faq_dir"], data["texts_dir"] = str(REPO / "faq"), str(REPO / "texts")
        # the stand-in has no flood limit here, and neither has the echo bot
        data["telegram"].update(api_base_url=base_url, poll_timeout=1, max_messages_per_second=1000)
        path = Path(folder) / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        config = load_config(path)
        loading = time.perf_counter()
        async with open_app(config) as app:
            channel = CountingChannel(
                app, config.telegram, TelegramSecrets(TOKEN), app.texts.commands
            )
            # content loading (FAQ, texts, matcher index, database) is start-up, reported apart
            print(f"load_seconds={time.perf_counter() - loading:.3f}", file=sys.stderr)
            started = time.perf_counter()
            await channel.start()
            await done.wait()
            elapsed = time.perf_counter() - started
            await channel.stop()
    return elapsed


def child(role: str, base_url: str, expect: int) -> None:
    runner = run_echo if role == "echo" else run_desabot
    elapsed = asyncio.run(runner(base_url, expect))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"elapsed": elapsed, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu": cpu}))


# -- the parent: the stand-in server, the updates, the report --------------------------------


def measure(role: str, texts: list[str]) -> dict:
    from auxil.fake_bot_api import FakeBotApi

    with FakeBotApi() as fake:
        for number, text in enumerate(texts):
            fake.push_text(10_000 + number % USERS, text)
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--role",
                role,
                "--base-url",
                fake.base_url,
                "--expect",
                str(len(texts)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"{role} bot failed:\n{result.stderr}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        report["replies"] = len(fake.sent())
        report["api_errors"] = len(fake.errors)
        report["updates_per_second"] = len(texts) / report["elapsed"]
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=["echo", "desabot"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child(args.role, args.base_url, args.expect)
        return

    texts = questions(args.updates)
    results: dict[str, list[dict]] = {"echo": [], "desabot": []}
    for round_number in range(1, args.rounds + 1):
        for role in ("echo", "desabot"):  # alternate, so both see the same machine load
            report = measure(role, texts)
            results[role].append(report)
            print(
                f"round {round_number} {role:8s} {report['updates_per_second']:8.1f} updates/s"
                f"  peak RSS {report['peak_rss_mb']:6.1f} MB  replies {report['replies']}"
                f"  API errors {report['api_errors']}  bot CPU {report['cpu']:.1f} s"
                f" of {report['elapsed']:.1f} s"
            )
    echo = statistics.median(r["updates_per_second"] for r in results["echo"])
    desabot = statistics.median(r["updates_per_second"] for r in results["desabot"])
    peak = max(r["peak_rss_mb"] for r in results["desabot"])
    print(f"\nmedian over {args.rounds} rounds, {args.updates} updates each:")
    print(f"  echo bot   {echo:8.1f} updates/s")
    print(f"  desabot    {desabot:8.1f} updates/s")
    print(f"  ratio      {desabot / echo:8.2f}  (target >= 0.5)")
    print(f"  desabot peak RSS {peak:.1f} MB  (target < 150 MB)")


if __name__ == "__main__":
    main()
