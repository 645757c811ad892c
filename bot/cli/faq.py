"""`desabot faq match | check | unanswered`: tools for staff and scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from bot.app import build_matcher
from bot.cli.common import with_config
from bot.config import Config
from bot.content.faq import check_faq
from bot.domain.feedback import disliked_answers, unanswered_questions
from bot.domain.inbox import open_question_list
from bot.domain.store import Database


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    faq = commands.add_parser(
        "faq",
        parents=[common],
        help="FAQ tools: match, check, unanswered",
        description="FAQ tools: match, check, unanswered",
    )
    actions = faq.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    actions.add_parser(
        "match",
        parents=[common],
        help="match questions from stdin, one JSON object per line",
        description="match questions from stdin, one JSON object per line",
    )
    actions.add_parser(
        "check", parents=[common], help="check the FAQ entries", description="check the FAQ entries"
    )
    unanswered = actions.add_parser(
        "unanswered",
        parents=[common],
        help="questions the FAQ declined, and disliked answers",
        description="questions the FAQ declined, and disliked answers",
    )
    unanswered.add_argument("--limit", type=int, default=50, help="rows per list (default 50)")
    faq.set_defaults(handler=with_config(main))


def main(config: Config, args: argparse.Namespace) -> int:
    if args.faq_command == "match":
        return faq_match(config, sys.stdin, sys.stdout)
    if args.faq_command == "check":
        return faq_check(config, sys.stdout)
    return asyncio.run(faq_unanswered(config, args.limit, sys.stdout))


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
