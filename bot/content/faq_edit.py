"""Editing one FAQ topic in its file, as the staff console does: its title, answer and sources
in both languages, with the review date set to the day of the change.

Only the lines of those fields are rewritten; every other line of the file (comments, the
other topics, the examples, the layout) stays byte for byte, and the file is checked as the
bot reads it before anything is written: the topic must pass every check of `desabot check`
and every other topic must read exactly as before. Then the file is replaced atomically
(written beside it, flushed to disk, renamed over it), so the bot reading it at any moment
finds the old file or the new one, never half of one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import LANGUAGES
from bot.content.faq import Faq, Topic, read_topic
from bot.support import yamlfile
from bot.support.yamlfile import LineDict, Problem

FIELDS = ("title", "answer", "sources", "reviewed")  # rewritten; in this order in new text


@dataclass(frozen=True)
class Draft:
    """A topic's editable fields, as the editor's form gives them."""

    title: dict[str, str]
    answer: dict[str, str]
    sources: tuple[str, ...]

    @classmethod
    def of(cls, topic: Topic) -> Draft:
        return cls(dict(topic.title), dict(topic.answer), topic.sources)

    def as_dict(self) -> dict:
        return {"title": self.title, "answer": self.answer, "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, data: dict) -> Draft:
        return cls(dict(data["title"]), dict(data["answer"]), tuple(data["sources"]))


class EditRefused(Exception):
    """The change would break the topic (or the file): nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def file_of(directory: Path, faq: Faq, topic_id: str) -> Path:
    topic = faq.topics[topic_id]
    return directory / f"{topic.group}.yaml"


def changed_text(
    path: Path, topic_id: str, draft: Draft, today: dt.date, known_placeholders: set[str]
) -> str:
    """The file's new text with the topic changed, checked as the bot reads it; EditRefused
    with every problem when it would not pass."""
    with path.open(encoding="utf-8", newline="") as handle:  # CRLF files stay CRLF
        text = handle.read()
    entries = yamlfile.loads(text, path)
    index = next(
        n for n, e in enumerate(entries) if isinstance(e, dict) and e.get("id") == topic_id
    )
    ending = "\r\n" if "\r\n" in text else "\n"
    blocks = {k: v.replace("\n", ending) for k, v in _blocks(draft, today).items()}
    new = _spliced(text, entries, index, blocks)
    try:
        after = yamlfile.loads(new, path)
    except Problem as exc:
        raise EditRefused([exc]) from None
    _, problems = read_topic(path, entries.line_of(index), after[index], known_placeholders)
    if problems:
        raise EditRefused(problems)
    others = [e for n, e in enumerate(entries) if n != index]
    if others != [e for n, e in enumerate(after) if n != index] or len(after) != len(entries):
        raise EditRefused([Problem(path, None, "the change would alter other topics")])
    return new


def write_atomically(path: Path, text: str) -> None:
    """Replace the file whole: a reader sees the old text or the new, never a mixture."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, path.stat().st_mode & 0o777)  # as readable as it was
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


# -- the text of the rewritten fields, in the files' own layout --------------------------------


def _scalar(text: str) -> str:
    """One line of text as YAML writes it: plain when it can be, quoted when it must."""
    dumped = yaml.safe_dump(" ".join(text.split()), allow_unicode=True, width=1_000_000)
    return dumped.removesuffix("\n...\n").removesuffix("\n")


def _literal(text: str, indent: str) -> str:
    """A text block (``|``): each line indented alike, so no line can fall out of it."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    lines[0] = lines[0].lstrip()  # a first line starting with a space would need an indicator
    return "".join(f"{indent}{line}\n" if line else "\n" for line in lines)


def _answer(lang: str, text: str) -> str:
    if not text.strip():
        return f'    {lang}: ""\n'  # empty: refused by the "missing" check, not saved as "-"
    return f"    {lang}: |\n{_literal(text.replace(chr(13), ''), '      ')}"


def _blocks(draft: Draft, today: dt.date) -> dict[str, str]:
    title = "  title:\n" + "".join(
        f"    {lang}: {_scalar(draft.title.get(lang, ''))}\n" for lang in LANGUAGES
    )
    answer = "  answer:\n" + "".join(
        _answer(lang, draft.answer.get(lang, "")) for lang in LANGUAGES
    )
    # sources in double quotes, as the files write them (a JSON string is one in YAML)
    quoted = (json.dumps(" ".join(s.split()), ensure_ascii=False) for s in draft.sources)
    sources = "  sources:\n" + "".join(f"    - {q}\n" for q in quoted)
    if not draft.sources:
        sources = "  sources: []\n"
    return {"title": title, "answer": answer, "sources": sources,
            "reviewed": f"  reviewed: {today.isoformat()}\n"}  # fmt: skip


def _between_entries(line: str) -> bool:
    """A blank line, or a comment no deeper than an entry's keys: it separates entries. A
    deeper "#..." line is part of a field's value (an answer's line "#1 Rp 350.000")."""
    stripped = line.strip()
    depth = len(line) - len(line.lstrip(" "))
    return not stripped or (stripped.startswith("#") and depth <= 2)


def _spliced(text: str, entries, index: int, blocks: dict[str, str]) -> str:
    """``text`` with each field of entry ``index`` replaced by its block. A field's lines
    run from its key to the line before the entry's next key (or the next entry), less the
    blank and comment lines that end it (they belong between entries)."""
    lines = text.splitlines(keepends=True)
    entry: LineDict = entries[index]
    starts = sorted((line, key) for key, line in entry.key_lines.items())
    end_of_entry = entries.line_of(index + 1) - 1 if index + 1 < len(entries) else len(lines)
    spans = {}
    for n, (line, key) in enumerate(starts):
        last = starts[n + 1][0] - 1 if n + 1 < len(starts) else end_of_entry
        while last > line and _between_entries(lines[last - 1]):
            last -= 1
        spans[key] = (line, last)
    # from the bottom up, so the lines above keep their numbers
    for key in sorted((k for k in FIELDS if k in spans), key=lambda k: -spans[k][0]):
        first, last = spans[key]
        lines[first - 1 : last] = [blocks[key]]
    return "".join(lines)
