"""How well the FAQ matcher answers, how fast, and what its normalisation buys over plain BM25.

    .venv/bin/python bench/faq_accuracy.py [--dev ../shared/faq-dev.tsv] [--choose-threshold]

1. Threshold choice (--choose-threshold): 5-fold cross-validation over the FAQ's own example
   questions and the everyday questions of faq/out-of-scope.txt (each fold is held out of the
   index and asked as questions); prints the threshold with the best
   balanced accuracy (mean of in-scope top-1 accuracy and out-of-scope decline rate). The dev
   set plays no part in the choice.
2. Dev set (tab-separated expected topic and question, "-" = out of scope), at the threshold in
   config.yaml: in-scope top-1 accuracy (the decision the bot makes: answered with the right
   topic) and out-of-scope decline rate. Targets: >= 95% and >= 90%.
3. Baseline on the same file: rank-bm25 (BM25Okapi) over titles and examples, whitespace
   tokens, a topic scoring as its best phrase, at the threshold that is best for it on the dev
   set itself (its best case).
4. Latency: median match time on the real FAQ and with 3,000 synthetic entries, and the time to
   build the index at start. Targets: < 1 ms, < 5 ms, < 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import load_config  # noqa: E402
from bot.content.faq import Faq, load_faq, read_out_of_scope  # noqa: E402
from bot.content.matcher import OUT_OF_SCOPE, Matcher  # noqa: E402
from bot.content.normalise import Lexicon, load_lexicon  # noqa: E402

FOLDS = 5


def read_dev(path: Path) -> list[tuple[str | None, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        expected, _, question = line.partition("\t")
        if question.strip():
            rows.append((None if expected.strip() == "-" else expected.strip(), question.strip()))
    return rows


def rates(decisions: list[tuple[str | None, str | None]]) -> tuple[float, float, int, int]:
    """(in-scope top-1 accuracy, out-of-scope decline rate, in-scope count, out count)."""
    inside = [(e, got) for e, got in decisions if e is not None]
    outside = [got for e, got in decisions if e is None]
    accuracy = sum(e == got for e, got in inside) / max(len(inside), 1)
    declined = sum(got is None for got in outside) / max(len(outside), 1)
    return accuracy, declined, len(inside), len(outside)


def decide(top: tuple[str | None, float], threshold: float) -> str | None:
    return top[0] if top[0] is not None and top[1] >= threshold else None


def top_of(matcher: Matcher, question: str) -> tuple[str | None, float]:
    """The best real topic and its score; no topic when the out-of-scope list ranks first."""
    everything = matcher.scores(question)
    real = [(t, s) for t, s in everything if t != OUT_OF_SCOPE]
    if not real:
        return (None, 0.0)
    return (None, real[0][1]) if everything[0][0] == OUT_OF_SCOPE else real[0]


# -- 1. threshold choice -------------------------------------------------------------------


def cross_validated_tops(
    faq: Faq, lexicon: Lexicon, oos: list[str]
) -> list[tuple[str | None, tuple]]:
    """Each fold's examples and out-of-scope questions are held out of the index and asked."""
    rng = random.Random(7)
    held: list[tuple[str | None, tuple]] = []
    folds: list[dict[str, list[str]]] = [{} for _ in range(FOLDS)]
    for topic in faq.topics.values():
        examples = list(topic.examples)
        rng.shuffle(examples)
        for index, example in enumerate(examples):
            folds[index % FOLDS].setdefault(topic.id, []).append(example)
    for index, question in enumerate(oos):
        folds[index % FOLDS].setdefault(OUT_OF_SCOPE, []).append(question)
    for fold in folds:
        training = Faq(
            {
                t.id: replace(
                    t, examples=tuple(e for e in t.examples if e not in fold.get(t.id, []))
                )
                for t in faq.topics.values()
            }
        )
        known_oos = [q for q in oos if q not in fold.get(OUT_OF_SCOPE, [])]
        matcher = Matcher(training, lexicon, 0.0, known_oos)
        for topic_id, questions in fold.items():
            expected = None if topic_id == OUT_OF_SCOPE else topic_id
            held += [(expected, top_of(matcher, q)) for q in questions]
    return held


def choose_threshold(held: list[tuple[str | None, tuple]]) -> float:
    best = (-1.0, 0.0)
    print("threshold  in-scope top-1  out-of-scope declined  balanced")
    for step in range(15, 71):
        threshold = step / 100
        accuracy, declined, *_ = rates([(e, decide(top, threshold)) for e, top in held])
        balanced = (accuracy + declined) / 2
        if step % 5 == 0:
            print(f"  {threshold:.2f}      {accuracy:6.1%}          {declined:6.1%}", end="")
            print(f"           {balanced:6.1%}")
        if balanced > best[0] + 1e-9:
            best = (balanced, threshold)
    inside = sum(e is not None for e, _ in held)
    print(
        f"cross-validation: {inside} held-out examples, {len(held) - inside} held-out out-of-scope"
    )
    print(f"best balanced accuracy {best[0]:.1%} at threshold {best[1]:.2f}")
    return best[1]


