"""CPU time of one FAQ match for hostile input: what one message can cost every other chat.

    .venv/bin/python bench/matcher_cost.py [--rounds 10] [--dev ../shared/faq-dev.tsv]

The matcher is built as the bot builds it (bot.app.build_matcher). Each round makes fresh
4,096-character inputs of every shape below (a new random seed per round, so the matcher's
caches see new words, as they would from an attacker), then times one match of each with
time.process_time; the dev set's questions are timed too, as the normal case. Prints the
median and the max per shape over all rounds. Target (issue 12): every max < 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app import build_matcher  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.content.faq import load_faq  # noqa: E402
from bot.content.matcher import Matcher  # noqa: E402

CHARS = 4096
TARGET_MS = 20.0
EMOJI = "😀😭🙏🇮🇩👍🏽❤️‍🔥"
SCRIPTS = ("пасп", "διαβ", "جواز", "पासप", "护照", "หนังส", "ｐａｓ", "pàsp", "ß")


def _fill(rng: random.Random, word: Callable[[random.Random], str], sep: str = " ") -> str:
    """Words from ``word`` joined by ``sep`` up to CHARS characters."""
    parts: list[str] = []
    length = 0
    while length < CHARS:
        parts.append(word(rng))
        length += len(parts[-1]) + len(sep)
    return sep.join(parts)[:CHARS]


def _made_up(rng: random.Random, shortest: int = 3, longest: int = 10) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(shortest, longest)))


def _near_miss(vocabulary: list[str]) -> Callable[[random.Random], str]:
    """An FAQ word with one letter changed: every one a fuzzy lookup that may succeed."""

    def word(rng: random.Random) -> str:
        real = rng.choice(vocabulary)
        at = rng.randrange(len(real))
        return real[:at] + rng.choice(string.ascii_lowercase) + real[at + 1 :]

    return word


def shapes(matcher: Matcher) -> dict[str, Callable[[random.Random], str]]:
    """Name → a maker of one fresh input of that shape."""
    vocabulary = sorted(w for w in matcher.normaliser.vocabulary if len(w) >= 4 and w.isalpha())
    return {
        "made-up words": lambda rng: _fill(rng, _made_up),
        "made-up words, 4-7 letters": lambda rng: _fill(rng, lambda r: _made_up(r, 4, 7)),
        "one word": lambda rng: _made_up(rng, CHARS, CHARS),
        "digits": lambda rng: "".join(rng.choices(string.digits, k=CHARS)),
        "letters and digits": lambda rng: "".join(
            rng.choices(string.ascii_lowercase + string.digits, k=CHARS)
        ),
        "emoji": lambda rng: "".join(rng.choices(EMOJI, k=CHARS))[:CHARS],
        "mixed scripts": lambda rng: _fill(rng, lambda r: r.choice(SCRIPTS) + _made_up(r, 1, 4)),
        "invisible characters": lambda rng: _fill(rng, lambda r: _made_up(r, 1, 1), "\u200b"),
        "repeated real words": lambda rng: _fill(rng, lambda r: r.choice(vocabulary)),
        "near misses of FAQ words": lambda rng: _fill(rng, _near_miss(vocabulary)),
        "question + made-up words": lambda rng: (
            "paspor saya hilang, bagaimana? " + _fill(rng, _made_up)
        )[:CHARS],
    }


def dev_questions(path: Path) -> list[str]:
    """The questions of the dev set (expected topic, tab, question; a header line)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.partition("\t")[2].strip() for line in lines if line.partition("\t")[2].strip()]


def cpu_ms(matcher: Matcher, question: str) -> float:
    started = time.process_time()
    matcher.match(question)
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "faq-dev.tsv")
    args = parser.parse_args()

    config = load_config(REPO / "config.yaml")
    matcher = build_matcher(config, load_faq(config.faq_dir, config.office_placeholders()))
    makers = shapes(matcher)
    dev = dev_questions(args.dev)
    times: dict[str, list[float]] = {name: [] for name in [*makers, "dev questions"]}
    for round_number in range(args.rounds):
        rng = random.Random(round_number)
        inputs = {name: make(rng) for name, make in makers.items()}  # made outside the clock
        for name, question in inputs.items():
            times[name].append(cpu_ms(matcher, question))
        times["dev questions"] += [cpu_ms(matcher, question) for question in dev]

    print(f"CPU ms per match, {args.rounds} rounds, inputs of {CHARS} characters")
    print(f"{'shape':28} {'median':>8} {'max':>8}")
    for name, values in times.items():
        print(f"{name:28} {statistics.median(values):8.2f} {max(values):8.2f}")
    worst = max(max(values) for values in times.values())
    verdict = "ok" if worst < TARGET_MS else "OVER"
    print(f"worst {worst:.2f} ms (target < {TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
