"""What one taught question does to the matcher: for each case, a question the FAQ declines,
taught (as an officer does on the console's "Ajari bot" page) as meaning a topic, then the
decision before and after for that question, for near variants of it, and for unrelated
questions nearby; then the accuracy on ../shared/faq-dev.tsv before and after all the cases
(teaching must not cost answers elsewhere). The cases are written here, not taken from any
set used to judge the matcher.

    .venv/bin/python bench/teaching_effect.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bot.app import build_matcher  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.content.faq import load_faq, with_examples  # noqa: E402

CASES = [
    (
        "ada yg nawarin kerja ke luar negri tp disuruh bayar dulu 10 juta, itu aman ga?",
        "tppo-tanda",
        [
            "ada yang nawarin kerja ke luar negeri tapi harus bayar 15 juta dulu, aman gak?",
            "ada yg nawarin kerja di luar negri tp harus bayar dulu, aman ga",
            "saya ditawari kerja di malaysia tapi disuruh transfer 5 juta, aman?",
        ],
        ["berapa biaya penempatan pmi ke taiwan", "harga beras hari ini berapa"],
    ),
    (
        "kalau paspor saya kebasahan kena banjir gimana pak",
        "paspor-hilang",
        [
            "paspor saya basah kena banjir, bagaimana?",
            "paspor kebasahan gimana ya",
            "paspor sobek kena air hujan harus bagaimana",
        ],
        ["kapan banjir surut di palu", "berapa lama bikin paspor baru"],
    ),
]


def decision(matcher, question: str) -> str:
    found = matcher.match(question)
    return f"{found.topic_id or 'declined':<16} {found.score:.3f}"


def accuracy(matcher, rows: list[tuple[str, str]]) -> float:
    right = sum((matcher.match(q).topic_id or "-") == expected for expected, q in rows)
    return right / len(rows)


def main() -> None:
    config = load_config(REPO / "config.yaml")
    faq = load_faq(config.faq_dir, config.office_placeholders())
    before = build_matcher(config, faq)
    taught = {}
    for question, topic, _, _ in CASES:
        taught.setdefault(topic, []).append(question.lower())
    after = build_matcher(config, with_examples(faq, taught))
    for question, topic, variants, unrelated in CASES:
        print(f"taught as {topic}:")
        for kind, texts in (("taught", [question]), ("variant", variants),
                            ("unrelated", unrelated)):  # fmt: skip
            for text in texts:
                print(f"  {kind:9s} {decision(before, text)} -> {decision(after, text)}  {text}")
    dev = REPO.parent / "shared" / "faq-dev.tsv"
    if dev.exists():
        with dev.open(encoding="utf-8") as handle:
            rows = [(r["expected"], r["question"]) for r in csv.DictReader(handle, delimiter="\t")]
        print(f"faq-dev.tsv ({len(rows)} questions): {accuracy(before, rows):.1%} before,"
              f" {accuracy(after, rows):.1%} after")  # fmt: skip


if __name__ == "__main__":
    main()