# -- 3. the BM25 baseline ------------------------------------------------------------------


def bm25_tops(faq: Faq, questions: list[str]) -> list[tuple[str | None, float]]:
    from rank_bm25 import BM25Okapi

    phrases = [(t.id, p) for t in faq.topics.values() for p in (*t.title.values(), *t.examples)]
    bm25 = BM25Okapi([p.lower().split() for _, p in phrases])
    tops = []
    for question in questions:
        scores = bm25.get_scores(question.lower().split())
        best = max(range(len(phrases)), key=lambda i: scores[i])
        tops.append((phrases[best][0], float(scores[best])) if scores[best] > 0 else (None, 0.0))
    return tops


def best_threshold_for(tops, expected) -> tuple[float, float, float]:
    candidates = sorted({score for _, score in tops} | {0.0})
    best = (-1.0, 0.0, 0.0, 0.0)
    for threshold in candidates:
        accuracy, declined, *_ = rates(
            [(e, decide(t, threshold)) for e, t in zip(expected, tops, strict=True)]
        )
        if (accuracy + declined) / 2 > best[0]:
            best = ((accuracy + declined) / 2, threshold, accuracy, declined)
    return best[1], best[2], best[3]


# -- 4. latency ----------------------------------------------------------------------------


def median_ms(matcher: Matcher, questions: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            matcher.match(question)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def synthetic_faq(faq: Faq, size: int) -> Faq:
    """``size`` topics whose titles and examples recombine the real FAQ's words."""
    rng = random.Random(3)
    words = sorted({w for t in faq.topics.values() for e in t.examples for w in e.split()})
    template = next(iter(faq.topics.values()))
    topics = {}
    for number in range(size):
        examples = tuple(" ".join(rng.sample(words, rng.randint(3, 8))) for _ in range(10))
        topic_id = f"sintetis-{number}"
        title = {"id": f"Topik {number}", "en": f"Topic {number}"}
        topics[topic_id] = replace(
            template, id=topic_id, title=title, examples=examples, related=()
        )
    return Faq(topics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "faq-dev.tsv")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--choose-threshold", action="store_true")
    args = parser.parse_args()

    config = load_config(args.config)
    faq = load_faq(config.faq_dir, config.office_placeholders())
    lexicon = load_lexicon(config.faq_dir)
    examples = sum(len(t.examples) for t in faq.topics.values())
    print(f"FAQ: {len(faq.topics)} topics, {examples} example questions")

    if args.choose_threshold:
        print("\n== 1. threshold, chosen by cross-validation (no dev data) ==")
        choose_threshold(cross_validated_tops(faq, lexicon, read_out_of_scope(config.faq_dir)))

    started = time.perf_counter()
    matcher = Matcher(
        faq, load_lexicon(config.faq_dir), config.faq_threshold, read_out_of_scope(config.faq_dir)
    )
    build_seconds = time.perf_counter() - started

    rows = read_dev(args.dev)
    expected = [e for e, _ in rows]
    questions = [q for _, q in rows]
    print(f"\n== 2. dev set {args.dev.name}, threshold {config.faq_threshold} ==")
    decisions = [matcher.match(q).topic_id for q in questions]
    accuracy, declined, n_in, n_out = rates(list(zip(expected, decisions, strict=True)))
    print(f"in-scope top-1 accuracy   {accuracy:6.1%}  of {n_in}   (target >= 95%)")
    print(f"out-of-scope declined     {declined:6.1%}  of {n_out}   (target >= 90%)")
    for (want, question), got in zip(rows, decisions, strict=True):
        if want != got:
            print(f"  miss: {question!r}: expected {want or 'decline'}, got {got or 'decline'}")

    print("\n== 3. baseline: rank-bm25 over titles and examples, whitespace tokens ==")
    threshold, bm_accuracy, bm_declined = best_threshold_for(bm25_tops(faq, questions), expected)
    print(f"at its best threshold {threshold:.2f} (chosen on the dev set itself):")
    print(f"in-scope top-1 accuracy   {bm_accuracy:6.1%}")
    print(f"out-of-scope declined     {bm_declined:6.1%}")

    print("\n== 4. latency ==")
    print(f"index built at start      {build_seconds * 1000:7.1f} ms  (target < 1000 ms)")
    print(f"median match, real FAQ    {median_ms(matcher, questions):7.3f} ms  (target < 1 ms)")
    big = synthetic_faq(faq, 3000)
    started = time.perf_counter()
    big_matcher = Matcher(big, lexicon, config.faq_threshold)
    big_build = time.perf_counter() - started
    print(
        f"median match, 3,000 synthetic entries {median_ms(big_matcher, questions, 2):7.3f} ms"
        f"  (target < 5 ms; index built in {big_build:.2f} s)"
    )


if __name__ == "__main__":
    main()
