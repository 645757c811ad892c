"""User-facing texts, kept in one YAML file per language (texts/id.yaml, texts/en.yaml).

Texts use ``{name}`` placeholders. Placeholders with a dot (``{bp3mi.phone}``) are office
details from config.yaml: a line whose office detail is not set is left out, so the bot never
prints an empty "Telepon: " line or a placeholder.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import LANGUAGES
from bot.support import yamlfile
from bot.support.yamlfile import LineDict, Problem

COMMAND_TABLES = ("commands", "staff_commands")  # mappings of command name → description
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders; drop every line that needs a value that is not set."""
    lines = []
    for line in template.split("\n"):
        names = _PLACEHOLDER.findall(line)
        if any(not str(values.get(name, "")).strip() for name in names):
            continue
        lines.append(_PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), line))
    return "\n".join(lines).strip("\n")


@dataclass(frozen=True, eq=False)  # hashed by identity, for the cache below
class Texts:
    by_language: dict[str, dict[str, str]]
    commands: dict[str, dict[str, str]]
    office_values: Mapping[str, str]
    # the staff's own commands, shown in their Telegram command menu besides the villagers'
    staff_commands: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, lang: str, key: str, **values: str) -> str:
        if not values:
            return self._fixed(lang, key)
        return fill(self._template(lang, key), {**self.office_values, **values})

    def _template(self, lang: str, key: str) -> str:
        table = self.by_language.get(lang) or self.by_language["id"]
        return table.get(key) or self.by_language["id"][key]

    @functools.lru_cache(maxsize=512)  # noqa: B019 - texts live as long as the process
    def _fixed(self, lang: str, key: str) -> str:
        """A text without per-message values (button labels, notices) is filled once."""
        return fill(self._template(lang, key), self.office_values)


def load_texts(directory: Path, office_values: Mapping[str, str]) -> Texts:
    """Load and check every language's texts; raise the first Problem found."""
    problems = check_texts(directory)
    if problems:
        raise problems[0]
    tables = {lang: yamlfile.load(directory / f"{lang}.yaml") for lang in LANGUAGES}
    return Texts(
        by_language={
            lang: {k: v for k, v in table.items() if k not in COMMAND_TABLES}
            for lang, table in tables.items()
        },
        commands={lang: dict(table["commands"]) for lang, table in tables.items()},
        office_values=dict(office_values),
        staff_commands={
            lang: dict(table.get("staff_commands") or {}) for lang, table in tables.items()
        },
    )


def check_texts(directory: Path) -> list[Problem]:
    """Both languages load, have the same keys, the same placeholders, and a command list."""
    problems: list[Problem] = []
    tables: dict[str, LineDict] = {}
    for lang in LANGUAGES:
        path = directory / f"{lang}.yaml"
        try:
            table = yamlfile.load(path)
        except Problem as exc:
            problems.append(exc)
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, 1, "expected a mapping of text keys to texts"))
            continue
        problems.extend(_check_table(path, table))
        problems.extend(_cut_by_comments(path))
        tables[lang] = table
    if len(tables) == len(LANGUAGES):
        problems.extend(_compare(directory, tables))
    return problems


# a top-level key with a plain one-line text (block texts, "|-", keep "#" as it is)
_CUT_BY_COMMENT = re.compile(r"^[\w-]+:\s+[^\s\"'|>].*?\s#")


def _cut_by_comments(path: Path) -> list[Problem]:
    """An unquoted one-line text with " #" in it: YAML drops the rest as a comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        Problem(
            path,
            number,
            "the text after ' #' is a YAML comment and is left out; "
            'put the whole text in double quotes, e.g. key: "Batalkan #{id}"',
        )
        for number, line in enumerate(lines, start=1)
        if _CUT_BY_COMMENT.match(line)
    ]


def _check_table(path: Path, table: LineDict) -> list[Problem]:
    problems = []
    for key, value in table.items():
        line = table.line_of(key)
        if key in COMMAND_TABLES:
            problems.extend(_check_commands(path, value, line, key))
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(path, line, f"{key}: expected a non-empty text"))
        else:
            problems.extend(_check_template(path, line, key, value))
    if "commands" not in table:
        problems.append(Problem(path, 1, "commands: missing (the command list for the menu)"))
    return problems


def _check_template(path: Path, line: int, key: str, value: str) -> list[Problem]:
    try:
        list(string.Formatter().parse(_PLACEHOLDER.sub("", value)))
    except ValueError as exc:
        return [
            Problem(path, line, f"{key}: a stray brace: {exc} (write placeholders as {{name}})")
        ]
    return []


def _check_commands(path: Path, value: object, line: int, key: str = "commands") -> list[Problem]:
    if not isinstance(value, dict) or not value:
        return [Problem(path, line, f"{key}: expected a mapping of command name to description")]
    problems = []
    for name, description in value.items():
        if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
            problems.append(Problem(path, line, f"{key}: {name!r} must be 1-32 of a-z, 0-9, _"))
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            problems.append(Problem(path, line, f"{key}.{name}: expected 1-256 characters"))
    return problems


def _compare(directory: Path, tables: dict[str, LineDict]) -> list[Problem]:
    """The first language is the reference; the others must match its keys and placeholders."""
    reference_lang, *others = LANGUAGES
    reference = tables[reference_lang]
    problems = []
    for lang in others:
        path, table = directory / f"{lang}.yaml", tables[lang]
        for key in reference.keys() - table.keys():
            problems.append(Problem(path, 1, f"{key}: missing (it is in {reference_lang}.yaml)"))
        for key in table.keys() - reference.keys():
            problems.append(
                Problem(path, table.line_of(key), f"{key}: not in {reference_lang}.yaml")
            )
        for key in reference.keys() & table.keys():
            if key in COMMAND_TABLES or not isinstance(table[key], str):
                continue
            if isinstance(reference[key], str) and placeholders(reference[key]) != placeholders(
                table[key]
            ):
                problems.append(
                    Problem(
                        path,
                        table.line_of(key),
                        f"{key}: placeholders {sorted(placeholders(table[key]))} differ from "
                        f"{reference_lang}.yaml's {sorted(placeholders(reference[key]))}",
                    )
                )
    return problems
