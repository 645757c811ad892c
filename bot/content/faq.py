"""The FAQ knowledge base: topics loaded from faq/*.yaml (one file per group of topics)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import LANGUAGES, Config
from bot.content.normalise import read_lexicon
from bot.content.texts import placeholders
from bot.support import yamlfile
from bot.support.limits import MAX_TEXT
from bot.support.yamlfile import LineDict, Problem

TOPICS_FILE = "topics.tsv"  # the topic ids every build must cover

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,40}")  # fits in button data as "faq:<id>"
MIN_EXAMPLES = 8
TITLE_LIMIT = 40


@dataclass(frozen=True)
class Topic:
    id: str
    group: str
    title: dict[str, str]
    answer: dict[str, str]
    examples: tuple[str, ...]
    related: tuple[str, ...]
    sources: tuple[str, ...]
    reviewed: dt.date


@dataclass(frozen=True)
class Faq:
    topics: dict[str, Topic]

    def get(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)


def with_examples(faq: Faq, extra: dict[str, list[str]]) -> Faq:
    """The FAQ with more example questions (those officers taught in the console); examples
    of topics it does not have are left out."""
    topics = {
        topic_id: replace(topic, examples=(*topic.examples, *extra.get(topic_id, ())))
        for topic_id, topic in faq.topics.items()
    }
    return Faq(topics)


OUT_OF_SCOPE_FILE = "out-of-scope.txt"


def read_out_of_scope(directory: Path) -> list[str]:
    """Everyday questions the bot must decline (optional file, one question a line)."""
    path = directory / OUT_OF_SCOPE_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def load_faq(directory: Path, known_placeholders: set[str]) -> Faq:
    """Load every topic; raise the first Problem (``desabot check`` lists them all)."""
    faq, problems = read_faq(directory, known_placeholders)
    if problems:
        raise problems[0]
    return faq


def read_faq(directory: Path, known_placeholders: set[str]) -> tuple[Faq, list[Problem]]:
    """Read faq/*.yaml, returning the topics that are valid and every problem found."""
    topics: dict[str, Topic] = {}
    problems: list[Problem] = []
    related_lines: list[tuple[Path, int, str, str]] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(directory, None, "no FAQ files (*.yaml) in this folder"))
    for path in files:
        try:
            entries = yamlfile.load(path)
        except Problem as exc:
            problems.append(exc)
            continue
        if not isinstance(entries, list):
            problems.append(Problem(path, 1, "expected a list of FAQ entries (- id: ...)"))
            continue
        for index, entry in enumerate(entries):
            line = entries.line_of(index)
            topic, entry_problems = read_topic(path, line, entry, known_placeholders)
            problems.extend(entry_problems)
            if topic is None:
                continue
            if topic.id in topics:
                problems.append(Problem(path, line, f"{topic.id}: duplicate id"))
                continue
            topics[topic.id] = topic
            for related in topic.related:
                related_lines.append((path, entry.line_of("related"), topic.id, related))
    for path, line, topic_id, related in related_lines:
        if related not in topics:
            problems.append(
                Problem(path, line, f"{topic_id}: related id {related!r} does not exist")
            )
    return Faq(topics), problems


def read_topic(
    path: Path, line: int, entry: object, known_placeholders: set[str]
) -> tuple[Topic | None, list[Problem]]:
    if not isinstance(entry, LineDict):
        return None, [Problem(path, line, "expected an entry with id, title, answer, ...")]
    problems: list[Problem] = []

    def problem(key: str, message: str, code: str = "", **details: str) -> None:
        line = int(details["at"]) if "at" in details else entry.line_of(key)
        problems.append(Problem(path, line, message, key, code, **details))

    topic_id = entry.get("id")
    if not isinstance(topic_id, str) or not ID_PATTERN.fullmatch(topic_id):
        problem("id", f"id: expected lower-case letters, digits and '-', got {topic_id!r}")
        return None, problems
    title = _per_language(entry, "title", topic_id, problem)
    answer = _per_language(entry, "answer", topic_id, problem)
    for lang, text in title.items():
        if len(text) > TITLE_LIMIT:
            problem("title", f"{topic_id}: title.{lang} is over {TITLE_LIMIT} characters",
                    "too_long", lang=lang, limit=str(TITLE_LIMIT))  # fmt: skip
    for lang, text in answer.items():
        if len(text) > MAX_TEXT:
            problem("answer", f"{topic_id}: answer.{lang} is over {MAX_TEXT} characters",
                    "too_long", lang=lang, limit=str(MAX_TEXT))  # fmt: skip
        for name in sorted(placeholders(text) - known_placeholders):
            problem("answer", f"{topic_id}: answer.{lang} uses unknown placeholder {{{name}}}",
                    "placeholder", lang=lang, name=name)  # fmt: skip
    examples = _text_list(entry, "examples", topic_id, problem)
    if len(examples) < MIN_EXAMPLES:
        problem("examples", f"{topic_id}: expected at least {MIN_EXAMPLES} example questions")
    sources = _text_list(entry, "sources", topic_id, problem)
    if not sources:
        problem("sources", f"{topic_id}: expected at least one source", "no_sources")
    reviewed = entry.get("reviewed")
    if not isinstance(reviewed, dt.date):
        problem("reviewed", f"{topic_id}: reviewed: expected a date YYYY-MM-DD, got {reviewed!r}")
    related = _text_list(entry, "related", topic_id, problem, required=False)
    for key in entry.keys() - {
        "id",
        "title",
        "answer",
        "examples",
        "related",
        "sources",
        "reviewed",
    }:
        problem(key, f"{topic_id}: unknown key {key!r}")
    if problems:
        return None, problems
    assert isinstance(reviewed, dt.date)
    topic = Topic(
        id=topic_id,
        group=path.stem,
        title=title,
        answer={lang: text.strip() for lang, text in answer.items()},
        examples=tuple(examples),
        related=tuple(related),
        sources=tuple(sources),
        reviewed=reviewed,
    )
    return topic, problems


def _per_language(entry: LineDict, key: str, topic_id: str, problem) -> dict[str, str]:
    value = entry.get(key)
    if not isinstance(value, dict):
        problem(key, f"{topic_id}: {key}: expected one text per language ({', '.join(LANGUAGES)})")
        return {}
    texts = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problem(key, f"{topic_id}: {key}.{lang}: missing or empty", "missing", lang=lang)
        else:
            texts[lang] = text.strip()
    for stray in value.keys() - set(LANGUAGES):
        # a line of the text indented less than the text: YAML reads "Telepon: 0451..." as
        # one more key of the answer, and without this the line would silently disappear
        line = value.line_of(stray) if isinstance(value, LineDict) else entry.line_of(key)
        named = f"{topic_id}: {key}: {stray!r} is not a language ({', '.join(LANGUAGES)})"
        problem(key, f"{named}; if this line belongs to the text above, indent it like the"
                " text's other lines", "stray_line", at=str(line))  # fmt: skip
    return texts


def _text_list(entry: LineDict, key: str, topic_id: str, problem, required: bool = True) -> list:
    value = entry.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problem(key, f"{topic_id}: {key}: expected a list of texts")
        return []
    return [v.strip() for v in value]


def check_faq(config: Config) -> tuple[Faq, list[Problem]]:
    """Entries, the language files, and that every required topic has an entry."""
    faq, problems = read_faq(config.faq_dir, config.office_placeholders())
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
