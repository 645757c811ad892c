"""`desabot faq match | check | unanswered`: tools for staff and scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from bot.app import build_matcher, office_placeholders
from bot.config import Config
from bot.faq import Faq, read_faq
from bot.feedback import disliked_answers, unanswered_questions
from bot.inbox import open_question_list
from bot.normalise import read_lexicon
from bot.store import Database
from bot.yamlfile import Problem

TOPICS_FILE = "topics.tsv"


def check_faq(config: Config) -> tuple[Faq, list[Problem]]:
    """Entries, the language files, and that every required topic has an entry."""
    faq, problems = read_faq(config.faq_dir, office_placeholders(config))
    problems += read_lexicon(config.faq_dir)[1]
    problems += missing_topics(config.faq_dir / TOPICS_FILE, faq)
    return faq, problems


def missing_topics(path: Path, faq: Faq) -> list[Problem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return [Problem(path, None, f"cannot read the list of required topics: {exc}")]
    problems = []
    for number, line in enumerate(lines, start=1):
        topic_id = line.split("\t", 1)[0].strip()
        if not topic_id or line.startswith("#") or topic_id == "id":
            continue
        if topic_id not in faq.topics:
            problems.append(Problem(path, number, f"{topic_id}: required topic has no FAQ entry"))
    return problems


def faq_check(config: Config, out: TextIO) -> int:
    faq, problems = check_faq(config)
    for problem in problems:
        print(problem, file=out)
    print(f"{len(faq.topics)} topics, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def faq_match(config: Config, lines: TextIO, out: TextIO) -> int:
    """One JSON object per input line: the decision the bot makes for that question."""
    faq, problems = check_faq(config)
    if problems:
        raise problems[0]
    matcher = build_matcher(config, faq)
    for line in lines:
        question = line.rstrip("\r\n")
        match = matcher.match(question)
        record = {
            "question": question,
            "id": match.topic_id,
            "score": match.score,
            "lang": match.lang,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    return 0


async def faq_unanswered(config: Config, limit: int, out: TextIO) -> int:
    db = await Database.open(config.database)
    try:
        unanswered = await unanswered_questions(db, limit)
        disliked = await disliked_answers(db, limit)
        waiting = await open_question_list(db, limit)
    finally:
        await db.close()
    print(f"Questions the FAQ could not answer ({len(unanswered)}), most frequent first:", file=out)
    for item in unanswered:
        print(f"  {item.times:4d}x  {item.text}   (last {item.last_asked[:16]} UTC)", file=out)
    print(f"\nAnswers marked not helpful ({len(disliked)}):", file=out)
    for item in disliked:
        print(f"  {item.times:4d}x  {item.text}   → {item.faq_id}", file=out)
    print(f"\nQuestions to officers not answered yet ({len(waiting)}), oldest first:", file=out)
    for q in waiting:
        print(f"  {q.tag:6s} {q.asked_at[:16]} UTC  {q.name} ({q.village}): {q.question}", file=out)
    return 0
